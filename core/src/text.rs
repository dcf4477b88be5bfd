//! Text that is safe to show: what mail carries may hold terminal escape sequences (colours,
//! OSC 8 hyperlinks, cursor moves), other control characters and bidirectional overrides that
//! make a line read differently from what it says. Every human-readable output (the CLI's
//! tables and details, CSV, vCard, iCalendar) and every stored subject and name goes through
//! [`printable`].

use std::borrow::Cow;

/// Whether `c` must not reach a terminal or an export as it is: C0 and C1 controls, DEL, and the
/// bidirectional embedding, override and isolate characters.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every unsafe character replaced: tabs and line breaks by a space, the rest by
/// U+FFFD, so that nothing is hidden and nothing is interpreted. Borrows when there is nothing
/// to replace.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => ' ',
                c if is_unsafe(c) => '\u{fffd}',
                c => c,
            })
            .collect(),
    )
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space; a `%` not
/// followed by two hex digits stays as it is).
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a form or query component: everything but RFC 3986's unreserved characters as `%XX`.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_overrides_are_neutralised() {
        assert!(matches!(printable("plain text, ünïcode"), Cow::Borrowed(_)));
        let hyperlink = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07";
        let shown = printable(hyperlink);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown}"
        );
        assert_eq!(printable("a\tb\nc"), "a b c");
        assert_eq!(printable("x\u{202e}gnp.exe"), "x\u{fffd}gnp.exe");
        assert_eq!(printable("nul\0here\u{9b}"), "nul\u{fffd}here\u{fffd}");
    }
}
