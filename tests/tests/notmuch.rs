//! notmuch's own test corpora with known answers: the `default` corpus's 24 threads (sizes and
//! subjects from notmuch's expected output) and the `threading` cases' trees. Needs
//! ../shared/corpora (skipped without).

use std::path::Path;

use rapport_tests::{corpus, or_skip, rapport, rapport_json, shared_dir};

fn notmuch_dir(sub: &str) -> Result<std::path::PathBuf, String> {
    corpus("small-nasty").map(|d| d.join("notmuch/test/corpora").join(sub))
}

fn expected_dir() -> std::path::PathBuf {
    shared_dir().join("corpora/notmuch-expected")
}

fn import(db: &Path, dir: &Path) {
    let out = rapport(db, &["import", &dir.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn default_corpus_has_notmuchs_24_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("d.db");
    import(
        &db,
        &or_skip!(
            "default_corpus_has_notmuchs_24_threads",
            notmuch_dir("default")
        ),
    );
    let stats = rapport_json(&db, &["stats"]);
    assert_eq!(stats["messages"], 52);
    assert_eq!(stats["threads"], 24);

    let expected = std::fs::read_to_string(expected_dir().join("notmuch-search-tag-inbox"))
        .expect("notmuch-expected/notmuch-search-tag-inbox in ../shared/corpora");
    let threads = rapport_json(&db, &["threads", "--limit", "100"]);
    let threads = threads.as_array().unwrap();
    let mut matched = 0;
    for line in expected
        .lines()
        .filter(|l| l.contains('[') && l.contains('/'))
    {
        let total: i64 = line
            .split('/')
            .nth(1)
            .and_then(|s| s.split(']').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("unreadable expected line {line}"));
        // The thread whose subject appears on this line (longest match wins).
        let t = threads
            .iter()
            .filter(|t| line.contains(t["subject"].as_str().unwrap()))
            .max_by_key(|t| t["subject"].as_str().unwrap().len())
            .unwrap_or_else(|| panic!("no thread for expected line: {line}"));
        assert_eq!(t["message_count"], total, "thread size for: {line}");
        matched += 1;
    }
    assert_eq!(matched, 24);
}

/// (depth, subject) in tree order.
fn tree(db: &Path, id: &str) -> (String, Vec<(u64, String)>) {
    let t = rapport_json(db, &["thread", id]);
    let rows = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["depth"].as_u64().unwrap(),
                m["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (t["subject"].as_str().unwrap().to_string(), rows)
}

#[test]
fn threading_cases_give_notmuchs_trees() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.db");
    import(
        &db,
        &or_skip!(
            "threading_cases_give_notmuchs_trees",
            notmuch_dir("threading")
        ),
    );

    // Reply to a ghost: the fake root must not take over.
    let (subject, rows) = tree(&db, "<000-real-root@example.org>");
    assert_eq!(subject, "root message");
    let want: Vec<(u64, String)> = [
        (0, "root message"),
        (1, "child message"),
        (2, "fake root message"),
        (2, "grand-child message"),
        (3, "great grand-child message"),
        (2, "grand-child message 2"),
    ]
    .iter()
    .map(|(d, s)| (*d, s.to_string()))
    .collect();
    assert_eq!(rows, want);

    // Reply to a ghost (RT): the resolved notice references only a ticket nobody has.
    let (subject, rows) = tree(&db, "<87bmc6lp3h.fsf@len.workgroup>");
    assert_eq!(subject, "FYI: xxxx xxxxxxx xxxxxxxxxxxx xxx");
    let depths: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(depths, [0, 1, 0]);
    assert!(rows[1].1.contains("AutoReply"));
    assert!(rows[2].1.contains("Resolved"));

    // In-Reply-To is trusted over a broken References header.
    let (subject, rows) = tree(&db, "<B00-root@example.org>");
    assert_eq!(subject, "root message");
    let want: Vec<(u64, String)> = [
        (0, "root message"),
        (1, "child message"),
        (2, "grand-child message"),
    ]
    .iter()
    .map(|(d, s)| (*d, s.to_string()))
    .collect();
    assert_eq!(rows, want);
}
