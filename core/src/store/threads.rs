//! Thread queries: thread lists, one thread as a reply tree, and the threads awaiting a reply.

use rusqlite::{OptionalExtension, Row, params, params_from_iter, types::Value};

use super::Store;
use crate::error::{Error, Result};
use crate::model::{AwaitingItem, ThreadDetail, ThreadMessage, ThreadSummary, WaitingOn};
use crate::query::{AwaitingQuery, ThreadQuery};
use crate::thread::{ThreadMember, TreeNode, build_tree};
use crate::time::{DAY, Timestamp};

impl Store {
    fn thread_participants(&self, thread_id: i64) -> Result<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT a.email FROM message m JOIN participant p ON p.message_id = m.id
                 JOIN address a ON a.id = p.address_id
                 WHERE m.thread_id = ?1 AND p.role = 'from'
                 GROUP BY a.id ORDER BY min(m.date) LIMIT 12",
            )?
            .query_map(params![thread_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn thread_summary_row(
        &self,
        r: &Row<'_>,
        now: i64,
        grace_days: i64,
    ) -> rusqlite::Result<ThreadSummary> {
        let last_direction: String = r.get(5)?;
        let last_counted: i64 = r.get(6)?;
        let waiting_on = match last_direction.as_str() {
            "inbound" => "me",
            "outbound" if last_counted <= now - grace_days * DAY => "them",
            _ => "",
        };
        Ok(ThreadSummary {
            id: r.get(0)?,
            subject: r.get(1)?,
            first_date: Timestamp(r.get(2)?),
            last_date: Timestamp(r.get(3)?),
            message_count: r.get(4)?,
            last_direction,
            waiting_on: waiting_on.into(),
            participants: Vec::new(),
        })
    }

    pub fn threads(&self, q: &ThreadQuery, now: i64) -> Result<Vec<ThreadSummary>> {
        let mut wheres = vec!["t.message_count > 0".to_string()];
        let mut args: Vec<Value> = Vec::new();
        if let Some(with) = &q.with {
            let contact = self.contact_id(with).ok();
            let address = self.find_address(with)?.map(|a| a.0);
            match (contact, address) {
                (Some(c), _) => {
                    args.push(Value::Integer(c));
                    wheres.push(format!(
                        "t.id IN (SELECT m.thread_id FROM address a JOIN participant p ON p.address_id = a.id
                                  JOIN message m ON m.id = p.message_id WHERE a.contact_id = ?{})",
                        args.len()
                    ));
                }
                (None, Some(a)) => {
                    args.push(Value::Integer(a));
                    wheres.push(format!(
                        "t.id IN (SELECT m.thread_id FROM participant p JOIN message m ON m.id = p.message_id
                                  WHERE p.address_id = ?{})",
                        args.len()
                    ));
                }
                (None, None) => return Err(Error::not_found("address", with.clone())),
            }
        }
        if let Some(since) = q.since {
            args.push(Value::Integer(since));
            wheres.push(format!("t.last_date >= ?{}", args.len()));
        }
        match q.waiting {
            Some(WaitingOn::Me) => wheres.push("t.last_direction = 'inbound'".into()),
            Some(WaitingOn::Them) => {
                args.push(Value::Integer(now - 3 * DAY));
                wheres.push(format!(
                    "t.last_direction = 'outbound' AND t.last_counted_date <= ?{}",
                    args.len()
                ));
            }
            None => {}
        }
        args.push(Value::Integer(q.limit as i64));
        let sql = format!(
            "SELECT t.id, t.subject, t.first_date, t.last_date, t.message_count, t.last_direction,
                    t.last_counted_date
             FROM thread t WHERE {} ORDER BY t.last_date DESC, t.id DESC LIMIT ?{}",
            wheres.join(" AND "),
            args.len()
        );
        let mut out = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(args))?;
            while let Some(r) = rows.next()? {
                out.push(self.thread_summary_row(r, now, 3)?);
            }
        }
        for t in &mut out {
            t.participants = self.thread_participants(t.id)?;
        }
        Ok(out)
    }

    /// The thread a message (by Message-ID) belongs to.
    pub fn thread_of_message(&self, message_id: &str) -> Result<i64> {
        let id = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        self.conn
            .prepare_cached("SELECT thread_id FROM node WHERE mid = ?1 AND message_id IS NOT NULL")?
            .query_row(params![id], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::not_found("message", message_id))
    }

    pub fn thread(&self, thread_id: i64, now: i64) -> Result<ThreadDetail> {
        let mut summary = self
            .conn
            .prepare_cached(
                "SELECT t.id, t.subject, t.first_date, t.last_date, t.message_count, t.last_direction,
                        t.last_counted_date
                 FROM thread t WHERE t.id = ?1",
            )?
            .query_row(params![thread_id], |r| self.thread_summary_row(r, now, 3))
            .optional()?
            .ok_or_else(|| Error::not_found("thread", thread_id.to_string()))?;
        summary.participants = self.thread_participants(thread_id)?;
        struct Row0 {
            id: i64,
            msg: ThreadMessage,
            member: ThreadMember,
        }
        let mut rows: Vec<Row0> = self
            .conn
            .prepare_cached(
                "SELECT m.id, m.key, m.date, coalesce(a.email, ''), coalesce(a.name, ''), m.subject,
                        m.direction, m.class, m.reply_to_mid, m.refs
                 FROM message m LEFT JOIN address a ON a.id = m.from_address_id
                 WHERE m.thread_id = ?1",
            )?
            .query_map(params![thread_id], |r| {
                let key: String = r.get(1)?;
                let date: i64 = r.get(2)?;
                let parent: String = r.get(8)?;
                let refs: String = r.get(9)?;
                Ok(Row0 {
                    id: r.get(0)?,
                    msg: ThreadMessage {
                        message_id: key.clone(),
                        date: Timestamp(date),
                        from: r.get(3)?,
                        from_name: r.get(4)?,
                        subject: r.get(5)?,
                        direction: r.get(6)?,
                        class: r.get(7)?,
                        depth: 0,
                    },
                    member: ThreadMember {
                        key,
                        ids: Vec::new(),
                        date,
                        parent_id: (!parent.is_empty()).then_some(parent),
                        references: refs.split(' ').filter(|s| !s.is_empty()).map(String::from).collect(),
                    },
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT mid FROM node WHERE message_id = ?1")?;
            for row in &mut rows {
                row.member.ids = stmt
                    .query_map(params![row.id], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
            }
        }
        let members: Vec<ThreadMember> = rows.iter().map(|r| r.member.clone()).collect();
        let tree = build_tree(&members);
        let mut messages = Vec::with_capacity(rows.len());
        fn walk(nodes: &[TreeNode], depth: usize, out: &mut Vec<(usize, usize)>) {
            for n in nodes {
                out.push((n.index, depth));
                walk(&n.children, depth + 1, out);
            }
        }
        let mut order = Vec::new();
        walk(&tree, 0, &mut order);
        for (i, depth) in order {
            let mut m = rows[i].msg.clone();
            m.depth = depth;
            messages.push(m);
        }
        Ok(ThreadDetail { summary, messages })
    }

    pub fn awaiting(&self, q: &AwaitingQuery) -> Result<Vec<AwaitingItem>> {
        let mut out = Vec::new();
        let oldest = if q.max_age_days > 0 {
            q.now - q.max_age_days * DAY
        } else {
            i64::MIN
        };
        if q.who != Some(WaitingOn::Them) {
            let mut stmt = self.conn.prepare_cached(
                "SELECT t.id, t.subject, t.last_counted_date, m.key, coalesce(a.email, ''), coalesce(a.name, '')
                 FROM thread t JOIN message m ON m.id = t.last_message_id
                 LEFT JOIN address a ON a.id = m.from_address_id
                 LEFT JOIN thread_mark k ON k.message_key = m.key
                 WHERE t.last_direction = 'inbound' AND t.last_counted_date >= ?1
                   AND coalesce(a.status, '') NOT IN ('blocked', 'identity')
                   AND (k.message_key IS NULL OR (k.state = 'snoozed' AND k.until <= ?3))
                 ORDER BY t.last_counted_date DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![oldest, q.limit as i64, q.now], |r| {
                awaiting_item(r, WaitingOn::Me, q.now)
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        if q.who != Some(WaitingOn::Me) {
            let mut stmt = self.conn.prepare_cached(
                "SELECT t.id, t.subject, t.last_counted_date, m.key,
                        coalesce(a.email, ''), coalesce(nullif(a.name, ''), '')
                 FROM thread t JOIN message m ON m.id = t.last_message_id
                 LEFT JOIN address a ON a.id = (
                     SELECT p.address_id FROM participant p JOIN address x ON x.id = p.address_id
                     WHERE p.message_id = m.id AND p.role IN ('to', 'cc') AND x.status <> 'identity'
                     ORDER BY p.role = 'cc', x.contact_id IS NULL, p.address_id LIMIT 1)
                 LEFT JOIN thread_mark k ON k.message_key = m.key
                 WHERE t.last_direction = 'outbound' AND t.last_counted_date <= ?1
                   AND t.last_counted_date >= ?2
                   AND (k.message_key IS NULL OR (k.state = 'snoozed' AND k.until <= ?4))
                 ORDER BY t.last_counted_date DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![
                    q.now - q.their_grace_days * DAY,
                    oldest,
                    q.limit as i64,
                    q.now
                ],
                |r| awaiting_item(r, WaitingOn::Them, q.now),
            )?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }
}

/// One awaiting-reply row: thread id, subject, the date the wait began, the last message's key,
/// and the contact's address and name (the columns both of `awaiting`'s queries select).
fn awaiting_item(
    r: &rusqlite::Row<'_>,
    side: WaitingOn,
    now: i64,
) -> rusqlite::Result<AwaitingItem> {
    let since: i64 = r.get(2)?;
    Ok(AwaitingItem {
        thread_id: r.get(0)?,
        subject: r.get(1)?,
        waiting_on: side,
        since: Timestamp(since),
        age_days: (now - since).max(0) / DAY,
        message_id: r.get(3)?,
        contact_email: r.get(4)?,
        contact_name: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_mail::{CAPTURED, Mail, my_store_with};
    use crate::error::Result;
    use crate::model::WaitingOn;
    use crate::query::{AwaitingQuery, ThreadQuery};

    #[test]
    fn a_thread_reads_as_a_reply_tree() -> Result<()> {
        let store = my_store_with(&[
            Mail::new("root@x", "Ann <ann@example.org>", "me@example.com").day(1),
            Mail::new("r1@x", "me@example.com", "ann@example.org")
                .day(2)
                .header("In-Reply-To: <root@x>"),
            Mail::new("r2@x", "Ann <ann@example.org>", "me@example.com")
                .day(3)
                .header("In-Reply-To: <r1@x>")
                .header("References: <root@x> <r1@x>"),
            Mail::new("side@x", "Bob <bob@example.net>", "me@example.com")
                .day(4)
                .header("In-Reply-To: <root@x>"),
        ])?;
        let id = store.thread_of_message("<r2@x>")?;
        let detail = store.thread(id, CAPTURED)?;
        let shape: Vec<(&str, usize)> = detail
            .messages
            .iter()
            .map(|m| (m.message_id.as_str(), m.depth))
            .collect();
        assert_eq!(
            shape,
            vec![("root@x", 0), ("r1@x", 1), ("r2@x", 2), ("side@x", 1)]
        );
        assert_eq!(detail.summary.message_count, 4);
        assert_eq!(detail.summary.waiting_on, "me");

        let listed = store.threads(&ThreadQuery::default(), CAPTURED)?;
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].participants,
            vec!["ann@example.org", "me@example.com", "bob@example.net"]
        );
        let with_bob = ThreadQuery {
            with: Some("bob@example.net".into()),
            ..ThreadQuery::default()
        };
        assert_eq!(store.threads(&with_bob, CAPTURED)?.len(), 1);

        let awaiting = store.awaiting(&AwaitingQuery::new(CAPTURED))?;
        assert_eq!(awaiting.len(), 1);
        assert_eq!(awaiting[0].waiting_on, WaitingOn::Me);
        assert_eq!(awaiting[0].message_id, "side@x");
        Ok(())
    }
}
