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
                "INSERT OR IGNORE INTO participant (message_id, address_id, role) VALUES {}",
                vec!["(?, ?, ?)"; n].join(", ")
            )
        })
        .collect()
});

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

    pub(super) fn write_participants(
        &mut self,
        message_id: i64,
        p: &PreparedMessage,
        ids: &[i64],
        record_names: bool,
    ) -> Result<()> {
        // One statement for up to eight rows: most messages have fewer participants, and one
        // statement per row is a large part of ingest time.
        let mut inserted = vec![true; ids.len()];
        if record_names {
            for (chunk_ps, chunk_ids) in p.participants.chunks(8).zip(ids.chunks(8)) {
                let sql = PARTICIPANT_INSERTS
                    .get(chunk_ids.len() - 1)
                    .ok_or_else(|| crate::error::Error::Internal("participant chunk".into()))?;
                let mut stmt = self.conn.prepare_cached(sql)?;
                let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(chunk_ids.len() * 3);
                let roles: Vec<&str> = chunk_ps.iter().map(|pp| pp.role.as_str()).collect();
                for (aid, role) in chunk_ids.iter().zip(&roles) {
                    values.push(&message_id);
                    values.push(aid);
                    values.push(role);
                }
                stmt.execute(values.as_slice())?;
            }
        } else {
            // A duplicate copy: only rows it adds make their addresses dirty.
            let mut stmt = self.conn.prepare_cached(
                "INSERT OR IGNORE INTO participant (message_id, address_id, role) VALUES (?1, ?2, ?3)",
            )?;
            for (i, (pp, aid)) in p.participants.iter().zip(ids).enumerate() {
                inserted[i] = stmt.execute(params![message_id, aid, pp.role.as_str()])? > 0;
            }
        }
        for (i, (pp, &aid)) in p.participants.iter().zip(ids).enumerate() {
            if inserted[i] {
                self.dirty_addresses.insert(aid);
                if self.identities.contains(&pp.key) {
                    let seen = self.own_seen.entry(aid).or_insert((p.date, p.date));
                    seen.0 = seen.0.min(p.date);
                    seen.1 = seen.1.max(p.date);
                }
                if record_names && let Some(name) = &pp.name {
                    let e = self
                        .names
                        .entry((aid, name.clone()))
                        .or_insert((p.date, p.date, 0));
                    e.0 = e.0.min(p.date);
                    e.1 = e.1.max(p.date);
                    e.2 += 1;
                }
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
    use super::super::test_mail::{CAPTURED, Mail, one, store_mails, store_with_me};
    use crate::error::Result;

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
        let mut store = store_with_me()?;
        store_mails(
            &mut store,
            &[
                Mail::new("a@x", "me@example.com", "Ann <ann@example.org>").day(1),
                Mail::new("b@x", "me@example.com", "Ann Smith <ann@example.org>").day(5),
                Mail::new("c@x", "me@example.com", "Ann Smith <ann@example.org>").day(6),
            ],
        )?;
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
