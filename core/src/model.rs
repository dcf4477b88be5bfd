//! The shapes Rapport answers with. Shared by the CLI's `--json`, the RPC protocol and the
//! bindings' conversions; dates serialise as ISO 8601 strings.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::time::Timestamp;

/// Whether received-only correspondents become contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Only people the user has written to (the default).
    #[default]
    SentOnly,
    /// Also people who wrote to the user (person mail only).
    SentAndReceived,
    /// Nobody automatically; contacts come from allow rules.
    None,
}

impl Policy {
    pub const ALL: [Policy; 3] = [Policy::SentOnly, Policy::SentAndReceived, Policy::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::SentOnly => "sent-only",
            Policy::SentAndReceived => "sent-and-received",
            Policy::None => "none",
        }
    }
}

crate::choice::choice_traits!(Policy, "policy");

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub messages: i64,
    pub threads: i64,
    pub contacts: i64,
    /// Distinct normalised addresses seen in From, To or Cc.
    pub addresses: i64,
    /// Every place a message was seen (files, IMAP UIDs, plugin captures).
    pub sources: i64,
    pub identities: i64,
    pub skipped_inputs: i64,
    pub by_class: BTreeMap<String, i64>,
    pub by_direction: BTreeMap<String, i64>,
    pub first_date: Option<Timestamp>,
    pub last_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContactSummary {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub group: String,
    pub first_contact: Option<Timestamp>,
    pub last_contact: Option<Timestamp>,
    pub last_inbound: Option<Timestamp>,
    pub last_outbound: Option<Timestamp>,
    pub inbound_count: i64,
    pub outbound_count: i64,
    pub thread_count: i64,
    pub cadence_days: Option<i64>,
    /// When the next touch is due (last contact + cadence), if a cadence applies.
    pub due: Option<Timestamp>,
    pub neglected: bool,
    /// Left out of "neglected" until then (only while that is in the future).
    pub snoozed_until: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AddressInfo {
    pub email: String,
    pub name: String,
    pub status: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NameUse {
    pub name: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub uses: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContactDetail {
    #[serde(flatten)]
    pub summary: ContactSummary,
    pub addresses: Vec<AddressInfo>,
    pub name_history: Vec<NameUse>,
    /// Median seconds the user took to answer this contact.
    pub median_reply_mine_secs: Option<i64>,
    /// Median seconds this contact took to answer the user.
    pub median_reply_theirs_secs: Option<i64>,
    /// Threads with this contact that wait on someone.
    pub open_threads: Vec<AwaitingItem>,
    pub recent: Vec<TimelineEntry>,
    /// Every month from the first contact to the last, oldest first.
    pub monthly: Vec<MonthStats>,
}

/// One month of a contact's history: messages each way and the median reply time each way
/// (replies sent in that month).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MonthStats {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub inbound: i64,
    pub outbound: i64,
    pub median_reply_mine_secs: Option<i64>,
    pub median_reply_theirs_secs: Option<i64>,
}

/// A group with its cadence, size and how many of its contacts are past their cadence.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GroupInfo {
    pub group: String,
    pub cadence_days: Option<i64>,
    pub contacts: i64,
    pub overdue: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TimelineEntry {
    pub date: Timestamp,
    pub direction: String,
    pub class: String,
    pub subject: String,
    pub thread_id: i64,
    pub message_id: String,
    pub from: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ThreadSummary {
    pub id: i64,
    pub subject: String,
    pub first_date: Timestamp,
    pub last_date: Timestamp,
    pub message_count: i64,
    pub last_direction: String,
    /// `me`, `them` or empty.
    pub waiting_on: String,
    pub participants: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ThreadMessage {
    pub message_id: String,
    pub date: Timestamp,
    pub from: String,
    pub from_name: String,
    pub subject: String,
    pub direction: String,
    pub class: String,
    /// Depth in the reply tree (0 for a root); messages are listed in tree order.
    pub depth: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ThreadDetail {
    #[serde(flatten)]
    pub summary: ThreadSummary,
    pub messages: Vec<ThreadMessage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitingOn {
    Me,
    Them,
}

impl WaitingOn {
    pub const ALL: [WaitingOn; 2] = [WaitingOn::Me, WaitingOn::Them];

    pub fn as_str(self) -> &'static str {
        match self {
            WaitingOn::Me => "me",
            WaitingOn::Them => "them",
        }
    }
}

crate::choice::choice_traits!(WaitingOn, "side");

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AwaitingItem {
    pub thread_id: i64,
    pub subject: String,
    pub waiting_on: WaitingOn,
    /// Date of the message that is waiting for an answer.
    pub since: Timestamp,
    pub age_days: i64,
    pub contact_email: String,
    pub contact_name: String,
    pub message_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NeglectedItem {
    #[serde(flatten)]
    pub contact: ContactSummary,
    pub overdue_days: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SearchHit {
    /// `contact`, `address` or `message`.
    pub kind: String,
    pub title: String,
    pub detail: String,
    pub date: Option<Timestamp>,
    pub thread_id: Option<i64>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Explanation {
    pub address: String,
    pub key: String,
    pub known: bool,
    pub is_contact: bool,
    pub is_identity: bool,
    pub status: String,
    pub reason: String,
    pub policy: Policy,
    pub messages_from: i64,
    pub messages_to: i64,
    pub by_class: BTreeMap<String, i64>,
    pub contact_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Identity {
    pub email: String,
    pub origin: String,
    pub confirmed: bool,
    pub account: String,
    pub seen: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Rule {
    pub id: i64,
    pub action: String,
    pub pattern: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkipRecord {
    pub location: String,
    pub reason: String,
    pub detail: String,
}

/// Where a message was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
pub struct SourceRef {
    pub kind: crate::source::SourceKind,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub folder: String,
    /// Path, UID, or the client's own id.
    pub external_id: String,
}

impl SourceRef {
    /// Where the message was seen, as notes about it name it (`kind:account/folder/id`).
    pub fn location(&self) -> String {
        format!(
            "{}:{}/{}/{}",
            self.kind, self.account, self.folder, self.external_id
        )
    }
}

/// What happened to one message handed to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestOutcome {
    /// A new message.
    Stored,
    /// Already known: only a new source was recorded (or nothing, when the source was known too).
    Duplicate,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub files: u64,
    pub bytes: u64,
    pub messages_read: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, u64>,
    pub errors: Vec<SkipRecord>,
    pub elapsed_ms: u64,
    pub messages_per_sec: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DryRunEntry {
    pub email: String,
    pub name: String,
    pub messages: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DryRunReport {
    pub policy: Policy,
    pub summary: ImportSummary,
    pub new_contacts: i64,
    pub skipped_addresses: i64,
    pub would_create: Vec<DryRunEntry>,
    pub top_skipped_senders: Vec<DryRunEntry>,
}
