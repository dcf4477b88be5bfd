//! Keeping accounts current: `sync` pulls every selected folder through the one pipeline
//! ([`crate::source::pipeline`]) with the account's kind of source: IMAP
//! ([`crate::source::imap`]: new mail first, then history newest-first, UIDVALIDITY
//! re-approval) or POP3 ([`crate::source::pop3`]: the headers of what the store has not seen,
//! never deleting); `watch` keeps an IMAP session open with IDLE on INBOX and STATUS polling
//! elsewhere, and polls a POP3 mailbox; `audit` compares an IMAP server with the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{Account, AccountKind};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::import::CancelToken;
use crate::source::ews::EwsSource;
use crate::source::graph::GraphSource;
use crate::source::imap::{ImapCursor, ImapSource, MAX_UID_SET, stored_uids};
use crate::source::pipeline::{blocking, pull_account};
use crate::source::pop3::Pop3Source;
use crate::source::pst::PstSource;
use crate::source::{PullOptions, SourceKind};
use crate::sync::imap::{Folder, ImapSession, uid_sets};
use crate::sync::pop3::Pop3Session;

pub use crate::source::imap::{FolderState, header_message_id, select_folders};
pub use crate::source::pipeline::{
    FolderReport, PullProgress as SyncProgress, PullReport as SyncReport, WINDOW, backoff,
};

/// What one sync covers (see [`PullOptions`]).
pub type SyncOptions = PullOptions;

/// The account's password or token (its command may take a while: off the async threads).
async fn secret_of(account: &Account) -> Result<String> {
    let a = account.clone();
    tokio::task::spawn_blocking(move || a.secret())
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

/// Connects to an IMAP account with its secret.
pub async fn connect(account: &Account) -> Result<ImapSession> {
    if account.kind != AccountKind::Imap {
        return Err(Error::InvalidInput(format!(
            "account '{}' is a {} account, not IMAP",
            account.name, account.kind
        )));
    }
    ImapSession::connect(account, &secret_of(account).await?).await
}

/// An EWS client for an `ews` account, logging in as `login` (its saved user when None).
pub async fn ews_client(
    account: &Account,
    login: Option<&str>,
) -> Result<crate::sync::ews::EwsClient> {
    use crate::sync::ews::{Credentials, EwsClient};
    let endpoint = account.ews_endpoint();
    let url = crate::discover::http::Url::parse(&endpoint).ok_or_else(|| {
        Error::InvalidInput(format!(
            "account '{}': '{endpoint}' is not a URL",
            account.name
        ))
    })?;
    let secret = secret_of(account).await?;
    let credentials = match account.auth {
        crate::config::AuthKind::Xoauth2 => Credentials::Bearer(secret),
        crate::config::AuthKind::Password => Credentials::Password {
            user: login.unwrap_or(&account.user).to_string(),
            password: secret,
        },
    };
    EwsClient::new(&account.name, url, account.ca_file.clone(), credentials)
}

/// A Graph client for a `graph` account, with its saved tokens.
pub fn graph_client(account: &Account) -> Result<crate::sync::graph::GraphClient> {
    let token_file = account.token_file.clone().ok_or_else(|| Error::Auth {
        account: account.name.clone(),
        detail: format!(
            "not signed in: run `rapport account login {}`",
            account.name
        ),
    })?;
    crate::sync::graph::GraphClient::new(&account.name, account.graph_endpoints(), token_file)
}

/// Connects to a POP3 account with its secret.
pub async fn connect_pop3(account: &Account) -> Result<Pop3Session> {
    Pop3Session::connect(account, &secret_of(account).await?).await
}

/// Syncs every selected folder of one account once (a POP3 account: polls its mailbox once).
pub async fn sync_account(
    engine: Arc<Engine>,
    account: &Account,
    options: &SyncOptions,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
    cancel: &CancelToken,
) -> Result<SyncReport> {
    let started = Instant::now();
    let result = match account.kind {
        AccountKind::Imap => {
            let mut session = connect(account).await?;
            let result =
                sync_session(&engine, &mut session, account, options, progress, cancel).await;
            session.logout().await;
            result
        }
        AccountKind::Pop3 => {
            let mut session = connect_pop3(account).await?;
            note_identity(&engine, account).await?;
            let mut source = Pop3Source::new(Arc::clone(&engine), &mut session, account.clone());
            let result = pull_account(&engine, &mut source, options, progress, cancel).await;
            session.quit().await;
            result
        }
        AccountKind::Pst => {
            let path = pst_path(account)?;
            note_identity(&engine, account).await?;
            let mut source = PstSource::new(Arc::clone(&engine), account.name.clone(), path);
            pull_account(&engine, &mut source, options, progress, cancel).await
        }
        AccountKind::Ews => {
            let client = ews_client(account, None).await?;
            note_identity(&engine, account).await?;
            let mut source = EwsSource::new(account.clone(), client);
            pull_account(&engine, &mut source, options, progress, cancel).await
        }
        AccountKind::Graph => {
            let client = graph_client(account)?;
            note_identity(&engine, account).await?;
            let mut source = GraphSource::new(account.clone(), client);
            pull_account(&engine, &mut source, options, progress, cancel).await
        }
    };
    let mut report = result?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The data file of a `pst` account.
fn pst_path(account: &Account) -> Result<std::path::PathBuf> {
    account.path.clone().ok_or_else(|| {
        Error::InvalidInput(format!(
            "account '{}' is a pst account without a path",
            account.name
        ))
    })
}

/// The account's address is one of the user's identities.
async fn note_identity(engine: &Arc<Engine>, account: &Account) -> Result<()> {
    if !account.email.is_empty() {
        let email = account.email.clone();
        blocking(engine, move |e| e.add_identity(&email).map(|_| ())).await?;
    }
    Ok(())
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
    note_identity(engine, account).await?;
    let mut source = ImapSource::new(Arc::clone(engine), session, account.clone());
    pull_account(engine, &mut source, options, progress, cancel).await
}

/// The folder states of every account (or one), IMAP and POP3, as `rapport status` shows them.
pub fn folder_states(engine: &Engine, account: Option<&str>) -> Result<Vec<FolderState>> {
    let states = engine.with_store(|s| s.sync_states(None, account))?;
    Ok(states
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                SourceKind::Imap
                    | SourceKind::Pop3
                    | SourceKind::Pst
                    | SourceKind::Ews
                    | SourceKind::Graph
            )
        })
        .map(FolderState::from)
        .collect())
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
    /// A data file cannot be read now (Outlook has it open, or it is missing): tried again
    /// every poll.
    Waiting {
        account: String,
        reason: String,
        retry_in_secs: u64,
    },
}

impl WatchEvent {
    fn connected(account: &Account, mode: &str) -> Self {
        WatchEvent::Connected {
            account: account.name.clone(),
            mode: mode.into(),
        }
    }

    fn synced(account: &Account, report: &SyncReport) -> Self {
        WatchEvent::Synced {
            account: account.name.clone(),
            stored: report.stored,
            folders: report.folders.len(),
        }
    }
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
    let mut attempt = 0u32;
    while !cancel.is_cancelled() {
        let watch = Watch {
            engine: &engine,
            account: &account,
            options: &options,
            events,
            cancel,
        };
        let outcome = match account.kind {
            AccountKind::Imap => watch_imap(watch, &mut attempt).await,
            AccountKind::Pop3 | AccountKind::Ews | AccountKind::Graph => {
                watch_by_polling(watch, &mut attempt).await
            }
            AccountKind::Pst => watch_pst(watch, &mut attempt).await,
        };
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
                pause(wait, cancel).await;
            }
        }
    }
    Ok(())
}

/// What one account's `watch` works with.
#[derive(Clone, Copy)]
struct Watch<'a> {
    engine: &'a Arc<Engine>,
    account: &'a Account,
    options: &'a WatchOptions,
    events: &'a (dyn Fn(&WatchEvent) + Send + Sync),
    cancel: &'a CancelToken,
}

impl Watch<'_> {
    fn tell(&self, event: WatchEvent) {
        (self.events)(&event);
    }
}

/// One IMAP session of `watch`: sync, then IDLE on INBOX and poll the other folders until
/// cancelled or the connection fails.
async fn watch_imap(watch: Watch<'_>, attempt: &mut u32) -> Result<()> {
    let quiet = |_: &SyncProgress| {};
    let mut session = connect(watch.account).await?;
    let idle = session.has("IDLE");
    let mode = if idle { "idle" } else { "polling" };
    watch.tell(WatchEvent::connected(watch.account, mode));
    let report = sync_session(
        watch.engine,
        &mut session,
        watch.account,
        &SyncOptions::default(),
        &quiet,
        watch.cancel,
    )
    .await?;
    *attempt = 0;
    watch.tell(WatchEvent::synced(watch.account, &report));
    let folders: Vec<String> = report.folders.iter().map(|f| f.folder.clone()).collect();
    for f in &folders {
        let (a, f, m) = (watch.account.name.clone(), f.clone(), mode.to_string());
        let mode = if f == "INBOX" {
            m
        } else {
            "polling".to_string()
        };
        blocking(watch.engine, move |e| {
            e.with_store(|s| s.note_sync(SourceKind::Imap, &a, &f, Some(&mode), ""))
        })
        .await?;
    }
    let mut last_poll = Instant::now();
    let mut statuses: HashMap<String, (u32, u32)> = HashMap::new();
    while !watch.cancel.is_cancelled() {
        let mut changed_inbox = false;
        if idle && folders.iter().any(|f| f == "INBOX") {
            session.examine("INBOX").await?;
            let wait = watch.options.idle.min(Duration::from_secs(29 * 60));
            let (s, changed) = session.idle(wait, watch.cancel).await?;
            session = s;
            changed_inbox = changed;
        } else {
            pause(watch.options.poll, watch.cancel).await;
        }
        let mut to_sync: Vec<String> = Vec::new();
        if changed_inbox {
            to_sync.push("INBOX".into());
        }
        if last_poll.elapsed() >= watch.options.poll || !idle {
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
            let report = sync_session(
                watch.engine,
                &mut session,
                watch.account,
                &opts,
                &quiet,
                watch.cancel,
            )
            .await?;
            if report.stored > 0 {
                watch.tell(WatchEvent::synced(watch.account, &report));
            }
        }
    }
    session.logout().await;
    Ok(())
}

/// `watch` for a source without push that Rapport uses (POP3, EWS, Graph): a sync every
/// `poll`, each one asking only for what changed since the saved cursors (a POP3 session is
/// opened anew each time: the server locks the mailbox while one is open). Every folder is
/// marked `polling` for `status`. Errors go up to `watch_account`, which reconnects with
/// back-off.
async fn watch_by_polling(watch: Watch<'_>, attempt: &mut u32) -> Result<()> {
    let quiet = |_: &SyncProgress| {};
    let mut first = true;
    while !watch.cancel.is_cancelled() {
        let report = sync_account(
            Arc::clone(watch.engine),
            watch.account,
            &SyncOptions::default(),
            &quiet,
            watch.cancel,
        )
        .await?;
        *attempt = 0;
        if first {
            watch.tell(WatchEvent::connected(watch.account, "polling"));
        }
        if first || report.stored > 0 {
            watch.tell(WatchEvent::synced(watch.account, &report));
        }
        first = false;
        let kind = watch.account.kind.source_kind();
        let account = watch.account.name.clone();
        let folders: Vec<String> = report.folders.iter().map(|f| f.folder.clone()).collect();
        blocking(watch.engine, move |e| {
            e.with_store(|s| {
                for folder in &folders {
                    s.note_sync(kind, &account, folder, Some("polling"), "")?;
                }
                Ok(())
            })
        })
        .await?;
        pause(watch.options.poll, watch.cancel).await;
    }
    Ok(())
}

/// `watch` of a `pst` account: the file is read whenever it changed since the last good read
/// (its size or modification time) and can be opened. While it cannot (Outlook keeps the data
/// file it has open locked; a copy may be half-written), watch says so once and tries again
/// every poll; nothing stored is touched.
async fn watch_pst(watch: Watch<'_>, attempt: &mut u32) -> Result<()> {
    let quiet = |_: &SyncProgress| {};
    let path = pst_path(watch.account)?;
    let stamp = || {
        std::fs::metadata(&path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    let mut read_at: Option<(u64, Option<std::time::SystemTime>)> = None;
    let mut first = true;
    let mut told: Option<String> = None;
    while !watch.cancel.is_cancelled() {
        let now = stamp();
        let outcome = match now {
            None => Err(format!("{}: cannot be read (missing?)", path.display())),
            Some(_) if now == read_at => Ok(None),
            Some(_) => match sync_account(
                Arc::clone(watch.engine),
                watch.account,
                &SyncOptions::default(),
                &quiet,
                watch.cancel,
            )
            .await
            {
                Ok(report) => Ok(Some(report)),
                Err(Error::Cancelled) => return Err(Error::Cancelled),
                Err(e) => Err(e.to_string()),
            },
        };
        match outcome {
            Ok(Some(report)) => {
                read_at = now;
                *attempt = 0;
                told = None;
                if first {
                    watch.tell(WatchEvent::connected(watch.account, "polling"));
                }
                if first || report.stored > 0 {
                    watch.tell(WatchEvent::synced(watch.account, &report));
                }
                first = false;
            }
            Ok(None) => {}
            Err(reason) => {
                if told.as_ref() != Some(&reason) {
                    watch.tell(WatchEvent::Waiting {
                        account: watch.account.name.clone(),
                        reason: reason.clone(),
                        retry_in_secs: watch.options.poll.as_secs(),
                    });
                    told = Some(reason);
                }
            }
        }
        pause(watch.options.poll, watch.cancel).await;
    }
    Ok(())
}

/// Waits `wait`, or less when `cancel` fires first (it is looked at every 200 ms).
async fn pause(wait: Duration, cancel: &CancelToken) {
    let step = Duration::from_millis(200);
    let mut waited = Duration::ZERO;
    while waited < wait && !cancel.is_cancelled() {
        tokio::time::sleep(step.min(wait - waited)).await;
        waited += step;
    }
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
    // `connect` refuses a POP3 account with a clear message: POP3 has no folders or UIDs to
    // compare, and its mail deleted on the server is meant to stay in the store.
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
        let state = blocking(&engine, move |e| {
            e.with_store(|s| s.sync_state(SourceKind::Imap, &a, &f))
        })
        .await?
        .and_then(|s| ImapCursor::decode(&s.cursor));
        let known: HashMap<u32, String> =
            stored_uids(&engine, &account.name, &folder.name, status.uidvalidity)
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
                let state2 = state;
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
    if account.kind == AccountKind::Pst {
        let path = pst_path(account)?;
        let shown = path.display().to_string();
        let folders = tokio::task::spawn_blocking(move || {
            let reader = crate::source::pst::open_pst(&path)?;
            crate::mail::pst::folders(reader)
                .map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        return Ok(AccountTest {
            account: account.name.clone(),
            host: shown,
            capabilities: Vec::new(),
            folders: Vec::new(),
            synced_folders: folders
                .into_iter()
                .map(|f| {
                    if f.path.is_empty() {
                        crate::source::pst::TOP_FOLDER.to_string()
                    } else {
                        f.path
                    }
                })
                .collect(),
        });
    }
    if account.kind == AccountKind::Ews {
        return test_ews(account).await;
    }
    if account.kind == AccountKind::Graph {
        use crate::source::PullSource as _;
        let mut source = GraphSource::new(account.clone(), graph_client(account)?);
        let folders = source.folders().await?;
        return Ok(AccountTest {
            account: account.name.clone(),
            host: account.graph_endpoints().graph,
            capabilities: vec!["auth oauth2".into()],
            folders: Vec::new(),
            synced_folders: folders.into_iter().map(|f| f.name).collect(),
        });
    }
    if account.kind == AccountKind::Pop3 {
        let mut session = connect_pop3(account).await?;
        let (messages, _) = session.stat().await?;
        let caps = session.capabilities();
        let offered = [
            ("TOP", caps.top),
            ("UIDL", caps.uidl),
            ("USER", caps.user),
            ("PIPELINING", caps.pipelining),
            ("STLS", caps.stls),
            ("APOP", caps.apop),
        ];
        let mut capabilities: Vec<String> = offered
            .iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| name.to_string())
            .collect();
        capabilities.extend(caps.sasl.iter().map(|m| format!("SASL {m}")));
        session.quit().await;
        return Ok(AccountTest {
            account: account.name.clone(),
            host: account.host.clone(),
            capabilities,
            folders: Vec::new(),
            synced_folders: vec![format!(
                "{} ({messages} messages)",
                crate::source::pop3::INBOX
            )],
        });
    }
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

/// The login names to try for an Exchange account, in order: what the user typed, the whole
/// address, the part before @, and `DOMAIN\user` when a domain is known (from the typed name
/// or the server's NTLM challenge). Duplicates dropped.
pub fn ews_login_forms(typed: &str, email: &str, domain: Option<&str>) -> Vec<String> {
    let local = email.split('@').next().unwrap_or("");
    let typed_user = typed.rsplit(['\\', '/']).next().unwrap_or(typed);
    let typed_user = typed_user.split('@').next().unwrap_or(typed_user);
    let user = if typed_user.is_empty() {
        local
    } else {
        typed_user
    };
    let mut forms: Vec<String> = vec![typed.to_string(), email.to_string(), local.to_string()];
    let typed_domain = typed.split_once('\\').map(|(d, _)| d);
    if let Some(d) = typed_domain.or(domain).filter(|d| !d.is_empty()) {
        forms.push(format!("{d}\\{user}"));
    }
    let mut seen = std::collections::HashSet::new();
    forms
        .into_iter()
        .filter(|f| !f.is_empty() && seen.insert(f.to_ascii_lowercase()))
        .collect()
}

/// `account test` for Exchange: each login form in turn until one is accepted; reports which
/// one (in `capabilities`: the form and the scheme) and lists the mail folders a sync covers.
async fn test_ews(account: &Account) -> Result<AccountTest> {
    use crate::source::PullSource as _;
    let mut domain: Option<String> = None;
    let mut tried: Vec<String> = Vec::new();
    let mut last_error = None;
    let mut index = 0;
    loop {
        let forms = ews_login_forms(&account.user, &account.email, domain.as_deref());
        let Some(login) = forms.get(index).cloned() else {
            break;
        };
        index += 1;
        let login_for_client = if account.auth == crate::config::AuthKind::Password {
            Some(login.as_str())
        } else {
            None
        };
        let client = ews_client(account, login_for_client).await?;
        let mut source = EwsSource::new(account.clone(), client);
        match source.folders().await {
            Ok(folders) => {
                let scheme = source
                    .client()
                    .scheme()
                    .map(|s| s.as_str())
                    .unwrap_or("none");
                return Ok(AccountTest {
                    account: account.name.clone(),
                    host: account.ews_endpoint(),
                    capabilities: vec![format!("login {login}"), format!("auth {scheme}")],
                    folders: Vec::new(),
                    synced_folders: folders.into_iter().map(|f| f.name).collect(),
                });
            }
            Err(Error::Auth { detail, .. })
                if account.auth == crate::config::AuthKind::Password =>
            {
                domain = domain.or_else(|| source.client().server_domain().map(str::to_string));
                tried.push(login);
                last_error = Some(detail);
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Auth {
        account: account.name.clone(),
        detail: format!(
            "the server refused every login form with this password (tried {}){}",
            tried.join(", "),
            last_error
                .map(|e| format!("; last: {e}"))
                .unwrap_or_default()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_login_forms_in_order() {
        assert_eq!(
            ews_login_forms("dana@corp.example", "dana@corp.example", Some("CORP")),
            vec!["dana@corp.example", "dana", "CORP\\dana"]
        );
        assert_eq!(
            ews_login_forms("CORP\\dana", "dana.lee@corp.example", None),
            vec!["CORP\\dana", "dana.lee@corp.example", "dana.lee"]
        );
        assert_eq!(
            ews_login_forms("", "dana@corp.example", None),
            vec!["dana@corp.example", "dana"]
        );
    }

    #[test]
    fn backoff_grows_to_80_seconds() {
        assert!(backoff(0) >= Duration::from_secs(2) && backoff(0) <= Duration::from_secs(3));
        assert!(backoff(10) >= Duration::from_secs(80) && backoff(10) <= Duration::from_secs(120));
    }
}
