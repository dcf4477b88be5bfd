//! Stopping and safety around long work: Ctrl-C (SIGINT) and SIGTERM stop an import after its
//! current batch with a clear line and the shell's exit code, keeping everything read so far
//! (and the next run finishes the work: the result equals an import never interrupted); and
//! `doctor` flags an accounts file other users can write, which is refused when anyone can.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rapport_tests::{counts, rapport, rapport_bin, rapport_json};

/// An mbox of `n` messages in threads of three, from 50 senders.
fn write_mbox(path: &Path, n: usize) {
    let mut out = String::new();
    for i in 0..n {
        let thread = i / 3;
        let reply = if i % 3 == 0 {
            String::new()
        } else {
            format!("In-Reply-To: <stop-{}@example.test>\n", i - 1)
        };
        out.push_str(&format!(
            "From sender{s}@example.test Mon Nov  2 10:00:00 2026\n\
             From: Sender {s} <sender{s}@example.test>\nTo: me@example.test\n\
             Subject: thread {thread}\nDate: Mon, 2 Nov 2026 10:00:{:02} +0000\n\
             Message-ID: <stop-{i}@example.test>\n{reply}\nbody {i}\n\n",
            i % 60,
            s = i % 50
        ));
    }
    std::fs::write(path, out).unwrap();
}

fn stop_import_with(signal: i32, expected_code: i32, expected_words: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mbox = tmp.path().join("big.mbox");
    write_mbox(&mbox, 300_000);
    let db = tmp.path().join("r.db");
    let child = Command::new(rapport_bin())
        .arg("--db")
        .arg(&db)
        .args(["import", "--batch", "500"])
        .arg(&mbox)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop once the import is well under way (its first batches are in the database).
    let started = Instant::now();
    while !db.exists() || std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) < 100_000 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "import never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(child.id() as i32, signal) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(expected_code), "{stderr}");
    assert!(stderr.contains(expected_words), "{stderr}");
    assert!(stderr.contains("stored and settled"), "{stderr}");
    assert!(stderr.contains("Run the same command again"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let partial = rapport_json(&db, &["stats"])["messages"].as_i64().unwrap();
    assert!(
        partial > 0 && partial < 300_000,
        "stopped part-way: {partial}"
    );
    // The next run completes the work, and the result equals an uninterrupted import.
    let again = rapport(&db, &["import", &mbox.to_string_lossy()]);
    assert!(again.status.success());
    let whole_db = tmp.path().join("whole.db");
    assert!(
        rapport(&whole_db, &["import", &mbox.to_string_lossy()])
            .status
            .success()
    );
    assert_eq!(
        counts(&rapport_json(&db, &["stats"])),
        counts(&rapport_json(&whole_db, &["stats"]))
    );
    assert_eq!(
        rapport_json(&db, &["contacts"]),
        rapport_json(&whole_db, &["contacts"])
    );
}

#[test]
fn ctrl_c_stops_an_import_cleanly() {
    stop_import_with(libc::SIGINT, 130, "stopped by Ctrl-C");
}

#[test]
fn sigterm_stops_an_import_cleanly() {
    stop_import_with(libc::SIGTERM, 143, "stopped by SIGTERM");
}

#[test]
fn doctor_flags_an_accounts_file_others_can_write() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("accounts.toml");
    std::fs::write(
        &config,
        "[[account]]\nname = \"work\"\nhost = \"127.0.0.1\"\nuser = \"me\"\n\
         password_command = \"echo secret\"\n",
    )
    .unwrap();
    let db = tmp.path().join("r.db");
    let doctor = |mode: u32| {
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap();
        let out = Command::new(rapport_bin())
            .arg("--db")
            .arg(&db)
            .arg("--config")
            .arg(&config)
            .args(["--json", "doctor"])
            .output()
            .unwrap();
        let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let failures: Vec<String> = checks
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["area"] == "accounts" && c["status"] == "fail")
            .map(|c| c["detail"].as_str().unwrap_or_default().to_string())
            .collect();
        failures
    };
    assert_eq!(doctor(0o600), Vec::<String>::new());
    let group = doctor(0o660);
    assert!(
        group.iter().any(|f| f.contains("writable by its group")),
        "{group:?}"
    );
    let world = doctor(0o646);
    assert!(
        world.iter().any(|f| f.contains("writable by every user")),
        "{world:?}"
    );
    // Refused outright, not merely flagged, when anyone can write it.
    let list = Command::new(rapport_bin())
        .arg("--config")
        .arg(&config)
        .args(["account", "list"])
        .output()
        .unwrap();
    assert!(!list.status.success());
    assert!(String::from_utf8_lossy(&list.stderr).contains("chmod 600"));
}
