//! The `Rapport` object: one open database. Every method that touches the database is async and
//! runs on a worker thread (Python coroutines, Kotlin suspend functions, Swift async); a closed
//! handle fails with `RapportError.Closed`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rapport_core::{self as core, Engine};

use crate::error::RapportError;
use crate::handoff;
use crate::ops;
use crate::types::*;

type Reply<T> = Result<T, RapportError>;

/// The runtime whose blocking pool runs the database work (and, later, sync transports).
fn runtime() -> Reply<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("rapport-ffi")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| RapportError::Internal(format!("cannot start the worker runtime: {e}")))
}

/// Runs `f` on the blocking pool and waits for it without blocking the caller's thread. A panic
/// in the core becomes an `Internal` error.
async fn run<T, F>(engine: &Arc<Engine>, f: F) -> Reply<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> core::Result<T> + Send + 'static,
{
    let engine = Arc::clone(engine);
    let (result, sender) = handoff::channel();
    runtime()?.spawn_blocking(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&engine)));
        sender.send(match outcome {
            Ok(r) => r.map_err(RapportError::from),
            Err(_) => Err(RapportError::Internal(
                "the call panicked; the database handle may be unusable".into(),
            )),
        });
    });
    result.await
}

/// A flag that stops long work (an import, a sync) at its next check: the work then fails with
/// `RapportError.Cancelled`, keeping what was already committed.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken {
    inner: core::CancelToken,
}

#[uniffi::export]
impl CancelToken {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Asks the work this token was given to stop.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// Receives an import's progress about ten times a second (on a worker thread).
#[uniffi::export(with_foreign)]
pub trait ImportProgressListener: Send + Sync {
    fn on_progress(&self, progress: ImportProgress);
}

/// Receives a sync's progress after every window (on a worker thread).
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// An open Rapport database.
#[derive(uniffi::Object)]
pub struct Rapport {
    engine: Arc<Engine>,
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for Rapport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rapport")
            .field("path", &self.engine.path())
            .finish()
    }
}

impl Rapport {
    fn wrap(engine: Engine) -> Arc<Self> {
        Arc::new(Self {
            engine: Arc::new(engine),
            closed: Arc::new(AtomicBool::new(false)),
        })
    }
}

#[uniffi::export]
impl Rapport {
    /// Opens the database at `path`, creating and migrating it if needed. Fails with `Storage`
    /// for a file that is not a Rapport database, `NotFound` or `Io` when the directory is
    /// missing or unwritable.
    #[uniffi::constructor]
    pub fn open(path: String) -> Reply<Arc<Self>> {
        Ok(Self::wrap(Engine::open(&path)?))
    }

    /// Opens a fresh database that lives in memory until it is closed (for tests and demos).
    #[uniffi::constructor]
    pub fn open_in_memory() -> Reply<Arc<Self>> {
        Ok(Self::wrap(Engine::open_in_memory()?))
    }

    /// The database file (`:memory:` for an in-memory database).
    pub fn path(&self) -> String {
        self.engine.path().display().to_string()
    }

    /// Whether `close` has completed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Closes the database once running work has finished; later calls fail with `Closed`.
    pub async fn close(&self) -> Reply<()> {
        let closed = Arc::clone(&self.closed);
        run(&self.engine, move |e| {
            e.close()?;
            closed.store(true, Ordering::SeqCst);
            Ok(())
        })
        .await
    }

    // ----- ingest -----

    /// Imports mail files and directories (maildirs, mbox files, `.eml` files), recursively.
    /// `listener` hears progress about ten times a second; `cancel.cancel()` stops the import,
    /// which then fails with `Cancelled` (what was committed stays). Fails with `NotFound` for
    /// a missing path.
    #[uniffi::method(default(options = None, listener = None, cancel = None))]
    pub async fn import_paths(
        &self,
        paths: Vec<String>,
        options: Option<ImportOptions>,
        listener: Option<Arc<dyn ImportProgressListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Reply<ImportSummary> {
        let options = options.unwrap_or_default().to_core();
        let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
        let cancel = cancel.map(|c| c.inner.clone()).unwrap_or_default();
        run(&self.engine, move |e| {
            let options = options?;
            let mut on_progress = |p: &core::ImportProgress| {
                if let Some(l) = &listener {
                    l.on_progress(ImportProgress::from(p));
                }
            };
            e.import(&paths, &options, &mut on_progress, &cancel)
                .map(ImportSummary::from)
        })
        .await
    }

    /// Stores one raw message (RFC 5322 bytes; headers are enough) seen at `source`. Returns
    /// once it is committed. `sent` marks mail from a Sent folder: its From address becomes an
    /// identity candidate. Fails with `InvalidInput` for bytes that are not a message.
    #[uniffi::method(default(sent = false))]
    pub async fn ingest(&self, raw: Vec<u8>, source: SourceRef, sent: bool) -> Reply<Captured> {
        run(&self.engine, move |e| ops::ingest(e, &raw, source, sent)).await
    }

    /// For each Message-ID (with or without angle brackets), whether it is stored.
    pub async fn have(&self, message_ids: Vec<String>) -> Reply<Vec<bool>> {
        run(&self.engine, move |e| e.have(&message_ids)).await
    }

    /// Syncs one IMAP account once: new mail first, then history, headers only, each window
    /// committed with the folder's position (an interrupted sync resumes). `listener` hears
    /// progress after every window; `cancel.cancel()` stops it with `Cancelled`. Fails with
    /// `Network` or `Auth` when the server cannot be reached or refuses the login.
    #[uniffi::method(default(options = None, listener = None, cancel = None))]
    pub async fn sync_account(
        &self,
        account: SyncAccount,
        options: Option<SyncOptions>,
        listener: Option<Arc<dyn SyncProgressListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Reply<SyncReport> {
        let engine = Arc::clone(&self.engine);
        let account = account.to_core();
        let options = options.unwrap_or_default().to_core();
        let cancel = cancel.map(|c| c.inner.clone()).unwrap_or_default();
        let (result, sender) = handoff::channel();
        runtime()?.spawn(async move {
            let report = async {
                let account = account?;
                let progress = |p: &core::syncer::SyncProgress| {
                    if let Some(l) = &listener {
                        l.on_progress(SyncProgress::from(p));
                    }
                };
                core::syncer::sync_account(engine, &account, &options, &progress, &cancel).await
            }
            .await;
            sender.send(report.map(SyncReport::from).map_err(RapportError::from));
        });
        result.await
    }

    // ----- identities, policy, rules -----

    /// The user's own addresses, and candidates seen in Sent folders.
    pub async fn identities(&self) -> Reply<Vec<Identity>> {
        run(&self.engine, ops::identities).await
    }

    /// Adds (or confirms) one of the user's addresses; directions and contacts are recomputed.
    /// Returns whether anything changed.
    pub async fn add_identity(&self, address: String) -> Reply<bool> {
        run(&self.engine, move |e| e.add_identity(&address)).await
    }

    /// Removes one of the user's addresses. Returns whether it was there.
    pub async fn remove_identity(&self, address: String) -> Reply<bool> {
        run(&self.engine, move |e| e.remove_identity(&address)).await
    }

    /// Whether received-only correspondents become contacts: `sent-only` (the default),
    /// `sent-and-received` or `none`.
    pub async fn policy(&self) -> Reply<String> {
        run(&self.engine, ops::policy).await
    }

    /// Sets the contact policy (`sent-only`, `sent-and-received` or `none`) and recomputes
    /// contacts.
    pub async fn set_policy(&self, policy: String) -> Reply<()> {
        run(&self.engine, move |e| ops::set_policy(e, &policy)).await
    }

    /// Block and allow rules.
    pub async fn rules(&self) -> Reply<Vec<Rule>> {
        run(&self.engine, ops::rules).await
    }

    /// Never (`block`) or always (`allow`) make a contact from an address or a domain.
    /// Returns the normalised pattern.
    pub async fn add_rule(&self, action: String, pattern: String) -> Reply<String> {
        run(&self.engine, move |e| ops::add_rule(e, &action, &pattern)).await
    }

    /// Removes a rule by pattern or number; returns the removed patterns, fails with
    /// `NotFound` when nothing matched.
    pub async fn remove_rule(&self, pattern_or_id: String) -> Reply<Vec<String>> {
        run(&self.engine, move |e| e.remove_rule(&pattern_or_id)).await
    }

    // ----- queries -----

    /// Counts over the whole database.
    pub async fn stats(&self) -> Reply<Stats> {
        run(&self.engine, ops::stats).await
    }

    /// Contacts, filtered and sorted (default: most recent contact first, 50 at most).
    #[uniffi::method(default(query = None))]
    pub async fn contacts(&self, query: Option<ContactQuery>) -> Reply<Vec<Contact>> {
        run(&self.engine, move |e| ops::contacts(e, query)).await
    }

    /// One contact by any of its addresses (or its number). Fails with `NotFound`. `now`
    /// (ISO date) pins "now" for due dates.
    #[uniffi::method(default(now = None))]
    pub async fn contact(
        &self,
        address_or_id: String,
        now: Option<String>,
    ) -> Reply<ContactDetail> {
        run(&self.engine, move |e| {
            ops::contact(e, &address_or_id, now.as_deref())
        })
        .await
    }

    /// A contact's messages, newest first (default 50).
    #[uniffi::method(default(limit = None))]
    pub async fn timeline(
        &self,
        address_or_id: String,
        limit: Option<u32>,
    ) -> Reply<Vec<TimelineEntry>> {
        run(&self.engine, move |e| {
            ops::timeline(e, &address_or_id, limit)
        })
        .await
    }

    /// Threads, most recent first.
    #[uniffi::method(default(query = None))]
    pub async fn threads(&self, query: Option<ThreadQuery>) -> Reply<Vec<Thread>> {
        run(&self.engine, move |e| ops::threads(e, query)).await
    }

    /// One thread by its number or by the Message-ID of any of its messages.
    #[uniffi::method(default(now = None))]
    pub async fn thread(
        &self,
        id_or_message_id: String,
        now: Option<String>,
    ) -> Reply<ThreadDetail> {
        run(&self.engine, move |e| {
            ops::thread(e, &id_or_message_id, now.as_deref())
        })
        .await
    }

    /// Threads waiting on the user (`me`: the last person message is theirs, unanswered) and
    /// on their contacts (`them`: the user's last message is older than the grace days).
    #[uniffi::method(default(query = None))]
    pub async fn awaiting(&self, query: Option<AwaitingQuery>) -> Reply<Vec<AwaitingItem>> {
        run(&self.engine, move |e| ops::awaiting(e, query)).await
    }

    /// Contacts with a cadence whose last two-way contact is older than the cadence, most
    /// overdue first (default 50).
    #[uniffi::method(default(limit = None, now = None))]
    pub async fn neglected(
        &self,
        limit: Option<u32>,
        now: Option<String>,
    ) -> Reply<Vec<NeglectedItem>> {
        run(&self.engine, move |e| {
            ops::neglected(e, limit, now.as_deref())
        })
        .await
    }

    /// Full-text search over contacts, addresses and subjects (default 20 hits).
    #[uniffi::method(default(limit = None))]
    pub async fn search(&self, text: String, limit: Option<u32>) -> Reply<Vec<SearchHit>> {
        run(&self.engine, move |e| ops::search(e, &text, limit)).await
    }

    /// Why an address is, or is not, a contact.
    pub async fn explain(&self, address: String) -> Reply<Explanation> {
        run(&self.engine, move |e| ops::explain(e, &address)).await
    }

    /// Inputs that were not stored, with the reason (default 50).
    #[uniffi::method(default(limit = None))]
    pub async fn skipped_inputs(&self, limit: Option<u32>) -> Reply<Vec<SkipRecord>> {
        run(&self.engine, move |e| ops::skipped_inputs(e, limit)).await
    }

    // ----- contact settings -----

    /// Sets how often, in days, the user wants to be in touch with a contact; `None` clears it.
    pub async fn set_cadence(&self, address_or_id: String, days: Option<i64>) -> Reply<()> {
        run(&self.engine, move |e| e.set_cadence(&address_or_id, days)).await
    }

    /// Puts a contact in a group (an empty name removes it from its group).
    pub async fn set_group(&self, address_or_id: String, group: String) -> Reply<()> {
        run(&self.engine, move |e| e.set_group(&address_or_id, &group)).await
    }

    /// Sets a group's cadence in days; `None` clears it.
    pub async fn set_group_cadence(&self, group: String, days: Option<i64>) -> Reply<()> {
        run(&self.engine, move |e| e.set_group_cadence(&group, days)).await
    }

    // ----- export -----

    /// Exports every contact as `csv`, `vcard` or `json`, or every neglected contact's
    /// follow-up as an iCalendar (`ical`) file of to-dos, and returns the text.
    #[uniffi::method(default(now = None))]
    pub async fn export_to_string(&self, format: String, now: Option<String>) -> Reply<String> {
        run(&self.engine, move |e| {
            ops::export_to_string(e, &format, now.as_deref())
        })
        .await
    }

    /// Like `export_to_string`, writing to the file at `path` (replaced if it exists); returns
    /// the number of records written.
    #[uniffi::method(default(now = None))]
    pub async fn export_to_file(
        &self,
        format: String,
        path: String,
        now: Option<String>,
    ) -> Reply<i64> {
        run(&self.engine, move |e| {
            ops::export_to_file(e, &format, &path, now.as_deref())
        })
        .await
    }
}
