//! People: addresses and their display names, the participants of each message, the direction
//! a message takes from the user's identities, and the identities and rules themselves.

use rusqlite::{OptionalExtension, params};

use super::Store;
use super::write::{PreparedMessage, Writer};
use crate::error::Result;
use crate::mail::{Direction, Role};
use crate::model::{Identity, Rule};
use crate::policy::direction;

/// The address-id cache is dropped when it grows past this, keeping memory flat on huge imports.
const ADDRESS_CACHE_LIMIT: usize = 200_000;

/// `INSERT` statements for one to eight participant rows (built once, not per message).
static PARTICIPANT_INSERTS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    (1..=8)
        .map(|n| {
            format!(
                "INSERT OR IGNORE INTO participant (message_id, address_id, role, name) VALUES {}",
                vec!["(?, ?, ?, ?)"; n].join(", ")
            )
        })
        .collect()
});

/// One participant row as a copy of a message would write it.
struct ParticipantRow<'a> {
    address_id: i64,
    role: &'static str,
    key: &'a str,
    /// The display name, or '' when the copy gives none.
    name: &'a str,
}

/// A copy's participants, each (address, role) once: the first name a header gives it wins
/// (`To: Ann <a@x>, A. <a@x>` is one row), so rows and name uses agree.
fn unique_participants<'a>(p: &'a PreparedMessage, ids: &[i64]) -> Vec<ParticipantRow<'a>> {
    let mut rows: Vec<ParticipantRow<'a>> = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashSet::new();
    for (pp, &address_id) in p.participants.iter().zip(ids) {
        let role = pp.role.as_str();
        // A linear look is cheaper than hashing for the usual handful of participants.
        let repeated = if ids.len() <= 16 {
            rows.iter()
                .any(|r| r.address_id == address_id && r.role == role)
        } else {
            !seen.insert((address_id, role))
        };
        if !repeated {
            rows.push(ParticipantRow {
                address_id,
                role,
                key: &pp.key,
                name: pp.name.as_deref().unwrap_or(""),
            });
        }
    }
    rows
}

/// How much a written form of an address is preferred for display (smaller is better): one
/// without a `+tag`, then one without capitals, then the first in byte order.
fn form_rank(email: &str) -> (bool, bool, &str) {
    let local = email.split('@').next().unwrap_or(email);
    (
        local.contains('+'),
        email.chars().any(char::is_uppercase),
        email,
    )
}

impl Writer<'_> {
    /// The row of a normalised address, created on first sight. One address can be written in
    /// several forms (`Ann@x`, `ann@x`; Gmail's dots and `+tags`): the stored form is the one
    /// [`form_rank`] prefers, so that it does not depend on the order mail arrives in.
    pub(super) fn address_id(&mut self, key: &str, email: &str, domain: &str) -> Result<i64> {
        if let Some((id, form)) = self.address_ids.get(key) {
            let id = *id;
            if form_rank(email) < form_rank(form) {
                self.reform_address(id, email)?;
                self.address_ids
                    .insert(key.to_string(), (id, email.to_string()));
            }
            return Ok(id);
        }
        if self.address_ids.len() >= ADDRESS_CACHE_LIMIT {
            self.address_ids.clear();
        }
        let found: Option<(i64, String)> = self
            .conn
            .prepare_cached("SELECT id, email FROM address WHERE key = ?1")?
            .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (id, form) = match found {
            Some((id, form)) if form_rank(email) < form_rank(&form) => {
                self.reform_address(id, email)?;
                (id, email.to_string())
            }
            Some(found) => found,
            None => {
                self.conn
                    .prepare_cached("INSERT INTO address (key, email, domain) VALUES (?1, ?2, ?3)")?
                    .execute(params![key, email, domain])?;
                let id = self.conn.last_insert_rowid();
                // Its search row is written once, with its name, when the writer settles.
                self.new_addresses.insert(id);
                (id, email.to_string())
            }
        };
        self.address_ids.insert(key.to_string(), (id, form));
        Ok(id)
    }

    /// Stores a smaller written form of an address, and its search row with it (an address
    /// created by this writer gets its search row when the writer settles).
    fn reform_address(&self, id: i64, email: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE address SET email = ?2 WHERE id = ?1")?
            .execute(params![id, email])?;
        self.conn
            .prepare_cached("UPDATE address_fts SET email = ?2 WHERE rowid = ?1")?
            .execute(params![id, email])?;
        Ok(())
    }

    pub(super) fn direction_of(&self, p: &PreparedMessage) -> Direction {
        let from = p
            .participants
            .iter()
            .find(|pp| pp.role == Role::From)
            .map(|pp| pp.key.as_str());
        let recipients: Vec<&str> = p
            .participants
            .iter()
            .filter(|pp| pp.role.is_recipient())
            .map(|pp| pp.key.as_str())
            .collect();
        direction(from, &recipients, &self.identities)
    }

    /// Writes the participant rows of one copy of a message. A new message (`fresh`) gets every
    /// row; a further copy adds only the rows it has and the stored copy lacks. Each row keeps
    /// the display name it was written with, and its addresses become dirty.
    pub(super) fn write_participants(
        &mut self,
        message_id: i64,
        p: &PreparedMessage,
        ids: &[i64],
        fresh: bool,
    ) -> Result<()> {
        let rows = unique_participants(p, ids);
        let mut inserted = vec![true; rows.len()];
        if fresh {
            // One statement for up to eight rows: most messages have fewer participants, and
            // one statement per row is a large part of ingest time.
            for chunk in rows.chunks(8) {
                let sql = PARTICIPANT_INSERTS
                    .get(chunk.len() - 1)
                    .ok_or_else(|| crate::error::Error::Internal("participant chunk".into()))?;
                let mut stmt = self.conn.prepare_cached(sql)?;
                let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk.len() * 4);
                for row in chunk {
                    values.push(&message_id);
                    values.push(&row.address_id);
                    values.push(&row.role);
                    values.push(&row.name);
                }
                stmt.execute(values.as_slice())?;
            }
        } else {
            let mut stmt = self.conn.prepare_cached(
                "INSERT OR IGNORE INTO participant (message_id, address_id, role, name)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (i, row) in rows.iter().enumerate() {
                inserted[i] =
                    stmt.execute(params![message_id, row.address_id, row.role, row.name])? > 0;
            }
        }
        for (row, _) in rows
            .iter()
            .zip(&inserted)
            .filter(|(_, inserted)| **inserted)
        {
            self.dirty_addresses.insert(row.address_id);
            if self.identities.contains(row.key) {
                let seen = self
                    .own_seen
                    .entry(row.address_id)
                    .or_insert((p.date, p.date));
                seen.0 = seen.0.min(p.date);
                seen.1 = seen.1.max(p.date);
            }
            if !row.name.is_empty() {
                let e = self
                    .names
                    .entry((row.address_id, row.name.to_string()))
                    .or_insert((p.date, p.date, 0));
                e.0 = e.0.min(p.date);
                e.1 = e.1.max(p.date);
                e.2 += 1;
            }
        }
        for (key, email, domain) in &p.list_addresses {
            if self.list_marked.insert(key.clone()) {
                let aid = self.address_id(key, email, domain)?;
                let changed = self
                    .conn
                    .prepare_cached("UPDATE address SET is_list = 1 WHERE id = ?1 AND is_list = 0")?
                    .execute(params![aid])?;
                if changed > 0 {
                    self.dirty_addresses.insert(aid);
                }
            }
        }
        Ok(())
    }

    /// Gives the stored rows of a message the display names of the copy that now wins (see
    /// `Writer::ingest`), and marks every name use whose count or dates that changes to be
    /// counted again from the rows, so the history never depends on which copy came first.
    pub(super) fn adopt_participant_names(
        &mut self,
        message_id: i64,
        p: &PreparedMessage,
        ids: &[i64],
        date_changed: bool,
    ) -> Result<()> {
        for row in unique_participants(p, ids) {
            let stored: Option<String> = self
                .conn
                .prepare_cached(
                    "SELECT name FROM participant WHERE message_id = ?1 AND address_id = ?2 AND role = ?3",
                )?
                .query_row(params![message_id, row.address_id, row.role], |r| r.get(0))
                .optional()?;
            let Some(stored) = stored.filter(|stored| stored != row.name) else {
                continue;
            };
            self.conn
                .prepare_cached(
                    "UPDATE participant SET name = ?4 WHERE message_id = ?1 AND address_id = ?2 AND role = ?3",
                )?
                .execute(params![message_id, row.address_id, row.role, row.name])?;
            for name in [stored.as_str(), row.name] {
                if !name.is_empty() {
                    self.names_to_recount
                        .insert((row.address_id, name.to_string()));
                }
            }
            self.dirty_addresses.insert(row.address_id);
        }
        if date_changed {
            let mut stmt = self.conn.prepare_cached(
                "SELECT DISTINCT address_id, name FROM participant WHERE message_id = ?1 AND name <> ''",
            )?;
            let uses = stmt.query_map(params![message_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for pair in uses {
                self.names_to_recount.insert(pair?);
            }
        }
        Ok(())
    }

    /// Counts the name uses marked by [`Writer::adopt_participant_names`] again from the
    /// participant rows (after this batch's own uses were added, which it supersedes).
    pub(super) fn recount_names(&mut self) -> Result<()> {
        for (address_id, name) in std::mem::take(&mut self.names_to_recount) {
            let deleted = self
                .conn
                .prepare_cached(
                    "DELETE FROM address_name WHERE address_id = ?1 AND name = ?2 AND NOT EXISTS (
                         SELECT 1 FROM participant WHERE address_id = ?1 AND name = ?2)",
                )?
                .execute(params![address_id, name])?;
            if deleted > 0 {
                continue;
            }
            self.conn
                .prepare_cached(
                    "INSERT INTO address_name (address_id, name, first_seen, last_seen, uses)
                     SELECT ?1, ?2, min(m.date), max(m.date), count(*)
                     FROM participant p JOIN message m ON m.id = p.message_id
                     WHERE p.address_id = ?1 AND p.name = ?2
                     GROUP BY p.address_id
                     ON CONFLICT (address_id, name) DO UPDATE SET
                         first_seen = excluded.first_seen,
                         last_seen = excluded.last_seen,
                         uses = excluded.uses",
                )?
                .execute(params![address_id, name])?;
        }
        Ok(())
    }

    /// Records the From address of mail in a Sent folder as a candidate identity for the user to
    /// confirm.
    pub fn note_identity_candidate(&self, key: &str, email: &str, account: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO identity (key, email, origin, confirmed, account, seen)
                 VALUES (?1, ?2, 'candidate', 0, ?3, 1)
                 ON CONFLICT (key) DO UPDATE SET seen = seen + 1",
            )?
            .execute(params![key, email, account])?;
        Ok(())
    }

    /// Widens the first and last dates of the user's own addresses to the mail written since
    /// the last flush (in the same transaction as that mail, so a killed writer loses nothing).
    pub(super) fn flush_own_dates(&mut self) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE address SET
                 first_seen = CASE WHEN first_seen = 0 OR ?2 < first_seen THEN ?2 ELSE first_seen END,
                 last_seen = max(last_seen, ?3)
             WHERE id = ?1",
        )?;
        for (aid, (first, last)) in self.own_seen.drain() {
            stmt.execute(params![aid, first, last])?;
        }
        Ok(())
    }

    /// A stored message took another copy's date: the first and last dates of the user's own
    /// addresses in it are recomputed from all their mail (widening alone could keep the old
    /// date). Rare: only a better copy of a message already stored changes its date.
    pub(super) fn refresh_own_dates(&mut self, message_id: i64) -> Result<()> {
        let own = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT a.id FROM participant p JOIN address a ON a.id = p.address_id
                 JOIN identity i ON i.key = a.key AND i.confirmed = 1
                 WHERE p.message_id = ?1",
            )?
            .query_map(params![message_id], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for aid in own {
            self.own_seen.remove(&aid);
            self.full_dates.insert(aid);
            self.dirty_addresses.insert(aid);
        }
        Ok(())
    }

    /// Marks the addresses a rule pattern (address key or domain) covers for recomputation.
    pub fn touch_address_key(&mut self, pattern: &str) -> Result<()> {
        let ids = self
            .conn
            .prepare_cached(
                "SELECT id FROM address WHERE key = ?1 OR domain = ?1 OR domain LIKE '%.' || ?1",
            )?
            .query_map(params![pattern], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        self.dirty_addresses.extend(ids);
        Ok(())
    }
}

impl Store {
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
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use rusqlite::types::Value;

    use super::super::test_mail::{
        CAPTURED, Mail, my_store_with, one, rows, store_mails, store_with_me, write_mail,
    };
    use crate::error::Result;
    use crate::model::SourceRef;
    use crate::source::SourceKind;

    #[test]
    fn the_plainest_written_form_of_an_address_is_shown() {
        let mut forms = [
            "John.Doe+work@googlemail.com",
            "johndoe@gmail.com",
            "John.Doe@gmail.com",
            "john.doe@gmail.com",
        ];
        forms.sort_by_key(|f| super::form_rank(f));
        assert_eq!(forms[0], "john.doe@gmail.com");
        assert_eq!(forms[3], "John.Doe+work@googlemail.com");
    }

    #[test]
    fn a_contact_keeps_the_history_of_its_display_names() -> Result<()> {
        let store = my_store_with(&[
            Mail::new("a@x", "me@example.com", "Ann <ann@example.org>").day(1),
            Mail::new("b@x", "me@example.com", "Ann Smith <ann@example.org>").day(5),
            Mail::new("c@x", "me@example.com", "Ann Smith <ann@example.org>").day(6),
        ])?;
        let contact = store.contact("ann@example.org", CAPTURED)?;
        assert_eq!(contact.summary.name, "Ann Smith");
        let names: Vec<(&str, i64)> = contact
            .name_history
            .iter()
            .map(|n| (n.name.as_str(), n.uses))
            .collect();
        assert_eq!(names, vec![("Ann Smith", 2), ("Ann", 1)]);
        Ok(())
    }

    /// Two copies of one Message-ID that differ in names, recipients and date: whichever
    /// arrives first, and whether a commit falls between them, the name history is the same
    /// (the winning copy's names and date, plus the rows only the other copy has).
    #[test]
    fn name_history_does_not_depend_on_which_copy_came_first() -> Result<()> {
        let before = Mail::new("early@x", "me@example.com", "Ann <ann@example.org>").day(1);
        let one_copy = Mail::new("dup@x", "me@example.com", "Ann <ann@example.org>").day(3);
        let other_copy = Mail::new(
            "dup@x",
            "me@example.com",
            "Annie <ann@example.org>, Bob <bob@example.org>",
        )
        .day(4);
        let history = |mails: &[&Mail], commit_between: bool| -> Result<_> {
            let mut store = store_with_me()?;
            let mut w = store.writer(CAPTURED)?;
            for mail in mails {
                // Each copy in a place of its own: one place twice would be a re-import.
                let source = SourceRef {
                    kind: SourceKind::File,
                    account: String::new(),
                    folder: String::new(),
                    external_id: format!("{:?}", mail.raw()),
                };
                write_mail(&mut w, mail, &source)?;
                if commit_between {
                    w.commit()?;
                }
            }
            w.finish()?;
            rows(
                &store,
                "SELECT a.email, n.name, n.first_seen, n.last_seen, n.uses
                 FROM address_name n JOIN address a ON a.id = n.address_id ORDER BY 1, 2",
            )
        };
        let forward = history(&[&before, &one_copy, &other_copy], false)?;
        for commit_between in [false, true] {
            assert_eq!(
                history(&[&before, &other_copy, &one_copy], commit_between)?,
                forward
            );
            assert_eq!(
                history(&[&other_copy, &one_copy, &before], commit_between)?,
                forward
            );
            assert_eq!(
                history(&[&before, &one_copy, &other_copy], commit_between)?,
                forward
            );
        }
        // Each of the three messages counts once: the duplicate's two copies make one use.
        let uses: i64 = forward
            .iter()
            .filter_map(|row| match row.as_slice() {
                [Value::Text(email), _, _, _, Value::Integer(uses)]
                    if email == "ann@example.org" =>
                {
                    Some(*uses)
                }
                _ => None,
            })
            .sum();
        assert_eq!(uses, 2, "{forward:?}");
        Ok(())
    }

    /// A database written before participant rows kept names: an address with one name used
    /// on each of its rows gets that name on them; one with several names keeps rows without.
    #[test]
    fn migration_gives_participant_rows_the_names_it_can_tell() -> Result<()> {
        let dir = super::super::test_mail::temp_dir()?;
        let path = dir.path().join("old.db");
        super::super::test_mail::database_before(
            &path,
            2,
            "INSERT INTO thread (id) VALUES (1);
             INSERT INTO message (id, key, thread_id, date, stored_at)
                 VALUES (1, 'a@x', 1, 10, 10), (2, 'b@x', 1, 20, 20);
             INSERT INTO address (id, key, email) VALUES
                 (1, 'ann@example.org', 'ann@example.org'),
                 (2, 'bob@example.org', 'bob@example.org');
             INSERT INTO participant (message_id, address_id, role) VALUES
                 (1, 1, 'to'), (2, 1, 'to'), (1, 2, 'from'), (2, 2, 'from');
             INSERT INTO address_name (address_id, name, first_seen, last_seen, uses) VALUES
                 (1, 'Ann', 10, 20, 2), (2, 'Bob', 10, 10, 1), (2, 'Robert', 20, 20, 1);",
        )?;
        let store = Store::open(&path)?;
        let names = rows(
            &store,
            "SELECT address_id, name FROM participant ORDER BY message_id, address_id",
        )?;
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(
            names,
            vec![
                vec![Value::Integer(1), text("Ann")],
                vec![Value::Integer(2), text("")],
                vec![Value::Integer(1), text("Ann")],
                vec![Value::Integer(2), text("")],
            ]
        );
        Ok(())
    }

    #[test]
    fn an_identity_makes_its_mail_outbound_and_mail_between_identities_internal() -> Result<()> {
        let mut store = Store::open_in_memory()?;
        store_mails(
            &mut store,
            &[
                Mail::new("out@x", "me@example.com", "ann@example.org"),
                Mail::new("self@x", "me@example.com", "me@work.example"),
            ],
        )?;
        let direction = |store: &Store, key: &str| -> Result<String> {
            one(store, "SELECT direction FROM message WHERE key = ?1", [key])
        };
        assert_eq!(direction(&store, "out@x")?, "inbound");
        assert_eq!(store.stats()?.contacts, 0);

        assert!(store.add_identity("me@example.com", "me@example.com", "")?);
        assert!(store.add_identity("me@work.example", "me@work.example", "")?);
        assert!(!store.add_identity("me@work.example", "me@work.example", "")?);
        let mut w = store.writer(CAPTURED)?;
        w.recompute_all()?;
        w.finish()?;
        assert_eq!(direction(&store, "out@x")?, "outbound");
        assert_eq!(direction(&store, "self@x")?, "internal");
        // Sent-only policy: the person written to becomes a contact, the identities do not.
        assert_eq!(store.stats()?.contacts, 1);
        assert!(store.contact("ann@example.org", CAPTURED).is_ok());
        Ok(())
    }

    #[test]
    fn rules_round_trip() -> Result<()> {
        let mut store = Store::open_in_memory()?;
        assert!(store.add_rule("block", "spam.example", 1)?);
        assert!(!store.add_rule("block", "spam.example", 2)?);
        let rules = store.rules()?;
        assert_eq!(rules.len(), 1);
        assert_eq!(
            (rules[0].action.as_str(), rules[0].pattern.as_str()),
            ("block", "spam.example")
        );
        assert_eq!(
            store.remove_rule(&rules[0].id.to_string())?,
            vec!["spam.example"]
        );
        assert!(store.rules()?.is_empty());
        Ok(())
    }
}
