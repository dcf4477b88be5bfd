//! Where stored mail came from, per capture path: what `rapport sources` and the dashboard's
//! Sources page list beside the accounts' sync state.

use serde::Serialize;

use super::Store;
use crate::error::Result;
use crate::time::Timestamp;

/// One capture path (`imap`, `pop3`, `pst`, `file`, `thunderbird`, `outlook`, …) and account.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceOverview {
    pub kind: String,
    /// The account name; empty for imports and captures that have none.
    pub account: String,
    /// Places a message was seen (one message seen in two folders counts twice).
    pub sightings: i64,
    /// When the latest of them was recorded.
    pub last_seen: Option<Timestamp>,
}

impl Store {
    /// Every capture path with how much it brought and when it last did. One pass over the
    /// `(kind, account, …)` unique index.
    pub fn source_overview(&self) -> Result<Vec<SourceOverview>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, account, count(*), max(seen_at) FROM source
             GROUP BY kind, account ORDER BY kind, account",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SourceOverview {
                kind: r.get(0)?,
                account: r.get(1)?,
                sightings: r.get(2)?,
                last_seen: r.get::<_, Option<i64>>(3)?.map(Timestamp),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_mail::{Mail, my_store_with};
    use crate::error::Result;

    #[test]
    fn one_row_per_capture_path_and_account() -> Result<()> {
        let store = my_store_with(&[
            Mail::new("a@x", "Ann <ann@x.example>", "me@example.com"),
            Mail::new("b@x", "me@example.com", "Ann <ann@x.example>").day(3),
        ])?;
        let overview = store.source_overview()?;
        assert_eq!(overview.len(), 1, "{overview:?}");
        assert_eq!(overview[0].sightings, 2);
        assert!(overview[0].last_seen.is_some());
        Ok(())
    }
}
