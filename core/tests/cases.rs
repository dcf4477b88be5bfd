//! Data-driven threading and classification cases, run through the public [`Engine`].
//!
//! Each folder under `tests/cases/threading/` holds `.eml` files (captured in file-name order),
//! a `case.json` naming the user's identities, and an `expected.json` with the threads, each
//! message's reply-tree parent, class and direction. Every case is also captured in reverse
//! order and must give the same answer (ingest is order-independent).
//!
//! `UPDATE_EXPECTED=1 cargo test -p rapport-core --test cases` rewrites the expectations from
//! what the code does now; review the diff before committing it. See the cases' `README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rapport_core::{Engine, SourceRef, ThreadQuery};
use serde::{Deserialize, Serialize};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Capture time of every case: after all their dates (1 December 2026, 00:00 UTC).
const CAPTURED: i64 = 1_796_083_200;

/// The inputs of a case besides its mail.
#[derive(Debug, Deserialize)]
struct Case {
    /// What the case shows (for the reader; not used).
    #[allow(dead_code)]
    about: String,
    /// The user's own addresses, configured before any mail is captured.
    #[serde(default)]
    identities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Expected {
    messages: usize,
    /// Each thread as its sorted Message-IDs; threads sorted by their first id.
    threads: Vec<Vec<String>>,
    /// Per Message-ID: its parent in the reply tree, its class and its direction.
    tree: BTreeMap<String, Placement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Placement {
    parent: Option<String>,
    class: String,
    direction: String,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/threading")
}

fn sorted_entries(dir: &Path) -> TestResult<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.sort();
    Ok(paths)
}

/// Captures the case's mail in the given order and reads back what the store made of it.
fn run(case: &Case, mails: &[(String, Vec<u8>)]) -> TestResult<Expected> {
    let engine = Engine::open_in_memory()?;
    for identity in &case.identities {
        engine.add_identity(identity)?;
    }
    for (name, raw) in mails {
        let source = SourceRef {
            kind: rapport_core::SourceKind::File,
            account: String::new(),
            folder: String::new(),
            external_id: name.clone(),
        };
        engine.capture_with(raw, &source, false, CAPTURED)?;
    }
    let listed = engine.threads(
        &ThreadQuery {
            limit: 10_000,
            ..ThreadQuery::default()
        },
        CAPTURED,
    )?;
    let mut threads = Vec::new();
    let mut tree = BTreeMap::new();
    for summary in listed {
        let detail = engine.thread(&summary.id.to_string(), CAPTURED)?;
        // Messages come in tree order with their depth: the parent is the nearest message
        // above at one level less.
        let mut path: Vec<String> = Vec::new();
        let mut ids = Vec::new();
        for m in &detail.messages {
            path.truncate(m.depth);
            tree.insert(
                m.message_id.clone(),
                Placement {
                    parent: path.last().cloned(),
                    class: m.class.clone(),
                    direction: m.direction.clone(),
                },
            );
            path.push(m.message_id.clone());
            ids.push(m.message_id.clone());
        }
        ids.sort();
        threads.push(ids);
    }
    threads.sort();
    Ok(Expected {
        messages: engine.stats()?.messages as usize,
        threads,
        tree,
    })
}

#[test]
fn threading_and_classification_cases() -> TestResult {
    let update = std::env::var_os("UPDATE_EXPECTED").is_some_and(|v| v == "1");
    let mut ran = 0;
    let mut failures = Vec::new();
    for dir in sorted_entries(&cases_dir())? {
        if !dir.is_dir() {
            continue;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case: Case = serde_json::from_slice(&std::fs::read(dir.join("case.json"))?)?;
        let mut mails = Vec::new();
        for path in sorted_entries(&dir)? {
            if path.extension().is_some_and(|e| e == "eml") {
                let file = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                mails.push((file, std::fs::read(&path)?));
            }
        }
        assert!(!mails.is_empty(), "case {name} has no .eml files");
        let actual = run(&case, &mails)?;
        mails.reverse();
        let reversed = run(&case, &mails)?;
        if reversed != actual {
            failures.push(format!(
                "{name}: reverse order differs\nforward: {}\nreverse: {}",
                serde_json::to_string_pretty(&actual)?,
                serde_json::to_string_pretty(&reversed)?
            ));
        }
        let expected_path = dir.join("expected.json");
        let rendered = serde_json::to_string_pretty(&actual)? + "\n";
        if update {
            std::fs::write(&expected_path, rendered)?;
        } else {
            let expected: Expected = serde_json::from_slice(&std::fs::read(&expected_path)?)?;
            if expected != actual {
                failures.push(format!(
                    "{name}: expected {}\nactual {rendered}",
                    serde_json::to_string_pretty(&expected)?
                ));
            }
        }
        ran += 1;
    }
    assert!(ran > 0, "no cases found in {}", cases_dir().display());
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed (rerun with UPDATE_EXPECTED=1 after an intended change):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    Ok(())
}
