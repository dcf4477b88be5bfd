//! Malformed and exotic mail (small-nasty: CPython's email tests, mail-parser's malformed MIME,
//! notmuch's broken corpus): every file is stored or reported with a reason, nothing panics, and
//! the import exits 0. Needs ../shared/corpora (skipped without).

use rapport_tests::{corpus, or_skip, rapport, rapport_json};

#[test]
fn every_nasty_file_is_stored_or_reported() {
    let dir = or_skip!(
        "every_nasty_file_is_stored_or_reported",
        corpus("small-nasty")
    );
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("n.db");
    let out = rapport(&db, &["import", &dir.to_string_lossy(), "--json"]);
    assert!(
        out.status.success(),
        "import of small-nasty failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Every regular file the import could see was read.
    let mut files = 0u64;
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let ft = e.file_type().unwrap();
            let maildir_folder =
                ft.is_dir() && (e.path().join("cur").is_dir() || e.path().join("new").is_dir());
            if (name.starts_with('.') && !maildir_folder) || name == "tmp" {
                continue;
            }
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                files += 1;
            }
        }
    }
    assert_eq!(summary["files"], files, "files read");

    // Each message read was stored, recognised as a duplicate, or skipped with a reason.
    let read = summary["messages_read"].as_u64().unwrap();
    let accounted = summary["stored"].as_u64().unwrap()
        + summary["duplicates"].as_u64().unwrap()
        + summary["skipped"].as_u64().unwrap();
    assert_eq!(read, accounted);
    assert!(summary["stored"].as_u64().unwrap() > 300);

    let skipped = rapport_json(&db, &["skipped", "--limit", "100000"]);
    let skipped = skipped.as_array().unwrap();
    assert_eq!(skipped.len() as u64, summary["skipped"].as_u64().unwrap());
    for s in skipped {
        assert!(!s["reason"].as_str().unwrap().is_empty());
        assert!(!s["detail"].as_str().unwrap().is_empty());
    }
    let stats = rapport_json(&db, &["stats"]);
    assert_eq!(
        stats["sources"].as_u64().unwrap(),
        summary["stored"].as_u64().unwrap() + summary["duplicates"].as_u64().unwrap()
    );
}
