//! Bulk loads: query-only indexes dropped while a large load runs and rebuilt once at the end,
//! and the second, read-only connection that gathers aggregates for settling beside the writer.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use super::Store;
use super::settle::{Facts, ThreadAgg, address_facts, thread_aggregates};
use super::write::Writer;
use crate::error::Result;

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
pub(super) struct FactsBeside {
    pub(super) threads: std::sync::mpsc::Receiver<Result<HashMap<i64, ThreadAgg>>>,
    pub(super) facts: std::sync::mpsc::Receiver<Result<HashMap<i64, Facts>>>,
    pub(super) checkpoint: std::thread::JoinHandle<()>,
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

/// Secondary indexes that only queries and aggregate recomputation use. A bulk import drops
/// them and builds them again at the end (sorted builds are much cheaper than maintaining them
/// row by row); opening a database re-creates any a killed import left missing.
pub(crate) const DEFERRABLE_INDEXES: &[(&str, &str)] = &[
    (
        "participant_address",
        "CREATE INDEX IF NOT EXISTS participant_address ON participant(address_id, role)",
    ),
    (
        "message_reply_to",
        "CREATE INDEX IF NOT EXISTS message_reply_to ON message(reply_to_mid)",
    ),
    (
        "node_message",
        "CREATE INDEX IF NOT EXISTS node_message ON node(message_id)",
    ),
    (
        "source_message",
        "CREATE INDEX IF NOT EXISTS source_message ON source(message_id)",
    ),
    (
        "thread_last",
        "CREATE INDEX IF NOT EXISTS thread_last ON thread(last_direction, last_counted_date)",
    ),
    (
        "thread_last_date",
        "CREATE INDEX IF NOT EXISTS thread_last_date ON thread(last_date)",
    ),
];

/// Drops the deferrable indexes (a bulk load builds them again when it ends).
pub(crate) fn drop_deferrable_indexes(conn: &Connection) -> Result<()> {
    for (name, _) in DEFERRABLE_INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    Ok(())
}

/// Creates any deferrable index that is missing.
pub(crate) fn ensure_indexes(conn: &Connection) -> Result<()> {
    for (_, sql) in DEFERRABLE_INDEXES {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

impl Writer<'_> {
    /// Drops the secondary indexes only queries need, for a bulk load; [`Writer::finish`] builds
    /// them again (and so does opening the database, if this writer is killed).
    pub fn defer_indexes(&mut self) -> Result<()> {
        drop_deferrable_indexes(self.conn)?;
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

    pub(super) fn restore_indexes(&mut self) -> Result<()> {
        if std::mem::take(&mut self.indexes_deferred) {
            let started = std::time::Instant::now();
            ensure_indexes(self.conn)?;
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                "rebuilt query indexes"
            );
            self.conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
        }
        Ok(())
    }

    /// Like [`Writer::restore_indexes`], but one index per transaction and a commit after the
    /// last: each index takes a fraction of a second even at 200,000 messages, and writers
    /// waiting for the lock get in between instead of waiting for the whole rebuild (the end of
    /// a bulk load is where short writes waited longest). If one of them committed meanwhile,
    /// the facts read beside are stale for what it wrote: the settle then reads them afresh.
    pub(super) fn restore_indexes_letting_others_in(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.indexes_deferred) {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let version = self.data_version;
        for (_, sql) in DEFERRABLE_INDEXES {
            self.conn.execute_batch(sql)?;
            self.commit_and_continue()?;
        }
        self.conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
        if self.data_version != version && self.facts_beside.take().is_some() {
            tracing::debug!("another writer committed during the index rebuild: settling afresh");
        }
        tracing::debug!(
            ms = started.elapsed().as_millis() as u64,
            "rebuilt query indexes, one per transaction"
        );
        Ok(())
    }

    /// After a bulk load most addresses need settling, and reading all their participants is
    /// a large part of it: that pass starts now on a second connection, beside this one's index
    /// and thread work. (The batch so far is committed first; pending tables keep the rest safe.)
    pub(super) fn start_facts_beside(&mut self) -> Result<()> {
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
        self.commit_and_continue()?;
        self.facts_beside = settle_beside(path);
        Ok(())
    }
}

impl Store {
    /// Re-creates indexes a killed bulk import left dropped — unless an import is running right
    /// now (it holds the write lock and rebuilds them itself when it finishes).
    pub(super) fn repair_indexes(&mut self) -> Result<()> {
        let present: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN
             ('participant_address', 'message_reply_to', 'node_message', 'source_message',
              'thread_last', 'thread_last_date')",
            [],
            |r| r.get(0),
        )?;
        if present as usize == DEFERRABLE_INDEXES.len() {
            return Ok(());
        }
        self.conn.busy_handler(None::<fn(i32) -> bool>)?;
        let locked = self.conn.execute_batch("BEGIN IMMEDIATE");
        super::wait_for_lock(&mut self.conn, super::WRITE_WAIT)?;
        if locked.is_err() {
            tracing::debug!("indexes are being rebuilt by a running import");
            return Ok(());
        }
        let built = ensure_indexes(&self.conn);
        self.conn
            .execute_batch(if built.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        built
    }

    /// Drops the query-only indexes before a bulk load (the deferrable indexes listed in this module).
    pub fn defer_indexes(&mut self) -> Result<()> {
        drop_deferrable_indexes(&self.conn)
    }

    /// Re-creates the query-only indexes after a bulk load.
    pub fn restore_indexes(&mut self) -> Result<()> {
        ensure_indexes(&self.conn)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::super::test_mail::{CAPTURED, DAY, Mail, one, rows, store_mails, write_mails};
    use super::DEFERRABLE_INDEXES;
    use crate::error::{Error, Result};

    fn present_indexes(store: &Store) -> Result<i64> {
        let names: Vec<String> = DEFERRABLE_INDEXES
            .iter()
            .map(|(n, _)| format!("'{n}'"))
            .collect();
        one(
            store,
            &format!(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ({})",
                names.join(", ")
            ),
            [],
        )
    }

    fn mail() -> Vec<Mail> {
        (1..=20)
            .map(|i| {
                let from = format!("P{i} <p{i}@example.org>");
                let m = Mail::new(&format!("m{i}@x"), &from, "me@example.com").day(1 + i % 28);
                if i > 1 {
                    m.header(&format!("In-Reply-To: <m{}@x>", i - 1))
                } else {
                    m
                }
            })
            .collect()
    }

    #[test]
    fn a_bulk_load_settles_beside_the_writer_as_an_ordinary_one_does() -> Result<()> {
        let dir = super::super::test_mail::temp_dir()?;
        let mut bulk = Store::open(&dir.path().join("bulk.db"))?;
        bulk.add_identity("me@example.com", "me@example.com", "")?;
        let mut w = bulk.bulk_writer(CAPTURED)?;
        write_mails(&mut w, &mail())?;
        let during: i64 = w.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'participant_address'",
            [],
            |r| r.get(0),
        )?;
        assert_eq!(during, 0, "query indexes wait for the end");
        w.finish()?;
        assert_eq!(present_indexes(&bulk)?, DEFERRABLE_INDEXES.len() as i64);
        assert_eq!(bulk.foreign_key_violations()?, 0);

        let mut plain = Store::open_in_memory()?;
        plain.add_identity("me@example.com", "me@example.com", "")?;
        store_mails(&mut plain, &mail())?;
        let summary = "SELECT message_count, first_date, last_date, last_direction FROM thread";
        assert_eq!(rows(&bulk, summary)?, rows(&plain, summary)?);
        let addresses = "SELECT email, status, first_seen, last_seen FROM address ORDER BY email";
        assert_eq!(rows(&bulk, addresses)?, rows(&plain, addresses)?);
        assert_eq!(
            one::<i64>(&bulk, "SELECT last_date - first_date FROM thread", [])?,
            19 * DAY
        );
        Ok(())
    }

    #[test]
    fn opening_a_database_rebuilds_indexes_a_killed_bulk_load_left_dropped() -> Result<()> {
        let dir = super::super::test_mail::temp_dir()?;
        let path = dir.path().join("killed.db");
        {
            let mut store = Store::open(&path)?;
            store.defer_indexes()?;
            assert_eq!(present_indexes(&store)?, 0);
        }
        let store = Store::open(&path)?;
        assert_eq!(present_indexes(&store)?, DEFERRABLE_INDEXES.len() as i64);
        Ok(())
    }

    /// An identity added by another writer while a bulk load runs: the load lets it in between
    /// two batches, and writes the rest as if the identity had come first. Before, the other
    /// writer waited out the whole load (and failed after its 10 s timeout), and the load kept
    /// classifying with the identities it began with.
    #[test]
    fn a_write_during_a_bulk_load_gets_in_between_batches_and_counts() -> Result<()> {
        let dir = super::super::test_mail::temp_dir()?;
        let path = dir.path().join("shared.db");
        let mut load = Store::open(&path)?;
        let mails: Vec<Mail> = (1..=40)
            .map(|i| {
                let (from, to) = if i % 2 == 0 {
                    ("Me <me@example.com>", format!("p{i}@example.org"))
                } else {
                    ("Someone <p0@example.org>", "me@example.com".to_string())
                };
                Mail::new(&format!("m{i}@x"), from, &to).day(1 + i % 28)
            })
            .collect();
        let mut w = load.bulk_writer(CAPTURED)?;
        write_mails(&mut w, &mails[..20])?;

        let edit_path = path.clone();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let edit_done = std::sync::Arc::clone(&done);
        let edit = std::thread::spawn(move || -> Result<()> {
            let mut other = Store::open(&edit_path)?;
            other.add_identity("me@example.com", "me@example.com", "")?;
            let mut w = other.writer(CAPTURED)?;
            w.recompute_all()?;
            w.finish()?;
            edit_done.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        });
        // Batches go on until the edit is in: each commit pauses for waiting writers, so it
        // gets in within a batch or two (without the pause it took hundreds).
        let mut batches = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(
                batches < 100,
                "the edit did not get the lock between batches"
            );
            w.commit()?;
            batches += 1;
        }
        edit.join()
            .map_err(|_| Error::Internal("edit thread panicked".into()))??;
        write_mails(&mut w, &mails[20..])?;
        w.finish()?;

        let mut alone = Store::open_in_memory()?;
        alone.add_identity("me@example.com", "me@example.com", "")?;
        store_mails(&mut alone, &mails)?;
        for sql in [
            "SELECT key, direction FROM message ORDER BY key",
            "SELECT message_count, first_date, last_date, last_direction FROM thread ORDER BY first_date",
            "SELECT email, status, first_seen, last_seen FROM address ORDER BY email",
        ] {
            assert_eq!(rows(&load, sql)?, rows(&alone, sql)?, "{sql}");
        }
        assert_eq!(present_indexes(&load)?, DEFERRABLE_INDEXES.len() as i64);
        Ok(())
    }
}
