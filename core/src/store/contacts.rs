//! Contact queries and contact settings: the overview, one contact with its addresses, name
//! history and timeline, neglected contacts, why an address is or is not a contact, and the
//! cadence and group settings the user gives contacts.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, params, params_from_iter, types::Value};

use super::settle::{COUNTED, REPLIES_MINE, REPLIES_THEIRS, median};
use super::{Store, ts};
use crate::error::{Error, Result};
use crate::model::{
    AddressInfo, ContactDetail, ContactSummary, Explanation, GroupInfo, MonthStats, NameUse,
    NeglectedItem, TimelineEntry,
};
use crate::query::{AwaitingQuery, ContactQuery, Flow};
use crate::time::{DAY, Timestamp};

/// The month after `YYYY-MM`.
fn next_month(month: &str) -> String {
    let (y, m) = month.split_once('-').unwrap_or((month, "12"));
    let (y, m) = (
        y.parse::<i32>().unwrap_or(9999),
        m.parse::<u32>().unwrap_or(12),
    );
    if m >= 12 {
        format!("{:04}-01", y + 1)
    } else {
        format!("{y:04}-{:02}", m + 1)
    }
}

const CONTACT_COLUMNS: &str =
    "c.id, c.name, a.email, c.group_name, c.first_contact, c.last_contact,
    c.last_inbound, c.last_outbound, c.inbound_count, c.outbound_count, c.thread_count,
    coalesce(c.cadence_days, g.cadence_days), c.created_at, c.snoozed_until";

const CONTACT_FROM: &str = "contact c JOIN address a ON a.id = c.primary_address_id
    LEFT JOIN contact_group g ON g.name = c.group_name AND c.group_name <> ''";

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
        snoozed_until: ts(r.get::<_, Option<i64>>(13)?.filter(|&until| until > now)),
    })
}

impl Store {
    /// The WHERE clause (with its arguments) of a contact query's filters.
    fn contact_filters(q: &ContactQuery) -> (String, Vec<Value>) {
        let mut wheres: Vec<String> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            // LIKE's wildcards in the text are taken literally.
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            args.push(Value::Text(format!("%{escaped}%")));
            let n = args.len();
            // One pass over the addresses, not a lookup per contact.
            wheres.push(format!(
                "(lower(c.name) LIKE ?{n} ESCAPE '\\' OR c.id IN (SELECT x.contact_id FROM address x
                  WHERE x.contact_id IS NOT NULL AND (x.email LIKE ?{n} ESCAPE '\\'
                                                      OR lower(x.name) LIKE ?{n} ESCAPE '\\')))"
            ));
        }
        if q.ungrouped {
            wheres.push("c.group_name = ''".into());
        }
        if let Some(class) = &q.class {
            args.push(Value::Text(class.clone()));
            wheres.push(format!(
                "EXISTS (SELECT 1 FROM address x JOIN participant p ON p.address_id = x.id
                         JOIN message m ON m.id = p.message_id
                         WHERE x.contact_id = c.id AND m.class = ?{})",
                args.len()
            ));
        }
        if let Some(first_since) = q.first_since {
            args.push(Value::Integer(first_since));
            wheres.push(format!("c.first_contact >= ?{}", args.len()));
        }
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
        (where_sql, args)
    }

    pub fn contacts(&self, q: &ContactQuery, now: i64) -> Result<Vec<ContactSummary>> {
        let (where_sql, mut args) = Self::contact_filters(q);
        args.push(Value::Integer(q.limit as i64));
        args.push(Value::Integer(q.offset as i64));
        // The page's ids first, from the contact rows and their primary address alone, then
        // the columns for those ids: a deep OFFSET skips rows without building them.
        let order = q.sort.order_by();
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM}
             WHERE c.id IN (SELECT c.id FROM contact c JOIN address a ON a.id = c.primary_address_id
                            {where_sql} ORDER BY {order} LIMIT ?{} OFFSET ?{})
             ORDER BY {order}",
            args.len() - 1,
            args.len()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args), |r| contact_row(r, now))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// How many contacts a query's filters match (its limit and offset aside).
    pub fn contacts_count(&self, q: &ContactQuery) -> Result<i64> {
        let (where_sql, args) = Self::contact_filters(q);
        let sql = format!("SELECT count(*) FROM {CONTACT_FROM} {where_sql}");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args), |r| r.get(0))?)
    }

    /// The address row for a user-typed address, if known: (id, key, contact id).
    pub(super) fn find_address(&self, address: &str) -> Result<Option<(i64, String, Option<i64>)>> {
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
        let monthly = self.monthly(id)?;
        Ok(ContactDetail {
            summary,
            addresses,
            name_history,
            median_reply_mine_secs: mine,
            median_reply_theirs_secs: theirs,
            open_threads,
            recent,
            monthly,
        })
    }

    /// A contact's months: messages each way (those its counts are made of) and the median
    /// reply time each way of the replies sent that month, every month from first to last.
    fn monthly(&self, contact_id: i64) -> Result<Vec<MonthStats>> {
        let sql = format!(
            "SELECT strftime('%Y-%m', date, 'unixepoch'),
                    count(*) FILTER (WHERE direction = 'inbound'),
                    count(*) FILTER (WHERE direction = 'outbound')
             FROM (SELECT DISTINCT m.id, m.date, m.direction
                   FROM address a JOIN participant p ON p.address_id = a.id
                   JOIN message m ON m.id = p.message_id JOIN thread t ON t.id = m.thread_id
                   WHERE a.contact_id = ?1 AND {COUNTED} AND (
                       (m.direction = 'inbound' AND p.role = 'from')
                    OR (m.direction = 'outbound' AND p.role IN ('to', 'cc', 'bcc'))))
             GROUP BY 1 ORDER BY 1"
        );
        let counts: BTreeMap<String, (i64, i64)> = self
            .conn
            .prepare_cached(&sql)?
            .query_map(params![contact_id], |r| {
                Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut replies: [BTreeMap<String, Vec<i64>>; 2] = Default::default();
        for (side, sql) in [REPLIES_MINE, REPLIES_THEIRS].into_iter().enumerate() {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![contact_id], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })?;
            for row in rows {
                let (secs, date) = row?;
                replies[side]
                    .entry(crate::time::format_iso(date)[..7].to_string())
                    .or_default()
                    .push(secs);
            }
        }
        let months = counts
            .keys()
            .chain(replies[0].keys())
            .chain(replies[1].keys());
        let (Some(first), Some(last)) = (months.clone().min().cloned(), months.max().cloned())
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut month = first;
        while month <= last {
            let (inbound, outbound) = counts.get(&month).copied().unwrap_or((0, 0));
            let mut median_of = |side: usize| {
                replies[side].get_mut(&month).and_then(|v| {
                    v.sort_unstable();
                    median(v)
                })
            };
            let mine = median_of(0);
            let theirs = median_of(1);
            out.push(MonthStats {
                month: month.clone(),
                inbound,
                outbound,
                median_reply_mine_secs: mine,
                median_reply_theirs_secs: theirs,
            });
            month = next_month(&month);
        }
        Ok(out)
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
                 ORDER BY m.date DESC, m.key DESC LIMIT ?2",
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

    pub fn neglected(&self, now: i64, limit: usize) -> Result<Vec<NeglectedItem>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM {CONTACT_FROM}
             WHERE coalesce(c.cadence_days, g.cadence_days) IS NOT NULL
               AND coalesce(c.last_contact, c.created_at) + coalesce(c.cadence_days, g.cadence_days) * 86400 < ?1
               AND coalesce(c.snoozed_until, 0) <= ?1
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

    /// Every group with its cadence, size, and how many of its contacts are past their
    /// cadence (as `neglected` counts them, snoozed ones aside).
    pub fn group_overview(&self, now: i64) -> Result<Vec<GroupInfo>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT n.name, g.cadence_days, count(c.id),
                        count(c.id) FILTER (WHERE coalesce(c.cadence_days, g.cadence_days) IS NOT NULL
                            AND coalesce(c.last_contact, c.created_at)
                                + coalesce(c.cadence_days, g.cadence_days) * 86400 < ?1
                            AND coalesce(c.snoozed_until, 0) <= ?1)
                 FROM (SELECT name FROM contact_group UNION SELECT group_name FROM contact WHERE group_name <> '') n
                 LEFT JOIN contact_group g ON g.name = n.name
                 LEFT JOIN contact c ON c.group_name = n.name
                 GROUP BY n.name ORDER BY n.name",
            )?
            .query_map(params![now], |r| {
                Ok(GroupInfo {
                    group: r.get(0)?,
                    cadence_days: r.get(1)?,
                    contacts: r.get(2)?,
                    overdue: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Puts every contact of `ids` in `group` (`""`: none) in one transaction; their groups
    /// before, in the same order.
    pub fn set_contact_groups(&mut self, ids: &[i64], group: &str) -> Result<Vec<String>> {
        let tx = self.conn.transaction()?;
        let mut previous = Vec::with_capacity(ids.len());
        {
            let mut get = tx.prepare_cached("SELECT group_name FROM contact WHERE id = ?1")?;
            let mut set = tx.prepare_cached("UPDATE contact SET group_name = ?2 WHERE id = ?1")?;
            for &id in ids {
                let before: String = get
                    .query_row(params![id], |r| r.get(0))
                    .optional()?
                    .ok_or_else(|| Error::not_found("contact", id.to_string()))?;
                set.execute(params![id, group])?;
                previous.push(before);
            }
        }
        tx.commit()?;
        Ok(previous)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_mail::{CAPTURED, Mail, my_store_with};
    use crate::error::{Error, Result};
    use crate::query::{ContactQuery, Flow};

    fn store() -> Result<super::Store> {
        let store = my_store_with(&[
            Mail::new("a@x", "me@example.com", "Ann <ann@example.org>").day(1),
            Mail::new("b@x", "Ann <ann@example.org>", "me@example.com")
                .day(2)
                .header("In-Reply-To: <a@x>"),
            Mail::new("c@x", "me@example.com", "Bob <bob@example.net>").day(3),
            // Received only: not a contact under the default policy.
            Mail::new("d@x", "Carol <carol@example.com>", "me@example.com").day(4),
        ])?;
        Ok(store)
    }

    #[test]
    fn contacts_are_listed_filtered_and_explained() -> Result<()> {
        let store = store()?;
        let all = store.contacts(&ContactQuery::default(), CAPTURED)?;
        let mut emails: Vec<&str> = all.iter().map(|c| c.email.as_str()).collect();
        emails.sort();
        assert_eq!(emails, vec!["ann@example.org", "bob@example.net"]);

        let two_way = ContactQuery {
            flow: Some(Flow::TwoWay),
            ..ContactQuery::default()
        };
        let ann = store.contacts(&two_way, CAPTURED)?;
        assert_eq!(ann.len(), 1);
        assert_eq!((ann[0].inbound_count, ann[0].outbound_count), (1, 1));

        let id = store.contact_id("ann@example.org")?;
        assert_eq!(store.contact_id(&id.to_string())?, id);
        assert_eq!(store.contact_emails(id)?, vec!["ann@example.org"]);
        assert_eq!(store.timeline(id, 10)?.len(), 2);
        assert!(matches!(
            store.contact_id("carol@example.com"),
            Err(Error::NotFound { .. })
        ));

        let carol = store.explain("carol@example.com")?;
        assert!(carol.known && !carol.is_contact);
        assert_eq!(carol.messages_from, 1);
        assert!(!store.explain("nobody@example.com")?.known);
        Ok(())
    }

    #[test]
    fn a_cadence_makes_a_quiet_contact_neglected() -> Result<()> {
        let mut store = store()?;
        let bob = store.contact_id("bob@example.net")?;
        assert!(store.neglected(CAPTURED, 10)?.is_empty());
        store.set_contact_cadence(bob, Some(7))?;
        let neglected = store.neglected(CAPTURED, 10)?;
        assert_eq!(neglected.len(), 1);
        assert_eq!(neglected[0].contact.email, "bob@example.net");
        // Last contact on 3 November at 10:00, due a week later; captured on 11 December.
        assert_eq!(neglected[0].overdue_days, 30);

        store.set_contact_cadence(bob, None)?;
        store.set_contact_group(bob, "friends")?;
        store.set_group_cadence("friends", Some(14))?;
        assert_eq!(store.neglected(CAPTURED, 10)?.len(), 1);
        let groups = store.group_overview(CAPTURED)?;
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (
                groups[0].group.as_str(),
                groups[0].cadence_days,
                groups[0].contacts
            ),
            ("friends", Some(14), 1)
        );
        Ok(())
    }

    #[test]
    fn filters_count_and_sort_new() -> Result<()> {
        let mut store = store()?;
        let q = |f: fn(&mut ContactQuery)| {
            let mut q = ContactQuery::default();
            f(&mut q);
            q
        };
        let emails = |store: &super::Store, q: &ContactQuery| -> Result<Vec<String>> {
            Ok(store
                .contacts(q, CAPTURED)?
                .into_iter()
                .map(|c| c.email)
                .collect())
        };
        assert_eq!(
            emails(&store, &q(|q| q.text = Some("ANN".into())))?,
            vec!["ann@example.org"]
        );
        assert_eq!(
            emails(&store, &q(|q| q.text = Some("example.net".into())))?,
            vec!["bob@example.net"]
        );
        assert!(
            emails(&store, &q(|q| q.text = Some("%".into())))?.is_empty(),
            "wildcards are literal"
        );
        assert_eq!(
            emails(&store, &q(|q| q.sort = crate::query::ContactSort::Newest))?,
            vec!["bob@example.net", "ann@example.org"]
        );
        assert_eq!(store.contacts_count(&q(|q| q.limit = 1))?, 2, "limit aside");
        assert_eq!(
            store.contacts_count(&q(|q| q.class = Some("bulk".into())))?,
            0
        );
        assert_eq!(
            store.contacts_count(&q(|q| q.class = Some("person".into())))?,
            2
        );

        let ann = store.contact_id("ann@example.org")?;
        let bob = store.contact_id("bob@example.net")?;
        assert_eq!(
            store.set_contact_groups(&[ann, bob], "clients")?,
            vec!["", ""]
        );
        assert_eq!(store.contacts_count(&q(|q| q.ungrouped = true))?, 0);
        assert_eq!(store.set_contact_groups(&[ann], "")?, vec!["clients"]);
        assert_eq!(
            emails(&store, &q(|q| q.ungrouped = true))?,
            vec!["ann@example.org"]
        );
        // An unknown contact changes nothing: the transaction is rolled back.
        assert!(store.set_contact_groups(&[bob, 999_999], "").is_err());
        assert_eq!(store.contact_summary(bob, CAPTURED)?.group, "clients");
        Ok(())
    }

    #[test]
    fn months_and_groups_overview() -> Result<()> {
        let mut store = store()?;
        let ann = store.contact("ann@example.org", CAPTURED)?;
        assert_eq!(ann.monthly.len(), 1);
        let m = &ann.monthly[0];
        assert_eq!((m.month.as_str(), m.inbound, m.outbound), ("2026-11", 1, 1));
        assert_eq!(m.median_reply_theirs_secs, ann.median_reply_theirs_secs);
        assert_eq!(super::next_month("2026-12"), "2027-01");
        assert_eq!(super::next_month("2026-09"), "2026-10");

        let bob = store.contact_id("bob@example.net")?;
        store.set_contact_group(bob, "friends")?;
        store.set_group_cadence("friends", Some(7))?;
        let groups = store.group_overview(CAPTURED)?;
        assert_eq!(groups.len(), 1);
        assert_eq!((groups[0].contacts, groups[0].overdue), (1, 1));
        store.snooze_contact(bob, Some(CAPTURED + 86_400))?;
        assert_eq!(store.group_overview(CAPTURED)?[0].overdue, 0);
        Ok(())
    }
}
