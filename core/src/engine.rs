//! The facade every consumer uses: the CLI, the RPC protocol (native host and bridge) and the
//! Node and UniFFI bindings. One [`Engine`] owns one database; it is `Send + Sync`, and a closed
//! engine fails every call with [`Error::Closed`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::export::{self, ExportFormat};
use crate::import::{self, CancelToken, ImportOptions, ImportProgress};
use crate::ingest::{parse_isolated, prepare};
use crate::mail::{self, Envelope, Mailbox, ParseOptions, normalize_address};
use crate::model::{
    ContactDetail, ContactSummary, DryRunReport, Explanation, Identity, ImportSummary,
    IngestOutcome, NeglectedItem, Policy, Rule, SearchHit, SkipRecord, SourceRef, Stats,
    ThreadDetail, ThreadSummary, TimelineEntry,
};
use crate::policy::{RuleAction, normalize_rule_pattern};
use crate::query::{AwaitingQuery, ContactQuery, ThreadQuery};
use crate::source::{FieldMessage, FolderRole, MessageInput};
use crate::store::{Store, SyncState};

/// The result of handing one raw message to the engine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Captured {
    pub outcome: IngestOutcome,
    /// The stored message's key (its Message-ID, or a hash for messages without one).
    pub message_id: String,
    pub thread_id: i64,
}

/// A window of transported mail, parsed and ready to store.
#[derive(Debug, Default)]
pub struct PreparedWindow {
    items: Vec<(
        std::result::Result<Box<crate::store::PreparedMessage>, crate::ingest::Rejection>,
        SourceRef,
    )>,
}

/// What one window of transported mail did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WindowOutcome {
    pub stored: u64,
    pub duplicates: u64,
    pub skipped: u64,
}

/// What the Outlook add-in knows at send time, before the message reaches Sent Items: a
/// field-built message whose `tracking_id` (the value stamped into `X-Rapport-Id`) is required.
pub type SentRecord = FieldMessage;

pub struct Engine {
    store: Mutex<Option<Store>>,
    path: PathBuf,
    /// A bulk transfer is under way (see [`Engine::begin_bulk`]).
    bulk: std::sync::atomic::AtomicBool,
    /// What the last sync window's writer learned; dropped by any other call.
    window_caches: Mutex<Option<crate::store::WriterCaches>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("path", &self.path).finish()
    }
}

fn mailbox(raw: &str) -> Option<Mailbox> {
    // Accept "Name <addr>" as well as a bare address.
    let (name, addr) = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(l), Some(r)) if l < r => (Some(raw[..l].trim()), &raw[l + 1..r]),
        _ => (None, raw),
    };
    let address = normalize_address(addr)?;
    let name = mail::clean_display_name(name, &address.email);
    Some(Mailbox { name, address })
}

/// The envelope of a message as a source handed it over.
fn envelope_of(input: MessageInput, now: i64) -> Result<Envelope> {
    match input {
        MessageInput::Raw(raw) => parse_isolated(
            &raw,
            ParseOptions {
                capture_time: now,
                snippet: false,
            },
        )
        .map_err(|r| Error::InvalidInput(format!("{}: {}", r.reason, r.detail))),
        MessageInput::Fields(fields) => envelope_of_fields(&fields, now),
        MessageInput::Unreadable { reason, detail } => {
            Err(Error::InvalidInput(format!("{reason}: {detail}")))
        }
    }
}

/// Field-built mail: the same envelope raw bytes with these headers would give.
fn envelope_of_fields(f: &FieldMessage, now: i64) -> Result<Envelope> {
    let from = mailbox(&f.from)
        .ok_or_else(|| Error::InvalidInput(format!("'{}' is not an email address", f.from)))?;
    let list = |v: &[String]| -> Vec<Mailbox> { v.iter().filter_map(|a| mailbox(a)).collect() };
    let message_id = f
        .message_id
        .as_deref()
        .and_then(mail::ids::parse_message_id);
    let tracking_id = f
        .tracking_id
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    if message_id.is_none() && tracking_id.is_none() {
        return Err(Error::InvalidInput(
            "a field-built message needs a Message-ID or a tracking id".into(),
        ));
    }
    let mut env = Envelope {
        message_id,
        tracking_id,
        date: f.date.unwrap_or(now),
        subject: f.subject.clone(),
        from: vec![from],
        to: list(&f.to),
        cc: list(&f.cc),
        bcc: list(&f.bcc),
        ..Default::default()
    };
    env.references = f
        .references
        .iter()
        .filter_map(|r| mail::ids::parse_message_id(r))
        .collect();
    if let Some(parent) = f
        .in_reply_to
        .as_deref()
        .and_then(mail::ids::parse_message_id)
    {
        env.in_reply_to_strict = Some(parent.clone());
        env.in_reply_to = vec![parent];
    }
    Ok(env)
}

impl Engine {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Engine> {
        let path = path.as_ref().to_path_buf();
        let store = Store::open(&path)?;
        Ok(Engine {
            store: Mutex::new(Some(store)),
            path,
            bulk: std::sync::atomic::AtomicBool::new(false),
            window_caches: Mutex::new(None),
        })
    }

    pub fn open_in_memory() -> Result<Engine> {
        Ok(Engine {
            store: Mutex::new(Some(Store::open_in_memory()?)),
            path: PathBuf::from(":memory:"),
            bulk: std::sync::atomic::AtomicBool::new(false),
            window_caches: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<MutexGuard<'_, Option<Store>>> {
        self.store.lock().map_err(|_| {
            Error::Internal("a previous call panicked while holding the database".into())
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        // Another call may write: what sync windows cached about the database no longer holds.
        if let Ok(mut caches) = self.window_caches.lock() {
            caches.take();
        }
        self.with_window(f)
    }

    /// Runs `f` with the store, keeping the sync windows' caches (for `store_window` only).
    fn with_window<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        let mut guard = self.lock()?;
        match guard.as_mut() {
            Some(store) => f(store),
            None => Err(Error::Closed),
        }
    }

    /// Closes the database; every later call fails with [`Error::Closed`].
    pub fn close(&self) -> Result<()> {
        let mut guard = self.lock()?;
        guard.take();
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        self.lock().map(|g| g.is_none()).unwrap_or(true)
    }

    // ----- ingest -----

    /// Imports mail files and directories. Progress is reported on the calling thread.
    pub fn import(
        &self,
        paths: &[PathBuf],
        options: &ImportOptions,
        progress: &mut dyn FnMut(&ImportProgress),
        cancel: &CancelToken,
    ) -> Result<ImportSummary> {
        self.with(|s| import::import(s, paths, options, progress, cancel))
    }

    /// Previews an import: what would become contacts, and the senders that would be skipped.
    pub fn import_dry_run(
        &self,
        paths: &[PathBuf],
        options: &ImportOptions,
    ) -> Result<DryRunReport> {
        self.with(|s| {
            let policy = match options.policy {
                Some(p) => p,
                None => s.policy()?,
            };
            let (summary, findings) = import::dry_run(s, paths, options)?;
            Ok(DryRunReport {
                policy,
                summary,
                new_contacts: findings.new_contacts,
                skipped_addresses: findings.skipped_addresses,
                would_create: findings.would_create,
                top_skipped_senders: findings.top_skipped_senders,
            })
        })
    }

    /// Stores one raw message seen at `source`; returns once it is committed.
    pub fn capture(&self, raw: &[u8], source: &SourceRef) -> Result<Captured> {
        self.capture_with(raw, source, false, crate::time::now())
    }

    /// Like [`Engine::capture`]; `sent` marks mail from a Sent folder (its From becomes an
    /// identity candidate).
    pub fn capture_with(
        &self,
        raw: &[u8],
        source: &SourceRef,
        sent: bool,
        now: i64,
    ) -> Result<Captured> {
        let role = if sent {
            FolderRole::Sent
        } else {
            FolderRole::Other
        };
        self.ingest(MessageInput::Raw(raw.to_vec()), source, role, now)
    }

    /// Stores one message as a source hands it over (raw bytes or decoded fields), seen at
    /// `source` in a folder of the given role; returns once it is committed. Every single-message
    /// path (captures, send records, the bindings' ingest) comes through here.
    pub fn ingest(
        &self,
        input: MessageInput,
        source: &SourceRef,
        role: FolderRole,
        now: i64,
    ) -> Result<Captured> {
        if source.external_id.is_empty() {
            return Err(Error::InvalidInput(
                "a message handed over needs a source with an external id".into(),
            ));
        }
        let env = envelope_of(input, now)?;
        // A send record carries a tracking id but no Message-ID yet: its Sent copy replaces it.
        let provisional = env.message_id.is_none() && env.tracking_id.is_some();
        self.store_envelope(&env, source, role.is_sent(), provisional, now)
    }

    fn store_envelope(
        &self,
        env: &Envelope,
        source: &SourceRef,
        sent: bool,
        provisional: bool,
        now: i64,
    ) -> Result<Captured> {
        let mut prepared = prepare(env);
        prepared.provisional = provisional;
        self.with(|s| {
            let mut w = s.writer(now)?;
            if sent && let Some(from) = crate::ingest::from_of(&prepared) {
                w.note_identity_candidate(&from.key, &from.email, &source.account)?;
            }
            let outcome = w.ingest(&prepared, source)?;
            w.finish()?;
            let thread_id = s.thread_of_message(&prepared.key)?;
            let message_id = s.message_key_of(&prepared.key)?;
            Ok(Captured {
                outcome,
                message_id,
                thread_id,
            })
        })
    }

    /// Records a message at send time (Outlook's send event) before its Sent copy is seen. The
    /// copy, carrying the same `X-Rapport-Id`, later replaces this record.
    pub fn record_sent(&self, record: &SentRecord, source: &SourceRef) -> Result<Captured> {
        let tracking = record.tracking_id.as_deref().map(str::trim).unwrap_or("");
        if tracking.is_empty() || tracking.len() > 200 {
            return Err(Error::InvalidInput(
                "tracking_id must be 1 to 200 characters".into(),
            ));
        }
        // A send record is provisional: its Message-ID is not known yet.
        let fields = FieldMessage {
            message_id: None,
            ..record.clone()
        };
        self.ingest(
            MessageInput::from(fields),
            source,
            FolderRole::Sent,
            crate::time::now(),
        )
    }

    /// Parses a window of messages (no database: run it beside [`Engine::store_window`] of the
    /// previous window).
    pub fn prepare_window(items: Vec<(MessageInput, SourceRef)>) -> PreparedWindow {
        let now = crate::time::now();
        PreparedWindow {
            items: items
                .into_iter()
                .map(|(input, source)| {
                    let parsed = match input {
                        MessageInput::Raw(raw) => parse_isolated(
                            &raw,
                            ParseOptions {
                                capture_time: now,
                                snippet: false,
                            },
                        ),
                        fields @ MessageInput::Fields(_) => {
                            envelope_of(fields, now).map_err(|e| crate::ingest::Rejection {
                                reason: "invalid-fields",
                                detail: e.to_string(),
                            })
                        }
                        MessageInput::Unreadable { reason, detail } => {
                            Err(crate::ingest::Rejection { reason, detail })
                        }
                    }
                    .map(|env| Box::new(prepare(&env)));
                    (parsed, source)
                })
                .collect(),
        }
    }

    /// Stores a parsed window in one transaction, together with the source's new position (so
    /// that the position never gets ahead of the mail). Aggregates are settled later by
    /// [`Engine::settle`]; until then the window is recorded as pending.
    pub fn store_window(
        &self,
        window: PreparedWindow,
        role: FolderRole,
        state: Option<&SyncState>,
    ) -> Result<WindowOutcome> {
        let sent = role.is_sent();
        let bulk = self.bulk.load(std::sync::atomic::Ordering::SeqCst);
        let cached = self
            .window_caches
            .lock()
            .map_err(|_| Error::Internal("window cache poisoned".into()))?
            .take();
        self.with_window(|s| {
            let now = crate::time::now();
            let mut w = match cached {
                Some(c) => s.resumed_writer(now, c, !bulk)?,
                None if bulk => s.unchecked_writer(now)?,
                None => s.writer(now)?,
            };
            let mut out = WindowOutcome::default();
            for (parsed, source) in &window.items {
                match parsed {
                    Ok(prepared) => {
                        if sent && let Some(from) = crate::ingest::from_of(prepared) {
                            w.note_identity_candidate(&from.key, &from.email, &source.account)?;
                        }
                        match w.ingest(prepared, source)? {
                            IngestOutcome::Stored => out.stored += 1,
                            IngestOutcome::Duplicate => out.duplicates += 1,
                        }
                    }
                    Err(r) => {
                        w.record_skip(&source.location(), r.reason, &r.detail)?;
                        out.skipped += 1;
                    }
                }
            }
            if let Some(st) = state {
                w.save_sync_state(st)?;
            }
            let caches = w.finish_pending_keeping()?;
            if let Ok(mut slot) = self.window_caches.lock() {
                *slot = Some(caches);
            }
            Ok(out)
        })
    }

    /// Parses and stores a window of messages (see [`Engine::store_window`]).
    pub fn ingest_window(
        &self,
        items: Vec<(MessageInput, SourceRef)>,
        role: FolderRole,
        state: Option<&SyncState>,
    ) -> Result<WindowOutcome> {
        self.store_window(Self::prepare_window(items), role, state)
    }

    /// Recomputes every aggregate left pending by windows and interrupted imports (and
    /// rebuilds indexes a bulk load dropped).
    pub fn settle(&self) -> Result<()> {
        let bulk = self.bulk.swap(false, std::sync::atomic::Ordering::SeqCst);
        self.with(|s| {
            if !bulk {
                // Indexes a killed bulk transfer left missing (a no-op when they are there).
                s.restore_indexes()?;
            }
            let mut w = s.writer(crate::time::now())?;
            if bulk {
                w.adopt_deferred_indexes();
            }
            w.finish()?;
            Ok(())
        })
    }

    /// Prepares for a large transfer into a small database: query-only indexes are dropped and
    /// built once by [`Engine::settle`]. Returns whether it did so (only when `incoming` is at
    /// least a thousand messages and more than the database holds).
    pub fn begin_bulk(&self, incoming: u64) -> Result<bool> {
        self.with(|s| {
            let bulk = incoming >= 1000 && incoming as i64 > s.message_count_estimate()?;
            if bulk {
                s.defer_indexes()?;
                self.bulk.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            Ok(bulk)
        })
    }

    /// For each Message-ID, whether it is stored (reconciliation).
    pub fn have(&self, message_ids: &[String]) -> Result<Vec<bool>> {
        self.with(|s| s.known_message_ids(message_ids))
    }

    // ----- identities, rules, policy -----

    pub fn identities(&self) -> Result<Vec<Identity>> {
        self.with(|s| s.identities())
    }

    /// Adds (or confirms) one of the user's own addresses and recomputes directions.
    pub fn add_identity(&self, address: &str) -> Result<bool> {
        let a = normalize_address(address)
            .ok_or_else(|| Error::InvalidInput(format!("'{address}' is not an email address")))?;
        self.with(|s| {
            let changed = s.add_identity(&a.key, &a.email, "")?;
            if changed {
                recompute_identity(s, &a.key)?;
            }
            Ok(changed)
        })
    }

    pub fn remove_identity(&self, address: &str) -> Result<bool> {
        let a = normalize_address(address)
            .ok_or_else(|| Error::InvalidInput(format!("'{address}' is not an email address")))?;
        self.with(|s| {
            let changed = s.remove_identity(&a.key)?;
            if changed {
                recompute_identity(s, &a.key)?;
            }
            Ok(changed)
        })
    }

    pub fn policy(&self) -> Result<Policy> {
        self.with(|s| s.policy())
    }

    pub fn set_policy(&self, policy: Policy) -> Result<()> {
        self.with(|s| {
            s.set_setting("policy", policy.as_str())?;
            recompute(s)
        })
    }

    pub fn rules(&self) -> Result<Vec<Rule>> {
        self.with(|s| s.rules())
    }

    /// Adds a block or allow rule for an address or a domain.
    pub fn add_rule(&self, action: RuleAction, pattern: &str) -> Result<String> {
        let pattern = normalize_rule_pattern(pattern).ok_or_else(|| {
            Error::InvalidInput(format!(
                "'{pattern}' is neither an email address nor a domain"
            ))
        })?;
        self.with(|s| {
            s.add_rule(action.as_str(), &pattern, crate::time::now())?;
            let mut w = s.writer(crate::time::now())?;
            w.touch_address_key(&pattern)?;
            w.finish()?;
            Ok(pattern)
        })
    }

    pub fn remove_rule(&self, pattern_or_id: &str) -> Result<Vec<String>> {
        let normalized = normalize_rule_pattern(pattern_or_id)
            .unwrap_or_else(|| pattern_or_id.trim().to_string());
        self.with(|s| {
            let removed = s.remove_rule(&normalized)?;
            if removed.is_empty() {
                return Err(Error::not_found("rule", pattern_or_id));
            }
            let mut w = s.writer(crate::time::now())?;
            for p in &removed {
                w.touch_address_key(p)?;
            }
            w.finish()?;
            Ok(removed)
        })
    }

    // ----- queries -----

    pub fn stats(&self) -> Result<Stats> {
        self.with(|s| s.stats())
    }

    pub fn contacts(&self, query: &ContactQuery, now: i64) -> Result<Vec<ContactSummary>> {
        self.with(|s| s.contacts(query, now))
    }

    pub fn contact(&self, address_or_id: &str, now: i64) -> Result<ContactDetail> {
        self.with(|s| s.contact(address_or_id, now))
    }

    pub fn timeline(&self, address_or_id: &str, limit: usize) -> Result<Vec<TimelineEntry>> {
        self.with(|s| {
            let id = s.contact_id(address_or_id)?;
            s.timeline(id, limit)
        })
    }

    pub fn threads(&self, query: &ThreadQuery, now: i64) -> Result<Vec<ThreadSummary>> {
        self.with(|s| s.threads(query, now))
    }

    /// A thread by its number, or by the Message-ID of any message in it.
    pub fn thread(&self, id_or_message_id: &str, now: i64) -> Result<ThreadDetail> {
        self.with(|s| {
            let id = match id_or_message_id.trim().parse::<i64>() {
                Ok(id) => id,
                Err(_) => s.thread_of_message(id_or_message_id)?,
            };
            s.thread(id, now)
        })
    }

    pub fn awaiting(&self, query: &AwaitingQuery) -> Result<Vec<crate::model::AwaitingItem>> {
        self.with(|s| s.awaiting(query))
    }

    pub fn neglected(&self, now: i64, limit: usize) -> Result<Vec<NeglectedItem>> {
        self.with(|s| s.neglected(now, limit))
    }

    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>> {
        self.with(|s| s.search(text, limit))
    }

    pub fn explain(&self, address: &str) -> Result<Explanation> {
        self.with(|s| s.explain(address))
    }

    pub fn skipped_inputs(&self, limit: usize) -> Result<Vec<SkipRecord>> {
        self.with(|s| s.skips(limit))
    }

    // ----- contact settings -----

    /// Sets (or clears) how often, in days, the user wants to be in touch with a contact.
    pub fn set_cadence(&self, address_or_id: &str, days: Option<i64>) -> Result<()> {
        if days.is_some_and(|d| d <= 0) {
            return Err(Error::InvalidInput(
                "a cadence is a positive number of days".into(),
            ));
        }
        self.with(|s| {
            let id = s.contact_id(address_or_id)?;
            s.set_contact_cadence(id, days)
        })
    }

    pub fn set_group(&self, address_or_id: &str, group: &str) -> Result<()> {
        self.with(|s| {
            let id = s.contact_id(address_or_id)?;
            s.set_contact_group(id, group.trim())
        })
    }

    pub fn set_group_cadence(&self, group: &str, days: Option<i64>) -> Result<()> {
        if group.trim().is_empty() {
            return Err(Error::InvalidInput("a group needs a name".into()));
        }
        if days.is_some_and(|d| d <= 0) {
            return Err(Error::InvalidInput(
                "a cadence is a positive number of days".into(),
            ));
        }
        self.with(|s| s.set_group_cadence(group.trim(), days))
    }

    /// Groups with cadence, size and how many of their contacts are overdue.
    pub fn group_overview(&self, now: i64) -> Result<Vec<crate::model::GroupInfo>> {
        self.with(|s| s.group_overview(now))
    }

    /// Puts the contacts of `addresses` (or contact numbers) in `group` (`""`: none), all or
    /// none: an unknown address moves nobody. Returns (address, previous group) pairs.
    pub fn set_groups(&self, addresses: &[String], group: &str) -> Result<Vec<(String, String)>> {
        self.with(|s| {
            let ids = addresses
                .iter()
                .map(|a| s.contact_id(a))
                .collect::<Result<Vec<_>>>()?;
            let before = s.set_contact_groups(&ids, group.trim())?;
            Ok(addresses.iter().cloned().zip(before).collect())
        })
    }

    /// How many contacts match a query's filters.
    pub fn contacts_count(&self, query: &ContactQuery) -> Result<i64> {
        self.with(|s| s.contacts_count(query))
    }

    /// Leaves a contact out of "neglected" until `until` (`None`: wakes it).
    pub fn snooze_contact(&self, address_or_id: &str, until: Option<i64>) -> Result<()> {
        self.with(|s| {
            let id = s.contact_id(address_or_id)?;
            s.snooze_contact(id, until)
        })
    }

    /// Marks a thread (by number or any Message-ID in it) done, snoozed, or neither.
    pub fn mark_thread(
        &self,
        id_or_message_id: &str,
        mark: crate::store::ThreadMark,
        now: i64,
    ) -> Result<()> {
        self.with(|s| {
            let id = match id_or_message_id.trim().parse::<i64>() {
                Ok(n) => n,
                Err(_) => s.thread_of_message(id_or_message_id)?,
            };
            s.mark_thread(id, mark, now)
        })
    }

    /// The latest imports with their progress, newest first.
    pub fn imports(&self, limit: usize) -> Result<Vec<crate::store::ImportRun>> {
        self.with(|s| s.import_runs(limit))
    }

    /// Grows whenever another connection commits to the database.
    pub fn data_version(&self) -> Result<i64> {
        self.with(|s| s.data_version())
    }

    // ----- export -----

    /// Writes every contact (or, for iCalendar, every neglected contact's follow-up) to `out`.
    pub fn export(&self, format: ExportFormat, out: &mut dyn Write, now: i64) -> Result<usize> {
        self.with(|s| {
            let all = ContactQuery {
                limit: usize::MAX >> 1,
                ..Default::default()
            };
            match format {
                ExportFormat::Ical => {
                    let items = s.neglected(now, usize::MAX >> 1)?;
                    export::write_ical(out, &items, now)?;
                    Ok(items.len())
                }
                ExportFormat::Json => {
                    let ids: Vec<i64> = s.contacts(&all, now)?.iter().map(|c| c.id).collect();
                    let mut details = Vec::with_capacity(ids.len());
                    for id in ids {
                        details.push(s.contact(&id.to_string(), now)?);
                    }
                    export::write_json(out, &details)?;
                    Ok(details.len())
                }
                ExportFormat::Csv | ExportFormat::Vcard => {
                    let contacts = s.contacts(&all, now)?;
                    let mut rows = Vec::with_capacity(contacts.len());
                    for c in contacts {
                        let emails = s.contact_emails(c.id)?;
                        rows.push((c, emails));
                    }
                    if format == ExportFormat::Csv {
                        export::write_csv(out, &rows)?;
                    } else {
                        export::write_vcard(out, &rows)?;
                    }
                    Ok(rows.len())
                }
            }
        })
    }

    /// Runs `f` with exclusive access to the store (sync transports keep their state there).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.with(f)
    }
}

/// Recomputes directions and every aggregate after identities, rules or the policy changed.
/// Settles what an identity added or removed changes (the mail its address is in).
fn recompute_identity(s: &mut Store, key: &str) -> Result<()> {
    let mut w = s.writer(crate::time::now())?;
    w.recompute_identity(key)?;
    w.finish()?;
    Ok(())
}

fn recompute(s: &mut Store) -> Result<()> {
    let mut w = s.writer(crate::time::now())?;
    w.recompute_all()?;
    w.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceKind;

    fn raw(id: &str, parent: Option<&str>) -> Vec<u8> {
        let reply = parent
            .map(|p| format!("In-Reply-To: <{p}>\r\n"))
            .unwrap_or_default();
        format!(
            "From: Ann <ann@example.org>\r\nTo: me@example.com\r\nSubject: plans\r\n\
             Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{id}>\r\n{reply}\r\nbody\r\n"
        )
        .into_bytes()
    }

    fn source(kind: crate::source::SourceKind, uid: u32) -> SourceRef {
        SourceRef {
            kind,
            account: "work".into(),
            folder: "INBOX".into(),
            external_id: uid.to_string(),
        }
    }

    /// A window's caches must not outlive another process's commit: the second window replies to
    /// a message that arrived through another connection, and must join its thread rather than
    /// create a second node for it.
    #[test]
    fn window_caches_are_dropped_when_another_connection_commits() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Internal(e.to_string()))?;
        let path = dir.path().join("r.db");
        let engine = Engine::open(&path)?;
        engine.ingest_window(
            vec![(raw("a@x", None).into(), source(SourceKind::Imap, 1))],
            FolderRole::Other,
            None,
        )?;

        let other = Engine::open(&path)?;
        let captured = other.capture(&raw("b@x", None), &source(SourceKind::Thunderbird, 7))?;
        drop(other);

        engine.ingest_window(
            vec![(raw("c@x", Some("b@x")).into(), source(SourceKind::Imap, 2))],
            FolderRole::Other,
            None,
        )?;
        engine.settle()?;
        let stats = engine.stats()?;
        assert_eq!(stats.messages, 3);
        assert_eq!(stats.threads, 2);
        let thread = engine.thread(&captured.message_id, crate::time::now())?;
        assert_eq!(thread.messages.len(), 2);
        Ok(())
    }
}
