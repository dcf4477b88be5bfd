use super::frames::*;
use super::host::*;
use super::install::*;
use super::*;
use base64::Engine as _;
use rapport_core::Engine;
use rapport_core::rpc::{self, MAX_REPLY_BYTES, RpcContext};
use serde_json::{Value, json};
use std::io::Cursor;
use std::path::Path;

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_frame(&mut out, payload).expect("write to a Vec");
    out
}

fn replies(mut out: &[u8]) -> Vec<Value> {
    let mut all = Vec::new();
    while let Some(f) = read_frame(&mut out, MAX_REPLY_BYTES).expect("well-formed reply frames") {
        all.push(serde_json::from_slice(&f).expect("replies are JSON"));
    }
    all
}

fn ctx() -> RpcContext {
    RpcContext {
        client: CLIENT,
        now: Some(1_790_000_000),
    }
}

fn session(input: Vec<u8>) -> (End, Vec<Value>, Backend) {
    let mut backend = Backend::with_engine(Engine::open_in_memory().expect("in-memory engine"));
    let mut out = Vec::new();
    let end = serve(&mut backend, &mut Cursor::new(input), &mut out, &ctx()).expect("serve");
    (end, replies(&out), backend)
}

fn capture_request(id: u64, raw: &str, folder: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
    serde_json::to_vec(&json!({"id": id, "method": "capture", "params": {
        "raw": b64, "source": {"account": "account1", "folder": folder, "id": "x"},
        "sent": folder == "/Sent"}}))
    .expect("json")
}

const TB_COPY: &str = "X-Account-Key: account1\nX-UIDL: 000000010000abcd\nX-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys:                                                                                 \nFrom: Bob <bob@example.test>\nTo: Alice <alice@example.test>\nSubject: Kickoff\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <kickoff-1@example.test>\n\nHi Alice\n";
const SERVER_COPY: &str = "From: Bob <bob@example.test>\r\nTo: Alice <alice@example.test>\r\nSubject: Kickoff\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <kickoff-1@example.test>\r\n\r\nHi Alice\r\n";

#[test]
fn frames_round_trip_in_native_byte_order() {
    let f = frame(b"{}");
    assert_eq!(f.get(..4), Some(&2u32.to_ne_bytes()[..]));
    let mut r = Cursor::new(f);
    assert_eq!(read_frame(&mut r, 10).expect("frame"), Some(b"{}".to_vec()));
    assert_eq!(read_frame(&mut r, 10).expect("eof"), None);
}

#[test]
fn requests_get_replies_in_order_and_end_cleanly() {
    let mut input = frame(br#"{"id":1,"method":"hello"}"#);
    input.extend(frame(br#"{"id":2,"method":"stats"}"#));
    let (end, r, _) = session(input);
    assert_eq!(end, End::Closed);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["id"], 1);
    assert_eq!(r[0]["result"]["protocol"], rpc::PROTOCOL_VERSION);
    assert_eq!(r[1]["result"]["messages"], 0);
}

#[test]
fn garbage_frames_get_error_replies_and_the_session_goes_on() {
    let mut input = frame(b"not json at all");
    input.extend(frame(&[0xff, 0xfe, 0x00]));
    input.extend(frame(b""));
    input.extend(frame(b"[1,2,3]"));
    input.extend(frame(
        br#"{"id":9,"method":"capture","params":{"raw":"!!!"}}"#,
    ));
    input.extend(frame(br#"{"id":10,"method":"hello"}"#));
    let (end, r, _) = session(input);
    assert_eq!(end, End::Closed);
    assert_eq!(r.len(), 6);
    for reply in r.iter().take(4) {
        assert_eq!(reply["error"]["code"], "InvalidRequest", "{reply}");
    }
    assert_eq!(r[4]["id"], 9);
    assert_eq!(r[4]["error"]["code"], "InvalidInput");
    assert_eq!(r[5]["result"]["protocol"], rpc::PROTOCOL_VERSION);
}

#[test]
fn truncated_length_prefix_ends_the_session() {
    let mut input = frame(br#"{"id":1,"method":"hello"}"#);
    input.extend([7, 0]);
    let (end, r, _) = session(input);
    assert!(
        matches!(end, End::Broken(ref why) if why.contains("2 of 4")),
        "{end:?}"
    );
    assert_eq!(r.len(), 1);
}

#[test]
fn truncated_capture_writes_nothing() -> anyhow::Result<()> {
    let whole = frame(&capture_request(1, SERVER_COPY, "INBOX"));
    let cut = whole.get(..whole.len() - 20).unwrap_or_default().to_vec();
    let (end, r, mut backend) = session(cut);
    assert!(matches!(end, End::Broken(ref why) if why.contains("inside a frame")));
    assert!(r.is_empty(), "no reply to half a request");
    assert_eq!(backend.engine()?.stats()?.messages, 0);
    Ok(())
}

#[test]
fn oversized_length_gets_an_error_reply_without_reading_or_allocating() {
    let mut input = u32::MAX.to_ne_bytes().to_vec();
    input.extend(b"whatever follows is not read");
    let (end, r, _) = session(input);
    assert!(matches!(end, End::Broken(ref why) if why.contains("exceeds the limit")));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["error"]["code"], "TooLarge");
    assert_eq!(r[0]["id"], Value::Null);
}

#[test]
fn a_length_just_over_the_limit_is_refused() {
    let mut r = Cursor::new(11u32.to_ne_bytes().to_vec());
    assert!(matches!(
        read_frame(&mut r, 10),
        Err(FrameError::TooLarge { length: 11, .. })
    ));
}

#[test]
fn replies_stay_under_one_mebibyte() -> anyhow::Result<()> {
    // Many distinct contacts with long names, then ask for as many as the protocol allows.
    let engine = Engine::open_in_memory()?;
    engine.add_identity("alice@example.test")?;
    let src = |i: usize| rapport_core::model::SourceRef {
        kind: SourceKind::File,
        external_id: i.to_string(),
        ..Default::default()
    };
    let long = "N".repeat(3000);
    for i in 0..500 {
        let raw = format!(
            "From: alice@example.test\r\nTo: \"{long} {i}\" <p{i}@example.test>\r\nSubject: s\r\nMessage-ID: <m{i}@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nx\r\n"
        );
        engine.capture(raw.as_bytes(), &src(i))?;
    }
    let mut backend = Backend::with_engine(engine);
    let mut out = Vec::new();
    let req = frame(br#"{"id":1,"method":"contacts","params":{"limit":500}}"#);
    serve(&mut backend, &mut Cursor::new(req), &mut out, &ctx())?;
    assert!(out.len() <= MAX_REPLY_BYTES + 4, "{} bytes", out.len());
    let r = replies(&out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["id"], 1);
    assert_eq!(r[0]["error"]["code"], "TooLarge", "the reply was cut short");
    Ok(())
}

#[test]
fn the_thunderbird_copy_and_the_server_copy_are_one_message() -> anyhow::Result<()> {
    let (_, r, mut backend) = session(frame(&capture_request(1, TB_COPY, "/Inbox")));
    assert_eq!(r[0]["result"]["outcome"], "stored", "{}", r[0]);
    let engine = backend.engine()?;
    let imap = rapport_core::model::SourceRef {
        kind: SourceKind::Imap,
        account: "alice@127.0.0.1".into(),
        folder: "INBOX".into(),
        external_id: "1".into(),
    };
    let again = engine.capture(SERVER_COPY.as_bytes(), &imap)?;
    assert_eq!(again.outcome, rapport_core::model::IngestOutcome::Duplicate);
    let stats = engine.stats()?;
    assert_eq!(stats.messages, 1);
    assert_eq!(stats.sources, 2);
    let have = engine.have(&["kickoff-1@example.test".to_string()])?;
    assert_eq!(have, vec![true]);
    Ok(())
}

#[test]
fn identities_from_thunderbird_make_sent_mail_outbound() -> anyhow::Result<()> {
    let reply = "From: Alice <alice@example.test>\nTo: Bob <bob@example.test>\nSubject: Re: Kickoff\nDate: Tue, 24 Nov 2026 11:00:00 +0000\nMessage-ID: <reply-1@example.test>\nIn-Reply-To: <kickoff-1@example.test>\nReferences: <kickoff-1@example.test>\n\nSee you\n";
    let mut input =
        frame(br#"{"id":1,"method":"add_identity","params":{"address":"Alice@Example.test"}}"#);
    input.extend(frame(&capture_request(2, TB_COPY, "/Inbox")));
    input.extend(frame(&capture_request(3, reply, "/Sent")));
    input.extend(frame(
        br#"{"id":4,"method":"add_identity","params":{"address":"alice@example.test"}}"#,
    ));
    let (end, r, mut backend) = session(input);
    assert_eq!(end, End::Closed);
    assert_eq!(r[0]["result"]["added"], true, "{}", r[0]);
    assert_eq!(r[3]["result"]["added"], false, "{}", r[3]);
    let stats = backend.engine()?.stats()?;
    assert_eq!(stats.messages, 2);
    assert_eq!(stats.threads, 1);
    assert_eq!(stats.by_direction.get("outbound"), Some(&1));
    assert_eq!(stats.by_direction.get("inbound"), Some(&1));
    let bob = backend
        .engine()?
        .contact("bob@example.test", 1_790_000_000)?;
    assert_eq!(
        (bob.summary.inbound_count, bob.summary.outbound_count),
        (1, 1)
    );
    Ok(())
}

#[test]
fn a_database_that_cannot_be_opened_gets_error_replies() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x")?;
    let mut backend = Backend::new(blocker.join("sub/rapport.db"));
    let mut out = Vec::new();
    let end = serve(
        &mut backend,
        &mut Cursor::new(frame(br#"{"id":4,"method":"stats"}"#)),
        &mut out,
        &ctx(),
    )?;
    assert_eq!(end, End::Closed);
    let r = replies(&out);
    assert_eq!(r[0]["id"], 4);
    assert!(
        r[0]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot open the database"),
        "{}",
        r[0]
    );
    Ok(())
}

#[test]
fn only_the_rapport_extension_may_call() {
    let manifest = "/home/u/.mozilla/native-messaging-hosts/rapport.json".to_string();
    assert!(check_caller(&[manifest.clone(), EXTENSION_ID.into()]).is_ok());
    let wrong = check_caller(&[manifest.clone(), "evil@example.com".into()]);
    assert!(wrong.is_err_and(|e| e.contains("evil@example.com")));
    assert!(check_caller(&[manifest]).is_err());
    assert!(check_caller(&[]).is_err());
}

#[test]
fn launcher_quotes_paths_for_sh() -> anyhow::Result<()> {
    if cfg!(windows) {
        return Ok(());
    }
    let s = launcher_script(
        Path::new("/opt/my app/rapport"),
        Path::new("/home/o'neil/r.db"),
    )?;
    assert!(s.starts_with("#!/bin/sh\n"));
    assert!(
        s.contains(r#"exec '/opt/my app/rapport' --db '/home/o'\''neil/r.db' native-host "$@""#),
        "{s}"
    );
    Ok(())
}

#[test]
fn host_manifest_has_the_firefox_shape() {
    let m = host_manifest(Path::new("/x/rapport-native-host"));
    assert_eq!(m["name"], HOST_NAME);
    assert_eq!(m["type"], "stdio");
    assert_eq!(m["allowed_extensions"], json!([EXTENSION_ID]));
    assert_eq!(m["path"], "/x/rapport-native-host");
}
