//! The conformance test every source passes: the same mailbox, from any source, in any order,
//! any number of times, gives the same database — identical stats, contacts and threads. It
//! drives the file importer (on the mailbox's files, and on the same mail as Outlook `.msg`
//! files) and the maildir pull source through the one pipeline; the IMAP
//! source is held to the same fingerprint against a real Dovecot by `tests/e2e/imap.sh`.
//!
//! A new pull source adds a case here (or, when it needs a server, to its e2e tier) that feeds
//! the shipped corpus through it and compares [`fingerprint`]s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rapport_core::import::{CancelToken, ImportOptions};
use rapport_core::source::maildir::MaildirSource;
use rapport_core::source::{PullOptions, pull_account};
use rapport_core::{ContactQuery, Engine, Policy, ThreadQuery};

/// "Now" for every age computation, so fingerprints taken at different times agree.
const NOW: i64 = 1_800_000_000;

/// What must be equal between two databases built from the same mail: stats, every contact
/// (without its row id) and every thread as its messages in tree order (without row ids).
#[derive(Debug, PartialEq)]
struct Fingerprint {
    stats: serde_json::Value,
    contacts: Vec<serde_json::Value>,
    threads: Vec<serde_json::Value>,
}

fn without_ids(mut v: serde_json::Value, keys: &[&str]) -> serde_json::Value {
    if let Some(map) = v.as_object_mut() {
        for k in keys {
            map.remove(*k);
        }
    }
    v
}

fn fingerprint(engine: &Engine) -> Fingerprint {
    let stats = serde_json::to_value(engine.stats().unwrap()).unwrap();
    let all = ContactQuery {
        limit: 1 << 30,
        ..Default::default()
    };
    let mut contacts: Vec<serde_json::Value> = engine
        .contacts(&all, NOW)
        .unwrap()
        .into_iter()
        .map(|c| {
            let detail = engine.contact(&c.email, NOW).unwrap();
            let mut v = without_ids(serde_json::to_value(detail).unwrap(), &["id"]);
            // Timeline and open-thread entries name threads by row id: keep what they say.
            for list in ["recent", "open_threads"] {
                if let Some(items) = v.get_mut(list).and_then(|l| l.as_array_mut()) {
                    for item in items.iter_mut() {
                        *item = without_ids(item.take(), &["thread_id"]);
                    }
                }
            }
            v
        })
        .collect();
    contacts.sort_by_key(|c| c["email"].to_string());
    let threads_query = ThreadQuery {
        limit: 1 << 30,
        ..Default::default()
    };
    let mut threads: Vec<serde_json::Value> = engine
        .threads(&threads_query, NOW)
        .unwrap()
        .into_iter()
        .map(|t| {
            let detail = engine.thread(&t.id.to_string(), NOW).unwrap();
            without_ids(serde_json::to_value(detail).unwrap(), &["id"])
        })
        .collect();
    threads.sort_by_key(|t| t["messages"].to_string());
    Fingerprint {
        stats,
        contacts,
        threads,
    }
}

/// Asserts two fingerprints are equal, naming the first difference (the whole values are too
/// large to read in a failure message).
#[track_caller]
fn assert_same(got: &Fingerprint, want: &Fingerprint, what: &str) {
    assert_eq!(got.stats, want.stats, "{what}: stats differ");
    assert_same_items(&got.contacts, &want.contacts, what, "contact");
    assert_same_items(&got.threads, &want.threads, what, "thread");
}

#[track_caller]
fn assert_same_items(
    got: &[serde_json::Value],
    want: &[serde_json::Value],
    what: &str,
    item: &str,
) {
    assert_eq!(got.len(), want.len(), "{what}: {item} count differs");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            g,
            w,
            "{what}: {item} differs:\n got {}\nwant {}",
            serde_json::to_string_pretty(g).unwrap(),
            serde_json::to_string_pretty(w).unwrap()
        );
    }
}

/// The same fingerprint with the count of places mail was seen set aside (two sources see
/// each message twice; everything else must still agree).
fn ignoring_sources(mut f: Fingerprint) -> Fingerprint {
    f.stats = without_ids(f.stats, &["sources"]);
    f
}

fn open(dir: &Path, name: &str, me: &str) -> Arc<Engine> {
    let engine = Engine::open(dir.join(name)).unwrap();
    engine.add_identity(me).unwrap();
    engine.set_policy(Policy::SentAndReceived).unwrap();
    Arc::new(engine)
}

fn import(engine: &Engine, maildir: &Path) {
    engine
        .import(
            &[maildir.to_path_buf()],
            &ImportOptions::default(),
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap();
}

fn pull(engine: &Arc<Engine>, maildir: &Path, window: usize) -> rapport_core::source::PullReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut source = MaildirSource::new("local", maildir);
    let options = PullOptions {
        folders: Vec::new(),
        window,
    };
    runtime
        .block_on(pull_account(
            engine,
            &mut source,
            &options,
            &|_| {},
            &CancelToken::new(),
        ))
        .unwrap()
}

/// A copy of a maildir whose files sort in the reverse order (hard links: cheap).
fn reversed_copy(src: &Path, dst: &Path) -> PathBuf {
    let cur = dst.join("cur");
    std::fs::create_dir_all(&cur).unwrap();
    std::fs::create_dir_all(dst.join("new")).unwrap();
    let mut files: Vec<PathBuf> = ["cur", "new"]
        .iter()
        .filter_map(|d| std::fs::read_dir(src.join(d)).ok())
        .flat_map(|rd| rd.map(|e| e.unwrap().path()))
        .collect();
    files.sort();
    let n = files.len();
    for (i, f) in files.iter().enumerate() {
        let name = format!("{:06}.reversed:2,S", n - i);
        std::fs::hard_link(f, cur.join(name))
            .or_else(|_| {
                std::fs::copy(f, cur.join(format!("{:06}.reversed:2,S", n - i))).map(|_| ())
            })
            .unwrap();
    }
    dst.to_path_buf()
}

/// The most frequent sender of a maildir: the "user" of the test, so that their replies make
/// contacts out of list mail.
fn most_frequent_sender(maildir: &Path) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for dir in ["cur", "new"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(dir)) else {
            continue;
        };
        for entry in entries {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&raw);
            let from = text
                .lines()
                .take_while(|l| !l.is_empty())
                .find(|l| l.to_ascii_lowercase().starts_with("from:"))
                .and_then(|l| {
                    let (start, end) = (l.rfind('<')?, l.rfind('>')?);
                    (start < end).then(|| l[start + 1..end].to_ascii_lowercase())
                });
            if let Some(from) = from {
                *counts.entry(from).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .max_by_key(|(addr, n)| (*n, std::cmp::Reverse(addr.clone())))
        .map(|(addr, _)| addr)
        .unwrap_or_default()
}

/// The mailbox every source is fed: the small corpus the project ships.
fn corpus() -> Option<(PathBuf, String)> {
    // Any maildir can be held to the same test: RAPPORT_CONFORMANCE_MAILDIR=~/Maildir.
    let maildir = match std::env::var_os("RAPPORT_CONFORMANCE_MAILDIR") {
        Some(dir) => PathBuf::from(dir),
        None => rapport_tests::small_corpus().join("maildir"),
    };
    if !maildir.is_dir() {
        return None;
    }
    let me = most_frequent_sender(&maildir);
    Some((maildir, me))
}

#[test]
fn every_source_in_any_order_any_number_of_times_gives_one_database() {
    let Some((maildir, me)) = corpus() else {
        println!("SKIPPED conformance: the shipped corpus under tests/corpus is missing");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();

    // The reference: the file importer, once.
    let reference = open(tmp.path(), "import.db", &me);
    import(&reference, &maildir);
    let expected = fingerprint(&reference);
    assert!(
        expected.stats["messages"].as_i64().unwrap() > 40,
        "the corpus is too small to say anything: {:?}",
        expected.stats
    );
    assert!(
        !expected.contacts.is_empty(),
        "the corpus makes no contacts"
    );

    // The importer again: nothing changes.
    import(&reference, &maildir);
    assert_same(&fingerprint(&reference), &expected, "importing twice");

    // The importer in the reverse order.
    let reversed = reversed_copy(&maildir, &tmp.path().join("reversed"));
    let backwards = open(tmp.path(), "backwards.db", &me);
    import(&backwards, &reversed);
    assert_same(
        &fingerprint(&backwards),
        &expected,
        "importing in reverse order",
    );

    // The maildir pull source through the pipeline, in small windows, then again (unchanged).
    let pulled = open(tmp.path(), "pull.db", &me);
    let first = pull(&pulled, &maildir, 7);
    assert_eq!(
        first.fetched,
        expected.stats["sources"].as_u64().unwrap(),
        "every file pulled once"
    );
    assert_same(&fingerprint(&pulled), &expected, "pulling in windows of 7");
    let again = pull(&pulled, &maildir, 7);
    assert_eq!(again.fetched, 0, "a second pull fetches nothing");
    assert!(again.folders.iter().all(|f| f.status == "unchanged"));
    assert_same(&fingerprint(&pulled), &expected, "pulling twice");

    // The pull source in the reverse order, in one window.
    let pulled_backwards = open(tmp.path(), "pull-backwards.db", &me);
    pull(&pulled_backwards, &reversed, 10_000);
    assert_same(
        &fingerprint(&pulled_backwards),
        &expected,
        "pulling in reverse order",
    );

    // The same mail as Outlook .msg files (as Outlook saves mail it received), imported.
    let msg_dir = tmp.path().join("msg");
    rapport_tests::msg::write_maildir_as_msg(&maildir, &msg_dir, true);
    let from_msg = open(tmp.path(), "msg.db", &me);
    import(&from_msg, &msg_dir);
    assert_same(&fingerprint(&from_msg), &expected, "importing .msg files");

    // Two sources at once into one database: the importer on one thread, the pipeline on
    // another. Each message is seen twice; everything else is as from one source.
    let both = open(tmp.path(), "both.db", &me);
    let importer = {
        let (engine, reversed) = (Arc::clone(&both), reversed.clone());
        std::thread::spawn(move || import(&engine, &reversed))
    };
    pull(&both, &maildir, 25);
    importer.join().unwrap();
    let got = fingerprint(&both);
    assert_eq!(
        got.stats["sources"].as_i64().unwrap(),
        2 * expected.stats["sources"].as_i64().unwrap()
    );
    assert_same(
        &ignoring_sources(got),
        &ignoring_sources(fingerprint(&reference)),
        "two sources at once",
    );
}
