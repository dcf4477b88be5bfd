//! Microsoft Graph, the transport: sign-in for a desktop tool (the device-code flow, or the
//! authorization code with PKCE on a loopback redirect), refresh tokens kept in the keyring or
//! a file only the user can read (`token_store`), and GETs of Graph's delta pages over one kept-alive connection, with 429 and
//! 503 waited out (`Retry-After`, else a growing back-off). Facts: facts/exchange.md §6.
//!
//! One request is in flight per mailbox at a time: well under Graph's limit of four concurrent
//! requests per mailbox ("MailboxConcurrency"), which is what breaks imports that fan out.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::discover::http::Url;
use crate::error::{Error, Result};
use crate::sync::http1::{self, Connection, Response};
use crate::sync::token_store::TokenStore;

/// Where Microsoft's sign-in lives, and Graph itself.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com/common";
pub const DEFAULT_GRAPH: &str = "https://graph.microsoft.com/v1.0";
/// What Rapport asks to be allowed: read mail (headers), know who signed in, keep signed in.
pub const SCOPES: &str =
    "https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read offline_access";
/// Times a throttled request is retried.
const MAX_RETRIES: u32 = 8;
const MAX_WAIT: Duration = Duration::from_secs(120);

/// The tokens of one account, as kept on disk.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: String,
    /// Seconds since the epoch when the access token stops working.
    #[serde(default)]
    pub expires_at: i64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens(expires_at: {})", self.expires_at)
    }
}

impl Tokens {
    pub fn load(path: &Path) -> Result<Option<Tokens>> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::Config {
                    path: path.to_path_buf(),
                    detail: format!("not a token file: {e}"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Writes the file readable by the user alone (created so, never widened), atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let tmp = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let text = serde_json::to_string(self).map_err(|e| Error::Internal(e.to_string()))?;
        let mut file = options.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        file.write_all(text.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    fn from_answer(answer: &Value, previous_refresh: &str) -> Result<Tokens> {
        let access = answer["access_token"].as_str().unwrap_or("");
        if access.is_empty() {
            return Err(Error::Internal(
                "a token answer without access_token".into(),
            ));
        }
        Ok(Tokens {
            access_token: access.to_string(),
            refresh_token: answer["refresh_token"]
                .as_str()
                .unwrap_or(previous_refresh)
                .to_string(),
            expires_at: crate::time::now() + answer["expires_in"].as_i64().unwrap_or(3600),
        })
    }
}

/// Where an account signs in and reads mail.
#[derive(Debug, Clone)]
pub struct GraphEndpoints {
    /// `https://login.microsoftonline.com/<tenant>` or a test double's.
    pub authority: String,
    /// `https://graph.microsoft.com/v1.0` or a test double's.
    pub graph: String,
    pub client_id: String,
    pub ca_file: Option<PathBuf>,
}

fn parse_https(url: &str) -> Result<Url> {
    Url::parse(url)
        .filter(|u| u.https)
        .ok_or_else(|| Error::InvalidInput(format!("'{url}' is not an https URL")))
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::text::form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One request on a fresh connection (sign-in calls are few).
async fn one_shot(
    url: &Url,
    method: &str,
    body: &[u8],
    content_type: Option<&str>,
    ca_file: Option<&Path>,
) -> Result<Response> {
    let mut connection = Connection::open(url, ca_file).await?;
    connection
        .round_trip(&http1::request(
            method,
            url,
            &[("Accept", "application/json".into())],
            content_type,
            body,
        ))
        .await
}

fn json_of(response: &Response, host: &str) -> Result<Value> {
    serde_json::from_slice(&response.body).map_err(|e| Error::Server {
        host: host.to_string(),
        detail: format!(
            "HTTP {} with an answer that is not JSON: {e}",
            response.status
        ),
    })
}

/// What the user must do to finish a device-code sign-in.
#[derive(Debug, Clone, Serialize)]
pub struct DevicePrompt {
    pub verification_uri: String,
    pub user_code: String,
    pub expires_in: u64,
    /// Microsoft's own sentence, ready to show.
    pub message: String,
}

impl GraphEndpoints {
    /// Posts a form to the sign-in service's `endpoint` (`token`, `devicecode`); an OAuth error
    /// is returned as its `error` code and the first line of its description.
    async fn post_form(
        &self,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Result<std::result::Result<Value, (String, String)>> {
        let url = parse_https(&format!(
            "{}/oauth2/v2.0/{endpoint}",
            self.authority.trim_end_matches('/')
        ))?;
        let response = one_shot(
            &url,
            "POST",
            form_encode(form).as_bytes(),
            Some("application/x-www-form-urlencoded"),
            self.ca_file.as_deref(),
        )
        .await?;
        let answer = json_of(&response, &url.host)?;
        if response.status == 200 {
            return Ok(Ok(answer));
        }
        Ok(Err((
            answer["error"].as_str().unwrap_or("error").to_string(),
            answer["error_description"]
                .as_str()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
        )))
    }

    async fn token_request(
        &self,
        form: &[(&str, &str)],
    ) -> Result<std::result::Result<Value, (String, String)>> {
        self.post_form("token", form).await
    }

    /// The device-code flow: `prompt` is told what to show, then the token endpoint is polled
    /// until the user has signed in (or declined, or the code expired).
    pub async fn device_code_sign_in(
        &self,
        account: &str,
        prompt: &(dyn Fn(&DevicePrompt) + Send + Sync),
    ) -> Result<Tokens> {
        let answer = match self
            .post_form(
                "devicecode",
                &[("client_id", &self.client_id), ("scope", SCOPES)],
            )
            .await?
        {
            Ok(answer) => answer,
            Err((code, description)) => {
                return Err(Error::Auth {
                    account: account.to_string(),
                    detail: format!("the sign-in service refused to start: {code} {description}"),
                });
            }
        };
        let device_code = answer["device_code"].as_str().unwrap_or("").to_string();
        let shown = DevicePrompt {
            verification_uri: answer["verification_uri"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            user_code: answer["user_code"].as_str().unwrap_or("").to_string(),
            expires_in: answer["expires_in"].as_u64().unwrap_or(900),
            message: answer["message"].as_str().unwrap_or("").to_string(),
        };
        if device_code.is_empty() || shown.user_code.is_empty() {
            return Err(Error::Server {
                host: self.authority.clone(),
                detail: "a device-code answer without its codes".into(),
            });
        }
        prompt(&shown);
        let mut interval = answer["interval"].as_u64().unwrap_or(5).max(1);
        let deadline = std::time::Instant::now() + Duration::from_secs(shown.expires_in);
        loop {
            if std::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_secs(interval)).await;
            let polled = self
                .token_request(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("client_id", &self.client_id),
                    ("device_code", &device_code),
                ])
                .await?;
            match polled {
                Ok(answer) => return Tokens::from_answer(&answer, ""),
                Err((code, _)) if code == "authorization_pending" => {}
                Err((code, _)) if code == "slow_down" => interval += 5,
                Err((code, description)) => {
                    let why = match code.as_str() {
                        "authorization_declined" => "the sign-in was declined".to_string(),
                        "expired_token" => {
                            "the code expired before the sign-in finished: run the command again"
                                .to_string()
                        }
                        _ => format!("{code}: {description}"),
                    };
                    return Err(Error::Auth {
                        account: account.to_string(),
                        detail: why,
                    });
                }
            }
        }
        Err(Error::Auth {
            account: account.to_string(),
            detail: "the code expired before the sign-in finished: run the command again".into(),
        })
    }

    /// The authorization code flow with PKCE (S256) on a loopback redirect: `open(url)` is
    /// given the sign-in page to show in a browser; the code arrives at
    /// `http://localhost:<port>/`, which is the redirect URI to register.
    pub async fn browser_sign_in(
        &self,
        account: &str,
        open: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Tokens> {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use ring::rand::SecureRandom;
        let mut secret = [0u8; 32];
        let mut state = [0u8; 16];
        let rng = ring::rand::SystemRandom::new();
        rng.fill(&mut secret)
            .and_then(|_| rng.fill(&mut state))
            .map_err(|_| Error::Internal("no randomness for PKCE".into()))?;
        let verifier = URL_SAFE_NO_PAD.encode(secret);
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            verifier.as_bytes(),
        ));
        let state = URL_SAFE_NO_PAD.encode(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::Internal(format!("cannot listen on 127.0.0.1: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Internal(e.to_string()))?
            .port();
        let redirect = format!("http://localhost:{port}/");
        let url = format!(
            "{}/oauth2/v2.0/authorize?{}",
            self.authority.trim_end_matches('/'),
            form_encode(&[
                ("client_id", &self.client_id),
                ("response_type", "code"),
                ("redirect_uri", &redirect),
                ("scope", SCOPES),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("state", &state),
                ("prompt", "select_account"),
            ])
        );
        open(&url);
        let code = tokio::time::timeout(Duration::from_secs(600), wait_for_code(&listener, &state))
            .await
            .map_err(|_| Error::Auth {
                account: account.to_string(),
                detail: "no sign-in within 10 minutes".into(),
            })?
            .map_err(|detail| Error::Auth {
                account: account.to_string(),
                detail,
            })?;
        match self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("client_id", &self.client_id),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("code_verifier", &verifier),
                ("scope", SCOPES),
            ])
            .await?
        {
            Ok(answer) => Tokens::from_answer(&answer, ""),
            Err((code, description)) => Err(Error::Auth {
                account: account.to_string(),
                detail: format!("{code}: {description}"),
            }),
        }
    }

    /// A new access token from the refresh token.
    pub async fn refresh(&self, account: &str, tokens: &Tokens) -> Result<Tokens> {
        if tokens.refresh_token.is_empty() {
            return Err(Error::Auth {
                account: account.to_string(),
                detail: format!("signed out: run `rapport account login {account}`"),
            });
        }
        match self
            .token_request(&[
                ("grant_type", "refresh_token"),
                ("client_id", &self.client_id),
                ("refresh_token", &tokens.refresh_token),
                ("scope", SCOPES),
            ])
            .await?
        {
            Ok(answer) => Tokens::from_answer(&answer, &tokens.refresh_token),
            Err((code, description)) => Err(Error::Auth {
                account: account.to_string(),
                detail: format!(
                    "the sign-in expired or was revoked ({code}: {description}): run `rapport account login {account}`"
                ),
            }),
        }
    }
}

/// Reads requests on the loopback listener until one carries the code (and our state).
async fn wait_for_code(
    listener: &tokio::net::TcpListener,
    state: &str,
) -> std::result::Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let (mut socket, _) = listener
            .accept()
            .await
            .map_err(|e| format!("the sign-in redirect: {e}"))?;
        let mut buf = vec![0u8; 8192];
        let n = socket.read(&mut buf).await.unwrap_or(0);
        let head = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let param = |name: &str| {
            query.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == name).then(|| crate::text::form_decode(v))
            })
        };
        let (status, page, outcome) = match (param("code"), param("state"), param("error")) {
            (Some(code), Some(s), _) if s == state => (
                "200 OK",
                "Signed in. You can close this page and go back to Rapport.",
                Some(Ok(code)),
            ),
            (_, _, Some(error)) => (
                "200 OK",
                "The sign-in did not finish. Go back to Rapport for details.",
                Some(Err(format!(
                    "the sign-in failed: {error} {}",
                    param("error_description").unwrap_or_default()
                ))),
            ),
            _ => ("404 Not Found", "Not the sign-in redirect.", None),
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
        let _ = socket.write_all(answer.as_bytes()).await;
        if let Some(outcome) = outcome {
            return outcome;
        }
    }
}

/// A Graph client for one mailbox: one connection, a bearer token refreshed when it expires.
pub struct GraphClient {
    account: String,
    endpoints: GraphEndpoints,
    token_store: TokenStore,
    tokens: Tokens,
    connection: Option<Connection>,
}

/// A Graph answer that is not a success.
#[derive(Debug)]
pub enum GraphFailure {
    /// 410, or a delta error saying the state is gone: the folder must start over.
    Resync(String),
    Other(Error),
}

impl GraphClient {
    pub fn new(
        account: &str,
        endpoints: GraphEndpoints,
        token_file: PathBuf,
    ) -> Result<GraphClient> {
        let token_store = TokenStore::new(&token_file);
        let tokens = token_store.load()?.ok_or_else(|| Error::Auth {
            account: account.to_string(),
            detail: if token_store.keyring_reachable() {
                format!("not signed in: run `rapport account login {account}`")
            } else {
                format!(
                    "not signed in: run `rapport account login {account}` (if you signed in where \
                     a keyring answered, the tokens are in it, out of reach of this session)"
                )
            },
        })?;
        parse_https(&endpoints.graph)?;
        Ok(GraphClient {
            account: account.to_string(),
            endpoints,
            token_store,
            tokens,
            connection: None,
        })
    }

    pub fn graph_url(&self) -> &str {
        &self.endpoints.graph
    }

    async fn fresh_token(&mut self, force: bool) -> Result<()> {
        if force || self.tokens.expires_at <= crate::time::now() + 60 {
            self.tokens = self.endpoints.refresh(&self.account, &self.tokens).await?;
            self.token_store.save(&self.tokens)?;
            tracing::debug!(account = %self.account, "Graph access token refreshed");
        }
        Ok(())
    }

    /// GET `url` (absolute, under the Graph endpoint): the JSON answer. Waits out 429 and 503;
    /// refreshes the token once on 401.
    pub async fn get(
        &mut self,
        url: &str,
        prefer: Option<&str>,
    ) -> std::result::Result<Value, GraphFailure> {
        let parsed = parse_https(url).map_err(GraphFailure::Other)?;
        let graph = parse_https(&self.endpoints.graph).map_err(GraphFailure::Other)?;
        if parsed.host != graph.host || parsed.port != graph.port {
            return Err(GraphFailure::Other(Error::Server {
                host: graph.host,
                detail: format!("a link to another host ({}) was refused", parsed.host),
            }));
        }
        self.fresh_token(false).await.map_err(GraphFailure::Other)?;
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            let mut headers = vec![
                (
                    "Authorization",
                    format!("Bearer {}", self.tokens.access_token),
                ),
                ("Accept", "application/json".to_string()),
            ];
            if let Some(p) = prefer {
                headers.push(("Prefer", p.to_string()));
            }
            let request = http1::request("GET", &parsed, &headers, None, b"");
            let response = self
                .send(&parsed, &request)
                .await
                .map_err(GraphFailure::Other)?;
            match response.status {
                200 => return json_of(&response, &parsed.host).map_err(GraphFailure::Other),
                401 if !refreshed => {
                    refreshed = true;
                    self.fresh_token(true).await.map_err(GraphFailure::Other)?;
                    continue;
                }
                401 | 403 => {
                    return Err(GraphFailure::Other(Error::Auth {
                        account: self.account.clone(),
                        detail: format!(
                            "Graph refused the token (HTTP {}): {}",
                            response.status,
                            error_text(&response)
                        ),
                    }));
                }
                410 => return Err(GraphFailure::Resync(error_text(&response))),
                429 | 503 | 504 => {
                    attempt += 1;
                    if attempt > MAX_RETRIES {
                        return Err(GraphFailure::Other(Error::Network {
                            host: parsed.host.clone(),
                            detail: format!("still throttled after {MAX_RETRIES} waits"),
                        }));
                    }
                    let wait = crate::sync::ews::retry_after(&response)
                        .unwrap_or_else(|| Duration::from_millis(500 << attempt.min(7)))
                        .min(MAX_WAIT);
                    tracing::info!(
                        status = response.status,
                        wait_ms = wait.as_millis() as u64,
                        "Graph throttled: waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                status => {
                    let text = error_text(&response);
                    if text.contains("SyncStateNotFound") || text.contains("resyncRequired") {
                        return Err(GraphFailure::Resync(text));
                    }
                    return Err(GraphFailure::Other(Error::Server {
                        host: parsed.host.clone(),
                        detail: format!("HTTP {status}: {text}"),
                    }));
                }
            }
        }
    }

    async fn send(&mut self, url: &Url, request: &[u8]) -> Result<Response> {
        let reused = self.connection.is_some();
        if self.connection.is_none() {
            self.connection = Some(Connection::open(url, self.endpoints.ca_file.as_deref()).await?);
        }
        let Some(connection) = self.connection.as_mut() else {
            return Err(Error::Internal("no connection".into()));
        };
        let response = match connection.round_trip(request).await {
            Ok(r) => r,
            Err(Error::Network { .. }) if reused => {
                let mut fresh = Connection::open(url, self.endpoints.ca_file.as_deref()).await?;
                let r = fresh.round_trip(request).await?;
                self.connection = Some(fresh);
                r
            }
            Err(e) => return Err(e),
        };
        if response.close {
            self.connection = None;
        }
        Ok(response)
    }
}

/// Graph's error code and message, from its JSON error body.
fn error_text(response: &Response) -> String {
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(v) => format!(
            "{} {}",
            v["error"]["code"].as_str().unwrap_or(""),
            v["error"]["message"].as_str().unwrap_or("")
        )
        .trim()
        .to_string(),
        Err(_) => {
            String::from_utf8_lossy(response.body.get(..200).unwrap_or(&response.body)).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(
            form_encode(&[("scope", "a b/c"), ("x", "é")]),
            "scope=a%20b%2Fc&x=%C3%A9"
        );
    }

    #[test]
    fn token_files_are_private_and_round_trip() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Internal(e.to_string()))?;
        let path = dir.path().join("tokens/work.json");
        let tokens = Tokens {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: 5,
        };
        tokens.save(&path)?;
        let back = Tokens::load(&path)?.ok_or(Error::Internal("gone".into()))?;
        assert_eq!(
            (back.access_token, back.refresh_token),
            ("a".into(), "r".into())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            format!("{tokens:?}"),
            "Tokens(expires_at: 5)",
            "never the tokens"
        );
        Ok(())
    }
}
