//! Person or machine? Classification of messages and participants from header signals, so that
//! newsletters, lists, auto-replies and bounces are recorded without becoming relationships.

use super::parse::Envelope;

/// What kind of mail a message (or an address in it) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Person,
    List,
    Bulk,
    Auto,
    Bounce,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::Person,
        Class::List,
        Class::Bulk,
        Class::Auto,
        Class::Bounce,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Person => "person",
            Class::List => "list",
            Class::Bulk => "bulk",
            Class::Auto => "auto",
            Class::Bounce => "bounce",
        }
    }
}

/// More visible recipients than this makes a message a broadcast, not a conversation.
pub const MANY_RECIPIENTS: usize = 15;

/// Local parts that belong to machines or bounce handling.
const BOUNCE_LOCAL_PARTS: &[&str] = &["mailer-daemon", "postmaster", "mail-daemon"];
/// Local parts that announce that nobody reads replies.
const NO_REPLY_LOCAL_PARTS: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "notifications",
    "notification",
    "notify",
    "alerts",
    "alert",
    "automailer",
    "mailer",
];
/// Local parts of broadcast senders.
const BULK_LOCAL_PARTS: &[&str] = &[
    "newsletter",
    "newsletters",
    "news",
    "marketing",
    "promotions",
    "offers",
    "deals",
    "digest",
    "updates",
];
const SUBJECT_AUTO_REPLY: &[&str] = &[
    "out of office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "absence du bureau",
    "respuesta automática",
];
const SUBJECT_BOUNCE: &[&str] = &[
    "undelivered mail returned to sender",
    "delivery status notification",
    "mail delivery failed",
    "undeliverable:",
    "returned mail:",
    "delivery failure",
    "failure notice",
];

/// Classifies an address by its local part alone: `Some` for machine senders.
pub fn classify_participant(key: &str) -> Option<(Class, String)> {
    let local = key.split('@').next().unwrap_or_default();
    let base = local.split(['+', '=']).next().unwrap_or(local);
    if BOUNCE_LOCAL_PARTS.contains(&base) || base.starts_with("bounce") {
        return Some((Class::Bounce, format!("a mail-system address ({local}@…)")));
    }
    if NO_REPLY_LOCAL_PARTS.contains(&base)
        || base.starts_with("noreply")
        || base.starts_with("no-reply")
        || base.ends_with("-noreply")
        || base.ends_with("_noreply")
        || base.ends_with(".noreply")
    {
        return Some((Class::Auto, format!("a no-reply address ({local}@…)")));
    }
    if BULK_LOCAL_PARTS.contains(&base) {
        return Some((
            Class::Bulk,
            format!("a newsletter or broadcast address ({local}@…)"),
        ));
    }
    None
}

/// Classifies a message from its header, most specific signal first, with the reason.
pub fn classify_message(env: &Envelope) -> (Class, String) {
    let subject = env.subject.to_lowercase();
    let from_key = env
        .from
        .first()
        .map(|m| m.address.key.as_str())
        .unwrap_or("");
    let from_class = classify_participant(from_key);

    // Bounces: delivery reports and mail from the mail system itself.
    if env.content_type.as_deref() == Some("multipart/report")
        && env.report_type.as_deref() == Some("delivery-status")
    {
        return (
            Class::Bounce,
            "delivery status report (multipart/report)".into(),
        );
    }
    if let Some((Class::Bounce, why)) = &from_class {
        return (Class::Bounce, format!("sent by a {why}"));
    }
    if env.null_return_path && SUBJECT_BOUNCE.iter().any(|s| subject.contains(s)) {
        return (
            Class::Bounce,
            "bounce subject with empty Return-Path".into(),
        );
    }

    // Automatic replies.
    if let Some(a) = env.auto_submitted.as_deref()
        && a != "no"
        && !a.is_empty()
    {
        return (Class::Auto, format!("Auto-Submitted: {a}"));
    }
    if env.content_type.as_deref() == Some("multipart/report") {
        return (
            Class::Auto,
            "disposition or other report (multipart/report)".into(),
        );
    }
    if let Some(h) = &env.auto_reply_header {
        return (Class::Auto, format!("{h} header"));
    }
    if env
        .thread_topic
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("AutoResponse"))
    {
        return (Class::Auto, "Thread-Topic: AutoResponse".into());
    }
    if SUBJECT_AUTO_REPLY
        .iter()
        .any(|s| subject.starts_with(s) || subject.contains(&format!(": {s}")))
    {
        return (Class::Auto, "auto-reply subject".into());
    }
    if env.null_return_path {
        return (Class::Auto, "empty Return-Path (<>)".into());
    }

    // Mailing lists.
    if let Some(id) = &env.list_id {
        return (Class::List, format!("List-Id <{id}>"));
    }
    if let Some(post) = &env.list_post {
        return (Class::List, format!("List-Post {post}"));
    }
    if env.precedence.as_deref() == Some("list") {
        return (Class::List, "Precedence: list".into());
    }

    // Bulk and newsletters.
    if env.list_unsubscribe_one_click {
        return (
            Class::Bulk,
            "one-click List-Unsubscribe (newsletter)".into(),
        );
    }
    if env.list_unsubscribe {
        return (Class::Bulk, "List-Unsubscribe header".into());
    }
    if let Some(p) = env.precedence.as_deref()
        && (p == "bulk" || p == "junk")
    {
        return (Class::Bulk, format!("Precedence: {p}"));
    }
    if env.feedback_id.is_some() {
        return (Class::Bulk, "Feedback-ID header (bulk sender)".into());
    }
    if let Some((class, why)) = from_class {
        return (class, format!("sent from {why}"));
    }
    let recipients = env.to.len() + env.cc.len();
    if recipients > MANY_RECIPIENTS {
        return (Class::Bulk, format!("{recipients} visible recipients"));
    }
    (Class::Person, String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::parse::{ParseOptions, parse_envelope};

    fn class(raw: &str) -> Class {
        let env = parse_envelope(
            raw.as_bytes(),
            ParseOptions {
                capture_time: 1_700_000_000,
                snippet: false,
            },
        )
        .unwrap();
        classify_message(&env).0
    }

    #[test]
    fn people_are_people() {
        assert_eq!(
            class("From: a@x.org\nTo: b@y.org\nSubject: lunch?\n\n"),
            Class::Person
        );
    }

    #[test]
    fn machine_signals() {
        assert_eq!(class("From: a@x.org\nList-Id: <l.x.org>\n\n"), Class::List);
        assert_eq!(
            class(
                "From: news@shop.example\nList-Unsubscribe: <mailto:u@x>\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n\n"
            ),
            Class::Bulk
        );
        assert_eq!(class("From: a@x.org\nPrecedence: bulk\n\n"), Class::Bulk);
        assert_eq!(
            class("From: a@x.org\nFeedback-ID: 1:2:google\n\n"),
            Class::Bulk
        );
        assert_eq!(
            class("From: a@x.org\nAuto-Submitted: auto-replied\n\n"),
            Class::Auto
        );
        assert_eq!(
            class("From: a@x.org\nAuto-Submitted: no\n\n"),
            Class::Person
        );
        assert_eq!(
            class("From: a@x.org\nSubject: Automatic reply: hi\n\n"),
            Class::Auto
        );
        assert_eq!(class("From: a@x.org\nReturn-Path: <>\n\n"), Class::Auto);
        assert_eq!(class("From: no-reply@x.org\n\n"), Class::Auto);
        assert_eq!(
            class("From: MAILER-DAEMON@x.org\nSubject: failure\n\n"),
            Class::Bounce
        );
        assert_eq!(
            class(
                "From: a@x.org\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
            ),
            Class::Bounce
        );
        let many: Vec<String> = (0..20).map(|i| format!("p{i}@x.org")).collect();
        assert_eq!(
            class(&format!("From: a@x.org\nTo: {}\n\n", many.join(", "))),
            Class::Bulk
        );
    }

    #[test]
    fn participants() {
        let cases = [
            ("noreply@x.org", Some(Class::Auto)),
            ("no-reply+abc@x.org", Some(Class::Auto)),
            ("bounces+123@x.org", Some(Class::Bounce)),
            ("newsletter@x.org", Some(Class::Bulk)),
            ("alice@x.org", None),
            ("support@x.org", None),
        ];
        for (address, class) in cases {
            assert_eq!(
                classify_participant(address).map(|c| c.0),
                class,
                "{address}"
            );
        }
    }
}
