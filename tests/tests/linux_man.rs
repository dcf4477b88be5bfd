//! The linux-man corpus (17,885 real list messages) against notmuch's answers: message, thread
//! and address counts; importing again changes nothing; any file order gives the same database.
//! Needs ../shared/corpora: without it each test prints a SKIPPED marker and returns.

use std::path::Path;

use rapport_tests::{counts, linux_man, or_skip, rapport, rapport_json};

const NOTMUCH_MESSAGES: i64 = 17_879;
const NOTMUCH_THREADS: i64 = 3_915;
const PYTHON_ADDRESSES: i64 = 2_158;

fn import(db: &Path, dir: &Path) -> serde_json::Value {
    let dir = dir.to_string_lossy();
    let out = rapport(db, &["import", &dir, "--policy", "sent-and-received"]);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    rapport_json(db, &["stats"])
}

/// The files of a maildir's `cur/`, sorted, and a fresh `cur/` under `dst` for copies of them.
fn sorted_files_and_new_cur(
    src: &Path,
    dst: &Path,
) -> (Vec<std::path::PathBuf>, std::path::PathBuf) {
    let cur = dst.join("cur");
    std::fs::create_dir_all(&cur).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(src.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    (files, cur)
}

/// A copy of the maildir whose file names sort in the reverse order (hard links, so it is cheap).
fn reversed_copy(src: &Path, dst: &Path) {
    let (files, cur) = sorted_files_and_new_cur(src, dst);
    let n = files.len();
    for (i, f) in files.iter().enumerate() {
        let name = format!("{:06}.reversed:2,S", n - i);
        std::fs::hard_link(f, cur.join(name)).unwrap();
    }
}

#[test]
fn linux_man_agrees_with_notmuch_in_any_order_and_twice() {
    let maildir = or_skip!(
        "linux_man_agrees_with_notmuch_in_any_order_and_twice",
        linux_man()
    );
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("forward.db");
    let stats = import(&db, &maildir);

    let messages = stats["messages"].as_i64().unwrap();
    let threads = stats["threads"].as_i64().unwrap();
    let addresses = stats["addresses"].as_i64().unwrap();
    assert_eq!(messages, NOTMUCH_MESSAGES, "distinct Message-IDs");
    assert!(
        (threads - NOTMUCH_THREADS).abs() as f64 <= 0.005 * NOTMUCH_THREADS as f64,
        "threads {threads} vs notmuch {NOTMUCH_THREADS}"
    );
    assert!(
        (addresses - PYTHON_ADDRESSES).abs() as f64 <= 0.01 * PYTHON_ADDRESSES as f64,
        "addresses {addresses} vs getaddresses {PYTHON_ADDRESSES}"
    );
    assert_eq!(stats["sources"], 17_885, "every file is a source");
    // The bulk load checks no foreign keys row by row: every reference must still hold.
    let doctor = rapport_json(&db, &["doctor"]);
    let failures: Vec<_> = doctor
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert!(failures.is_empty(), "doctor: {failures:?}");

    // Importing the same files again changes nothing.
    let again = import(&db, &maildir);
    assert_eq!(
        counts(&again),
        counts(&stats),
        "second import changed the database"
    );

    // The same mail in the reverse order gives the same counts.
    let reversed = tmp.path().join("reversed");
    reversed_copy(&maildir, &reversed);
    let rdb = tmp.path().join("reversed.db");
    let rstats = import(&rdb, &reversed);
    assert_eq!(counts(&rstats), counts(&stats), "reverse order differs");

    // And the same threads: every thread's size distribution matches.
    let sizes = |db: &Path| {
        let list = rapport_json(db, &["threads", "--limit", "100000"]);
        let mut v: Vec<i64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["message_count"].as_i64().unwrap())
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(
        sizes(&db),
        sizes(&rdb),
        "thread sizes differ between orders"
    );

    // And the same name histories, though six Message-IDs arrive as two differing copies.
    let names = |db: &Path| {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT a.key, n.name, n.first_seen, n.last_seen, n.uses
                 FROM address_name n JOIN address a ON a.id = n.address_id ORDER BY 1, 2",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(format!(
                "{} {} {} {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<std::collections::BTreeSet<String>>>()
        .unwrap()
    };
    let (forward_names, reverse_names) = (names(&db), names(&rdb));
    let differing: Vec<_> = forward_names.symmetric_difference(&reverse_names).collect();
    assert!(
        differing.is_empty(),
        "name histories differ between orders: {differing:?}"
    );
}

/// A copy of the first `n` files of the maildir (hard links).
fn first_files(src: &Path, dst: &Path, n: usize) {
    let (files, cur) = sorted_files_and_new_cur(src, dst);
    for f in files.iter().take(n) {
        std::fs::hard_link(f, cur.join(f.file_name().unwrap())).unwrap();
    }
}

/// A bulk load into a fresh database settles addresses from a second connection while the
/// writer rebuilds indexes; an import into a populated database settles them in its own
/// transaction. Both must end with the same contacts and the same counts (with an identity, so
/// that outbound mail, replies and contacts all come into it).
#[test]
fn bulk_load_and_incremental_import_agree() {
    let maildir = or_skip!("bulk_load_and_incremental_import_agree", linux_man());
    let tmp = tempfile::tempdir().unwrap();
    let me = "mtk.manpages@gmail.com";
    let run = |db: &Path, dir: &Path| {
        let dir = dir.to_string_lossy();
        let out = rapport(
            db,
            &["import", &dir, "--me", me, "--policy", "sent-and-received"],
        );
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let contacts = |db: &Path| {
        let list = rapport_json(db, &["contacts", "--limit", "100000"]);
        let mut v: Vec<serde_json::Value> = list
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(|mut c| {
                c.as_object_mut().unwrap().remove("id");
                c
            })
            .collect();
        v.sort_by_key(|c| c["email"].as_str().unwrap_or("").to_string());
        v
    };
    let counts_of = |db: &Path| {
        let s = rapport_json(db, &["stats"]);
        (
            s["messages"].clone(),
            s["threads"].clone(),
            s["contacts"].clone(),
            s["addresses"].clone(),
        )
    };

    let bulk = tmp.path().join("bulk.db");
    run(&bulk, &maildir);

    let part = tmp.path().join("part");
    first_files(&maildir, &part, 6_000);
    let stepwise = tmp.path().join("stepwise.db");
    run(&stepwise, &part);
    run(&stepwise, &maildir);

    assert_eq!(counts_of(&bulk), counts_of(&stepwise), "counts differ");
    let (a, b) = (contacts(&bulk), contacts(&stepwise));
    assert!(
        a.len() > 100,
        "expected contacts with an identity, got {}",
        a.len()
    );
    assert_eq!(
        a, b,
        "contacts differ between a bulk load and a two-step import"
    );
}
