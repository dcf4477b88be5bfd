//! Outlook `.msg` files: read from their MAPI properties (and transport headers when Outlook
//! kept them), they give what the same mail as `.eml` gives — field by field, and as a whole
//! database through `rapport import`. Broken files are skipped with a reason naming them, and
//! the bridge's `capture` method takes `.msg` bytes too. Fixtures are written by
//! `rapport_tests::msg` from the shipped corpus.

use std::path::{Path, PathBuf};

use rapport_core::ingest::parse_isolated;
use rapport_core::mail::{Envelope, ParseOptions};
use rapport_tests::msg::{self, MsgFile, Value};
use rapport_tests::{counts, rapport, rapport_json, small_corpus};

const OPTIONS: ParseOptions = ParseOptions {
    capture_time: 1_800_000_000,
    snippet: false,
};

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(small_corpus().join("maildir/cur"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 40, "the shipped corpus is missing");
    files
}

fn envelope(raw: &[u8]) -> Envelope {
    parse_isolated(raw, OPTIONS).unwrap_or_else(|r| panic!("{}: {}", r.reason, r.detail))
}

/// What Rapport keeps of a message, minus what only the full header section has (list and
/// bulk headers, the content hash over all identifying fields).
fn kept(env: &Envelope) -> serde_json::Value {
    let people = |list: &[rapport_core::mail::Mailbox]| -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|m| (m.address.key.clone(), m.name.clone()))
            .collect()
    };
    serde_json::json!({
        "message_id": env.message_id,
        "in_reply_to": env.in_reply_to.first(),
        "references": env.references,
        "date": env.date,
        "subject": env.subject,
        "from": people(&env.from),
        "to": people(&env.to),
        "cc": people(&env.cc),
    })
}

#[test]
fn sent_items_described_by_their_properties_keep_every_field() {
    for file in corpus_files() {
        let raw = std::fs::read(&file).unwrap();
        let eml = envelope(&raw);
        if eml.date_problem.is_some() {
            continue;
        }
        let from_msg = envelope(&MsgFile::from_eml(&raw, false).bytes());
        assert_eq!(kept(&from_msg), kept(&eml), "{}", file.display());
    }
}

#[test]
fn received_mail_keeps_its_transport_headers_whole() {
    for file in corpus_files() {
        let raw = std::fs::read(&file).unwrap();
        let from_msg = envelope(&MsgFile::from_eml(&raw, true).bytes());
        let eml = envelope(&raw);
        // The header section is the original: everything, list headers and hash included.
        assert_eq!(
            Envelope {
                date: 0,
                ..from_msg
            },
            Envelope { date: 0, ..eml },
            "{}",
            file.display()
        );
    }
}

#[test]
fn ansi_strings_are_read_in_the_message_code_page() {
    let message = |code_page: i32, subject: &[u8], name: &[u8]| MsgFile {
        properties: vec![
            (msg::MESSAGE_CODEPAGE, Value::Int(code_page)),
            (msg::SUBJECT, Value::Ansi(subject.to_vec())),
            (msg::SENDER_NAME, Value::Ansi(name.to_vec())),
            (msg::SENDER_ADDRTYPE, Value::Ansi(b"SMTP".to_vec())),
            (msg::SENDER_EMAIL, Value::Ansi(b"ivan@example.ru".to_vec())),
            (
                msg::INTERNET_MESSAGE_ID,
                Value::Ansi(b"<ansi@example.ru>".to_vec()),
            ),
            (msg::CLIENT_SUBMIT_TIME, Value::Time(1_700_000_000)),
        ],
        recipients: vec![vec![
            (msg::RECIPIENT_TYPE, Value::Int(1)),
            (msg::DISPLAY_NAME, Value::Ansi(b"Me".to_vec())),
            (msg::ADDRTYPE, Value::Ansi(b"SMTP".to_vec())),
            (msg::EMAIL_ADDRESS, Value::Ansi(b"me@example.com".to_vec())),
        ]],
    };
    let env = envelope(
        &message(
            1251,
            b"\xcf\xf0\xe8\xe2\xe5\xf2",
            b"\xc8\xe2\xe0\xed \xcf\xe5\xf2\xf0\xee\xe2",
        )
        .bytes(),
    );
    assert_eq!(env.subject, "Привет");
    assert_eq!(env.from[0].name.as_deref(), Some("Иван Петров"));
    assert_eq!(env.from[0].address.email, "ivan@example.ru");
    assert_eq!(env.to[0].address.email, "me@example.com");
    assert_eq!(env.message_id.as_deref(), Some("ansi@example.ru"));
    assert_eq!(env.date, 1_700_000_000);
    let env = envelope(&message(932, b"\x93\xfa\x96\x7b", b"\x8e\x52\x93\x63").bytes());
    assert_eq!(env.subject, "日本");
    assert_eq!(env.from[0].name.as_deref(), Some("山田"));
}

#[test]
fn exchange_addresses_use_their_smtp_form_and_on_behalf_of_keeps_both() {
    let dn = "/O=CORP/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=BOB";
    let text = |s: &str| Value::Unicode(s.to_string());
    let file = MsgFile {
        properties: vec![
            (msg::SENT_REPRESENTING_NAME, text("Sales Team")),
            (msg::SENT_REPRESENTING_ADDRTYPE, text("SMTP")),
            (msg::SENT_REPRESENTING_EMAIL, text("sales@corp.example")),
            (msg::SENDER_NAME, text("Bob")),
            (msg::SENDER_ADDRTYPE, text("EX")),
            (msg::SENDER_EMAIL, text(dn)),
            (msg::SENDER_SMTP_ADDRESS, text("bob@corp.example")),
            (msg::SUBJECT, text("Quote")),
            (msg::INTERNET_MESSAGE_ID, text("<q1@corp.example>")),
        ],
        recipients: vec![
            vec![
                (msg::RECIPIENT_TYPE, Value::Int(1)),
                (msg::DISPLAY_NAME, text("Carol")),
                (msg::ADDRTYPE, text("EX")),
                (msg::EMAIL_ADDRESS, text("/O=CORP/CN=CAROL")),
                (msg::SMTP_ADDRESS, text("carol@corp.example")),
            ],
            // An Exchange recipient without an SMTP form cannot be keyed: left out.
            vec![
                (msg::RECIPIENT_TYPE, Value::Int(2)),
                (msg::DISPLAY_NAME, text("Dave")),
                (msg::ADDRTYPE, text("EX")),
                (msg::EMAIL_ADDRESS, text("/O=CORP/CN=DAVE")),
            ],
        ],
    };
    let env = envelope(&file.bytes());
    assert_eq!(env.from[0].address.email, "sales@corp.example");
    assert_eq!(env.sender[0].address.email, "bob@corp.example");
    assert_eq!(env.to[0].address.email, "carol@corp.example");
    assert!(env.cc.is_empty());
}

/// The corpus as `.msg` files (see [`msg::write_maildir_as_msg`]).
fn write_as_msg(out: &Path, transport_headers: bool) -> Vec<PathBuf> {
    msg::write_maildir_as_msg(&small_corpus().join("maildir"), out, transport_headers)
}

#[test]
fn importing_msg_files_gives_the_database_of_the_eml_files() {
    let tmp = tempfile::tempdir().unwrap();
    let eml_db = tmp.path().join("eml.db");
    let msg_db = tmp.path().join("msg.db");
    let eml = rapport_json(
        &eml_db,
        &["import", small_corpus().join("maildir").to_str().unwrap()],
    );
    let dir = tmp.path().join("received");
    write_as_msg(&dir, true);
    let imported = rapport_json(&msg_db, &["import", dir.to_str().unwrap()]);
    assert_eq!(imported["stored"], eml["stored"], "{imported}");
    assert_eq!(imported["skipped"], 0, "{imported}");
    assert_eq!(
        counts(&rapport_json(&msg_db, &["stats"])),
        counts(&rapport_json(&eml_db, &["stats"]))
    );
    // Again: nothing new.
    let again = rapport_json(&msg_db, &["import", dir.to_str().unwrap()]);
    assert_eq!(again["stored"], 0, "{again}");
    // The same mail as .eml and as .msg in one database: stored once, seen twice.
    let both = rapport_json(
        &msg_db,
        &["import", small_corpus().join("maildir").to_str().unwrap()],
    );
    assert_eq!(both["stored"], 0, "{both}");
    let stats = rapport_json(&msg_db, &["stats"]);
    assert_eq!(stats["messages"], eml["stored"]);
}

#[test]
fn broken_msg_files_are_skipped_by_name_and_nothing_else_is_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mixed");
    let good = write_as_msg(&dir, false);
    let whole = std::fs::read(&good[0]).unwrap();
    // Cut short, bytes flipped through the container's tables, a bare signature, and a
    // Compound File that is not a message (as Word writes).
    std::fs::write(dir.join("truncated.msg"), &whole[..whole.len() / 3]).unwrap();
    let mut flipped = whole.clone();
    for b in flipped.iter_mut().skip(512).step_by(7) {
        *b ^= 0xA5;
    }
    std::fs::write(dir.join("flipped.msg"), &flipped).unwrap();
    std::fs::write(
        dir.join("signature-only.msg"),
        &rapport_core::mail::msg::CFB_SIGNATURE[..],
    )
    .unwrap();
    let mut word = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
    std::io::Write::write_all(&mut word.create_stream("/WordDocument").unwrap(), b"x").unwrap();
    word.flush().unwrap();
    std::fs::write(dir.join("letter.doc"), word.into_inner().into_inner()).unwrap();

    let db = tmp.path().join("mixed.db");
    let out = rapport(&db, &["import", dir.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = summary["errors"].as_array().unwrap();
    for name in [
        "truncated.msg",
        "flipped.msg",
        "signature-only.msg",
        "letter.doc",
    ] {
        let record = errors
            .iter()
            .find(|e| e["location"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no skip record for {name}: {summary}"));
        assert!(
            !record["detail"].as_str().unwrap().is_empty(),
            "{name}: {record}"
        );
    }
    let doc = errors
        .iter()
        .find(|e| e["location"].as_str().unwrap().ends_with("letter.doc"))
        .unwrap();
    assert_eq!(doc["reason"], "not a message", "{doc}");
    // The good files are all stored, exactly as when imported alone.
    let alone = tmp.path().join("alone");
    write_as_msg(&alone, false);
    let alone_db = tmp.path().join("alone.db");
    rapport_json(&alone_db, &["import", alone.to_str().unwrap()]);
    let without_skips = |db: &Path| {
        let mut stats = counts(&rapport_json(db, &["stats"]));
        stats.as_object_mut().unwrap().remove("skipped_inputs");
        stats
    };
    assert_eq!(without_skips(&db), without_skips(&alone_db));
}

#[test]
fn the_capture_method_takes_msg_bytes() {
    use base64::Engine as _;
    let engine = rapport_core::Engine::open_in_memory().unwrap();
    let raw = std::fs::read(&corpus_files()[0]).unwrap();
    let want = envelope(&raw);
    let bytes = MsgFile::from_eml(&raw, false).bytes();
    let request = serde_json::json!({
        "id": 1,
        "method": "capture",
        "params": {
            "raw": base64::engine::general_purpose::STANDARD.encode(&bytes),
            "source": {"account": "drop", "folder": "Dropped", "id": "first.msg"},
        },
    });
    let ctx = rapport_core::rpc::RpcContext {
        client: rapport_core::SourceKind::Outlook,
        now: None,
    };
    let reply: serde_json::Value = serde_json::from_slice(&rapport_core::rpc::handle_bytes(
        &engine,
        request.to_string().as_bytes(),
        &ctx,
    ))
    .unwrap();
    assert_eq!(reply["result"]["outcome"], "stored", "{reply}");
    let id = want.message_id.unwrap();
    assert_eq!(engine.have(&[id]).unwrap(), vec![true]);
    // Garbage with the signature is an error naming the problem, not a crash.
    let request = serde_json::json!({
        "id": 2,
        "method": "capture",
        "params": {
            "raw": base64::engine::general_purpose::STANDARD.encode(&bytes[..700]),
            "source": {"account": "drop", "folder": "Dropped", "id": "cut.msg"},
        },
    });
    let reply: serde_json::Value = serde_json::from_slice(&rapport_core::rpc::handle_bytes(
        &engine,
        request.to_string().as_bytes(),
        &ctx,
    ))
    .unwrap();
    let message = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Outlook message"), "{reply}");
}

/// Thousands of damaged copies (bytes flipped, cut anywhere): each is read or refused, never
/// a crash. (The importer reads `.msg` files outside the parser's panic guard.)
#[test]
fn damaged_msg_files_never_crash_the_reader() {
    let raw = std::fs::read(&corpus_files()[3]).unwrap();
    let whole = MsgFile::from_eml(&raw, true).bytes();
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    let (mut read, mut refused) = (0, 0);
    for round in 0..3_000 {
        let mut bytes = whole.clone();
        if round % 3 == 0 {
            bytes.truncate(next() % whole.len());
        } else {
            for _ in 0..1 + next() % 8 {
                let at = next() % bytes.len();
                bytes[at] ^= 1 << (next() % 8);
            }
        }
        match rapport_core::mail::msg::header_section(std::io::Cursor::new(bytes)) {
            Ok(_) => read += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(read > 0 && refused > 0, "read {read}, refused {refused}");
}

/// Two `.msg` files committed under `tests/fixtures/msg` (the fuzzer's seeds, and real files
/// for anyone trying `rapport import`), written by this module's writer from the corpus's
/// first message: as received (with transport headers) and as sent (properties only). They
/// read as that message does. `RAPPORT_WRITE_MSG_FIXTURES=1` writes them again.
#[test]
fn the_committed_msg_fixtures_read_as_their_message() {
    let dir = rapport_tests::root().join("tests/fixtures/msg");
    let raw = std::fs::read(&corpus_files()[0]).unwrap();
    if std::env::var_os("RAPPORT_WRITE_MSG_FIXTURES").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        MsgFile::from_eml(&raw, true).write(&dir.join("received.msg"));
        MsgFile::from_eml(&raw, false).write(&dir.join("sent.msg"));
    }
    let eml = envelope(&raw);
    for name in ["received.msg", "sent.msg"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(kept(&envelope(&bytes)), kept(&eml), "{name}");
    }
}
