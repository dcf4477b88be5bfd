//! Linking: every Message-ID a message is known by (its own ids, aliases, and ghosts for
//! referenced messages not seen yet) is a node, and a thread is a connected component of nodes.
//! A message that links two threads merges them; a header-less reply may join a thread by
//! subject. The tree inside a thread is built at read time by `crate::thread`.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::write::{PreparedMessage, Writer};
use crate::error::Result;
use crate::mail::{Class, Role};

/// How far apart (seconds) a header-less reply and the message it answers may be for a subject
/// match to join them.
const SUBJECT_JOIN_WINDOW: i64 = 14 * 86_400;

#[derive(Debug, Clone, Copy)]
pub(super) struct NodeRow {
    id: i64,
    message_id: Option<i64>,
    thread_id: i64,
}

/// Nodes this writer has read or written, so that references to recent mail need no query.
#[derive(Default)]
pub(super) struct NodeCache {
    pub(super) nodes: HashMap<String, NodeRow>,
    /// Threads merged into another since the rows were cached.
    pub(super) merged: HashMap<i64, i64>,
    /// The cache holds every node of the database (it started empty and was never dropped), so
    /// a miss means "no such node" without asking.
    pub(super) complete: bool,
}

/// The node cache is dropped when it grows past this, keeping memory flat on huge imports.
const NODE_CACHE_LIMIT: usize = 200_000;

impl NodeCache {
    fn thread(&self, mut t: i64) -> i64 {
        while let Some(&next) = self.merged.get(&t) {
            t = next;
        }
        t
    }

    fn get(&self, mid: &str) -> Option<NodeRow> {
        self.nodes.get(mid).map(|n| NodeRow {
            thread_id: self.thread(n.thread_id),
            ..*n
        })
    }

    fn put(&mut self, mid: &str, row: NodeRow) {
        if self.nodes.len() >= NODE_CACHE_LIMIT {
            self.nodes.clear();
            self.merged.clear();
            self.complete = false;
        }
        self.nodes.insert(mid.to_string(), row);
    }
}

impl Writer<'_> {
    fn node(&mut self, mid: &str) -> Result<Option<NodeRow>> {
        if let Some(row) = self.node_cache.get(mid) {
            return Ok(Some(row));
        }
        if self.node_cache.complete {
            return Ok(None);
        }
        let row = self
            .conn
            .prepare_cached("SELECT id, message_id, thread_id FROM node WHERE mid = ?1")?
            .query_row(params![mid], |r| {
                Ok(NodeRow {
                    id: r.get(0)?,
                    message_id: r.get(1)?,
                    thread_id: r.get(2)?,
                })
            })
            .optional()?;
        if let Some(r) = row {
            self.node_cache.put(mid, r);
        }
        Ok(row)
    }

    /// Joins `threads` into one (the smallest id) and returns it; creates a thread when empty.
    pub(super) fn unify_threads(&mut self, threads: &mut Vec<i64>) -> Result<i64> {
        threads.sort_unstable();
        threads.dedup();
        let Some(&target) = threads.first() else {
            self.conn
                .prepare_cached("INSERT INTO thread (subject) VALUES ('')")?
                .execute([])?;
            let t = self.conn.last_insert_rowid();
            self.dirty_threads.insert(t);
            return Ok(t);
        };
        if threads.len() > 1 {
            // Merged threads may change whether list mail counts (the user wrote in one of them).
            let mut stmt = self.conn.prepare_cached(
                "SELECT DISTINCT p.address_id FROM message m JOIN participant p ON p.message_id = m.id
                 WHERE m.thread_id = ?1 AND m.class IN ('list', 'bulk')",
            )?;
            for &t in threads.iter() {
                for a in stmt.query_map(params![t], |r| r.get::<_, i64>(0))? {
                    self.dirty_addresses.insert(a?);
                }
            }
        }
        for &other in &threads[1..] {
            self.conn
                .prepare_cached("UPDATE node SET thread_id = ?1 WHERE thread_id = ?2")?
                .execute(params![target, other])?;
            self.conn
                .prepare_cached("UPDATE message SET thread_id = ?1 WHERE thread_id = ?2")?
                .execute(params![target, other])?;
            self.conn
                .prepare_cached("DELETE FROM thread WHERE id = ?1")?
                .execute(params![other])?;
            self.dirty_threads.remove(&other);
            self.node_cache.merged.insert(other, target);
        }
        self.dirty_threads.insert(target);
        Ok(target)
    }

    /// Threads of stored messages that a header-less reply (or the message it answers) joins by
    /// subject: same base subject, within the window, both person mail, and the two share a
    /// correspondent. List mail never joins by subject: lists thread by headers, and their
    /// subjects (`Re: [PATCH] ...`) collide too often.
    pub(super) fn subject_matches(&self, p: &PreparedMessage, ids: &[i64]) -> Result<Vec<i64>> {
        if p.base_subject.is_empty() || p.class != Some(Class::Person) {
            return Ok(Vec::new());
        }
        let with_role = |roles: &[Role]| -> Vec<i64> {
            p.participants
                .iter()
                .zip(ids)
                .filter(|(pp, _)| roles.contains(&pp.role))
                .map(|(_, id)| *id)
                .collect()
        };
        let from = with_role(&[Role::From]);
        let visible = with_role(&[Role::From, Role::To, Role::Cc]);
        let recipients = with_role(&[Role::To, Role::Cc]);
        // (message, thread, whether the stored one is the header-less reply)
        let mut candidates: Vec<(i64, i64, bool)> = Vec::new();
        {
            let (low, high) = if p.orphan_reply {
                (p.date - SUBJECT_JOIN_WINDOW, p.date + SUBJECT_JOIN_WINDOW)
            } else {
                (p.date, p.date + SUBJECT_JOIN_WINDOW)
            };
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, thread_id, orphan_reply, date FROM message
                 WHERE base_subject = ?1 AND date BETWEEN ?2 AND ?3 AND key <> ?4 AND class = 'person'",
            )?;
            let rows = stmt.query_map(params![p.base_subject, low, high, p.key], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            for row in rows {
                let (id, thread, orphan, date) = row?;
                if p.orphan_reply && date <= p.date {
                    candidates.push((id, thread, false));
                } else if orphan && date >= p.date {
                    candidates.push((id, thread, true));
                }
            }
        }
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut threads = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT address_id, role FROM participant WHERE message_id = ?1")?;
        for (id, thread, stored_is_reply) in candidates {
            let theirs: Vec<(i64, String)> = stmt
                .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let has = |ids: &[i64], roles: &[&str]| {
                theirs
                    .iter()
                    .any(|(a, role)| ids.contains(a) && roles.contains(&role.as_str()))
            };
            // The reply's sender was on the original, or the original's sender got the reply.
            let shares = if stored_is_reply {
                has(&visible, &["from"]) || has(&from, &["to", "cc"])
            } else {
                has(&from, &["from", "to", "cc"]) || has(&recipients, &["from"])
            };
            if shares {
                threads.push(thread);
            }
        }
        Ok(threads)
    }

    /// Looks up the message's own ids and references. Returns the own ids to write (with the
    /// ghost node each fills, if any), the references nobody has seen, and the stored message
    /// this one duplicates, if any.
    #[allow(clippy::type_complexity)]
    pub(super) fn link_ids(
        &mut self,
        p: &PreparedMessage,
        threads: &mut Vec<i64>,
    ) -> Result<(Vec<(String, Option<i64>)>, Vec<String>, Option<i64>)> {
        let mut existing = None;
        let mut own = Vec::with_capacity(p.own_ids.len());
        for id in &p.own_ids {
            match self.node(id)? {
                Some(n) => {
                    threads.push(n.thread_id);
                    match n.message_id {
                        // Already a stored message: this copy is a duplicate.
                        Some(m) => {
                            existing.get_or_insert(m);
                        }
                        // A ghost that this message now fills in.
                        None => own.push((id.clone(), Some(n.id))),
                    }
                }
                None => own.push((id.clone(), None)),
            }
        }
        let mut missing_refs = Vec::new();
        for r in &p.references {
            match self.node(r)? {
                Some(n) => threads.push(n.thread_id),
                None => missing_refs.push(r.clone()),
            }
        }
        Ok((own, missing_refs, existing))
    }

    pub(super) fn write_nodes(
        &mut self,
        message_id: i64,
        thread: i64,
        own: &[(String, Option<i64>)],
        missing_refs: &[String],
    ) -> Result<()> {
        for (mid, ghost) in own {
            match ghost {
                Some(node_id) => {
                    self.conn
                        .prepare_cached("UPDATE node SET message_id = ?1 WHERE id = ?2")?
                        .execute(params![message_id, node_id])?;
                    self.node_cache.put(
                        mid,
                        NodeRow {
                            id: *node_id,
                            message_id: Some(message_id),
                            thread_id: thread,
                        },
                    );
                }
                None => {
                    let inserted = self
                        .conn
                        .prepare_cached(
                            "INSERT OR IGNORE INTO node (mid, message_id, thread_id) VALUES (?1, ?2, ?3)",
                        )?
                        .execute(params![mid, message_id, thread])?;
                    if inserted > 0 {
                        let id = self.conn.last_insert_rowid();
                        self.node_cache.put(
                            mid,
                            NodeRow {
                                id,
                                message_id: Some(message_id),
                                thread_id: thread,
                            },
                        );
                    }
                }
            }
        }
        for r in missing_refs {
            let inserted = self
                .conn
                .prepare_cached("INSERT OR IGNORE INTO node (mid, thread_id) VALUES (?1, ?2)")?
                .execute(params![r, thread])?;
            if inserted > 0 {
                let id = self.conn.last_insert_rowid();
                self.node_cache.put(
                    r,
                    NodeRow {
                        id,
                        message_id: None,
                        thread_id: thread,
                    },
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_mail::{Mail, my_store_with, one, store_mails, store_with_me};
    use crate::error::Result;

    const ANN: &str = "Ann <ann@example.org>";
    const ME: &str = "me@example.com";

    #[test]
    fn a_reply_before_its_parent_leaves_a_ghost_that_the_parent_fills() -> Result<()> {
        let mut store = store_with_me()?;
        store_mails(
            &mut store,
            &[Mail::new("reply@x", ME, ANN).header("In-Reply-To: <parent@x>")],
        )?;
        let ghost: Option<i64> = one(
            &store,
            "SELECT message_id FROM node WHERE mid = 'parent@x'",
            [],
        )?;
        assert_eq!(ghost, None, "the unseen parent is a ghost node");

        store_mails(&mut store, &[Mail::new("parent@x", ANN, ME).day(1)])?;
        let filled: i64 = one(
            &store,
            "SELECT count(*) FROM node WHERE mid = 'parent@x' AND message_id IS NOT NULL",
            [],
        )?;
        assert_eq!(filled, 1);
        let threads: i64 = one(&store, "SELECT count(*) FROM thread", [])?;
        let in_one: i64 = one(&store, "SELECT count(DISTINCT thread_id) FROM message", [])?;
        assert_eq!((threads, in_one), (1, 1));
        Ok(())
    }

    #[test]
    fn a_message_referencing_two_threads_merges_them() -> Result<()> {
        let mut store = my_store_with(&[
            Mail::new("a@x", ANN, ME).subject("one"),
            Mail::new("b@x", ANN, ME).subject("two"),
        ])?;
        assert_eq!(one::<i64>(&store, "SELECT count(*) FROM thread", [])?, 2);
        store_mails(
            &mut store,
            &[Mail::new("c@x", ME, ANN)
                .day(3)
                .header("In-Reply-To: <b@x>")
                .header("References: <a@x> <b@x>")],
        )?;
        assert_eq!(one::<i64>(&store, "SELECT count(*) FROM thread", [])?, 1);
        let count: i64 = one(&store, "SELECT message_count FROM thread", [])?;
        assert_eq!(count, 3);
        Ok(())
    }

    #[test]
    fn a_header_less_reply_joins_by_subject_only_within_the_window() -> Result<()> {
        let store = my_store_with(&[
            Mail::new("orig@x", ANN, ME).subject("lunch").day(1),
            // Within 14 days, Ann on both: joins.
            Mail::new("near@x", ME, ANN).subject("Re: lunch").day(10),
            Mail::new("late-orig@x", ANN, ME).subject("dinner").day(1),
            // 20 days later: stays apart.
            Mail::new("far@x", ME, ANN).subject("Re: dinner").day(21),
        ])?;
        let thread_of = |id: &str| -> Result<i64> {
            one(&store, "SELECT thread_id FROM message WHERE key = ?1", [id])
        };
        assert_eq!(thread_of("orig@x")?, thread_of("near@x")?);
        assert_ne!(thread_of("late-orig@x")?, thread_of("far@x")?);
        Ok(())
    }
}
