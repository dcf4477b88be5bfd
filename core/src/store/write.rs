//! Ingest writes. A [`Writer`] owns the write transaction: messages, their ids (real, alias and
//! ghost nodes), thread membership, participants and sources are written as they come and
//! committed batch by batch ([`Writer::commit`]); thread, address and contact aggregates are
//! recomputed, set-based, for everything touched when the writer finishes. Touched ids are
//! recorded with every commit, so an import killed half-way is settled by the next writer, and
//! the aggregates never depend on the order mail arrived in.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::mail::{Class, Direction, Role};
use crate::model::{DryRunEntry, IngestOutcome, Policy, SourceRef};
use crate::policy::{
    AddressFacts, AddressStatus, IdentitySet, RuleAction, RuleSet, decide, direction,
};

/// How far apart (seconds) a header-less reply and the message it answers may be for a subject
/// match to join them.
const SUBJECT_JOIN_WINDOW: i64 = 14 * 86_400;
/// The address-id cache is dropped when it grows past this, keeping memory flat on huge imports.
const ADDRESS_CACHE_LIMIT: usize = 200_000;

/// Whether a message counts for relationships, in SQL (`m` = message, `t` = its thread): person
/// mail; list and bulk mail received in a thread the user wrote in. See `policy::counts`.
const COUNTED: &str = "(m.class = 'person' OR (m.direction = 'inbound' AND m.class IN ('list', 'bulk') AND t.outbound_count > 0))";

/// One participant, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedParticipant {
    pub role: Role,
    pub key: String,
    pub email: String,
    pub domain: String,
    pub name: Option<String>,
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
}

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
    conn: &'c Connection,
    in_tx: bool,
    identities: IdentitySet,
    rules: RuleSet,
    policy: Policy,
    now: i64,
    dirty_threads: HashSet<i64>,
    dirty_addresses: HashSet<i64>,
    /// First message row created since the last commit (its FTS rows are added in bulk).
    first_new_message: Option<i64>,
    address_ids: HashMap<String, i64>,
    list_marked: HashSet<String>,
    /// Display names seen since the last commit: (address, name) → (first, last, uses).
    names: HashMap<(i64, String), (i64, i64, i64)>,
    /// Dirty ids already written to the pending tables.
    persisted_threads: HashSet<i64>,
    persisted_addresses: HashSet<i64>,
    effects: BatchEffects,
    start_message: i64,
    start_contact: i64,
    /// Secondary indexes were dropped for a bulk load and must be rebuilt before settling.
    indexes_deferred: bool,
    /// Address facts being gathered on a second connection (see [`Writer::start_facts_beside`]).
    facts_beside: Option<FactsBeside>,
    /// The checkpoint that follows it, joined once the writer has committed.
    checkpoint_beside: Option<std::thread::JoinHandle<()>>,
    node_cache: NodeCache,
    /// Addresses created by this writer (they get their search row when it settles).
    new_addresses: HashSet<i64>,
    /// No source existed when the writer began: a source can only repeat within this writer,
    /// and the node lookup finds those repeats anyway.
    sources_started_empty: bool,
}

#[derive(Debug, Clone, Copy)]
struct NodeRow {
    id: i64,
    message_id: Option<i64>,
    thread_id: i64,
}

/// Nodes this writer has read or written, so that references to recent mail need no query.
#[derive(Default)]
struct NodeCache {
    nodes: HashMap<String, NodeRow>,
    /// Threads merged into another since the rows were cached.
    merged: HashMap<i64, i64>,
    /// The cache holds every node of the database (it started empty and was never dropped), so
    /// a miss means "no such node" without asking.
    complete: bool,
}

/// What a writer learned about the database that the next writer may reuse, as long as nothing
/// else wrote in between (the engine hands them from one sync window to the next).
#[derive(Default)]
pub struct WriterCaches {
    node_cache: NodeCache,
    address_ids: HashMap<String, i64>,
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

/// The node cache is dropped when it grows past this, keeping memory flat on huge imports.
const NODE_CACHE_LIMIT: usize = 200_000;

impl NodeCache {
    fn thread(&self, mut t: i64) -> i64 {
        while let Some(&next) = self.merged.get(&t) {
            t = next;
        }
        t
    }

    fn get(&self, mid: &str) -> Option<NodeRow> {
        self.nodes.get(mid).map(|n| NodeRow {
            thread_id: self.thread(n.thread_id),
            ..*n
        })
    }

    fn put(&mut self, mid: &str, row: NodeRow) {
        if self.nodes.len() >= NODE_CACHE_LIMIT {
            self.nodes.clear();
            self.merged.clear();
            self.complete = false;
        }
        self.nodes.insert(mid.to_string(), row);
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

/// Running aggregate of one thread while its messages stream past (see [`thread_aggregates`]).
#[derive(Default)]
struct ThreadAgg {
    count: i64,
    first: i64,
    last: i64,
    outbound: i64,
    /// (date, has references, key, id, subject) of the best root candidate so far.
    root: Option<(i64, bool, String, i64, String)>,
    oldest: Option<(i64, String, i64, String)>,
    /// (date, key, id, direction) of the latest message that counts.
    latest: Option<(i64, String, i64, String)>,
    /// List and bulk mail received: counts only if the user wrote in the thread.
    latest_list: Option<(i64, String, i64, String)>,
}

/// Aggregates threads from their messages: of those listed in `temp.dirty_thread`, or of all.
fn thread_aggregates(conn: &Connection, dirty_only: bool) -> Result<HashMap<i64, ThreadAgg>> {
    let mut aggs: HashMap<i64, ThreadAgg> = HashMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT m.thread_id, m.id, m.date, m.key, m.subject, m.direction, m.class,
                m.reply_to_mid <> '',
                coalesce(pm.thread_id = m.thread_id AND pm.id <> m.id, 0)
         FROM message m
         LEFT JOIN node n ON n.mid = m.reply_to_mid AND m.reply_to_mid <> ''
         LEFT JOIN message pm ON pm.id = n.message_id
         {}",
        if dirty_only {
            "WHERE m.thread_id IN (SELECT id FROM temp.dirty_thread)"
        } else {
            ""
        }
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let thread: i64 = r.get(0)?;
        let id: i64 = r.get(1)?;
        let date: i64 = r.get(2)?;
        let key: String = r.get(3)?;
        let direction: String = r.get(5)?;
        let class: String = r.get(6)?;
        let has_refs: bool = r.get(7)?;
        let parent_in_thread: bool = r.get(8)?;
        let a = aggs.entry(thread).or_default();
        a.first = if a.count == 0 {
            date
        } else {
            a.first.min(date)
        };
        a.last = if a.count == 0 { date } else { a.last.max(date) };
        a.count += 1;
        if direction == "outbound" {
            a.outbound += 1;
        }
        let newer = |cur: &Option<(i64, String, i64, String)>| {
            cur.as_ref()
                .is_none_or(|(d, k, _, _)| (date, &key) > (*d, k))
        };
        if !parent_in_thread {
            let better = a
                .root
                .as_ref()
                .is_none_or(|(d, h, k, _, _)| (date, has_refs, &key) < (*d, *h, k));
            if better {
                a.root = Some((date, has_refs, key.clone(), id, r.get(4)?));
            }
        }
        if a.oldest
            .as_ref()
            .is_none_or(|(d, k, _, _)| (date, &key) < (*d, k))
        {
            a.oldest = Some((date, key.clone(), id, r.get(4)?));
        }
        if direction != "internal" {
            if class == "person" {
                if newer(&a.latest) {
                    a.latest = Some((date, key.clone(), id, direction));
                }
            } else if direction == "inbound"
                && (class == "list" || class == "bulk")
                && newer(&a.latest_list)
            {
                a.latest_list = Some((date, key.clone(), id, direction));
            }
        }
    }
    Ok(aggs)
}

/// `INSERT` statements for one to eight participant rows (built once, not per message).
static PARTICIPANT_INSERTS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    (1..=8)
        .map(|n| {
            format!(
                "INSERT OR IGNORE INTO participant (message_id, address_id, role) VALUES {}",
                vec!["(?, ?, ?)"; n].join(", ")
            )
        })
        .collect()
});

/// What one pass over an address's participant rows tells (see [`address_facts`]).
#[derive(Default)]
struct Facts {
    sent_to: i64,
    received_from: i64,
    from_total: i64,
    copied_total: i64,
    first: i64,
    last: i64,
    /// (date, message) of the latest message from the address that does not count.
    latest_uncounted: Option<(i64, i64)>,
}

/// Aggregates the participant rows of every address, or with `dirty_only` of those listed in
/// `temp.dirty_address` (through the participant index). `outbound_threads` are the threads the
/// user wrote in: list and bulk mail received there counts as conversation.
fn address_facts(
    conn: &Connection,
    dirty_only: bool,
    outbound_threads: &HashSet<i64>,
) -> Result<HashMap<i64, Facts>> {
    let sql = format!(
        "SELECT p.address_id, p.role, m.id, m.date, m.direction, m.class, m.thread_id
         FROM participant p JOIN message m ON m.id = p.message_id
         {}",
        if dirty_only {
            "WHERE p.address_id IN (SELECT id FROM temp.dirty_address)"
        } else {
            ""
        }
    );
    let mut facts: HashMap<i64, Facts> = HashMap::new();
    let mut stmt = conn.prepare(&sql)?;
    let mut q = stmt.query([])?;
    while let Some(r) = q.next()? {
        let aid: i64 = r.get(0)?;
        let role = r.get_ref(1)?.as_str().unwrap_or("");
        let message: i64 = r.get(2)?;
        let date: i64 = r.get(3)?;
        let direction = r.get_ref(4)?.as_str().unwrap_or("");
        let class = r.get_ref(5)?.as_str().unwrap_or("");
        let thread: i64 = r.get(6)?;
        let counted = class == "person"
            || (direction == "inbound"
                && (class == "list" || class == "bulk")
                && outbound_threads.contains(&thread));
        let f = facts.entry(aid).or_insert_with(|| Facts {
            first: date,
            last: date,
            ..Default::default()
        });
        f.first = f.first.min(date);
        f.last = f.last.max(date);
        match role {
            "from" => {
                f.from_total += 1;
                if counted && direction == "inbound" {
                    f.received_from += 1;
                } else if !counted && f.latest_uncounted.is_none_or(|l| (date, message) > l) {
                    f.latest_uncounted = Some((date, message));
                }
            }
            "to" | "cc" | "bcc" => {
                f.copied_total += 1;
                if counted && direction == "outbound" {
                    f.sent_to += 1;
                }
            }
            _ => {}
        }
    }
    Ok(facts)
}

/// [`thread_aggregates`] and [`address_facts`] for every thread and address, on a second
/// read-only connection to the database file, started once a bulk load is committed: they run
/// while the writer rebuilds indexes, then the log is checkpointed. Exact for whichever threads
/// and addresses end up dirty, since nothing changes rows in between.
/// `None` when no thread can be started (the writer then settles on its own connection).
fn settle_beside(path: String) -> Option<FactsBeside> {
    let (threads_tx, threads) = std::sync::mpsc::sync_channel(1);
    let (facts_tx, facts) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("rapport-settle".into())
        .spawn(move || {
            let conn = match Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            ) {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = threads_tx.send(Err(e.into()));
                    return;
                }
            };
            let aggs = thread_aggregates(&conn, false);
            // Threads the user wrote in, as the writer will store them from these aggregates.
            let outbound_threads: HashSet<i64> = match &aggs {
                Ok(aggs) => aggs
                    .iter()
                    .filter(|(_, a)| a.outbound > 0)
                    .map(|(id, _)| *id)
                    .collect(),
                Err(_) => HashSet::new(),
            };
            if threads_tx.send(aggs).is_err() {
                return;
            }
            let facts = address_facts(&conn, false, &outbound_threads);
            drop(conn);
            let failed = facts.is_err();
            if facts_tx.send(facts).is_ok() && !failed {
                checkpoint_beside(&path);
            }
        });
    match spawned {
        Ok(checkpoint) => Some(FactsBeside {
            threads,
            facts,
            checkpoint,
        }),
        Err(e) => {
            tracing::debug!(error = %e, "settling on the writer's connection only");
            None
        }
    }
}

/// Thread aggregates and address facts being gathered on a second connection (in that
/// order), and that connection's thread.
struct FactsBeside {
    threads: std::sync::mpsc::Receiver<Result<HashMap<i64, ThreadAgg>>>,
    facts: std::sync::mpsc::Receiver<Result<HashMap<i64, Facts>>>,
    checkpoint: std::thread::JoinHandle<()>,
}

/// Copies what is committed from the write-ahead log into the database file. Otherwise the
/// last commit of a bulk load does it all; here it overlaps the writer's remaining work.
/// PASSIVE never waits for, or blocks, the writer; a failure only leaves the copy to later.
fn checkpoint_beside(path: &str) {
    let started = std::time::Instant::now();
    let outcome = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|conn| {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })
    });
    match outcome {
        Ok((log_frames, copied)) => tracing::debug!(
            log_frames,
            copied,
            ms = started.elapsed().as_millis() as u64,
            "checkpointed beside the writer"
        ),
        Err(e) => tracing::debug!(error = %e, "no checkpoint beside the writer"),
    }
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

    /// The writer's connection, for sibling store modules that write in its transaction.
    pub(super) fn connection(&self) -> &Connection {
        self.conn
    }

    pub(super) fn begin(conn: &'c Connection, now: i64) -> Result<Self> {
        Self::begin_inner(conn, now, true)
    }

    fn begin_inner(conn: &'c Connection, now: i64, probe: bool) -> Result<Self> {
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
            persisted_threads: HashSet::new(),
            persisted_addresses: HashSet::new(),
            effects: BatchEffects::default(),
            start_message: 0,
            start_contact: 0,
            indexes_deferred: false,
            facts_beside: None,
            checkpoint_beside: None,
            node_cache: NodeCache::default(),
            new_addresses: HashSet::new(),
            sources_started_empty: false,
        };
        if probe {
            w.probe_emptiness()?;
        }
        w.identities = IdentitySet::new(w.strings("SELECT key FROM identity WHERE confirmed = 1")?);
        w.rules = RuleSet::new(
            conn.prepare_cached("SELECT action, pattern FROM rule")?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?
                .into_iter()
                .filter_map(|(a, p)| RuleAction::parse(&a).map(|a| (a, p))),
        );
        w.policy = conn
            .query_row("SELECT value FROM setting WHERE key = 'policy'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|p| Policy::parse(&p))
            .unwrap_or_default();
        w.start_message =
            conn.query_row("SELECT coalesce(max(id), 0) FROM message", [], |r| r.get(0))?;
        w.start_contact =
            conn.query_row("SELECT coalesce(max(id), 0) FROM contact", [], |r| r.get(0))?;
        Ok(w)
    }

    fn ids(&self, sql: &str) -> Result<Vec<i64>> {
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

    /// Drops the secondary indexes only queries need, for a bulk load; [`Writer::finish`] builds
    /// them again (and so does opening the database, if this writer is killed).
    pub fn defer_indexes(&mut self) -> Result<()> {
        super::drop_deferrable_indexes(self.conn)?;
        self.indexes_deferred = true;
        // Fewer, larger checkpoints while the bulk load runs.
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 16_384)?;
        Ok(())
    }

    /// The indexes were dropped before this writer began (a bulk transfer of windows, see
    /// [`super::Store::defer_indexes`]): [`Writer::finish`] rebuilds them, and settles the bulk
    /// load the same way as its own.
    pub fn adopt_deferred_indexes(&mut self) {
        self.indexes_deferred = true;
    }

    fn restore_indexes(&mut self) -> Result<()> {
        if std::mem::take(&mut self.indexes_deferred) {
            let started = std::time::Instant::now();
            super::ensure_indexes(self.conn)?;
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                "rebuilt query indexes"
            );
            self.conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
        }
        Ok(())
    }

    /// Uses `policy` for this writer only (`rapport import --policy`), without storing it.
    pub fn override_policy(&mut self, policy: Policy) {
        self.policy = policy;
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

    fn node(&mut self, mid: &str) -> Result<Option<NodeRow>> {
        if let Some(row) = self.node_cache.get(mid) {
            return Ok(Some(row));
        }
        if self.node_cache.complete {
            return Ok(None);
        }
        let row = self
            .conn
            .prepare_cached("SELECT id, message_id, thread_id FROM node WHERE mid = ?1")?
            .query_row(params![mid], |r| {
                Ok(NodeRow {
                    id: r.get(0)?,
                    message_id: r.get(1)?,
                    thread_id: r.get(2)?,
                })
            })
            .optional()?;
        if let Some(r) = row {
            self.node_cache.put(mid, r);
        }
        Ok(row)
    }

    /// Joins `threads` into one (the smallest id) and returns it; creates a thread when empty.
    fn unify_threads(&mut self, threads: &mut Vec<i64>) -> Result<i64> {
        threads.sort_unstable();
        threads.dedup();
        let Some(&target) = threads.first() else {
            self.conn
                .prepare_cached("INSERT INTO thread (subject) VALUES ('')")?
                .execute([])?;
            let t = self.conn.last_insert_rowid();
            self.dirty_threads.insert(t);
            return Ok(t);
        };
        if threads.len() > 1 {
            // Merged threads may change whether list mail counts (the user wrote in one of them).
            let mut stmt = self.conn.prepare_cached(
                "SELECT DISTINCT p.address_id FROM message m JOIN participant p ON p.message_id = m.id
                 WHERE m.thread_id = ?1 AND m.class IN ('list', 'bulk')",
            )?;
            for &t in threads.iter() {
                for a in stmt.query_map(params![t], |r| r.get::<_, i64>(0))? {
                    self.dirty_addresses.insert(a?);
                }
            }
        }
        for &other in &threads[1..] {
            self.conn
                .prepare_cached("UPDATE node SET thread_id = ?1 WHERE thread_id = ?2")?
                .execute(params![target, other])?;
            self.conn
                .prepare_cached("UPDATE message SET thread_id = ?1 WHERE thread_id = ?2")?
                .execute(params![target, other])?;
            self.conn
                .prepare_cached("DELETE FROM thread WHERE id = ?1")?
                .execute(params![other])?;
            self.dirty_threads.remove(&other);
            self.node_cache.merged.insert(other, target);
        }
        self.dirty_threads.insert(target);
        Ok(target)
    }

    fn address_id(&mut self, key: &str, email: &str, domain: &str) -> Result<i64> {
        if let Some(&id) = self.address_ids.get(key) {
            return Ok(id);
        }
        if self.address_ids.len() >= ADDRESS_CACHE_LIMIT {
            self.address_ids.clear();
        }
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM address WHERE key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                self.conn
                    .prepare_cached("INSERT INTO address (key, email, domain) VALUES (?1, ?2, ?3)")?
                    .execute(params![key, email, domain])?;
                let id = self.conn.last_insert_rowid();
                // Its search row is written once, with its name, when the writer settles.
                self.new_addresses.insert(id);
                id
            }
        };
        self.address_ids.insert(key.to_string(), id);
        Ok(id)
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

    fn direction_of(&self, p: &PreparedMessage) -> Direction {
        let from = p
            .participants
            .iter()
            .find(|pp| pp.role == Role::From)
            .map(|pp| pp.key.as_str());
        let recipients: Vec<&str> = p
            .participants
            .iter()
            .filter(|pp| pp.role.is_recipient())
            .map(|pp| pp.key.as_str())
            .collect();
        direction(from, &recipients, &self.identities)
    }

    /// Threads of stored messages that a header-less reply (or the message it answers) joins by
    /// subject: same base subject, within the window, both person mail, and the two share a
    /// correspondent. List mail never joins by subject: lists thread by headers, and their
    /// subjects (`Re: [PATCH] ...`) collide too often.
    fn subject_matches(&self, p: &PreparedMessage, ids: &[i64]) -> Result<Vec<i64>> {
        if p.base_subject.is_empty() || p.class != Some(Class::Person) {
            return Ok(Vec::new());
        }
        let with_role = |roles: &[Role]| -> Vec<i64> {
            p.participants
                .iter()
                .zip(ids)
                .filter(|(pp, _)| roles.contains(&pp.role))
                .map(|(_, id)| *id)
                .collect()
        };
        let from = with_role(&[Role::From]);
        let visible = with_role(&[Role::From, Role::To, Role::Cc]);
        let recipients = with_role(&[Role::To, Role::Cc]);
        // (message, thread, whether the stored one is the header-less reply)
        let mut candidates: Vec<(i64, i64, bool)> = Vec::new();
        {
            let (low, high) = if p.orphan_reply {
                (p.date - SUBJECT_JOIN_WINDOW, p.date + SUBJECT_JOIN_WINDOW)
            } else {
                (p.date, p.date + SUBJECT_JOIN_WINDOW)
            };
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, thread_id, orphan_reply, date FROM message
                 WHERE base_subject = ?1 AND date BETWEEN ?2 AND ?3 AND key <> ?4 AND class = 'person'",
            )?;
            let rows = stmt.query_map(params![p.base_subject, low, high, p.key], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            for row in rows {
                let (id, thread, orphan, date) = row?;
                if p.orphan_reply && date <= p.date {
                    candidates.push((id, thread, false));
                } else if orphan && date >= p.date {
                    candidates.push((id, thread, true));
                }
            }
        }
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut threads = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT address_id, role FROM participant WHERE message_id = ?1")?;
        for (id, thread, stored_is_reply) in candidates {
            let theirs: Vec<(i64, String)> = stmt
                .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let has = |ids: &[i64], roles: &[&str]| {
                theirs
                    .iter()
                    .any(|(a, role)| ids.contains(a) && roles.contains(&role.as_str()))
            };
            // The reply's sender was on the original, or the original's sender got the reply.
            let shares = if stored_is_reply {
                has(&visible, &["from"]) || has(&from, &["to", "cc"])
            } else {
                has(&from, &["from", "to", "cc"]) || has(&recipients, &["from"])
            };
            if shares {
                threads.push(thread);
            }
        }
        Ok(threads)
    }

    /// Looks up the message's own ids and references. Returns the own ids to write (with the
    /// ghost node each fills, if any), the references nobody has seen, and the stored message
    /// this one duplicates, if any.
    #[allow(clippy::type_complexity)]
    fn link_ids(
        &mut self,
        p: &PreparedMessage,
        threads: &mut Vec<i64>,
    ) -> Result<(Vec<(String, Option<i64>)>, Vec<String>, Option<i64>)> {
        let mut existing = None;
        let mut own = Vec::with_capacity(p.own_ids.len());
        for id in &p.own_ids {
            match self.node(id)? {
                Some(n) => {
                    threads.push(n.thread_id);
                    match n.message_id {
                        // Already a stored message: this copy is a duplicate.
                        Some(m) => {
                            existing.get_or_insert(m);
                        }
                        // A ghost that this message now fills in.
                        None => own.push((id.clone(), Some(n.id))),
                    }
                }
                None => own.push((id.clone(), None)),
            }
        }
        let mut missing_refs = Vec::new();
        for r in &p.references {
            match self.node(r)? {
                Some(n) => threads.push(n.thread_id),
                None => missing_refs.push(r.clone()),
            }
        }
        Ok((own, missing_refs, existing))
    }

    fn write_nodes(
        &mut self,
        message_id: i64,
        thread: i64,
        own: &[(String, Option<i64>)],
        missing_refs: &[String],
    ) -> Result<()> {
        for (mid, ghost) in own {
            match ghost {
                Some(node_id) => {
                    self.conn
                        .prepare_cached("UPDATE node SET message_id = ?1 WHERE id = ?2")?
                        .execute(params![message_id, node_id])?;
                    self.node_cache.put(
                        mid,
                        NodeRow {
                            id: *node_id,
                            message_id: Some(message_id),
                            thread_id: thread,
                        },
                    );
                }
                None => {
                    let inserted = self
                        .conn
                        .prepare_cached(
                            "INSERT OR IGNORE INTO node (mid, message_id, thread_id) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![mid, message_id, thread])?;
                    if inserted > 0 {
                        let id = self.conn.last_insert_rowid();
                        self.node_cache.put(
                            mid,
                            NodeRow {
                                id,
                                message_id: Some(message_id),
                                thread_id: thread,
                            },
                        );
                    }
                }
            }
        }
        for r in missing_refs {
            let inserted = self
                .conn
                .prepare_cached("INSERT OR IGNORE INTO node (mid, thread_id) VALUES (?1, ?2)")?
                .execute(params![r, thread])?;
            if inserted > 0 {
                let id = self.conn.last_insert_rowid();
                self.node_cache.put(
                    r,
                    NodeRow {
                        id,
                        message_id: None,
                        thread_id: thread,
                    },
                );
            }
        }
        Ok(())
    }

    fn write_participants(
        &mut self,
        message_id: i64,
        p: &PreparedMessage,
        ids: &[i64],
        record_names: bool,
    ) -> Result<()> {
        // One statement for up to eight rows: most messages have fewer participants, and one
        // statement per row is a large part of ingest time.
        let mut inserted = vec![true; ids.len()];
        if record_names {
            for (chunk_ps, chunk_ids) in p.participants.chunks(8).zip(ids.chunks(8)) {
                let sql = PARTICIPANT_INSERTS
                    .get(chunk_ids.len() - 1)
                    .ok_or_else(|| crate::error::Error::Internal("participant chunk".into()))?;
                let mut stmt = self.conn.prepare_cached(sql)?;
                let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk_ids.len() * 3);
                let roles: Vec<&str> = chunk_ps.iter().map(|pp| pp.role.as_str()).collect();
                for (aid, role) in chunk_ids.iter().zip(&roles) {
                    values.push(&message_id);
                    values.push(aid);
                    values.push(role);
                }
                stmt.execute(values.as_slice())?;
            }
        } else {
            // A duplicate copy: only rows it adds make their addresses dirty.
            let mut stmt = self.conn.prepare_cached(
                "INSERT OR IGNORE INTO participant (message_id, address_id, role) VALUES (?1, ?2, ?3)",
            )?;
            for (i, (pp, aid)) in p.participants.iter().zip(ids).enumerate() {
                inserted[i] = stmt.execute(params![message_id, aid, pp.role.as_str()])? > 0;
            }
        }
        for (i, (pp, &aid)) in p.participants.iter().zip(ids).enumerate() {
            if inserted[i] {
                self.dirty_addresses.insert(aid);
                if record_names && let Some(name) = &pp.name {
                    let e = self
                        .names
                        .entry((aid, name.clone()))
                        .or_insert((p.date, p.date, 0));
                    e.0 = e.0.min(p.date);
                    e.1 = e.1.max(p.date);
                    e.2 += 1;
                }
            }
        }
        for (key, email, domain) in &p.list_addresses {
            if self.list_marked.insert(key.clone()) {
                let aid = self.address_id(key, email, domain)?;
                let changed = self
                    .conn
                    .prepare_cached("UPDATE address SET is_list = 1 WHERE id = ?1 AND is_list = 0")?
                    .execute(params![aid])?;
                if changed > 0 {
                    self.dirty_addresses.insert(aid);
                }
            }
        }
        Ok(())
    }

    /// Overwrites a stored message's fields with another copy's.
    fn replace_fields(
        &self,
        message_id: i64,
        p: &PreparedMessage,
        from: Option<i64>,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE message SET date = ?2, date_problem = ?3, subject = ?4, base_subject = ?5,
                    orphan_reply = ?6, reply_to_mid = ?7, refs = ?8, from_address_id = ?9,
                    direction = ?10, list_id = ?11, thread_index = ?12, content_hash = ?13,
                    provisional = ?14, snippet = ?15
                 WHERE id = ?1",
            )?
            .execute(params![
                message_id,
                p.date,
                p.date_problem,
                p.subject,
                p.base_subject,
                p.orphan_reply,
                p.parent_id.as_deref().unwrap_or(""),
                p.references.join(" "),
                from,
                self.direction_of(p).as_str(),
                p.list_id,
                p.thread_index,
                p.content_hash,
                p.provisional,
                p.snippet,
            ])?;
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
            let (stored_provisional, stored_hash, stored_class): (bool, String, String) = self
                .conn
                .prepare_cached(
                    "SELECT provisional, content_hash, class FROM message WHERE id = ?1",
                )?
                .query_row(params![message_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
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
                if stored_provisional {
                    // The record made at send time takes the real message's key and names.
                    self.conn
                        .prepare_cached(
                            "UPDATE message SET key = ?2 WHERE id = ?1 AND NOT EXISTS (
                                 SELECT 1 FROM node n WHERE n.mid = ?2 AND n.message_id <> ?1)",
                        )?
                        .execute(params![message_id, p.key])?;
                    self.write_participants(message_id, p, &ids, true)?;
                }
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
        self.conn
            .prepare_cached(
                "INSERT INTO message (key, thread_id, date, date_problem, subject, base_subject,
                    orphan_reply, reply_to_mid, refs, from_address_id, direction, class, class_reason,
                    list_id, thread_index, content_hash, provisional, snippet, stored_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            )?
            .execute(params![
                p.key,
                thread,
                p.date,
                p.date_problem,
                p.subject,
                p.base_subject,
                p.orphan_reply,
                p.parent_id.as_deref().unwrap_or(""),
                p.references.join(" "),
                from,
                self.direction_of(p).as_str(),
                class.as_str(),
                p.class_reason,
                p.list_id,
                p.thread_index,
                p.content_hash,
                p.provisional,
                p.snippet,
                self.now,
            ])?;
        let message_id = self.conn.last_insert_rowid();
        self.first_new_message.get_or_insert(message_id);
        self.write_nodes(message_id, thread, &own, &missing_refs)?;
        self.write_participants(message_id, p, &ids, true)?;
        self.insert_source(message_id, source)?;
        self.effects.stored += 1;
        Ok(IngestOutcome::Stored)
    }

    /// Records the From address of mail in a Sent folder as a candidate identity for the user to
    /// confirm.
    pub fn note_identity_candidate(&self, key: &str, email: &str, account: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO identity (key, email, origin, confirmed, account, seen)
                 VALUES (?1, ?2, 'candidate', 0, ?3, 1)
                 ON CONFLICT (key) DO UPDATE SET seen = seen + 1",
            )?
            .execute(params![key, email, account])?;
        Ok(())
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

    /// Recomputes directions and marks everything for recomputation: after identities, rules or
    /// the policy changed.
    pub fn recompute_all(&mut self) -> Result<()> {
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS me (address_id INTEGER PRIMARY KEY);
             DELETE FROM temp.me;
             INSERT INTO temp.me SELECT a.id FROM address a JOIN identity i ON i.key = a.key WHERE i.confirmed = 1;
             UPDATE message SET direction = CASE
                 WHEN from_address_id IN (SELECT address_id FROM temp.me) THEN
                     CASE WHEN EXISTS (SELECT 1 FROM participant p WHERE p.message_id = message.id
                                         AND p.role IN ('to', 'cc', 'bcc'))
                           AND NOT EXISTS (SELECT 1 FROM participant p WHERE p.message_id = message.id
                                         AND p.role IN ('to', 'cc', 'bcc')
                                         AND p.address_id NOT IN (SELECT address_id FROM temp.me))
                          THEN 'internal' ELSE 'outbound' END
                 ELSE 'inbound' END;
             DROP TABLE temp.me;",
        )?;
        self.dirty_threads
            .extend(self.ids("SELECT id FROM thread")?);
        self.dirty_addresses
            .extend(self.ids("SELECT id FROM address")?);
        Ok(())
    }

    /// Marks the addresses a rule pattern (address key or domain) covers for recomputation.
    pub fn touch_address_key(&mut self, pattern: &str) -> Result<()> {
        let ids = self
            .conn
            .prepare_cached(
                "SELECT id FROM address WHERE key = ?1 OR domain = ?1 OR domain LIKE '%.' || ?1",
            )?
            .query_map(params![pattern], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        self.dirty_addresses.extend(ids);
        Ok(())
    }

    /// Writes what was buffered since the last commit (search rows, names, pending markers).
    fn flush_batch(&mut self) -> Result<()> {
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
        self.conn.execute_batch("COMMIT; BEGIN IMMEDIATE")?;
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
        self.restore_indexes()?;
        self.settle()?;
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
        self.settle()?;
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

    /// Loads an id set into a temp table for set-based statements.
    fn temp_ids(&self, table: &str, ids: &HashSet<i64>) -> Result<()> {
        self.conn.execute_batch(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY); DELETE FROM temp.{table};"
        ))?;
        let mut stmt = self.conn.prepare(&format!(
            "INSERT OR IGNORE INTO temp.{table} (id) VALUES (?1)"
        ))?;
        for id in ids {
            stmt.execute(params![id])?;
        }
        Ok(())
    }

    /// After a bulk load most addresses need settling, and reading all their participants is
    /// a large part of it: that pass starts now on a second connection, beside this one's index
    /// and thread work. (The batch so far is committed first; pending tables keep the rest safe.)
    fn start_facts_beside(&mut self) -> Result<()> {
        if !self.indexes_deferred {
            return Ok(());
        }
        let Some(path) = self
            .conn
            .path()
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
        else {
            return Ok(());
        };
        let pending = self.ids("SELECT id FROM pending_address")?;
        self.dirty_addresses.extend(pending);
        let total: i64 = self
            .conn
            .query_row("SELECT count(*) FROM address", [], |r| r.get(0))?;
        if (self.dirty_addresses.len() as i64) * 4 <= total {
            return Ok(());
        }
        self.conn.execute_batch("COMMIT; BEGIN IMMEDIATE")?;
        self.facts_beside = settle_beside(path);
        Ok(())
    }

    /// Recomputes threads, then addresses, then contacts, for everything touched.
    fn settle(&mut self) -> Result<()> {
        let started = std::time::Instant::now();
        // Work earlier writers left pending (windows of a sync, a killed import).
        let pending_threads = self.ids("SELECT id FROM pending_thread")?;
        let pending_addresses = self.ids("SELECT id FROM pending_address")?;
        self.dirty_threads.extend(pending_threads);
        self.dirty_addresses.extend(pending_addresses);
        let (threads, addresses) = (self.dirty_threads.len(), self.dirty_addresses.len());
        if !self.dirty_threads.is_empty() {
            self.recompute_threads()?;
        }
        let after_threads = started.elapsed();
        let mut contacts = 0;
        if !self.dirty_addresses.is_empty() {
            let dirty = self.recompute_addresses()?;
            contacts = dirty.len();
            if !dirty.is_empty() {
                self.recompute_contacts(&dirty)?;
            }
        }
        tracing::debug!(
            threads,
            addresses,
            contacts,
            threads_ms = after_threads.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "settled aggregates"
        );
        self.conn
            .execute_batch("DELETE FROM pending_thread; DELETE FROM pending_address;")?;
        Ok(())
    }

    fn recompute_threads(&mut self) -> Result<()> {
        let dirty = std::mem::take(&mut self.dirty_threads);
        let aggs = match self.facts_beside.as_ref() {
            // Every thread, aggregated on the second connection: keep the dirty ones.
            Some(beside) => {
                let mut all = beside.threads.recv().map_err(|_| {
                    crate::error::Error::Internal("the thread pass stopped".into())
                })??;
                all.retain(|thread, _| dirty.contains(thread));
                all
            }
            None => {
                self.temp_ids("dirty_thread", &dirty)?;
                thread_aggregates(self.conn, true)?
            }
        };
        let mut before = self
            .conn
            .prepare_cached("SELECT outbound_count FROM thread WHERE id = ?1")?;
        let mut update = self.conn.prepare_cached(
            "UPDATE thread SET message_count = ?2, first_date = ?3, last_date = ?4,
                outbound_count = ?5, root_message_id = ?6, subject = ?7, last_message_id = ?8,
                last_direction = ?9, last_counted_date = ?10
             WHERE id = ?1",
        )?;
        let mut flipped = Vec::new();
        for (thread, a) in aggs {
            let old_outbound: i64 = before
                .query_row(params![thread], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            if (old_outbound > 0) != (a.outbound > 0) {
                flipped.push(thread);
            }
            let (root_id, subject) = match (a.root, a.oldest) {
                (Some((_, _, _, id, s)), _) => (Some(id), thread_subject(&s)),
                (None, Some((_, _, id, s))) => (Some(id), thread_subject(&s)),
                (None, None) => (None, String::new()),
            };
            // List mail counts in threads the user wrote in.
            let latest = if a.outbound > 0 {
                match (a.latest, a.latest_list) {
                    (Some(p), Some(l)) => Some(if (l.0, &l.1) > (p.0, &p.1) { l } else { p }),
                    (p, l) => p.or(l),
                }
            } else {
                a.latest
            };
            let (last_id, last_dir, last_date) = match latest {
                Some((d, _, id, dir)) => (Some(id), dir, d),
                None => (None, String::new(), 0),
            };
            update.execute(params![
                thread, a.count, a.first, a.last, a.outbound, root_id, subject, last_id, last_dir,
                last_date
            ])?;
        }
        // Threads the user started or stopped writing in: their list and bulk mail now counts,
        // or no longer does.
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT p.address_id FROM message m JOIN participant p ON p.message_id = m.id
             WHERE m.thread_id = ?1 AND m.class IN ('list', 'bulk')",
        )?;
        for t in flipped {
            for a in stmt.query_map(params![t], |r| r.get::<_, i64>(0))? {
                self.dirty_addresses.insert(a?);
            }
        }
        Ok(())
    }

    /// Decides every touched address's status; creates and detaches contacts. Returns the
    /// contacts whose aggregates must be recomputed.
    fn recompute_addresses(&mut self) -> Result<HashSet<i64>> {
        let dirty = std::mem::take(&mut self.dirty_addresses);
        self.temp_ids("dirty_address", &dirty)?;
        struct Row {
            id: i64,
            facts: AddressFacts,
            contact_id: Option<i64>,
            name: String,
            new_name: String,
            first: i64,
            last: i64,
        }
        let mut facts = match self.facts_beside.take() {
            // Computed over every address by a second connection while this one rebuilt
            // indexes and threads: exact for whichever addresses ended up dirty.
            Some(beside) => {
                let facts = beside.facts.recv().map_err(|_| {
                    crate::error::Error::Internal("the address pass stopped".into())
                })??;
                self.checkpoint_beside = Some(beside.checkpoint);
                facts
            }
            None => {
                // Over all participants, in message order, when most addresses are dirty (a
                // bulk import); through the address index otherwise.
                let total: i64 = self
                    .conn
                    .query_row("SELECT count(*) FROM address", [], |r| r.get(0))?;
                let full_scan = (dirty.len() as i64) * 4 > total;
                let outbound_threads: HashSet<i64> = self
                    .ids("SELECT id FROM thread WHERE outbound_count > 0")?
                    .into_iter()
                    .collect();
                address_facts(self.conn, !full_scan, &outbound_threads)?
            }
        };
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS address_latest_name (id INTEGER PRIMARY KEY, name TEXT);
             DELETE FROM temp.address_latest_name;
             INSERT INTO temp.address_latest_name
                SELECT id, name FROM (
                    SELECT address_id AS id, name,
                        row_number() OVER (PARTITION BY address_id ORDER BY last_seen DESC, uses DESC, name) AS rn
                    FROM address_name WHERE address_id IN (SELECT id FROM temp.dirty_address))
                WHERE rn = 1;",
        )?;
        let mut class_of = self
            .conn
            .prepare_cached("SELECT class, class_reason FROM message WHERE id = ?1")?;
        let sql = "SELECT a.id, a.key, a.domain, a.is_list, a.contact_id, a.name, a.email, coalesce(n.name, '')
             FROM temp.dirty_address d JOIN address a ON a.id = d.id
             LEFT JOIN temp.address_latest_name n ON n.id = a.id";
        let mut rows: Vec<Row> = Vec::with_capacity(dirty.len());
        {
            let mut stmt = self.conn.prepare(sql)?;
            let mut q = stmt.query([])?;
            while let Some(r) = q.next()? {
                let id: i64 = r.get(0)?;
                let f = facts.remove(&id).unwrap_or_default();
                let latest_uncounted = match f.latest_uncounted {
                    Some((_, message)) => class_of
                        .query_row(params![message], |c| {
                            Ok((c.get::<_, String>(0)?, c.get::<_, String>(1)?))
                        })
                        .optional()?
                        .and_then(|(c, why)| Class::parse(&c).map(|c| (c, why))),
                    None => None,
                };
                rows.push(Row {
                    id,
                    contact_id: r.get(4)?,
                    name: r.get(5)?,
                    first: f.first,
                    last: f.last,
                    new_name: r.get(7)?,
                    facts: AddressFacts {
                        key: r.get(1)?,
                        domain: r.get(2)?,
                        is_identity: false,
                        is_list: r.get(3)?,
                        sent_to: f.sent_to,
                        received_from: f.received_from,
                        from_total: f.from_total,
                        copied_total: f.copied_total,
                        latest_uncounted,
                    },
                });
            }
        }
        drop(class_of);
        let mut contacts = HashSet::new();
        let mut fts_new: HashSet<i64> = HashSet::new();
        let mut fts_changed: HashSet<i64> = HashSet::new();
        for mut row in rows {
            row.facts.is_identity = self.identities.contains(&row.facts.key);
            let (status, reason) = decide(&row.facts, self.policy, &self.rules);
            let mut contact_id = row.contact_id;
            match (status, row.contact_id) {
                (AddressStatus::Contact, None) => {
                    self.conn
                        .prepare_cached(
                            "INSERT INTO contact (name, primary_address_id, created_at) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![row.new_name, row.id, self.now])?;
                    let c = self.conn.last_insert_rowid();
                    contact_id = Some(c);
                    contacts.insert(c);
                    self.effects.contacts_created += 1;
                }
                (AddressStatus::Contact, Some(c)) => {
                    contacts.insert(c);
                }
                (_, Some(c)) => {
                    contact_id = None;
                    contacts.insert(c);
                }
                (_, None) => {}
            }
            self.conn
                .prepare_cached(
                    "UPDATE address SET status = ?2, reason = ?3, contact_id = ?4, name = ?5,
                        first_seen = ?6, last_seen = ?7
                     WHERE id = ?1",
                )?
                .execute(params![
                    row.id,
                    status.as_str(),
                    reason,
                    contact_id,
                    row.new_name,
                    row.first,
                    row.last
                ])?;
            let fresh = self.new_addresses.remove(&row.id);
            if fresh {
                fts_new.insert(row.id);
            } else if row.new_name != row.name {
                fts_changed.insert(row.id);
            }
        }
        // Search rows in two statements rather than two per address.
        self.temp_ids("fts_changed", &fts_changed)?;
        self.conn.execute_batch(
            "DELETE FROM address_fts WHERE rowid IN (SELECT id FROM temp.fts_changed);",
        )?;
        fts_new.extend(fts_changed);
        self.temp_ids("fts_new", &fts_new)?;
        self.conn.execute_batch(
            "INSERT INTO address_fts (rowid, email, name)
                 SELECT id, email, name FROM address WHERE id IN (SELECT id FROM temp.fts_new);",
        )?;
        Ok(contacts)
    }

    fn recompute_contacts(&mut self, contacts: &HashSet<i64>) -> Result<()> {
        self.temp_ids("dirty_contact", contacts)?;
        let msgs = format!(
            "SELECT DISTINCT m.id, m.date, m.direction, m.thread_id
             FROM address a JOIN participant p ON p.address_id = a.id
             JOIN message m ON m.id = p.message_id JOIN thread t ON t.id = m.thread_id
             WHERE a.contact_id = contact.id AND {COUNTED} AND (
                 (m.direction = 'inbound' AND p.role = 'from')
              OR (m.direction = 'outbound' AND p.role IN ('to', 'cc', 'bcc')))"
        );
        self.conn.execute_batch(&format!(
            "DELETE FROM contact WHERE id IN (SELECT id FROM temp.dirty_contact)
                 AND NOT EXISTS (SELECT 1 FROM address a WHERE a.contact_id = contact.id);
             UPDATE contact SET (first_contact, last_contact, last_inbound, last_outbound,
                                 inbound_count, outbound_count, thread_count) =
                 (SELECT min(date), max(date),
                         max(date) FILTER (WHERE direction = 'inbound'),
                         max(date) FILTER (WHERE direction = 'outbound'),
                         count(*) FILTER (WHERE direction = 'inbound'),
                         count(*) FILTER (WHERE direction = 'outbound'),
                         count(DISTINCT thread_id)
                  FROM ({msgs}))
             WHERE id IN (SELECT id FROM temp.dirty_contact);
             UPDATE contact SET
                 primary_address_id = coalesce(
                     (SELECT a.id FROM address a WHERE a.id = contact.primary_address_id AND a.contact_id = contact.id),
                     (SELECT a.id FROM address a WHERE a.contact_id = contact.id ORDER BY a.last_seen DESC LIMIT 1)),
                 name = coalesce(
                     (SELECT a.name FROM address a WHERE a.id = contact.primary_address_id AND a.name <> ''), name)
             WHERE id IN (SELECT id FROM temp.dirty_contact);"
        ))?;
        // Reply latency: the user's replies to this contact's messages, and theirs to the user's.
        let mut mine = self.conn.prepare_cached(
            "SELECT DISTINCT m.id, m.date - pm.date FROM address a
             JOIN participant pp ON pp.address_id = a.id AND pp.role = 'from'
             JOIN message pm ON pm.id = pp.message_id AND pm.direction = 'inbound'
             JOIN node n ON n.message_id = pm.id
             JOIN message m ON m.reply_to_mid = n.mid AND m.direction = 'outbound'
             WHERE a.contact_id = ?1 AND m.date >= pm.date",
        )?;
        let mut theirs = self.conn.prepare_cached(
            "SELECT DISTINCT m.id, m.date - pm.date FROM address a
             JOIN participant pp ON pp.address_id = a.id AND pp.role IN ('to', 'cc', 'bcc')
             JOIN message pm ON pm.id = pp.message_id AND pm.direction = 'outbound'
             JOIN node n ON n.message_id = pm.id
             JOIN message m ON m.reply_to_mid = n.mid AND m.direction = 'inbound'
             JOIN participant mp ON mp.message_id = m.id AND mp.role = 'from' AND mp.address_id = a.id
             WHERE a.contact_id = ?1 AND m.date >= pm.date",
        )?;
        let mut update = self.conn.prepare_cached(
            "UPDATE contact SET median_reply_mine = ?2, median_reply_theirs = ?3 WHERE id = ?1",
        )?;
        for &c in contacts {
            let mut a: Vec<i64> = mine
                .query_map(params![c], |r| r.get::<_, i64>(1))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut b: Vec<i64> = theirs
                .query_map(params![c], |r| r.get::<_, i64>(1))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            a.sort_unstable();
            b.sort_unstable();
            update.execute(params![c, median(&a), median(&b)])?;
        }
        Ok(())
    }
}

/// A thread's title: its root's subject without leading "Re: " (as notmuch shows it).
fn thread_subject(subject: &str) -> String {
    let mut s = subject.trim();
    while s.len() >= 4 && s.is_char_boundary(4) && s[..4].eq_ignore_ascii_case("re: ") {
        s = s[4..].trim_start();
    }
    s.to_string()
}

fn median(sorted: &[i64]) -> Option<i64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}
