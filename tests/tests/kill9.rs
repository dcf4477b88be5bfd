//! `kill -9` in the middle of an import, then the same import again: the database must equal a
//! clean import's (nothing missing, nothing twice). Needs ../shared/corpora (skipped without).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rapport_tests::{counts, linux_man, or_skip, rapport, rapport_bin, rapport_json};

#[test]
fn killed_import_resumes_without_gaps_or_duplicates() {
    let maildir = or_skip!(
        "killed_import_resumes_without_gaps_or_duplicates",
        linux_man()
    );
    let dir = maildir.to_string_lossy().into_owned();
    let tmp = tempfile::tempdir().unwrap();

    let clean = tmp.path().join("clean.db");
    let out = rapport(&clean, &["import", &dir]);
    assert!(out.status.success());
    let expected = counts(&rapport_json(&clean, &["stats"]));

    let killed = tmp.path().join("killed.db");
    // Small batches so that several commits happen before the kill.
    let mut child = Command::new(rapport_bin())
        .args(["--db"])
        .arg(&killed)
        .args(["--quiet", "import", &dir, "--batch", "500"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut seen = 0;
    while started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(out) = Command::new(rapport_bin())
            .arg("--db")
            .arg(&killed)
            .args(["stats", "--json"])
            .output()
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        {
            seen = v["messages"].as_i64().unwrap_or(0);
            if seen >= 2000 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = rapport_json(&killed, &["stats"]);
    let partial_messages = partial["messages"].as_i64().unwrap();
    assert!(
        partial_messages > 0 && partial_messages < expected["messages"].as_i64().unwrap(),
        "the kill did not land mid-import (saw {seen}, stored {partial_messages})"
    );

    let out = rapport(&killed, &["import", &dir]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(counts(&rapport_json(&killed, &["stats"])), expected);
}
