//! Importing mail files: mbox (mboxo and mboxrd), maildir (recursive, `cur/` and `new/`), single
//! `.eml` files, and directories of any of them. Streaming: one thread reads files and deals
//! their messages to parsing workers (one per core), the caller's thread stores them in the order
//! they were read, and memory stays flat whatever the corpus size.

use std::fs::File;
use std::io::Read;
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

/// Messages per transaction: each commit rewrites the pages it touched into the log, so fewer,
/// larger commits write less; a kill -9 loses at most one batch, which the next run re-reads.
pub const DEFAULT_BATCH: usize = 5_000;

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
            batch_size: DEFAULT_BATCH,
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

/// What the walk finds.
enum Found<'a> {
    /// A regular file, with its size when sizes were asked for.
    File(&'a Path, u64),
    /// A directory or file that could not be listed or examined.
    Unreadable(&'a Path, String),
    /// A FIFO, socket or device: never opened (a FIFO would block the import).
    NotRegular(&'a Path, &'static str),
}

fn kind_of(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Visits every candidate file under `paths` in a stable order (sorted per directory), with
/// its size when `sizes` is set (a stat per file; the reading pass does without). Each
/// directory is entered once, however many symlinks lead to it, so links to a parent cannot
/// make the walk loop. Returns false when `visit` asked to stop.
fn walk(
    paths: &[PathBuf],
    sizes: bool,
    database: &DatabaseFiles,
    visit: &mut dyn FnMut(Found<'_>) -> bool,
) -> bool {
    use std::os::unix::fs::MetadataExt;
    struct Walk<'v> {
        sizes: bool,
        visit: &'v mut dyn FnMut(Found<'_>) -> bool,
        /// (device, inode) of every directory entered.
        entered: std::collections::HashSet<(u64, u64)>,
        database: &'v DatabaseFiles,
    }
    impl Walk<'_> {
        fn enter(&mut self, dir: &Path, meta: &std::fs::Metadata) -> bool {
            let id = (meta.dev(), meta.ino());
            if !self.entered.insert(id) {
                tracing::info!(
                    directory = %dir.display(),
                    "directory already read through another path (a symlink); not read again"
                );
                return true;
            }
            let holds_database = self.database.directory == Some(id);
            self.dir(dir, holds_database)
        }

        fn dir(&mut self, dir: &Path, holds_database: bool) -> bool {
            let listing = match std::fs::read_dir(dir) {
                Ok(listing) => listing,
                Err(e) => return (self.visit)(Found::Unreadable(dir, e.to_string())),
            };
            let mut entries: Vec<(std::ffi::OsString, PathBuf, std::fs::FileType, u64)> =
                Vec::new();
            for entry in listing {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        if !(self.visit)(Found::Unreadable(dir, e.to_string())) {
                            return false;
                        }
                        continue;
                    }
                };
                let Ok(file_type) = entry.file_type() else {
                    continue;
                };
                // Through the open directory: much cheaper than a stat of the whole path.
                let len = if self.sizes && file_type.is_file() {
                    entry.metadata().map(|m| m.len()).unwrap_or(0)
                } else {
                    0
                };
                entries.push((entry.file_name(), entry.path(), file_type, len));
            }
            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (name, path, file_type, len) in entries {
                let name = name.to_string_lossy();
                // Maildir++ folders (.Sent, .Archive) are dot-directories holding cur/ or new/.
                let maildir_folder = name.starts_with('.')
                    && !file_type.is_file()
                    && (path.join("cur").is_dir() || path.join("new").is_dir());
                if ignored_name(&name) && !maildir_folder {
                    continue;
                }
                if holds_database && self.database.names.iter().any(|n| n.as_str() == name) {
                    tracing::debug!(path = %path.display(), "the database being written: not read");
                    continue;
                }
                let keep_going = if file_type.is_file() {
                    (self.visit)(Found::File(&path, len))
                } else if file_type.is_dir() || file_type.is_symlink() {
                    // The directory's own identity, through any symlink.
                    match std::fs::metadata(&path) {
                        Ok(meta) if meta.is_dir() => self.enter(&path, &meta),
                        Ok(meta) if meta.is_file() => (self.visit)(Found::File(&path, meta.len())),
                        Ok(meta) => {
                            (self.visit)(Found::NotRegular(&path, kind_of(&meta.file_type())))
                        }
                        Err(e) => {
                            // A dangling symlink is no mail; a directory that cannot be
                            // examined is reported.
                            if file_type.is_symlink() {
                                tracing::debug!(path = %path.display(), error = %e, "dangling symlink");
                                true
                            } else {
                                (self.visit)(Found::Unreadable(&path, e.to_string()))
                            }
                        }
                    }
                } else {
                    (self.visit)(Found::NotRegular(&path, kind_of(&file_type)))
                };
                if !keep_going {
                    return false;
                }
            }
            true
        }
    }
    let mut walk = Walk {
        sizes,
        visit,
        entered: std::collections::HashSet::new(),
        database,
    };
    for path in paths {
        let keep_going = match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk.enter(path, &meta),
            Ok(meta) if meta.is_file() => (walk.visit)(Found::File(path, meta.len())),
            Ok(meta) => (walk.visit)(Found::NotRegular(path, kind_of(&meta.file_type()))),
            Err(e) => (walk.visit)(Found::Unreadable(path, e.to_string())),
        };
        if !keep_going {
            return false;
        }
    }
    true
}

/// The database an import writes to and the files beside it, which a walk over their
/// directory leaves alone (reading a file while it is being written is never mail).
#[derive(Debug, Default)]
struct DatabaseFiles {
    /// (device, inode) of the database's directory.
    directory: Option<(u64, u64)>,
    /// The database's file name and those of the files SQLite and Rapport keep beside it.
    names: Vec<String>,
}

impl DatabaseFiles {
    fn of(database: &Path) -> DatabaseFiles {
        use std::os::unix::fs::MetadataExt;
        let directory = database
            .parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            })
            .and_then(|d| std::fs::metadata(d).ok())
            .map(|m| (m.dev(), m.ino()));
        let Some(name) = database.file_name().and_then(|n| n.to_str()) else {
            return DatabaseFiles::default();
        };
        let names = std::iter::once(name.to_string())
            .chain(
                ["-wal", "-shm", "-journal", "-writers", "-turn"]
                    .iter()
                    .map(|suffix| format!("{name}{suffix}")),
            )
            .collect();
        DatabaseFiles { directory, names }
    }
}

/// Fails before anything is read or written when there is nothing to import or a path is missing.
fn check_paths(paths: &[PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Err(Error::InvalidInput("no paths to import".into()));
    }
    for p in paths {
        std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
    }
    Ok(())
}

/// Counts what an import of `paths` will read; fails early on a missing path.
pub fn scan(paths: &[PathBuf]) -> Result<ScanTotals> {
    count(paths, &DatabaseFiles::default())
}

fn count(paths: &[PathBuf], database: &DatabaseFiles) -> Result<ScanTotals> {
    check_paths(paths)?;
    let mut totals = ScanTotals::default();
    walk(paths, true, database, &mut |found| {
        totals.files += 1;
        if let Found::File(_, len) = found {
            totals.bytes += len;
        }
        true
    });
    Ok(totals)
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
    FileError(FileProblem),
}

/// A file or directory that could not be read, or was not opened: recorded as a skip.
struct FileProblem {
    location: String,
    reason: &'static str,
    error: String,
}

fn capture_time_of(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or_else(crate::time::now)
}

/// What the reading thread hands to a parsing worker: raw messages, and the file markers that
/// must reach the writer in the same order.
enum Unit {
    Raw {
        bytes: Vec<u8>,
        /// The file the message came from (its modification time stands in for a bad date).
        path: Arc<Path>,
        folder: Arc<str>,
        sent_folder: bool,
        external_id: String,
    },
    FileDone {
        bytes: u64,
    },
    FileError(FileProblem),
}

/// A job closes at this many units or bytes: small enough to keep memory flat and the workers
/// evenly fed, large enough that channel hand-offs cost nothing next to parsing.
const JOB_UNITS: usize = 64;
const JOB_BYTES: usize = 1 << 20;

/// Jobs queued per worker, and parsed jobs waiting for the writer per worker.
const QUEUE_DEPTH: usize = 2;

/// Parsing workers: as many as there are cores (the writer mostly waits on them), at most four.
/// `RAPPORT_PARSE_THREADS` overrides it (for measuring).
fn parse_workers() -> usize {
    std::env::var("RAPPORT_PARSE_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, 4)
}

/// Deals jobs to the workers in turn; the writer collects them in the same turn, so mail is
/// stored in exactly the order it was read, whatever the number of workers.
struct Dealer {
    workers: Vec<SyncSender<Vec<Unit>>>,
    next: usize,
    units: Vec<Unit>,
    bytes: usize,
}

impl Dealer {
    /// Queues a unit; false when the writer has gone away.
    fn send(&mut self, unit: Unit) -> bool {
        if let Unit::Raw { bytes, .. } = &unit {
            self.bytes += bytes.len();
        }
        self.units.push(unit);
        if self.units.len() >= JOB_UNITS || self.bytes >= JOB_BYTES {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        if self.units.is_empty() {
            return true;
        }
        let units = std::mem::replace(&mut self.units, Vec::with_capacity(JOB_UNITS));
        self.bytes = 0;
        let worker = self.next % self.workers.len();
        self.next += 1;
        self.workers[worker].send(units).is_ok()
    }
}

/// The canonical name of the directory files were last read from (one lookup per directory).
#[derive(Default)]
struct FolderNames {
    parent: PathBuf,
    canonical: Option<Arc<str>>,
    sent: bool,
}

impl FolderNames {
    fn of(&mut self, path: &Path) -> (Arc<str>, bool) {
        let parent = path.parent().unwrap_or(Path::new(""));
        match &self.canonical {
            Some(name) if parent.as_os_str() == self.parent.as_os_str() => {
                (name.clone(), self.sent)
            }
            _ => {
                self.parent = parent.to_path_buf();
                let canonical =
                    std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
                let name: Arc<str> = crate::source::os_key(canonical.as_os_str()).into();
                self.canonical = Some(name.clone());
                self.sent = crate::source::FolderRole::of_path(path).is_sent();
                (name, self.sent)
            }
        }
    }
}

/// How much of a file is read before deciding whether it is an mbox.
const FIRST_READ: u64 = 64 * 1024;

/// The most of one message that is read into memory: its header section up to the parser's
/// bound and a mebibyte of body (Rapport keeps headers, and at most a snippet of the body).
/// A larger single-message file is read no further; the rest of a larger message in an mbox is
/// read past, not kept.
pub const MAX_MESSAGE_READ: usize = crate::mail::MAX_HEADER_BYTES + (1 << 20);

/// Opens a file for reading only if it is a regular file, without blocking on a FIFO that
/// appeared in its place since the walk.
fn open_regular(path: &Path) -> std::io::Result<std::result::Result<File, &'static str>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let file_type = file.metadata()?.file_type();
    Ok(if file_type.is_file() {
        Ok(file)
    } else {
        Err(kind_of(&file_type))
    })
}

/// Reads one file, queueing each message it holds. Returns false when the writer is gone.
fn read_file(path: &Path, out: &mut Dealer, folders: &mut FolderNames) -> bool {
    let (folder, sent_folder) = folders.of(path);
    let name = path
        .file_name()
        .map(crate::source::os_key)
        .unwrap_or_default();
    let location = || path_location(path);
    let file_error = |location: String, e: std::io::Error| {
        Unit::FileError(FileProblem {
            location,
            reason: "unreadable",
            error: e.to_string(),
        })
    };
    let mut file = match open_regular(path) {
        Ok(Ok(file)) => file,
        Ok(Err(kind)) => return out.send(not_regular(path, kind)),
        Err(e) => return out.send(file_error(location(), e)),
    };
    // The first block goes straight into the message's own buffer, sized from the file: most
    // files are one message and are read with one copy and no reallocation.
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    // A file known to be smaller than the first block is read to its size: no extra read to
    // find its end (mail files do not grow; an mbox that does is read on past the first block).
    let first = if size > 0 && size < FIRST_READ {
        size
    } else {
        FIRST_READ
    };
    let mut head = Vec::with_capacity(first as usize + 1);
    if let Err(e) = (&mut file).take(first).read_to_end(&mut head) {
        return out.send(file_error(location(), e));
    }
    let shared_path: Arc<Path> = Arc::from(path);
    let raw = |bytes: Vec<u8>, external_id: String| Unit::Raw {
        bytes,
        path: shared_path.clone(),
        folder: folder.clone(),
        sent_folder,
        external_id,
    };
    let bytes;
    if head.starts_with(crate::mail::pst::PST_SIGNATURE) {
        if !read_pst(path, file, out) {
            return false;
        }
        bytes = size;
    } else if crate::mail::msg::is_compound_file(&head) {
        // An Outlook .msg: its properties become a header section; the rest is not read.
        use crate::mail::msg::{MsgError, header_section};
        let section = std::io::Seek::rewind(&mut file)
            .map_err(MsgError::Container)
            .and_then(|()| {
                // The reader thread has no parser guard: a crash in the container code is
                // this file's problem, not the import's.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    header_section(std::io::BufReader::new(file))
                }))
                .unwrap_or_else(|panic| Err(MsgError::Crashed(crate::ingest::panic_text(&panic))))
            });
        let unit = match section {
            Ok(section) => raw(section, name),
            Err(e) => Unit::FileError(FileProblem {
                location: location(),
                reason: e.reason(),
                error: e.to_string(),
            }),
        };
        if !out.send(unit) {
            return false;
        }
        bytes = size;
    } else if head.starts_with(b"From ") {
        let mut writer_gone = false;
        let end = crate::mbox::split(
            std::io::Cursor::new(head).chain(file),
            MAX_MESSAGE_READ,
            &mut |message| {
                if message.dropped > 0 {
                    tracing::debug!(
                        input = %format!("{name}#{}", message.offset),
                        dropped = message.dropped,
                        "message larger than the read bound: the rest of its body was not kept"
                    );
                }
                writer_gone = !out.send(raw(message.bytes, format!("{name}#{}", message.offset)));
                !writer_gone
            },
        );
        if writer_gone {
            return false;
        }
        if let Some(e) = end.error {
            let at = format!("{}#{}", location(), end.bytes);
            if !out.send(file_error(at, e)) {
                return false;
            }
        }
        if !end.completed {
            return false;
        }
        bytes = end.bytes.max(size);
    } else {
        let mut message = head;
        if message.len() as u64 == FIRST_READ {
            let rest = (MAX_MESSAGE_READ as u64).saturating_sub(FIRST_READ);
            message.reserve(size.min(rest) as usize + 1);
            if let Err(e) = (&mut file).take(rest).read_to_end(&mut message) {
                return out.send(file_error(location(), e));
            }
        }
        bytes = size.max(message.len() as u64);
        if !out.send(raw(message, name)) {
            return false;
        }
    }
    out.send(Unit::FileDone { bytes })
}

/// Reads an Outlook data file, queueing each mail item as a message of its folder (named
/// `FILE/FOLDER/PATH`, its source `NAME#NODE`); an item that cannot be read is recorded as a
/// skip and the rest go on. Returns false when the writer is gone.
fn read_pst(path: &Path, file: File, out: &mut Dealer) -> bool {
    use crate::mail::pst::{self, PstError};
    let location = path_location(path);
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let file_key = crate::source::os_key(canonical.as_os_str());
    let name = path
        .file_name()
        .map(crate::source::os_key)
        .unwrap_or_default();
    let shared_path: Arc<Path> = Arc::from(path);
    let mut folders: std::collections::HashMap<String, Arc<str>> = Default::default();
    let mut writer_gone = false;
    let mut visit = |item: pst::PstItem| {
        let unit = match item.section {
            Ok(section) => Unit::Raw {
                bytes: section,
                path: shared_path.clone(),
                folder: folders
                    .entry(item.folder.clone())
                    .or_insert_with(|| format!("{file_key}/{}", item.folder).into())
                    .clone(),
                sent_folder: item.sent,
                external_id: format!("{name}#{}", item.node),
            },
            Err(error) => Unit::FileError(FileProblem {
                location: format!("{location}#{}/{}", item.folder, item.node),
                reason: "unreadable Outlook item",
                error,
            }),
        };
        writer_gone = !out.send(unit);
        !writer_gone
    };
    // The reader thread has no parser guard: a crash in the format code is this file's
    // problem, not the import's.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pst::read(std::io::BufReader::new(file), &mut visit)
    }))
    .unwrap_or_else(|panic| {
        Err(PstError::Damaged(format!(
            "the reader crashed on it: {}",
            crate::ingest::panic_text(&panic)
        )))
    });
    match read {
        Ok(summary) => {
            tracing::debug!(
                folders = summary.folders,
                not_mail = summary.not_mail,
                "Outlook data file read"
            );
            !writer_gone
        }
        Err(e) => {
            !writer_gone
                && out.send(Unit::FileError(FileProblem {
                    location,
                    reason: match e {
                        PstError::Offline => "Outlook offline file",
                        PstError::NotPst(_) => "not a message",
                        _ => "unreadable Outlook data file",
                    },
                    error: e.to_string(),
                }))
        }
    }
}

/// A path as it appears in skip records: exactly, whatever its bytes.
fn path_location(path: &Path) -> String {
    crate::source::os_key(path.as_os_str())
}

fn not_regular(path: &Path, kind: &'static str) -> Unit {
    Unit::FileError(FileProblem {
        location: path_location(path),
        reason: "not a regular file",
        error: format!("{kind}, not a mail file: not opened"),
    })
}

/// Parses a job's messages into items for the writer.
fn parse_job(units: Vec<Unit>, options: ParseOptions) -> Vec<Item> {
    units
        .into_iter()
        .map(|unit| match unit {
            Unit::Raw {
                bytes,
                path,
                folder,
                sent_folder,
                external_id,
            } => {
                let parsed = parse_isolated(&bytes, options).map(|mut env| {
                    // A missing or bogus date is replaced by the file's modification time (a
                    // stat only for those messages).
                    if env.date_problem.is_some() {
                        env.date = capture_time_of(&path);
                    }
                    Box::new(prepare(&env))
                });
                Item::Message {
                    source: SourceRef {
                        kind: crate::source::SourceKind::File,
                        account: String::new(),
                        folder: folder.to_string(),
                        external_id,
                    },
                    sent_folder,
                    parsed,
                }
            }
            Unit::FileDone { bytes } => Item::FileDone { bytes },
            Unit::FileError(problem) => Item::FileError(problem),
        })
        .collect()
}

/// Parsed mail in the order it was read: the workers' outputs, taken in the turn the dealer
/// used. Dropping it stops the workers and the reading thread.
struct ParsedStream {
    outputs: Vec<Receiver<Vec<Item>>>,
    next: usize,
    reader: Option<std::thread::JoinHandle<Result<()>>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl ParsedStream {
    /// The next job's items; `None` once everything has been read.
    fn recv(&mut self) -> Option<Vec<Item>> {
        let worker = self.next % self.outputs.len();
        self.next += 1;
        // A worker hangs up once the dealer has hung up on it and its jobs are all taken: since
        // jobs are collected in the order they were dealt, that is the end of the stream.
        self.outputs[worker].recv().ok()
    }

    /// Stops the threads and reports how reading went.
    fn finish(mut self) -> Result<()> {
        self.outputs.clear();
        let mut panicked = false;
        for worker in self.workers.drain(..) {
            panicked |= worker.join().is_err();
        }
        let read = match self.reader.take() {
            Some(reader) => reader
                .join()
                .map_err(|_| Error::Internal("the import reader thread panicked".into()))?,
            None => Ok(()),
        };
        if panicked {
            return Err(Error::Internal(
                "an import parsing thread panicked; nothing after it was stored".into(),
            ));
        }
        read
    }
}

fn spawn_thread<T: Send + 'static>(
    name: String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new()
        .name(name)
        .spawn(f)
        .map_err(|e| Error::Internal(format!("cannot start an import thread: {e}")))
}

/// Starts the reading thread and the parsing workers.
fn spawn_reader(
    paths: Vec<PathBuf>,
    snippet: bool,
    database: DatabaseFiles,
) -> Result<ParsedStream> {
    let options = ParseOptions {
        // Dates in the future are judged against now.
        capture_time: crate::time::now(),
        snippet,
    };
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut workers = Vec::new();
    for i in 0..parse_workers() {
        let (job_tx, job_rx) = sync_channel::<Vec<Unit>>(QUEUE_DEPTH);
        let (item_tx, item_rx) = sync_channel::<Vec<Item>>(QUEUE_DEPTH);
        workers.push(spawn_thread(format!("rapport-parse-{i}"), move || {
            for units in job_rx {
                if item_tx.send(parse_job(units, options)).is_err() {
                    break;
                }
            }
        })?);
        inputs.push(job_tx);
        outputs.push(item_rx);
    }
    let reader = spawn_thread("rapport-import-reader".into(), move || {
        let mut folders = FolderNames::default();
        let mut out = Dealer {
            workers: inputs,
            next: 0,
            units: Vec::with_capacity(JOB_UNITS),
            bytes: 0,
        };
        walk(&paths, false, &database, &mut |found| match found {
            Found::File(path, _) => read_file(path, &mut out, &mut folders),
            Found::Unreadable(path, error) => out.send(Unit::FileError(FileProblem {
                location: path_location(path),
                reason: "unreadable",
                error,
            })),
            Found::NotRegular(path, kind) => out.send(not_regular(path, kind)),
        });
        // Whatever was read goes to the writer, whether the walk finished or not.
        out.flush();
        Ok(())
    })?;
    Ok(ParsedStream {
        outputs,
        next: 0,
        reader: Some(reader),
        workers,
    })
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
        Item::FileError(FileProblem {
            location,
            reason,
            error,
        }) => {
            writer.record_skip(&location, reason, &error)?;
            summary.files += 1;
            progress.files_done += 1;
            summary.skipped += 1;
            progress.skipped += 1;
            *summary
                .skipped_by_reason
                .entry(reason.to_string())
                .or_default() += 1;
            summary.errors.push(SkipRecord {
                location,
                reason: reason.into(),
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

/// Imports `paths` into `store`, committing every `batch_size` messages. Its progress is
/// recorded in the database with every batch (see [`Store::import_runs`]), and how it ended.
pub fn import(
    store: &mut Store,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress_cb: &mut dyn FnMut(&ImportProgress),
    cancel: &CancelToken,
) -> Result<ImportSummary> {
    check_paths(paths)?;
    let label = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let run = store.start_import_run(&label, crate::time::now())?;
    let mut progress = ImportProgress::default();
    let result = import_run(
        store,
        paths,
        options,
        progress_cb,
        cancel,
        run,
        &mut progress,
    );
    let outcome = match &result {
        Ok(_) => "",
        Err(Error::Cancelled) => "stopped",
        Err(_) => "failed",
    };
    // The import's own result matters more than whether its record could be closed.
    if let Err(e) = store.finish_import_run(run, outcome, &progress, crate::time::now()) {
        tracing::debug!(error = %e, "could not record how the import ended");
    }
    result
}

fn import_run(
    store: &mut Store,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress_cb: &mut dyn FnMut(&ImportProgress),
    cancel: &CancelToken,
    run: i64,
    progress: &mut ImportProgress,
) -> Result<ImportSummary> {
    let started = Instant::now();
    // Reading starts at once; counting what there is to read runs beside it, and progress is
    // reported from the moment the totals are known.
    let mut stream = spawn_reader(
        paths.to_vec(),
        options.snippet,
        DatabaseFiles::of(store.path()),
    )?;
    let mut counting = Some(spawn_thread("rapport-import-count".into(), {
        let paths = paths.to_vec();
        let database = DatabaseFiles::of(store.path());
        move || count(&paths, &database)
    })?);
    let mut summary = ImportSummary::default();
    // Whether the totals are known; a failed count is kept and reported once the import has
    // settled what it stored.
    let mut count_error: Option<Error> = None;
    let mut counted = |progress: &mut ImportProgress, wait: bool| -> bool {
        match counting.take() {
            Some(handle) if wait || handle.is_finished() => {
                match handle.join() {
                    Ok(Ok(totals)) => {
                        progress.files_total = totals.files;
                        progress.bytes_total = totals.bytes;
                    }
                    Ok(Err(e)) => count_error = Some(e),
                    Err(_) => {
                        count_error = Some(Error::Internal(
                            "the import counting thread panicked".into(),
                        ))
                    }
                }
                true
            }
            Some(handle) => {
                counting = Some(handle);
                false
            }
            None => true,
        }
    };
    let mut last_report = Instant::now();
    let mut cancelled = false;
    // An import into a small database builds its query indexes once at the end.
    let bulk = store.message_count_estimate()? < BULK_BELOW;
    let mut writer = if bulk {
        store.bulk_writer(crate::time::now())?
    } else {
        store.writer(crate::time::now())?
    };
    // An import goes after short writers between its batches.
    writer.long_running();
    if let Some(p) = options.policy {
        writer.override_policy(p);
    }
    let mut in_batch = 0usize;
    // Time the writer spent waiting for parsed mail: tells which side limits the import.
    let mut waited = Duration::ZERO;
    loop {
        if cancel.is_cancelled() {
            cancelled = true;
            break;
        }
        let wait_started = Instant::now();
        let Some(items) = stream.recv() else {
            break;
        };
        waited += wait_started.elapsed();
        for item in items {
            if matches!(item, Item::Message { .. }) {
                in_batch += 1;
            }
            apply(&mut writer, item, &mut summary, progress)?;
            if in_batch >= options.batch_size.max(1) || writer.others_are_writing() {
                writer.note_import_progress(run, progress)?;
                writer.commit()?;
                in_batch = 0;
            }
        }
        if last_report.elapsed() >= PROGRESS_EVERY && counted(progress, false) {
            progress_cb(progress);
            last_report = Instant::now();
        }
    }
    // A cancelled import does not wait for the count (it cannot be interrupted).
    if !cancelled {
        counted(progress, true);
    }
    tracing::debug!(
        streaming_ms = started.elapsed().as_millis() as u64,
        writer_waited_ms = waited.as_millis() as u64,
        "read everything"
    );
    // Settles the aggregates and commits; on cancel or a read error, what was read is kept
    // and settled before the error is reported.
    writer.note_import_progress(run, progress)?;
    writer.finish()?;
    progress_cb(progress);
    let read_result = stream.finish();
    if cancelled {
        return Err(Error::Cancelled);
    }
    read_result?;
    if let Some(e) = count_error {
        return Err(e);
    }
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
    check_paths(paths)?;
    let started = Instant::now();
    let mut summary = ImportSummary::default();
    let mut progress = ImportProgress::default();
    let mut stream = spawn_reader(
        paths.to_vec(),
        options.snippet,
        DatabaseFiles::of(store.path()),
    )?;
    let mut writer = store.writer(crate::time::now())?;
    writer.long_running();
    if let Some(p) = options.policy {
        writer.override_policy(p);
    }
    while let Some(items) = stream.recv() {
        for item in items {
            apply(&mut writer, item, &mut summary, &mut progress)?;
        }
    }
    let findings = writer.finish_dry()?;
    stream.finish()?;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok((summary, findings))
}
