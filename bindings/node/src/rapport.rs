//! The `Rapport` class: one open database. Every method that touches the database returns a
//! promise and runs on a worker thread, so the event loop stays free; a closed handle rejects
//! with code `Closed`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use napi::bindgen_prelude::{AsyncTask, Env, PromiseRaw, Uint8Array};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use rapport_core::{self as core, Engine};

use crate::error::{Answer, to_js};
use crate::import::{CancelToken, ImportJob, ProgressCallback};

/// The sync progress callback.
type SyncProgressCallback = ThreadsafeFunction<SyncProgress, (), SyncProgress, napi::Status, false>;
use crate::ops;
use crate::types::*;

/// An open Rapport database.
///
/// ```js
/// const db = Rapport.open('rapport.db')
/// await db.importPaths(['/home/me/Maildir'])
/// console.log(await db.contacts({ sort: 'messages', limit: 10 }))
/// await db.close()
/// ```
#[napi]
pub struct Rapport {
    engine: Arc<Engine>,
    closed: Arc<AtomicBool>,
}

type Reply<T> = napi::Result<Answer<T>>;

impl Rapport {
    fn wrap(engine: Engine) -> Self {
        Self {
            engine: Arc::new(engine),
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Runs `f` on tokio's blocking pool; its result (or error) is converted on the JS thread.
    async fn run<T, F>(&self, f: F) -> Reply<T>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> core::Result<T> + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        let result = match tokio::task::spawn_blocking(move || f(&engine)).await {
            Ok(r) => r,
            Err(e) => Err(core::Error::Internal(format!(
                "the worker thread failed: {e}"
            ))),
        };
        Ok(Answer(result))
    }
}

#[napi]
impl Rapport {
    /// Opens the database at `path`, creating and migrating it if needed. Throws `Storage` for a
    /// file that is not a Rapport database, `NotFound` or `Io` when the directory is missing
    /// or unwritable.
    #[napi(factory)]
    pub fn open(env: Env, path: String) -> napi::Result<Self> {
        Engine::open(&path)
            .map(Self::wrap)
            .map_err(|e| to_js(&env, &e))
    }

    /// Opens a fresh database that lives in memory until it is closed (for tests and demos).
    #[napi(factory)]
    pub fn open_in_memory(env: Env) -> napi::Result<Self> {
        Engine::open_in_memory()
            .map(Self::wrap)
            .map_err(|e| to_js(&env, &e))
    }

    /// The database file (`:memory:` for an in-memory database).
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.engine.path().display().to_string()
    }

    /// Whether {@link Rapport.close} has completed.
    #[napi]
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Closes the database once running work has finished; later calls reject with `Closed`.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn close(&self) -> Reply<()> {
        let closed = Arc::clone(&self.closed);
        self.run(move |e| {
            e.close()?;
            closed.store(true, Ordering::SeqCst);
            Ok(())
        })
        .await
    }

    // ----- ingest -----

    /// Imports mail files and directories (maildirs, mbox files, `.eml` files), recursively.
    /// `onProgress` is called about ten times a second; `cancel.cancel()` stops the import,
    /// which then rejects with `Cancelled` (what was committed stays). Rejects with `NotFound`
    /// for a missing path.
    #[napi(ts_return_type = "Promise<ImportSummary>")]
    pub fn import_paths(
        &self,
        paths: Vec<String>,
        options: Option<ImportOptions>,
        #[napi(ts_arg_type = "((progress: ImportProgress) => void) | undefined | null")]
        on_progress: Option<ProgressCallback>,
        cancel: Option<&CancelToken>,
    ) -> AsyncTask<ImportJob> {
        let (options, invalid) = match options.unwrap_or_default().to_core() {
            Ok(o) => (o, None),
            Err(e) => (core::ImportOptions::default(), Some(e)),
        };
        AsyncTask::new(ImportJob {
            engine: Arc::clone(&self.engine),
            paths: paths.into_iter().map(PathBuf::from).collect(),
            options,
            invalid,
            progress: on_progress,
            cancel: cancel.map(|c| c.inner.clone()).unwrap_or_default(),
        })
    }

    /// Stores one raw message (RFC 5322 bytes; headers are enough) seen at `source`. Resolves
    /// once it is committed. `sent` marks mail from a Sent folder: its From address becomes an
    /// identity candidate. Rejects with `InvalidInput` for bytes that are not a message.
    #[napi(ts_return_type = "Promise<Captured>")]
    pub async fn ingest(
        &self,
        raw: Uint8Array,
        source: SourceRef,
        sent: Option<bool>,
    ) -> Reply<Captured> {
        let raw = raw.to_vec();
        let sent = sent.unwrap_or(false);
        self.run(move |e| ops::ingest(e, &raw, source, sent)).await
    }

    /// For each Message-ID (with or without angle brackets), whether it is stored.
    #[napi(ts_return_type = "Promise<Array<boolean>>")]
    pub async fn have(&self, message_ids: Vec<String>) -> Reply<Vec<bool>> {
        self.run(move |e| e.have(&message_ids)).await
    }

    /// Syncs one IMAP account once: new mail first, then history, headers only, each window
    /// committed with the folder's position (an interrupted sync resumes). `onProgress` is
    /// called after every window; `cancel.cancel()` stops it with `Cancelled`. Rejects with
    /// `Network` or `Auth` when the server cannot be reached or refuses the login.
    #[napi(ts_return_type = "Promise<SyncReport>")]
    pub fn sync_account<'env>(
        &self,
        env: &'env Env,
        account: SyncAccount,
        options: Option<SyncOptions>,
        #[napi(ts_arg_type = "((progress: SyncProgress) => void) | undefined | null")]
        on_progress: Option<SyncProgressCallback>,
        cancel: Option<&CancelToken>,
    ) -> napi::Result<PromiseRaw<'env, Answer<SyncReport>>> {
        let engine = Arc::clone(&self.engine);
        let account = account.to_core();
        let options = options.unwrap_or_default().to_core();
        let cancel = cancel.map(|c| c.inner.clone()).unwrap_or_default();
        let work = async move {
            let account = account?;
            let progress = |p: &core::syncer::SyncProgress| {
                if let Some(cb) = &on_progress {
                    cb.call(
                        SyncProgress::from(p),
                        ThreadsafeFunctionCallMode::NonBlocking,
                    );
                }
            };
            core::syncer::sync_account(engine, &account, &options, &progress, &cancel).await
        };
        env.spawn_future_with_callback(async move { Ok(work.await) }, |_, r| {
            Ok(Answer(r.map(SyncReport::from)))
        })
    }

    // ----- identities, policy, rules -----

    /// The user's own addresses, and candidates seen in Sent folders.
    #[napi(ts_return_type = "Promise<Array<Identity>>")]
    pub async fn identities(&self) -> Reply<Vec<Identity>> {
        self.run(ops::identities).await
    }

    /// Adds (or confirms) one of the user's addresses; directions and contacts are recomputed.
    /// Resolves to whether anything changed.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub async fn add_identity(&self, address: String) -> Reply<bool> {
        self.run(move |e| e.add_identity(&address)).await
    }

    /// Removes one of the user's addresses. Resolves to whether it was there.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub async fn remove_identity(&self, address: String) -> Reply<bool> {
        self.run(move |e| e.remove_identity(&address)).await
    }

    /// Whether received-only correspondents become contacts: `sent-only` (the default),
    /// `sent-and-received` or `none`.
    #[napi(ts_return_type = "Promise<'sent-only' | 'sent-and-received' | 'none'>")]
    pub async fn policy(&self) -> Reply<String> {
        self.run(ops::policy).await
    }

    /// Sets the contact policy and recomputes contacts.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn set_policy(
        &self,
        #[napi(ts_arg_type = "'sent-only' | 'sent-and-received' | 'none'")] policy: String,
    ) -> Reply<()> {
        self.run(move |e| ops::set_policy(e, &policy)).await
    }

    /// Block and allow rules.
    #[napi(ts_return_type = "Promise<Array<Rule>>")]
    pub async fn rules(&self) -> Reply<Vec<Rule>> {
        self.run(ops::rules).await
    }

    /// Never (`block`) or always (`allow`) make a contact from an address or a domain.
    /// Resolves to the normalised pattern.
    #[napi(ts_return_type = "Promise<string>")]
    pub async fn add_rule(
        &self,
        #[napi(ts_arg_type = "'block' | 'allow'")] action: String,
        pattern: String,
    ) -> Reply<String> {
        self.run(move |e| ops::add_rule(e, &action, &pattern)).await
    }

    /// Removes a rule by pattern or number; resolves to the removed patterns, rejects with
    /// `NotFound` when nothing matched.
    #[napi(ts_return_type = "Promise<Array<string>>")]
    pub async fn remove_rule(&self, pattern_or_id: String) -> Reply<Vec<String>> {
        self.run(move |e| e.remove_rule(&pattern_or_id)).await
    }

    // ----- queries -----

    /// Counts over the whole database.
    #[napi(ts_return_type = "Promise<Stats>")]
    pub async fn stats(&self) -> Reply<Stats> {
        self.run(ops::stats).await
    }

    /// Contacts, filtered and sorted (default: most recent contact first, 50 at most).
    #[napi(ts_return_type = "Promise<Array<Contact>>")]
    pub async fn contacts(&self, query: Option<ContactQuery>) -> Reply<Vec<Contact>> {
        self.run(move |e| ops::contacts(e, query)).await
    }

    /// One contact by any of its addresses (or its number). Rejects with `NotFound`.
    /// `now` (ISO date) pins "now" for due dates.
    #[napi(ts_return_type = "Promise<ContactDetail>")]
    pub async fn contact(
        &self,
        address_or_id: String,
        now: Option<String>,
    ) -> Reply<ContactDetail> {
        self.run(move |e| ops::contact(e, &address_or_id, now.as_deref()))
            .await
    }

    /// A contact's messages, newest first (default 50).
    #[napi(ts_return_type = "Promise<Array<TimelineEntry>>")]
    pub async fn timeline(
        &self,
        address_or_id: String,
        limit: Option<u32>,
    ) -> Reply<Vec<TimelineEntry>> {
        self.run(move |e| ops::timeline(e, &address_or_id, limit))
            .await
    }

    /// Threads, most recent first.
    #[napi(ts_return_type = "Promise<Array<Thread>>")]
    pub async fn threads(&self, query: Option<ThreadQuery>) -> Reply<Vec<Thread>> {
        self.run(move |e| ops::threads(e, query)).await
    }

    /// One thread by its number or by the Message-ID of any of its messages.
    #[napi(ts_return_type = "Promise<ThreadDetail>")]
    pub async fn thread(
        &self,
        id_or_message_id: String,
        now: Option<String>,
    ) -> Reply<ThreadDetail> {
        self.run(move |e| ops::thread(e, &id_or_message_id, now.as_deref()))
            .await
    }

    /// Threads waiting on the user (`me`: the last person message is theirs, unanswered) and
    /// on their contacts (`them`: the user's last message is older than the grace days).
    #[napi(ts_return_type = "Promise<Array<AwaitingItem>>")]
    pub async fn awaiting(&self, query: Option<AwaitingQuery>) -> Reply<Vec<AwaitingItem>> {
        self.run(move |e| ops::awaiting(e, query)).await
    }

    /// Contacts with a cadence whose last two-way contact is older than the cadence, most
    /// overdue first (default 50).
    #[napi(ts_return_type = "Promise<Array<NeglectedItem>>")]
    pub async fn neglected(
        &self,
        limit: Option<u32>,
        now: Option<String>,
    ) -> Reply<Vec<NeglectedItem>> {
        self.run(move |e| ops::neglected(e, limit, now.as_deref()))
            .await
    }

    /// Full-text search over contacts, addresses and subjects (default 20 hits).
    #[napi(ts_return_type = "Promise<Array<SearchHit>>")]
    pub async fn search(&self, text: String, limit: Option<u32>) -> Reply<Vec<SearchHit>> {
        self.run(move |e| ops::search(e, &text, limit)).await
    }

    /// Why an address is, or is not, a contact.
    #[napi(ts_return_type = "Promise<Explanation>")]
    pub async fn explain(&self, address: String) -> Reply<Explanation> {
        self.run(move |e| ops::explain(e, &address)).await
    }

    /// Inputs that were not stored, with the reason (default 50).
    #[napi(ts_return_type = "Promise<Array<SkipRecord>>")]
    pub async fn skipped_inputs(&self, limit: Option<u32>) -> Reply<Vec<SkipRecord>> {
        self.run(move |e| ops::skipped_inputs(e, limit)).await
    }

    // ----- contact settings -----

    /// Sets how often, in days, the user wants to be in touch with a contact; `null` clears it.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn set_cadence(&self, address_or_id: String, days: Option<i64>) -> Reply<()> {
        self.run(move |e| e.set_cadence(&address_or_id, days)).await
    }

    /// Puts a contact in a group (an empty name removes it from its group).
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn set_group(&self, address_or_id: String, group: String) -> Reply<()> {
        self.run(move |e| e.set_group(&address_or_id, &group)).await
    }

    /// Sets a group's cadence in days; `null` clears it.
    #[napi(ts_return_type = "Promise<void>")]
    pub async fn set_group_cadence(&self, group: String, days: Option<i64>) -> Reply<()> {
        self.run(move |e| e.set_group_cadence(&group, days)).await
    }

    // ----- export -----

    /// Exports every contact as `csv`, `vcard` or `json`, or every neglected contact's
    /// follow-up as an iCalendar (`ical`) file of to-dos, and resolves to the text.
    #[napi(ts_return_type = "Promise<string>")]
    pub async fn export_to_string(
        &self,
        #[napi(ts_arg_type = "'csv' | 'vcard' | 'json' | 'ical'")] format: String,
        now: Option<String>,
    ) -> Reply<String> {
        self.run(move |e| ops::export_to_string(e, &format, now.as_deref()))
            .await
    }

    /// Like {@link Rapport.exportToString}, writing to the file at `path` (replaced if it
    /// exists); resolves to the number of records written.
    #[napi(ts_return_type = "Promise<number>")]
    pub async fn export_to_file(
        &self,
        #[napi(ts_arg_type = "'csv' | 'vcard' | 'json' | 'ical'")] format: String,
        path: String,
        now: Option<String>,
    ) -> Reply<i64> {
        self.run(move |e| ops::export_to_file(e, &format, &path, now.as_deref()))
            .await
    }
}
