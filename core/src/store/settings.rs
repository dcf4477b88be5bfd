//! Settings: the key/value `setting` table and the contact policy stored in it.

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::error::Result;
use crate::model::Policy;

impl Store {
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM setting WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO setting (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn policy(&self) -> Result<Policy> {
        Ok(self
            .setting("policy")?
            .and_then(|p| Policy::parse(&p))
            .unwrap_or_default())
    }
}
