//! SQLite storage: the only module that holds SQL. Numbered migrations under
//! `migrations/`, WAL, foreign keys, `STRICT` tables. Writes go through [`Writer`], one
//! transaction per batch; reads take `&Store`.
//!
//! One concept per file. Writing: `write` (the writer, its lifecycle and `ingest`), `link`
//! (Message-ID nodes, ghosts, thread membership and merges), `people` (addresses, names,
//! participants, identities, rules), `settle` (aggregates and pending work), `bulk` (deferred
//! indexes, the second settling connection), `sync_state` (every pull source's cursor per
//! folder). Reading:
//! `contacts`, `threads`, `search`, `messages`, `settings`. This file opens, configures and
//! migrates the database.
//!
//! # Many writers, one file
//!
//! Up to five processes write at once: `rapport import`, `sync`/`watch`, the Thunderbird native
//! host, the Outlook bridge and the CLI's edits (and the bindings, in the caller's process).
//! Readers never wait (WAL). Writers take SQLite's one write lock with `BEGIN IMMEDIATE` and:
//! - wait for it patiently: every millisecond for up to 15 minutes (`wait_for_lock`), never
//!   failing because another process is writing;
//! - hold it briefly: a long writer (an import, a sync window) commits in batches and pauses
//!   [`WRITER_PAUSE`] between them, so a waiting writer gets in within one batch; once another
//!   writer has shown up, an import's batches are also cut at [`SHARED_BATCH`];
//! - go in turn: a short writer (a capture, an edit, a sync window) holds `<database>-turn`
//!   shared from before it asks for the lock until it commits; a long writer, between its
//!   batches, waits while anyone holds that file (for up to [`YIELD_LIMIT`]), so a short write
//!   never waits behind a second long writer's batch as well;
//! - settle in pieces: a long writer's final settle goes a few hundred addresses or a
//!   thousand threads per transaction (query indexes after a bulk load, one per transaction);
//! - notice the others: after each batch a long writer reads `PRAGMA data_version`; if another
//!   connection committed, it drops what it cached (nodes, addresses) and reads identities,
//!   rules and the policy again, so the rest of its load is written as if that edit came first
//!   and the result equals the same work done one after another;
//! - keep settling exact and short: aggregates left to settle are in the `pending_*` tables.
//!   A long writer holds `<database>-writers` shared while it runs; a short writer settles the
//!   pending rows only when it can lock that file alone (their writer was killed), otherwise
//!   it settles just its own and the long writer settles the rest when it finishes. Search
//!   rows are replaced rather than assumed new;
//! - settle the user's own addresses without reading all their mail (they are in nearly all
//!   of it): their first and last dates are widened as mail is written;
//! - never crawl without indexes: a bulk load drops its query indexes, and an ordinary writer
//!   that finds them missing builds them first (the load carries on with them).
//!
//! New databases: each numbered migration runs under the write lock after reading
//! `user_version` again, so processes opening a new file together migrate it once.
//! `tests/e2e/concurrency.sh` runs all of these writers against one file at once.

mod bulk;
mod contacts;
mod decisions;
mod link;
mod messages;
mod people;
mod search;
mod settings;
mod settle;
mod sources;
mod sync_state;
#[cfg(test)]
mod test_mail;
mod threads;
mod write;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::time::Timestamp;

pub use decisions::{ImportRun, ThreadMark};
pub use sources::SourceOverview;
pub use sync_state::SyncState;
pub use write::{
    BatchEffects, DryRunFindings, PreparedMessage, PreparedParticipant, Writer, WriterCaches,
};

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_sync_state.sql"),
    include_str!("migrations/0003_participant_name.sql"),
    include_str!("migrations/0004_follow_up.sql"),
];

/// A stored date, if any, as a [`Timestamp`].
fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

/// How long a writer waits for the write lock before it gives up. Another process may hold the
/// lock for one batch of an import at a time, or for the whole settling at the end of one.
const WRITE_WAIT: Duration = Duration::from_secs(15 * 60);

/// How often a waiting writer tries the lock again.
pub(crate) const WAIT_POLL: Duration = Duration::from_millis(1);

/// How long a long writer lets go of the lock between two of its batches.
pub(crate) const WRITER_PAUSE: Duration = Duration::from_millis(4);

/// How long a long writer holds the lock at a time once other writers have shown up.
pub(crate) const SHARED_BATCH: Duration = Duration::from_millis(200);
/// The longest a long writer waits between batches for short writers to take their turn (a
/// short writer that never finishes must not stop an import).
pub(crate) const YIELD_LIMIT: Duration = Duration::from_secs(2);

/// Waits for the write lock, trying every [`WAIT_POLL`] for up to `limit`. SQLite's own busy
/// timeout sleeps up to 100 ms between tries, so a writer that commits and begins again (an
/// import between batches) would win the lock nearly every time and a short write could wait
/// out a whole import; trying this often, a waiter gets in during the [`WRITER_PAUSE`].
fn wait_for_lock(conn: &mut Connection, limit: Duration) -> Result<()> {
    let mut since = Instant::now();
    conn.busy_handler(Some(move |tries: i32| {
        if tries == 0 {
            since = Instant::now();
        }
        if since.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(WAIT_POLL);
        true
    }))?;
    Ok(())
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// An open Rapport database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// A failure that a full disk causes when a WAL database is opened (the log and its index
/// cannot be created or grown).
fn out_of_space(e: &Error) -> bool {
    matches!(
        e,
        Error::Storage(inner) if matches!(
            inner.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure)
        )
    )
}

/// A path as the path part of an SQLite `file:` URI (`%`, `?` and `#` escaped).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        if path.is_dir() {
            return Err(Error::InvalidInput(format!(
                "{} is a directory, not a database file",
                path.display()
            )));
        }
        match Self::open_writable(path) {
            Err(e) if out_of_space(&e) && path.is_file() => {
                Self::open_on_full_disk(path).map_err(|_| e)
            }
            other => other,
        }
    }

    /// Opens, configures and migrates. SQLite answers some steps of setting up a new file
    /// (switching it to WAL, its first schema) with "database is locked" without calling the
    /// busy handler when other processes are doing the same at that moment: the whole opening
    /// is tried again until [`WRITE_WAIT`] has passed.
    fn open_writable(path: &Path) -> Result<Store> {
        let started = Instant::now();
        loop {
            match Self::open_writable_once(path) {
                Err(Error::Storage(e))
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && started.elapsed() < WRITE_WAIT =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => return other,
            }
        }
    }

    fn open_writable_once(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| Self::open_error(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.configure().map_err(|e| store.classify(e))?;
        store.migrate().map_err(|e| store.classify(e))?;
        store.repair_indexes().map_err(|e| store.classify(e))?;
        Ok(store)
    }

    /// With the disk full, SQLite cannot make the files a normal (WAL) connection needs, so
    /// even reading fails. Reading still works on the database file alone, opened immutable and
    /// read-only: what is in it is shown; writes fail (with SQLite's "readonly database").
    /// Changes still in the write-ahead log, if any, are not seen, and a warning says so.
    fn open_on_full_disk(path: &Path) -> Result<Store> {
        let uri = format!("file:{}?immutable=1", uri_path(path));
        let conn = Connection::open_with_flags(
            uri,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_URI
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Self::open_error(path, e))?;
        conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let version = store.schema_version()?;
        if version != SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let unseen = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
        tracing::warn!(
            "the disk holding {} is full: opened read-only{}; free some space to write again",
            path.display(),
            if unseen {
                " (the latest changes, still in the write-ahead log, are not shown)"
            } else {
                ""
            }
        );
        Ok(store)
    }

    /// Roughly how many messages are stored (cheap: the highest row id).
    pub fn message_count_estimate(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM message", [], |r| r.get(0))?)
    }

    /// A private database in memory (tests, dry runs of the demo).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store {
            conn,
            path: PathBuf::from(":memory:"),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn open_error(path: &Path, e: rusqlite::Error) -> Error {
        if is_corruption(&e) {
            Error::CorruptDatabase {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }
        } else {
            Error::Storage(e)
        }
    }

    fn classify(&self, e: Error) -> Error {
        match e {
            Error::Storage(inner) if is_corruption(&inner) => Error::CorruptDatabase {
                path: self.path.clone(),
                detail: inner.to_string(),
            },
            other => other,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&mut self) -> Result<()> {
        wait_for_lock(&mut self.conn, WRITE_WAIT)?;
        // Ingest cycles through a few dozen statements; the default cache of 16 would thrash.
        self.conn.set_prepared_statement_cache_capacity(256);
        // Without the planner stability guarantee SQLite re-prepares some statements on every
        // bind (to specialise plans for the bound values); ingest runs them tens of thousands of
        // times, and the re-parsing cost a third of import time.
        self.conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        // Takes effect only when the file is created (before WAL mode is set): 8 KiB pages made
        // bulk loads ~5 % cheaper than 4 KiB (fewer splits and log frames); queries are unaffected.
        self.conn.pragma_update(None, "page_size", 8192)?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        tracing::debug!(journal_mode = %mode, "opened database");
        self.conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -32000;",
        )?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let version = self.schema_version()?;
        if version > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                path: self.path.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        // Several processes may open a new database at once: each migration runs under the
        // write lock, after reading the version again there, so it runs exactly once.
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.write_transaction()?;
            let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if applied > i as i64 {
                continue;
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::debug!(version = i + 1, "applied migration");
        }
        Ok(())
    }

    /// A transaction that holds the write lock from its start (a deferred one could fail with
    /// "database is locked" when it first writes after another process committed).
    pub(crate) fn write_transaction(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// Starts writing. Work is committed by [`Writer::commit`] (batches) and
    /// [`Writer::finish`] (which also settles aggregates); a dropped writer rolls back.
    pub fn writer(&mut self, capture_time: i64) -> Result<Writer<'_>> {
        let w = Writer::begin(&self.conn, capture_time)?;
        // A bulk load in another process may have dropped the query indexes: settling without
        // them scans whole tables per address, so this writer builds them (the load carries on
        // with them, and keeps them when it ends).
        bulk::ensure_indexes(&self.conn)?;
        Ok(w)
    }

    /// A writer for a bulk load into a small database: query-only indexes are dropped until it
    /// finishes, and foreign keys are not checked row by row (the writer keeps them by
    /// construction; `rapport doctor` verifies them). Both come back when the writer ends.
    pub fn bulk_writer(&mut self, capture_time: i64) -> Result<Writer<'_>> {
        let mut w = self.unchecked_writer(capture_time)?;
        w.defer_indexes()?;
        Ok(w)
    }

    /// A writer that starts with an earlier writer's caches (nothing else may have written since).
    pub fn resumed_writer(
        &mut self,
        capture_time: i64,
        caches: WriterCaches,
        checked: bool,
    ) -> Result<Writer<'_>> {
        self.conn.pragma_update(None, "foreign_keys", checked)?;
        let w = Writer::resume(&self.conn, capture_time, caches)?;
        if checked {
            bulk::ensure_indexes(&self.conn)?;
        }
        Ok(w)
    }

    /// A writer without row-by-row foreign-key checks, for the windows of a bulk transfer whose
    /// indexes are already deferred (see [`Store::defer_indexes`]).
    pub fn unchecked_writer(&mut self, capture_time: i64) -> Result<Writer<'_>> {
        self.conn.pragma_update(None, "foreign_keys", false)?;
        Writer::begin(&self.conn, capture_time)
    }

    /// Rows whose foreign keys point nowhere (should always be none).
    pub fn foreign_key_violations(&self) -> Result<i64> {
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while rows.next()?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Checks the file is a healthy Rapport database (used by `doctor` and after open).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::{SCHEMA_VERSION, Store};
    use crate::error::{Error, Result};

    /// Before, every process read version 0 and ran the first migration: all but one failed
    /// with "table ... already exists".
    #[test]
    fn many_openers_of_a_new_database_all_succeed() -> Result<()> {
        let dir = super::test_mail::temp_dir()?;
        let path = dir.path().join("new.db");
        let start = std::sync::Arc::new(std::sync::Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                let start = std::sync::Arc::clone(&start);
                std::thread::spawn(move || -> Result<i64> {
                    start.wait();
                    Store::open(&path)?.schema_version()
                })
            })
            .collect();
        for opener in openers {
            let version = opener
                .join()
                .map_err(|_| Error::Internal("opener panicked".into()))??;
            assert_eq!(version, SCHEMA_VERSION);
        }
        Ok(())
    }
}
