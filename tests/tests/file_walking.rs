//! Walking and reading mail files cannot hang or explode: symlink loops are entered once, only
//! regular files are opened (a FIFO is reported, never read), memory stays bounded whatever the
//! file size, an unreadable directory is reported while the rest is imported, names that are not
//! UTF-8 stay distinct sources, and mbox splitting makes no phantom messages.
//!
//! Each test runs the real `rapport` binary; a hang shows up as a test failure after a generous
//! limit, never as a timing assertion.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rapport_tests::{rapport, rapport_bin, rapport_json};

/// Far beyond what any of these imports takes; only a hang reaches it.
const HANG: Duration = Duration::from_secs(120);

fn message(n: usize, extra: &str) -> String {
    format!(
        "From: Sender {n} <sender{n}@example.test>\nTo: me@example.test\nSubject: note {n}\n\
         Date: Mon, 2 Nov 2026 10:{:02}:00 +0000\nMessage-ID: <walk-{n}@example.test>\n{extra}\nbody {n}\n",
        n % 60
    )
}

/// A temporary directory holding `mail/a.eml`, one message.
fn one_message_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    std::fs::write(mail.join("a.eml"), message(1, "")).unwrap();
    (tmp, mail)
}

/// Runs `rapport --db DB --json import ARGS…` as `command` prepared it, killing it at [`HANG`].
fn import_within(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rapport");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "import did not finish in {HANG:?} (hung): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn import_command(db: &Path, paths: &[&Path]) -> Command {
    let mut command = Command::new(rapport_bin());
    command.arg("--db").arg(db).args(["--json", "import"]);
    command.args(paths);
    command
}

fn summary(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("import --json prints JSON")
}

fn skipped_reasons(db: &Path) -> Vec<(String, String)> {
    rapport_json(db, &["skipped"])
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| {
            (
                s["location"].as_str().unwrap_or_default().to_string(),
                s["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn messages_in(db: &Path) -> i64 {
    rapport_json(db, &["stats"])["messages"]
        .as_i64()
        .expect("stats has messages")
}

#[test]
fn symlinks_to_parents_are_entered_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    let mut dir = mail.clone();
    // Five levels, each with two links back to the top: without loop detection the walk has
    // ~2^40 paths to visit.
    for level in 0..5 {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("m{level}.eml")), message(level, "")).unwrap();
        std::os::unix::fs::symlink(&mail, dir.join("loop-a")).unwrap();
        std::os::unix::fs::symlink(&mail, dir.join("loop-b")).unwrap();
        dir = dir.join("deeper");
    }
    let db = tmp.path().join("r.db");
    let s = summary(&import_within(import_command(&db, &[&mail])));
    assert_eq!(s["messages_read"], 5, "{s}");
    assert_eq!(s["stored"], 5, "{s}");
    assert_eq!(messages_in(&db), 5);
}

#[test]
fn fifos_are_reported_never_opened() {
    let (tmp, mail) = one_message_dir();
    let fifo = mail.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let db = tmp.path().join("r.db");
    // In a directory, and given as the path itself: no writer ever waits on it.
    let s = summary(&import_within(import_command(&db, &[&mail])));
    assert_eq!(s["stored"], 1, "{s}");
    assert_eq!(s["skipped_by_reason"]["not a regular file"], 1, "{s}");
    let s = summary(&import_within(import_command(&db, &[&fifo])));
    assert_eq!(s["skipped_by_reason"]["not a regular file"], 1, "{s}");
    let skipped = skipped_reasons(&db);
    assert!(
        skipped
            .iter()
            .any(|(location, reason)| location.ends_with("pipe") && reason == "not a regular file"),
        "{skipped:?}"
    );
}

/// Peak resident memory of the finished children of this process, in MiB.
fn children_peak_rss_mib() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given, which is zero-initialised anyway.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    (usage.ru_maxrss as u64) / 1024
}

#[test]
fn huge_files_are_read_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    // 1 GiB of NUL bytes (sparse: no disk used) as a single "message", and an mbox whose one
    // message has a body of 1 GiB without a line end.
    let junk = std::fs::File::create(mail.join("junk.bin")).unwrap();
    junk.set_len(1 << 30).unwrap();
    let mbox_path = mail.join("big.mbox");
    std::fs::write(
        &mbox_path,
        format!(
            "From sender1@example.test Mon Nov  2 10:00:00 2026\n{}",
            message(1, "")
        ),
    )
    .unwrap();
    let mbox = std::fs::OpenOptions::new()
        .append(true)
        .open(&mbox_path)
        .unwrap();
    mbox.set_len((1 << 30) + 400).unwrap();
    drop(mbox);
    let db = tmp.path().join("r.db");
    // The test runs its children one at a time; the peak over all of them bounds this import.
    let s = summary(&import_within(import_command(&db, &[&mail])));
    let peak = children_peak_rss_mib();
    assert_eq!(s["stored"], 1, "the mbox message is stored: {s}");
    assert_eq!(s["skipped"], 1, "the junk file is reported: {s}");
    assert!(
        peak < 400,
        "reading 2 GiB of files peaked at {peak} MiB of memory (bounded reading keeps it far lower)"
    );
}

#[test]
fn an_unreadable_directory_is_reported_and_the_rest_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    for (dir, n) in [("a", 1), ("b-locked", 2), ("c", 3)] {
        std::fs::create_dir_all(mail.join(dir)).unwrap();
        for i in 0..40 {
            std::fs::write(
                mail.join(dir).join(format!("{i}.eml")),
                message(n * 100 + i, ""),
            )
            .unwrap();
        }
    }
    let locked = mail.join("b-locked");
    set_mode(&locked, 0o000);
    let db = tmp.path().join("r.db");
    let mut command = import_command(&db, &[&mail]);
    // Root reads any directory: the import then runs as an unprivileged user.
    if is_root() {
        set_mode(tmp.path(), 0o777);
        command = Command::new("setpriv");
        command
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(rapport_bin())
            .arg("--db")
            .arg(&db)
            .args(["--json", "import"])
            .arg(&mail);
    }
    let out = import_within(command);
    set_mode(&locked, 0o755);
    let s = summary(&out);
    assert_eq!(s["stored"], 80, "{s}");
    assert_eq!(s["skipped_by_reason"]["unreadable"], 1, "{s}");
    let errors = s["errors"].to_string();
    assert!(errors.contains("b-locked"), "{errors}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn names_that_are_not_utf8_stay_distinct_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let mail = tmp.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let names: [&[u8]; 2] = [b"caf\xe9.eml", b"caf\xe8.eml"];
    for name in names {
        // The same message twice: one message, two sources.
        std::fs::write(mail.join(OsStr::from_bytes(name)), message(7, "")).unwrap();
    }
    let db = tmp.path().join("r.db");
    let s = summary(&import_within(import_command(&db, &[&mail])));
    assert_eq!(s["stored"], 1, "{s}");
    assert_eq!(s["duplicates"], 1, "{s}");
    let keys = source_keys(&db);
    assert_eq!(keys, vec!["caf\\xe8.eml", "caf\\xe9.eml"], "{keys:?}");
}

fn source_keys(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT external_id FROM source ORDER BY external_id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn an_unescaped_from_line_in_a_body_makes_no_phantom_message_or_contact() {
    let tmp = tempfile::tempdir().unwrap();
    let mbox: PathBuf = tmp.path().join("list.mbox");
    let first = "From sender1@example.test Mon Nov  2 10:00:00 2026\n";
    std::fs::write(
        &mbox,
        format!(
            "{first}{}\nThe minutes, as promised.\n\n\
             From the desk of Carol, the list of attendees follows\n\
             To: dave@phantom.test\n\n\
             From carol@phantom.test Mon Nov  2 09:00:00 2026\n\
             to be continued\n\n\
             {first}{}",
            message(1, ""),
            message(2, "")
        ),
    )
    .unwrap();
    let db = tmp.path().join("r.db");
    rapport(&db, &["identity", "add", "me@example.test"]);
    rapport(&db, &["policy", "sent-and-received"]);
    let s = summary(&import_within(import_command(&db, &[&mbox])));
    assert_eq!(s["messages_read"], 2, "{s}");
    assert_eq!(s["stored"], 2, "{s}");
    assert_eq!(messages_in(&db), 2);
    let contacts = rapport_json(&db, &["contacts"]).to_string();
    assert!(!contacts.contains("phantom.test"), "{contacts}");
}

#[test]
fn the_database_being_written_is_not_read_as_mail() {
    // The directory is removed when `_tmp` goes, at the end.
    let (_tmp, mail) = one_message_dir();
    // The database lives in the very directory imported (twice: the second time its log and
    // lock files are there too).
    let db = mail.join("rapport.db");
    for _ in 0..2 {
        let s = summary(&import_within(import_command(&db, &[&mail])));
        assert_eq!(s["messages_read"], 1, "{s}");
        assert_eq!(s["skipped"], 0, "{s}");
    }
}
