//! With the disk full, read commands still work (the database is opened read-only on its own
//! file), writes fail with a clear error, and nothing stored is lost. Needs a small filesystem
//! to fill: a 4 MiB tmpfs mounted here, so root; otherwise the test reports itself skipped.

use std::path::Path;
use std::process::Command;

use rapport_tests::{rapport, rapport_json, skip, small_corpus};

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_small_tmpfs(dir: &Path) -> Result<Mount, String> {
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if status.success() {
        Ok(Mount(dir.to_path_buf()))
    } else {
        Err("mounting a 4 MiB tmpfs needs root (or CAP_SYS_ADMIN)".into())
    }
}

#[test]
fn reads_work_on_a_full_disk_and_writes_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = match mount_small_tmpfs(tmp.path()) {
        Ok(m) => m,
        Err(reason) => return skip("full disk", &reason),
    };
    let db = mount.0.join("rapport.db");
    let corpus = small_corpus().join("maildir");
    let out = rapport(&db, &["import", &corpus.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = rapport_json(&db, &["stats"]);

    // Fill the filesystem to the last byte.
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", mount.0.join("fill").display()))
        .output();

    let stats = rapport(&db, &["--json", "stats"]);
    assert!(
        stats.status.success(),
        "stats on a full disk: {}",
        String::from_utf8_lossy(&stats.stderr)
    );
    let during: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(during["messages"], before["messages"]);
    assert!(String::from_utf8_lossy(&stats.stderr).contains("is full"));
    let threads = rapport(&db, &["threads", "--limit", "3"]);
    assert!(threads.status.success());

    let write = rapport(&db, &["identity", "add", "someone@example.org"]);
    assert!(!write.status.success(), "a write on a full disk must fail");
    assert!(!String::from_utf8_lossy(&write.stderr).contains("panicked"));

    std::fs::remove_file(mount.0.join("fill")).unwrap();
    let after = rapport_json(&db, &["stats"]);
    assert_eq!(after["messages"], before["messages"], "nothing lost");
    let write = rapport(&db, &["identity", "add", "someone@example.org"]);
    assert!(
        write.status.success(),
        "writes work again once there is room"
    );
}
