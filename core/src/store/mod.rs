//! SQLite storage: the only module that holds SQL. Numbered migrations under
//! `migrations/`, WAL, foreign keys, `STRICT` tables. Writes go through [`Writer`], one
//! transaction per batch; reads take `&Store`.

mod cursor;
mod read;
mod write;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::model::Policy;

pub use cursor::SyncState;
pub use write::{
    BatchEffects, DryRunFindings, PreparedMessage, PreparedParticipant, Writer, WriterCaches,
};

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_sync_state.sql"),
];

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

    /// Re-creates indexes a killed bulk import left dropped — unless an import is running right
    /// now (it holds the write lock and rebuilds them itself when it finishes).
    fn repair_indexes(&mut self) -> Result<()> {
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
        self.conn.busy_timeout(std::time::Duration::ZERO)?;
        let locked = self.conn.execute_batch("BEGIN IMMEDIATE");
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        if locked.is_err() {
            tracing::debug!("indexes are being rebuilt by a running import");
            return Ok(());
        }
        let built = ensure_indexes(&self.conn);
        self.conn
            .execute_batch(if built.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        built
    }

    /// Drops the query-only indexes before a bulk load (see [`DEFERRABLE_INDEXES`]).
    pub fn defer_indexes(&mut self) -> Result<()> {
        drop_deferrable_indexes(&self.conn)
    }

    /// Re-creates the query-only indexes after a bulk load.
    pub fn restore_indexes(&mut self) -> Result<()> {
        ensure_indexes(&self.conn)
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
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
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
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                path: self.path.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::debug!(version = i + 1, "applied migration");
        }
        Ok(())
    }

    /// Starts writing. Work is committed by [`Writer::commit`] (batches) and
    /// [`Writer::finish`] (which also settles aggregates); a dropped writer rolls back.
    pub fn writer(&mut self, capture_time: i64) -> Result<Writer<'_>> {
        Writer::begin(&self.conn, capture_time)
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
        Writer::resume(&self.conn, capture_time, caches)
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

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM setting WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO setting (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn policy(&self) -> Result<Policy> {
        Ok(self
            .setting("policy")?
            .and_then(|p| Policy::parse(&p))
            .unwrap_or_default())
    }

    /// Threads and addresses whose aggregates wait for recomputation (left by interrupted work).
    pub fn pending_counts(&self) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM pending_thread), (SELECT count(*) FROM pending_address)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
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
