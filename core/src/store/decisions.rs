//! What the user decides about the follow-up lists (a thread done or snoozed, a contact
//! snoozed), and the progress imports record for other programs to show while they run.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Store, Writer, ts};
use crate::error::{Error, Result};
use crate::import::ImportProgress;
use crate::time::Timestamp;

/// What to do with a thread in the awaiting-reply lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadMark {
    /// Dealt with: left out until a newer message arrives in the thread.
    Done,
    /// Left out until this moment (seconds since the epoch), or until a newer message.
    Snooze(i64),
    /// Back in the lists.
    Reopen,
}

/// One import's progress, as recorded at each batch it committed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportRun {
    pub id: i64,
    /// The paths imported, as given.
    pub label: String,
    /// `running`, `finished`, `stopped` (cancelled), `failed`, or `interrupted` (its process
    /// ended without saying how: killed, or the machine stopped).
    pub state: String,
    pub started: Timestamp,
    pub updated: Timestamp,
    pub finished: Option<Timestamp>,
    pub files_total: i64,
    pub files_done: i64,
    pub bytes_total: i64,
    pub bytes_done: i64,
    pub messages: i64,
    pub stored: i64,
    pub duplicates: i64,
    pub skipped: i64,
}

/// Whether the import run by process `pid`, last heard of at `updated`, still runs. Linux
/// answers by the process table; elsewhere a run silent for two minutes counts as ended (an
/// import records progress many times a minute).
fn still_running(pid: i64, updated: i64) -> bool {
    if cfg!(target_os = "linux") {
        pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        crate::time::now() - updated < 120
    }
}

impl Store {
    /// Marks the thread `thread_id` (its current last message) done, snoozed, or neither.
    pub fn mark_thread(&mut self, thread_id: i64, mark: ThreadMark, now: i64) -> Result<()> {
        let key: String = self
            .conn
            .prepare_cached(
                "SELECT m.key FROM thread t JOIN message m ON m.id = t.last_message_id
                 WHERE t.id = ?1",
            )?
            .query_row(params![thread_id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::not_found("thread", thread_id.to_string()))?;
        match mark {
            ThreadMark::Reopen => {
                // Any older mark of the thread goes too: its messages' keys.
                self.conn.execute(
                    "DELETE FROM thread_mark WHERE message_key IN
                     (SELECT key FROM message WHERE thread_id = ?1)",
                    params![thread_id],
                )?;
            }
            ThreadMark::Done | ThreadMark::Snooze(_) => {
                let (state, until) = match mark {
                    ThreadMark::Snooze(until) => ("snoozed", Some(until)),
                    _ => ("done", None),
                };
                self.conn.execute(
                    "INSERT INTO thread_mark (message_key, state, until, marked_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (message_key) DO UPDATE SET state = excluded.state,
                        until = excluded.until, marked_at = excluded.marked_at",
                    params![key, state, until, now],
                )?;
            }
        }
        Ok(())
    }

    /// Leaves a contact out of "neglected" until `until` (`None`: back at once).
    pub fn snooze_contact(&mut self, contact_id: i64, until: Option<i64>) -> Result<()> {
        self.conn.execute(
            "UPDATE contact SET snoozed_until = ?2 WHERE id = ?1",
            params![contact_id, until],
        )?;
        Ok(())
    }

    /// Records that an import of `label` begins in this process; its id for the progress.
    pub fn start_import_run(&mut self, label: &str, now: i64) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO import_run (label, pid, started, updated) VALUES (?1, ?2, ?3, ?3)",
            params![label, i64::from(std::process::id()), now],
        )?;
        let id = self.conn.last_insert_rowid();
        // Only the latest hundred runs are kept.
        self.conn
            .execute("DELETE FROM import_run WHERE id <= ?1 - 100", params![id])?;
        Ok(id)
    }

    /// Records how an import ended (`finished`, `stopped` or `failed`) and its last figures.
    pub fn finish_import_run(
        &mut self,
        run: i64,
        outcome: &str,
        progress: &ImportProgress,
        now: i64,
    ) -> Result<()> {
        write_progress(&self.conn, run, progress, now)?;
        self.conn.execute(
            "UPDATE import_run SET finished = ?2, outcome = ?3 WHERE id = ?1",
            params![run, now, outcome],
        )?;
        Ok(())
    }

    /// The latest imports, newest first, with their state.
    pub fn import_runs(&self, limit: usize) -> Result<Vec<ImportRun>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, label, pid, started, updated, finished, outcome, files_total, files_done,
                    bytes_total, bytes_done, messages, stored, duplicates, skipped
             FROM import_run ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            let pid: i64 = r.get(2)?;
            let finished: Option<i64> = r.get(5)?;
            let outcome: String = r.get(6)?;
            let state = match (finished, outcome.as_str()) {
                (Some(_), "") => "finished".to_string(),
                (Some(_), o) => o.to_string(),
                (None, _) if still_running(pid, r.get(4)?) => "running".to_string(),
                (None, _) => "interrupted".to_string(),
            };
            Ok(ImportRun {
                id: r.get(0)?,
                label: r.get(1)?,
                state,
                started: Timestamp(r.get(3)?),
                updated: Timestamp(r.get(4)?),
                finished: ts(finished),
                files_total: r.get(7)?,
                files_done: r.get(8)?,
                bytes_total: r.get(9)?,
                bytes_done: r.get(10)?,
                messages: r.get(11)?,
                stored: r.get(12)?,
                duplicates: r.get(13)?,
                skipped: r.get(14)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Grows whenever another connection commits (SQLite's `data_version`); a reader polls it
    /// to learn that what it shows may be stale.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
}

fn write_progress(
    conn: &rusqlite::Connection,
    run: i64,
    p: &ImportProgress,
    now: i64,
) -> Result<()> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "UPDATE import_run SET updated = ?2, files_total = ?3, files_done = ?4, bytes_total = ?5,
            bytes_done = ?6, messages = ?7, stored = ?8, duplicates = ?9, skipped = ?10
         WHERE id = ?1",
    )?
    .execute(params![
        run,
        now,
        n(p.files_total),
        n(p.files_done),
        n(p.bytes_total),
        n(p.bytes_done),
        n(p.messages),
        n(p.stored),
        n(p.duplicates),
        n(p.skipped)
    ])?;
    Ok(())
}

impl Writer<'_> {
    /// Records an import's progress in the batch about to be committed (one row update).
    pub fn note_import_progress(&self, run: i64, progress: &ImportProgress) -> Result<()> {
        write_progress(self.conn, run, progress, crate::time::now())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_mail::{CAPTURED, DAY, Mail, my_store_with};
    use super::ThreadMark;
    use crate::error::Result;
    use crate::import::ImportProgress;
    use crate::query::AwaitingQuery;

    #[test]
    fn marks_hide_a_thread_until_a_newer_message_or_the_date() -> Result<()> {
        let mut store =
            my_store_with(&[Mail::new("q@x", "Ann <ann@example.org>", "me@example.com").day(1)])?;
        let waiting = |s: &super::Store, now| -> Result<usize> {
            Ok(s.awaiting(&AwaitingQuery::new(now))?.len())
        };
        assert_eq!(waiting(&store, CAPTURED)?, 1);
        let thread = store.thread_of_message("q@x")?;
        store.mark_thread(thread, ThreadMark::Done, CAPTURED)?;
        assert_eq!(waiting(&store, CAPTURED)?, 0);
        store.mark_thread(thread, ThreadMark::Reopen, CAPTURED)?;
        assert_eq!(waiting(&store, CAPTURED)?, 1);
        store.mark_thread(thread, ThreadMark::Snooze(CAPTURED + 2 * DAY), CAPTURED)?;
        assert_eq!(waiting(&store, CAPTURED)?, 0);
        assert_eq!(
            waiting(&store, CAPTURED + 3 * DAY)?,
            1,
            "the snooze ran out"
        );

        // Done, then a new message in the thread: it waits again.
        store.mark_thread(thread, ThreadMark::Done, CAPTURED)?;
        super::super::test_mail::store_mails(
            &mut store,
            &[Mail::new("q2@x", "Ann <ann@example.org>", "me@example.com")
                .day(5)
                .header("In-Reply-To: <q@x>")],
        )?;
        assert_eq!(waiting(&store, CAPTURED)?, 1);
        Ok(())
    }

    #[test]
    fn a_snoozed_contact_is_not_neglected_until_the_date() -> Result<()> {
        let mut store =
            my_store_with(&[Mail::new("a@x", "me@example.com", "Bob <bob@example.net>").day(1)])?;
        let bob = store.contact_id("bob@example.net")?;
        store.set_contact_cadence(bob, Some(7))?;
        assert_eq!(store.neglected(CAPTURED, 10)?.len(), 1);
        store.snooze_contact(bob, Some(CAPTURED + DAY))?;
        assert!(store.neglected(CAPTURED, 10)?.is_empty());
        assert_eq!(
            store
                .contact_summary(bob, CAPTURED)?
                .snoozed_until
                .map(|t| t.0),
            Some(CAPTURED + DAY)
        );
        assert_eq!(store.neglected(CAPTURED + 2 * DAY, 10)?.len(), 1);
        store.snooze_contact(bob, None)?;
        assert_eq!(store.neglected(CAPTURED, 10)?.len(), 1);
        Ok(())
    }

    #[test]
    fn import_runs_record_progress_and_outcome() -> Result<()> {
        let mut store = my_store_with(&[])?;
        let run = store.start_import_run("/mail", CAPTURED)?;
        let runs = store.import_runs(5)?;
        assert_eq!(runs[0].state, "running", "this process is alive");
        let progress = ImportProgress {
            messages: 10,
            stored: 9,
            ..ImportProgress::default()
        };
        store.finish_import_run(run, "", &progress, CAPTURED + 5)?;
        let runs = store.import_runs(5)?;
        assert_eq!(runs[0].state, "finished");
        assert_eq!((runs[0].messages, runs[0].stored), (10, 9));
        // A run whose process is gone without finishing was interrupted.
        store.conn.execute(
            "INSERT INTO import_run (label, pid, started, updated) VALUES ('x', 999999999, 1, 1)",
            [],
        )?;
        assert_eq!(store.import_runs(1)?[0].state, "interrupted");
        Ok(())
    }
}
