//! An Outlook data file as a pull source (account kind `pst`): pulled through the pipeline in
//! any window size, it gives what `rapport import` of the same file gives; a second pull opens
//! nothing; a pull interrupted after its first window resumes with nothing twice. The file is
//! the Outlook-written sample from pstconv (`tests/fixtures/pst`); `tests/e2e/pst.sh` holds the
//! reader itself to readpst.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rapport_core::import::{CancelToken, ImportOptions};
use rapport_core::source::pst::PstSource;
use rapport_core::source::{PullOptions, PullReport, pull_account};
use rapport_core::{ContactQuery, Engine, ThreadQuery};

fn sample() -> PathBuf {
    rapport_tests::root().join("tests/fixtures/pst/pstconv-outlook.pst")
}

fn pull(engine: &Arc<Engine>, path: &Path, window: usize, cancel: &CancelToken) -> PullReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut source = PstSource::new(Arc::clone(engine), "outlook", path);
    let options = PullOptions {
        folders: Vec::new(),
        window,
    };
    runtime
        .block_on(pull_account(engine, &mut source, &options, &|_| {}, cancel))
        .unwrap()
}

/// Stats without the count of places mail was seen, every contact and every thread's messages.
fn summary(engine: &Engine) -> serde_json::Value {
    let mut stats = serde_json::to_value(engine.stats().unwrap()).unwrap();
    stats.as_object_mut().unwrap().remove("sources");
    let contacts = engine
        .contacts(&ContactQuery::default(), 1_800_000_000)
        .unwrap();
    let mut threads: Vec<String> = engine
        .threads(&ThreadQuery::default(), 1_800_000_000)
        .unwrap()
        .into_iter()
        .map(|t| {
            let detail = engine.thread(&t.id.to_string(), 1_800_000_000).unwrap();
            serde_json::to_string(&detail.messages).unwrap()
        })
        .collect();
    threads.sort();
    serde_json::json!({
        "stats": stats,
        "contacts": serde_json::to_value(contacts).unwrap(),
        "threads": threads,
    })
}

#[test]
fn a_pst_pulled_in_any_window_gives_the_import_and_a_second_pull_opens_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let imported = Engine::open(tmp.path().join("import.db")).unwrap();
    imported
        .import(
            &[sample()],
            &ImportOptions::default(),
            &mut |_| {},
            &CancelToken::new(),
        )
        .unwrap();
    let want = summary(&imported);
    assert_eq!(want["stats"]["messages"], 3, "{want}");

    for window in [1, 2, 500] {
        let engine = Arc::new(Engine::open(tmp.path().join(format!("pull-{window}.db"))).unwrap());
        let first = pull(&engine, &sample(), window, &CancelToken::new());
        assert_eq!(first.fetched, 3, "window {window}: {first:?}");
        assert_eq!(summary(&engine), want, "window {window}");
        let again = pull(&engine, &sample(), window, &CancelToken::new());
        assert_eq!(again.fetched, 0, "window {window}: {again:?}");
        assert!(
            again.folders.iter().all(|f| f.status == "unchanged"),
            "{again:?}"
        );
        // The nested folder keeps its path, and its trailing space.
        assert!(
            first
                .folders
                .iter()
                .any(|f| f.folder
                    == "Caixa de Entrada/Top Folder/Child Folder With Space at the End "),
            "{first:?}"
        );
    }
}

#[test]
fn an_interrupted_pull_resumes_with_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(tmp.path().join("pull.db")).unwrap());
    // Cancelled before it starts: nothing or part is stored, never an error about the file.
    let cancelled = CancelToken::new();
    cancelled.cancel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut source = PstSource::new(Arc::clone(&engine), "outlook", sample());
    let options = PullOptions {
        folders: vec!["Caixa de Entrada".into()],
        window: 1,
    };
    let partial = runtime.block_on(pull_account(
        &engine,
        &mut source,
        &options,
        &|_| {},
        &cancelled,
    ));
    assert!(
        matches!(partial, Err(rapport_core::Error::Cancelled) | Ok(_)),
        "{partial:?}"
    );
    // One folder pulled on its own, then everything: each item stored once.
    runtime
        .block_on(pull_account(
            &engine,
            &mut source,
            &options,
            &|_| {},
            &CancelToken::new(),
        ))
        .unwrap();
    assert_eq!(engine.stats().unwrap().messages, 2);
    let rest = pull(&engine, &sample(), 1, &CancelToken::new());
    assert_eq!(rest.fetched, 1, "{rest:?}");
    let stats = engine.stats().unwrap();
    assert_eq!((stats.messages, stats.sources), (3, 3));
}

#[test]
fn a_missing_or_foreign_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::open(tmp.path().join("pull.db")).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let not_pst = tmp.path().join("notes.pst");
    std::fs::write(&not_pst, b"not an Outlook file at all").unwrap();
    for path in [tmp.path().join("missing.pst"), not_pst] {
        let mut source = PstSource::new(Arc::clone(&engine), "outlook", &path);
        let err = runtime
            .block_on(pull_account(
                &engine,
                &mut source,
                &PullOptions::default(),
                &|_| {},
                &CancelToken::new(),
            ))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(path.file_name().unwrap().to_str().unwrap()),
            "{path:?}: {err}"
        );
    }
}
