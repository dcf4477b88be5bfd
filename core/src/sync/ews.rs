//! Exchange Web Services, the transport: SOAP over one kept-alive HTTPS connection,
//! authenticated the way the server offers in `WWW-Authenticate` — NTLMv2 with channel binding
//! (Extended Protection) first, then Basic; a Bearer token when one is given — and the five
//! operations a header sync needs (SyncFolderHierarchy, GetFolder, SyncFolderItems, GetItem,
//! ResolveNames), with Exchange's throttling honoured (`ErrorServerBusy` in HTTP 200 or as a
//! SOAP fault in HTTP 500, 503, `ErrorExceededConnectionCount`). Facts: facts/exchange.md §1–§2.
//!
//! Requests are written here rather than with the `ews` crate: it has no ResolveNames and
//! cannot read the versions current servers answer with, and these five requests are short.
//! Credentials are never sent over plain HTTP.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::discover::http::Url;
use crate::error::{Error, Result};
use crate::sync::http1::{self, Connection, Response};
use crate::sync::ntlm;
use crate::xml::{self, Element, escape};

pub const USER_AGENT: &str = concat!("rapport/", env!("CARGO_PKG_VERSION"));
/// The most changes one SyncFolderItems may ask for (the protocol's limit).
pub const MAX_SYNC_CHANGES: usize = 512;
/// Items per GetItem (Thunderbird's batch: a server rejects large ones under load).
pub const GET_ITEM_BATCH: usize = 10;
/// Times a busy server is waited for before the call fails.
const MAX_BUSY_RETRIES: u32 = 8;
/// The longest back-off honoured at once (a server asking for more gets asked again).
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The version asked for: what every supported server (2013 SP1 and later) understands.
const REQUEST_VERSION: &str = "Exchange2013_SP1";

const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const MESSAGES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";

/// How the user proves who they are to Exchange.
#[derive(Clone)]
pub enum Credentials {
    /// A login (any of the username forms) and its password, for NTLM or Basic.
    Password { user: String, password: String },
    /// An OAuth2 access token (hybrid setups).
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password { user, .. } => write!(f, "Password({user}, …)"),
            Credentials::Bearer(_) => f.write_str("Bearer(…)"),
        }
    }
}

/// The scheme a connection authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthScheme {
    Ntlm,
    Basic,
    Bearer,
}

impl AuthScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthScheme::Ntlm => "ntlm",
            AuthScheme::Basic => "basic",
            AuthScheme::Bearer => "bearer",
        }
    }
}

/// What a 401 offers, in the order Rapport prefers.
fn offered_schemes(response: &Response) -> Vec<(AuthScheme, &'static str)> {
    let mut offered = Vec::new();
    let has = |token: &str| {
        response
            .headers_named("www-authenticate")
            .flat_map(|v| v.split(','))
            .any(|v| {
                v.split_whitespace()
                    .next()
                    .is_some_and(|s| s.eq_ignore_ascii_case(token))
            })
    };
    // Negotiate carries raw NTLM tokens too (IIS accepts them).
    if has("NTLM") {
        offered.push((AuthScheme::Ntlm, "NTLM"));
    } else if has("Negotiate") {
        offered.push((AuthScheme::Ntlm, "Negotiate"));
    }
    if has("Basic") {
        offered.push((AuthScheme::Basic, "Basic"));
    }
    if has("Bearer") {
        offered.push((AuthScheme::Bearer, "Bearer"));
    }
    offered
}

/// The NTLM token in a 401's `WWW-Authenticate: NTLM <base64>` (or Negotiate).
fn ntlm_challenge(response: &Response) -> Option<Vec<u8>> {
    response
        .headers_named("www-authenticate")
        .filter_map(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            (scheme.eq_ignore_ascii_case("NTLM") || scheme.eq_ignore_ascii_case("Negotiate"))
                .then(|| B64.decode(token.trim()).ok())
                .flatten()
        })
        .next()
}

/// A client of one EWS endpoint (or Autodiscover URL): one connection, re-opened and
/// re-authenticated when the server drops it.
pub struct EwsClient {
    account: String,
    url: Url,
    ca_file: Option<PathBuf>,
    credentials: Credentials,
    connection: Option<Connection>,
    /// The scheme chosen from the first 401 (or Bearer, given).
    scheme: Option<(AuthScheme, &'static str)>,
    /// NTLM authenticates the connection, not each request.
    connection_authenticated: bool,
    /// The NetBIOS domain the server's NTLM challenge named.
    server_domain: Option<String>,
}

impl EwsClient {
    pub fn new(
        account: &str,
        url: Url,
        ca_file: Option<PathBuf>,
        credentials: Credentials,
    ) -> Result<EwsClient> {
        if !url.https {
            return Err(Error::InvalidInput(format!(
                "account '{account}': {} is plain HTTP; Exchange credentials go only over https",
                url.shown()
            )));
        }
        let scheme = match credentials {
            Credentials::Bearer(_) => Some((AuthScheme::Bearer, "Bearer")),
            Credentials::Password { .. } => None,
        };
        Ok(EwsClient {
            account: account.to_string(),
            url,
            ca_file,
            credentials,
            connection: None,
            scheme,
            connection_authenticated: false,
            server_domain: None,
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The scheme the server accepted, once a request has gone through.
    pub fn scheme(&self) -> Option<AuthScheme> {
        self.scheme.map(|(s, _)| s)
    }

    /// The domain the server's NTLM challenge announced (to try `DOMAIN\user`).
    pub fn server_domain(&self) -> Option<&str> {
        self.server_domain.as_deref()
    }

    fn network(&self, detail: impl Into<String>) -> Error {
        Error::Network {
            host: self.url.host.clone(),
            detail: detail.into(),
        }
    }

    fn login(&self) -> &str {
        match &self.credentials {
            Credentials::Password { user, .. } => user,
            Credentials::Bearer(_) => "the token's user",
        }
    }

    async fn connection(&mut self) -> Result<&mut Connection> {
        if self.connection.is_none() {
            self.connection = Some(Connection::open(&self.url, self.ca_file.as_deref()).await?);
            self.connection_authenticated = false;
        }
        self.connection
            .as_mut()
            .ok_or_else(|| Error::Internal("no connection".into()))
    }

    /// One request on the connection; a connection the server dropped between requests is
    /// re-opened once.
    async fn send(&mut self, request: &[u8]) -> Result<Response> {
        let reused = self.connection.is_some();
        let first = self.connection().await?.round_trip(request).await;
        let response = match first {
            Ok(r) => r,
            Err(e @ Error::Network { .. }) if reused => {
                self.connection = None;
                // NTLM authenticated the dropped connection, not this request: `post`
                // handshakes again on a new one.
                if self.connection_authenticated {
                    self.connection_authenticated = false;
                    return Err(e);
                }
                self.connection().await?.round_trip(request).await?
            }
            Err(e) => return Err(e),
        };
        if response.close {
            self.connection = None;
        }
        Ok(response)
    }

    /// NTLM's two legs on a fresh connection; the third rides on `request`'s headers.
    async fn ntlm_handshake(&mut self, token_scheme: &'static str) -> Result<String> {
        let Credentials::Password { user, password } = self.credentials.clone() else {
            return Err(Error::Internal("NTLM without a password".into()));
        };
        self.connection = None;
        let connection = self.connection().await?;
        let binding = (!connection.peer_certificate.is_empty())
            .then(|| ntlm::tls_server_end_point(&connection.peer_certificate));
        let (domain, name) = ntlm::split_username(&user);
        let mut client = ntlm::NtlmClient::new(&domain, &name, &password, "RAPPORT", binding);
        let negotiate = format!("{token_scheme} {}", B64.encode(client.negotiate()));
        let request = http1::request(
            "POST",
            &self.url,
            &[("Authorization", negotiate)],
            Some("text/xml; charset=utf-8"),
            b"",
        );
        let response = self.send(&request).await?;
        if response.status != 401 {
            return Err(self.network(format!(
                "the NTLM handshake got HTTP {} instead of a challenge",
                response.status
            )));
        }
        let challenge = ntlm_challenge(&response)
            .ok_or_else(|| self.network("the server's 401 carries no NTLM challenge"))?;
        if self.connection.is_none() {
            return Err(self.network("the server closed the connection mid-handshake"));
        }
        self.server_domain = ntlm::challenge_domain(&challenge).filter(|d| !d.is_empty());
        let authenticate = client.authenticate(&challenge).map_err(|e| Error::Auth {
            account: self.account.clone(),
            detail: e.to_string(),
        })?;
        Ok(format!("{token_scheme} {}", B64.encode(authenticate)))
    }

    fn refused(&self, scheme: AuthScheme) -> Error {
        let detail = match scheme {
            AuthScheme::Bearer => {
                "the server refused the access token (expired, or for another resource?)"
                    .to_string()
            }
            _ => format!(
                "the server refused the login '{}' and its password ({})",
                self.login(),
                scheme.as_str().to_uppercase()
            ),
        };
        Error::Auth {
            account: self.account.clone(),
            detail,
        }
    }

    /// POSTs `body` to `url` (the endpoint, or an Autodiscover URL on the same host),
    /// authenticating as the server asks.
    pub async fn post(&mut self, body: &[u8]) -> Result<Response> {
        let mut rehandshaken = false;
        for _ in 0..3 {
            let authorization = match (self.scheme, &self.credentials) {
                (None, _) => None,
                (Some((AuthScheme::Bearer, _)), Credentials::Bearer(token)) => {
                    Some(format!("Bearer {token}"))
                }
                (Some((AuthScheme::Basic, _)), Credentials::Password { user, password }) => Some(
                    format!("Basic {}", B64.encode(format!("{user}:{password}"))),
                ),
                (Some((AuthScheme::Ntlm, token)), _) => {
                    if self.connection_authenticated && self.connection.is_some() {
                        None
                    } else {
                        Some(self.ntlm_handshake(token).await?)
                    }
                }
                (Some((scheme, _)), _) => return Err(self.refused(scheme)),
            };
            let headers: Vec<(&str, String)> = authorization
                .map(|a| vec![("Authorization", a)])
                .unwrap_or_default();
            // The anonymous probe that learns the schemes carries no body.
            let payload: &[u8] = if self.scheme.is_none() { b"" } else { body };
            let request = http1::request(
                "POST",
                &self.url,
                &headers,
                Some("text/xml; charset=utf-8"),
                payload,
            );
            let riding_ntlm =
                headers.is_empty() && matches!(self.scheme, Some((AuthScheme::Ntlm, _)));
            let response = match self.send(&request).await {
                // An idle NTLM connection the server closed: once more, with a new handshake.
                Err(Error::Network { .. }) if riding_ntlm && !rehandshaken => {
                    rehandshaken = true;
                    continue;
                }
                other => other?,
            };
            if response.status == 401 {
                match self.scheme {
                    None => {
                        let offered = offered_schemes(&response);
                        let usable = offered.into_iter().find(|(s, _)| match self.credentials {
                            Credentials::Password { .. } => *s != AuthScheme::Bearer,
                            Credentials::Bearer(_) => *s == AuthScheme::Bearer,
                        });
                        let Some(scheme) = usable else {
                            let offered: Vec<&str> =
                                response.headers_named("www-authenticate").collect();
                            return Err(Error::Unsupported {
                                host: self.url.host.clone(),
                                what: format!(
                                    "a way to log in that Rapport knows (it offers: {})",
                                    if offered.is_empty() {
                                        "nothing".to_string()
                                    } else {
                                        offered.join("; ")
                                    }
                                ),
                            });
                        };
                        self.scheme = Some(scheme);
                        continue;
                    }
                    Some((scheme, _)) => {
                        self.connection = None;
                        return Err(self.refused(scheme));
                    }
                }
            }
            if self.scheme.is_none() {
                // The server let the anonymous probe through: send the request itself.
                let request = http1::request(
                    "POST",
                    &self.url,
                    &[],
                    Some("text/xml; charset=utf-8"),
                    body,
                );
                return self.send(&request).await;
            }
            if self.scheme.is_some_and(|(s, _)| s == AuthScheme::Ntlm) {
                self.connection_authenticated = self.connection.is_some();
            }
            return Ok(response);
        }
        Err(self.network("the server kept asking to authenticate"))
    }

    /// One SOAP operation: the element inside `<soap:Body>` of the answer. Waits out a busy
    /// server (as often as [`MAX_BUSY_RETRIES`]); any other fault is an error naming its code.
    pub async fn call(&mut self, operation: &str) -> Result<Element> {
        let envelope = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_NS}" xmlns:m="{MESSAGES_NS}" xmlns:t="{TYPES_NS}"><soap:Header><t:RequestServerVersion Version="{REQUEST_VERSION}"/></soap:Header><soap:Body>{operation}</soap:Body></soap:Envelope>"#
        );
        let mut attempt = 0u32;
        loop {
            let response = self.post(envelope.as_bytes()).await?;
            let wait = match response.status {
                200 | 500 => {
                    let text = String::from_utf8_lossy(&response.body);
                    let doc = xml::parse(&text).map_err(|e| {
                        self.server_error(format!(
                            "an answer that is not XML (HTTP {}): {e}",
                            response.status
                        ))
                    })?;
                    let body = doc
                        .child("Body")
                        .ok_or_else(|| self.server_error("a SOAP answer without a Body"))?;
                    match busy_backoff(body) {
                        Some(wait) => wait,
                        None => {
                            if let Some(fault) = body.child("Fault") {
                                return Err(self.server_error(fault_text(fault)));
                            }
                            if response.status == 500 {
                                return Err(self.server_error("HTTP 500 without a SOAP fault"));
                            }
                            return body
                                .children
                                .first()
                                .cloned()
                                .ok_or_else(|| self.server_error("an empty SOAP Body"));
                        }
                    }
                }
                503 => retry_after(&response).unwrap_or(Duration::from_secs(2 << attempt.min(5))),
                status => {
                    return Err(self.server_error(format!("HTTP {status} from the EWS endpoint")));
                }
            };
            attempt += 1;
            if attempt > MAX_BUSY_RETRIES {
                return Err(self.network(format!(
                    "the server stayed busy through {MAX_BUSY_RETRIES} back-offs"
                )));
            }
            tracing::info!(
                host = %self.url.host,
                wait_ms = wait.as_millis() as u64,
                "Exchange is busy: backing off"
            );
            tokio::time::sleep(wait.min(MAX_BACKOFF)).await;
        }
    }

    fn server_error(&self, detail: impl Into<String>) -> Error {
        Error::Server {
            host: self.url.host.clone(),
            detail: detail.into(),
        }
    }
}

/// `Retry-After` in seconds.
pub fn retry_after(response: &Response) -> Option<Duration> {
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Response codes that mean "not now": wait and send the same request again.
const BUSY_CODES: [&str; 3] = [
    "ErrorServerBusy",
    "ErrorExceededConnectionCount",
    "ErrorTooManyObjectsOpened",
];

/// How long a busy answer asks to wait (`BackOffMilliseconds`, else one second), if the
/// answer is busy: a fault in HTTP 500 or a response message with a busy code in HTTP 200.
fn busy_backoff(body: &Element) -> Option<Duration> {
    let backoff = |e: &Element| {
        let ms = e
            .find("Value")
            .filter(|v| v.attr("Name") == Some("BackOffMilliseconds"))
            .and_then(|v| v.text.trim().parse::<u64>().ok())
            .unwrap_or(1000);
        Duration::from_millis(ms)
    };
    if let Some(fault) = body.child("Fault") {
        let code = fault_code(fault);
        return BUSY_CODES
            .iter()
            .any(|c| code.contains(c))
            .then(|| backoff(fault));
    }
    let response = body.children.first()?;
    let messages = response.child("ResponseMessages")?;
    messages
        .children
        .iter()
        .find(|m| {
            m.child_text("ResponseCode")
                .is_some_and(|c| BUSY_CODES.contains(&c))
        })
        .map(backoff)
}

fn fault_code(fault: &Element) -> String {
    fault
        .find("ResponseCode")
        .or_else(|| fault.child("faultcode"))
        .map(|e| e.text.trim().to_string())
        .unwrap_or_default()
}

fn fault_text(fault: &Element) -> String {
    let code = fault_code(fault);
    let text = fault
        .child_text("faultstring")
        .or_else(|| fault.find("Message").map(|m| m.text.trim()))
        .unwrap_or("");
    format!("SOAP fault {code}: {text}")
}

/// A response message's class and code, as an error unless it succeeded.
fn check_message(host: &str, message: &Element) -> Result<()> {
    if message.attr("ResponseClass") == Some("Error") {
        let code = message.child_text("ResponseCode").unwrap_or("Error");
        let text = message.child_text("MessageText").unwrap_or("");
        return Err(Error::Server {
            host: host.to_string(),
            detail: format!("{code}: {text}"),
        });
    }
    Ok(())
}

/// The response messages of an operation's answer.
fn messages(response: &Element) -> Vec<&Element> {
    response
        .child("ResponseMessages")
        .map(|m| m.children.iter().collect())
        .unwrap_or_default()
}

/// A folder as SyncFolderHierarchy and GetFolder describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderInfo {
    pub id: String,
    pub parent_id: String,
    pub display_name: String,
    /// `IPF.Note` for mail folders.
    pub folder_class: String,
    /// Items in the folder (0 when the server did not say).
    pub total_count: u64,
}

/// The folders under the root, and the sync state past them.
#[derive(Debug, Default)]
pub struct HierarchyPage {
    pub created: Vec<FolderInfo>,
    pub deleted: Vec<String>,
    pub sync_state: String,
    pub last: bool,
}

/// A page of a folder's changes.
#[derive(Debug, Default)]
pub struct ItemChanges {
    /// Created or updated items (an Update for an item not seen yet is read as a Create).
    pub changed: Vec<String>,
    pub deleted: Vec<String>,
    pub sync_state: String,
    pub last: bool,
}

/// A mailbox as a Message's From, To… carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
    /// `SMTP`, or `EX` for an Exchange-internal address (a legacyExchangeDN).
    pub routing_type: String,
}

/// The header fields of one item, as GetItem answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemHeaders {
    pub id: String,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    pub subject: String,
    pub from: Option<Mailbox>,
    pub sender: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    pub date_sent: Option<String>,
    pub date_received: Option<String>,
    pub conversation_id: Option<String>,
    /// `InternetMessageHeaders` (some transport headers), name → value.
    pub headers: Vec<(String, String)>,
}

/// One GetItem answer for one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    Found(Box<ItemHeaders>),
    /// The item went between the sync and the fetch (`ErrorItemNotFound`): a delete.
    Gone(String),
    /// Any other per-item error: skipped and reported.
    Failed {
        id: String,
        code: String,
    },
}

/// The distinguished folders whose roles a sync needs (in every EWS schema since 2007).
pub const DISTINGUISHED: [&str; 5] = ["inbox", "sentitems", "drafts", "deleteditems", "junkemail"];
/// Outlook's one-click Archive folder: a distinguished name only in newer schemas (Exchange 2016
/// on). A server whose schema lacks it refuses the whole request (ErrorSchemaValidation), so
/// it is asked for alone.
const ARCHIVE: &str = "archive";

impl EwsClient {
    /// `SyncFolderHierarchy` from the root, with each folder's name and class.
    pub async fn sync_folder_hierarchy(&mut self, sync_state: &str) -> Result<HierarchyPage> {
        let state = if sync_state.is_empty() {
            String::new()
        } else {
            format!("<m:SyncState>{}</m:SyncState>", escape(sync_state))
        };
        let request = format!(
            r#"<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/><t:FieldURI FieldURI="folder:FolderClass"/><t:FieldURI FieldURI="folder:ParentFolderId"/><t:FieldURI FieldURI="folder:TotalCount"/></t:AdditionalProperties></m:FolderShape><m:SyncFolderId><t:DistinguishedFolderId Id="msgfolderroot"/></m:SyncFolderId>{state}</m:SyncFolderHierarchy>"#
        );
        let response = self.call(&request).await?;
        let message = messages(&response)
            .into_iter()
            .next()
            .ok_or_else(|| self.server_error("SyncFolderHierarchy answered no message"))?;
        check_message(&self.url.host, message)?;
        let mut page = HierarchyPage {
            sync_state: message.child_text("SyncState").unwrap_or("").to_string(),
            last: message.child_text("IncludesLastFolderInRange") != Some("false"),
            ..Default::default()
        };
        for change in message
            .child("Changes")
            .map(|c| c.children.as_slice())
            .unwrap_or_default()
        {
            let folder = change.children.first();
            match change.name.as_str() {
                "Create" | "Update" => {
                    if let Some(f) = folder {
                        page.created.push(folder_info(f));
                    }
                }
                "Delete" => {
                    if let Some(id) = change.child("FolderId").and_then(|f| f.attr("Id")) {
                        page.deleted.push(id.to_string());
                    }
                }
                _ => {}
            }
        }
        Ok(page)
    }

    /// The ids of the distinguished folders the server has, by role name.
    pub async fn distinguished_folders(&mut self) -> Result<HashMap<String, String>> {
        let mut found = self.get_distinguished(&DISTINGUISHED).await?;
        match self.get_distinguished(&[ARCHIVE]).await {
            Ok(archive) => found.extend(archive),
            Err(e) => tracing::debug!("no distinguished archive folder: {e}"),
        }
        Ok(found)
    }

    /// `GetFolder` of well-known names; a name the mailbox lacks is left out.
    async fn get_distinguished(&mut self, names: &[&str]) -> Result<HashMap<String, String>> {
        let ids: String = names
            .iter()
            .map(|d| format!(r#"<t:DistinguishedFolderId Id="{d}"/>"#))
            .collect();
        let request = format!(
            r#"<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>{ids}</m:FolderIds></m:GetFolder>"#
        );
        let response = self.call(&request).await?;
        let mut found = HashMap::new();
        for (message, name) in messages(&response).into_iter().zip(names) {
            if message.attr("ResponseClass") == Some("Error") {
                continue;
            }
            if let Some(id) = message.find("FolderId").and_then(|f| f.attr("Id")) {
                found.insert(id.to_string(), name.to_string());
            }
        }
        Ok(found)
    }

    /// One page of `SyncFolderItems` after `sync_state` (empty: from the beginning). An
    /// invalid sync state is [`Error::Server`] with `ErrorInvalidSyncStateData`.
    pub async fn sync_folder_items(
        &mut self,
        folder_id: &str,
        sync_state: &str,
        max_changes: usize,
    ) -> Result<ItemChanges> {
        let state = if sync_state.is_empty() {
            String::new()
        } else {
            format!("<m:SyncState>{}</m:SyncState>", escape(sync_state))
        };
        let max = max_changes.clamp(1, MAX_SYNC_CHANGES);
        let request = format!(
            r#"<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:FolderId Id="{}"/></m:SyncFolderId>{state}<m:MaxChangesReturned>{max}</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>"#,
            escape(folder_id)
        );
        let response = self.call(&request).await?;
        let message = messages(&response)
            .into_iter()
            .next()
            .ok_or_else(|| self.server_error("SyncFolderItems answered no message"))?;
        check_message(&self.url.host, message)?;
        let mut page = ItemChanges {
            sync_state: message.child_text("SyncState").unwrap_or("").to_string(),
            last: message.child_text("IncludesLastItemInRange") != Some("false"),
            ..Default::default()
        };
        for change in message
            .child("Changes")
            .map(|c| c.children.as_slice())
            .unwrap_or_default()
        {
            let id = change
                .find("ItemId")
                .and_then(|i| i.attr("Id"))
                .map(str::to_string);
            let Some(id) = id else { continue };
            match change.name.as_str() {
                // Only messages: meeting requests and reports are Items of other classes, but
                // their headers are mail too; calendar items never live in mail folders.
                "Create" | "Update" => page.changed.push(id),
                "Delete" => page.deleted.push(id),
                _ => {} // ReadFlagChange: nothing Rapport keeps.
            }
        }
        Ok(page)
    }

    /// The header fields of `ids` (at most [`GET_ITEM_BATCH`] per call is kind to servers).
    pub async fn get_items(&mut self, ids: &[String]) -> Result<Vec<ItemResult>> {
        const FIELDS: [&str; 14] = [
            "message:InternetMessageId",
            "message:From",
            "message:Sender",
            "message:ToRecipients",
            "message:CcRecipients",
            "message:BccRecipients",
            "message:References",
            "item:InReplyTo",
            "item:Subject",
            "item:DateTimeSent",
            "item:DateTimeReceived",
            "item:ConversationId",
            "item:InternetMessageHeaders",
            "message:IsRead",
        ];
        let fields: String = FIELDS
            .iter()
            .map(|f| format!(r#"<t:FieldURI FieldURI="{f}"/>"#))
            .collect();
        let item_ids: String = ids
            .iter()
            .map(|id| format!(r#"<t:ItemId Id="{}"/>"#, escape(id)))
            .collect();
        let request = format!(
            r#"<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>{fields}</t:AdditionalProperties></m:ItemShape><m:ItemIds>{item_ids}</m:ItemIds></m:GetItem>"#
        );
        let response = self.call(&request).await?;
        let answers = messages(&response);
        if answers.len() != ids.len() {
            return Err(self.server_error(format!(
                "GetItem answered {} messages for {} ids",
                answers.len(),
                ids.len()
            )));
        }
        Ok(answers
            .into_iter()
            .zip(ids)
            .map(|(message, id)| {
                if message.attr("ResponseClass") == Some("Error") {
                    let code = message.child_text("ResponseCode").unwrap_or("Error");
                    return if code == "ErrorItemNotFound" {
                        ItemResult::Gone(id.clone())
                    } else {
                        ItemResult::Failed {
                            id: id.clone(),
                            code: code.to_string(),
                        }
                    };
                }
                match message.child("Items").and_then(|i| i.children.first()) {
                    Some(item) => ItemResult::Found(Box::new(item_headers(item, id))),
                    None => ItemResult::Gone(id.clone()),
                }
            })
            .collect())
    }

    /// The SMTP address of an Exchange-internal one (a legacyExchangeDN), by `ResolveNames`.
    pub async fn resolve_name(&mut self, legacy_dn: &str) -> Result<Option<String>> {
        let request = format!(
            r#"<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>{}</m:UnresolvedEntry></m:ResolveNames>"#,
            escape(legacy_dn)
        );
        let response = self.call(&request).await?;
        let Some(message) = messages(&response).into_iter().next() else {
            return Ok(None);
        };
        if message.attr("ResponseClass") == Some("Error") {
            return Ok(None);
        }
        Ok(message
            .find("Resolution")
            .and_then(|r| r.find("Mailbox"))
            .and_then(|m| m.child_text("EmailAddress"))
            .filter(|a| a.contains('@'))
            .map(str::to_string))
    }
}

fn folder_info(folder: &Element) -> FolderInfo {
    FolderInfo {
        id: folder
            .child("FolderId")
            .and_then(|f| f.attr("Id"))
            .unwrap_or("")
            .to_string(),
        parent_id: folder
            .child("ParentFolderId")
            .and_then(|f| f.attr("Id"))
            .unwrap_or("")
            .to_string(),
        display_name: folder.child_text("DisplayName").unwrap_or("").to_string(),
        folder_class: folder.child_text("FolderClass").unwrap_or("").to_string(),
        total_count: folder
            .child_text("TotalCount")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
    }
}

fn mailbox(e: &Element) -> Mailbox {
    Mailbox {
        name: e.child_text("Name").unwrap_or("").to_string(),
        address: e.child_text("EmailAddress").unwrap_or("").to_string(),
        routing_type: e.child_text("RoutingType").unwrap_or("SMTP").to_string(),
    }
}

fn mailboxes(item: &Element, field: &str) -> Vec<Mailbox> {
    item.child(field)
        .map(|list| list.children_named("Mailbox").map(mailbox).collect())
        .unwrap_or_default()
}

/// Exchange writes In-Reply-To with its angle brackets escaped once or twice
/// (`&lt;…&gt;` or `&amp;lt;…&amp;gt;`): both read as the same id.
fn unescape_twice(s: &str) -> String {
    if s.contains("&lt;") || s.contains("&gt;") || s.contains("&amp;") {
        xml::decode(s).unwrap_or_else(|_| s.to_string())
    } else {
        s.to_string()
    }
}

fn item_headers(item: &Element, id: &str) -> ItemHeaders {
    let text = |name: &str| {
        item.child_text(name)
            .filter(|t| !t.is_empty())
            .map(unescape_twice)
    };
    ItemHeaders {
        id: item
            .child("ItemId")
            .and_then(|i| i.attr("Id"))
            .unwrap_or(id)
            .to_string(),
        message_id: text("InternetMessageId"),
        in_reply_to: text("InReplyTo"),
        references: text("References"),
        subject: text("Subject").unwrap_or_default(),
        from: item.path(&["From", "Mailbox"]).map(mailbox),
        sender: item.path(&["Sender", "Mailbox"]).map(mailbox),
        to: mailboxes(item, "ToRecipients"),
        cc: mailboxes(item, "CcRecipients"),
        bcc: mailboxes(item, "BccRecipients"),
        date_sent: text("DateTimeSent"),
        date_received: text("DateTimeReceived"),
        conversation_id: item
            .child("ConversationId")
            .and_then(|c| c.attr("Id"))
            .map(str::to_string),
        headers: item
            .child("InternetMessageHeaders")
            .map(|h| {
                h.children_named("InternetMessageHeader")
                    .map(|e| {
                        (
                            e.attr("HeaderName").unwrap_or("").to_string(),
                            e.text.trim().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(xml_text: &str) -> Result<Element, String> {
        let doc = xml::parse(xml_text)?;
        doc.child("Body").cloned().ok_or("no body".into())
    }

    #[test]
    fn busy_answers_are_read_from_http_200_and_from_faults() -> Result<(), String> {
        // HTTP 200, ResponseClass Error (the shape Exchange Online sends, facts/exchange.md §2).
        let ok_busy = body(
            r#"<s:Envelope xmlns:s="x"><s:Body><m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Error"><m:MessageText>busy</m:MessageText><m:ResponseCode>ErrorServerBusy</m:ResponseCode><m:MessageXml><t:Value Name="BackOffMilliseconds">250</t:Value></m:MessageXml></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>"#,
        )?;
        assert_eq!(busy_backoff(&ok_busy), Some(Duration::from_millis(250)));
        // HTTP 500 SOAP fault.
        let fault = body(
            r#"<s:Envelope xmlns:s="x"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>The server cannot service this request right now.</faultstring><detail><e:ResponseCode>ErrorServerBusy</e:ResponseCode><e:MessageXml><t:Value Name="BackOffMilliseconds">100</t:Value></e:MessageXml></detail></s:Fault></s:Body></s:Envelope>"#,
        )?;
        assert_eq!(busy_backoff(&fault), Some(Duration::from_millis(100)));
        let other = body(
            r#"<s:Envelope xmlns:s="x"><s:Body><s:Fault><faultcode>a:ErrorSchemaValidation</faultcode><faultstring>bad</faultstring></s:Fault></s:Body></s:Envelope>"#,
        )?;
        assert_eq!(busy_backoff(&other), None);
        assert!(
            fault_text(other.child("Fault").ok_or("no fault")?).contains("ErrorSchemaValidation")
        );
        Ok(())
    }

    #[test]
    fn items_read_with_either_in_reply_to_escaping() -> Result<(), String> {
        let item = xml::parse(
            r#"<t:Message><t:ItemId Id="A1"/><t:InternetMessageId>&lt;m1@x&gt;</t:InternetMessageId><t:InReplyTo>&amp;lt;m0@x&amp;gt;</t:InReplyTo><t:From><t:Mailbox><t:Name>Bo</t:Name><t:EmailAddress>/O=CORP/CN=BO</t:EmailAddress><t:RoutingType>EX</t:RoutingType></t:Mailbox></t:From><t:ToRecipients><t:Mailbox><t:EmailAddress>a@x</t:EmailAddress></t:Mailbox><t:Mailbox><t:EmailAddress>b@x</t:EmailAddress></t:Mailbox></t:ToRecipients></t:Message>"#,
        )?;
        let h = item_headers(&item, "A1");
        assert_eq!(h.message_id.as_deref(), Some("<m1@x>"));
        assert_eq!(h.in_reply_to.as_deref(), Some("<m0@x>"));
        assert_eq!(h.from.map(|m| m.routing_type), Some("EX".to_string()));
        assert_eq!(h.to.len(), 2);
        Ok(())
    }

    #[test]
    fn schemes_are_preferred_ntlm_then_basic() {
        let response = Response {
            status: 401,
            headers: vec![
                ("WWW-Authenticate".into(), "Basic realm=\"mail\"".into()),
                ("WWW-Authenticate".into(), "Negotiate".into()),
                ("WWW-Authenticate".into(), "NTLM".into()),
            ],
            ..Default::default()
        };
        let offered: Vec<AuthScheme> = offered_schemes(&response)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(offered, vec![AuthScheme::Ntlm, AuthScheme::Basic]);
    }

    #[test]
    fn credentials_never_go_over_plain_http() {
        let url = Url::parse("http://mail.example/EWS/Exchange.asmx");
        let made = url.map(|u| {
            EwsClient::new(
                "work",
                u,
                None,
                Credentials::Password {
                    user: "u".into(),
                    password: "p".into(),
                },
            )
            .is_err()
        });
        assert_eq!(made, Some(true));
    }
}
