//! Test helpers for the store's modules: small raw messages, parsed and prepared as ingest does,
//! written through a [`Writer`] so each module's tests exercise the real write path.

use super::{Store, Writer};
use crate::error::{Error, Result};
use crate::ingest::{parse_isolated, prepare};
use crate::mail::ParseOptions;
use crate::model::SourceRef;

/// Seconds since the epoch of 2026-11-01 00:00 UTC; test dates are days after it.
pub(super) const NOV_1_2026: i64 = 1_793_491_200;
/// One day in seconds.
pub(super) const DAY: i64 = 86_400;

/// A message in the making: `Mail::new(id, from, to)` plus what a test needs.
#[derive(Debug, Clone)]
pub(super) struct Mail {
    id: String,
    from: String,
    to: String,
    subject: String,
    day: u32,
    extra: String,
}

impl Mail {
    pub(super) fn new(id: &str, from: &str, to: &str) -> Mail {
        Mail {
            id: id.into(),
            from: from.into(),
            to: to.into(),
            subject: "plans".into(),
            day: 2,
            extra: String::new(),
        }
    }

    pub(super) fn subject(mut self, subject: &str) -> Mail {
        self.subject = subject.into();
        self
    }

    /// Day of November 2026 (1 to 30) at 10:00 UTC.
    pub(super) fn day(mut self, day: u32) -> Mail {
        self.day = day;
        self
    }

    /// Any further header line, e.g. `In-Reply-To: <a@x>`.
    pub(super) fn header(mut self, line: &str) -> Mail {
        self.extra.push_str(line);
        self.extra.push_str("\r\n");
        self
    }

    pub(super) fn raw(&self) -> Vec<u8> {
        format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {} Nov 2026 10:00:00 +0000\r\n\
             Message-ID: <{}>\r\n{}\r\nbody\r\n",
            self.from, self.to, self.subject, self.day, self.id, self.extra
        )
        .into_bytes()
    }
}

/// After every test date: dates in the future of the capture are not trusted.
pub(super) const CAPTURED: i64 = NOV_1_2026 + 40 * DAY;

/// Stores `mails` through one writer and settles, as a single import would.
pub(super) fn store_mails(store: &mut Store, mails: &[Mail]) -> Result<()> {
    let mut w = store.writer(CAPTURED)?;
    write_mails(&mut w, mails)?;
    w.finish()?;
    Ok(())
}

/// Writes `mails` as files, without settling.
pub(super) fn write_mails(w: &mut Writer<'_>, mails: &[Mail]) -> Result<()> {
    for (i, mail) in mails.iter().enumerate() {
        let source = SourceRef {
            kind: crate::source::SourceKind::File,
            account: String::new(),
            folder: String::new(),
            external_id: format!("{}-{i}", mail.id),
        };
        write_mail(w, mail, &source)?;
    }
    Ok(())
}

/// Writes one mail seen at `source`, as ingest does.
pub(super) fn write_mail(w: &mut Writer<'_>, mail: &Mail, source: &SourceRef) -> Result<()> {
    let env = parse_isolated(
        &mail.raw(),
        ParseOptions {
            capture_time: CAPTURED,
            snippet: false,
        },
    )
    .map_err(|r| Error::Internal(format!("{}: {}", r.reason, r.detail)))?;
    w.ingest(&prepare(&env), source)?;
    Ok(())
}

/// Every row of a query, each column as an SQL value (for comparing whole tables).
pub(super) fn rows(store: &Store, sql: &str) -> Result<Vec<Vec<rusqlite::types::Value>>> {
    let mut stmt = store.conn.prepare(sql)?;
    let width = stmt.column_count();
    let rows = stmt
        .query_map([], |r| (0..width).map(|i| r.get(i)).collect())?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A fresh in-memory store of `me@example.com`'s, holding `mails` (settled).
pub(super) fn my_store_with(mails: &[Mail]) -> Result<Store> {
    let mut store = store_with_me()?;
    store_mails(&mut store, mails)?;
    Ok(store)
}

/// A fresh in-memory store with `me@example.com` as the user's identity.
pub(super) fn store_with_me() -> Result<Store> {
    let mut store = Store::open_in_memory()?;
    store.add_identity("me@example.com", "me@example.com", "")?;
    Ok(store)
}

/// One column of one row, for assertions on stored state.
pub(super) fn one<T: rusqlite::types::FromSql>(
    store: &Store,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<T> {
    Ok(store.conn.query_row(sql, params, |r| r.get(0))?)
}

/// Writes at `path` a database as the first `version` migrations left it, holding `rows` (SQL),
/// to test what the later migrations make of it.
pub(super) fn database_before(path: &std::path::Path, version: usize, rows: &str) -> Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    for migration in &super::MIGRATIONS[..version] {
        conn.execute_batch(migration)?;
    }
    conn.pragma_update(None, "user_version", version as i64)?;
    conn.execute_batch(rows)?;
    Ok(())
}

/// A temporary directory for a database file (removed when dropped).
pub(super) fn temp_dir() -> Result<tempfile::TempDir> {
    tempfile::tempdir().map_err(|e| Error::Internal(e.to_string()))
}
