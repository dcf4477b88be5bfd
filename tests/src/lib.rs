//! Shared helpers for Rapport's cross-component tests: where the shared corpora and the
//! `rapport` binary are, and how to run it.

pub mod msg;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// The shared folder beside the project (`$RAPPORT_SHARED`, else `../shared`).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("RAPPORT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"))
}

/// The extracted shared corpus directory (`lore-linux-man` or `small-nasty`), extracting it once
/// with `scripts/corpora.sh`; `Err(reason)` when the shared corpora are not there (a plain
/// clone), so that the caller can skip. Panics on any other failure.
pub fn corpus(name: &str) -> Result<PathBuf, String> {
    let out = Command::new(root().join("scripts/corpora.sh"))
        .arg(name)
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/corpora.sh: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    match out.status.code() {
        Some(0) => Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())),
        // corpora.sh exits 3 when the archive is missing.
        Some(3) => Err(stderr),
        _ => panic!("extracting corpus {name} failed: {stderr}"),
    }
}

/// The linux-man maildir (its `cur/` and `new/` live one level down).
pub fn linux_man() -> Result<PathBuf, String> {
    corpus("lore-linux-man").map(|d| d.join("lore-linux-man"))
}

/// Reports a test as skipped: libtest cannot skip at run time, so the test prints this marker
/// (uncaptured, on stderr) and returns; `tests/tiers/10-rust.sh` counts the markers as skips.
pub fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let line = format!("\nSKIPPED {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The value of a `Result` from [`corpus`], or [`skip`] the calling test and return from it.
#[macro_export]
macro_rules! or_skip {
    ($test:expr, $corpus:expr) => {
        match $corpus {
            Ok(v) => v,
            Err(reason) => {
                $crate::skip($test, &reason);
                return;
            }
        }
    };
}

/// The small corpus the project ships: notmuch's `default` test corpus with notmuch's answer
/// (`tests/corpus/notmuch-default`, made by `scripts/make-small-corpus.sh`).
pub fn small_corpus() -> PathBuf {
    root().join("tests/corpus/notmuch-default")
}

/// The `rapport` binary under test: `$RAPPORT_BIN`, else the release build, else the debug build
/// (in `$CARGO_TARGET_DIR`, else `target/`), like `rapport_bin` in `tests/lib.sh`.
pub fn rapport_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RAPPORT_BIN") {
        return PathBuf::from(p);
    }
    let target = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(t) if t.is_absolute() => t,
        Some(t) => root().join(t),
        None => root().join("target"),
    };
    for profile in ["release", "debug"] {
        let p = target.join(profile).join("rapport");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "no rapport binary in {}: build it with `cargo build --release -p rapport-cli` or set RAPPORT_BIN",
        target.display()
    )
}

/// Runs `rapport --db DB ARGS…` and returns its output.
pub fn rapport(db: &Path, args: &[&str]) -> Output {
    Command::new(rapport_bin())
        .arg("--db")
        .arg(db)
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run rapport: {e}"))
}

/// Runs `rapport … --json` and parses stdout; panics with stderr on failure.
pub fn rapport_json(db: &Path, args: &[&str]) -> serde_json::Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let out = rapport(db, &all);
    assert!(
        out.status.success(),
        "rapport {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "rapport {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The counts `stats --json` reports, without the dates (which depend on nothing but mail).
pub fn counts(stats: &serde_json::Value) -> serde_json::Value {
    let mut s = stats.clone();
    if let Some(o) = s.as_object_mut() {
        o.remove("first_date");
        o.remove("last_date");
    }
    s
}
