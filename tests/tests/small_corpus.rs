//! The small corpus the project ships (`tests/corpus/notmuch-default`: notmuch's own test
//! corpus of its mailing list) against notmuch's answer in its `expected.json`: the same messages,
//! the same number of threads, and every notmuch thread exactly one Rapport thread. Runs in a
//! plain clone (no ../shared needed). On this set Rapport and notmuch agree exactly.

use std::collections::BTreeSet;

use rapport_tests::{rapport, rapport_json, small_corpus};

#[test]
fn small_corpus_threads_exactly_like_notmuch() {
    let dir = small_corpus();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("small.db");
    let out = rapport(&db, &["import", &dir.join("maildir").to_string_lossy()]);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let stats = rapport_json(&db, &["stats"]);
    assert_eq!(
        stats["sources"], expected["files"],
        "every file is a source"
    );
    assert_eq!(
        stats["messages"], expected["messages"],
        "distinct Message-IDs"
    );
    assert_eq!(stats["threads"], expected["threads"], "threads");

    let threads = expected["thread_message_ids"].as_array().unwrap();
    assert_eq!(threads.len() as u64, expected["threads"].as_u64().unwrap());
    let mut seen_threads = BTreeSet::new();
    for ids in threads {
        let want: BTreeSet<String> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap().to_string())
            .collect();
        let first = want.iter().next().unwrap();
        let t = rapport_json(&db, &["thread", first]);
        let got: BTreeSet<String> = t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["message_id"].as_str())
            .map(|i| i.trim_matches(|c| c == '<' || c == '>').to_string())
            .collect();
        assert_eq!(got, want, "thread of {first}");
        // Two notmuch threads must not land in one Rapport thread.
        assert!(
            seen_threads.insert(t["id"].to_string()),
            "thread {} holds two notmuch threads",
            t["id"]
        );
    }
}
