//! Importing mail files: mbox (mboxo and mboxrd), maildir (recursive, `cur/` and `new/`), single
//! `.eml` files, and directories of any of them. Streaming: one thread reads and parses, the
//! caller's thread writes batches, and memory stays flat whatever the corpus size.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::ingest::{Rejection, from_of, parse_isolated, prepare};
use crate::mail::ParseOptions;
use crate::model::{ImportSummary, Policy, SkipRecord, SourceRef};
use crate::store::{DryRunFindings, PreparedMessage, Store, Writer};

/// A flag another thread can raise to stop long work.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Keep the first ~200 characters of each body (off by default: headers only).
    pub snippet: bool,
    /// Contact policy for this run only.
    pub policy: Option<Policy>,
    /// Messages per transaction.
    pub batch_size: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            snippet: false,
            policy: None,
            batch_size: 2000,
        }
    }
}

/// Where an import stands; passed to the progress callback.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportProgress {
    pub files_total: u64,
    pub bytes_total: u64,
    pub files_done: u64,
    pub bytes_done: u64,
    pub messages: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub skipped: u64,
}

/// Files and bytes an import will read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanTotals {
    pub files: u64,
    pub bytes: u64,
}

/// Names that are never mail: maildir and Dovecot bookkeeping, notmuch's database.
fn ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name == "tmp"
        || name.starts_with("dovecot")
        || matches!(
            name,
            "subscriptions" | "maildirfolder" | "courierimapuiddb" | "courierimapkeywords"
        )
}

/// Visits every candidate file under `paths` in a stable order (sorted per directory), with
/// its size when `sizes` is set (a stat per file; the reading pass does without).
fn walk(paths: &[PathBuf], sizes: bool, visit: &mut dyn FnMut(&Path, u64) -> bool) -> Result<()> {
    fn visit_dir(
        dir: &Path,
        sizes: bool,
        visit: &mut dyn FnMut(&Path, u64) -> bool,
    ) -> Result<bool> {
        let mut entries: Vec<(String, PathBuf, std::fs::FileType)> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let ft = e.file_type().ok()?;
                Some((name, e.path(), ft))
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, path, ft) in entries {
            // Maildir++ folders (.Sent, .Archive) are dot-directories holding cur/ or new/.
            let maildir_folder = name.starts_with('.')
                && ft.is_dir()
                && (path.join("cur").is_dir() || path.join("new").is_dir());
            if ignored_name(&name) && !maildir_folder {
                continue;
            }
            let ft = if ft.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(m) => m.file_type(),
                    Err(_) => continue,
                }
            } else {
                ft
            };
            if ft.is_dir() {
                if !visit_dir(&path, sizes, visit)? {
                    return Ok(false);
                }
            } else if ft.is_file() {
                let len = if sizes {
                    std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
                } else {
                    0
                };
                if !visit(&path, len) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        if meta.is_dir() {
            if !visit_dir(p, sizes, visit)? {
                break;
            }
        } else if !visit(p, meta.len()) {
            break;
        }
    }
    Ok(())
}

/// Counts what an import of `paths` will read; fails early on a missing path.
pub fn scan(paths: &[PathBuf]) -> Result<ScanTotals> {
    if paths.is_empty() {
        return Err(Error::InvalidInput("no paths to import".into()));
    }
    let mut totals = ScanTotals::default();
    walk(paths, true, &mut |_, len| {
        totals.files += 1;
        totals.bytes += len;
        true
    })?;
    Ok(totals)
}

/// Whether a folder holds sent mail (its From addresses are the user's).
fn is_sent_folder(path: &Path) -> bool {
    path.components().any(|c| {
        let s = c.as_os_str().to_string_lossy().to_lowercase();
        let s = s.trim_start_matches('.');
        s == "sent"
            || s.starts_with("sent ")
            || s.starts_with("sent-")
            || s.starts_with("sent_")
            || s.ends_with(".sent")
            || s == "outbox"
    })
}

enum Item {
    Message {
        source: SourceRef,
        sent_folder: bool,
        parsed: std::result::Result<Box<PreparedMessage>, Rejection>,
    },
    FileDone {
        bytes: u64,
    },
    FileError {
        location: String,
        error: String,
    },
}

fn capture_time_of(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or_else(crate::time::now)
}

/// Items travel to the writer in batches: one channel hand-off per message cost more in thread
/// wake-ups than the rest of the hand-off.
const OUTBOX_ITEMS: usize = 256;

struct Outbox {
    tx: SyncSender<Vec<Item>>,
    items: Vec<Item>,
}

impl Outbox {
    /// Queues an item; false when the writer has gone away.
    fn send(&mut self, item: Item) -> bool {
        self.items.push(item);
        if self.items.len() >= OUTBOX_ITEMS {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        if self.items.is_empty() {
            return true;
        }
        let items = std::mem::replace(&mut self.items, Vec::with_capacity(OUTBOX_ITEMS));
        self.tx.send(items).is_ok()
    }
}

/// The canonical name of the directory files were last read from (one lookup per directory).
#[derive(Default)]
struct FolderNames {
    parent: PathBuf,
    canonical: String,
    sent: bool,
}

impl FolderNames {
    fn of(&mut self, path: &Path) -> (&str, bool) {
        let parent = path.parent().unwrap_or(Path::new(""));
        if parent != self.parent || self.canonical.is_empty() {
            self.parent = parent.to_path_buf();
            self.canonical = std::fs::canonicalize(parent)
                .unwrap_or_else(|_| parent.to_path_buf())
                .to_string_lossy()
                .into_owned();
            self.sent = is_sent_folder(path);
        }
        (&self.canonical, self.sent)
    }
}

/// Reads one file, sending a parsed item per message. Returns false when the receiver is gone.
fn read_file(
    path: &Path,
    tx: &mut Outbox,
    snippet: bool,
    now: i64,
    folders: &mut FolderNames,
    buf: &mut Vec<u8>,
) -> bool {
    let (folder, sent_folder) = folders.of(path);
    let folder = folder.to_string();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Dates in the future are judged against now; a missing or bogus date is replaced by the
    // file's modification time (a stat only for those messages).
    let options = ParseOptions {
        capture_time: now,
        snippet,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return tx.send(Item::FileError {
                location: path.display().to_string(),
                error: e.to_string(),
            });
        }
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let is_mbox = match reader.fill_buf() {
        Ok(head) => head.starts_with(b"From "),
        Err(e) => {
            return tx.send(Item::FileError {
                location: path.display().to_string(),
                error: e.to_string(),
            });
        }
    };
    let message = |raw: &[u8], external_id: String| {
        let parsed = parse_isolated(raw, options).map(|mut env| {
            if env.date_problem.is_some() {
                env.date = capture_time_of(path);
            }
            Box::new(prepare(&env))
        });
        Item::Message {
            source: SourceRef {
                kind: "file".into(),
                account: String::new(),
                folder: folder.clone(),
                external_id,
            },
            sent_folder,
            parsed,
        }
    };
    let mut bytes = 0u64;
    if is_mbox {
        // mboxo/mboxrd: a "From " line after a blank line (or at the start) begins a message.
        let mut line = Vec::new();
        let mut start_offset = 0u64;
        let mut offset = 0u64;
        let mut previous_blank = true;
        let mut in_message = false;
        buf.clear();
        loop {
            line.clear();
            let n = match reader.read_until(b'\n', &mut line) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send(Item::FileError {
                        location: format!("{}#{offset}", path.display()),
                        error: e.to_string(),
                    });
                    break;
                }
            };
            if n == 0 {
                break;
            }
            if line.starts_with(b"From ") && previous_blank {
                if in_message && !tx.send(message(buf, format!("{name}#{start_offset}"))) {
                    return false;
                }
                buf.clear();
                start_offset = offset;
                in_message = true;
            } else if in_message {
                buf.extend_from_slice(&line);
            }
            previous_blank = line == b"\n" || line == b"\r\n";
            offset += n as u64;
        }
        if in_message && !tx.send(message(buf, format!("{name}#{start_offset}"))) {
            return false;
        }
        bytes = offset;
    } else {
        buf.clear();
        match reader.read_to_end(buf) {
            Ok(n) => {
                bytes = n as u64;
                if !tx.send(message(buf, name)) {
                    return false;
                }
            }
            Err(e) => {
                if !tx.send(Item::FileError {
                    location: path.display().to_string(),
                    error: e.to_string(),
                }) {
                    return false;
                }
            }
        }
    }
    tx.send(Item::FileDone { bytes })
}

fn spawn_reader(
    paths: Vec<PathBuf>,
    snippet: bool,
) -> (Receiver<Vec<Item>>, std::thread::JoinHandle<Result<()>>) {
    let (tx, rx) = sync_channel::<Vec<Item>>(16);
    let handle = std::thread::Builder::new()
        .name("rapport-import-reader".into())
        .spawn(move || {
            let mut buf = Vec::with_capacity(256 * 1024);
            let now = crate::time::now();
            let mut folders = FolderNames::default();
            let mut out = Outbox {
                tx,
                items: Vec::with_capacity(OUTBOX_ITEMS),
            };
            walk(&paths, false, &mut |path, _| {
                read_file(path, &mut out, snippet, now, &mut folders, &mut buf)
            })?;
            out.flush();
            Ok(())
        });
    match handle {
        Ok(h) => (rx, h),
        Err(e) => {
            let (_tx, rx) = sync_channel::<Vec<Item>>(1);
            let h = std::thread::spawn(move || {
                Err(Error::Internal(format!("cannot start reader: {e}")))
            });
            (rx, h)
        }
    }
}

/// Applies one item to the writer, updating the summary.
fn apply(
    writer: &mut Writer<'_>,
    item: Item,
    summary: &mut ImportSummary,
    progress: &mut ImportProgress,
) -> Result<()> {
    match item {
        Item::Message {
            source,
            sent_folder,
            parsed,
        } => {
            summary.messages_read += 1;
            progress.messages += 1;
            match parsed {
                Ok(prepared) => {
                    if sent_folder && let Some(from) = from_of(&prepared) {
                        writer.note_identity_candidate(&from.key, &from.email, "")?;
                    }
                    let outcome = writer.ingest(&prepared, &source).inspect_err(|e| {
                        tracing::error!(
                            input = %format!("{}/{}", source.folder, source.external_id),
                            error = %e,
                            "could not store message"
                        );
                    })?;
                    match outcome {
                        crate::model::IngestOutcome::Stored => {
                            summary.stored += 1;
                            progress.stored += 1;
                        }
                        crate::model::IngestOutcome::Duplicate => {
                            summary.duplicates += 1;
                            progress.duplicates += 1;
                        }
                    }
                }
                Err(rejection) => {
                    let location = format!("{}/{}", source.folder, source.external_id);
                    writer.record_skip(&location, rejection.reason, &rejection.detail)?;
                    summary.skipped += 1;
                    progress.skipped += 1;
                    *summary
                        .skipped_by_reason
                        .entry(rejection.reason.to_string())
                        .or_default() += 1;
                }
            }
        }
        Item::FileDone { bytes } => {
            summary.files += 1;
            summary.bytes += bytes;
            progress.files_done += 1;
            progress.bytes_done += bytes;
        }
        Item::FileError { location, error } => {
            writer.record_skip(&location, "unreadable", &error)?;
            summary.files += 1;
            progress.files_done += 1;
            summary.skipped += 1;
            progress.skipped += 1;
            *summary
                .skipped_by_reason
                .entry("unreadable".to_string())
                .or_default() += 1;
            summary.errors.push(SkipRecord {
                location,
                reason: "unreadable".into(),
                detail: error,
            });
        }
    }
    Ok(())
}

/// Databases smaller than this are bulk-loaded (query indexes rebuilt once at the end).
const BULK_BELOW: i64 = 5_000;

/// How often the progress callback is called at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Imports `paths` into `store`, committing every `batch_size` messages.
pub fn import(
    store: &mut Store,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress_cb: &mut dyn FnMut(&ImportProgress),
    cancel: &CancelToken,
) -> Result<ImportSummary> {
    let started = Instant::now();
    let totals = scan(paths)?;
    let mut summary = ImportSummary::default();
    let mut progress = ImportProgress {
        files_total: totals.files,
        bytes_total: totals.bytes,
        ..Default::default()
    };
    progress_cb(&progress);
    let (rx, reader) = spawn_reader(paths.to_vec(), options.snippet);
    let mut last_report = Instant::now();
    let mut cancelled = false;
    // An import into a small database builds its query indexes once at the end.
    let bulk = store.message_count_estimate()? < BULK_BELOW;
    let mut writer = if bulk {
        store.bulk_writer(crate::time::now())?
    } else {
        store.writer(crate::time::now())?
    };
    if let Some(p) = options.policy {
        writer.override_policy(p);
    }
    let mut in_batch = 0usize;
    loop {
        if cancel.is_cancelled() {
            cancelled = true;
            break;
        }
        let Ok(items) = rx.recv() else {
            break;
        };
        for item in items {
            if matches!(item, Item::Message { .. }) {
                in_batch += 1;
            }
            apply(&mut writer, item, &mut summary, &mut progress)?;
            if in_batch >= options.batch_size.max(1) {
                writer.commit()?;
                in_batch = 0;
            }
        }
        if last_report.elapsed() >= PROGRESS_EVERY {
            progress_cb(&progress);
            last_report = Instant::now();
        }
    }
    // Settles the aggregates and commits; on cancel, what was read is kept.
    writer.finish()?;
    progress_cb(&progress);
    drop(rx);
    let read_result = reader
        .join()
        .map_err(|_| Error::Internal("the import reader thread panicked".into()))?;
    if cancelled {
        return Err(Error::Cancelled);
    }
    read_result?;
    let elapsed = started.elapsed();
    summary.elapsed_ms = elapsed.as_millis() as u64;
    summary.messages_per_sec = if elapsed.as_secs_f64() > 0.0 {
        (summary.messages_read as f64 / elapsed.as_secs_f64()) as u64
    } else {
        0
    };
    Ok(summary)
}

/// Runs an import inside one transaction that is rolled back, reporting what it would have done.
pub fn dry_run(
    store: &mut Store,
    paths: &[PathBuf],
    options: &ImportOptions,
) -> Result<(ImportSummary, DryRunFindings)> {
    scan(paths)?;
    let started = Instant::now();
    let mut summary = ImportSummary::default();
    let mut progress = ImportProgress::default();
    let (rx, reader) = spawn_reader(paths.to_vec(), options.snippet);
    let mut writer = store.writer(crate::time::now())?;
    if let Some(p) = options.policy {
        writer.override_policy(p);
    }
    for item in rx.iter().flatten() {
        apply(&mut writer, item, &mut summary, &mut progress)?;
    }
    let findings = writer.finish_dry()?;
    reader
        .join()
        .map_err(|_| Error::Internal("the import reader thread panicked".into()))??;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok((summary, findings))
}
