//! The rules that turn mail into relationships: direction from identities, which messages count,
//! block/allow rules, and whether an address becomes a contact — each decision with a reason a
//! person can read. Pure functions; the store feeds them facts.

use std::collections::HashSet;

use crate::mail::{Class, Direction};
use crate::model::Policy;

/// The user's confirmed addresses (normalised keys).
#[derive(Debug, Clone, Default)]
pub struct IdentitySet {
    keys: HashSet<String>,
}

impl IdentitySet {
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Direction of a message: outbound when From is one of the user's addresses (internal when
/// every recipient is too), else inbound.
pub fn direction(from: Option<&str>, recipients: &[&str], identities: &IdentitySet) -> Direction {
    match from {
        Some(f) if identities.contains(f) => {
            if !recipients.is_empty() && recipients.iter().all(|r| identities.contains(r)) {
                Direction::Internal
            } else {
                Direction::Outbound
            }
        }
        _ => Direction::Inbound,
    }
}

/// Whether a message counts toward "last contacted" and the counts each way: person mail
/// always; list and bulk mail only when received in a thread the user wrote in; automatic
/// replies and bounces never (an out-of-office answer is not the other side writing back).
///
/// The one definition of the rule. The store's SQL form (`store::settle::COUNTED`) is tested
/// against it on every combination.
pub fn counts(class: Class, direction: Direction, thread_has_outbound: bool) -> bool {
    match class {
        Class::Person => true,
        Class::List | Class::Bulk => direction == Direction::Inbound && thread_has_outbound,
        Class::Auto | Class::Bounce => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    Allow,
    Block,
}

impl RuleAction {
    pub const ALL: [RuleAction; 2] = [RuleAction::Allow, RuleAction::Block];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Allow => "allow",
            RuleAction::Block => "block",
        }
    }
}

crate::choice::choice_traits!(RuleAction, "rule action");

/// Block/allow rules by address or domain. An address rule beats a domain rule; a domain rule
/// also covers its subdomains; at the same level, block wins.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<(RuleAction, String)>,
}

impl RuleSet {
    pub fn new(rules: impl IntoIterator<Item = (RuleAction, String)>) -> Self {
        Self {
            rules: rules.into_iter().collect(),
        }
    }

    /// The rule that applies to `key` (an address key) in `domain`, if any.
    pub fn matching(&self, key: &str, domain: &str) -> Option<(RuleAction, &str)> {
        let mut best: Option<(u8, RuleAction, &str)> = None;
        for (action, pattern) in &self.rules {
            let level = if pattern.contains('@') {
                if pattern != key {
                    continue;
                }
                2
            } else if domain == pattern || domain.ends_with(&format!(".{pattern}")) {
                1
            } else {
                continue;
            };
            let better = match best {
                None => true,
                Some((l, a, _)) => {
                    level > l
                        || level == l && *action == RuleAction::Block && a == RuleAction::Allow
                }
            };
            if better {
                best = Some((level, *action, pattern));
            }
        }
        best.map(|(_, a, p)| (a, p))
    }
}

/// Normalises a rule pattern: an address key, or a lower-cased domain (`@example.com` and
/// `example.com` mean the same).
pub fn normalize_rule_pattern(pattern: &str) -> Option<String> {
    let p = pattern.trim();
    let p = p.strip_prefix('@').unwrap_or(p);
    if p.contains('@') {
        crate::mail::normalize_address(p).map(|a| a.key)
    } else if !p.is_empty() && p.contains('.') && !p.contains(char::is_whitespace) {
        let lower = p.trim_end_matches('.').to_lowercase();
        Some(idna::domain_to_ascii(&lower).unwrap_or(lower))
    } else {
        None
    }
}

/// What the store knows about one address, aggregated over every message it appears in.
#[derive(Debug, Clone, Default)]
pub struct AddressFacts {
    pub key: String,
    pub domain: String,
    pub is_identity: bool,
    pub is_list: bool,
    /// Counted outbound messages addressed to it.
    pub sent_to: i64,
    /// Counted inbound messages from it.
    pub received_from: i64,
    /// All messages from it, counted or not.
    pub from_total: i64,
    /// All messages it received a copy of.
    pub copied_total: i64,
    /// Class and reason of its latest message that did not count, if any.
    pub latest_uncounted: Option<(Class, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressStatus {
    Contact,
    Identity,
    Blocked,
    Skipped,
}

impl AddressStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressStatus::Contact => "contact",
            AddressStatus::Identity => "identity",
            AddressStatus::Blocked => "blocked",
            AddressStatus::Skipped => "skipped",
        }
    }
}

fn plural(n: i64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Decides whether an address is a contact, and says why in words.
pub fn decide(facts: &AddressFacts, policy: Policy, rules: &RuleSet) -> (AddressStatus, String) {
    if facts.is_identity {
        return (AddressStatus::Identity, "one of your own addresses".into());
    }
    match rules.matching(&facts.key, &facts.domain) {
        Some((RuleAction::Block, p)) => {
            return (AddressStatus::Blocked, format!("blocked by rule '{p}'"));
        }
        Some((RuleAction::Allow, p)) => {
            return (AddressStatus::Contact, format!("allowed by rule '{p}'"));
        }
        None => {}
    }
    if facts.is_list {
        return (
            AddressStatus::Skipped,
            "a mailing list's own address".into(),
        );
    }
    if let Some((_, why)) = crate::mail::classify_participant(&facts.key) {
        let evidence = match &facts.latest_uncounted {
            Some((class, latest)) => format!("; its mail is {}: {latest}", class.as_str()),
            None => String::new(),
        };
        return (AddressStatus::Skipped, format!("{why}{evidence}"));
    }
    let sent = facts.sent_to > 0;
    let received = facts.received_from > 0;
    match policy {
        Policy::None => {
            return (
                AddressStatus::Skipped,
                "policy 'none': contacts are made only by allow rules".into(),
            );
        }
        Policy::SentOnly if sent => {
            return (
                AddressStatus::Contact,
                format!("you wrote to them ({})", plural(facts.sent_to, "message")),
            );
        }
        Policy::SentAndReceived if sent || received => {
            return (
                AddressStatus::Contact,
                if sent {
                    format!("you wrote to them ({})", plural(facts.sent_to, "message"))
                } else {
                    format!(
                        "they wrote to you ({}; policy sent-and-received)",
                        plural(facts.received_from, "message")
                    )
                },
            );
        }
        _ => {}
    }
    if received {
        return (
            AddressStatus::Skipped,
            format!(
                "received only: {} from them, none sent to them (policy sent-only)",
                plural(facts.received_from, "message")
            ),
        );
    }
    if let Some((class, why)) = &facts.latest_uncounted {
        let what = match class {
            Class::List => "mailing-list mail",
            Class::Bulk => "bulk mail",
            Class::Auto => "automatic mail",
            Class::Bounce => "bounces",
            Class::Person => "mail that does not count",
        };
        return (
            AddressStatus::Skipped,
            format!(
                "sends only {what} ({}; latest: {why})",
                plural(facts.from_total, "message")
            ),
        );
    }
    if facts.copied_total > 0 {
        return (
            AddressStatus::Skipped,
            format!(
                "only copied on other people's mail ({})",
                plural(facts.copied_total, "message")
            ),
        );
    }
    (AddressStatus::Skipped, "no mail that counts yet".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(keys: &[&str]) -> IdentitySet {
        IdentitySet::new(keys.iter().map(|s| s.to_string()))
    }

    #[test]
    fn directions() {
        let me = ids(&["me@x.org", "me2@y.org"]);
        assert_eq!(
            direction(Some("me@x.org"), &["a@b.c"], &me),
            Direction::Outbound
        );
        assert_eq!(
            direction(Some("a@b.c"), &["me@x.org"], &me),
            Direction::Inbound
        );
        assert_eq!(
            direction(Some("me@x.org"), &["me2@y.org"], &me),
            Direction::Internal
        );
        assert_eq!(direction(None, &[], &me), Direction::Inbound);
    }

    #[test]
    fn rules_prefer_specific_and_block() {
        let rules = RuleSet::new([
            (RuleAction::Block, "example.com".to_string()),
            (RuleAction::Allow, "ceo@example.com".to_string()),
            (RuleAction::Allow, "partner.org".to_string()),
            (RuleAction::Block, "partner.org".to_string()),
        ]);
        assert_eq!(
            rules.matching("x@example.com", "example.com").map(|r| r.0),
            Some(RuleAction::Block)
        );
        assert_eq!(
            rules
                .matching("x@mail.example.com", "mail.example.com")
                .map(|r| r.0),
            Some(RuleAction::Block)
        );
        assert_eq!(
            rules
                .matching("ceo@example.com", "example.com")
                .map(|r| r.0),
            Some(RuleAction::Allow)
        );
        assert_eq!(
            rules.matching("x@partner.org", "partner.org").map(|r| r.0),
            Some(RuleAction::Block)
        );
        assert_eq!(rules.matching("x@other.org", "other.org"), None);
        assert_eq!(
            normalize_rule_pattern("@Example.COM"),
            Some("example.com".into())
        );
        assert_eq!(
            normalize_rule_pattern("Bob@Example.com"),
            Some("bob@example.com".into())
        );
        assert_eq!(normalize_rule_pattern("nonsense"), None);
    }

    #[test]
    fn policies() {
        let rules = RuleSet::default();
        let received = AddressFacts {
            key: "a@b.c".into(),
            domain: "b.c".into(),
            received_from: 2,
            from_total: 2,
            ..Default::default()
        };
        assert_eq!(
            decide(&received, Policy::SentOnly, &rules).0,
            AddressStatus::Skipped
        );
        assert!(
            decide(&received, Policy::SentOnly, &rules)
                .1
                .contains("received only")
        );
        assert_eq!(
            decide(&received, Policy::SentAndReceived, &rules).0,
            AddressStatus::Contact
        );
        let sent = AddressFacts {
            sent_to: 1,
            ..received.clone()
        };
        assert_eq!(
            decide(&sent, Policy::SentOnly, &rules).0,
            AddressStatus::Contact
        );
        assert_eq!(
            decide(&sent, Policy::None, &rules).0,
            AddressStatus::Skipped
        );
        let news = AddressFacts {
            key: "news@shop.example".into(),
            ..Default::default()
        };
        assert!(
            decide(&news, Policy::SentAndReceived, &rules)
                .1
                .contains("newsletter")
        );
        assert!(
            counts(Class::List, Direction::Inbound, true)
                && !counts(Class::List, Direction::Inbound, false)
                && !counts(Class::Auto, Direction::Inbound, true)
        );
    }
}
