//! The IMAP transport: connects (TLS, STARTTLS or, on loopback, plain), authenticates (LOGIN or
//! XOAUTH2), lists folders with their special use, and moves header bytes. It never parses mail
//! and keeps no state: the syncer decides what to fetch and where it goes.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::types::NameAttribute;
use futures_util::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::config::{Account, AuthKind, Security};
use crate::error::{Error, Result};
use crate::source::FolderRole;

/// Header fields Rapport reads (design: headers only, `BODY.PEEK` so nothing is marked read).
pub const HEADER_FIELDS: &str = "MESSAGE-ID IN-REPLY-TO REFERENCES DATE FROM SENDER REPLY-TO TO CC BCC SUBJECT \
LIST-ID LIST-POST LIST-UNSUBSCRIBE LIST-UNSUBSCRIBE-POST PRECEDENCE AUTO-SUBMITTED X-AUTO-RESPONSE-SUPPRESS \
RETURN-PATH FEEDBACK-ID THREAD-INDEX THREAD-TOPIC X-MICROSOFT-ORIGINAL-MESSAGE-ID X-RAPPORT-ID CONTENT-TYPE \
X-AUTOREPLY X-AUTORESPOND X-MAILING-LIST MAILING-LIST";

/// Longest wait for one command's answer.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection, encrypted or (on loopback) not.
#[derive(Debug)]
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What a folder is for (RFC 6154 SPECIAL-USE, or guessed from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecialUse {
    Inbox,
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Folder {
    pub name: String,
    pub special_use: Option<SpecialUse>,
    pub selectable: bool,
}

/// A folder's counters from SELECT/EXAMINE or STATUS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FolderStatus {
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub exists: u32,
    pub highest_modseq: Option<u64>,
}

/// One message's header as the server returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedHeader {
    pub uid: u32,
    pub header: Vec<u8>,
    /// Gmail's stable message id (X-GM-MSGID), on Gmail only.
    pub gmail_id: Option<u64>,
}

pub(crate) fn network(host: &str, detail: impl std::fmt::Display) -> Error {
    Error::Network {
        host: host.to_string(),
        detail: detail.to_string(),
    }
}

fn imap_error(host: &str, e: async_imap::error::Error) -> Error {
    network(host, e)
}

/// Runs one IMAP step with the per-command timeout.
async fn timed<T>(
    host: &str,
    what: &str,
    f: impl std::future::Future<Output = std::result::Result<T, async_imap::error::Error>>,
) -> Result<T> {
    match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(network(host, format!("{what}: {e}"))),
        Err(_) => Err(network(
            host,
            format!("{what}: no answer within {COMMAND_TIMEOUT:?}"),
        )),
    }
}

fn tls_connector(account: &Account) -> Result<TlsConnector> {
    tls_connector_with(account.ca_file.as_deref())
}

/// A TLS client trusting the public roots and, when given, the CAs in `ca_file` (PEM).
pub(crate) fn tls_connector_with(ca_file: Option<&std::path::Path>) -> Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = ca_file {
        let ca = ca.to_path_buf();
        let certs = CertificateDer::pem_file_iter(&ca)
            .map_err(|e| Error::Config {
                path: ca.clone(),
                detail: format!("cannot read the CA file: {e}"),
            })?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Config {
                path: ca.clone(),
                detail: format!("not a PEM certificate file: {e}"),
            })?;
        if certs.is_empty() {
            return Err(Error::Config {
                path: ca.clone(),
                detail: "no certificate in the CA file".into(),
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| Error::Config {
                path: ca.clone(),
                detail: format!("unusable CA certificate: {e}"),
            })?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Internal(format!("TLS setup: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

pub(crate) async fn tls_wrap(account: &Account, tcp: TcpStream) -> Result<Conn> {
    let connector = tls_connector(account)?;
    let name = ServerName::try_from(account.host.clone())
        .map_err(|_| Error::InvalidInput(format!("'{}' is not a valid host name", account.host)))?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, tcp))
        .await
        .map_err(|_| network(&account.host, "the TLS handshake timed out"))?
        .map_err(|e| Error::Tls {
            host: account.host.clone(),
            detail: e.to_string(),
        })?;
    Ok(Conn::Tls(Box::new(stream)))
}

/// XOAUTH2 SASL: `user=<user>^Aauth=Bearer <token>^A^A`.
struct XOAuth2 {
    user: String,
    token: String,
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
    }
}

/// An authenticated IMAP session.
pub struct ImapSession {
    session: async_imap::Session<Conn>,
    host: String,
    capabilities: HashSet<String>,
}

impl std::fmt::Debug for ImapSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSession")
            .field("host", &self.host)
            .finish()
    }
}

impl ImapSession {
    /// Connects and logs in. `secret` is the password or the OAuth2 token.
    pub async fn connect(account: &Account, secret: &str) -> Result<ImapSession> {
        account.validate()?;
        let host = account.host.clone();
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            crate::sync::net::connect_tcp(&host, account.port()),
        )
        .await
        .map_err(|_| {
            network(
                &host,
                format!("connecting to port {} timed out", account.port()),
            )
        })?
        .map_err(|e| {
            network(
                &host,
                format!("cannot connect to port {}: {e}", account.port()),
            )
        })?;
        let _ = tcp.set_nodelay(true);
        let client = match account.security {
            Security::Tls => {
                let mut client = async_imap::Client::new(tls_wrap(account, tcp).await?);
                read_greeting(&host, &mut client).await?;
                client
            }
            Security::None => {
                let mut client = async_imap::Client::new(Conn::Plain(tcp));
                read_greeting(&host, &mut client).await?;
                client
            }
            Security::Starttls => {
                let mut client = async_imap::Client::new(Conn::Plain(tcp));
                read_greeting(&host, &mut client).await?;
                timed(
                    &host,
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?;
                let Conn::Plain(tcp) = client.into_inner() else {
                    return Err(Error::Internal("STARTTLS on a TLS connection".into()));
                };
                // No second greeting after STARTTLS (RFC 3501 §6.2.1).
                async_imap::Client::new(tls_wrap(account, tcp).await?)
            }
        };
        let login = async {
            match account.auth {
                AuthKind::Password => client.login(&account.user, secret).await,
                AuthKind::Xoauth2 => {
                    client
                        .authenticate(
                            "XOAUTH2",
                            XOAuth2 {
                                user: account.user.clone(),
                                token: secret.to_string(),
                            },
                        )
                        .await
                }
            }
        };
        let session = match tokio::time::timeout(COMMAND_TIMEOUT, login).await {
            Err(_) => return Err(network(&host, "no answer to the login")),
            Ok(Ok(s)) => s,
            Ok(Err((e, _))) => {
                return Err(match e {
                    async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_) => {
                        Error::Auth {
                            account: account.name.clone(),
                            detail: "the server rejected the user name or password".into(),
                        }
                    }
                    other => imap_error(&host, other),
                });
            }
        };
        let mut s = ImapSession {
            session,
            host,
            capabilities: HashSet::new(),
        };
        s.refresh_capabilities().await?;
        Ok(s)
    }

    async fn refresh_capabilities(&mut self) -> Result<()> {
        let caps = timed(&self.host, "CAPABILITY", self.session.capabilities()).await?;
        self.capabilities = caps
            .iter()
            .map(|c| match c {
                async_imap::types::Capability::Imap4rev1 => "IMAP4REV1".to_string(),
                async_imap::types::Capability::Auth(a) => {
                    format!("AUTH={}", a.to_ascii_uppercase())
                }
                async_imap::types::Capability::Atom(a) => a.to_ascii_uppercase(),
            })
            .collect();
        Ok(())
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.contains(&capability.to_ascii_uppercase())
    }

    pub fn capabilities(&self) -> Vec<String> {
        let mut v: Vec<String> = self.capabilities.iter().cloned().collect();
        v.sort();
        v
    }

    /// Gmail's IMAP extensions (X-GM-MSGID, All Mail).
    pub fn is_gmail(&self) -> bool {
        self.has("X-GM-EXT-1")
    }

    /// Every folder with its special use (from SPECIAL-USE attributes, else from its name).
    pub async fn folders(&mut self) -> Result<Vec<Folder>> {
        let host = self.host.clone();
        let names = tokio::time::timeout(COMMAND_TIMEOUT, async {
            let stream = self.session.list(Some(""), Some("*")).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await
        .map_err(|_| network(&host, "LIST: no answer"))?
        .map_err(|e| imap_error(&host, e))?;
        let mut out = Vec::new();
        for n in &names {
            let attrs = n.attributes();
            let selectable = !attrs
                .iter()
                .any(|a| matches!(a, NameAttribute::NoSelect) || matches!(a, NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent")));
            let from_attr = attrs.iter().find_map(|a| match a {
                NameAttribute::All => Some(SpecialUse::All),
                NameAttribute::Archive => Some(SpecialUse::Archive),
                NameAttribute::Drafts => Some(SpecialUse::Drafts),
                NameAttribute::Flagged => Some(SpecialUse::Flagged),
                NameAttribute::Junk => Some(SpecialUse::Junk),
                NameAttribute::Sent => Some(SpecialUse::Sent),
                NameAttribute::Trash => Some(SpecialUse::Trash),
                _ => None,
            });
            let name = n.name().to_string();
            let special_use = from_attr.or_else(|| guess_special_use(&name, n.delimiter()));
            out.push(Folder {
                name,
                special_use,
                selectable,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Selects a folder read-only.
    pub async fn examine(&mut self, folder: &str) -> Result<FolderStatus> {
        let host = self.host.clone();
        let mbox = timed(&host, "EXAMINE", self.session.examine(folder)).await?;
        let uidvalidity = mbox
            .uid_validity
            .ok_or_else(|| network(&host, format!("no UIDVALIDITY for folder {folder}")))?;
        let uidnext = match mbox.uid_next {
            Some(n) => n,
            // Some servers omit UIDNEXT on SELECT; STATUS has it (chatmail, mbsync do the same).
            None => self.status(folder).await?.uidnext,
        };
        Ok(FolderStatus {
            uidvalidity,
            uidnext,
            exists: mbox.exists,
            highest_modseq: mbox.highest_modseq,
        })
    }

    /// STATUS of a folder that is not selected (cheap polling).
    pub async fn status(&mut self, folder: &str) -> Result<FolderStatus> {
        let host = self.host.clone();
        let items = if self.has("CONDSTORE") {
            "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)"
        } else {
            "(MESSAGES UIDNEXT UIDVALIDITY)"
        };
        let mbox = timed(&host, "STATUS", self.session.status(folder, items)).await?;
        Ok(FolderStatus {
            uidvalidity: mbox.uid_validity.unwrap_or(0),
            uidnext: mbox.uid_next.unwrap_or(0),
            exists: mbox.exists,
            highest_modseq: mbox.highest_modseq,
        })
    }

    /// Every UID of the selected folder, ascending.
    pub async fn uids(&mut self) -> Result<Vec<u32>> {
        let host = self.host.clone();
        let set = timed(&host, "UID SEARCH", self.session.uid_search("ALL")).await?;
        let mut v: Vec<u32> = set.into_iter().collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Headers of the messages in `uid_set` (e.g. `"7:*"` or `"1,3,9:12"`) of the selected folder.
    pub async fn fetch_headers(&mut self, uid_set: &str) -> Result<Vec<FetchedHeader>> {
        let host = self.host.clone();
        let items = if self.is_gmail() {
            format!("(UID X-GM-MSGID BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])")
        } else {
            format!("(UID BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])")
        };
        let fetched = tokio::time::timeout(COMMAND_TIMEOUT, async {
            let stream = self.session.uid_fetch(uid_set, &items).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await
        .map_err(|_| network(&host, "UID FETCH: no answer"))?
        .map_err(|e| imap_error(&host, e))?;
        Ok(fetched
            .iter()
            .filter_map(|f| {
                Some(FetchedHeader {
                    uid: f.uid?,
                    header: f.header().map(<[u8]>::to_vec).unwrap_or_default(),
                    gmail_id: f.gmail_msg_id().copied(),
                })
            })
            .collect())
    }

    /// Waits in IDLE (RFC 2177) on the selected folder until the server reports a change or
    /// `wait` passes. Consumes the session and gives it back. Returns whether something changed.
    pub async fn idle(
        self,
        wait: Duration,
        cancel: &crate::CancelToken,
    ) -> Result<(ImapSession, bool)> {
        let ImapSession {
            session,
            host,
            capabilities,
        } = self;
        let mut handle = session.idle();
        timed(&host, "IDLE", handle.init()).await?;
        let outcome = {
            let (fut, stop) = handle.wait_with_timeout(wait);
            tokio::pin!(fut);
            // A stop (Ctrl-C, SIGTERM) ends the wait at once: dropping `stop` interrupts it,
            // and the session still leaves IDLE politely below.
            let cancelled = async {
                while !cancel.is_cancelled() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            };
            tokio::select! {
                outcome = &mut fut => outcome,
                () = cancelled => {
                    drop(stop);
                    fut.await
                }
            }
        }
        .map_err(|e| imap_error(&host, e))?;
        let changed = matches!(
            outcome,
            async_imap::extensions::idle::IdleResponse::NewData(_)
        );
        let session = timed(&host, "DONE", handle.done()).await?;
        Ok((
            ImapSession {
                session,
                host,
                capabilities,
            },
            changed,
        ))
    }

    /// Ends the session politely (errors are of no interest by then).
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

async fn read_greeting(host: &str, client: &mut async_imap::Client<Conn>) -> Result<()> {
    match tokio::time::timeout(CONNECT_TIMEOUT, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(network(
            host,
            "the server closed the connection before greeting",
        )),
        Ok(Err(e)) => Err(network(host, format!("reading the greeting: {e}"))),
        Err(_) => Err(network(host, "no greeting from the server")),
    }
}

/// A folder's purpose from its name, for servers without SPECIAL-USE: the name rule every
/// source shares ([`FolderRole::from_name`]), on the last level of the hierarchy.
pub fn guess_special_use(name: &str, delimiter: Option<&str>) -> Option<SpecialUse> {
    if name.eq_ignore_ascii_case("INBOX") {
        return Some(SpecialUse::Inbox);
    }
    let leaf = match delimiter {
        Some(d) if !d.is_empty() => name.rsplit(d).next().unwrap_or(name),
        _ => name,
    };
    match FolderRole::from_name(leaf) {
        FolderRole::Inbox | FolderRole::Other => None,
        FolderRole::Sent => Some(SpecialUse::Sent),
        FolderRole::Drafts => Some(SpecialUse::Drafts),
        FolderRole::Archive => Some(SpecialUse::Archive),
        FolderRole::Junk => Some(SpecialUse::Junk),
        FolderRole::Trash => Some(SpecialUse::Trash),
    }
}

/// Compact UID sets (`1:5,9,12:14`) of at most `max_len` characters each, covering `uids`
/// (which must be sorted, ascending or descending).
pub fn uid_sets(uids: &[u32], max_len: usize) -> Vec<String> {
    let mut sets = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1].abs_diff(end) == 1 {
            i += 1;
            end = uids[i];
        }
        let (lo, hi) = (start.min(end), start.max(end));
        let part = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}:{hi}")
        };
        if !current.is_empty() && current.len() + 1 + part.len() > max_len {
            sets.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(',');
        }
        current.push_str(&part);
        i += 1;
    }
    if !current.is_empty() {
        sets.push(current);
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact_and_bounded() {
        assert_eq!(uid_sets(&[1, 2, 3, 5, 7, 8], 100), vec!["1:3,5,7:8"]);
        assert_eq!(uid_sets(&[9, 8, 7, 3], 100), vec!["7:9,3"]);
        let many: Vec<u32> = (1..2000).step_by(2).collect();
        let sets = uid_sets(&many, 990);
        assert!(sets.iter().all(|s| s.len() <= 990));
        let total: usize = sets.iter().map(|s| s.split(',').count()).sum();
        assert_eq!(total, many.len());
    }

    #[test]
    fn guesses_folder_purpose() {
        assert_eq!(
            guess_special_use("INBOX", Some("/")),
            Some(SpecialUse::Inbox)
        );
        assert_eq!(guess_special_use("Sent", Some(".")), Some(SpecialUse::Sent));
        assert_eq!(
            guess_special_use("[Gmail]/Sent Mail", Some("/")),
            Some(SpecialUse::Sent)
        );
        assert_eq!(
            guess_special_use("INBOX.Trash", Some(".")),
            Some(SpecialUse::Trash)
        );
        assert_eq!(guess_special_use("Projects", Some("/")), None);
    }
}
