//! Full-text search over addresses (with their names) and message subjects.

use rusqlite::params;

use super::Store;
use crate::error::{Error, Result};
use crate::model::SearchHit;
use crate::time::Timestamp;

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
}

#[cfg(test)]
mod tests {
    use super::super::test_mail::{Mail, my_store_with};
    use crate::error::{Error, Result};

    #[test]
    fn search_finds_addresses_by_name_and_messages_by_subject() -> Result<()> {
        let store =
            my_store_with(&[
                Mail::new("a@x", "me@example.com", "Ann Smith <ann@example.org>")
                    .subject("Quarterly numbers"),
            ])?;
        let by_name = store.search("smi", 10)?;
        assert_eq!(by_name.len(), 1);
        assert_eq!(
            (by_name[0].kind.as_str(), by_name[0].title.as_str()),
            ("contact", "Ann Smith <ann@example.org>")
        );
        let by_subject = store.search("quarterly", 10)?;
        assert_eq!(by_subject.len(), 1);
        assert_eq!(by_subject[0].kind, "message");
        assert!(store.search("nothing-like-it", 10)?.is_empty());
        assert!(matches!(
            store.search(" @. ", 10),
            Err(Error::InvalidInput(_))
        ));
        Ok(())
    }
}
