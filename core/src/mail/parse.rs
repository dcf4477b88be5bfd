//! Raw message bytes → [`Envelope`]: the header fields Rapport needs, decoded and normalised.
//! Bodies are not decoded unless the opt-in snippet asks for one.

use std::collections::HashSet;

use mail_parser::{Address, HeaderName, HeaderValue, MessageParser};
use sha2::{Digest, Sha256};

use super::address::{AddressKey, clean_display_name, normalize_address};
use super::ids::{hex, parse_id_strict, parse_ids, parse_message_id};
use super::subject;

/// A mailbox from an address header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: AddressKey,
}

/// Why the stored date is the capture time rather than the Date header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    Missing,
    Invalid,
}

impl DateProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            DateProblem::Missing => "missing",
            DateProblem::Invalid => "invalid",
        }
    }
}

/// Everything Rapport keeps from one message's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub message_id: Option<String>,
    /// `X-Microsoft-Original-Message-ID`: the id the sender gave before Outlook's servers
    /// rewrote `Message-ID`.
    pub original_message_id: Option<String>,
    /// `X-Rapport-Id`, stamped by the Outlook add-in's send handler.
    pub tracking_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub in_reply_to_strict: Option<String>,
    pub references: Vec<String>,
    /// Seconds since the Unix epoch, UTC.
    pub date: i64,
    pub date_problem: Option<DateProblem>,
    pub subject: String,
    pub from: Vec<Mailbox>,
    pub sender: Vec<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    pub list_id: Option<String>,
    pub list_post: Option<String>,
    pub list_unsubscribe: bool,
    pub list_unsubscribe_one_click: bool,
    pub precedence: Option<String>,
    pub auto_submitted: Option<String>,
    pub auto_response_suppress: Option<String>,
    pub null_return_path: bool,
    pub feedback_id: Option<String>,
    pub thread_index: Option<String>,
    pub thread_topic: Option<String>,
    /// `type/subtype` of the top-level Content-Type, lower-cased.
    pub content_type: Option<String>,
    /// The `report-type` parameter of a multipart/report.
    pub report_type: Option<String>,
    /// The name of a vendor auto-reply header (`X-Autoreply`, `X-Autorespond`, …) if present.
    pub auto_reply_header: Option<String>,
    pub snippet: Option<String>,
    /// Hash over the identifying header fields; decides between copies that share an id.
    pub content_hash: String,
    /// What was left out because it went past a bound ([`MAX_ADDRESSES_PER_FIELD`],
    /// [`MAX_REFERENCE_IDS`], [`MAX_IN_REPLY_TO_IDS`]), one line each; the message is stored
    /// with the rest, and these lines are recorded beside it.
    pub trimmed: Vec<String>,
}

/// Most addresses kept from one address field (To, Cc, …). Real mail to thousands of people
/// exists; a field of 100,000 addresses is an attack on the writer's time, not a conversation.
pub const MAX_ADDRESSES_PER_FIELD: usize = 5_000;
/// Most References ids kept: the first (the thread's root) and the latest ones, which decide the
/// parent and the nearest ancestors.
pub const MAX_REFERENCE_IDS: usize = 1_000;
/// Most In-Reply-To ids kept (real mail has one, rarely a few).
pub const MAX_IN_REPLY_TO_IDS: usize = 100;

/// Options for [`parse_envelope`].
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Used as the date when the Date header is missing or absurd (seconds since the epoch).
    pub capture_time: i64,
    /// Decode the body to keep the first ~200 characters of text.
    pub snippet: bool,
}

/// Why a byte string could not be read as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty input")]
    Empty,
    #[error("not an email message: no header fields found")]
    NoHeaders,
    #[error("no From, To, Date, Subject or Message-ID header: nothing to record")]
    NotMail,
}

const SNIPPET_CHARS: usize = 200;
/// Dates more than this far after the capture time are treated as bogus.
const FUTURE_SLACK_SECS: i64 = 2 * 86_400;

fn header_parser() -> MessageParser {
    // Only the fields Rapport decodes are parsed; every other header is skipped (its raw bytes
    // stay reachable through the header's offsets, which is all the id and list fields need).
    MessageParser::new()
        .header_address(HeaderName::From)
        .header_address(HeaderName::Sender)
        .header_address(HeaderName::ReplyTo)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_address(HeaderName::Bcc)
        .header_date(HeaderName::Date)
        .header_text(HeaderName::Subject)
        .header_content_type(HeaderName::ContentType)
        .default_header_ignore()
}

fn body_parser() -> MessageParser {
    MessageParser::new()
        .with_mime_headers()
        .header_address(HeaderName::From)
        .header_address(HeaderName::Sender)
        .header_address(HeaderName::ReplyTo)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_address(HeaderName::Bcc)
        .header_date(HeaderName::Date)
        .header_text(HeaderName::Subject)
        .header_raw(HeaderName::MessageId)
        .header_raw(HeaderName::InReplyTo)
        .header_raw(HeaderName::References)
        .header_raw(HeaderName::ListId)
        .header_raw(HeaderName::ListPost)
        .header_raw(HeaderName::ListUnsubscribe)
        .header_raw(HeaderName::ReturnPath)
        .ignore_header(HeaderName::Received)
        .default_header_raw()
}

thread_local! {
    static HEADER_PARSER: MessageParser = header_parser();
    static BODY_PARSER: MessageParser = body_parser();
}

/// A header value as text: borrowed when it is valid UTF-8 (nearly always), else with U+FFFD.
fn text(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(raw)
}

/// A header value unfolded, with runs of whitespace collapsed to one space.
fn unfold(raw: &[u8]) -> String {
    text(raw).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Appends a header value to the hashed bytes as `unfold` would write it: line ends and folding
/// are ignored, so CRLF and LF copies of a message hash alike. (The bytes are collected and
/// hashed once per message: many small hasher updates cost more than the copy.)
fn hash_folded(hashed: &mut Vec<u8>, raw: &[u8]) {
    let mut words = raw
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        hashed.extend_from_slice(first);
        for word in words {
            hashed.push(b' ');
            hashed.extend_from_slice(word);
        }
    }
}

/// Adds the field's addresses to `out`, each once (in linear time: a set of the keys seen), at
/// most [`MAX_ADDRESSES_PER_FIELD`]; what goes past the bound is noted in `trimmed`.
fn mailboxes(
    value: &HeaderValue<'_>,
    out: &mut Vec<Mailbox>,
    field: &str,
    trimmed: &mut Vec<String>,
) {
    let Some(address) = value.as_address() else {
        return;
    };
    let mut seen: HashSet<String> = out.iter().map(|m| m.address.key.clone()).collect();
    let mut left_out = 0usize;
    let mut push = |addr: &mail_parser::Addr<'_>| {
        if let Some(key) = addr.address().and_then(normalize_address) {
            if seen.contains(&key.key) {
                return;
            }
            if out.len() >= MAX_ADDRESSES_PER_FIELD {
                left_out += 1;
                return;
            }
            seen.insert(key.key.clone());
            let name = clean_display_name(addr.name(), &key.email);
            out.push(Mailbox { name, address: key });
        }
    };
    match address {
        Address::List(list) => list.iter().for_each(&mut push),
        Address::Group(groups) => groups
            .iter()
            .flat_map(|g| g.addresses.iter())
            .for_each(&mut push),
    }
    if left_out > 0 {
        trimmed.push(format!(
            "{field}: kept the first {MAX_ADDRESSES_PER_FIELD} addresses, left out {left_out} more"
        ));
    }
}

/// Keeps the first id and the latest `max - 1` of a long References list.
fn bound_references(ids: &mut Vec<String>, trimmed: &mut Vec<String>) {
    if ids.len() <= MAX_REFERENCE_IDS {
        return;
    }
    let total = ids.len();
    ids.drain(1..total - (MAX_REFERENCE_IDS - 1));
    trimmed.push(format!(
        "References: kept the first and the last {} of {total} ids",
        MAX_REFERENCE_IDS - 1
    ));
}

/// The bracketed id of a List-Id header (`Name <list.example.org>` → `list.example.org`).
fn list_id(raw: &str) -> Option<String> {
    parse_ids(raw)
        .into_iter()
        .next()
        .or_else(|| {
            let t = raw.trim();
            (!t.is_empty()).then(|| t.to_string())
        })
        .map(|s| s.to_lowercase())
}

/// The first `mailto:` target of a List-Post header.
fn list_post(raw: &str) -> Option<String> {
    let lower = raw.to_lowercase();
    let start = lower.find("mailto:")? + 7;
    let rest = &lower[start..];
    let end = rest.find(['>', '?', ',', ' ']).unwrap_or(rest.len());
    normalize_address(&rest[..end]).map(|a| a.key)
}

/// The most header bytes of one message that are parsed.
pub const MAX_HEADER_BYTES: usize = 16 << 20;

/// `raw` cut to at most [`MAX_HEADER_BYTES`] of header section (at a line end) when its header
/// section is longer; whether it was cut.
fn bound_header(raw: &[u8]) -> (&[u8], bool) {
    if raw.len() <= MAX_HEADER_BYTES {
        return (raw, false);
    }
    let window = &raw[..MAX_HEADER_BYTES];
    let mut last_line_end = None;
    let mut from = 0;
    while let Some(at) = window[from..].iter().position(|&b| b == b'\n') {
        let end = from + at;
        let next = &raw[end + 1..];
        if next.starts_with(b"\n") || next.starts_with(b"\r\n") {
            // The header section ends within the bound.
            return (raw, false);
        }
        last_line_end = Some(end);
        from = end + 1;
    }
    match last_line_end {
        Some(end) => (&raw[..=end], true),
        None => (window, true),
    }
}

/// Parses the header of `raw` into an [`Envelope`].
///
/// Never panics on malformed input by design, but callers that ingest untrusted archives still
/// isolate each call (see `ingest`), because the underlying parser has had panics before.
pub fn parse_envelope(raw: &[u8], options: ParseOptions) -> Result<Envelope, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let (raw, header_cut) = bound_header(raw);
    let parsed = if options.snippet {
        BODY_PARSER.with(|p| p.parse(raw))
    } else {
        HEADER_PARSER.with(|p| p.parse_headers(raw))
    };
    let message = parsed.ok_or(ParseError::NoHeaders)?;
    let headers = message.headers();
    if headers.is_empty() {
        return Err(ParseError::NoHeaders);
    }

    let mut env = Envelope::default();
    if header_cut {
        env.trimmed.push(format!(
            "header section longer than {} MiB: the rest of it was not read",
            MAX_HEADER_BYTES >> 20
        ));
    }
    let mut hashed: Vec<u8> = Vec::with_capacity(1024);
    let mut date = None;
    let mut saw_identifying_field = false;

    for header in headers {
        let raw_value = raw
            .get(header.offset_start() as usize..header.offset_end() as usize)
            .unwrap_or_default();
        match &header.name {
            HeaderName::From => {
                saw_identifying_field = true;
                hashed.extend_from_slice(b"from:");
                hash_folded(&mut hashed, raw_value);
                mailboxes(&header.value, &mut env.from, "From", &mut env.trimmed);
            }
            HeaderName::Sender => {
                mailboxes(&header.value, &mut env.sender, "Sender", &mut env.trimmed)
            }
            HeaderName::ReplyTo => mailboxes(
                &header.value,
                &mut env.reply_to,
                "Reply-To",
                &mut env.trimmed,
            ),
            HeaderName::To => {
                saw_identifying_field = true;
                hashed.extend_from_slice(b"to:");
                hash_folded(&mut hashed, raw_value);
                mailboxes(&header.value, &mut env.to, "To", &mut env.trimmed);
            }
            HeaderName::Cc => {
                hashed.extend_from_slice(b"cc:");
                hash_folded(&mut hashed, raw_value);
                mailboxes(&header.value, &mut env.cc, "Cc", &mut env.trimmed);
            }
            HeaderName::Bcc => mailboxes(&header.value, &mut env.bcc, "Bcc", &mut env.trimmed),
            HeaderName::Date => {
                saw_identifying_field = true;
                hashed.extend_from_slice(b"date:");
                hash_folded(&mut hashed, raw_value);
                if date.is_none() {
                    date = Some(header.value.as_datetime().copied());
                }
            }
            HeaderName::Subject => {
                saw_identifying_field = true;
                hashed.extend_from_slice(b"subject:");
                hash_folded(&mut hashed, raw_value);
                if env.subject.is_empty() {
                    env.subject = header
                        .value
                        .as_text()
                        .map(|s| {
                            crate::text::printable(s)
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default();
                }
            }
            HeaderName::MessageId => {
                saw_identifying_field = true;
                hashed.extend_from_slice(b"message-id:");
                hash_folded(&mut hashed, raw_value);
                if env.message_id.is_none() {
                    env.message_id = parse_message_id(&text(raw_value));
                }
            }
            HeaderName::InReplyTo => {
                hashed.extend_from_slice(b"in-reply-to:");
                hash_folded(&mut hashed, raw_value);
                if env.in_reply_to.is_empty() {
                    let value = text(raw_value);
                    env.in_reply_to_strict = parse_id_strict(&value);
                    env.in_reply_to = parse_ids(&value);
                    if env.in_reply_to.len() > MAX_IN_REPLY_TO_IDS {
                        let total = env.in_reply_to.len();
                        env.in_reply_to.truncate(MAX_IN_REPLY_TO_IDS);
                        env.trimmed.push(format!(
                            "In-Reply-To: kept the first {MAX_IN_REPLY_TO_IDS} of {total} ids"
                        ));
                    }
                }
            }
            HeaderName::References => {
                hashed.extend_from_slice(b"references:");
                hash_folded(&mut hashed, raw_value);
                if env.references.is_empty() {
                    env.references = parse_ids(&text(raw_value));
                    bound_references(&mut env.references, &mut env.trimmed);
                }
            }
            HeaderName::ListId => env.list_id = list_id(&unfold(raw_value)),
            HeaderName::ListPost => env.list_post = list_post(&unfold(raw_value)),
            HeaderName::ListUnsubscribe => env.list_unsubscribe = true,
            HeaderName::ReturnPath => {
                let text = unfold(raw_value);
                let inner = text
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim();
                if inner.is_empty() {
                    env.null_return_path = true;
                }
            }
            HeaderName::ContentType => {
                if let Some(ct) = header.value.as_content_type() {
                    let sub = ct.subtype().unwrap_or_default();
                    env.content_type = Some(format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase());
                    env.report_type = ct.attribute("report-type").map(|s| s.to_ascii_lowercase());
                }
            }
            other => {
                let name: &str = other.as_str();
                let value = || unfold(raw_value);
                if name.eq_ignore_ascii_case("X-Microsoft-Original-Message-ID") {
                    env.original_message_id = parse_message_id(&value());
                } else if name.eq_ignore_ascii_case("X-Rapport-Id") {
                    let v = value();
                    if !v.is_empty() && v.len() < 200 {
                        env.tracking_id = Some(v);
                    }
                } else if name.eq_ignore_ascii_case("List-Unsubscribe-Post") {
                    env.list_unsubscribe_one_click =
                        value().to_ascii_lowercase().contains("one-click");
                } else if name.eq_ignore_ascii_case("Precedence") {
                    env.precedence = Some(value().to_ascii_lowercase());
                } else if name.eq_ignore_ascii_case("Auto-Submitted") {
                    env.auto_submitted = Some(value().to_ascii_lowercase());
                } else if name.eq_ignore_ascii_case("X-Auto-Response-Suppress") {
                    env.auto_response_suppress = Some(value());
                } else if name.eq_ignore_ascii_case("Feedback-ID") {
                    env.feedback_id = Some(value());
                } else if name.eq_ignore_ascii_case("Thread-Index") {
                    env.thread_index = Some(value());
                } else if name.eq_ignore_ascii_case("Thread-Topic") {
                    env.thread_topic = Some(value());
                } else if name.eq_ignore_ascii_case("X-Autoreply")
                    || name.eq_ignore_ascii_case("X-Autorespond")
                    || name.eq_ignore_ascii_case("X-Amazon-Auto-Reply")
                    || name.eq_ignore_ascii_case("X-Auto-Reply")
                {
                    env.auto_reply_header = Some(name.to_string());
                } else if (name.eq_ignore_ascii_case("Mailing-List")
                    || name.eq_ignore_ascii_case("X-Mailing-List"))
                    && env.list_id.is_none()
                {
                    env.list_id = Some(format!("x-mailing-list:{}", value().to_lowercase()));
                }
            }
        }
    }

    if !saw_identifying_field {
        return Err(ParseError::NotMail);
    }

    match date {
        None => {
            env.date = options.capture_time;
            env.date_problem = Some(DateProblem::Missing);
        }
        Some(parsed) => match parsed.filter(|d| d.is_valid()).map(|d| d.to_timestamp()) {
            Some(ts) if ts >= 0 && ts <= options.capture_time + FUTURE_SLACK_SECS => env.date = ts,
            _ => {
                env.date = options.capture_time;
                env.date_problem = Some(DateProblem::Invalid);
            }
        },
    }

    // Self references are dropped (notmuch does the same).
    let own = env.own_ids();
    env.references.retain(|r| !own.contains(r));
    env.in_reply_to.retain(|r| !own.contains(r));
    if env
        .in_reply_to_strict
        .as_ref()
        .is_some_and(|r| own.contains(r))
    {
        env.in_reply_to_strict = None;
    }

    if options.snippet {
        env.snippet = message
            .body_preview(SNIPPET_CHARS)
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty());
    }
    env.content_hash = hex(&Sha256::digest(&hashed)[..16]);
    Ok(env)
}

impl Envelope {
    /// The ids this message is known by: Message-ID, the original id Outlook kept, and the
    /// add-in's tracking id.
    pub fn own_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::with_capacity(3);
        for id in self
            .message_id
            .iter()
            .chain(self.original_message_id.iter())
        {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        if let Some(t) = &self.tracking_id {
            ids.push(tracking_mid(t));
        }
        ids
    }

    /// The stored key: the sender's original id where Outlook rewrote it, else the Message-ID,
    /// else a hash of Date, From, To and Subject.
    pub fn key(&self) -> String {
        if let Some(id) = self
            .original_message_id
            .as_ref()
            .or(self.message_id.as_ref())
        {
            return id.clone();
        }
        let mut h = Sha256::new();
        h.update(self.date.to_le_bytes());
        for m in &self.from {
            h.update(m.address.key.as_bytes());
        }
        h.update(b"\0");
        for m in &self.to {
            h.update(m.address.key.as_bytes());
        }
        h.update(b"\0");
        h.update(self.subject.as_bytes());
        format!("rapport-hash-{}", hex(&h.finalize()[..16]))
    }

    /// Every id this message points at (In-Reply-To and References), without duplicates.
    pub fn referenced_ids(&self) -> Vec<&str> {
        let mut seen: HashSet<&str> = HashSet::with_capacity(self.references.len() + 1);
        self.references
            .iter()
            .chain(self.in_reply_to.iter())
            .map(String::as_str)
            .filter(|id| seen.insert(id))
            .collect()
    }

    /// The parent, as notmuch picks it: In-Reply-To when it is a single well-formed id, else
    /// the last References id, else the first In-Reply-To id.
    pub fn parent_id(&self) -> Option<&str> {
        self.in_reply_to_strict
            .as_deref()
            .or(self.references.last().map(String::as_str))
            .or(self.in_reply_to.first().map(String::as_str))
    }

    pub fn subject_info(&self) -> subject::SubjectInfo {
        subject::analyze(&self.subject)
    }

    /// Every mailbox with its role.
    pub fn participants(&self) -> impl Iterator<Item = (super::Role, &Mailbox)> {
        use super::Role;
        self.from
            .iter()
            .map(|m| (Role::From, m))
            .chain(self.sender.iter().map(|m| (Role::Sender, m)))
            .chain(self.reply_to.iter().map(|m| (Role::ReplyTo, m)))
            .chain(self.to.iter().map(|m| (Role::To, m)))
            .chain(self.cc.iter().map(|m| (Role::Cc, m)))
            .chain(self.bcc.iter().map(|m| (Role::Bcc, m)))
    }
}

/// The node id under which a tracking id is recorded; namespaced so that it can never collide
/// with a real Message-ID.
pub fn tracking_mid(tracking_id: &str) -> String {
    format!("x-rapport-id:{tracking_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn parse(raw: &str) -> Envelope {
        parse_envelope(
            raw.as_bytes(),
            ParseOptions {
                capture_time: NOW,
                snippet: false,
            },
        )
        .expect("parses")
    }

    /// Before, 320,000 References ids took 117 s to import (a quadratic de-duplication) and
    /// were all kept; 100,000 To addresses took 35 s. Now both are linear and bounded, and what
    /// was left out is noted (`bench/hostile.sh` prints the times).
    #[test]
    fn huge_fields_are_bounded_and_the_excess_noted() {
        let refs: Vec<String> = (0..20_000).map(|i| format!("<r{i}@x>")).collect();
        let to: Vec<String> = (0..12_000).map(|i| format!("p{i}@to.example")).collect();
        let env = parse(&format!(
            "From: a@x.org\r\nTo: {}, p1@to.example\r\nMessage-ID: <m@x>\r\n\
             In-Reply-To: <r19999@x>\r\nReferences: {}\r\n\r\n",
            to.join(", "),
            refs.join(" ")
        ));
        assert_eq!(env.references.len(), MAX_REFERENCE_IDS);
        assert_eq!(env.references.first().map(String::as_str), Some("r0@x"));
        assert_eq!(env.references.last().map(String::as_str), Some("r19999@x"));
        assert_eq!(env.parent_id(), Some("r19999@x"));
        assert_eq!(env.to.len(), MAX_ADDRESSES_PER_FIELD);
        assert_eq!(env.referenced_ids().len(), MAX_REFERENCE_IDS);
        assert_eq!(
            env.trimmed,
            [
                "To: kept the first 5000 addresses, left out 7000 more",
                "References: kept the first and the last 999 of 20000 ids",
            ]
        );
    }

    #[test]
    fn reads_the_fields_rapport_needs() {
        let env = parse(
            "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <Joerg@Example.DE>\r\n\
             To: Team: a@x.org, \"B\" <b@x.org>;, c@y.org\r\n\
             Cc: d@y.org\r\n\
             Date: Tue, 14 Nov 2023 10:00:00 +0100\r\n\
             Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\n\
             Message-ID: <m1@x>\r\n\
             In-Reply-To: <p@x>\r\n\
             References: <r@x>\r\n <p@x> <m1@x>\r\n\
             List-Id: Example list <list.example.org>\r\n\
             List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
             X-Microsoft-Original-Message-ID: <orig@x>\r\n\
             \r\nbody\r\n",
        );
        assert_eq!(env.from[0].name.as_deref(), Some("Jörg Müller"));
        assert_eq!(env.from[0].address.key, "joerg@example.de");
        let to: Vec<_> = env.to.iter().map(|m| m.address.key.as_str()).collect();
        assert_eq!(to, ["a@x.org", "b@x.org", "c@y.org"]);
        assert_eq!(env.date, 1_699_952_400);
        assert_eq!(env.subject, "Grüße");
        assert_eq!(env.message_id.as_deref(), Some("m1@x"));
        assert_eq!(env.references, ["r@x", "p@x"]);
        assert_eq!(env.parent_id(), Some("p@x"));
        assert_eq!(env.list_id.as_deref(), Some("list.example.org"));
        assert!(env.list_unsubscribe_one_click);
        assert_eq!(env.key(), "orig@x");
    }

    #[test]
    fn missing_and_absurd_dates_fall_back_and_are_flagged() {
        let env = parse("From: a@b.c\nSubject: x\n\n");
        assert_eq!(
            (env.date, env.date_problem),
            (NOW, Some(DateProblem::Missing))
        );
        let env = parse("From: a@b.c\nDate: Sat, 1 Jan 2150 00:00:00 +0000\n\n");
        assert_eq!(
            (env.date, env.date_problem),
            (NOW, Some(DateProblem::Invalid))
        );
        let env = parse("From: a@b.c\nDate: yesterday-ish\n\n");
        assert_eq!(env.date_problem, Some(DateProblem::Invalid));
    }

    #[test]
    fn rejects_non_mail() {
        let opts = ParseOptions {
            capture_time: NOW,
            snippet: false,
        };
        assert_eq!(parse_envelope(b"", opts), Err(ParseError::Empty));
        assert!(parse_envelope(b"{\"json\": true}\n", opts).is_err());
        assert_eq!(
            parse_envelope(b"X-Foo: bar\n\nbody", opts),
            Err(ParseError::NotMail)
        );
    }

    #[test]
    fn a_header_section_past_the_bound_is_cut_at_a_line_end_and_noted() {
        let mut raw = b"From: a@example.org\nMessage-ID: <big@x>\n".to_vec();
        let filler = format!("X-Filler: {}\n", "y".repeat(1000));
        while raw.len() <= MAX_HEADER_BYTES + 4096 {
            raw.extend_from_slice(filler.as_bytes());
        }
        raw.extend_from_slice(b"Subject: beyond the bound\n\nbody\n");
        let env = parse_envelope(
            &raw,
            ParseOptions {
                capture_time: NOW,
                snippet: false,
            },
        )
        .unwrap();
        assert_eq!(env.from[0].address.email, "a@example.org");
        assert_eq!(env.subject, "", "fields past the bound are not read");
        assert!(
            env.trimmed
                .iter()
                .any(|t| t.contains("header section longer than 16 MiB")),
            "{:?}",
            env.trimmed
        );
        // Within the bound, nothing is noted.
        let small = parse_envelope(
            b"From: a@example.org\n\nbody",
            ParseOptions {
                capture_time: NOW,
                snippet: false,
            },
        )
        .unwrap();
        assert!(small.trimmed.is_empty());
    }

    #[test]
    fn lf_and_crlf_copies_hash_alike() {
        let crlf =
            parse("From: a@b.c\r\nSubject: Hi\r\nDate: Tue, 14 Nov 2023 10:00:00 +0000\r\n\r\n");
        let lf = parse(
            "X-Mozilla-Status: 0001\nX-Account-Key: account1\nX-UIDL: 000\nFrom: a@b.c\nSubject: Hi\nDate: Tue, 14 Nov 2023 10:00:00 +0000\n\n",
        );
        assert_eq!(crlf.content_hash, lf.content_hash);
        assert_eq!(crlf.key(), lf.key());
    }

    #[test]
    fn snippet_is_opt_in() {
        let raw = "From: a@b.c\nSubject: s\nContent-Type: text/plain\n\nHello   there\nfriend";
        let env = parse_envelope(
            raw.as_bytes(),
            ParseOptions {
                capture_time: NOW,
                snippet: true,
            },
        )
        .unwrap();
        assert_eq!(env.snippet.as_deref(), Some("Hello there friend"));
        assert_eq!(parse(raw).snippet, None);
    }
}
