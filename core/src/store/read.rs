//! Reads: every query Rapport answers, over the aggregates that ingest keeps current.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, params, params_from_iter, types::Value};

use super::Store;
use crate::error::{Error, Result};
use crate::model::{
    AddressInfo, AwaitingItem, ContactDetail, ContactSummary, Explanation, Identity, NameUse,
    NeglectedItem, Rule, SearchHit, SkipRecord, Stats, ThreadDetail, ThreadMessage, ThreadSummary,
    TimelineEntry, WaitingOn,
};
use crate::query::{AwaitingQuery, ContactQuery, Flow, ThreadQuery};
use crate::thread::{ThreadMember, TreeNode, build_tree};
use crate::time::{DAY, Timestamp};

const CONTACT_COLUMNS: &str =
    "c.id, c.name, a.email, c.group_name, c.first_contact, c.last_contact,
    c.last_inbound, c.last_outbound, c.inbound_count, c.outbound_count, c.thread_count,
    coalesce(c.cadence_days, g.cadence_days), c.created_at";

const CONTACT_FROM: &str = "contact c JOIN address a ON a.id = c.primary_address_id
    LEFT JOIN contact_group g ON g.name = c.group_name AND c.group_name <> ''";

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

fn contact_row(r: &Row<'_>, now: i64) -> rusqlite::Result<ContactSummary> {
    let last_contact: Option<i64> = r.get(5)?;
    let cadence: Option<i64> = r.get(11)?;
    let created: i64 = r.get(12)?;
    let due = cadence.map(|days| last_contact.unwrap_or(created) + days * DAY);
    Ok(ContactSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        group: r.get(3)?,
        first_contact: ts(r.get(4)?),
        last_contact: ts(last_contact),
        last_inbound: ts(r.get(6)?),
        last_outbound: ts(r.get(7)?),
        inbound_count: r.get(8)?,
        outbound_count: r.get(9)?,
        thread_count: r.get(10)?,
        cadence_days: cadence,
        due: ts(due),
        neglected: due.is_some_and(|d| d < now),
    })
}

/// Escapes free text for an FTS5 MATCH: every word becomes a quoted prefix query.
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == '@' || c == '.' || c == '"')
        .filter(|t| !t.is_empty())
        .map(|t| format!("\"{}\"*", t.replace('"', "")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl Store {
    pub fn stats(&self) -> Result<Stats> {
        let c = &self.conn;
        let one = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
        let mut by_class = BTreeMap::new();
        let mut stmt = c.prepare("SELECT class, count(*) FROM message GROUP BY class")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (k, v) = row?;
            by_class.insert(k, v);
        }
        let mut by_direction = BTreeMap::new();
        let mut stmt = c.prepare("SELECT direction, count(*) FROM message GROUP BY direction")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (k, v) = row?;
            by_direction.insert(k, v);
        }
        let (first, last): (Option<i64>, Option<i64>) =
            c.query_row("SELECT min(date), max(date) FROM message", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok(Stats {
            messages: one("SELECT count(*) FROM message")?,
            threads: one("SELECT count(*) FROM thread WHERE message_count > 0")?,
            contacts: one("SELECT count(*) FROM contact")?,
            addresses: one(
                "SELECT count(DISTINCT address_id) FROM participant WHERE role IN ('from', 'to', 'cc')",
            )?,
            sources: one("SELECT count(*) FROM source")?,
            identities: one("SELECT count(*) FROM identity WHERE confirmed = 1")?,
            skipped_inputs: one("SELECT count(*) FROM skip")?,
            by_class,
            by_direction,
            first_date: ts(first),
            last_date: ts(last),
        })
    }

    pub fn contacts(&self, q: &ContactQuery, now: i64) -> Result<Vec<ContactSummary>> {
        let mut wheres: Vec<String> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(domain) = &q.domain {
            let d = domain.trim().trim_start_matches('@').to_lowercase();
            args.push(Value::Text(d.clone()));
            args.push(Value::Text(format!("%.{d}")));
            wheres.push(format!(
                "EXISTS (SELECT 1 FROM address x WHERE x.contact_id = c.id AND (x.domain = ?{} OR x.domain LIKE ?{}))",
                args.len() - 1,
                args.len()
            ));
        }
        if let Some(group) = &q.group {
            args.push(Value::Text(group.clone()));
            wheres.push(format!("c.group_name = ?{}", args.len()));
        }
        if let Some(since) = q.since {
            args.push(Value::Integer(since));
            wheres.push(format!("c.last_contact >= ?{}", args.len()));
        }
        if let Some(until) = q.until {
            args.push(Value::Integer(until));
            wheres.push(format!("c.last_contact < ?{}", args.len()));
        }
        if q.min_messages > 0 {
            args.push(Value::Integer(q.min_messages));
            wheres.push(format!(
                "c.inbound_count + c.outbound_count >= ?{}",
                args.len()
            ));
        }
        match q.flow {
            Some(Flow::TwoWay) => {
                wheres.push("c.inbound_count > 0 AND c.outbound_count > 0".into())
            }
            Some(Flow::SentOnly) => {
                wheres.push("c.inbound_count = 0 AND c.outbound_count > 0".into())
            }
            Some(Flow::ReceivedOnly) => {
                wheres.push("c.inbound_count > 0 AND c.outbound_count = 0".into())
            }
            None => {}
        }
        let where_sql = if wheres.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", wheres.join(" AND "))
        };
        args.push(Value::Integer(q.limit as i64));
        args.push(Value::Integer(q.offset as i64));
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM} {where_sql}
             ORDER BY {} LIMIT ?{} OFFSET ?{}",
            q.sort.order_by(),
            args.len() - 1,
            args.len()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), |r| contact_row(r, now))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The address row for a user-typed address, if known: (id, key, contact id).
    fn find_address(&self, address: &str) -> Result<Option<(i64, String, Option<i64>)>> {
        let Some(norm) = crate::mail::normalize_address(address) else {
            return Err(Error::InvalidInput(format!(
                "'{address}' is not an email address"
            )));
        };
        Ok(self
            .conn
            .prepare_cached("SELECT id, key, contact_id FROM address WHERE key = ?1")?
            .query_row(params![norm.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    /// The contact id behind an address or a numeric contact id.
    pub fn contact_id(&self, address_or_id: &str) -> Result<i64> {
        if let Ok(id) = address_or_id.trim().parse::<i64>() {
            let exists = self
                .conn
                .prepare_cached("SELECT 1 FROM contact WHERE id = ?1")?
                .exists(params![id])?;
            return if exists {
                Ok(id)
            } else {
                Err(Error::not_found("contact", address_or_id))
            };
        }
        match self.find_address(address_or_id)? {
            Some((_, _, Some(c))) => Ok(c),
            Some((_, _, None)) => Err(Error::not_found(
                "contact",
                format!(
                    "{address_or_id} (known address, but not a contact: see `rapport explain`)"
                ),
            )),
            None => Err(Error::not_found("contact", address_or_id)),
        }
    }

    pub fn contact_summary(&self, id: i64, now: i64) -> Result<ContactSummary> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM} WHERE c.id = ?1");
        self.conn
            .prepare_cached(&sql)?
            .query_row(params![id], |r| contact_row(r, now))
            .optional()?
            .ok_or_else(|| Error::not_found("contact", id.to_string()))
    }

    pub fn contact(&self, address_or_id: &str, now: i64) -> Result<ContactDetail> {
        let id = self.contact_id(address_or_id)?;
        let summary = self.contact_summary(id, now)?;
        let addresses = self
            .conn
            .prepare_cached(
                "SELECT email, name, status, reason FROM address WHERE contact_id = ?1 ORDER BY last_seen DESC",
            )?
            .query_map(params![id], |r| {
                Ok(AddressInfo {
                    email: r.get(0)?,
                    name: r.get(1)?,
                    status: r.get(2)?,
                    reason: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let name_history = self
            .conn
            .prepare_cached(
                "SELECT n.name, min(n.first_seen), max(n.last_seen), sum(n.uses)
                 FROM address_name n JOIN address a ON a.id = n.address_id
                 WHERE a.contact_id = ?1 GROUP BY n.name ORDER BY max(n.last_seen) DESC",
            )?
            .query_map(params![id], |r| {
                Ok(NameUse {
                    name: r.get(0)?,
                    first_seen: Timestamp(r.get(1)?),
                    last_seen: Timestamp(r.get(2)?),
                    uses: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (mine, theirs): (Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT median_reply_mine, median_reply_theirs FROM contact WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut open_threads = self.awaiting(&AwaitingQuery {
            limit: 20,
            ..AwaitingQuery::new(now)
        })?;
        let emails: Vec<String> = addresses.iter().map(|a| a.email.to_lowercase()).collect();
        open_threads.retain(|t| emails.contains(&t.contact_email.to_lowercase()));
        let recent = self.timeline(id, 10)?;
        Ok(ContactDetail {
            summary,
            addresses,
            name_history,
            median_reply_mine_secs: mine,
            median_reply_theirs_secs: theirs,
            open_threads,
            recent,
        })
    }

    /// A contact's messages, newest first.
    pub fn timeline(&self, contact_id: i64, limit: usize) -> Result<Vec<TimelineEntry>> {
        let rows = self
            .conn
            .prepare_cached(
                "SELECT m.date, m.direction, m.class, m.subject, m.thread_id, m.key, coalesce(fa.email, '')
                 FROM message m LEFT JOIN address fa ON fa.id = m.from_address_id
                 WHERE m.id IN (SELECT p.message_id FROM address a JOIN participant p ON p.address_id = a.id
                                WHERE a.contact_id = ?1)
                 ORDER BY m.date DESC, m.id DESC LIMIT ?2",
            )?
            .query_map(params![contact_id, limit as i64], |r| {
                Ok(TimelineEntry {
                    date: Timestamp(r.get(0)?),
                    direction: r.get(1)?,
                    class: r.get(2)?,
                    subject: r.get(3)?,
                    thread_id: r.get(4)?,
                    message_id: r.get(5)?,
                    from: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

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
                 WHERE t.last_direction = 'inbound' AND t.last_counted_date >= ?1
                   AND coalesce(a.status, '') NOT IN ('blocked', 'identity')
                 ORDER BY t.last_counted_date DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![oldest, q.limit as i64], |r| {
                let since: i64 = r.get(2)?;
                Ok(AwaitingItem {
                    thread_id: r.get(0)?,
                    subject: r.get(1)?,
                    waiting_on: WaitingOn::Me,
                    since: Timestamp(since),
                    age_days: (q.now - since).max(0) / DAY,
                    message_id: r.get(3)?,
                    contact_email: r.get(4)?,
                    contact_name: r.get(5)?,
                })
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
                 WHERE t.last_direction = 'outbound' AND t.last_counted_date <= ?1
                   AND t.last_counted_date >= ?2
                 ORDER BY t.last_counted_date DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![q.now - q.their_grace_days * DAY, oldest, q.limit as i64],
                |r| {
                    let since: i64 = r.get(2)?;
                    Ok(AwaitingItem {
                        thread_id: r.get(0)?,
                        subject: r.get(1)?,
                        waiting_on: WaitingOn::Them,
                        since: Timestamp(since),
                        age_days: (q.now - since).max(0) / DAY,
                        message_id: r.get(3)?,
                        contact_email: r.get(4)?,
                        contact_name: r.get(5)?,
                    })
                },
            )?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    pub fn neglected(&self, now: i64, limit: usize) -> Result<Vec<NeglectedItem>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM}
             WHERE coalesce(c.cadence_days, g.cadence_days) IS NOT NULL
               AND coalesce(c.last_contact, c.created_at) + coalesce(c.cadence_days, g.cadence_days) * 86400 < ?1
             ORDER BY coalesce(c.last_contact, c.created_at) + coalesce(c.cadence_days, g.cadence_days) * 86400
             LIMIT ?2"
        );
        let rows = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![now, limit as i64], |r| contact_row(r, now))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|contact| {
                let overdue = contact.due.map_or(0, |d| (now - d.0).max(0) / DAY);
                NeglectedItem {
                    contact,
                    overdue_days: overdue,
                }
            })
            .collect())
    }

    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let Some(fts) = fts_query(text) else {
            return Err(Error::InvalidInput("the search text is empty".into()));
        };
        let mut hits = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.email, a.name, a.status, a.reason, a.last_seen
             FROM address_fts f JOIN address a ON a.id = f.rowid
             WHERE address_fts MATCH ?1
             ORDER BY a.contact_id IS NULL, a.last_seen DESC LIMIT ?2",
        )?;
        for row in stmt.query_map(params![fts, limit as i64], |r| {
            let email: String = r.get(0)?;
            let name: String = r.get(1)?;
            let status: String = r.get(2)?;
            let reason: String = r.get(3)?;
            let last: i64 = r.get(4)?;
            Ok(SearchHit {
                kind: if status == "contact" {
                    "contact"
                } else {
                    "address"
                }
                .into(),
                title: if name.is_empty() {
                    email.clone()
                } else {
                    format!("{name} <{email}>")
                },
                detail: reason,
                date: (last > 0).then_some(Timestamp(last)),
                thread_id: None,
                email: Some(email),
            })
        })? {
            hits.push(row?);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.subject, m.date, m.thread_id, coalesce(a.email, '')
             FROM message_fts f JOIN message m ON m.id = f.rowid
             LEFT JOIN address a ON a.id = m.from_address_id
             WHERE message_fts MATCH ?1 ORDER BY m.date DESC LIMIT ?2",
        )?;
        for row in stmt.query_map(params![fts, limit as i64], |r| {
            let from: String = r.get(3)?;
            Ok(SearchHit {
                kind: "message".into(),
                title: r.get(0)?,
                detail: format!("from {from}"),
                date: Some(Timestamp(r.get(1)?)),
                thread_id: Some(r.get(2)?),
                email: Some(from),
            })
        })? {
            hits.push(row?);
        }
        Ok(hits)
    }

    pub fn explain(&self, address: &str) -> Result<Explanation> {
        let norm = crate::mail::normalize_address(address)
            .ok_or_else(|| Error::InvalidInput(format!("'{address}' is not an email address")))?;
        let policy = self.policy()?;
        let is_identity = self
            .conn
            .prepare_cached("SELECT 1 FROM identity WHERE key = ?1 AND confirmed = 1")?
            .exists(params![norm.key])?;
        let row: Option<(i64, String, String, Option<i64>)> = self
            .conn
            .prepare_cached("SELECT id, status, reason, contact_id FROM address WHERE key = ?1")?
            .query_row(params![norm.key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        let Some((id, status, reason, contact_id)) = row else {
            return Ok(Explanation {
                address: norm.email,
                key: norm.key,
                known: false,
                is_contact: false,
                is_identity,
                status: "unknown".into(),
                reason: "never seen in any stored message".into(),
                policy,
                messages_from: 0,
                messages_to: 0,
                by_class: BTreeMap::new(),
                contact_id: None,
            });
        };
        let mut by_class = BTreeMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.class, count(DISTINCT m.id) FROM participant p JOIN message m ON m.id = p.message_id
             WHERE p.address_id = ?1 AND p.role = 'from' GROUP BY m.class",
        )?;
        for row in stmt.query_map(params![id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (k, v) = row?;
            by_class.insert(k, v);
        }
        let (from, to): (i64, i64) = self.conn.query_row(
            "SELECT count(DISTINCT message_id) FILTER (WHERE role = 'from'),
                    count(DISTINCT message_id) FILTER (WHERE role IN ('to', 'cc', 'bcc'))
             FROM participant WHERE address_id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Explanation {
            address: norm.email,
            key: norm.key,
            known: true,
            is_contact: contact_id.is_some(),
            is_identity,
            status,
            reason,
            policy,
            messages_from: from,
            messages_to: to,
            by_class,
            contact_id,
        })
    }

    pub fn identities(&self) -> Result<Vec<Identity>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT email, origin, confirmed, account, seen FROM identity ORDER BY confirmed DESC, seen DESC, email",
            )?
            .query_map([], |r| {
                Ok(Identity {
                    email: r.get(0)?,
                    origin: r.get(1)?,
                    confirmed: r.get(2)?,
                    account: r.get(3)?,
                    seen: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn rules(&self) -> Result<Vec<Rule>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, action, pattern FROM rule ORDER BY id")?
            .query_map([], |r| {
                Ok(Rule {
                    id: r.get(0)?,
                    action: r.get(1)?,
                    pattern: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
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

    /// Every address of a contact, primary first.
    pub fn contact_emails(&self, contact_id: i64) -> Result<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT a.email FROM address a JOIN contact c ON c.id = a.contact_id
                 WHERE a.contact_id = ?1 ORDER BY a.id <> c.primary_address_id, a.last_seen DESC",
            )?
            .query_map(params![contact_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Every message key with its sources, for export and audits.
    pub fn message_keys_for_source(
        &self,
        kind: &str,
        account: &str,
        folder: &str,
    ) -> Result<Vec<(String, String)>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT s.external_id, m.key FROM source s JOIN message m ON m.id = s.message_id
                 WHERE s.kind = ?1 AND s.account = ?2 AND s.folder = ?3",
            )?
            .query_map(params![kind, account, folder], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

/// Reads about inputs that were not stored.
impl Store {
    /// Whether a skip was recorded for this input location, and why.
    pub fn skip_reason(&self, location: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT reason || ': ' || detail FROM skip WHERE location = ?1")?
            .query_row(params![location], |r| r.get(0))
            .optional()?)
    }
}

/// Identity, rule, policy and contact-setting writes: small, each its own transaction, and each
/// followed by the recomputation it implies.
impl Store {
    pub fn add_identity(&mut self, key: &str, email: &str, account: &str) -> Result<bool> {
        let changed = self.conn.execute(
            "INSERT INTO identity (key, email, origin, confirmed, account) VALUES (?1, ?2, 'configured', 1, ?3)
             ON CONFLICT (key) DO UPDATE SET confirmed = 1, origin = 'configured'
             WHERE identity.confirmed = 0",
            params![key, email, account],
        )?;
        Ok(changed > 0)
    }

    pub fn remove_identity(&mut self, key: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM identity WHERE key = ?1", params![key])?
            > 0)
    }

    pub fn add_rule(&mut self, action: &str, pattern: &str, now: i64) -> Result<bool> {
        Ok(self.conn.execute(
            "INSERT OR IGNORE INTO rule (action, pattern, created_at) VALUES (?1, ?2, ?3)",
            params![action, pattern, now],
        )? > 0)
    }

    pub fn remove_rule(&mut self, pattern_or_id: &str) -> Result<Vec<String>> {
        let removed: Vec<String> = self
            .conn
            .prepare(
                "DELETE FROM rule WHERE pattern = ?1 OR CAST(id AS TEXT) = ?1 RETURNING pattern",
            )?
            .query_map(params![pattern_or_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(removed)
    }

    pub fn set_contact_cadence(&mut self, contact_id: i64, days: Option<i64>) -> Result<()> {
        self.conn.execute(
            "UPDATE contact SET cadence_days = ?2 WHERE id = ?1",
            params![contact_id, days],
        )?;
        Ok(())
    }

    pub fn set_contact_group(&mut self, contact_id: i64, group: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE contact SET group_name = ?2 WHERE id = ?1",
            params![contact_id, group],
        )?;
        Ok(())
    }

    pub fn set_group_cadence(&mut self, group: &str, days: Option<i64>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO contact_group (name, cadence_days) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET cadence_days = excluded.cadence_days",
            params![group, days],
        )?;
        Ok(())
    }

    pub fn groups(&self) -> Result<Vec<(String, Option<i64>, i64)>> {
        Ok(self
            .conn
            .prepare(
                "SELECT n.name, g.cadence_days, (SELECT count(*) FROM contact c WHERE c.group_name = n.name)
                 FROM (SELECT name FROM contact_group UNION SELECT group_name FROM contact WHERE group_name <> '') n
                 LEFT JOIN contact_group g ON g.name = n.name ORDER BY n.name",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
