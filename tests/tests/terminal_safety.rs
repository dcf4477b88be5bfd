//! Mail can carry terminal escape sequences (colours, screen clears, OSC 8 hyperlinks),
//! other control characters and bidirectional overrides. None of them reaches a terminal or an
//! export: subjects and names are cleaned when stored, every table cell and export value on the
//! way out, and an address with control characters is no address. Logs carry colour codes only
//! on a terminal.

use rapport_tests::rapport;

const EVIL: &str = "From: \"Eve \x1b]8;;https://evil.example\x07Bob\x1b]8;;\x07\" <eve@example.org>\r\n\
To: me@example.com, \"x\" <bad\x01addr@example.org>\r\n\
Subject: Hi \x1b[2J\x1b[31mred\u{202e}txt.exe\r\n\
Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n\
Message-ID: <ev@x>\r\n\r\nbody\r\n";

fn unsafe_chars(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| rapport_core::text::is_unsafe(c) && c != '\n' && c != '\r')
        .collect()
}

#[test]
fn escape_sequences_never_reach_the_terminal_or_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("evil.eml");
    std::fs::write(&mail, EVIL).unwrap();
    let db = tmp.path().join("evil.db");
    let out = rapport(&db, &["-vv", "import", &mail.to_string_lossy()]);
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.contains('\x1b'),
        "no colour codes in logs off a terminal: {log:?}"
    );
    rapport(&db, &["identity", "add", "me@example.com"]);
    rapport(&db, &["policy", "sent-and-received"]);
    for args in [
        vec!["threads"],
        vec!["contacts"],
        vec!["search", "Hi"],
        vec!["thread", "1"],
        vec!["contact", "eve@example.org"],
        vec!["export", "csv"],
        vec!["export", "vcard"],
        vec!["explain", "eve@example.org"],
    ] {
        let out = rapport(&db, &args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("eve") || text.contains("Hi"),
            "{args:?} shows the mail: {text}"
        );
        assert_eq!(
            unsafe_chars(&text),
            Vec::<char>::new(),
            "{args:?}: {text:?}"
        );
    }
    let stats: serde_json::Value =
        serde_json::from_slice(&rapport(&db, &["--json", "stats"]).stdout).unwrap();
    assert_eq!(
        stats["addresses"], 2,
        "the address with a control character is dropped"
    );
}
