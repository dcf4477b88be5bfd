//! IMAP as a pull source: the first implementation of [`PullSource`]. Its cursor holds the
//! folder's UIDVALIDITY and two watermarks: new mail is fetched first, ascending from
//! `next_uid`; then history, newest first, down from `backfill_below` (facts/sync.md §2.7). A
//! changed UIDVALIDITY is re-approved by sampling Message-IDs (as mbsync does) or the folder's
//! UID map is rebuilt; either way nothing is stored twice, since messages are keyed by
//! Message-ID. The transport ([`crate::sync::imap`]) only moves bytes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    Batch, Cursor, FolderPlan, FolderRole, MessageInput, PullSource, PulledMessage, RemoteFolder,
    SourceKind,
};
use crate::config::Account;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::source::pipeline::blocking;
use crate::store::SyncState;
use crate::sync::imap::{Folder, FolderStatus, ImapSession, SpecialUse, uid_sets};

/// UID sets stay under this many characters (RFC 2683 §3.2.1.5).
pub const MAX_UID_SET: usize = 990;
/// UIDs sampled to re-approve a changed UIDVALIDITY.
const REAPPROVE_SAMPLE: usize = 20;

/// IMAP's cursor in one folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImapCursor {
    pub uidvalidity: u32,
    /// Every UID below this (and at or above `backfill_below`) has been fetched.
    pub next_uid: u32,
    /// History below this UID is still to fetch, newest first; 1 when complete.
    pub backfill_below: u32,
    #[serde(default)]
    pub highest_modseq: u64,
}

impl ImapCursor {
    pub fn decode(cursor: &Cursor) -> Option<ImapCursor> {
        serde_json::from_str(&cursor.0).ok()
    }

    pub fn encode(&self) -> Cursor {
        Cursor(serde_json::to_string(self).unwrap_or_default())
    }

    /// The prefix of the external ids of this folder's messages under this UIDVALIDITY.
    pub fn id_prefix(uidvalidity: u32) -> String {
        format!("{uidvalidity}:")
    }
}

/// An IMAP folder's sync state as `rapport status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FolderState {
    /// `imap` or `pop3` (a POP3 mailbox has no UIDVALIDITY or history: those stay 0).
    pub kind: SourceKind,
    pub account: String,
    pub folder: String,
    pub uidvalidity: u32,
    pub next_uid: u32,
    pub backfill_below: u32,
    pub highest_modseq: u64,
    pub message_count: i64,
    pub last_sync: i64,
    /// `idle`, `polling` or `sync`.
    pub mode: String,
    pub last_error: String,
}

impl From<&SyncState> for FolderState {
    fn from(s: &SyncState) -> Self {
        let c = ImapCursor::decode(&s.cursor).unwrap_or_default();
        FolderState {
            kind: s.kind,
            account: s.account.clone(),
            folder: s.folder.clone(),
            uidvalidity: c.uidvalidity,
            next_uid: c.next_uid,
            backfill_below: c.backfill_below,
            highest_modseq: c.highest_modseq,
            message_count: s.message_count,
            last_sync: s.last_success,
            mode: s.mode.clone(),
            last_error: s.last_error.clone(),
        }
    }
}

/// The role IMAP's SPECIAL-USE (or a guess from the name) gives a folder.
pub fn role_of(folder: &Folder) -> FolderRole {
    match folder.special_use {
        Some(SpecialUse::Inbox) => FolderRole::Inbox,
        Some(SpecialUse::Sent) => FolderRole::Sent,
        Some(SpecialUse::Drafts) => FolderRole::Drafts,
        Some(SpecialUse::Junk) => FolderRole::Junk,
        Some(SpecialUse::Trash) => FolderRole::Trash,
        Some(SpecialUse::Archive | SpecialUse::All) => FolderRole::Archive,
        Some(SpecialUse::Flagged) | None => FolderRole::Other,
    }
}

/// The folders a sync covers: INBOX, Sent, Archive and user folders; Junk, Trash and Drafts only
/// when the account asks for them. On Gmail, All Mail holds everything (labels are copies).
pub fn select_folders(account: &Account, folders: &[Folder], gmail: bool) -> Vec<Folder> {
    let policy = &account.folders;
    let wanted = |f: &Folder| f.selectable && policy.wants(&f.name, role_of(f));
    if gmail && policy.only.is_empty() {
        let all: Vec<Folder> = folders
            .iter()
            .filter(|f| {
                f.special_use == Some(SpecialUse::All)
                    || (policy.junk && f.special_use == Some(SpecialUse::Junk))
                    || (policy.trash && f.special_use == Some(SpecialUse::Trash))
            })
            .filter(|f| f.selectable)
            .cloned()
            .collect();
        if !all.is_empty() {
            return all;
        }
    }
    folders.iter().filter(|f| wanted(f)).cloned().collect()
}

/// Message-ID (or Outlook's original id) of a raw header, for re-approval and audits.
pub fn header_message_id(header: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    let mut current: Option<(String, String)> = None;
    let mut found_original = None;
    let mut found = None;
    let mut finish = |name: &str, value: &str| {
        if name.eq_ignore_ascii_case("message-id") && found.is_none() {
            found = crate::mail::ids::parse_message_id(value);
        } else if name.eq_ignore_ascii_case("x-microsoft-original-message-id")
            && found_original.is_none()
        {
            found_original = crate::mail::ids::parse_message_id(value);
        }
    };
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = current.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((n, v)) = current.take() {
            finish(&n, &v);
        }
        if let Some((n, v)) = line.split_once(':') {
            current = Some((n.trim().to_string(), v.trim().to_string()));
        }
    }
    if let Some((n, v)) = current.take() {
        finish(&n, &v);
    }
    found_original.or(found)
}

/// (UID, stored message key) of a folder's messages under one UIDVALIDITY.
pub async fn stored_uids(
    engine: &Arc<Engine>,
    account: &str,
    folder: &str,
    uidvalidity: u32,
) -> Result<Vec<(u32, String)>> {
    let (a, f, prefix) = (
        account.to_string(),
        folder.to_string(),
        ImapCursor::id_prefix(uidvalidity),
    );
    let sources = blocking(engine, move |e| {
        e.with_store(|s| s.folder_sources(SourceKind::Imap, &a, &f, &prefix))
    })
    .await?;
    Ok(sources
        .into_iter()
        .filter_map(|(ext, key)| {
            ext.split_once(':')
                .and_then(|(_, uid)| uid.parse().ok())
                .map(|uid| (uid, key))
        })
        .collect())
}

/// What is left to fetch in the open folder: new mail ascending, then history descending.
#[derive(Default)]
struct OpenFolder {
    status: FolderStatus,
    new: VecDeque<u32>,
    history: VecDeque<u32>,
}

/// One IMAP account over an open session.
pub struct ImapSource<'s> {
    engine: Arc<Engine>,
    session: &'s mut ImapSession,
    account: Account,
    open: OpenFolder,
}

impl<'s> ImapSource<'s> {
    pub fn new(engine: Arc<Engine>, session: &'s mut ImapSession, account: Account) -> Self {
        ImapSource {
            engine,
            session,
            account,
            open: OpenFolder::default(),
        }
    }

    /// Decides what a changed UIDVALIDITY means: the same UIDs still name the same messages
    /// (re-approved, returns the rebased cursor), or the UID map must be rebuilt (`None`).
    async fn reapprove(
        &mut self,
        folder: &str,
        old: ImapCursor,
        status: FolderStatus,
    ) -> Result<Option<ImapCursor>> {
        let (account, folder) = (self.account.name.clone(), folder.to_string());
        let old_prefix = ImapCursor::id_prefix(old.uidvalidity);
        let mut known = stored_uids(&self.engine, &account, &folder, old.uidvalidity).await?;
        known.sort_unstable_by_key(|k| std::cmp::Reverse(k.0));
        known.truncate(REAPPROVE_SAMPLE);
        let mut matched = 0usize;
        if !known.is_empty() {
            let mut uids: Vec<u32> = known.iter().map(|k| k.0).collect();
            uids.sort_unstable();
            let mut headers = Vec::new();
            for set in uid_sets(&uids, MAX_UID_SET) {
                headers.extend(self.session.fetch_headers(&set).await?);
            }
            let by_uid: HashMap<u32, Option<String>> = headers
                .iter()
                .map(|h| (h.uid, header_message_id(&h.header)))
                .collect();
            for (uid, key) in &known {
                if let Some(Some(id)) = by_uid.get(uid) {
                    let id = id.clone();
                    let same = blocking(&self.engine, move |e| {
                        e.with_store(|s| {
                            s.message_key_of(&id).map(Some).or_else(|err| match err {
                                Error::NotFound { .. } => Ok(None),
                                other => Err(other),
                            })
                        })
                    })
                    .await?;
                    if same.as_deref() == Some(key.as_str()) {
                        matched += 1;
                    }
                }
            }
        }
        // mbsync's rule: accept as spurious if most of the sample still matches.
        let reapproved = !known.is_empty() && matched * 5 >= known.len() * 4;
        if reapproved {
            let cursor = ImapCursor {
                uidvalidity: status.uidvalidity,
                ..old
            };
            let state = SyncState {
                kind: SourceKind::Imap,
                account,
                folder,
                cursor: cursor.encode(),
                mode: "sync".into(),
                message_count: i64::from(status.exists),
                last_error: String::new(),
                last_success: crate::time::now(),
            };
            let new_prefix = ImapCursor::id_prefix(status.uidvalidity);
            blocking(&self.engine, move |e| {
                e.with_store(|s| s.rebase_sources(&state, &old_prefix, &new_prefix))
            })
            .await?;
            Ok(Some(cursor))
        } else {
            blocking(&self.engine, move |e| {
                e.with_store(|s| s.forget_folder(SourceKind::Imap, &account, &folder, &old_prefix))
            })
            .await?;
            Ok(None)
        }
    }
}

impl PullSource for ImapSource<'_> {
    fn kind(&self) -> SourceKind {
        SourceKind::Imap
    }

    fn account(&self) -> &str {
        &self.account.name
    }

    async fn folders(&mut self) -> Result<Vec<RemoteFolder>> {
        let folders = self.session.folders().await?;
        let gmail = self.session.is_gmail();
        let selected = select_folders(&self.account, &folders, gmail);
        Ok(selected
            .iter()
            .map(|f| RemoteFolder {
                name: f.name.clone(),
                role: role_of(f),
            })
            .collect())
    }

    async fn open_folder(
        &mut self,
        folder: &RemoteFolder,
        saved: Option<&Cursor>,
    ) -> Result<FolderPlan> {
        let status = self.session.examine(&folder.name).await?;
        self.open = OpenFolder {
            status,
            ..Default::default()
        };
        let saved = saved.and_then(ImapCursor::decode);
        let (cursor, reset) = match saved {
            Some(c) if c.uidvalidity == status.uidvalidity => (Some(c), None),
            Some(c) => match self.reapprove(&folder.name, c, status).await? {
                Some(rebased) => (Some(rebased), Some("reapproved".to_string())),
                None => (None, Some("rebuilt".to_string())),
            },
            None => (None, None),
        };
        let fresh = cursor.is_none();
        let mut cursor = cursor.unwrap_or(ImapCursor {
            uidvalidity: status.uidvalidity,
            // Everything present now is history; new mail starts at UIDNEXT.
            next_uid: status.uidnext.max(1),
            backfill_below: status.uidnext.max(1),
            highest_modseq: 0,
        });
        cursor.highest_modseq = status.highest_modseq.unwrap_or(cursor.highest_modseq);
        let mut plan = FolderPlan {
            cursor: cursor.encode(),
            expected: 0,
            unchanged: false,
            reset,
            generation: status.uidvalidity,
            message_count: Some(i64::from(status.exists)),
        };
        if !fresh && status.uidnext <= cursor.next_uid && cursor.backfill_below <= 1 {
            plan.unchanged = true;
            return Ok(plan);
        }
        let all = self.session.uids().await?;
        self.open.new = all
            .iter()
            .copied()
            .filter(|u| *u >= cursor.next_uid)
            .collect();
        self.open.history = all
            .iter()
            .rev()
            .copied()
            .filter(|u| *u < cursor.backfill_below)
            .collect();
        plan.expected = (self.open.new.len() + self.open.history.len()) as u64;
        Ok(plan)
    }

    async fn next_batch(
        &mut self,
        _folder: &RemoteFolder,
        cursor: &Cursor,
        limit: usize,
    ) -> Result<Option<Batch>> {
        let mut next = ImapCursor::decode(cursor)
            .ok_or_else(|| Error::Internal("an IMAP cursor that does not decode".into()))?;
        let limit = limit.max(1);
        let new_mail = !self.open.new.is_empty();
        let queue = if new_mail {
            &mut self.open.new
        } else {
            &mut self.open.history
        };
        if queue.is_empty() {
            return Ok(None);
        }
        let chunk: Vec<u32> = queue.drain(..limit.min(queue.len())).collect();
        let mut headers = Vec::new();
        for set in uid_sets(&chunk, MAX_UID_SET) {
            headers.extend(self.session.fetch_headers(&set).await?);
        }
        let wanted: HashSet<u32> = chunk.iter().copied().collect();
        let messages = headers
            .into_iter()
            .filter(|h| wanted.contains(&h.uid) && !h.header.is_empty())
            .map(|h| PulledMessage {
                external_id: format!("{}:{}", next.uidvalidity, h.uid),
                input: MessageInput::Raw(h.header),
            })
            .collect();
        if new_mail {
            // The watermark moves past each committed window of new mail.
            if let Some(max) = chunk.iter().max() {
                next.next_uid = next.next_uid.max(max + 1);
            }
            if self.open.new.is_empty() {
                next.next_uid = next.next_uid.max(self.open.status.uidnext);
            }
        } else {
            // History, newest first: the low-water mark moves down window by window.
            next.next_uid = next.next_uid.max(self.open.status.uidnext);
            if let Some(min) = chunk.iter().min() {
                next.backfill_below = next.backfill_below.min(*min);
            }
        }
        Ok(Some(Batch {
            messages,
            cursor: next.encode(),
        }))
    }

    fn finish_folder(&mut self, _folder: &RemoteFolder, cursor: Cursor) -> Cursor {
        match ImapCursor::decode(&cursor) {
            Some(mut c) => {
                c.next_uid = c.next_uid.max(self.open.status.uidnext);
                c.backfill_below = 1;
                c.encode()
            }
            None => cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_from_raw_header() {
        let h = b"Subject: x\r\nMessage-ID:\r\n <a@b>\r\nFrom: c@d\r\n\r\n";
        assert_eq!(header_message_id(h).as_deref(), Some("a@b"));
        let h = b"Message-ID: <rewritten@x>\r\nX-Microsoft-Original-Message-ID: <orig@y>\r\n\r\n";
        assert_eq!(header_message_id(h).as_deref(), Some("orig@y"));
        assert_eq!(header_message_id(b"Subject: none\r\n\r\n"), None);
    }

    #[test]
    fn cursor_round_trips_and_reads_the_migrated_form() {
        let c = ImapCursor {
            uidvalidity: 7,
            next_uid: 40,
            backfill_below: 1,
            highest_modseq: 9,
        };
        assert_eq!(ImapCursor::decode(&c.encode()), Some(c));
        // What migration 0002 writes with SQLite's json_object.
        let migrated = Cursor(
            r#"{"uidvalidity":7,"next_uid":40,"backfill_below":1,"highest_modseq":9}"#.into(),
        );
        assert_eq!(ImapCursor::decode(&migrated), Some(c));
    }
}
