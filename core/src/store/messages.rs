//! Messages as stored: overall statistics, which Message-IDs are known and under which key,
//! the messages of one source, and the inputs that were skipped.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::{Store, ts};
use crate::error::{Error, Result};
use crate::model::{SkipRecord, Stats};

impl Store {
    pub fn stats(&self) -> Result<Stats> {
        let c = &self.conn;
        let one = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
        // One pass over the messages for every per-message figure (this runs on each page
        // of the dashboard's Sources, so it must stay cheap on large databases).
        let mut by_class = BTreeMap::new();
        let mut by_direction = BTreeMap::new();
        let (mut messages, mut first, mut last) = (0i64, None::<i64>, None::<i64>);
        let mut stmt = c.prepare_cached(
            "SELECT class, direction, count(*), min(date), max(date) FROM message
             GROUP BY class, direction",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        for row in rows {
            let (class, direction, n, lo, hi) = row?;
            *by_class.entry(class).or_insert(0) += n;
            *by_direction.entry(direction).or_insert(0) += n;
            messages += n;
            first = first.into_iter().chain(lo).min();
            last = last.into_iter().chain(hi).max();
        }
        Ok(Stats {
            messages,
            threads: one("SELECT count(*) FROM thread WHERE message_count > 0")?,
            contacts: one("SELECT count(*) FROM contact")?,
            // Per address, one seek in participant(address_id, role): cheaper than a distinct
            // count over every participant row.
            addresses: one(
                "SELECT count(*) FROM address a WHERE EXISTS (SELECT 1 FROM participant p
                 WHERE p.address_id = a.id AND p.role IN ('from', 'to', 'cc'))",
            )?,
            sources: one("SELECT count(*) FROM source")?,
            identities: one("SELECT count(*) FROM identity WHERE confirmed = 1")?,
            skipped_inputs: one("SELECT count(*) FROM skip WHERE reason <> 'trimmed'")?,
            by_class,
            by_direction,
            first_date: ts(first),
            last_date: ts(last),
        })
    }

    /// Which of these Message-IDs are stored (as a message or an alias of one).
    pub fn known_message_ids(&self, ids: &[String]) -> Result<Vec<bool>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM node WHERE mid = ?1 AND message_id IS NOT NULL")?;
        ids.iter()
            .map(|id| {
                let id = id.trim().trim_start_matches('<').trim_end_matches('>');
                Ok(stmt.exists(params![id])?)
            })
            .collect()
    }

    pub fn skips(&self, limit: usize) -> Result<Vec<SkipRecord>> {
        Ok(self
            .conn
            .prepare_cached("SELECT location, reason, detail FROM skip ORDER BY id LIMIT ?1")?
            .query_map(params![limit as i64], |r| {
                Ok(SkipRecord {
                    location: r.get(0)?,
                    reason: r.get(1)?,
                    detail: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The stored key of the message known by `id` (which may be an alias).
    pub fn message_key_of(&self, id: &str) -> Result<String> {
        self.conn
            .prepare_cached(
                "SELECT m.key FROM node n JOIN message m ON m.id = n.message_id WHERE n.mid = ?1",
            )?
            .query_row(params![id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::not_found("message", id))
    }

    /// Whether a skip was recorded for this input location, and why.
    pub fn skip_reason(&self, location: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT reason || ': ' || detail FROM skip WHERE location = ?1")?
            .query_row(params![location], |r| r.get(0))
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_mail::{CAPTURED, Mail, my_store_with, store_with_me};
    use crate::error::Result;

    #[test]
    fn stored_messages_are_counted_known_and_keyed() -> Result<()> {
        let store = my_store_with(&[
            Mail::new("a@x", "me@example.com", "ann@example.org"),
            Mail::new("b@x", "ann@example.org", "me@example.com").header("In-Reply-To: <ghost@x>"),
        ])?;
        let stats = store.stats()?;
        assert_eq!((stats.messages, stats.threads, stats.sources), (2, 2, 2));
        assert_eq!(stats.by_direction.get("outbound"), Some(&1));
        assert_eq!(
            store.known_message_ids(&["<a@x>".into(), "ghost@x".into(), "nope@x".into()])?,
            vec![true, false, false]
        );
        assert_eq!(store.message_key_of("b@x")?, "b@x");
        assert!(store.message_key_of("ghost@x").is_err());
        assert_eq!(
            store
                .folder_sources(crate::source::SourceKind::File, "", "", "")?
                .len(),
            2
        );
        Ok(())
    }

    #[test]
    fn skips_are_recorded_once_per_location() -> Result<()> {
        let mut store = store_with_me()?;
        let w = store.writer(CAPTURED)?;
        w.record_skip("/mail/1", "empty", "no bytes")?;
        w.record_skip("/mail/1", "not a message", "no headers")?;
        w.finish()?;
        assert_eq!(
            store.skip_reason("/mail/1")?.as_deref(),
            Some("not a message: no headers")
        );
        assert_eq!(store.skip_reason("/mail/2")?, None);
        assert_eq!(store.skips(10)?.len(), 1);
        assert_eq!(store.stats()?.skipped_inputs, 1);
        Ok(())
    }
}
