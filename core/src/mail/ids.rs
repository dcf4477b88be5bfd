//! Message-ID parsing with notmuch's rules: a lenient parser for References and In-Reply-To,
//! and a strict one that decides whether In-Reply-To can be trusted as the parent.

use sha2::{Digest, Sha256};

/// Longest id kept verbatim; longer ones are replaced by a hash (as notmuch does).
const MAX_ID_LEN: usize = 900;

/// Skips whitespace and (nested) RFC 5322 comments.
fn skip_space_and_comments(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && (s[i].is_ascii_whitespace() || s[i] == b'(') {
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < s.len() && s[i] == b'(' {
            let mut depth = 1usize;
            i += 1;
            while i < s.len() && depth > 0 {
                match s[i] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    b'\\' if i + 1 < s.len() => i += 1,
                    _ => {}
                }
                i += 1;
            }
        }
    }
    i
}

/// Every `<...>` id in a header value, in order, with whitespace inside ids removed.
/// Text outside angle brackets is ignored, as notmuch does.
pub fn parse_ids(value: &str) -> Vec<String> {
    let s = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        i = skip_space_and_comments(s, i);
        while i < s.len() && s[i] != b'<' {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        i += 1;
        i = skip_space_and_comments(s, i);
        let start = i;
        while i < s.len() && s[i] != b'>' {
            i += 1;
        }
        let end = i;
        if i < s.len() {
            i += 1;
        }
        if end > start {
            let inside = &value[start..end];
            // Folded ids (whitespace inside the brackets) are rare: copy the rest as they are.
            let id: String = if inside
                .bytes()
                .any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                inside
                    .chars()
                    .filter(|c| *c != ' ' && *c != '\t' && *c != '\r' && *c != '\n')
                    .collect()
            } else {
                inside.to_string()
            };
            if !id.is_empty() {
                out.push(bound_length(id));
            }
        }
    }
    out
}

/// The single id of a header that is exactly `<id>` with no spaces inside, else `None`.
pub fn parse_id_strict(value: &str) -> Option<String> {
    let trimmed = value.trim();
    let inner = trimmed.strip_prefix('<')?;
    let end = inner.find('>')?;
    let id = &inner[..end];
    if id.is_empty() || id.chars().any(char::is_whitespace) {
        return None;
    }
    if !inner[end + 1..].trim().is_empty() {
        return None;
    }
    Some(bound_length(id.to_string()))
}

/// The Message-ID of a message: the first bracketed id, or for the common broken form without
/// brackets, the bare token.
pub fn parse_message_id(value: &str) -> Option<String> {
    if let Some(first) = parse_ids(value).into_iter().next() {
        return Some(first);
    }
    let bare: String = value.split_whitespace().collect();
    let bare = bare.trim_matches(|c| c == '<' || c == '>').to_string();
    if bare.is_empty() || !bare.contains('@') {
        None
    } else {
        Some(bound_length(bare))
    }
}

fn bound_length(id: String) -> String {
    if id.len() <= MAX_ID_LEN {
        id
    } else {
        format!("sha256-{}", hex(&Sha256::digest(id.as_bytes())))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_ids_follow_notmuch() {
        assert_eq!(
            parse_ids(" <a@b> (comment <not@id>) junk <c d@e>\r\n\t<f@g>"),
            vec!["a@b", "cd@e", "f@g"]
        );
        assert_eq!(parse_ids("no ids here"), Vec::<String>::new());
        assert_eq!(parse_ids("<>"), Vec::<String>::new());
        assert_eq!(parse_ids("<unterminated@x"), vec!["unterminated@x"]);
    }

    #[test]
    fn strict_id_rejects_lists_and_spaces() {
        assert_eq!(parse_id_strict(" <a@b> "), Some("a@b".into()));
        assert_eq!(parse_id_strict("<a@b> <c@d>"), None);
        assert_eq!(parse_id_strict("<a b@c>"), None);
        assert_eq!(parse_id_strict("a@b"), None);
        assert_eq!(parse_id_strict("<a@b> (added by x)"), None);
    }

    #[test]
    fn message_id_accepts_bare_form_and_bounds_length() {
        assert_eq!(parse_message_id("foo@bar"), Some("foo@bar".into()));
        assert_eq!(parse_message_id("   "), None);
        let long = format!("<{}@x>", "a".repeat(2000));
        let id = parse_message_id(&long).unwrap_or_default();
        assert!(id.starts_with("sha256-"), "{id}");
    }
}
