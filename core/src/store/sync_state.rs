//! Sync state of every pull source: one row per (source kind, account, folder) holding the
//! source's opaque cursor, how the folder is kept current, its last error and last success.
//! Cursors are written by the writer in the same transaction as the mail they cover.

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, Writer};
use crate::error::Result;
use crate::source::{Cursor, SourceKind};

/// Where a pull source stands in one folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncState {
    pub kind: SourceKind,
    pub account: String,
    pub folder: String,
    pub cursor: Cursor,
    /// `sync`, `idle` or `polling`.
    pub mode: String,
    /// Messages the folder held on the server at the last pull.
    pub message_count: i64,
    /// The last pull's error ('' when it succeeded).
    pub last_error: String,
    /// When a window or the whole folder was last stored (seconds since the epoch).
    pub last_success: i64,
}

const COLUMNS: &str =
    "kind, account, folder, cursor, mode, message_count, last_error, last_success";

fn row(r: &Row<'_>) -> rusqlite::Result<SyncState> {
    let kind: String = r.get(0)?;
    let kind = kind.parse::<SourceKind>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(SyncState {
        kind,
        account: r.get(1)?,
        folder: r.get(2)?,
        cursor: Cursor(r.get(3)?),
        mode: r.get(4)?,
        message_count: r.get(5)?,
        last_error: r.get(6)?,
        last_success: r.get(7)?,
    })
}

impl Store {
    /// One folder's sync state, if it was ever pulled.
    pub fn sync_state(
        &self,
        kind: SourceKind,
        account: &str,
        folder: &str,
    ) -> Result<Option<SyncState>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_state WHERE kind = ?1 AND account = ?2 AND folder = ?3"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![kind.as_str(), account, folder], row)
            .optional()?)
    }

    /// Every folder's sync state, of one kind and account or of all, by account and folder.
    pub fn sync_states(
        &self,
        kind: Option<SourceKind>,
        account: Option<&str>,
    ) -> Result<Vec<SyncState>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sync_state
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR account = ?2)
             ORDER BY account, folder"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![kind.map(SourceKind::as_str), account], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Records how a folder is being kept current (`mode`, unchanged when `None`) and its last
    /// error ('' when it succeeded). A folder never pulled gets a row with an empty cursor.
    pub fn note_sync(
        &mut self,
        kind: SourceKind,
        account: &str,
        folder: &str,
        mode: Option<&str>,
        error: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_state (kind, account, folder, mode, last_error)
             VALUES (?1, ?2, ?3, coalesce(?4, ''), ?5)
             ON CONFLICT (kind, account, folder) DO UPDATE SET
                mode = coalesce(?4, mode), last_error = ?5",
            params![kind.as_str(), account, folder, mode, error],
        )?;
        Ok(())
    }

    /// (external id, stored message key) of the folder's sources whose id starts with `prefix`
    /// (every source of the folder when `prefix` is empty).
    pub fn folder_sources(
        &self,
        kind: SourceKind,
        account: &str,
        folder: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT s.external_id, m.key FROM source s JOIN message m ON m.id = s.message_id
                 WHERE s.kind = ?1 AND s.account = ?2 AND s.folder = ?3
                   AND substr(s.external_id, 1, length(?4)) = ?4",
            )?
            .query_map(params![kind.as_str(), account, folder, prefix], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The folder's ids changed generation but still name the same messages: rewrite the
    /// sources' `old_prefix` to `new_prefix` and save the new cursor, in one transaction.
    pub fn rebase_sources(
        &mut self,
        state: &SyncState,
        old_prefix: &str,
        new_prefix: &str,
    ) -> Result<()> {
        let tx = self.write_transaction()?;
        tx.execute(
            "UPDATE OR IGNORE source SET external_id = ?5 || substr(external_id, length(?4) + 1)
             WHERE kind = ?1 AND account = ?2 AND folder = ?3
               AND substr(external_id, 1, length(?4)) = ?4",
            params![
                state.kind.as_str(),
                state.account,
                state.folder,
                old_prefix,
                new_prefix
            ],
        )?;
        save(&tx, state)?;
        tx.commit()?;
        Ok(())
    }

    /// The folder's ids changed for real: forget its sources whose id starts with `prefix` and
    /// its cursor (messages, contacts and threads stay: they are keyed by Message-ID).
    pub fn forget_folder(
        &mut self,
        kind: SourceKind,
        account: &str,
        folder: &str,
        prefix: &str,
    ) -> Result<()> {
        let tx = self.write_transaction()?;
        tx.execute(
            "DELETE FROM sync_state WHERE kind = ?1 AND account = ?2 AND folder = ?3",
            params![kind.as_str(), account, folder],
        )?;
        tx.execute(
            "DELETE FROM source WHERE kind = ?1 AND account = ?2 AND folder = ?3
               AND substr(external_id, 1, length(?4)) = ?4",
            params![kind.as_str(), account, folder, prefix],
        )?;
        tx.commit()?;
        Ok(())
    }
}

fn save(conn: &rusqlite::Connection, st: &SyncState) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_state (kind, account, folder, cursor, mode, message_count, last_error,
            last_success)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (kind, account, folder) DO UPDATE SET
            cursor = excluded.cursor, mode = excluded.mode,
            message_count = excluded.message_count, last_error = excluded.last_error,
            last_success = excluded.last_success",
    )?
    .execute(params![
        st.kind.as_str(),
        st.account,
        st.folder,
        st.cursor.0,
        st.mode,
        st.message_count,
        st.last_error,
        st.last_success
    ])?;
    Ok(())
}

impl Writer<'_> {
    /// Saves a folder's sync state in this transaction, so that the cursor moves only with the
    /// mail it covers.
    pub fn save_sync_state(&self, state: &SyncState) -> Result<()> {
        save(self.conn, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn state(cursor: &str) -> SyncState {
        SyncState {
            kind: SourceKind::Imap,
            account: "work".into(),
            folder: "INBOX".into(),
            cursor: Cursor(cursor.into()),
            mode: "sync".into(),
            message_count: 3,
            last_error: String::new(),
            last_success: 10,
        }
    }

    #[test]
    fn cursor_moves_with_its_transaction_and_notes_keep_it() -> Result<()> {
        let mut store = Store::open_in_memory()?;
        assert_eq!(store.sync_state(SourceKind::Imap, "work", "INBOX")?, None);
        {
            let w = store.writer(0)?;
            w.save_sync_state(&state("one"))?;
            // Dropped without finishing: rolled back with the mail it would have covered.
        }
        assert_eq!(store.sync_state(SourceKind::Imap, "work", "INBOX")?, None);
        let w = store.writer(0)?;
        w.save_sync_state(&state("two"))?;
        w.finish()?;
        store.note_sync(SourceKind::Imap, "work", "INBOX", Some("idle"), "boom")?;
        let got = store.sync_state(SourceKind::Imap, "work", "INBOX")?;
        let got = got.ok_or_else(|| Error::Internal("no state".into()))?;
        assert_eq!(got.cursor, Cursor("two".into()));
        assert_eq!(
            (got.mode.as_str(), got.last_error.as_str()),
            ("idle", "boom")
        );
        assert_eq!(store.sync_states(Some(SourceKind::Pop3), None)?.len(), 0);
        assert_eq!(store.sync_states(None, Some("work"))?.len(), 1);
        store.forget_folder(SourceKind::Imap, "work", "INBOX", "7:")?;
        assert_eq!(store.sync_state(SourceKind::Imap, "work", "INBOX")?, None);
        Ok(())
    }

    /// A database written before migration 0002 keeps its IMAP positions: the newest state of
    /// each folder becomes its cursor, and the IMAP source reads it back.
    #[test]
    fn migration_carries_imap_folder_state_over() -> Result<()> {
        let dir = super::super::test_mail::temp_dir()?;
        let path = dir.path().join("old.db");
        super::super::test_mail::database_before(
            &path,
            1,
            "INSERT INTO sync_folder (account, folder, uidvalidity, next_uid, backfill_below,
                highest_modseq, message_count, last_sync, mode, last_error)
             VALUES ('work', 'INBOX', 5, 10, 1, 0, 9, 100, 'idle', ''),
                    ('work', 'INBOX', 6, 40, 3, 77, 39, 200, 'idle', 'late'),
                    ('work', 'Sent', 8, 12, 1, 0, 11, 150, 'polling', '')",
        )?;
        let store = Store::open(&path)?;
        let inbox = store
            .sync_state(SourceKind::Imap, "work", "INBOX")?
            .ok_or_else(|| Error::Internal("INBOX state lost".into()))?;
        let cursor = crate::source::imap::ImapCursor::decode(&inbox.cursor)
            .ok_or_else(|| Error::Internal("cursor does not decode".into()))?;
        assert_eq!(
            (cursor.uidvalidity, cursor.next_uid, cursor.backfill_below),
            (6, 40, 3)
        );
        assert_eq!(cursor.highest_modseq, 77);
        assert_eq!(
            (inbox.mode.as_str(), inbox.last_error.as_str()),
            ("idle", "late")
        );
        assert_eq!((inbox.message_count, inbox.last_success), (39, 200));
        assert_eq!(store.sync_states(None, Some("work"))?.len(), 2);
        Ok(())
    }
}
