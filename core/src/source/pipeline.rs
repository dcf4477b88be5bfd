//! The one pipeline that drives every [`PullSource`]: folder by folder, window by window, with
//! three stages overlapping — while window k is fetched, window k−1 is parsed and window k−2 is
//! stored. Each window is committed together with the cursor just past it, so the cursor never
//! gets ahead of the mail: an interrupted pull (cancelled, killed, a dropped connection)
//! resumes from the last committed window with nothing missing and nothing twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{FolderRole, PullSource, RemoteFolder};
use crate::engine::{Engine, PreparedWindow, WindowOutcome};
use crate::error::{Error, Result};
use crate::import::CancelToken;
use crate::model::SourceRef;
use crate::store::SyncState;

/// Messages per window unless a caller says otherwise.
pub const WINDOW: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Only these folders (empty: every folder the source offers).
    pub folders: Vec<String>,
    /// Messages per window (0: [`WINDOW`]).
    pub window: usize,
}

/// Where a folder's pull stands; passed to the progress callback after every window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullProgress {
    pub account: String,
    pub folder: String,
    /// Messages this pull expects to fetch in the folder.
    pub total: u64,
    pub done: u64,
    pub stored: u64,
    pub finished: bool,
}

/// What a pull did in one folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FolderReport {
    pub folder: String,
    /// Serialised as `special_use` (null for other folders), the key `sync --json` has always had.
    #[serde(rename = "special_use", serialize_with = "role_or_null")]
    pub role: FolderRole,
    /// The folder's generation where the source has one (IMAP's UIDVALIDITY), else 0.
    pub uidvalidity: u32,
    pub fetched: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub skipped: u64,
    /// `synced`, `unchanged` or `error`.
    pub status: String,
    /// Why the saved cursor was not used as it was (IMAP: `reapproved` or `rebuilt`).
    #[serde(rename = "uidvalidity_change", skip_serializing_if = "Option::is_none")]
    pub reset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn role_or_null<S: serde::Serializer>(
    role: &FolderRole,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match role {
        FolderRole::Other => s.serialize_none(),
        role => s.serialize_str(role.as_str()),
    }
}

/// What a pull of one account did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    pub account: String,
    pub folders: Vec<FolderReport>,
    pub fetched: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub skipped: u64,
    pub elapsed_ms: u64,
}

/// How long a source waits before reconnecting after a transient error: 2 s doubling to 80 s,
/// each with up to half again of jitter (so that many accounts do not retry in step).
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

/// Runs a blocking engine call off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    engine: &Arc<Engine>,
    f: impl FnOnce(&Engine) -> Result<T> + Send + 'static,
) -> Result<T> {
    let engine = Arc::clone(engine);
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
}

/// The external ids a source's folder already has stored (for sources whose record of what was
/// seen is the store itself: POP3's UIDLs, a PST's node ids).
pub(crate) async fn stored_external_ids(
    engine: &Arc<Engine>,
    kind: crate::source::SourceKind,
    account: &str,
    folder: &str,
) -> Result<std::collections::HashSet<String>> {
    let (account, folder) = (account.to_string(), folder.to_string());
    let sources = blocking(engine, move |e| {
        e.with_store(|s| s.folder_sources(kind, &account, &folder, ""))
    })
    .await?;
    Ok(sources.into_iter().map(|(id, _)| id).collect())
}

/// Pulls every folder of a source once (or those `options` names), then settles aggregates.
/// A network, TLS or authentication error ends the pull; any other error ends only its folder,
/// which is reported with the error and recorded on its sync state.
pub async fn pull_account<S: PullSource>(
    engine: &Arc<Engine>,
    source: &mut S,
    options: &PullOptions,
    progress: &(dyn Fn(&PullProgress) + Send + Sync),
    cancel: &CancelToken,
) -> Result<PullReport> {
    let started = Instant::now();
    let mut folders = source.folders().await?;
    if !options.folders.is_empty() {
        folders.retain(|f| options.folders.contains(&f.name));
    }
    let mut report = PullReport {
        account: source.account().to_string(),
        ..Default::default()
    };
    for folder in &folders {
        if cancel.is_cancelled() {
            break;
        }
        let mut folder_report = FolderReport {
            folder: folder.name.clone(),
            role: folder.role,
            ..Default::default()
        };
        let outcome = pull_folder(
            engine,
            source,
            folder,
            options.window,
            progress,
            cancel,
            &mut folder_report,
        )
        .await;
        if let Err(e) = outcome {
            let message = e.to_string();
            let (kind, a, f, m) = (
                source.kind(),
                source.account().to_string(),
                folder.name.clone(),
                message.clone(),
            );
            // Recording the error is best effort: the error itself is what the caller needs.
            let _ = blocking(engine, move |e| {
                e.with_store(|s| s.note_sync(kind, &a, &f, None, &m))
            })
            .await;
            if matches!(
                e,
                Error::Network { .. } | Error::Tls { .. } | Error::Auth { .. } | Error::Cancelled
            ) {
                settle(engine).await?;
                return Err(e);
            }
            folder_report.status = "error".into();
            folder_report.error = Some(message);
        }
        report.fetched += folder_report.fetched;
        report.stored += folder_report.stored;
        report.duplicates += folder_report.duplicates;
        report.skipped += folder_report.skipped;
        report.folders.push(folder_report);
    }
    settle(engine).await?;
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn settle(engine: &Arc<Engine>) -> Result<()> {
    blocking(engine, |e| e.settle()).await
}

type Storing = tokio::task::JoinHandle<Result<WindowOutcome>>;
type Parsing = (tokio::task::JoinHandle<PreparedWindow>, SyncState, u64);

struct Run<'a> {
    engine: &'a Arc<Engine>,
    progress: &'a (dyn Fn(&PullProgress) + Send + Sync),
    role: FolderRole,
    account: String,
    folder: String,
    total: u64,
    done: u64,
}

impl Run<'_> {
    fn tick(&self, report: &FolderReport, finished: bool) {
        (self.progress)(&PullProgress {
            account: self.account.clone(),
            folder: self.folder.clone(),
            total: self.total,
            done: self.done,
            stored: report.stored,
            finished,
        });
    }

    /// Waits for the window being stored, then starts storing the parsed one with its cursor.
    async fn store_next(
        &mut self,
        storing: Option<Storing>,
        (parsing, state, count): Parsing,
        report: &mut FolderReport,
    ) -> Result<Storing> {
        if let Some(handle) = storing {
            self.absorb(handle, report).await?;
        }
        let window = parsing
            .await
            .map_err(|e| Error::Internal(format!("parsing task failed: {e}")))?;
        let engine = Arc::clone(self.engine);
        let role = self.role;
        self.done += count;
        Ok(tokio::task::spawn_blocking(move || {
            engine.store_window(window, role, Some(&state))
        }))
    }

    async fn absorb(&mut self, handle: Storing, report: &mut FolderReport) -> Result<()> {
        let out = handle
            .await
            .map_err(|e| Error::Internal(format!("database task failed: {e}")))??;
        report.stored += out.stored;
        report.duplicates += out.duplicates;
        report.skipped += out.skipped;
        self.tick(report, false);
        Ok(())
    }
}

/// Pulls one folder from its saved cursor to the end, window by window.
pub async fn pull_folder<S: PullSource>(
    engine: &Arc<Engine>,
    source: &mut S,
    folder: &RemoteFolder,
    window: usize,
    progress: &(dyn Fn(&PullProgress) + Send + Sync),
    cancel: &CancelToken,
    report: &mut FolderReport,
) -> Result<()> {
    let kind = source.kind();
    let account = source.account().to_string();
    let saved = {
        let (a, f) = (account.clone(), folder.name.clone());
        blocking(engine, move |e| {
            e.with_store(|s| s.sync_state(kind, &a, &f))
        })
        .await?
    };
    let plan = source
        .open_folder(folder, saved.as_ref().map(|s| &s.cursor))
        .await?;
    report.uidvalidity = plan.generation;
    report.reset = plan.reset.clone();
    let mut state = SyncState {
        kind,
        account: account.clone(),
        folder: folder.name.clone(),
        cursor: plan.cursor.clone(),
        mode: saved
            .as_ref()
            .map(|s| s.mode.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "sync".into()),
        message_count: plan
            .message_count
            .or(saved.as_ref().map(|s| s.message_count))
            .unwrap_or(0),
        last_error: String::new(),
        last_success: crate::time::now(),
    };
    let mut run = Run {
        engine,
        progress,
        role: folder.role,
        account,
        folder: folder.name.clone(),
        total: plan.expected,
        done: 0,
    };
    if plan.unchanged {
        report.status = "unchanged".into();
        let st = state.clone();
        blocking(engine, move |e| {
            e.store_window(PreparedWindow::default(), FolderRole::Other, Some(&st))
        })
        .await?;
        run.tick(report, true);
        return Ok(());
    }
    let incoming = plan.expected;
    blocking(engine, move |e| e.begin_bulk(incoming).map(|_| ())).await?;
    run.tick(report, false);

    let limit = if window == 0 { WINDOW } else { window };
    let mut cursor = plan.cursor;
    let mut storing: Option<Storing> = None;
    let mut parsing: Option<Parsing> = None;
    while !cancel.is_cancelled() {
        let Some(batch) = source.next_batch(folder, &cursor, limit).await? else {
            break;
        };
        cursor = batch.cursor.clone();
        let count = batch.messages.len() as u64;
        report.fetched += count;
        let items: Vec<_> = batch
            .messages
            .into_iter()
            .map(|m| {
                let source_ref = SourceRef {
                    kind,
                    account: state.account.clone(),
                    folder: state.folder.clone(),
                    external_id: m.external_id,
                };
                (m.input, source_ref)
            })
            .collect();
        let parse = tokio::task::spawn_blocking(move || Engine::prepare_window(items));
        state.cursor = batch.cursor;
        state.last_success = crate::time::now();
        if let Some(parsed) = parsing.replace((parse, state.clone(), count)) {
            storing = Some(run.store_next(storing, parsed, report).await?);
        }
    }
    if let Some(parsed) = parsing.take() {
        storing = Some(run.store_next(storing, parsed, report).await?);
    }
    if let Some(handle) = storing.take() {
        run.absorb(handle, report).await?;
    }
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    state.cursor = source.finish_folder(folder, cursor);
    state.last_success = crate::time::now();
    let st = state.clone();
    blocking(engine, move |e| {
        e.store_window(PreparedWindow::default(), FolderRole::Other, Some(&st))
    })
    .await?;
    report.status = "synced".into();
    run.tick(report, true);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_reports_keep_the_special_use_key() -> Result<()> {
        let as_json = |role| {
            serde_json::to_value(FolderReport {
                role,
                ..Default::default()
            })
            .map_err(|e| Error::Internal(e.to_string()))
        };
        assert_eq!(as_json(FolderRole::Sent)?["special_use"], "sent");
        assert!(as_json(FolderRole::Other)?["special_use"].is_null());
        Ok(())
    }
}
