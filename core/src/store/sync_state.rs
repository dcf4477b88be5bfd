//! IMAP folder sync state: per (account, folder, UIDVALIDITY) where new mail starts, how far
//! history has been fetched, how the folder is watched; and the UID map kept in `source`.

use rusqlite::{OptionalExtension, Row, params};

use super::Store;
use super::write::Writer;
use crate::error::Result;

/// Sync state of one folder: where new mail starts, how far history has been fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FolderState {
    pub account: String,
    pub folder: String,
    pub uidvalidity: u32,
    /// Every UID below this (and at or above `backfill_below`) has been fetched.
    pub next_uid: u32,
    /// History below this UID is still to fetch, newest first; 1 when complete.
    pub backfill_below: u32,
    pub highest_modseq: u64,
    pub message_count: i64,
    pub last_sync: i64,
    /// `idle`, `polling` or `sync`.
    pub mode: String,
    pub last_error: String,
}

fn folder_state_row(r: &Row<'_>) -> rusqlite::Result<FolderState> {
    Ok(FolderState {
        account: r.get(0)?,
        folder: r.get(1)?,
        uidvalidity: r.get(2)?,
        next_uid: r.get(3)?,
        backfill_below: r.get(4)?,
        highest_modseq: r.get::<_, i64>(5)? as u64,
        message_count: r.get(6)?,
        last_sync: r.get(7)?,
        mode: r.get(8)?,
        last_error: r.get(9)?,
    })
}

const FOLDER_COLUMNS: &str =
    "account, folder, uidvalidity, next_uid, backfill_below, highest_modseq,
    message_count, last_sync, mode, last_error";

impl Writer<'_> {
    /// Saves a folder's sync state in this transaction, so that it moves only with the mail it
    /// describes.
    pub fn save_folder_state(&self, st: &super::FolderState) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sync_folder (account, folder, uidvalidity, next_uid, backfill_below,
                    highest_modseq, message_count, last_sync, mode, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (account, folder, uidvalidity) DO UPDATE SET
                    next_uid = excluded.next_uid, backfill_below = excluded.backfill_below,
                    highest_modseq = excluded.highest_modseq, message_count = excluded.message_count,
                    last_sync = excluded.last_sync, mode = excluded.mode, last_error = excluded.last_error",
            )?
            .execute(params![
                st.account,
                st.folder,
                st.uidvalidity,
                st.next_uid,
                st.backfill_below,
                st.highest_modseq as i64,
                st.message_count,
                st.last_sync,
                st.mode,
                st.last_error
            ])?;
        Ok(())
    }
}

impl Store {
    /// Every folder state of an account (or of all accounts), newest UIDVALIDITY first.
    pub fn folder_states(&self, account: Option<&str>) -> Result<Vec<FolderState>> {
        let sql = format!(
            "SELECT {FOLDER_COLUMNS} FROM sync_folder
             WHERE ?1 IS NULL OR account = ?1 ORDER BY account, folder, id DESC"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![account], folder_state_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The most recent state of one folder (any UIDVALIDITY).
    pub fn folder_state(&self, account: &str, folder: &str) -> Result<Option<FolderState>> {
        let sql = format!(
            "SELECT {FOLDER_COLUMNS} FROM sync_folder WHERE account = ?1 AND folder = ?2
             ORDER BY id DESC LIMIT 1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![account, folder], folder_state_row)
            .optional()?)
    }

    /// (UID, stored message key) of the folder's messages under one UIDVALIDITY.
    pub fn folder_uids(
        &self,
        account: &str,
        folder: &str,
        uidvalidity: u32,
    ) -> Result<Vec<(u32, String)>> {
        let prefix = format!("{uidvalidity}:");
        let rows = self
            .conn
            .prepare_cached(
                "SELECT s.external_id, m.key FROM source s JOIN message m ON m.id = s.message_id
                 WHERE s.kind = 'imap' AND s.account = ?1 AND s.folder = ?2
                   AND substr(s.external_id, 1, length(?3)) = ?3",
            )?
            .query_map(params![account, folder, prefix], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(ext, key)| {
                ext.split_once(':')
                    .and_then(|(_, uid)| uid.parse().ok())
                    .map(|uid| (uid, key))
            })
            .collect())
    }

    /// A folder's UIDVALIDITY changed but its UIDs still name the same messages: keep the state
    /// and the sources under the new value.
    pub fn rebase_folder(&mut self, account: &str, folder: &str, old: u32, new: u32) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM sync_folder WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3",
            params![account, folder, new],
        )?;
        tx.execute(
            "UPDATE sync_folder SET uidvalidity = ?4 WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3",
            params![account, folder, old, new],
        )?;
        tx.execute(
            "UPDATE OR IGNORE source SET external_id = ?4 || substr(external_id, length(?3) + 1)
             WHERE kind = 'imap' AND account = ?1 AND folder = ?2
               AND substr(external_id, 1, length(?3)) = ?3",
            params![account, folder, format!("{old}:"), format!("{new}:")],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A folder's UIDVALIDITY changed for real: forget its UID map (messages, contacts and
    /// threads stay: they are keyed by Message-ID).
    pub fn drop_folder_validity(&mut self, account: &str, folder: &str, old: u32) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM sync_folder WHERE account = ?1 AND folder = ?2 AND uidvalidity = ?3",
            params![account, folder, old],
        )?;
        tx.execute(
            "DELETE FROM source WHERE kind = 'imap' AND account = ?1 AND folder = ?2
               AND substr(external_id, 1, length(?3)) = ?3",
            params![account, folder, format!("{old}:")],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records how a folder is being watched and its last error ('' when it succeeded).
    pub fn note_folder(
        &mut self,
        account: &str,
        folder: &str,
        mode: Option<&str>,
        error: &str,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE sync_folder SET mode = coalesce(?3, mode), last_error = ?4
             WHERE id = (SELECT id FROM sync_folder WHERE account = ?1 AND folder = ?2 ORDER BY id DESC LIMIT 1)",
            params![account, folder, mode, error],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::super::test_mail::{CAPTURED, Mail, write_mail};
    use super::FolderState;
    use crate::error::Result;
    use crate::model::SourceRef;

    fn inbox(uidvalidity: u32) -> FolderState {
        FolderState {
            account: "work".into(),
            folder: "INBOX".into(),
            uidvalidity,
            next_uid: 3,
            backfill_below: 1,
            highest_modseq: 99,
            message_count: 2,
            last_sync: CAPTURED,
            mode: "sync".into(),
            last_error: String::new(),
        }
    }

    /// Two messages under UIDs 1 and 2, saved with the folder state in the same transaction.
    fn synced_store() -> Result<Store> {
        let mut store = Store::open_in_memory()?;
        let mut w = store.writer(CAPTURED)?;
        for (uid, id) in [(1, "a@x"), (2, "b@x")] {
            let source = SourceRef {
                kind: "imap".into(),
                account: "work".into(),
                folder: "INBOX".into(),
                external_id: format!("7:{uid}"),
            };
            write_mail(
                &mut w,
                &Mail::new(id, "ann@example.org", "me@example.com"),
                &source,
            )?;
        }
        w.save_folder_state(&inbox(7))?;
        w.finish()?;
        Ok(store)
    }

    #[test]
    fn folder_state_is_saved_loaded_and_noted() -> Result<()> {
        let mut store = synced_store()?;
        assert_eq!(store.folder_state("work", "INBOX")?, Some(inbox(7)));
        assert_eq!(store.folder_state("work", "Sent")?, None);
        assert_eq!(store.folder_states(Some("work"))?, vec![inbox(7)]);
        assert_eq!(store.folder_states(None)?.len(), 1);
        assert!(store.folder_states(Some("home"))?.is_empty());

        store.note_folder("work", "INBOX", Some("idle"), "connection reset")?;
        store.note_folder("work", "INBOX", None, "")?;
        let noted = store.folder_state("work", "INBOX")?;
        assert_eq!(
            noted
                .as_ref()
                .map(|s| (s.mode.as_str(), s.last_error.as_str())),
            Some(("idle", ""))
        );
        Ok(())
    }

    #[test]
    fn a_rebased_folder_keeps_its_uids_and_a_dropped_one_forgets_them() -> Result<()> {
        let mut store = synced_store()?;
        let mut uids = store.folder_uids("work", "INBOX", 7)?;
        uids.sort();
        assert_eq!(uids, vec![(1, "a@x".to_string()), (2, "b@x".to_string())]);

        store.rebase_folder("work", "INBOX", 7, 8)?;
        assert!(store.folder_uids("work", "INBOX", 7)?.is_empty());
        assert_eq!(store.folder_uids("work", "INBOX", 8)?.len(), 2);
        assert_eq!(store.folder_state("work", "INBOX")?, Some(inbox(8)));

        store.drop_folder_validity("work", "INBOX", 8)?;
        assert_eq!(store.folder_state("work", "INBOX")?, None);
        assert!(store.folder_uids("work", "INBOX", 8)?.is_empty());
        // Messages are keyed by Message-ID and stay.
        assert_eq!(store.stats()?.messages, 2);
        Ok(())
    }
}
