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

mod bulk;
mod contacts;
mod link;
mod messages;
mod people;
mod search;
mod settings;
mod settle;
mod sync_state;
#[cfg(test)]
mod test_mail;
mod threads;
mod write;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::time::Timestamp;

pub use sync_state::SyncState;
pub use write::{
    BatchEffects, DryRunFindings, PreparedMessage, PreparedParticipant, Writer, WriterCaches,
};

/// Migrations in order; `PRAGMA user_version` records how many have been applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_sync_state.sql"),
];

/// A stored date, if any, as a [`Timestamp`].
fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
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
