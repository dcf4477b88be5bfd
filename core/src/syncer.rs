//! Keeping IMAP accounts current: which folders, in what order, with what state — the algorithm
//! of facts/sync.md §2.7. New mail first, then history newest-first in windows of a few hundred
//! UIDs; each window is committed with the folder's new position, so an interrupted sync resumes
//! with nothing missing and nothing twice. UIDVALIDITY changes are re-approved by sampling
//! Message-IDs (as mbsync does) or the folder's UID map is rebuilt; messages, contacts and
//! threads are keyed by Message-ID and never duplicated. The transport (sync::imap) only moves
//! bytes; this module decides and hands the bytes to the engine.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::Account;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::import::CancelToken;
use crate::model::SourceRef;
use crate::store::FolderState;
use crate::sync::imap::{FetchedHeader, Folder, FolderStatus, ImapSession, SpecialUse, uid_sets};

/// UIDs per fetch window.
pub const WINDOW: usize = 500;
/// UID sets stay under this many characters (RFC 2683 §3.2.1.5).
const MAX_UID_SET: usize = 990;
/// UIDs sampled to re-approve a changed UIDVALIDITY.
const REAPPROVE_SAMPLE: usize = 20;

#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only these folders (empty: every folder the account's policy selects).
    pub folders: Vec<String>,
    /// UIDs per window.
    pub window: usize,
}

/// Where a folder's sync stands; passed to the progress callback after every window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    pub account: String,
    pub folder: String,
    /// Messages this sync will fetch in the folder.
    pub total: u64,
    pub done: u64,
    pub stored: u64,
    pub finished: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FolderReport {
    pub folder: String,
    pub special_use: Option<SpecialUse>,
    pub uidvalidity: u32,
    pub fetched: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub skipped: u64,
    /// `synced`, `unchanged` or `error`.
    pub status: String,
    /// `reapproved` or `rebuilt` when the folder's UIDVALIDITY changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uidvalidity_change: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub account: String,
    pub folders: Vec<FolderReport>,
    pub fetched: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub elapsed_ms: u64,
}

/// Runs a blocking engine call off the async runtime.
async fn blocking<T: Send + 'static>(
    engine: &Arc<Engine>,
    f: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
) -> Result<T> {
    let engine = Arc::clone(engine);
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
}

/// Connects with the account's secret.
pub async fn connect(account: &Account) -> Result<ImapSession> {
    let a = account.clone();
    let secret = tokio::task::spawn_blocking(move || a.secret())
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    ImapSession::connect(account, &secret).await
}

/// The folders a sync covers: INBOX, Sent, Archive and user folders; Junk, Trash and Drafts only
/// when the account asks for them. On Gmail, All Mail holds everything (labels are copies).
pub fn select_folders(account: &Account, folders: &[Folder], gmail: bool) -> Vec<Folder> {
    let policy = &account.folders;
    let wanted = |f: &Folder| -> bool {
        if !f.selectable || policy.exclude.iter().any(|x| x == &f.name) {
            return false;
        }
        if !policy.only.is_empty() {
            return policy.only.iter().any(|x| x == &f.name);
        }
        match f.special_use {
            Some(SpecialUse::Junk) => policy.junk,
            Some(SpecialUse::Trash) => policy.trash,
            Some(SpecialUse::Drafts) => policy.drafts,
            _ => true,
        }
    };
    if gmail && policy.only.is_empty() {
        let all: Vec<Folder> = folders
            .iter()
            .filter(|f| {
                f.special_use == Some(SpecialUse::All)
                    || (policy.junk && f.special_use == Some(SpecialUse::Junk))
                    || (policy.trash && f.special_use == Some(SpecialUse::Trash))
            })
            .filter(|f| f.selectable)
            .cloned()
            .collect();
        if !all.is_empty() {
            return all;
        }
    }
    folders.iter().filter(|f| wanted(f)).cloned().collect()
}

/// Message-ID (or Outlook's original id) of a raw header, for re-approval and audits.
pub fn header_message_id(header: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(header);
    let mut current: Option<(String, String)> = None;
    let mut found_original = None;
    let mut found = None;
    let mut finish = |name: &str, value: &str| {
        if name.eq_ignore_ascii_case("message-id") && found.is_none() {
            found = crate::mail::ids::parse_message_id(value);
        } else if name.eq_ignore_ascii_case("x-microsoft-original-message-id")
            && found_original.is_none()
        {
            found_original = crate::mail::ids::parse_message_id(value);
        }
    };
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = current.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((n, v)) = current.take() {
            finish(&n, &v);
        }
        if let Some((n, v)) = line.split_once(':') {
            current = Some((n.trim().to_string(), v.trim().to_string()));
        }
    }
    if let Some((n, v)) = current.take() {
        finish(&n, &v);
    }
    found_original.or(found)
}

struct FolderRun<'a> {
    engine: &'a Arc<Engine>,
    account: &'a Account,
    folder: &'a Folder,
    window: usize,
    progress: &'a (dyn Fn(&SyncProgress) + Send + Sync),
    cancel: &'a CancelToken,
    report: FolderReport,
    total: u64,
    done: u64,
}

impl FolderRun<'_> {
    fn source(&self, uidvalidity: u32, uid: u32) -> SourceRef {
        SourceRef {
            kind: "imap".into(),
            account: self.account.name.clone(),
            folder: self.folder.name.clone(),
            external_id: format!("{uidvalidity}:{uid}"),
        }
    }

    fn tick(&self, finished: bool) {
        (self.progress)(&SyncProgress {
            account: self.account.name.clone(),
            folder: self.folder.name.clone(),
            total: self.total,
            done: self.done,
            stored: self.report.stored,
            finished,
        });
    }

    /// Fetches `uids` window by window, committing each window with the state `advance` gives.
    async fn fetch_windows(
        &mut self,
        session: &mut ImapSession,
        uids: &[u32],
        state: &mut FolderState,
        advance: impl Fn(&mut FolderState, &[u32]),
    ) -> Result<()> {
        let sent = self.folder.special_use == Some(SpecialUse::Sent);
        // Three stages overlap: while window k is fetched, window k-1 is parsed and window k-2
        // is stored. The folder state moves with each stored window, in order.
        let mut storing: Option<tokio::task::JoinHandle<Result<crate::engine::WindowOutcome>>> =
            None;
        let mut parsing: Option<(
            tokio::task::JoinHandle<crate::engine::PreparedWindow>,
            &[u32],
        )> = None;
        for chunk in uids.chunks(self.window.max(1)) {
            if self.cancel.is_cancelled() {
                break;
            }
            let mut headers: Vec<FetchedHeader> = Vec::new();
            for set in uid_sets(chunk, MAX_UID_SET) {
                headers.extend(session.fetch_headers(&set).await?);
            }
            let wanted: std::collections::HashSet<u32> = chunk.iter().copied().collect();
            let items: Vec<(Vec<u8>, SourceRef)> = headers
                .into_iter()
                .filter(|h| wanted.contains(&h.uid) && !h.header.is_empty())
                .map(|h| (h.header, self.source(state.uidvalidity, h.uid)))
                .collect();
            self.report.fetched += items.len() as u64;
            let parse = tokio::task::spawn_blocking(move || Engine::prepare_window(items));
            if let Some(parsed) = parsing.replace((parse, chunk)) {
                storing = Some(
                    self.store_next(storing, parsed, sent, state, &advance)
                        .await?,
                );
            }
        }
        if let Some(parsed) = parsing.take() {
            storing = Some(
                self.store_next(storing, parsed, sent, state, &advance)
                    .await?,
            );
        }
        if let Some(handle) = storing.take() {
            self.absorb(handle).await?;
        }
        Ok(())
    }

    /// Waits for the window being stored, then starts storing the parsed one with the folder
    /// state advanced past it.
    async fn store_next(
        &mut self,
        storing: Option<tokio::task::JoinHandle<Result<crate::engine::WindowOutcome>>>,
        (parsing, chunk): (
            tokio::task::JoinHandle<crate::engine::PreparedWindow>,
            &[u32],
        ),
        sent: bool,
        state: &mut FolderState,
        advance: &impl Fn(&mut FolderState, &[u32]),
    ) -> Result<tokio::task::JoinHandle<Result<crate::engine::WindowOutcome>>> {
        if let Some(handle) = storing {
            self.absorb(handle).await?;
        }
        let window = parsing
            .await
            .map_err(|e| Error::Internal(format!("parsing task failed: {e}")))?;
        advance(state, chunk);
        state.last_sync = crate::time::now();
        let st = state.clone();
        let engine = Arc::clone(self.engine);
        self.done += chunk.len() as u64;
        Ok(tokio::task::spawn_blocking(move || {
            engine.store_window(window, sent, Some(&st))
        }))
    }

    async fn absorb(
        &mut self,
        handle: tokio::task::JoinHandle<Result<crate::engine::WindowOutcome>>,
    ) -> Result<()> {
        let out = handle
            .await
            .map_err(|e| Error::Internal(format!("database task failed: {e}")))??;
        self.report.stored += out.stored;
        self.report.duplicates += out.duplicates;
        self.report.skipped += out.skipped;
        self.tick(false);
        Ok(())
    }

    /// Decides what a changed UIDVALIDITY means: the same UIDs still name the same messages
    /// (re-approved), or the UID map must be rebuilt.
    async fn reapprove(
        &mut self,
        session: &mut ImapSession,
        old: &FolderState,
        status: FolderStatus,
    ) -> Result<Option<FolderState>> {
        let (account, folder) = (self.account.name.clone(), self.folder.name.clone());
        let old_validity = old.uidvalidity;
        let mut known = {
            let (a, f) = (account.clone(), folder.clone());
            blocking(self.engine, move |e| {
                e.with_store(|s| s.folder_uids(&a, &f, old_validity))
            })
            .await?
        };
        known.sort_unstable_by_key(|k| std::cmp::Reverse(k.0));
        known.truncate(REAPPROVE_SAMPLE);
        let mut matched = 0usize;
        if !known.is_empty() {
            let uids: Vec<u32> = {
                let mut v: Vec<u32> = known.iter().map(|k| k.0).collect();
                v.sort_unstable();
                v
            };
            let mut headers = Vec::new();
            for set in uid_sets(&uids, MAX_UID_SET) {
                headers.extend(session.fetch_headers(&set).await?);
            }
            let by_uid: HashMap<u32, Option<String>> = headers
                .iter()
                .map(|h| (h.uid, header_message_id(&h.header)))
                .collect();
            for (uid, key) in &known {
                if let Some(Some(id)) = by_uid.get(uid) {
                    let id = id.clone();
                    let same = blocking(self.engine, move |e| {
                        e.with_store(|s| {
                            s.message_key_of(&id).map(Some).or_else(|err| match err {
                                Error::NotFound { .. } => Ok(None),
                                other => Err(other),
                            })
                        })
                    })
                    .await?;
                    if same.as_deref() == Some(key.as_str()) {
                        matched += 1;
                    }
                }
            }
        }
        // mbsync's rule: accept as spurious if most of the sample still matches.
        let reapproved = !known.is_empty() && matched * 5 >= known.len() * 4;
        let new_validity = status.uidvalidity;
        let (a, f) = (account.clone(), folder.clone());
        if reapproved {
            blocking(self.engine, move |e| {
                e.with_store(|s| s.rebase_folder(&a, &f, old_validity, new_validity))
            })
            .await?;
            self.report.uidvalidity_change = Some("reapproved".into());
            let mut st = old.clone();
            st.uidvalidity = new_validity;
            Ok(Some(st))
        } else {
            blocking(self.engine, move |e| {
                e.with_store(|s| s.drop_folder_validity(&a, &f, old_validity))
            })
            .await?;
            self.report.uidvalidity_change = Some("rebuilt".into());
            Ok(None)
        }
    }

    async fn run(&mut self, session: &mut ImapSession) -> Result<()> {
        let status = session.examine(&self.folder.name).await?;
        self.report.uidvalidity = status.uidvalidity;
        let (a, f) = (self.account.name.clone(), self.folder.name.clone());
        let stored = blocking(self.engine, move |e| {
            e.with_store(|s| s.folder_state(&a, &f))
        })
        .await?;
        let mut state = match stored {
            Some(st) if st.uidvalidity == status.uidvalidity => Some(st),
            Some(st) => self.reapprove(session, &st, status).await?,
            None => None,
        };
        let fresh = state.is_none();
        let mut st = state.take().unwrap_or(FolderState {
            account: self.account.name.clone(),
            folder: self.folder.name.clone(),
            uidvalidity: status.uidvalidity,
            // Everything present now is history; new mail starts at UIDNEXT.
            next_uid: status.uidnext.max(1),
            backfill_below: status.uidnext.max(1),
            mode: "sync".into(),
            ..Default::default()
        });
        st.message_count = i64::from(status.exists);
        st.highest_modseq = status.highest_modseq.unwrap_or(st.highest_modseq);
        let nothing_new = status.uidnext <= st.next_uid;
        let history_done = st.backfill_below <= 1;
        if !fresh && nothing_new && history_done {
            self.report.status = "unchanged".into();
            st.last_sync = crate::time::now();
            st.last_error.clear();
            let s2 = st.clone();
            blocking(self.engine, move |e| {
                e.ingest_window(Vec::new(), false, Some(&s2))
            })
            .await?;
            self.tick(true);
            return Ok(());
        }
        let all = session.uids().await?;
        let new: Vec<u32> = all.iter().copied().filter(|u| *u >= st.next_uid).collect();
        let mut history: Vec<u32> = all
            .iter()
            .copied()
            .filter(|u| *u < st.backfill_below)
            .collect();
        history.reverse();
        self.total = (new.len() + history.len()) as u64;
        let incoming = self.total;
        blocking(self.engine, move |e| e.begin_bulk(incoming).map(|_| ())).await?;
        self.tick(false);
        st.last_error.clear();
        // New mail first, ascending: the watermark moves past each committed window.
        self.fetch_windows(session, &new, &mut st, |st, chunk| {
            if let Some(max) = chunk.iter().max() {
                st.next_uid = st.next_uid.max(max + 1);
            }
        })
        .await?;
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        st.next_uid = st.next_uid.max(status.uidnext);
        // Then history, newest first: the low-water mark moves down window by window.
        self.fetch_windows(session, &history, &mut st, |st, chunk| {
            if let Some(min) = chunk.iter().min() {
                st.backfill_below = st.backfill_below.min(*min);
            }
        })
        .await?;
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        st.backfill_below = 1;
        st.last_sync = crate::time::now();
        let s2 = st.clone();
        blocking(self.engine, move |e| {
            e.ingest_window(Vec::new(), false, Some(&s2))
        })
        .await?;
        self.report.status = "synced".into();
        self.tick(true);
        Ok(())
    }
}

/// Syncs every selected folder of one account once.
pub async fn sync_account(
    engine: Arc<Engine>,
    account: &Account,
    options: &SyncOptions,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
    cancel: &CancelToken,
) -> Result<SyncReport> {
    let started = Instant::now();
    let mut session = connect(account).await?;
    let result = sync_session(&engine, &mut session, account, options, progress, cancel).await;
    session.logout().await;
    let mut report = result?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Syncs over an open session (used by `watch`, which keeps its connection).
pub async fn sync_session(
    engine: &Arc<Engine>,
    session: &mut ImapSession,
    account: &Account,
    options: &SyncOptions,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
    cancel: &CancelToken,
) -> Result<SyncReport> {
    if !account.email.is_empty() {
        let email = account.email.clone();
        blocking(engine, move |e| e.add_identity(&email).map(|_| ())).await?;
    }
    let folders = session.folders().await?;
    let gmail = session.is_gmail();
    let mut selected = select_folders(account, &folders, gmail);
    if !options.folders.is_empty() {
        selected.retain(|f| options.folders.contains(&f.name));
    }
    let mut report = SyncReport {
        account: account.name.clone(),
        ..Default::default()
    };
    for folder in &selected {
        if cancel.is_cancelled() {
            break;
        }
        let mut run = FolderRun {
            engine,
            account,
            folder,
            window: if options.window == 0 {
                WINDOW
            } else {
                options.window
            },
            progress,
            cancel,
            report: FolderReport {
                folder: folder.name.clone(),
                special_use: folder.special_use,
                ..Default::default()
            },
            total: 0,
            done: 0,
        };
        let outcome = run.run(session).await;
        let mut fr = run.report;
        if let Err(e) = outcome {
            let message = e.to_string();
            let (a, f, m) = (account.name.clone(), folder.name.clone(), message.clone());
            let _ = blocking(engine, move |e| {
                e.with_store(|s| s.note_folder(&a, &f, None, &m))
            })
            .await;
            // A broken connection ends the account's sync; other errors end only this folder.
            if matches!(
                e,
                Error::Network { .. } | Error::Tls { .. } | Error::Auth { .. }
            ) {
                settle(engine).await?;
                return Err(e);
            }
            fr.status = "error".into();
            fr.error = Some(message);
        }
        report.fetched += fr.fetched;
        report.stored += fr.stored;
        report.duplicates += fr.duplicates;
        report.skipped += fr.skipped;
        report.folders.push(fr);
    }
    settle(engine).await?;
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    Ok(report)
}

async fn settle(engine: &Arc<Engine>) -> Result<()> {
    blocking(engine, |e| e.settle()).await
}

// ----- watch -----

/// What `watch` reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    Connected {
        account: String,
        mode: String,
    },
    Synced {
        account: String,
        stored: u64,
        folders: usize,
    },
    Disconnected {
        account: String,
        error: String,
        retry_in_secs: u64,
    },
    Stopped {
        account: String,
        error: String,
    },
}

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How often folders other than INBOX (and INBOX without IDLE) are checked.
    pub poll: Duration,
    /// How long one IDLE lasts before it is re-issued (RFC 2177: at most 29 minutes).
    pub idle: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(60),
            idle: Duration::from_secs(60),
        }
    }
}

/// Reconnect delays: 2 s doubling to 80 s, each with up to half again of jitter.
pub fn backoff(attempt: u32) -> Duration {
    let base = 2u64.saturating_mul(1u64 << attempt.min(6)).min(80);
    let jitter = {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        u64::from(nanos) % (base * 500 + 1)
    };
    Duration::from_millis(base * 1000 + jitter)
}

/// Keeps one account current until cancelled: IDLE on INBOX (re-issued every `idle`), STATUS
/// polling of the other folders, polling when IDLE is absent; reconnects with backoff after
/// transient errors; stops the account on authentication failures.
pub async fn watch_account(
    engine: Arc<Engine>,
    account: Account,
    options: WatchOptions,
    events: &(dyn Fn(&WatchEvent) + Send + Sync),
    cancel: &CancelToken,
) -> Result<()> {
    let quiet = |_: &SyncProgress| {};
    let mut attempt = 0u32;
    while !cancel.is_cancelled() {
        let outcome: Result<()> = async {
            let mut session = connect(&account).await?;
            let idle = session.has("IDLE");
            let mode = if idle { "idle" } else { "polling" };
            events(&WatchEvent::Connected {
                account: account.name.clone(),
                mode: mode.into(),
            });
            let report = sync_session(
                &engine,
                &mut session,
                &account,
                &SyncOptions::default(),
                &quiet,
                cancel,
            )
            .await?;
            attempt = 0;
            events(&WatchEvent::Synced {
                account: account.name.clone(),
                stored: report.stored,
                folders: report.folders.len(),
            });
            let folders: Vec<String> = report.folders.iter().map(|f| f.folder.clone()).collect();
            for f in &folders {
                let (a, f, m) = (account.name.clone(), f.clone(), mode.to_string());
                let mode = if f == "INBOX" {
                    m
                } else {
                    "polling".to_string()
                };
                blocking(&engine, move |e| {
                    e.with_store(|s| s.note_folder(&a, &f, Some(&mode), ""))
                })
                .await?;
            }
            let mut last_poll = Instant::now();
            let mut statuses: HashMap<String, (u32, u32)> = HashMap::new();
            while !cancel.is_cancelled() {
                let mut changed_inbox = false;
                if idle && folders.iter().any(|f| f == "INBOX") {
                    session.examine("INBOX").await?;
                    let wait = options.idle.min(Duration::from_secs(29 * 60));
                    let (s, changed) = session.idle(wait).await?;
                    session = s;
                    changed_inbox = changed;
                } else {
                    let step = Duration::from_millis(500);
                    let mut waited = Duration::ZERO;
                    while waited < options.poll && !cancel.is_cancelled() {
                        tokio::time::sleep(step).await;
                        waited += step;
                    }
                }
                let mut to_sync: Vec<String> = Vec::new();
                if changed_inbox {
                    to_sync.push("INBOX".into());
                }
                if last_poll.elapsed() >= options.poll || !idle {
                    last_poll = Instant::now();
                    for f in &folders {
                        if idle && f == "INBOX" && !changed_inbox {
                            continue;
                        }
                        let st = session.status(f).await?;
                        let key = (st.uidvalidity, st.uidnext);
                        if statuses.get(f) != Some(&key) {
                            statuses.insert(f.clone(), key);
                            if !to_sync.contains(f) {
                                to_sync.push(f.clone());
                            }
                        }
                    }
                }
                if !to_sync.is_empty() {
                    let opts = SyncOptions {
                        folders: to_sync,
                        window: WINDOW,
                    };
                    let report =
                        sync_session(&engine, &mut session, &account, &opts, &quiet, cancel)
                            .await?;
                    if report.stored > 0 {
                        events(&WatchEvent::Synced {
                            account: account.name.clone(),
                            stored: report.stored,
                            folders: report.folders.len(),
                        });
                    }
                }
            }
            session.logout().await;
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => break,
            Err(Error::Cancelled) => break,
            Err(e @ Error::Auth { .. })
            | Err(e @ Error::Config { .. })
            | Err(e @ Error::InvalidInput(_)) => {
                events(&WatchEvent::Stopped {
                    account: account.name.clone(),
                    error: e.to_string(),
                });
                return Err(e);
            }
            Err(e) => {
                let wait = backoff(attempt);
                attempt += 1;
                events(&WatchEvent::Disconnected {
                    account: account.name.clone(),
                    error: e.to_string(),
                    retry_in_secs: wait.as_secs(),
                });
                let mut waited = Duration::ZERO;
                while waited < wait && !cancel.is_cancelled() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    waited += Duration::from_millis(200);
                }
            }
        }
    }
    Ok(())
}

// ----- audit -----

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditGap {
    pub uid: u32,
    pub message_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FolderAudit {
    pub folder: String,
    pub uidvalidity: u32,
    pub on_server: u64,
    pub in_store: u64,
    pub gaps: Vec<AuditGap>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub account: String,
    pub folders: Vec<FolderAudit>,
    pub gaps: u64,
}

/// Compares every synced folder's Message-IDs on the server with the store and names each gap
/// with its reason.
pub async fn audit_account(engine: Arc<Engine>, account: &Account) -> Result<AuditReport> {
    let mut session = connect(account).await?;
    let folders = session.folders().await?;
    let selected = select_folders(account, &folders, session.is_gmail());
    let mut report = AuditReport {
        account: account.name.clone(),
        ..Default::default()
    };
    for folder in selected {
        let status = session.examine(&folder.name).await?;
        let (a, f) = (account.name.clone(), folder.name.clone());
        let state = blocking(&engine, move |e| e.with_store(|s| s.folder_state(&a, &f))).await?;
        let (a, f, v) = (
            account.name.clone(),
            folder.name.clone(),
            status.uidvalidity,
        );
        let known: HashMap<u32, String> =
            blocking(&engine, move |e| e.with_store(|s| s.folder_uids(&a, &f, v)))
                .await?
                .into_iter()
                .collect();
        let uids = session.uids().await?;
        let mut fa = FolderAudit {
            folder: folder.name.clone(),
            uidvalidity: status.uidvalidity,
            on_server: uids.len() as u64,
            ..Default::default()
        };
        for chunk in uids.chunks(1000) {
            let mut headers = Vec::new();
            for set in uid_sets(chunk, MAX_UID_SET) {
                headers.extend(session.fetch_headers(&set).await?);
            }
            for h in headers {
                let id = header_message_id(&h.header);
                let (uid, validity) = (h.uid, status.uidvalidity);
                let (a, f) = (account.name.clone(), folder.name.clone());
                let source_key = known.get(&uid).cloned();
                let id2 = id.clone();
                let state2 = state.clone();
                let gap: Option<String> = blocking(&engine, move |e| {
                    e.with_store(|s| {
                        let stored = match &id2 {
                            Some(id) => match s.message_key_of(id) {
                                Ok(k) => Some(k),
                                Err(Error::NotFound { .. }) => None,
                                Err(other) => return Err(other),
                            },
                            None => None,
                        };
                        if stored.is_some() && source_key.is_some() {
                            return Ok(None);
                        }
                        let location = format!("imap:{a}/{f}/{validity}:{uid}");
                        if let Some(why) = s.skip_reason(&location)? {
                            return Ok(Some(format!("not stored: {why}")));
                        }
                        let pending = match &state2 {
                            None => Some("the folder has never been synced".to_string()),
                            Some(st) if st.uidvalidity != validity => {
                                Some("the folder's UIDVALIDITY changed since the last sync".into())
                            }
                            Some(st) if uid >= st.next_uid => {
                                Some("new since the last sync (run `rapport sync`)".into())
                            }
                            Some(st) if uid < st.backfill_below => {
                                Some("history not fetched yet (the sync was interrupted)".into())
                            }
                            Some(_) => None,
                        };
                        if let Some(p) = pending {
                            return Ok(Some(p));
                        }
                        Ok(Some(match (stored, id2) {
                            (Some(_), _) => {
                                "stored from elsewhere, but this copy's UID is not recorded".into()
                            }
                            (None, Some(_)) => {
                                "missing from the store: fetched once, no longer there".into()
                            }
                            (None, None) => {
                                "missing from the store (the message has no Message-ID)".into()
                            }
                        }))
                    })
                })
                .await?;
                match gap {
                    None => fa.in_store += 1,
                    Some(reason) => fa.gaps.push(AuditGap {
                        uid,
                        message_id: id.unwrap_or_default(),
                        reason,
                    }),
                }
            }
        }
        report.gaps += fa.gaps.len() as u64;
        report.folders.push(fa);
    }
    session.logout().await;
    Ok(report)
}

/// Connects, lists folders and capabilities: `rapport account test`.
#[derive(Debug, Clone, Serialize)]
pub struct AccountTest {
    pub account: String,
    pub host: String,
    pub capabilities: Vec<String>,
    pub folders: Vec<Folder>,
    pub synced_folders: Vec<String>,
}

pub async fn test_account(account: &Account) -> Result<AccountTest> {
    let mut session = connect(account).await?;
    let folders = session.folders().await?;
    let synced = select_folders(account, &folders, session.is_gmail())
        .into_iter()
        .map(|f| f.name)
        .collect();
    let out = AccountTest {
        account: account.name.clone(),
        host: session.host().to_string(),
        capabilities: session.capabilities(),
        folders,
        synced_folders: synced,
    };
    session.logout().await;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_from_raw_header() {
        let h = b"Subject: x\r\nMessage-ID:\r\n <a@b>\r\nFrom: c@d\r\n\r\n";
        assert_eq!(header_message_id(h).as_deref(), Some("a@b"));
        let h = b"Message-ID: <rewritten@x>\r\nX-Microsoft-Original-Message-ID: <orig@y>\r\n\r\n";
        assert_eq!(header_message_id(h).as_deref(), Some("orig@y"));
        assert_eq!(header_message_id(b"Subject: none\r\n\r\n"), None);
    }

    #[test]
    fn backoff_grows_to_80_seconds() {
        assert!(backoff(0) >= Duration::from_secs(2) && backoff(0) <= Duration::from_secs(3));
        assert!(backoff(10) >= Duration::from_secs(80) && backoff(10) <= Duration::from_secs(120));
    }
}
