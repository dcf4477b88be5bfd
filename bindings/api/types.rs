// The bindings' records (DTOs) and their conversions from and to the core's types, written once
// for both bindings. Not a crate: `rapport-node` and `rapport-ffi` each `include!` this file from
// their `types.rs`, because the UniFFI records must be defined in the ffi crate (so the Python
// module `rapport_ffi` and the Kotlin and Swift APIs keep their names) and the napi objects in the
// node crate (so `index.d.ts` keeps its names). Each crate defines before the include:
// - `record!`, which declares a struct with that binding's attributes. Field markers, in this
//   order after the field's docs: `#[ts = "..."]`, the TypeScript type (napi `ts_type`; ignored by
//   UniFFI); `#[optional]`, a field callers may leave out (`#[uniffi(default)]`; napi makes every
//   `Option` optional already). A field's type is a name with at most one generic argument.
// - `Counts`, a map from a name to a count (napi: `BTreeMap` for a stable key order; UniFFI only
//   takes `HashMap`).
// - `crate::error::invalid`, the binding's invalid-input error.
// Docs inside `record!` are `#[doc = "..."]`, not `///`: macro_rules turns a `///` into a raw
// string, which napi copies into `index.d.ts` with its `r"` prefix.
// Dates are ISO 8601 strings in UTC (`2024-03-01T12:00:00Z`), as in `rapport --json` and the RPC
// protocol. Method names in docs are the JavaScript, Kotlin and Swift ones; Python uses snake_case.

use rapport_core as core;
use rapport_core::time::{Timestamp, format_iso, parse_when};

use crate::error::invalid;

fn iso(t: Timestamp) -> String {
    format_iso(t.0)
}

fn iso_opt(t: Option<Timestamp>) -> Option<String> {
    t.map(iso)
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A `now` override (ISO date) or the current time.
pub fn now_of(now: Option<&str>) -> core::Result<i64> {
    let current = core::time::now();
    match now {
        None => Ok(current),
        Some(s) => parse_when(s, current).ok_or_else(|| {
            invalid(format!(
                "'{s}' is not a date (use 2024-03-01 or 2024-03-01T12:00:00Z)"
            ))
        }),
    }
}

fn when(s: Option<&str>, now: i64) -> core::Result<Option<i64>> {
    s.map(|v| {
        parse_when(v, now).ok_or_else(|| {
            invalid(format!(
                "'{v}' is not a date (use 2024-03-01, or a span such as 30d, 2w, 6m, 1y)"
            ))
        })
    })
    .transpose()
}

fn limit(n: Option<u32>, default: usize) -> usize {
    n.map_or(default, |n| n as usize)
}

// ----- inputs -----

record! {
    #[doc = " Options for `importPaths`."]
    #[derive(Default)]
    pub struct ImportOptions {
        #[doc = " Contact policy for this import only: `sent-only`, `sent-and-received` or `none`."]
        #[ts = "'sent-only' | 'sent-and-received' | 'none'"]
        #[optional]
        pub policy: Option<String>,
        #[doc = " Also keep the first ~200 characters of each body (default: headers only)."]
        #[optional]
        pub snippet: Option<bool>,
    }
}

impl ImportOptions {
    pub fn to_core(&self) -> core::Result<core::ImportOptions> {
        Ok(core::ImportOptions {
            snippet: self.snippet.unwrap_or(false),
            policy: self.policy.as_deref().map(str::parse).transpose()?,
            ..Default::default()
        })
    }
}

record! {
    #[doc = " Where a message handed to `ingest` was seen."]
    pub struct SourceRef {
        #[doc = " `file`, `imap`, `thunderbird`, `outlook`, `api`"]
        #[doc = " (or `ews`, `graph`, `pop3`, `pst`)."]
        pub kind: String,
        #[doc = " A path, a UID or the client's own id; with `kind`, it identifies the source."]
        pub external_id: String,
        #[optional]
        pub account: Option<String>,
        #[optional]
        pub folder: Option<String>,
    }
}

impl TryFrom<SourceRef> for core::SourceRef {
    type Error = core::Error;

    fn try_from(s: SourceRef) -> core::Result<Self> {
        Ok(core::SourceRef {
            kind: s.kind.parse()?,
            account: s.account.unwrap_or_default(),
            folder: s.folder.unwrap_or_default(),
            external_id: s.external_id,
        })
    }
}

record! {
    #[doc = " Filters and order for `contacts`. Every field is optional."]
    #[derive(Default)]
    pub struct ContactQuery {
        #[doc = " `last-contact` (default), `first-contact`, `newest` (first contact, newest first),"]
        #[doc = " `messages`, `inbound`, `outbound`, `threads` or `name`."]
        #[ts = "'last-contact' | 'first-contact' | 'newest' | 'messages' | 'inbound' | 'outbound' | 'threads' | 'name'"]
        #[optional]
        pub sort: Option<String>,
        #[doc = " Only contacts with mail both ways (`two-way`), only sent (`sent-only`)"]
        #[doc = " or only received (`received-only`)."]
        #[ts = "'two-way' | 'sent-only' | 'received-only'"]
        #[optional]
        pub flow: Option<String>,
        #[doc = " Only contacts with an address at this domain (subdomains included)."]
        #[optional]
        pub domain: Option<String>,
        #[optional]
        pub group: Option<String>,
        #[doc = " Last contact on or after this date (`2024-01-31`) or span back from now (`90d`)."]
        #[optional]
        pub since: Option<String>,
        #[doc = " Last contact before this date or span back from now."]
        #[optional]
        pub until: Option<String>,
        #[doc = " At least this many messages, both ways together."]
        #[optional]
        pub min_messages: Option<i64>,
        #[doc = " At most this many contacts (default 50)."]
        #[optional]
        pub limit: Option<u32>,
        #[optional]
        pub offset: Option<u32>,
        #[doc = " Only contacts whose name or an address contains this (any case)."]
        #[optional]
        pub search: Option<String>,
        #[doc = " Only contacts in no group."]
        #[optional]
        pub ungrouped: Option<bool>,
        #[doc = " Only contacts with mail of this class (person, list, bulk, auto, bounce)."]
        #[optional]
        pub class: Option<String>,
        #[doc = " Only contacts first in touch since this date or span (`7d`)."]
        #[optional]
        pub new_since: Option<String>,
        #[doc = " \"Now\" for due dates and spans (ISO date; default: the current time)."]
        #[optional]
        pub now: Option<String>,
    }
}

impl ContactQuery {
    pub fn to_core(&self) -> core::Result<(core::ContactQuery, i64)> {
        let now = now_of(self.now.as_deref())?;
        let sort = match self.sort.as_deref() {
            None => core::ContactSort::default(),
            Some(s) => s.parse()?,
        };
        let flow = match self.flow.as_deref() {
            None => None,
            Some(s) => Some(s.parse()?),
        };
        let q = core::ContactQuery {
            sort,
            flow,
            domain: self.domain.clone(),
            group: self.group.clone(),
            since: when(self.since.as_deref(), now)?,
            until: when(self.until.as_deref(), now)?,
            min_messages: self.min_messages.unwrap_or(0),
            limit: limit(self.limit, 50),
            offset: self.offset.map_or(0, |n| n as usize),
            text: self.search.clone(),
            ungrouped: self.ungrouped.unwrap_or(false),
            class: self.class.clone(),
            first_since: when(self.new_since.as_deref(), now)?,
        };
        Ok((q, now))
    }
}

record! {
    #[doc = " Filters for `threads`."]
    #[derive(Default)]
    pub struct ThreadQuery {
        #[doc = " Only threads this address (or its contact's other addresses) took part in."]
        #[optional]
        pub with: Option<String>,
        #[doc = " Only threads waiting on `me` or on `them`."]
        #[ts = "'me' | 'them'"]
        #[optional]
        pub waiting: Option<String>,
        #[doc = " Only threads active since this date or span (`30d`)."]
        #[optional]
        pub since: Option<String>,
        #[doc = " At most this many threads (default 50)."]
        #[optional]
        pub limit: Option<u32>,
        #[doc = " \"Now\" (ISO date; default: the current time)."]
        #[optional]
        pub now: Option<String>,
    }
}

impl ThreadQuery {
    pub fn to_core(&self) -> core::Result<(core::ThreadQuery, i64)> {
        let now = now_of(self.now.as_deref())?;
        let q = core::ThreadQuery {
            with: self.with.clone(),
            waiting: self.waiting.as_deref().map(str::parse).transpose()?,
            since: when(self.since.as_deref(), now)?,
            limit: limit(self.limit, 50),
        };
        Ok((q, now))
    }
}

record! {
    #[doc = " Filters for `awaiting`."]
    #[derive(Default)]
    pub struct AwaitingQuery {
        #[doc = " Only threads waiting on `me` (the user owes an answer) or on `them`;"]
        #[doc = " both by default."]
        #[ts = "'me' | 'them'"]
        #[optional]
        pub on: Option<String>,
        #[doc = " Days after the user's last message before a thread waits on them (default 3)."]
        #[optional]
        pub grace_days: Option<i64>,
        #[doc = " Ignore threads whose waiting message is older than this many days"]
        #[doc = " (default 0: no limit)."]
        #[optional]
        pub max_age_days: Option<i64>,
        #[doc = " At most this many threads (default 50)."]
        #[optional]
        pub limit: Option<u32>,
        #[doc = " \"Now\" (ISO date; default: the current time)."]
        #[optional]
        pub now: Option<String>,
    }
}

impl AwaitingQuery {
    pub fn to_core(&self) -> core::Result<core::AwaitingQuery> {
        let mut q = core::AwaitingQuery::new(now_of(self.now.as_deref())?);
        q.who = self.on.as_deref().map(str::parse).transpose()?;
        if let Some(d) = self.grace_days {
            q.their_grace_days = d;
        }
        if let Some(d) = self.max_age_days {
            q.max_age_days = d;
        }
        q.limit = limit(self.limit, 50);
        Ok(q)
    }
}

// ----- outputs -----

record! {
    #[doc = " Where an import stands; passed to the progress callback about ten times a second."]
    pub struct ImportProgress {
        pub files_total: i64,
        pub bytes_total: i64,
        pub files_done: i64,
        pub bytes_done: i64,
        pub messages: i64,
        pub stored: i64,
        pub duplicates: i64,
        pub skipped: i64,
    }
}

impl From<&core::ImportProgress> for ImportProgress {
    fn from(p: &core::ImportProgress) -> Self {
        Self {
            files_total: count(p.files_total),
            bytes_total: count(p.bytes_total),
            files_done: count(p.files_done),
            bytes_done: count(p.bytes_done),
            messages: count(p.messages),
            stored: count(p.stored),
            duplicates: count(p.duplicates),
            skipped: count(p.skipped),
        }
    }
}

record! {
    #[doc = " An input that was not stored, and why."]
    pub struct SkipRecord {
        pub location: String,
        pub reason: String,
        pub detail: String,
    }
}

impl From<core::SkipRecord> for SkipRecord {
    fn from(s: core::SkipRecord) -> Self {
        Self {
            location: s.location,
            reason: s.reason,
            detail: s.detail,
        }
    }
}

record! {
    #[doc = " What an import did."]
    pub struct ImportSummary {
        pub files: i64,
        pub bytes: i64,
        pub messages_read: i64,
        #[doc = " New messages."]
        pub stored: i64,
        #[doc = " Messages already stored (seen again, or a second copy)."]
        pub duplicates: i64,
        pub skipped: i64,
        #[doc = " Skipped inputs per reason."]
        #[ts = "Record<string, number>"]
        pub skipped_by_reason: Counts,
        pub errors: Vec<SkipRecord>,
        pub elapsed_ms: i64,
        pub messages_per_sec: i64,
    }
}

impl From<core::ImportSummary> for ImportSummary {
    fn from(s: core::ImportSummary) -> Self {
        Self {
            files: count(s.files),
            bytes: count(s.bytes),
            messages_read: count(s.messages_read),
            stored: count(s.stored),
            duplicates: count(s.duplicates),
            skipped: count(s.skipped),
            skipped_by_reason: s
                .skipped_by_reason
                .into_iter()
                .map(|(k, v)| (k, count(v)))
                .collect(),
            errors: s.errors.into_iter().map(SkipRecord::from).collect(),
            elapsed_ms: count(s.elapsed_ms),
            messages_per_sec: count(s.messages_per_sec),
        }
    }
}

record! {
    #[doc = " The result of `ingest`."]
    pub struct Captured {
        #[doc = " `stored` (a new message) or `duplicate` (already known; only the source"]
        #[doc = " was recorded)."]
        #[ts = "'stored' | 'duplicate'"]
        pub outcome: String,
        #[doc = " The stored message's key: its Message-ID, or a hash for messages without one."]
        pub message_id: String,
        pub thread_id: i64,
    }
}

impl From<core::Captured> for Captured {
    fn from(c: core::Captured) -> Self {
        Self {
            outcome: match c.outcome {
                core::IngestOutcome::Stored => "stored",
                core::IngestOutcome::Duplicate => "duplicate",
            }
            .to_string(),
            message_id: c.message_id,
            thread_id: c.thread_id,
        }
    }
}

record! {
    #[doc = " Counts over the whole database."]
    pub struct Stats {
        pub messages: i64,
        pub threads: i64,
        pub contacts: i64,
        #[doc = " Distinct normalised addresses seen in From, To or Cc."]
        pub addresses: i64,
        #[doc = " Every place a message was seen (files, IMAP UIDs, plugin captures)."]
        pub sources: i64,
        pub identities: i64,
        pub skipped_inputs: i64,
        #[doc = " Messages per classification (`person`, `list`, `bulk`, `auto`, `bounce`)."]
        #[ts = "Record<string, number>"]
        pub by_class: Counts,
        #[doc = " Messages per direction (`inbound`, `outbound`, `internal`)."]
        #[ts = "Record<string, number>"]
        pub by_direction: Counts,
        pub first_date: Option<String>,
        pub last_date: Option<String>,
    }
}

impl From<core::Stats> for Stats {
    fn from(s: core::Stats) -> Self {
        Self {
            messages: s.messages,
            threads: s.threads,
            contacts: s.contacts,
            addresses: s.addresses,
            sources: s.sources,
            identities: s.identities,
            skipped_inputs: s.skipped_inputs,
            by_class: s.by_class.into_iter().collect(),
            by_direction: s.by_direction.into_iter().collect(),
            first_date: iso_opt(s.first_date),
            last_date: iso_opt(s.last_date),
        }
    }
}

record! {
    #[doc = " One contact in a list."]
    pub struct Contact {
        pub id: i64,
        pub name: String,
        pub email: String,
        pub group: String,
        pub first_contact: Option<String>,
        pub last_contact: Option<String>,
        pub last_inbound: Option<String>,
        pub last_outbound: Option<String>,
        pub inbound_count: i64,
        pub outbound_count: i64,
        pub thread_count: i64,
        #[doc = " How often, in days, the user wants to be in touch (own or the group's)."]
        pub cadence_days: Option<i64>,
        #[doc = " When the next touch is due (last contact + cadence), if a cadence applies."]
        pub due: Option<String>,
        pub neglected: bool,
        #[doc = " Left out of `neglected` until then."]
        pub snoozed_until: Option<String>,
    }
}

impl From<core::ContactSummary> for Contact {
    fn from(c: core::ContactSummary) -> Self {
        Self {
            id: c.id,
            name: c.name,
            email: c.email,
            group: c.group,
            first_contact: iso_opt(c.first_contact),
            last_contact: iso_opt(c.last_contact),
            last_inbound: iso_opt(c.last_inbound),
            last_outbound: iso_opt(c.last_outbound),
            inbound_count: c.inbound_count,
            outbound_count: c.outbound_count,
            thread_count: c.thread_count,
            cadence_days: c.cadence_days,
            due: iso_opt(c.due),
            neglected: c.neglected,
            snoozed_until: iso_opt(c.snoozed_until),
        }
    }
}

record! {
    #[doc = " One address of a contact, with its status."]
    pub struct AddressInfo {
        pub email: String,
        pub name: String,
        pub status: String,
        pub reason: String,
    }
}

record! {
    #[doc = " A display name a contact used, and when."]
    pub struct NameUse {
        pub name: String,
        pub first_seen: String,
        pub last_seen: String,
        pub uses: i64,
    }
}

record! {
    #[doc = " A thread that waits on the user (`me`) or on the contact (`them`)."]
    pub struct AwaitingItem {
        pub thread_id: i64,
        pub subject: String,
        #[ts = "'me' | 'them'"]
        pub waiting_on: String,
        #[doc = " Date of the message that waits for an answer."]
        pub since: String,
        pub age_days: i64,
        pub contact_email: String,
        pub contact_name: String,
        pub message_id: String,
    }
}

impl From<core::AwaitingItem> for AwaitingItem {
    fn from(a: core::AwaitingItem) -> Self {
        Self {
            thread_id: a.thread_id,
            subject: a.subject,
            waiting_on: a.waiting_on.as_str().to_string(),
            since: iso(a.since),
            age_days: a.age_days,
            contact_email: a.contact_email,
            contact_name: a.contact_name,
            message_id: a.message_id,
        }
    }
}

record! {
    #[doc = " One message in a contact's timeline."]
    pub struct TimelineEntry {
        pub date: String,
        #[doc = " `inbound`, `outbound` or `internal`."]
        pub direction: String,
        #[doc = " `person`, `list`, `bulk`, `auto` or `bounce`."]
        pub classification: String,
        pub subject: String,
        pub thread_id: i64,
        pub message_id: String,
        #[doc = " The sender's address."]
        pub from_address: String,
    }
}

impl From<core::TimelineEntry> for TimelineEntry {
    fn from(t: core::TimelineEntry) -> Self {
        Self {
            date: iso(t.date),
            direction: t.direction,
            classification: t.class,
            subject: t.subject,
            thread_id: t.thread_id,
            message_id: t.message_id,
            from_address: t.from,
        }
    }
}

record! {
    #[doc = " Everything known about one contact."]
    pub struct ContactDetail {
        pub contact: Contact,
        pub addresses: Vec<AddressInfo>,
        pub name_history: Vec<NameUse>,
        #[doc = " Median seconds the user took to answer this contact."]
        pub median_reply_mine_secs: Option<i64>,
        #[doc = " Median seconds this contact took to answer the user."]
        pub median_reply_theirs_secs: Option<i64>,
        #[doc = " Threads with this contact that wait on someone."]
        pub open_threads: Vec<AwaitingItem>,
        #[doc = " The most recent messages."]
        pub recent: Vec<TimelineEntry>,
    }
}

impl From<core::ContactDetail> for ContactDetail {
    fn from(d: core::ContactDetail) -> Self {
        Self {
            contact: Contact::from(d.summary),
            addresses: d
                .addresses
                .into_iter()
                .map(|a| AddressInfo {
                    email: a.email,
                    name: a.name,
                    status: a.status,
                    reason: a.reason,
                })
                .collect(),
            name_history: d
                .name_history
                .into_iter()
                .map(|n| NameUse {
                    name: n.name,
                    first_seen: iso(n.first_seen),
                    last_seen: iso(n.last_seen),
                    uses: n.uses,
                })
                .collect(),
            median_reply_mine_secs: d.median_reply_mine_secs,
            median_reply_theirs_secs: d.median_reply_theirs_secs,
            open_threads: d.open_threads.into_iter().map(AwaitingItem::from).collect(),
            recent: d.recent.into_iter().map(TimelineEntry::from).collect(),
        }
    }
}

record! {
    #[doc = " One thread in a list."]
    pub struct Thread {
        pub id: i64,
        pub subject: String,
        pub first_date: String,
        pub last_date: String,
        pub message_count: i64,
        pub last_direction: String,
        #[doc = " `me`, `them` or empty."]
        pub waiting_on: String,
        pub participants: Vec<String>,
    }
}

impl From<core::ThreadSummary> for Thread {
    fn from(t: core::ThreadSummary) -> Self {
        Self {
            id: t.id,
            subject: t.subject,
            first_date: iso(t.first_date),
            last_date: iso(t.last_date),
            message_count: t.message_count,
            last_direction: t.last_direction,
            waiting_on: t.waiting_on,
            participants: t.participants,
        }
    }
}

record! {
    #[doc = " One message of a thread, in reply-tree order."]
    pub struct ThreadMessage {
        pub message_id: String,
        pub date: String,
        pub from_address: String,
        pub from_name: String,
        pub subject: String,
        pub direction: String,
        pub classification: String,
        #[doc = " Depth in the reply tree (0 for a root)."]
        pub depth: u32,
    }
}

record! {
    #[doc = " A thread with its messages."]
    pub struct ThreadDetail {
        pub thread: Thread,
        pub messages: Vec<ThreadMessage>,
    }
}

impl From<core::ThreadDetail> for ThreadDetail {
    fn from(t: core::ThreadDetail) -> Self {
        Self {
            thread: Thread::from(t.summary),
            messages: t
                .messages
                .into_iter()
                .map(|m| ThreadMessage {
                    message_id: m.message_id,
                    date: iso(m.date),
                    from_address: m.from,
                    from_name: m.from_name,
                    subject: m.subject,
                    direction: m.direction,
                    classification: m.class,
                    depth: u32::try_from(m.depth).unwrap_or(u32::MAX),
                })
                .collect(),
        }
    }
}

record! {
    #[doc = " A contact whose cadence has run out."]
    pub struct NeglectedItem {
        pub contact: Contact,
        pub overdue_days: i64,
    }
}

impl From<core::NeglectedItem> for NeglectedItem {
    fn from(n: core::NeglectedItem) -> Self {
        Self {
            contact: Contact::from(n.contact),
            overdue_days: n.overdue_days,
        }
    }
}

record! {
    #[doc = " One search result."]
    pub struct SearchHit {
        #[doc = " `contact`, `address` or `message`."]
        #[ts = "'contact' | 'address' | 'message'"]
        pub kind: String,
        pub title: String,
        pub detail: String,
        pub date: Option<String>,
        pub thread_id: Option<i64>,
        pub email: Option<String>,
    }
}

impl From<core::SearchHit> for SearchHit {
    fn from(h: core::SearchHit) -> Self {
        Self {
            kind: h.kind,
            title: h.title,
            detail: h.detail,
            date: iso_opt(h.date),
            thread_id: h.thread_id,
            email: h.email,
        }
    }
}

record! {
    #[doc = " Why an address is, or is not, a contact."]
    pub struct Explanation {
        pub address: String,
        pub key: String,
        pub known: bool,
        pub is_contact: bool,
        pub is_identity: bool,
        pub status: String,
        pub reason: String,
        pub policy: String,
        pub messages_from: i64,
        pub messages_to: i64,
        #[ts = "Record<string, number>"]
        pub by_class: Counts,
        pub contact_id: Option<i64>,
    }
}

impl From<core::Explanation> for Explanation {
    fn from(e: core::Explanation) -> Self {
        Self {
            address: e.address,
            key: e.key,
            known: e.known,
            is_contact: e.is_contact,
            is_identity: e.is_identity,
            status: e.status,
            reason: e.reason,
            policy: e.policy.as_str().to_string(),
            messages_from: e.messages_from,
            messages_to: e.messages_to,
            by_class: e.by_class.into_iter().collect(),
            contact_id: e.contact_id,
        }
    }
}

record! {
    #[doc = " One of the user's own addresses (or a candidate seen in a Sent folder)."]
    pub struct Identity {
        pub email: String,
        #[doc = " How it became known (configured, sent folder)."]
        pub origin: String,
        pub confirmed: bool,
        pub account: String,
        #[doc = " Messages seen from it."]
        pub seen: i64,
    }
}

impl From<core::Identity> for Identity {
    fn from(i: core::Identity) -> Self {
        Self {
            email: i.email,
            origin: i.origin,
            confirmed: i.confirmed,
            account: i.account,
            seen: i.seen,
        }
    }
}

record! {
    #[doc = " A block or allow rule for an address or a domain."]
    pub struct Rule {
        pub id: i64,
        #[ts = "'block' | 'allow'"]
        pub action: String,
        pub pattern: String,
    }
}

impl From<core::Rule> for Rule {
    fn from(r: core::Rule) -> Self {
        Self {
            id: r.id,
            action: r.action,
            pattern: r.pattern,
        }
    }
}

// ----- IMAP sync -----

record! {
    #[doc = " An IMAP account to sync (the same fields as an `accounts.toml` entry of the"]
    #[doc = " CLI). The secret comes from `passwordEnv` or `passwordCommand` (or"]
    #[doc = " `oauth2TokenCommand` for XOAUTH2; in Python `password_env`, `password_command`,"]
    #[doc = " `oauth2_token_command`), never from the record itself."]
    pub struct SyncAccount {
        #[doc = " A name without spaces; sync state is kept per account name."]
        pub name: String,
        pub host: String,
        #[doc = " Default: 993 for `tls`, 143 otherwise."]
        #[optional]
        pub port: Option<u32>,
        #[doc = " `tls` (default), `starttls` or `none` (loopback only, unless `insecure`)."]
        #[ts = "'tls' | 'starttls' | 'none'"]
        #[optional]
        pub security: Option<String>,
        pub user: String,
        #[doc = " The account's own address (it becomes an identity)."]
        #[optional]
        pub email: Option<String>,
        #[doc = " `password` (default) or `xoauth2`."]
        #[ts = "'password' | 'xoauth2'"]
        #[optional]
        pub auth: Option<String>,
        #[doc = " An environment variable holding the password."]
        #[optional]
        pub password_env: Option<String>,
        #[doc = " A shell command printing the password."]
        #[optional]
        pub password_command: Option<String>,
        #[doc = " A shell command printing an OAuth2 access token (for `xoauth2`)."]
        #[optional]
        pub oauth2_token_command: Option<String>,
        #[doc = " A PEM file of extra trusted CA certificates."]
        #[optional]
        pub ca_file: Option<String>,
        #[doc = " Allow an unencrypted connection to a non-loopback host."]
        #[optional]
        pub insecure: Option<bool>,
        #[doc = " Also sync Junk, Trash and Drafts."]
        #[optional]
        pub junk: Option<bool>,
        #[optional]
        pub trash: Option<bool>,
        #[optional]
        pub drafts: Option<bool>,
        #[doc = " Folders never to sync."]
        #[optional]
        pub exclude: Option<Vec<String>>,
        #[doc = " `imap` (default), `ews` (on-premises Exchange: `host` is the Exchange server,"]
        #[doc = " `user` any login form, `port` and `security` unused) or `graph` (Microsoft 365,"]
        #[doc = " Outlook.com: signed in beforehand with `rapport account add`/`login`, whose"]
        #[doc = " tokens file `tokenFile` names; `host`, `user` and the secret are unused)."]
        #[ts = "'imap' | 'ews' | 'graph'"]
        #[optional]
        pub kind: Option<String>,
        #[doc = " An `ews` account's endpoint, when it is not https://HOST/EWS/Exchange.asmx."]
        #[optional]
        pub ews_url: Option<String>,
        #[doc = " A `graph` account's application (client) id."]
        #[optional]
        pub client_id: Option<String>,
        #[doc = " Where a `graph` account signs in [default: https://login.microsoftonline.com/common]."]
        #[optional]
        pub authority: Option<String>,
        #[doc = " Microsoft Graph's endpoint [default: https://graph.microsoft.com/v1.0]."]
        #[optional]
        pub graph_url: Option<String>,
        #[doc = " A `graph` account's tokens file, as `rapport account add` or `login` named it (where a keyring answered, the tokens are in it under that name)."]
        #[optional]
        pub token_file: Option<String>,
    }
}

impl SyncAccount {
    pub fn to_core(&self) -> core::Result<core::config::Account> {
        use core::config::{AccountKind, AccountSpec, FolderPolicy};
        let port = self
            .port
            .map(|p| u16::try_from(p).map_err(|_| invalid(format!("port {p} is out of range"))))
            .transpose()?;
        let spec = AccountSpec {
            name: self.name.clone(),
            kind: match self.kind.as_deref() {
                None => AccountKind::Imap,
                Some(kind) => match kind.parse()? {
                    kind @ (AccountKind::Imap | AccountKind::Ews | AccountKind::Graph) => kind,
                    other => {
                        return Err(invalid(format!(
                            "a {other} account cannot be synced through this call (imap, ews or graph)"
                        )));
                    }
                },
            },
            email: self.email.clone(),
            office365: false,
            host: Some(self.host.clone()),
            port,
            security: self.security.as_deref().map(str::parse).transpose()?,
            user: Some(self.user.clone()),
            auth: Some(self.auth.as_deref().unwrap_or("password").parse()?),
            password_command: self.password_command.clone(),
            password_env: self.password_env.clone(),
            oauth2_token_command: self.oauth2_token_command.clone(),
            ca_file: self.ca_file.clone().map(std::path::PathBuf::from),
            insecure: self.insecure.unwrap_or(false),
            folders: FolderPolicy {
                junk: self.junk.unwrap_or(false),
                trash: self.trash.unwrap_or(false),
                drafts: self.drafts.unwrap_or(false),
                exclude: self.exclude.clone().unwrap_or_default(),
                only: Vec::new(),
            },
            path: None,
            ews_url: self.ews_url.clone(),
            client_id: self.client_id.clone(),
            authority: self.authority.clone(),
            graph_url: self.graph_url.clone(),
            token_file: self.token_file.clone().map(std::path::PathBuf::from),
        };
        spec.build().map(|(account, _)| account)
    }
}

record! {
    #[doc = " Options for `syncAccount`."]
    #[derive(Default)]
    pub struct SyncOptions {
        #[doc = " Only these folders (default: every folder the account selects)."]
        #[optional]
        pub folders: Option<Vec<String>>,
    }
}

impl SyncOptions {
    pub fn to_core(&self) -> core::syncer::SyncOptions {
        core::syncer::SyncOptions {
            folders: self.folders.clone().unwrap_or_default(),
            window: core::syncer::WINDOW,
        }
    }
}

record! {
    #[doc = " Where a folder's sync stands; passed to the progress callback after every window."]
    pub struct SyncProgress {
        pub account: String,
        pub folder: String,
        #[doc = " Messages this sync will fetch in the folder."]
        pub total: i64,
        pub done: i64,
        pub stored: i64,
        pub finished: bool,
    }
}

impl From<&core::syncer::SyncProgress> for SyncProgress {
    fn from(p: &core::syncer::SyncProgress) -> Self {
        Self {
            account: p.account.clone(),
            folder: p.folder.clone(),
            total: count(p.total),
            done: count(p.done),
            stored: count(p.stored),
            finished: p.finished,
        }
    }
}

record! {
    #[doc = " What a sync did in one folder."]
    pub struct FolderReport {
        pub folder: String,
        #[doc = " The folder's role: `inbox`, `sent`, `archive`, `junk`, `trash` or `drafts`,"]
        #[doc = " if known."]
        pub special_use: Option<String>,
        pub uidvalidity: u32,
        pub fetched: i64,
        pub stored: i64,
        pub duplicates: i64,
        pub skipped: i64,
        #[doc = " `synced`, `unchanged` or `error`."]
        pub status: String,
        #[doc = " `reapproved` or `rebuilt` when the folder's UIDVALIDITY changed."]
        pub uidvalidity_change: Option<String>,
        pub error: Option<String>,
    }
}

record! {
    #[doc = " What a sync of one account did."]
    pub struct SyncReport {
        pub account: String,
        pub folders: Vec<FolderReport>,
        pub fetched: i64,
        pub stored: i64,
        pub duplicates: i64,
        pub skipped: i64,
        pub elapsed_ms: i64,
    }
}

impl From<core::syncer::SyncReport> for SyncReport {
    fn from(r: core::syncer::SyncReport) -> Self {
        Self {
            account: r.account,
            folders: r
                .folders
                .into_iter()
                .map(|f| FolderReport {
                    folder: f.folder,
                    special_use: (f.role != core::FolderRole::Other)
                        .then(|| f.role.as_str().to_string()),
                    uidvalidity: f.uidvalidity,
                    fetched: count(f.fetched),
                    stored: count(f.stored),
                    duplicates: count(f.duplicates),
                    skipped: count(f.skipped),
                    status: f.status,
                    uidvalidity_change: f.reset,
                    error: f.error,
                })
                .collect(),
            fetched: count(r.fetched),
            stored: count(r.stored),
            duplicates: count(r.duplicates),
            skipped: count(r.skipped),
            elapsed_ms: count(r.elapsed_ms),
        }
    }
}
