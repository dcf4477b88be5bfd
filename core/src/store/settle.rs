//! Settling: thread, address and contact aggregates recomputed, set-based, for everything a
//! writer (or an earlier, interrupted one) touched; and the pending work recorded for that.
//! Aggregates are computed from the stored rows alone, so they do not depend on arrival order.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use super::write::Writer;
use crate::error::Result;
use crate::mail::Class;
use crate::mail::Direction;
use crate::policy::{self, AddressFacts, AddressStatus, decide};

/// [`policy::counts`] in SQL (`m` = message, `t` = its thread), for set-based recomputation;
/// tested against the Rust form on every combination.
pub(super) const COUNTED: &str = "(m.class = 'person' OR (m.direction = 'inbound' AND m.class IN ('list', 'bulk') AND t.outbound_count > 0))";

/// Running aggregate of one thread while its messages stream past (see [`thread_aggregates`]).
#[derive(Default)]
pub(super) struct ThreadAgg {
    count: i64,
    first: i64,
    last: i64,
    pub(super) outbound: i64,
    /// (date, has references, key, id, subject) of the best root candidate so far.
    root: Option<(i64, bool, String, i64, String)>,
    oldest: Option<(i64, String, i64, String)>,
    /// (date, key, id, direction) of the latest message that counts.
    latest: Option<(i64, String, i64, String)>,
    /// List and bulk mail received: counts only if the user wrote in the thread.
    latest_list: Option<(i64, String, i64, String)>,
}

/// Aggregates threads from their messages: of those listed in `temp.dirty_thread`, or of all.
pub(super) fn thread_aggregates(
    conn: &Connection,
    dirty_only: bool,
) -> Result<HashMap<i64, ThreadAgg>> {
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
        if let (Some(class), Some(dir)) = (
            class.parse::<Class>().ok(),
            direction.parse::<Direction>().ok(),
        ) && dir != Direction::Internal
        {
            // Whether the user wrote in the thread is known only once every row is seen: keep
            // the latest message that counts either way, and the latest that counts only then.
            if policy::counts(class, dir, false) {
                if newer(&a.latest) {
                    a.latest = Some((date, key.clone(), id, direction));
                }
            } else if policy::counts(class, dir, true) && newer(&a.latest_list) {
                a.latest_list = Some((date, key.clone(), id, direction));
            }
        }
    }
    Ok(aggs)
}

/// What one pass over an address's participant rows tells (see [`address_facts`]).
#[derive(Default)]
pub(super) struct Facts {
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
/// `temp.facts_address` (through the participant index). `outbound_threads` are the threads the
/// user wrote in: list and bulk mail received there counts as conversation.
pub(super) fn address_facts(
    conn: &Connection,
    dirty_only: bool,
    outbound_threads: &HashSet<i64>,
) -> Result<HashMap<i64, Facts>> {
    let sql = format!(
        "SELECT p.address_id, p.role, m.id, m.date, m.direction, m.class, m.thread_id
         FROM participant p JOIN message m ON m.id = p.message_id
         {}",
        if dirty_only {
            "WHERE p.address_id IN (SELECT id FROM temp.facts_address)"
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
        let counted = match (
            class.parse::<Class>().ok(),
            direction.parse::<Direction>().ok(),
        ) {
            (Some(class), Some(dir)) => {
                policy::counts(class, dir, outbound_threads.contains(&thread))
            }
            _ => false,
        };
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

/// The user's addresses (confirmed identities), as `temp.me`, for [`MESSAGE_DIRECTION`].
const LOAD_ME: &str = "CREATE TEMP TABLE IF NOT EXISTS me (address_id INTEGER PRIMARY KEY);
     DELETE FROM temp.me;
     INSERT INTO temp.me SELECT a.id FROM address a JOIN identity i ON i.key = a.key
         WHERE i.confirmed = 1;";

/// A message's direction from `temp.me`, as `policy::direction` decides it while writing.
const MESSAGE_DIRECTION: &str = "CASE
     WHEN from_address_id IN (SELECT address_id FROM temp.me) THEN
         CASE WHEN EXISTS (SELECT 1 FROM participant p WHERE p.message_id = message.id
                             AND p.role IN ('to', 'cc', 'bcc'))
               AND NOT EXISTS (SELECT 1 FROM participant p WHERE p.message_id = message.id
                             AND p.role IN ('to', 'cc', 'bcc')
                             AND p.address_id NOT IN (SELECT address_id FROM temp.me))
              THEN 'internal' ELSE 'outbound' END
     ELSE 'inbound' END";

/// Threads settled per transaction by a writer's final settle (see [`Writer::settle`]):
/// about 12 ms of work each.
pub(super) const THREAD_CHUNK: usize = 1_000;
/// Addresses (with their contacts) settled per transaction likewise: about 0.1 s each.
pub(super) const ADDRESS_CHUNK: usize = 250;

impl Writer<'_> {
    /// Recomputes directions and marks everything for recomputation: after the policy changed.
    pub fn recompute_all(&mut self) -> Result<()> {
        self.conn.execute_batch(LOAD_ME)?;
        self.conn.execute_batch(&format!(
            "UPDATE message SET direction = {MESSAGE_DIRECTION}; DROP TABLE temp.me;"
        ))?;
        self.dirty_threads
            .extend(self.ids("SELECT id FROM thread")?);
        self.dirty_addresses
            .extend(self.ids("SELECT id FROM address")?);
        Ok(())
    }

    /// Recomputes what adding or removing the identity `key` can change: the direction of the
    /// messages its address appears in, and the threads they are in with everyone in them
    /// (whether the user wrote in a thread decides what counts for its other participants).
    /// The same result as [`Writer::recompute_all`], in time for the mail that address is in
    /// rather than for the whole database.
    pub fn recompute_identity(&mut self, key: &str) -> Result<()> {
        self.conn.execute_batch(LOAD_ME)?;
        self.conn.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS touched (id INTEGER PRIMARY KEY);
             DELETE FROM temp.touched;",
        )?;
        self.conn.execute(
            "INSERT OR IGNORE INTO temp.touched
                 SELECT m.id FROM message m JOIN address a ON a.id = m.from_address_id
                 WHERE a.key = ?1
                 UNION SELECT p.message_id FROM participant p JOIN address a ON a.id = p.address_id
                 WHERE a.key = ?1",
            params![key],
        )?;
        self.conn.execute_batch(&format!(
            "UPDATE message SET direction = {MESSAGE_DIRECTION}
                 WHERE id IN (SELECT id FROM temp.touched);
             DROP TABLE temp.me;"
        ))?;
        let threads = self.ids(
            "SELECT DISTINCT thread_id FROM message WHERE id IN (SELECT id FROM temp.touched)",
        )?;
        let addresses = self.ids(
            "SELECT DISTINCT p.address_id FROM participant p JOIN message m ON m.id = p.message_id
             WHERE m.thread_id IN (SELECT thread_id FROM message WHERE id IN (SELECT id FROM temp.touched))",
        )?;
        self.dirty_threads.extend(threads);
        self.dirty_addresses.extend(addresses);
        let own = self
            .conn
            .prepare_cached("SELECT id FROM address WHERE key = ?1")?
            .query_map(params![key], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        self.full_dates.extend(own.iter().copied());
        self.dirty_addresses.extend(own);
        self.conn.execute_batch("DROP TABLE temp.touched")?;
        Ok(())
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

    /// Recomputes threads, then addresses, then contacts, for everything touched.
    ///
    /// With `letting_others_in` (a writer's final settle, never a dry run), many threads are
    /// settled [`THREAD_CHUNK`] at a time, each chunk its own transaction, so that writers
    /// waiting for the lock get in between (settling 200,000 messages' threads at once held it
    /// for a second or more).
    pub(super) fn settle(&mut self, letting_others_in: bool) -> Result<()> {
        let started = std::time::Instant::now();
        // Work earlier writers left pending (windows of a sync, a killed import), unless a
        // running import left it and will settle it itself.
        let settles_pending = self.settles_pending();
        if settles_pending {
            let pending_threads = self.ids("SELECT id FROM pending_thread")?;
            let pending_addresses = self.ids("SELECT id FROM pending_address")?;
            self.dirty_threads.extend(pending_threads);
            self.dirty_addresses.extend(pending_addresses);
        }
        let (threads, addresses) = (self.dirty_threads.len(), self.dirty_addresses.len());
        let (thread_chunk, address_chunk) = if letting_others_in {
            (THREAD_CHUNK, ADDRESS_CHUNK)
        } else {
            (usize::MAX, usize::MAX)
        };
        self.recompute_threads_in_chunks(settles_pending, thread_chunk)?;
        let after_threads = started.elapsed();
        let contacts = self.recompute_addresses_in_chunks(settles_pending, address_chunk)?;
        tracing::debug!(
            threads,
            addresses,
            contacts,
            threads_ms = after_threads.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "settled aggregates"
        );
        Ok(())
    }

    /// Settles the dirty threads `chunk` at a time, committing between chunks (see
    /// [`Writer::settle`]); what was settled stops being pending in the same transaction, so
    /// work others leave pending meanwhile stays pending. The aggregates gathered beside are
    /// used while no other writer has committed since they were read; after that each chunk's
    /// are read on this connection (and the address facts gathered beside are dropped too).
    fn recompute_threads_in_chunks(&mut self, settles_pending: bool, chunk: usize) -> Result<()> {
        if self.dirty_threads.is_empty() {
            return Ok(());
        }
        let mut threads: Vec<i64> = std::mem::take(&mut self.dirty_threads)
            .into_iter()
            .collect();
        threads.sort_unstable();
        let mut beside = match self.facts_beside.as_ref() {
            Some(beside) => {
                let waited = std::time::Instant::now();
                let all = beside.threads.recv().map_err(|_| {
                    crate::error::Error::Internal("the thread pass stopped".into())
                })??;
                tracing::debug!(
                    ms = waited.elapsed().as_millis() as u64,
                    "waited for the thread pass beside"
                );
                Some(all)
            }
            None => None,
        };
        let version = self.data_version;
        for (i, part) in threads.chunks(chunk).enumerate() {
            if i > 0 {
                self.commit_and_continue()?;
                if self.data_version != version && beside.is_some() {
                    tracing::debug!("another writer committed while settling: reading afresh");
                    beside = None;
                    self.facts_beside = None;
                }
            }
            let ids: HashSet<i64> = part.iter().copied().collect();
            let aggs = match beside.as_mut() {
                Some(all) => part
                    .iter()
                    .filter_map(|t| all.remove(t).map(|a| (*t, a)))
                    .collect(),
                None => {
                    self.temp_ids("dirty_thread", &ids)?;
                    thread_aggregates(self.conn, true)?
                }
            };
            self.store_thread_aggregates(aggs)?;
            if settles_pending {
                self.temp_ids("settled_thread", &ids)?;
                self.conn.execute_batch(
                    "DELETE FROM pending_thread WHERE id IN (SELECT id FROM temp.settled_thread)",
                )?;
            }
        }
        Ok(())
    }

    /// Settles the dirty addresses and their contacts `chunk` addresses at a time, like the
    /// threads; returns how many contacts were recomputed.
    fn recompute_addresses_in_chunks(
        &mut self,
        settles_pending: bool,
        chunk: usize,
    ) -> Result<usize> {
        let mut contacts = 0;
        let version = self.data_version;
        let mut first = true;
        // Settling may make more addresses dirty: until none are.
        while !self.dirty_addresses.is_empty() {
            let mut addresses: Vec<i64> = std::mem::take(&mut self.dirty_addresses)
                .into_iter()
                .collect();
            addresses.sort_unstable();
            for part in addresses.chunks(chunk) {
                if !first {
                    self.commit_and_continue()?;
                    if self.data_version != version
                        && (self.facts_beside.is_some() || self.beside_facts.is_some())
                    {
                        tracing::debug!("another writer committed while settling: reading afresh");
                        self.facts_beside = None;
                        self.beside_facts = None;
                    }
                }
                first = false;
                self.dirty_addresses.extend(part.iter().copied());
                let dirty_contacts = self.recompute_addresses()?;
                contacts += dirty_contacts.len();
                if !dirty_contacts.is_empty() {
                    self.recompute_contacts(&dirty_contacts)?;
                }
                if settles_pending {
                    // temp.dirty_address holds exactly this part (see `recompute_addresses`).
                    self.conn.execute_batch(
                        "DELETE FROM pending_address WHERE id IN (SELECT id FROM temp.dirty_address)",
                    )?;
                }
            }
        }
        // Facts gathered beside for addresses that did not end up dirty are of no further use.
        self.beside_facts = None;
        Ok(contacts)
    }

    /// Writes threads' aggregates; the addresses in list and bulk mail of threads the user
    /// started or stopped writing in become dirty.
    fn store_thread_aggregates(&mut self, aggs: HashMap<i64, ThreadAgg>) -> Result<()> {
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
        // Own addresses whose stored first and last dates are current (see below).
        let mut kept_dates: HashSet<i64> = HashSet::new();
        struct Row {
            id: i64,
            facts: AddressFacts,
            contact_id: Option<i64>,
            name: String,
            new_name: String,
            first: i64,
            last: i64,
        }
        if let Some(beside) = self.facts_beside.take() {
            // Computed over every address by a second connection while this one rebuilt
            // indexes and threads: exact for whichever addresses end up dirty, until another
            // writer commits (then the settle drops them).
            let waited = std::time::Instant::now();
            let facts = beside
                .facts
                .recv()
                .map_err(|_| crate::error::Error::Internal("the address pass stopped".into()))??;
            self.checkpoint_beside = Some(beside.checkpoint);
            tracing::debug!(
                ms = waited.elapsed().as_millis() as u64,
                "waited for the address pass beside"
            );
            self.beside_facts = Some(facts);
        }
        let mut facts: HashMap<i64, Facts> = match self.beside_facts.as_mut() {
            Some(all) => dirty
                .iter()
                .filter_map(|a| all.remove(a).map(|f| (*a, f)))
                .collect(),
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
                if !full_scan {
                    // The user's own addresses are in nearly all mail, and of their facts only
                    // the first and last dates are kept (they are "yours" whatever the counts):
                    // those are kept current as mail is written (see `Writer::own_seen`), so
                    // the pass over all their mail is left out unless an identity changed.
                    let own = self.ids(
                        "SELECT d.id FROM temp.dirty_address d JOIN address a ON a.id = d.id
                         JOIN identity i ON i.key = a.key AND i.confirmed = 1",
                    )?;
                    kept_dates.extend(own.into_iter().filter(|a| !self.full_dates.contains(a)));
                }
                let passed: HashSet<i64> = dirty.difference(&kept_dates).copied().collect();
                self.temp_ids("facts_address", &passed)?;
                address_facts(self.conn, !full_scan, &outbound_threads)?
            }
        };
        self.full_dates.retain(|a| !dirty.contains(a));
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
        let sql = "SELECT a.id, a.key, a.domain, a.is_list, a.contact_id, a.name, a.email, coalesce(n.name, ''),
                a.first_seen, a.last_seen
             FROM temp.dirty_address d JOIN address a ON a.id = d.id
             LEFT JOIN temp.address_latest_name n ON n.id = a.id";
        let mut rows: Vec<Row> = Vec::with_capacity(dirty.len());
        {
            let mut stmt = self.conn.prepare(sql)?;
            let mut q = stmt.query([])?;
            while let Some(r) = q.next()? {
                let id: i64 = r.get(0)?;
                let f = match facts.remove(&id) {
                    Some(f) => f,
                    None if kept_dates.contains(&id) => Facts {
                        first: r.get(8)?,
                        last: r.get(9)?,
                        ..Default::default()
                    },
                    None => Facts::default(),
                };
                let latest_uncounted = match f.latest_uncounted {
                    Some((_, message)) => class_of
                        .query_row(params![message], |c| {
                            Ok((c.get::<_, String>(0)?, c.get::<_, String>(1)?))
                        })
                        .optional()?
                        .and_then(|(c, why)| c.parse::<Class>().ok().map(|c| (c, why))),
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
            // An address this writer created has no search row yet, unless another writer
            // settled it in between (then its row is replaced like a changed one).
            let created = self.new_addresses.remove(&row.id);
            if created && !self.others_wrote {
                fts_new.insert(row.id);
            } else if created || row.new_name != row.name {
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
        let mut mine = self.conn.prepare_cached(REPLIES_MINE)?;
        let mut theirs = self.conn.prepare_cached(REPLIES_THEIRS)?;
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

impl Store {
    /// Threads and addresses whose aggregates wait for recomputation (left by interrupted work).
    pub fn pending_counts(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM pending_thread), (SELECT count(*) FROM pending_address)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
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

/// The user's replies to contact ?1's messages: (reply id, seconds taken, reply date).
pub(super) const REPLIES_MINE: &str =
    "SELECT DISTINCT m.id, m.date - pm.date, m.date FROM address a
     JOIN participant pp ON pp.address_id = a.id AND pp.role = 'from'
     JOIN message pm ON pm.id = pp.message_id AND pm.direction = 'inbound'
     JOIN node n ON n.message_id = pm.id
     JOIN message m ON m.reply_to_mid = n.mid AND m.direction = 'outbound'
     WHERE a.contact_id = ?1 AND m.date >= pm.date";

/// Contact ?1's replies to the user's messages: (reply id, seconds taken, reply date).
pub(super) const REPLIES_THEIRS: &str =
    "SELECT DISTINCT m.id, m.date - pm.date, m.date FROM address a
     JOIN participant pp ON pp.address_id = a.id AND pp.role IN ('to', 'cc', 'bcc')
     JOIN message pm ON pm.id = pp.message_id AND pm.direction = 'outbound'
     JOIN node n ON n.message_id = pm.id
     JOIN message m ON m.reply_to_mid = n.mid AND m.direction = 'inbound'
     JOIN participant mp ON mp.message_id = m.id AND mp.role = 'from' AND mp.address_id = a.id
     WHERE a.contact_id = ?1 AND m.date >= pm.date";

pub(super) fn median(sorted: &[i64]) -> Option<i64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use crate::mail::{Class, Direction};

    /// A bulk load's final settle goes [`super::THREAD_CHUNK`] threads and
    /// [`super::ADDRESS_CHUNK`] addresses per transaction, with
    /// the aggregates gathered beside: the result equals settling the same mail a little at a
    /// time.
    #[test]
    fn settling_in_chunks_equals_settling_as_mail_arrives() -> Result<()> {
        let mails: Vec<Mail> = (0..super::THREAD_CHUNK * 3)
            .map(|i| {
                let thread = i / 2;
                let (from, to) = if i % 2 == 1 && thread % 3 == 0 {
                    (
                        "Me <me@example.com>",
                        format!("p{}@example.org", thread % 1_200),
                    )
                } else {
                    (
                        "Pat <pat@example.org>",
                        format!("me@example.com, p{}@example.org", thread % 1_200),
                    )
                };
                let m = Mail::new(&format!("c{i}@x"), from, &to)
                    .subject(&format!("topic {thread}"))
                    .day(1 + (i % 28) as u32);
                if i % 2 == 1 {
                    m.header(&format!("In-Reply-To: <c{}@x>", i - 1))
                } else {
                    m
                }
            })
            .collect();
        let dir = tempfile::tempdir().map_err(|e| crate::error::Error::Internal(e.to_string()))?;
        let mut chunked = Store::open(&dir.path().join("chunked.db"))?;
        let mut a_little_at_a_time = Store::open(&dir.path().join("small.db"))?;
        for store in [&mut chunked, &mut a_little_at_a_time] {
            store.add_identity("me@example.com", "me@example.com", "")?;
        }
        let mut w = chunked.bulk_writer(CAPTURED)?;
        write_mails(&mut w, &mails)?;
        w.finish()?;
        for part in mails.chunks(500) {
            store_mails(&mut a_little_at_a_time, part)?;
        }
        for sql in [
            "SELECT id, message_count, first_date, last_date, outbound_count, root_message_id,
                    subject, last_message_id, last_direction, last_counted_date
             FROM thread ORDER BY id",
            "SELECT key, status, contact_id, first_seen, last_seen FROM address ORDER BY key",
            "SELECT * FROM contact ORDER BY id",
            "SELECT count(*) FROM pending_thread UNION ALL SELECT count(*) FROM pending_address",
        ] {
            assert_eq!(
                rows(&chunked, sql)?,
                rows(&a_little_at_a_time, sql)?,
                "{sql}"
            );
        }
        Ok(())
    }

    /// The user's own address keeps its first and last dates without a pass over all its mail:
    /// written one message at a time in any order, they equal a full recomputation.
    #[test]
    fn own_address_dates_kept_while_writing_equal_a_full_recomputation() -> Result<()> {
        let mails: Vec<Mail> = (1..=12)
            .map(|i| {
                let m = if i % 3 == 0 {
                    Mail::new(&format!("o{i}@x"), "Me <me@example.com>", "ann@example.org")
                } else {
                    Mail::new(
                        &format!("o{i}@x"),
                        "Ann <ann@example.org>",
                        "me@example.com",
                    )
                };
                m.day(1 + (i * 7) % 28)
            })
            .collect();
        let own = "SELECT email, first_seen, last_seen, status FROM address ORDER BY email";
        let mut reversed = mails.clone();
        reversed.reverse();
        let mut results = Vec::new();
        for order in [&mails, &reversed] {
            let mut store = Store::open_in_memory()?;
            store.add_identity("me@example.com", "me@example.com", "")?;
            // Many other addresses, so settling one message goes through the address index
            // rather than a pass over everything.
            let others: Vec<Mail> = (1..=20)
                .map(|i| {
                    Mail::new(
                        &format!("p{i}@x"),
                        &format!("p{i}@example.net"),
                        "x@example.net",
                    )
                })
                .collect();
            store_mails(&mut store, &others)?;
            for mail in order.iter() {
                store_mails(&mut store, std::slice::from_ref(mail))?;
            }
            let kept = rows(&store, own)?;
            let mut w = store.writer(CAPTURED)?;
            w.recompute_all()?;
            w.finish()?;
            assert_eq!(kept, rows(&store, own)?);
            results.push(kept);
        }
        assert_eq!(results[0], results[1]);
        Ok(())
    }

    /// Adding or removing an identity settles only the mail its address is in, and gives what
    /// recomputing everything gives.
    #[test]
    fn an_identity_change_settles_as_recomputing_everything_does() -> Result<()> {
        let mails = [
            Mail::new(
                "a1@x",
                "Ann <ann@example.org>",
                "me@example.com, alt@example.com",
            ),
            Mail::new("a2@x", "Alt <alt@example.com>", "ann@example.org")
                .header("In-Reply-To: <a1@x>")
                .day(3),
            Mail::new("a3@x", "Alt <alt@example.com>", "me@example.com").day(4),
            Mail::new("b1@x", "Bob <bob@example.org>", "me@example.com").day(5),
            Mail::new("b2@x", "Me <me@example.com>", "bob@example.org")
                .header("In-Reply-To: <b1@x>")
                .day(6),
            Mail::new("c1@x", "Cy <cy@example.org>", "alt@example.com").day(7),
            Mail::new("c2@x", "Cy <cy@example.org>", "cy-list@example.org").day(8),
        ];
        let tables = [
            "SELECT key, direction FROM message ORDER BY key",
            "SELECT message_count, first_date, last_date, last_direction, last_counted_date
             FROM thread ORDER BY first_date",
            "SELECT email, status, reason, contact_id IS NULL, first_seen, last_seen
             FROM address ORDER BY email",
            "SELECT count(*) FROM contact",
        ];
        for (add, remove) in [(true, false), (true, true)] {
            let mut incremental = Store::open_in_memory()?;
            let mut everything = Store::open_in_memory()?;
            for store in [&mut incremental, &mut everything] {
                store.add_identity("me@example.com", "me@example.com", "")?;
                store_mails(store, &mails)?;
            }
            for (store, all) in [(&mut incremental, false), (&mut everything, true)] {
                for change in [add, remove] {
                    if !change {
                        continue;
                    }
                    if store
                        .identities()?
                        .iter()
                        .any(|i| i.email == "alt@example.com")
                    {
                        store.remove_identity("alt@example.com")?;
                    } else {
                        store.add_identity("alt@example.com", "alt@example.com", "")?;
                    }
                    let mut w = store.writer(CAPTURED)?;
                    if all {
                        w.recompute_all()?;
                    } else {
                        w.recompute_identity("alt@example.com")?;
                    }
                    w.finish()?;
                }
            }
            for sql in tables {
                assert_eq!(rows(&incremental, sql)?, rows(&everything, sql)?, "{sql}");
            }
        }
        Ok(())
    }

    /// The SQL form of the counting rule says what `policy::counts` says, on every combination
    /// of class, direction and whether the user wrote in the thread.
    #[test]
    fn counted_in_sql_agrees_with_policy_counts() -> Result<()> {
        let store = Store::open_in_memory()?;
        let classes = [
            Class::Person,
            Class::List,
            Class::Bulk,
            Class::Auto,
            Class::Bounce,
        ];
        let directions = [Direction::Inbound, Direction::Outbound, Direction::Internal];
        let mut checked = 0;
        for class in classes {
            for direction in directions {
                for outbound in [0_i64, 2] {
                    let sql = format!(
                        "SELECT {} FROM (SELECT ?1 AS class, ?2 AS direction) m,
                                       (SELECT ?3 AS outbound_count) t",
                        super::COUNTED
                    );
                    let in_sql: bool = store.conn.query_row(
                        &sql,
                        rusqlite::params![class.as_str(), direction.as_str(), outbound],
                        |r| r.get(0),
                    )?;
                    let in_rust = crate::policy::counts(class, direction, outbound > 0);
                    assert_eq!(
                        in_sql, in_rust,
                        "{class:?} {direction:?} outbound={outbound}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 30);
        Ok(())
    }

    use super::super::test_mail::{CAPTURED, Mail, rows, store_mails, store_with_me, write_mails};
    use crate::error::Result;

    fn conversation() -> Vec<Mail> {
        vec![
            Mail::new("q@x", "Ann <ann@example.org>", "me@example.com").day(1),
            Mail::new("a@x", "me@example.com", "Ann <ann@example.org>")
                .day(2)
                .header("In-Reply-To: <q@x>"),
            Mail::new("b@x", "Ann B <ann@example.org>", "me@example.com")
                .day(4)
                .header("In-Reply-To: <a@x>")
                .header("References: <q@x> <a@x>"),
            Mail::new("n@x", "me@example.com", "Bob <bob@example.net>")
                .subject("news")
                .day(3),
            Mail::new("l@x", "Dev <dev@lists.example>", "me@example.com")
                .subject("release")
                .day(5)
                .header("List-Id: <dev.lists.example>"),
        ]
    }

    /// Threads, addresses and contacts, keyed by what does not depend on row ids.
    fn aggregates(store: &Store) -> Result<Vec<Vec<rusqlite::types::Value>>> {
        let mut all = rows(
            store,
            "SELECT t.subject, t.message_count, t.first_date, t.last_date, t.outbound_count,
                    r.key, l.key, t.last_direction, t.last_counted_date
             FROM thread t LEFT JOIN message r ON r.id = t.root_message_id
             LEFT JOIN message l ON l.id = t.last_message_id ORDER BY r.key",
        )?;
        all.extend(rows(
            store,
            "SELECT email, name, status, reason, first_seen, last_seen, contact_id IS NULL
             FROM address ORDER BY email",
        )?);
        all.extend(rows(
            store,
            "SELECT a.email, c.name, c.first_contact, c.last_contact, c.last_inbound,
                    c.last_outbound, c.inbound_count, c.outbound_count, c.thread_count,
                    c.median_reply_mine, c.median_reply_theirs
             FROM contact c JOIN address a ON a.id = c.primary_address_id ORDER BY a.email",
        )?);
        Ok(all)
    }

    #[test]
    fn aggregates_do_not_depend_on_the_order_mail_is_settled_in() -> Result<()> {
        let mail = conversation();
        let mut forward = store_with_me()?;
        store_mails(&mut forward, &mail)?;

        // Backwards, in two writers: the first leaves its work pending for the second.
        let mut backward = store_with_me()?;
        let reversed: Vec<Mail> = mail.iter().rev().cloned().collect();
        let mut w = backward.writer(CAPTURED)?;
        write_mails(&mut w, &reversed[..2])?;
        w.finish_pending()?;
        assert_ne!(backward.pending_counts()?, (0, 0));
        let mut w = backward.writer(CAPTURED)?;
        write_mails(&mut w, &reversed[2..])?;
        w.finish()?;
        assert_eq!(backward.pending_counts()?, (0, 0));

        let expected = aggregates(&forward)?;
        assert!(expected.len() > 5);
        assert_eq!(aggregates(&backward)?, expected);
        Ok(())
    }

    #[test]
    fn pending_work_is_settled_by_the_next_writer() -> Result<()> {
        let mut store = store_with_me()?;
        let mut w = store.writer(CAPTURED)?;
        write_mails(&mut w, &conversation()[..2])?;
        w.finish_pending()?;
        let unsettled = rows(&store, "SELECT message_count FROM thread")?;
        assert_eq!(unsettled, vec![vec![rusqlite::types::Value::Integer(0)]]);

        store.writer(CAPTURED)?.finish()?;
        assert_eq!(store.pending_counts()?, (0, 0));
        let settled = rows(&store, "SELECT message_count, last_direction FROM thread")?;
        assert_eq!(
            settled,
            vec![vec![
                rusqlite::types::Value::Integer(2),
                rusqlite::types::Value::Text("outbound".into())
            ]]
        );
        assert_eq!(store.stats()?.contacts, 1);
        Ok(())
    }

    #[test]
    fn thread_subjects_drop_reply_prefixes_and_medians_average_the_middle() {
        assert_eq!(super::thread_subject("Re: RE: re:  plans "), "plans");
        assert_eq!(super::median(&[]), None);
        assert_eq!(super::median(&[1, 5, 9]), Some(5));
        assert_eq!(super::median(&[1, 3]), Some(2));
    }
}
