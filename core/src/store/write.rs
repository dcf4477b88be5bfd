//! The write transaction. A [`Writer`] owns it: messages, their ids (real, alias and ghost
//! nodes), thread membership, participants and sources are written as they come and committed
//! batch by batch ([`Writer::commit`]); thread, address and contact aggregates are recomputed,
//! set-based, for everything touched when the writer finishes. Touched ids are recorded with
//! every commit, so an import killed half-way is settled by the next writer, and the aggregates
//! never depend on the order mail arrived in.
//!
//! This file holds the writer itself: its state, its lifecycle (begin, commit, finish) and
//! [`Writer::ingest`], which drives the concept modules beside it: `link` (ids, ghosts, thread
//! membership), `people` (addresses, participants, identities), `settle` (aggregates), `bulk`
//! (bulk loads) and `sync_state` (folder state saved with the mail it covers).

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::bulk::FactsBeside;
use super::link::NodeCache;
use crate::error::Result;
use crate::mail::{Class, Direction, Role};
use crate::model::{DryRunEntry, IngestOutcome, Policy, SourceRef};
use crate::policy::{IdentitySet, RuleAction, RuleSet};

/// One participant, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedParticipant {
    pub role: Role,
    pub key: String,
    pub email: String,
    pub domain: String,
    pub name: Option<String>,
}

/// The columns of a stored message that the winning copy decides, in the order both the
/// insert and the replacement bind them (`?1` to `?14`).
struct CopyFields<'a> {
    p: &'a PreparedMessage,
    reply_to: &'a str,
    refs: String,
    from: Option<i64>,
    direction: &'static str,
}

impl<'a> CopyFields<'a> {
    fn of(p: &'a PreparedMessage, from: Option<i64>, direction: Direction) -> Self {
        CopyFields {
            p,
            reply_to: p.parent_id.as_deref().unwrap_or(""),
            refs: p.references.join(" "),
            from,
            direction: direction.as_str(),
        }
    }

    fn values(&self) -> [&dyn ToSql; 14] {
        let p = self.p;
        [
            &p.date,
            &p.date_problem,
            &p.subject,
            &p.base_subject,
            &p.orphan_reply,
            &self.reply_to,
            &self.refs,
            &self.from,
            &self.direction,
            &p.list_id,
            &p.thread_index,
            &p.content_hash,
            &p.provisional,
            &p.snippet,
        ]
    }
}

/// A message ready to be written: every decision that needs no database has been made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PreparedMessage {
    pub key: String,
    /// Every id the message is known by; always contains `key`.
    pub own_ids: Vec<String>,
    pub references: Vec<String>,
    pub parent_id: Option<String>,
    pub date: i64,
    pub date_problem: String,
    pub subject: String,
    pub base_subject: String,
    pub orphan_reply: bool,
    pub class: Option<Class>,
    pub class_reason: String,
    pub list_id: String,
    /// Addresses that belong to the list itself (from List-Id and List-Post).
    pub list_addresses: Vec<(String, String, String)>,
    pub thread_index: String,
    pub participants: Vec<PreparedParticipant>,
    pub content_hash: String,
    pub snippet: String,
    /// A record made before the message was seen (Outlook's send event).
    pub provisional: bool,
    /// What parsing left out past its bounds (see `Envelope::trimmed`), recorded with the source.
    pub trimmed: Vec<String>,
}

/// The reason recorded beside a message stored without what went past a parsing bound: it
/// was stored, so it does not count among the skipped inputs.
pub const TRIMMED: &str = "trimmed";

/// What a writer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchEffects {
    pub stored: u64,
    pub duplicates: u64,
    pub contacts_created: u64,
}

/// What a dry run would have done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DryRunFindings {
    pub new_contacts: i64,
    pub skipped_addresses: i64,
    pub would_create: Vec<DryRunEntry>,
    pub top_skipped_senders: Vec<DryRunEntry>,
}

/// The write transaction.
pub struct Writer<'c> {
    pub(super) conn: &'c Connection,
    pub(super) in_tx: bool,
    pub(super) identities: IdentitySet,
    pub(super) rules: RuleSet,
    pub(super) policy: Policy,
    pub(super) now: i64,
    pub(super) dirty_threads: HashSet<i64>,
    pub(super) dirty_addresses: HashSet<i64>,
    /// First message row created since the last commit (its FTS rows are added in bulk).
    pub(super) first_new_message: Option<i64>,
    /// Normalised address → (row id, the written form stored).
    pub(super) address_ids: HashMap<String, (i64, String)>,
    pub(super) list_marked: HashSet<String>,
    /// Display names seen since the last commit: (address, name) → (first, last, uses).
    pub(super) names: HashMap<(i64, String), (i64, i64, i64)>,
    /// Name uses to count again from the participant rows at the next flush, because the copy
    /// of a message that wins changed their rows or the message's date.
    pub(super) names_to_recount: HashSet<(i64, String)>,
    /// Dirty ids already written to the pending tables.
    pub(super) persisted_threads: HashSet<i64>,
    pub(super) persisted_addresses: HashSet<i64>,
    pub(super) effects: BatchEffects,
    pub(super) start_message: i64,
    pub(super) start_contact: i64,
    /// Secondary indexes were dropped for a bulk load and must be rebuilt before settling.
    pub(super) indexes_deferred: bool,
    /// Address facts being gathered on a second connection (see [`Writer::start_facts_beside`]).
    pub(super) facts_beside: Option<FactsBeside>,
    /// The address facts received from beside, while they are still exact (see `settle`).
    pub(super) beside_facts: Option<HashMap<i64, super::settle::Facts>>,
    /// The checkpoint that follows it, joined once the writer has committed.
    pub(super) checkpoint_beside: Option<std::thread::JoinHandle<()>>,
    pub(super) node_cache: NodeCache,
    /// Addresses created by this writer (they get their search row when it settles).
    pub(super) new_addresses: HashSet<i64>,
    /// No source existed when the writer began: a source can only repeat within this writer,
    /// and the node lookup finds those repeats anyway.
    pub(super) sources_started_empty: bool,
    /// `PRAGMA data_version` when this writer last took the lock: it changes only when another
    /// connection commits, which makes the caches above and the settings below stale.
    pub(super) data_version: i64,
    /// Another connection committed while this writer let go of the lock between batches.
    pub(super) others_wrote: bool,
    /// The user's own addresses: the earliest and latest date of the mail written this batch
    /// that they are in. Their first and last dates are kept current from these when the batch
    /// is flushed, so settling never reads all of their mail (they are in nearly all of it).
    pub(super) own_seen: HashMap<i64, (i64, i64)>,
    /// Own addresses whose first and last dates are recomputed from all their mail when this
    /// writer settles (an identity was just added or removed).
    pub(super) full_dates: HashSet<i64>,
    /// Held (shared) from this writer's first commit until it ends: tells other writers that
    /// its pending rows belong to a running writer (see [`Writer::settles_pending`]).
    pub(super) lease: Option<std::fs::File>,
    /// A shared hold on `<database>-turn` while this is a short writer (see the store's
    /// concurrency notes); dropped once it turns out to be a long one.
    turn: Option<std::fs::File>,
    /// When this writer last took the lock.
    pub(super) batch_started: std::time::Instant,
    /// A policy for this writer only (`rapport import --policy`), kept when settings reload.
    pub(super) policy_override: Option<Policy>,
}

/// What a writer learned about the database that the next writer may reuse, as long as nothing
/// else wrote in between (the engine hands them from one sync window to the next).
#[derive(Default)]
pub struct WriterCaches {
    node_cache: NodeCache,
    address_ids: HashMap<String, (i64, String)>,
    list_marked: HashSet<String>,
    sources_started_empty: bool,
    /// `PRAGMA data_version` after our commit: it changes only when another connection commits.
    data_version: i64,
}

impl std::fmt::Debug for WriterCaches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterCaches")
            .field("nodes", &self.node_cache.nodes.len())
            .field("addresses", &self.address_ids.len())
            .finish()
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if self.in_tx {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        // A bulk writer turned row-by-row foreign-key checks off; every other writer has them.
        let _ = self.conn.pragma_update(None, "foreign_keys", true);
    }
}

fn class_rank(class: &str) -> u8 {
    match class {
        "person" => 0,
        "list" => 1,
        "bulk" => 2,
        "auto" => 3,
        _ => 4,
    }
}

/// `<database>-NAME`, opened for locking; `None` for an in-memory database or when the file
/// cannot be had (a read-only directory): writers then simply do without that coordination.
fn side_file(conn: &Connection, name: &str) -> Option<std::fs::File> {
    let path = conn.path().filter(|p| !p.is_empty())?;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{path}-{name}"))
        .ok()
}

impl<'c> Writer<'c> {
    /// Begins with what an earlier writer learned (see [`WriterCaches`]).
    /// If another process committed in between, the caches are stale and are dropped.
    pub(super) fn resume(conn: &'c Connection, now: i64, caches: WriterCaches) -> Result<Self> {
        let mut w = Self::begin_inner(conn, now, false)?;
        // Read inside our IMMEDIATE transaction, so nobody can commit between check and use.
        let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if version != caches.data_version {
            w.probe_emptiness()?;
            return Ok(w);
        }
        w.node_cache = caches.node_cache;
        w.address_ids = caches.address_ids;
        w.list_marked = caches.list_marked;
        w.sources_started_empty = caches.sources_started_empty;
        Ok(w)
    }

    /// An empty table lets the writer skip lookups it would otherwise make per message.
    fn probe_emptiness(&mut self) -> Result<()> {
        self.node_cache.complete =
            self.conn
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM node)", [], |r| r.get(0))?;
        self.sources_started_empty =
            self.conn
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM source)", [], |r| r.get(0))?;
        Ok(())
    }

    pub(super) fn begin(conn: &'c Connection, now: i64) -> Result<Self> {
        Self::begin_inner(conn, now, true)
    }

    fn begin_inner(conn: &'c Connection, now: i64, probe: bool) -> Result<Self> {
        // Waiting for the lock, and writing: long writers let this one in first.
        let turn = side_file(conn, "turn").and_then(|file| file.lock_shared().ok().map(|()| file));
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut w = Writer {
            conn,
            in_tx: true,
            identities: IdentitySet::default(),
            rules: RuleSet::default(),
            policy: Policy::default(),
            now,
            dirty_threads: HashSet::new(),
            dirty_addresses: HashSet::new(),
            first_new_message: None,
            address_ids: HashMap::new(),
            list_marked: HashSet::new(),
            names: HashMap::new(),
            names_to_recount: HashSet::new(),
            persisted_threads: HashSet::new(),
            persisted_addresses: HashSet::new(),
            effects: BatchEffects::default(),
            start_message: 0,
            start_contact: 0,
            indexes_deferred: false,
            facts_beside: None,
            beside_facts: None,
            checkpoint_beside: None,
            node_cache: NodeCache::default(),
            new_addresses: HashSet::new(),
            sources_started_empty: false,
            data_version: 0,
            others_wrote: false,
            own_seen: HashMap::new(),
            full_dates: HashSet::new(),
            lease: None,
            turn,
            batch_started: std::time::Instant::now(),
            policy_override: None,
        };
        if probe {
            w.probe_emptiness()?;
        }
        w.load_settings()?;
        w.data_version = w.data_version()?;
        w.start_message =
            conn.query_row("SELECT coalesce(max(id), 0) FROM message", [], |r| r.get(0))?;
        w.start_contact =
            conn.query_row("SELECT coalesce(max(id), 0) FROM contact", [], |r| r.get(0))?;
        Ok(w)
    }

    /// Identities, rules and the policy, as stored.
    fn load_settings(&mut self) -> Result<()> {
        self.identities =
            IdentitySet::new(self.strings("SELECT key FROM identity WHERE confirmed = 1")?);
        self.rules = RuleSet::new(
            self.conn
                .prepare_cached("SELECT action, pattern FROM rule")?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter_map(|(a, p)| a.parse::<RuleAction>().ok().map(|a| (a, p))),
        );
        self.policy = match self.policy_override {
            Some(policy) => policy,
            None => self
                .conn
                .query_row("SELECT value FROM setting WHERE key = 'policy'", [], |r| {
                    r.get::<_, String>(0)
                })
                .optional()?
                .and_then(|p| p.parse::<Policy>().ok())
                .unwrap_or_default(),
        };
        Ok(())
    }

    fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Ends the transaction and begins the next one, letting waiting writers in between. If one
    /// of them committed, what this writer cached is stale: the caches start over and the
    /// settings (an identity or rule just added) are read again, so the rest of the load
    /// is written as if that edit had come first.
    pub(super) fn commit_and_continue(&mut self) -> Result<()> {
        if self.lease.is_none() {
            self.lease = self.take_lease();
        }
        self.long_running();
        self.conn.execute_batch("COMMIT")?;
        self.in_tx = false;
        // Waiters poll for the lock every millisecond (see `store::wait_for_lock`); without this
        // pause the next BEGIN would take it again before any of them looked.
        std::thread::sleep(super::WRITER_PAUSE);
        self.let_short_writers_in();
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.in_tx = true;
        self.batch_started = std::time::Instant::now();
        let version = self.data_version()?;
        if version != self.data_version {
            self.data_version = version;
            self.others_wrote = true;
            self.node_cache = NodeCache::default();
            self.address_ids.clear();
            self.list_marked.clear();
            self.sources_started_empty = false;
            // Another writer may have settled (and emptied) the pending tables.
            self.persisted_threads.clear();
            self.persisted_addresses.clear();
            self.load_settings()?;
            tracing::debug!("another writer committed: caches dropped, settings reloaded");
        }
        Ok(())
    }

    pub(super) fn ids(&self, sql: &str) -> Result<Vec<i64>> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_map([], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn strings(&self, sql: &str) -> Result<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Marks this writer as a long one (an import, a dry run): it no longer counts as a short
    /// writer waiting its turn, and others' turns come before its batches.
    pub fn long_running(&mut self) {
        self.turn = None;
    }

    /// Waits while short writers hold `<database>-turn` (they are waiting for the lock or
    /// writing), for up to [`super::YIELD_LIMIT`].
    fn let_short_writers_in(&self) {
        let Some(turns) = side_file(self.conn, "turn") else {
            return;
        };
        let started = std::time::Instant::now();
        while started.elapsed() < super::YIELD_LIMIT {
            match turns.try_lock() {
                Ok(()) => return,
                Err(std::fs::TryLockError::WouldBlock) => std::thread::sleep(super::WAIT_POLL),
                Err(std::fs::TryLockError::Error(_)) => return,
            }
        }
    }

    /// The file beside the database that long writers hold shared while they run.
    fn lease_path(&self) -> Option<std::path::PathBuf> {
        self.conn
            .path()
            .filter(|p| !p.is_empty())
            .map(|p| std::path::PathBuf::from(format!("{p}-writers")))
    }

    /// A shared hold on the lease file; `None` when it cannot be had (an in-memory database, a
    /// read-only directory): other writers then settle this one's pending rows as before.
    fn take_lease(&self) -> Option<std::fs::File> {
        let path = self.lease_path()?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ok()?;
        file.lock_shared().ok()?;
        Some(file)
    }

    /// Whether this writer settles the rows earlier writers left in the pending tables. A long
    /// writer (an import between batches) leaves its pending rows for its own finish; a short
    /// writer (a capture, an edit) settling them would redo the whole import so far on every
    /// capture. So a short writer settles them only when no long writer is running: then they
    /// were left by one that was killed. Every long writer settles them when it finishes.
    pub(super) fn settles_pending(&self) -> bool {
        if self.lease.is_some() {
            return true;
        }
        let Some(path) = self.lease_path() else {
            return true;
        };
        let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
        else {
            return true;
        };
        // Free when no long writer holds it; released when `file` closes.
        file.try_lock().is_ok()
    }

    /// Whether a long writer should commit now, before its batch is full: once other writers
    /// have shown up, it holds the lock for at most [`super::SHARED_BATCH`] at a time, so
    /// their writes wait that long at the most.
    pub fn others_are_writing(&self) -> bool {
        self.others_wrote && self.batch_started.elapsed() >= super::SHARED_BATCH
    }

    /// Uses `policy` for this writer only (`rapport import --policy`), without storing it.
    pub fn override_policy(&mut self, policy: Policy) {
        self.policy = policy;
        self.policy_override = Some(policy);
    }

    /// Whether a source has been recorded already (a re-import of the same file, a re-sent capture).
    pub fn source_known(&self, source: &SourceRef) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM source WHERE kind = ?1 AND account = ?2 AND folder = ?3 AND external_id = ?4",
            )?
            .exists(params![
                source.kind.as_str(),
                source.account,
                source.folder,
                source.external_id
            ])?)
    }

    fn insert_source(&self, message_id: i64, source: &SourceRef) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO source (message_id, kind, account, folder, external_id, seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                message_id,
                source.kind.as_str(),
                source.account,
                source.folder,
                source.external_id,
                self.now
            ])?;
        Ok(())
    }

    /// Overwrites a stored message's fields with another copy's.
    fn replace_fields(
        &self,
        message_id: i64,
        p: &PreparedMessage,
        from: Option<i64>,
    ) -> Result<()> {
        let copy = CopyFields::of(p, from, self.direction_of(p));
        let mut values = copy.values().to_vec();
        values.push(&message_id);
        self.conn
            .prepare_cached(
                "UPDATE message SET date = ?1, date_problem = ?2, subject = ?3, base_subject = ?4,
                    orphan_reply = ?5, reply_to_mid = ?6, refs = ?7, from_address_id = ?8,
                    direction = ?9, list_id = ?10, thread_index = ?11, content_hash = ?12,
                    provisional = ?13, snippet = ?14
                 WHERE id = ?15",
            )?
            .execute(values.as_slice())?;
        // Rows created since the last commit get their search entry in bulk then.
        if self
            .first_new_message
            .is_some_and(|first| message_id >= first)
        {
            return Ok(());
        }
        self.conn
            .prepare_cached("DELETE FROM message_fts WHERE rowid = ?1")?
            .execute(params![message_id])?;
        self.conn
            .prepare_cached("INSERT INTO message_fts (rowid, subject) VALUES (?1, ?2)")?
            .execute(params![message_id, p.subject])?;
        Ok(())
    }

    /// Records a message seen at `source`. Idempotent: a known source changes nothing, a known
    /// message gains a source (and any ids, references and participants it lacked).
    pub fn ingest(&mut self, p: &PreparedMessage, source: &SourceRef) -> Result<IngestOutcome> {
        if !self.sources_started_empty && self.source_known(source)? {
            self.effects.duplicates += 1;
            return Ok(IngestOutcome::Duplicate);
        }
        if !p.trimmed.is_empty() {
            self.record_skip(&source.location(), TRIMMED, &p.trimmed.join("; "))?;
        }
        let mut threads = Vec::new();
        let (own, missing_refs, existing) = self.link_ids(p, &mut threads)?;
        let ids: Vec<i64> = p
            .participants
            .iter()
            .map(|pp| self.address_id(&pp.key, &pp.email, &pp.domain))
            .collect::<Result<_>>()?;
        let from = p
            .participants
            .iter()
            .zip(&ids)
            .find(|(pp, _)| pp.role == Role::From)
            .map(|(_, id)| *id);
        let class = p.class.unwrap_or(Class::Person);

        if let Some(message_id) = existing {
            let thread = self.unify_threads(&mut threads)?;
            self.write_nodes(message_id, thread, &own, &missing_refs)?;
            self.write_participants(message_id, p, &ids, false)?;
            let (stored_provisional, stored_hash, stored_class, stored_date): (
                bool,
                String,
                String,
                i64,
            ) = self
                .conn
                .prepare_cached(
                    "SELECT provisional, content_hash, class, date FROM message WHERE id = ?1",
                )?
                .query_row(params![message_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?;
            // Copies that share an id: the real message replaces a provisional record; between
            // real copies the smaller content hash wins, so any import order stores the same.
            let replace = if stored_provisional {
                !p.provisional
            } else {
                !p.provisional && p.content_hash < stored_hash
            };
            if replace {
                self.replace_fields(message_id, p, from)?;
                self.refresh_own_dates(message_id)?;
                if stored_provisional {
                    // The record made at send time takes the real message's key and names.
                    self.conn
                        .prepare_cached(
                            "UPDATE message SET key = ?2 WHERE id = ?1 AND NOT EXISTS (
                                 SELECT 1 FROM node n WHERE n.mid = ?2 AND n.message_id <> ?1)",
                        )?
                        .execute(params![message_id, p.key])?;
                }
                self.adopt_participant_names(message_id, p, &ids, stored_date != p.date)?;
                self.dirty_addresses.extend(ids.iter().copied());
            }
            // The most personal copy decides the class: a message that reached the user directly
            // is person mail even if a list copy of it also arrived.
            if class_rank(class.as_str()) < class_rank(&stored_class) {
                self.conn
                    .prepare_cached(
                        "UPDATE message SET class = ?2, class_reason = ?3 WHERE id = ?1",
                    )?
                    .execute(params![message_id, class.as_str(), p.class_reason])?;
                self.dirty_addresses.extend(ids.iter().copied());
            }
            self.insert_source(message_id, source)?;
            self.effects.duplicates += 1;
            return Ok(IngestOutcome::Duplicate);
        }

        threads.extend(self.subject_matches(p, &ids)?);
        let thread = self.unify_threads(&mut threads)?;
        let copy = CopyFields::of(p, from, self.direction_of(p));
        let class_name = class.as_str();
        let mut values = copy.values().to_vec();
        values.extend([
            &p.key as &dyn ToSql,
            &thread,
            &class_name,
            &p.class_reason,
            &self.now,
        ]);
        self.conn
            .prepare_cached(
                "INSERT INTO message (date, date_problem, subject, base_subject, orphan_reply,
                    reply_to_mid, refs, from_address_id, direction, list_id, thread_index,
                    content_hash, provisional, snippet, key, thread_id, class, class_reason, stored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            )?
            .execute(values.as_slice())?;
        let message_id = self.conn.last_insert_rowid();
        self.first_new_message.get_or_insert(message_id);
        self.write_nodes(message_id, thread, &own, &missing_refs)?;
        self.write_participants(message_id, p, &ids, true)?;
        self.insert_source(message_id, source)?;
        self.effects.stored += 1;
        Ok(IngestOutcome::Stored)
    }

    /// Records input that could not be stored, with the reason (idempotent per location).
    pub fn record_skip(&self, location: &str, reason: &str, detail: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO skip (location, reason, detail, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (location) DO UPDATE SET reason = excluded.reason, detail = excluded.detail",
            )?
            .execute(params![location, reason, detail, self.now])?;
        Ok(())
    }

    /// Writes what was buffered since the last commit (search rows, names, pending markers).
    fn flush_batch(&mut self) -> Result<()> {
        self.flush_own_dates()?;
        if let Some(first) = self.first_new_message.take() {
            self.conn
                .prepare_cached(
                    "INSERT INTO message_fts (rowid, subject) SELECT id, subject FROM message WHERE id >= ?1",
                )?
                .execute(params![first])?;
        }
        {
            let mut stmt = self.conn.prepare_cached(
                "INSERT INTO address_name (address_id, name, first_seen, last_seen, uses)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (address_id, name) DO UPDATE SET
                     first_seen = min(first_seen, excluded.first_seen),
                     last_seen = max(last_seen, excluded.last_seen),
                     uses = uses + excluded.uses",
            )?;
            for ((aid, name), (first, last, uses)) in self.names.drain() {
                stmt.execute(params![aid, name, first, last, uses])?;
            }
        }
        self.recount_names()?;
        // Record what became dirty since the last commit (what was recorded before stays).
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO pending_thread (id) VALUES (?1)")?;
        for t in self.dirty_threads.difference(&self.persisted_threads) {
            stmt.execute(params![t])?;
        }
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO pending_address (id) VALUES (?1)")?;
        for a in self.dirty_addresses.difference(&self.persisted_addresses) {
            stmt.execute(params![a])?;
        }
        self.persisted_threads
            .extend(self.dirty_threads.iter().copied());
        self.persisted_addresses
            .extend(self.dirty_addresses.iter().copied());
        Ok(())
    }

    /// Commits what was written so far and carries on in a new transaction. Aggregates are
    /// settled later, in [`Writer::finish`] (or by the next writer, if this one is killed).
    pub fn commit(&mut self) -> Result<()> {
        let started = std::time::Instant::now();
        self.flush_batch()?;
        let flushed = started.elapsed();
        self.commit_and_continue()?;
        tracing::debug!(
            flush_ms = flushed.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "committed a batch"
        );
        Ok(())
    }

    /// Commits what was written and leaves the aggregates pending (recorded for the next
    /// [`Writer::finish`], by this process or any later one).
    pub fn finish_pending(mut self) -> Result<BatchEffects> {
        self.flush_batch()?;
        self.restore_indexes()?;
        self.conn.execute_batch("COMMIT")?;
        self.in_tx = false;
        Ok(self.effects)
    }

    /// Like [`Writer::finish_pending`], and hands back what this writer learned for the next one.
    pub fn finish_pending_keeping(mut self) -> Result<WriterCaches> {
        self.flush_batch()?;
        self.restore_indexes()?;
        self.conn.execute_batch("COMMIT")?;
        self.in_tx = false;
        let data_version = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?;
        Ok(WriterCaches {
            data_version,
            node_cache: std::mem::take(&mut self.node_cache),
            address_ids: std::mem::take(&mut self.address_ids),
            list_marked: std::mem::take(&mut self.list_marked),
            sources_started_empty: self.sources_started_empty,
        })
    }

    /// Recomputes every aggregate the writer touched and commits.
    pub fn finish(mut self) -> Result<BatchEffects> {
        self.flush_batch()?;
        self.start_facts_beside()?;
        self.restore_indexes_letting_others_in()?;
        self.settle(true)?;
        let started = std::time::Instant::now();
        self.conn.execute_batch("COMMIT")?;
        self.in_tx = false;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "committed");
        if let Some(checkpoint) = self.checkpoint_beside.take() {
            let _ = checkpoint.join();
        }
        Ok(self.effects)
    }

    /// Recomputes what the writer touched, reports what it would have created and skipped,
    /// and rolls everything back (`import --dry-run`).
    pub fn finish_dry(mut self) -> Result<DryRunFindings> {
        self.flush_batch()?;
        self.restore_indexes()?;
        self.settle(false)?;
        let entry = |r: &rusqlite::Row<'_>| -> rusqlite::Result<DryRunEntry> {
            Ok(DryRunEntry {
                email: r.get(0)?,
                name: r.get(1)?,
                messages: r.get(2)?,
                reason: r.get(3)?,
            })
        };
        let would_create = self
            .conn
            .prepare(
                "SELECT a.email, a.name,
                        (SELECT count(DISTINCT p.message_id) FROM participant p WHERE p.address_id = a.id),
                        a.reason
                 FROM contact c JOIN address a ON a.contact_id = c.id
                 WHERE c.id > ?1 ORDER BY 3 DESC, a.email",
            )?
            .query_map(params![self.start_contact], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let top_skipped = self
            .conn
            .prepare(
                "SELECT a.email, a.name, count(DISTINCT m.id), a.reason
                 FROM message m JOIN participant p ON p.message_id = m.id AND p.role = 'from'
                 JOIN address a ON a.id = p.address_id
                 WHERE m.id > ?1 AND a.status IN ('skipped', 'blocked')
                 GROUP BY a.id ORDER BY 3 DESC, a.email LIMIT 20",
            )?
            .query_map(params![self.start_message], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let skipped_addresses: i64 = self.conn.query_row(
            "SELECT count(DISTINCT a.id) FROM message m JOIN participant p ON p.message_id = m.id
             JOIN address a ON a.id = p.address_id
             WHERE m.id > ?1 AND a.status IN ('skipped', 'blocked')",
            params![self.start_message],
            |r| r.get(0),
        )?;
        self.conn.execute_batch("ROLLBACK")?;
        self.in_tx = false;
        Ok(DryRunFindings {
            new_contacts: would_create.len() as i64,
            skipped_addresses,
            would_create,
            top_skipped_senders: top_skipped,
        })
    }
}
