//! Envelope → store. Turns a parsed header into a [`PreparedMessage`] (ids, references,
//! classification, participants), and isolates the parser so that one hostile message cannot
//! stop an import.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::mail::{
    self, Envelope, ParseOptions, Role, classify_message, normalize_address, parse::ParseError,
};
use crate::store::{PreparedMessage, PreparedParticipant};

/// Why a message was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Short, stable reason used to group skips in summaries.
    pub reason: &'static str,
    pub detail: String,
}

/// Parses raw bytes (a message, or an Outlook `.msg` file's bytes), turning a parser panic into
/// a rejection instead of a crash.
pub fn parse_isolated(raw: &[u8], options: ParseOptions) -> Result<Envelope, Rejection> {
    let parse = || {
        if !mail::msg::is_compound_file(raw) {
            return mail::parse_envelope(raw, options).map_err(rejection);
        }
        let section =
            mail::msg::header_section(std::io::Cursor::new(raw)).map_err(|e| Rejection {
                reason: e.reason(),
                detail: e.to_string(),
            })?;
        mail::parse_envelope(&section, options).map_err(rejection)
    };
    match catch_unwind(AssertUnwindSafe(parse)) {
        Ok(result) => result,
        Err(panic) => Err(Rejection {
            reason: "parser crashed",
            detail: format!(
                "the header parser panicked on this message: {}",
                panic_text(&panic)
            ),
        }),
    }
}

/// What a caught panic said.
pub(crate) fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn rejection(e: ParseError) -> Rejection {
    Rejection {
        reason: match e {
            ParseError::Empty => "empty",
            ParseError::NoHeaders => "not a message",
            ParseError::NotMail => "nothing to record",
        },
        detail: e.to_string(),
    }
}

/// The list's own address from its List-Id (`linux-man.vger.kernel.org` →
/// `linux-man@vger.kernel.org`), the form lists post from.
fn list_address_from_id(list_id: &str) -> Option<String> {
    if list_id.contains('@') {
        return Some(list_id.to_string());
    }
    let (local, domain) = list_id.split_once('.')?;
    domain.contains('.').then(|| format!("{local}@{domain}"))
}

/// Everything about a message that needs no database.
pub fn prepare(env: &Envelope) -> PreparedMessage {
    let key = env.key();
    let mut own_ids = env.own_ids();
    if !own_ids.contains(&key) {
        own_ids.push(key.clone());
    }
    let references: Vec<String> = env
        .referenced_ids()
        .into_iter()
        .filter(|r| !own_ids.iter().any(|o| o == r))
        .map(String::from)
        .collect();
    let subject = env.subject_info();
    let orphan_reply = subject.is_reply && env.references.is_empty() && env.in_reply_to.is_empty();
    let (class, class_reason) = classify_message(env);
    let mut list_addresses = Vec::new();
    if let Some(id) = &env.list_id
        && let Some(addr) = list_address_from_id(id).and_then(|a| normalize_address(&a))
    {
        list_addresses.push((addr.key, addr.email, addr.domain));
    }
    if let Some(post) = env.list_post.as_deref().and_then(normalize_address)
        && !list_addresses.iter().any(|(k, _, _)| *k == post.key)
    {
        list_addresses.push((post.key, post.email, post.domain));
    }
    let from_key = env.from.first().map(|m| m.address.key.as_str());
    let participants = env
        .participants()
        // Sender and Reply-To matter only when they name someone else; on list mail Sender is
        // the list's own machinery.
        .filter(|(role, m)| match role {
            Role::Sender => env.list_id.is_none() && Some(m.address.key.as_str()) != from_key,
            Role::ReplyTo => Some(m.address.key.as_str()) != from_key,
            _ => true,
        })
        .map(|(role, m)| PreparedParticipant {
            role,
            key: m.address.key.clone(),
            email: m.address.email.clone(),
            domain: m.address.domain.clone(),
            name: m.name.clone(),
        })
        .collect();
    PreparedMessage {
        key,
        own_ids,
        references,
        parent_id: env.parent_id().map(String::from),
        date: env.date,
        date_problem: env.date_problem.map(|p| p.as_str()).unwrap_or("").into(),
        subject: env.subject.clone(),
        base_subject: subject.base,
        orphan_reply,
        class: Some(class),
        class_reason,
        list_id: env.list_id.clone().unwrap_or_default(),
        list_addresses,
        thread_index: env.thread_index.clone().unwrap_or_default(),
        participants,
        content_hash: env.content_hash.clone(),
        snippet: env.snippet.clone().unwrap_or_default(),
        provisional: false,
        trimmed: env.trimmed.clone(),
    }
}

/// The From key of a prepared message, for identity candidates from Sent folders.
pub fn from_of(p: &PreparedMessage) -> Option<&PreparedParticipant> {
    p.participants.iter().find(|pp| pp.role == Role::From)
}
