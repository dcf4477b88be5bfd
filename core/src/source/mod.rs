//! Where mail comes from, in one place: the kinds of source, the role of a folder, the shape of a
//! message as a source hands it over, and the interface every server a sync pulls from
//! implements ([`PullSource`], driven by [`pipeline`]).
//!
//! # Where to add a source
//!
//! A new source (say POP3) touches, ideally, only:
//! 1. its module here (`source/pop3.rs`): a type implementing [`PullSource`] — list the folders
//!    with their [`FolderRole`], and hand over the next batch of a folder after an opaque
//!    [`Cursor`] it chose itself (a UIDL set, a delta link, a sync state). Its transport (bytes
//!    over the wire) lives in `sync/`, and never parses mail;
//! 2. one [`SourceKind`] variant (and, for accounts, one [`AccountKind`] variant with its
//!    settings in `config.rs`);
//! 3. its arm in [`crate::syncer`]'s `sync_account` and `watch_account` (how a session opens,
//!    and how `watch` waits: IMAP's IDLE, POP3's polling);
//! 4. its CLI flags in `cli/src/accounts.rs`.
//!
//! POP3 was added this way: `source/pop3.rs` (the pull source), `sync/pop3.rs` (the
//! transport), `AccountKind::Pop3` with its ports and presets, two match arms in `syncer.rs`,
//! and `--pop3` on `rapport account add`; its conformance case is `tests/e2e/pop3.sh` (first
//! poll = import of the same mailbox, on two different servers).
//!
//! The [`pipeline`] does the rest: fetch window k while parsing k−1 and storing k−2, the cursor
//! committed in the same transaction as the window it covers (so a crash resumes with nothing
//! missing and nothing twice), cancellation, progress and back-off. Messages arrive as
//! [`MessageInput`]: raw RFC 5322 bytes, or fields already decoded (a Graph message, a PST item,
//! the Outlook add-in's send record).
//!
//! Every source must pass the conformance test (`tests/tests/conformance.rs` for pull sources
//! and the file importer): the same mailbox fed twice, in two orders, and through two sources
//! at once gives identical `stats --json`, contacts and threads.
//!
//! [`AccountKind`]: crate::config::AccountKind

pub mod ews;
pub mod graph;
pub mod imap;
pub mod maildir;
pub mod pipeline;
pub mod pop3;
pub mod pst;

use std::future::Future;

use serde::{Deserialize, Serialize};

pub use crate::choice::{parse_choice, parse_choice_or_alias};
use crate::error::Result;

pub use pipeline::{
    FolderReport, PullOptions, PullProgress, PullReport, pull_account, pull_folder,
};

/// What kind of place a message was seen in. Recorded on every stored source row.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// mbox, maildir or `.eml` files (`rapport import`).
    File,
    /// An IMAP folder (`rapport sync`).
    Imap,
    /// The Thunderbird extension, through the native-messaging host.
    Thunderbird,
    /// The Outlook add-in, through the local bridge.
    Outlook,
    /// A program using the bindings.
    #[default]
    Api,
    /// Exchange Web Services (on-premises Exchange).
    Ews,
    /// Microsoft Graph (Microsoft 365, Outlook.com).
    Graph,
    /// A POP3 mailbox, read without deleting.
    Pop3,
    /// An Outlook data file.
    Pst,
}

impl SourceKind {
    pub const ALL: [SourceKind; 9] = [
        SourceKind::File,
        SourceKind::Imap,
        SourceKind::Thunderbird,
        SourceKind::Outlook,
        SourceKind::Api,
        SourceKind::Ews,
        SourceKind::Graph,
        SourceKind::Pop3,
        SourceKind::Pst,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Imap => "imap",
            SourceKind::Thunderbird => "thunderbird",
            SourceKind::Outlook => "outlook",
            SourceKind::Api => "api",
            SourceKind::Ews => "ews",
            SourceKind::Graph => "graph",
            SourceKind::Pop3 => "pop3",
            SourceKind::Pst => "pst",
        }
    }
}

crate::choice::choice_traits!(SourceKind, "source kind");

/// What a folder is for, decided once for every source: IMAP's SPECIAL-USE flags, Exchange's
/// distinguished folder ids and Graph's well-known names map onto it, and so do folder names
/// when a source has nothing better ([`FolderRole::from_name`]).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum FolderRole {
    Inbox,
    Sent,
    Drafts,
    Archive,
    Junk,
    Trash,
    #[default]
    Other,
}

impl FolderRole {
    pub const ALL: [FolderRole; 7] = [
        FolderRole::Inbox,
        FolderRole::Sent,
        FolderRole::Drafts,
        FolderRole::Archive,
        FolderRole::Junk,
        FolderRole::Trash,
        FolderRole::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FolderRole::Inbox => "inbox",
            FolderRole::Sent => "sent",
            FolderRole::Drafts => "drafts",
            FolderRole::Archive => "archive",
            FolderRole::Junk => "junk",
            FolderRole::Trash => "trash",
            FolderRole::Other => "other",
        }
    }

    /// Mail in this folder was written by the user: its From addresses are identity candidates.
    pub fn is_sent(self) -> bool {
        self == FolderRole::Sent
    }

    /// The role a folder's own name suggests (the last component of a path or hierarchy), for
    /// sources that do not say. Names in the languages mail clients commonly localise to.
    pub fn from_name(name: &str) -> FolderRole {
        let leaf = name.trim().trim_start_matches('.').to_lowercase();
        let leaf = leaf.as_str();
        if leaf == "inbox" {
            return FolderRole::Inbox;
        }
        let sent = matches!(
            leaf,
            "sent"
                | "sent items"
                | "sent messages"
                | "sent mail"
                | "outbox"
                | "gesendet"
                | "gesendete objekte"
                | "envoyés"
                | "éléments envoyés"
                | "enviados"
                | "inviata"
                | "posta inviata"
        ) || ["sent ", "sent-", "sent_"]
            .iter()
            .any(|p| leaf.starts_with(p))
            || leaf.ends_with(".sent");
        if sent {
            return FolderRole::Sent;
        }
        match leaf {
            "trash" | "deleted items" | "deleted messages" | "bin" | "papierkorb" | "corbeille" => {
                FolderRole::Trash
            }
            "junk" | "spam" | "junk e-mail" | "junk email" | "bulk mail" => FolderRole::Junk,
            "drafts" | "draft" | "entwürfe" | "brouillons" | "borradores" => FolderRole::Drafts,
            "archive" | "archives" | "archiv" | "all mail" => FolderRole::Archive,
            _ => FolderRole::Other,
        }
    }

    /// The role of a file's folder: sent when any component of its path names sent mail
    /// (`~/Mail/Sent/cur/123`), else the last component that names a role.
    pub fn of_path(path: &std::path::Path) -> FolderRole {
        let roles = path
            .components()
            .map(|c| FolderRole::from_name(&c.as_os_str().to_string_lossy()));
        let mut found = FolderRole::Other;
        for role in roles {
            if role.is_sent() {
                return role;
            }
            if role != FolderRole::Other {
                found = role;
            }
        }
        found
    }
}

crate::choice::choice_traits!(FolderRole, "folder role");

/// A message whose header fields a source has already decoded (a Graph message, a PST item,
/// the Outlook add-in's record of a message at send time). Addresses are `Name <addr>` or bare.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
// Every field may be left out: an absent one takes its empty value.
#[serde(default)]
pub struct FieldMessage {
    /// Message-ID, with or without angle brackets.
    pub message_id: Option<String>,
    /// The value stamped into `X-Rapport-Id` (Outlook's send record); a message with a tracking
    /// id and no Message-ID is provisional: its real copy replaces it when seen.
    pub tracking_id: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    /// Seconds since the epoch; the capture time when absent.
    pub date: Option<i64>,
    /// Message-ID of the message being answered.
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

/// A message as a source hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageInput {
    /// RFC 5322 bytes: a whole message or just its header.
    Raw(Vec<u8>),
    /// Fields a source decoded itself.
    Fields(Box<FieldMessage>),
    /// An item the source found but could not read (a damaged item of an Outlook data file):
    /// recorded as a skip with its location, in the same transaction as the cursor.
    Unreadable {
        reason: &'static str,
        detail: String,
    },
}

impl From<Vec<u8>> for MessageInput {
    fn from(raw: Vec<u8>) -> Self {
        MessageInput::Raw(raw)
    }
}

impl From<FieldMessage> for MessageInput {
    fn from(fields: FieldMessage) -> Self {
        MessageInput::Fields(Box::new(fields))
    }
}

/// An RFC 5322 header from a server's decoded item (EWS, Graph): its transport headers as the
/// message arrived, then each typed field (`From`, `Bcc`, …) the transport headers lack — sent
/// mail has none, and Bcc is never among them.
pub fn compose_header(transport: &[(String, String)], typed: Vec<(&str, String)>) -> Vec<u8> {
    let mut out = String::new();
    for (name, value) in transport {
        if !name.is_empty() && !name.contains([':', ' ', '\r', '\n']) {
            push_field(&mut out, name, value);
        }
    }
    for (name, value) in typed {
        if !transport.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            push_field(&mut out, name, &value);
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// One header field; line breaks in a value (never legal unfolded) become spaces.
fn push_field(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    for c in value.chars() {
        out.push(if c == '\r' || c == '\n' { ' ' } else { c });
    }
    out.push_str("\r\n");
}

/// A source's position in one folder, opaque to everything but the source that wrote it (an
/// IMAP watermark pair, a set of POP3 UIDLs, a Graph delta link, an EWS sync state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub String);

/// One folder a pull source offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteFolder {
    /// The source's own name or id for the folder (stored on every source row).
    pub name: String,
    pub role: FolderRole,
}

/// One message of a batch, with the id the source knows it by in its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledMessage {
    pub external_id: String,
    pub input: MessageInput,
}

/// The next batch of a folder, and the cursor that stands just past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub messages: Vec<PulledMessage>,
    pub cursor: Cursor,
}

/// How a folder's pull begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderPlan {
    /// The cursor to start from (the saved one, or a fresh one after a reset).
    pub cursor: Cursor,
    /// Messages this pull expects to hand over (for progress; 0 when unknown).
    pub expected: u64,
    /// Nothing changed since the saved cursor: no batch needs fetching.
    pub unchanged: bool,
    /// Why the saved cursor could not be used as it was (e.g. `reapproved`, `rebuilt`).
    pub reset: Option<String>,
    /// The folder's generation where the source has one (IMAP's UIDVALIDITY), else 0.
    pub generation: u32,
    /// Messages the folder holds on the server, when the source knows.
    pub message_count: Option<i64>,
}

impl FolderPlan {
    /// The plan of a source whose cursor asks the server for what changed (an EWS sync state,
    /// a Graph delta link): a pull from nothing (`fresh`) expects the folder's count as the
    /// server gave it (`on_server`); one from a saved cursor cannot know.
    pub fn changes_since(cursor: Cursor, fresh: bool, on_server: Option<u64>) -> FolderPlan {
        FolderPlan {
            cursor,
            expected: if fresh { on_server.unwrap_or(0) } else { 0 },
            unchanged: false,
            reset: None,
            generation: 0,
            message_count: on_server.map(|n| n as i64),
        }
    }

    /// The plan of a source without generations or resets (a maildir, a POP3 mailbox):
    /// `pending` messages to hand over of `on_source`; unchanged when a pull was saved before
    /// and nothing is pending.
    pub fn pending(cursor: Cursor, pending: u64, on_source: u64, saved: bool) -> FolderPlan {
        FolderPlan {
            cursor,
            expected: pending,
            unchanged: saved && pending == 0,
            reset: None,
            generation: 0,
            message_count: Some(on_source as i64),
        }
    }
}

/// Each folder's path of display names (`Inbox/Projects`) from a server's flat list of
/// (id, parent id, name), as EWS and Graph give their hierarchies. A parent outside the list
/// (the root) ends a path; a cycle is cut after 32 levels.
pub(crate) fn folder_paths(
    folders: &[(String, String, String)],
) -> std::collections::HashMap<String, String> {
    let by_id: std::collections::HashMap<&str, (&str, &str)> = folders
        .iter()
        .map(|(id, parent, name)| (id.as_str(), (parent.as_str(), name.as_str())))
        .collect();
    folders
        .iter()
        .map(|(id, parent, name)| {
            let mut parts = vec![name.as_str()];
            let mut next = by_id.get(parent.as_str());
            for _ in 0..32 {
                let Some((up, up_name)) = next else { break };
                parts.push(up_name);
                next = by_id.get(up);
            }
            parts.reverse();
            (id.clone(), parts.join("/"))
        })
        .collect()
}

/// Inbox first, then Sent, then the rest in the server's order: the mail a user most wants
/// to see arrives first.
pub(crate) fn inbox_and_sent_first(folders: &mut [RemoteFolder]) {
    folders.sort_by_key(|f| match f.role {
        FolderRole::Inbox => 0,
        FolderRole::Sent => 1,
        _ => 2,
    });
}

/// The next batch of a source's pending list: at most `limit` (at least one), from the front.
pub(crate) fn take_batch<T>(pending: &mut std::collections::VecDeque<T>, limit: usize) -> Vec<T> {
    let take = limit.max(1).min(pending.len());
    pending.drain(..take).collect()
}

/// A server (or file) that hands over mail folder by folder, in batches after a cursor.
///
/// Futures are `Send` so that a sync can run on any runtime thread. Implementations keep their
/// protocol's specifics (IMAP's UIDVALIDITY re-approval, EWS's sync states) to themselves.
pub trait PullSource: Send {
    fn kind(&self) -> SourceKind;

    /// The account's name (stored on every source row).
    fn account(&self) -> &str;

    /// The folders a sync covers, in the order to sync them.
    fn folders(&mut self) -> impl Future<Output = Result<Vec<RemoteFolder>>> + Send;

    /// Opens `folder` for pulling, from the cursor saved by the last pull (if any).
    fn open_folder(
        &mut self,
        folder: &RemoteFolder,
        saved: Option<&Cursor>,
    ) -> impl Future<Output = Result<FolderPlan>> + Send;

    /// The next batch after `cursor`, or `None` when the folder is exhausted. A batch holds at
    /// most about `limit` messages.
    fn next_batch(
        &mut self,
        folder: &RemoteFolder,
        cursor: &Cursor,
        limit: usize,
    ) -> impl Future<Output = Result<Option<Batch>>> + Send;

    /// The cursor to save once every batch is stored (a source may fold in what it learned at
    /// the end, such as IMAP's new UIDNEXT).
    fn finish_folder(&mut self, _folder: &RemoteFolder, cursor: Cursor) -> Cursor {
        cursor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_kinds_name_the_choices() -> Result<()> {
        for kind in SourceKind::ALL {
            assert_eq!(kind.as_str().parse::<SourceKind>()?, kind);
        }
        assert_eq!("IMAP".parse::<SourceKind>()?, SourceKind::Imap);
        let err = "smoke-signal".parse::<SourceKind>().err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("smoke-signal") && text.contains("pop3"),
            "{text}"
        );
        Ok(())
    }

    #[test]
    fn composed_headers_keep_transport_fields_and_never_break_lines() {
        let transport = vec![("From".to_string(), "a@x".to_string())];
        let typed = vec![
            ("From", "b@x".to_string()),
            ("Subject", "a\r\nBcc: x@evil".to_string()),
        ];
        let header = String::from_utf8(compose_header(&transport, typed)).unwrap_or_default();
        assert_eq!(header, "From: a@x\r\nSubject: a  Bcc: x@evil\r\n\r\n");
    }

    #[test]
    fn folder_roles_from_names_and_paths() {
        assert_eq!(FolderRole::from_name("INBOX"), FolderRole::Inbox);
        assert_eq!(FolderRole::from_name("Sent Items"), FolderRole::Sent);
        assert_eq!(FolderRole::from_name(".Sent"), FolderRole::Sent);
        assert_eq!(FolderRole::from_name("sent-2019"), FolderRole::Sent);
        assert_eq!(FolderRole::from_name("Gesendete Objekte"), FolderRole::Sent);
        assert_eq!(FolderRole::from_name("Deleted Items"), FolderRole::Trash);
        assert_eq!(FolderRole::from_name("Junk E-mail"), FolderRole::Junk);
        assert_eq!(FolderRole::from_name("[Gmail]"), FolderRole::Other);
        assert_eq!(FolderRole::from_name("Sentinel"), FolderRole::Other);
        let p = std::path::Path::new("/home/me/Mail/.Sent/cur/1.eml");
        assert_eq!(FolderRole::of_path(p), FolderRole::Sent);
        let p = std::path::Path::new("/home/me/Sent/2019/cur/1.eml");
        assert_eq!(FolderRole::of_path(p), FolderRole::Sent);
        let p = std::path::Path::new("/home/me/Mail/INBOX/cur/1.eml");
        assert_eq!(FolderRole::of_path(p), FolderRole::Inbox);
    }
}

/// A file or directory name as a source key, exactly: a UTF-8 name without backslashes is
/// itself; any other name has its backslashes doubled and each byte that is not UTF-8 written
/// `\xNN`. Distinct names give distinct keys (two names differing only in bytes that are not
/// UTF-8 do not collapse into one source), and the key reads back to the original bytes.
pub fn os_key(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    match name.to_str() {
        Some(text) if !text.contains('\\') => text.to_string(),
        _ => {
            let mut key = String::with_capacity(name.len() + 8);
            for chunk in name.as_bytes().utf8_chunks() {
                key.push_str(&chunk.valid().replace('\\', "\\\\"));
                for byte in chunk.invalid() {
                    key.push_str(&format!("\\x{byte:02x}"));
                }
            }
            key
        }
    }
}

#[cfg(test)]
mod os_key_tests {
    use super::os_key;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn names_that_are_not_utf8_stay_distinct_and_readable() {
        let latin1 = os_key(OsStr::from_bytes(b"caf\xe9.eml"));
        let other = os_key(OsStr::from_bytes(b"caf\xe8.eml"));
        assert_eq!(latin1, "caf\\xe9.eml");
        assert_ne!(latin1, other);
        assert_eq!(os_key(OsStr::new("café.eml")), "café.eml");
        // A UTF-8 name spelling the escape cannot meet the escaped name.
        assert_eq!(os_key(OsStr::new("caf\\xe9.eml")), "caf\\\\xe9.eml");
    }
}
