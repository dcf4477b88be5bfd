//! Address identity: one normalised key per mailbox, so that `John.Doe+news@GMail.com` and
//! `johndoe@gmail.com` count as one correspondent, and display names cleaned for people.

/// A normalised mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressKey {
    /// The comparison key: local part lower-cased, domain lower-cased in IDNA A-label form, and
    /// for Gmail dots and `+tag` removed.
    pub key: String,
    /// The address as the user would write it (original local part, lower-cased domain).
    pub email: String,
    /// The domain part of the key.
    pub domain: String,
}

const GMAIL_DOMAINS: [&str; 2] = ["gmail.com", "googlemail.com"];

/// Normalises an address; `None` when it has no usable `local@domain` form.
pub fn normalize_address(raw: &str) -> Option<AddressKey> {
    let mut s = raw.trim();
    // Bytes, not a str slice: the eighth byte may be inside a multi-byte character.
    if s.len() > 7 && s.as_bytes()[..7].eq_ignore_ascii_case(b"mailto:") {
        s = &s[7..];
    }
    let s = s.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace());
    let at = s.rfind('@')?;
    let (local, domain) = (&s[..at], &s[at + 1..]);
    let local = local.trim_matches('"');
    let domain = domain.trim().trim_end_matches('.');
    // NUL, escape sequences and other controls make no real address: such a "mailbox" is
    // dropped rather than stored and shown.
    if local.is_empty()
        || domain.is_empty()
        || local.chars().any(char::is_whitespace)
        || s.chars().any(crate::text::is_unsafe)
    {
        return None;
    }
    if domain
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '@' | ',' | ';' | '<' | '>' | '(' | ')'))
    {
        return None;
    }
    let domain_lower = domain.to_lowercase();
    let ascii_domain =
        idna::domain_to_ascii(&domain_lower).unwrap_or_else(|_| domain_lower.clone());
    let mut key_local = local.to_lowercase();
    let mut key_domain = ascii_domain;
    if GMAIL_DOMAINS.contains(&key_domain.as_str()) {
        if let Some(plus) = key_local.find('+') {
            key_local.truncate(plus);
        }
        key_local.retain(|c| c != '.');
        key_domain = "gmail.com".to_string();
        if key_local.is_empty() {
            return None;
        }
    }
    Some(AddressKey {
        key: format!("{key_local}@{key_domain}"),
        email: format!("{local}@{domain_lower}"),
        domain: key_domain,
    })
}

/// Cleans a display name: trims quotes and bidi controls, collapses whitespace, and drops names
/// that are only the address again.
pub fn clean_display_name(name: Option<&str>, email: &str) -> Option<String> {
    let name = name?;
    let mut cleaned: String = name
        .chars()
        .filter(|c| {
            !matches!(
                *c,
                '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            ) && !c.is_control()
        })
        .collect();
    cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    loop {
        let trimmed = cleaned
            .trim()
            .trim_matches(|c| c == '"' || c == '\'' || c == '`')
            .trim();
        if trimmed.len() == cleaned.len() {
            break;
        }
        cleaned = trimmed.to_string();
    }
    let bare = cleaned.trim_matches(|c| c == '<' || c == '>');
    if cleaned.is_empty()
        || bare.eq_ignore_ascii_case(email)
        || bare.contains('@') && !bare.contains(' ')
    {
        return None;
    }
    Some(cleaned)
}

#[cfg(test)]
mod tests {
    /// Found by the header_parser fuzz target: a multi-byte character straddling byte 7 made
    /// the `mailto:` check slice inside it and panic.
    #[test]
    fn a_multibyte_character_at_byte_seven_is_no_panic() {
        assert_eq!(
            super::normalize_address("me\u{FFFD}\u{FFFD}@example.com").map(|a| a.email),
            Some("me\u{FFFD}\u{FFFD}@example.com".to_string())
        );
    }

    use super::*;

    fn key(s: &str) -> String {
        normalize_address(s).map(|a| a.key).unwrap_or_default()
    }

    #[test]
    fn keys_lower_case_everything() {
        assert_eq!(key("Alice.Smith@Example.COM"), "alice.smith@example.com");
        assert_eq!(key("<bob@example.org.>"), "bob@example.org");
        assert_eq!(key("mailto:carol@example.net"), "carol@example.net");
    }

    #[test]
    fn gmail_folds_dots_and_tags_only_for_gmail() {
        assert_eq!(key("John.Doe+news@GMail.com"), "johndoe@gmail.com");
        assert_eq!(key("john.doe@googlemail.com"), "johndoe@gmail.com");
        assert_eq!(key("john.doe+x@example.com"), "john.doe+x@example.com");
    }

    #[test]
    fn international_domains_become_a_labels() {
        let a = normalize_address("Jörg@Bücher.DE").unwrap();
        assert_eq!(a.key, "jörg@xn--bcher-kva.de");
        assert_eq!(a.email, "Jörg@bücher.de");
        assert_eq!(a.domain, "xn--bcher-kva.de");
    }

    #[test]
    fn rejects_non_addresses() {
        assert!(normalize_address("undisclosed-recipients").is_none());
        assert!(normalize_address("@example.com").is_none());
        assert!(normalize_address("a b@example.com").is_none());
        assert!(normalize_address("x@").is_none());
    }

    #[test]
    fn cleans_names() {
        let n = |s: &str| clean_display_name(Some(s), "a@b.c");
        assert_eq!(n("  \"Alice  Smith\" "), Some("Alice Smith".into()));
        assert_eq!(n("'Bob'"), Some("Bob".into()));
        assert_eq!(n("a@b.c"), None);
        assert_eq!(n("<A@B.C>"), None);
        assert_eq!(n("\u{202e}Eve\u{202c}"), Some("Eve".into()));
        assert_eq!(n(""), None);
    }
}
