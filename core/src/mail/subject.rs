//! Subject rules: the base subject (RFC 5256 with multilingual reply and forward prefixes), used
//! only to join header-less replies to their thread, and for display.

/// Reply and forward prefixes in the languages mail clients actually use. Compared
/// case-insensitively; each may carry a counter (`Re[2]:`, `AW(3):`) and ends with `:` or `：`.
const PREFIXES: &[&str] = &[
    "re",
    "fw",
    "fwd",
    "aw",
    "wg",
    "sv",
    "vs",
    "antw",
    "antwort",
    "rv",
    "tr",
    "trans",
    "odp",
    "r",
    "res",
    "rif",
    "pd",
    "ref",
    "réf",
    "rép",
    "ogg",
    "enc",
    "ynt",
    "ilt",
    "vá",
    "továbbítás",
    "vb",
    "yml",
    "atb",
    "ats",
    "бгд",
    "ответ",
    "отв",
    "переслать",
    "пересл",
    "回复",
    "回覆",
    "转发",
    "轉寄",
    "答复",
    "返信",
    "転送",
    "답장",
    "전달",
    "απ",
    "σχετ",
    "προθ",
];

/// What the subject says about a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubjectInfo {
    /// Lower-cased, whitespace-collapsed subject without prefixes, list tags or `(fwd)`.
    pub base: String,
    /// Whether a reply or forward marker was removed.
    pub is_reply: bool,
}

/// The byte length of `prefix` at the start of `s`, compared case-insensitively.
fn starts_with_ignore_case(s: &str, prefix: &str) -> Option<usize> {
    let mut chars = s.char_indices();
    for expected in prefix.chars() {
        let (_, c) = chars.next()?;
        if !c.to_lowercase().eq(std::iter::once(expected)) {
            return None;
        }
    }
    Some(chars.next().map_or(s.len(), |(i, _)| i))
}

/// Strips one reply/forward prefix (`Re:`, `AW[2]:`, `回复：`) from the start of `s`.
fn strip_prefix(s: &str) -> Option<&str> {
    // A prefix is a whole leading word: what follows it (counter, dot, space, colon) is never a
    // letter. So the leading word is found once and compared whole.
    let word_len = s.find(|c: char| !c.is_alphabetic()).unwrap_or(s.len());
    let word = &s[..word_len];
    if word.is_empty()
        || !PREFIXES
            .iter()
            .any(|p| starts_with_ignore_case(word, p) == Some(word.len()))
    {
        return None;
    }
    let mut rest = &s[word_len..];
    // an optional counter: [2] or (2)
    let counter = rest.trim_start();
    if let Some(inner) = counter
        .strip_prefix('[')
        .or_else(|| counter.strip_prefix('('))
        && let Some(close) = inner.find([']', ')'])
        && inner[..close].chars().all(|c| c.is_ascii_digit())
    {
        rest = &inner[close + 1..];
    }
    let rest = rest.trim_start_matches([' ', '.']);
    rest.strip_prefix(':')
        .or_else(|| rest.strip_prefix('：'))
        .map(str::trim_start)
}

/// Strips a leading `[list tag]` if something remains after it.
fn strip_blob(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find(']')?;
    let rest = inner[close + 1..].trim_start();
    if rest.is_empty() { None } else { Some(rest) }
}

fn strip_all(subject: &str) -> (String, bool) {
    let mut s = subject;
    let mut is_reply = false;
    loop {
        let before = s.len();
        let tail = s.len().saturating_sub(5);
        if s.is_char_boundary(tail) && s[tail..].eq_ignore_ascii_case("(fwd)") {
            s = s[..tail].trim_end();
            is_reply = true;
        }
        if let Some(rest) = strip_prefix(s) {
            s = rest;
            is_reply = true;
        } else if let Some(rest) = strip_blob(s) {
            s = rest;
        }
        if s.len() == before {
            break;
        }
    }
    if starts_with_ignore_case(s, "[fwd:").is_some() && s.ends_with(']') && s.len() > 6 {
        let (base, _) = strip_all(s[5..s.len() - 1].trim());
        return (base, true);
    }
    (s.to_string(), is_reply)
}

/// Computes the base subject and whether the message presents itself as a reply or forward.
pub fn analyze(subject: &str) -> SubjectInfo {
    let collapsed = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let (base, is_reply) = strip_all(&collapsed);
    SubjectInfo {
        base: base.trim().to_lowercase(),
        is_reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> (String, bool) {
        let i = analyze(s);
        (i.base, i.is_reply)
    }

    #[test]
    fn strips_common_prefixes() {
        assert_eq!(base("Re: Hello"), ("hello".into(), true));
        assert_eq!(base("RE: re: Fwd: Hello"), ("hello".into(), true));
        assert_eq!(base("Re[2]: Hello"), ("hello".into(), true));
        assert_eq!(base("AW(3): Hallo"), ("hallo".into(), true));
        assert_eq!(base("[linux-man] Re: [PATCH] x"), ("x".into(), true));
        assert_eq!(base("Hello (fwd)"), ("hello".into(), true));
        assert_eq!(base("[Fwd: Hello]"), ("hello".into(), true));
        assert_eq!(base("Hello"), ("hello".into(), false));
        assert_eq!(base("  Hello   world "), ("hello world".into(), false));
    }

    #[test]
    fn strips_multilingual_prefixes() {
        for s in [
            "AW: Angebot",
            "WG: Angebot",
            "SV: Angebot",
            "VS: Angebot",
            "Antw: Angebot",
            "RV: Angebot",
            "TR: Angebot",
            "Odp: Angebot",
            "R: Angebot",
            "Ответ: Angebot",
            "回复：Angebot",
            "Réf. : Angebot",
            "Fw : Angebot",
        ] {
            assert_eq!(base(s), ("angebot".into(), true), "{s}");
        }
    }

    #[test]
    fn keeps_words_that_merely_start_like_prefixes() {
        assert_eq!(base("Reading list"), ("reading list".into(), false));
        assert_eq!(base("Trust: a note"), ("trust: a note".into(), false));
        assert_eq!(base("[only a tag]"), ("[only a tag]".into(), false));
    }
}
