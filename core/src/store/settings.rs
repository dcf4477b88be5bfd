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
            .and_then(|p| p.parse::<Policy>().ok())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use crate::error::Result;
    use crate::model::Policy;

    #[test]
    fn the_policy_round_trips_and_an_unknown_value_falls_back_to_the_default() -> Result<()> {
        let store = Store::open_in_memory()?;
        assert_eq!(store.policy()?, Policy::SentOnly);
        assert_eq!(store.setting("policy")?, None);
        for policy in [Policy::SentAndReceived, Policy::None, Policy::SentOnly] {
            store.set_setting("policy", policy.as_str())?;
            assert_eq!(store.policy()?, policy);
        }
        store.set_setting("policy", "everyone")?;
        assert_eq!(store.setting("policy")?.as_deref(), Some("everyone"));
        assert_eq!(store.policy()?, Policy::SentOnly);
        Ok(())
    }
}
