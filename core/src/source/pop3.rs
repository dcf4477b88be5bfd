//! POP3 as a pull source, strictly read-only: a POP3 mailbox is one folder (INBOX); `UIDL` says
//! what the server holds, and what was seen is what the store already records as this
//! account's POP3 sources (each message's UIDL, written in the same transaction as the message),
//! so a poll fetches the header section (`TOP n 0`) of exactly the messages not stored yet, and
//! a poll killed halfway resumes with nothing twice and nothing missing. Nothing is ever
//! deleted or marked: no `DELE`, and `TOP` leaves the server's flags alone.
//!
//! What POP3 cannot show: mail the user sent (it lives in the client's Sent folder), and mail
//! the user's own client deleted from the server before a poll. Where a provider offers IMAP,
//! an IMAP account sees both.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    Batch, Cursor, FolderPlan, FolderRole, MessageInput, PullSource, PulledMessage, RemoteFolder,
    SourceKind,
};
use crate::config::Account;
use crate::engine::Engine;
use crate::error::Result;
use crate::source::pipeline::stored_external_ids;
use crate::sync::pop3::Pop3Session;

/// The one folder of a POP3 mailbox.
pub const INBOX: &str = "INBOX";

/// What a POP3 poll leaves behind besides the stored sources (which are the real record of
/// what was seen): the mailbox's size at the last poll, for `rapport status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pop3Cursor {
    /// Messages the server listed at the last poll.
    pub on_server: u64,
    /// Of those, the ones this poll handed over so far.
    pub handed_over: u64,
}

impl Pop3Cursor {
    pub fn decode(cursor: &Cursor) -> Pop3Cursor {
        serde_json::from_str(&cursor.0).unwrap_or_default()
    }

    pub fn encode(&self) -> Cursor {
        Cursor(serde_json::to_string(self).unwrap_or_default())
    }
}

/// One POP3 account's mailbox, over an open session.
pub struct Pop3Source<'a> {
    engine: Arc<Engine>,
    session: &'a mut Pop3Session,
    account: Account,
    /// The messages of this poll not stored yet: (message number, UIDL), in server order.
    pending: VecDeque<(u32, String)>,
    on_server: u64,
    handed_over: u64,
}

impl<'a> Pop3Source<'a> {
    pub fn new(engine: Arc<Engine>, session: &'a mut Pop3Session, account: Account) -> Self {
        Pop3Source {
            engine,
            session,
            account,
            pending: VecDeque::new(),
            on_server: 0,
            handed_over: 0,
        }
    }

    fn cursor(&self) -> Cursor {
        Pop3Cursor {
            on_server: self.on_server,
            handed_over: self.handed_over,
        }
        .encode()
    }
}

/// The listed messages not in `seen`, each UIDL once (a server listing one twice is broken, and
/// the first number is as good as the second).
fn unseen(listed: Vec<(u32, String)>, seen: &HashSet<String>) -> VecDeque<(u32, String)> {
    let mut taken = HashSet::new();
    listed
        .into_iter()
        .filter(|(_, uidl)| !seen.contains(uidl) && taken.insert(uidl.clone()))
        .collect()
}

impl PullSource for Pop3Source<'_> {
    fn kind(&self) -> SourceKind {
        SourceKind::Pop3
    }

    fn account(&self) -> &str {
        &self.account.name
    }

    async fn folders(&mut self) -> Result<Vec<RemoteFolder>> {
        Ok(vec![RemoteFolder {
            name: INBOX.into(),
            role: FolderRole::Inbox,
        }])
    }

    async fn open_folder(
        &mut self,
        folder: &RemoteFolder,
        saved: Option<&Cursor>,
    ) -> Result<FolderPlan> {
        let listed = self.session.uidl().await?;
        let seen = stored_external_ids(
            &self.engine,
            SourceKind::Pop3,
            &self.account.name,
            &folder.name,
        )
        .await?;
        self.on_server = listed.len() as u64;
        self.handed_over = 0;
        self.pending = unseen(listed, &seen);
        let expected = self.pending.len() as u64;
        Ok(FolderPlan::pending(
            self.cursor(),
            expected,
            self.on_server,
            saved.is_some(),
        ))
    }

    async fn next_batch(
        &mut self,
        _folder: &RemoteFolder,
        _cursor: &Cursor,
        limit: usize,
    ) -> Result<Option<Batch>> {
        let wanted = super::take_batch(&mut self.pending, limit);
        if wanted.is_empty() {
            return Ok(None);
        }
        let numbers: Vec<u32> = wanted.iter().map(|(number, _)| *number).collect();
        let headers = self.session.headers(&numbers).await?;
        self.handed_over += wanted.len() as u64;
        let messages = wanted
            .into_iter()
            .zip(headers)
            // A message another client deleted since UIDL answers -ERR: it is simply gone.
            .filter_map(|((_, uidl), header)| {
                header.map(|raw| PulledMessage {
                    external_id: uidl,
                    input: MessageInput::Raw(raw),
                })
            })
            .collect();
        Ok(Some(Batch {
            messages,
            cursor: self.cursor(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unseen_uidls_are_fetched_each_once() {
        let listed = vec![
            (1, "a".to_string()),
            (2, "b".to_string()),
            (3, "c".to_string()),
            (4, "b".to_string()),
        ];
        let seen: HashSet<String> = ["a".to_string()].into();
        let pending: Vec<_> = unseen(listed, &seen).into_iter().collect();
        assert_eq!(pending, vec![(2, "b".to_string()), (3, "c".to_string())]);
    }

    #[test]
    fn the_cursor_reads_back_and_tolerates_garbage() {
        let cursor = Pop3Cursor {
            on_server: 7,
            handed_over: 3,
        };
        assert_eq!(Pop3Cursor::decode(&cursor.encode()), cursor);
        assert_eq!(
            Pop3Cursor::decode(&Cursor("not json".into())),
            Pop3Cursor::default()
        );
    }
}
