//! The HTTPS server: the add-in's files and `POST /api/rpc` on one origin, 127.0.0.1 only.
//!
//! Every request passes, in order: Host must be `localhost:PORT` or `127.0.0.1:PORT` (421
//! otherwise: DNS rebinding sends the attacker's name); an Origin header, when present, must be
//! this server's own origin (403); API calls need the per-install token (401) and a JSON body of
//! at most [`MAX_BODY`] bytes (413), read within [`BODY_DEADLINE`] (408). `POST /api/pair`
//! trades the one-time pairing code for the token (see [`super::files::Pairing`]); no page or
//! script carries a secret. CORS answers echo only the bridge's own origin, never `*`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rapport_core::Engine;
use rapport_core::rpc::{RpcContext, handle_bytes};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::assets::{self, ORIGIN_PLACEHOLDER, Template};
use super::files::{BridgeFiles, PAIRING_ATTEMPTS};

/// Largest API request body. A captured message is sent as its headers (the add-in drops bodies
/// of large messages), so this is generous.
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// How much of an oversized body is read and thrown away before answering 413, so the client
/// sees the answer instead of a connection reset.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send a request body: slow senders cannot hold connections.
pub const BODY_DEADLINE: Duration = Duration::from_secs(30);
/// Largest pairing request (`{"code": "ABCD-EFGH"}`).
const MAX_PAIR_BODY: usize = 1024;
/// Who may frame the pages: Outlook on the web and the Office hosts that show task panes.
const PAGE_FRAME_ANCESTORS: &str = "frame-ancestors 'self' https://outlook.office.com \
     https://outlook.office365.com https://outlook.live.com https://*.outlook.com \
     https://*.office.com https://*.office365.com https://*.officeapps.live.com";
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What every request handler shares.
pub struct State {
    pub engine: Arc<Engine>,
    /// The token and the pairing code are read from here on each use, so
    /// `rapport install outlook --new-token` or `--pair` take effect without a restart.
    pub files: BridgeFiles,
    /// Wrong pairing codes tried against the current code.
    pub pair_failures: std::sync::Mutex<(String, u32)>,
    pub port: u16,
    /// `https://localhost:PORT`, the origin the manifest names.
    pub origin: String,
    pub now: Option<i64>,
}

impl State {
    fn allowed_hosts(&self) -> [String; 2] {
        [
            format!("localhost:{}", self.port),
            format!("127.0.0.1:{}", self.port),
        ]
    }

    fn allowed_origins(&self) -> [String; 2] {
        [
            format!("https://localhost:{}", self.port),
            format!("https://127.0.0.1:{}", self.port),
        ]
    }
}

type Resp = Response<Full<Bytes>>;

fn text(status: StatusCode, message: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *r.status_mut() = status;
    set(
        r.headers_mut(),
        header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    );
    r
}

/// Sets a header to a fixed value.
fn set(h: &mut HeaderMap, name: impl header::IntoHeaderName, value: &'static str) {
    h.insert(name, HeaderValue::from_static(value));
}

fn secure_headers(h: &mut HeaderMap) {
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    // Other sites may not embed our scripts, styles or API answers. Pages (framed by Outlook)
    // and icons (shown by Outlook's own page) set their own policy in `route`.
    if !h.contains_key(CORP) {
        set(h, CORP, "same-origin");
    }
    // Nothing but a page may be framed, and pages only by Outlook (set in `route`).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(h, header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'");
    }
}

const CORP: &str = "Cross-Origin-Resource-Policy";

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let v = headers.get(header::AUTHORIZATION)?.as_bytes();
    let rest = v.strip_prefix(b"Bearer ")?;
    Some(rest.trim_ascii())
}

/// The request's Host (HTTP/1.1 `Host`, or the authority of an absolute URI).
pub(crate) fn host_of(req: &Request<Incoming>) -> Option<String> {
    if let Some(a) = req.uri().authority() {
        return Some(a.as_str().to_ascii_lowercase());
    }
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
}

/// Serves until the process ends.
pub async fn run(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<State>,
) -> anyhow::Result<()> {
    accept_loop(listener, MAX_CONNECTIONS, move |stream, peer| {
        serve_connection(stream, peer, acceptor.clone(), state.clone())
    })
    .await
}

/// The runtime the local servers run on: two workers (the machine may have no more).
pub(crate) fn local_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Listens on 127.0.0.1:`port` (never 0.0.0.0 or ::; 0 picks a free port): the listener and
/// its port. `in_use` says what to do when the port is taken.
pub(crate) async fn bind_loopback(port: u16, in_use: &str) -> anyhow::Result<(TcpListener, u16)> {
    let addr = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!("127.0.0.1:{port} is in use ({in_use})")
        } else {
            anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}")
        }
    })?;
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .context("cannot read the listening port")?;
    Ok((listener, port))
}

/// Accepts connections until the listener fails, at most `limit` open at once, each served by
/// its own task (the local servers' shared loop: the bridge and the dashboard).
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    limit: usize,
    serve: F,
) -> anyhow::Result<()>
where
    F: Fn(tokio::net::TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limit));
    loop {
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .context("connection limiter closed")?;
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let served = serve(stream, peer);
        tokio::spawn(async move {
            let _permit = permit;
            served.await;
        });
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    state: Arc<State>,
) {
    // Defence in depth: the socket is bound to 127.0.0.1, so this never fires.
    if !peer.ip().is_loopback() {
        return;
    }
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            return;
        }
    };
    serve_http(tls, state).await;
}

/// Answers the HTTP/1.1 requests of one decrypted connection (also what the bridge's fuzz
/// target drives with raw bytes).
pub async fn serve_http<S>(io: S, state: Arc<State>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    serve_requests(io, move |req| {
        let state = state.clone();
        async move { handle(req, &state).await }
    })
    .await;
}

/// Answers the HTTP/1.1 requests of one connection with `handle`, with the local servers'
/// limits: 15 s to send the headers, 64 KiB of buffered request.
pub(crate) async fn serve_requests<S, H, Fut>(io: S, handle: H)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Resp> + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let answer = handle(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(15))
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Routes one request after the Host and Origin checks.
pub async fn handle(req: Request<Incoming>, state: &State) -> Resp {
    let mut resp = route(req, state).await;
    secure_headers(resp.headers_mut());
    resp
}

async fn route(req: Request<Incoming>, state: &State) -> Resp {
    let host_ok = host_of(&req).is_some_and(|h| state.allowed_hosts().contains(&h));
    if !host_ok {
        return text(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers only to localhost and 127.0.0.1 with its own port",
        );
    }
    let origin = match req.headers().get(header::ORIGIN) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(o) if state.allowed_origins().iter().any(|a| a == o) => Some(o.to_string()),
            _ => {
                return text(
                    StatusCode::FORBIDDEN,
                    "requests from other origins are refused",
                );
            }
        },
    };
    let path = req.uri().path().to_string();
    if path == "/api/rpc" || path == "/api/pair" {
        return api(req, state, origin).await;
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET here");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if path == "/.well-known/microsoft-officeaddins-allowed.json" {
        // Classic Outlook on Windows lets the event-handler script (on this origin) make CORS
        // requests only to URLs this file, on the add-in's origin, allows.
        let allowed: Vec<String> = state
            .allowed_origins()
            .iter()
            .map(|o| format!("{o}/commands.js"))
            .collect();
        let body = serde_json::json!({ "allowed": allowed }).to_string();
        let mut r = Response::new(Full::new(Bytes::from(body)));
        set(r.headers_mut(), header::CONTENT_TYPE, "application/json");
        return r;
    }
    let Some(asset) = assets::find(&path) else {
        return text(StatusCode::NOT_FOUND, "no such file");
    };
    let body: Bytes = match asset.template {
        Template::None => Bytes::from_static(asset.body),
        Template::Origin | Template::Page => Bytes::from(
            String::from_utf8_lossy(asset.body).replace(ORIGIN_PLACEHOLDER, &state.origin),
        ),
    };
    let mut r = Response::new(Full::new(if req.method() == Method::HEAD {
        Bytes::new()
    } else {
        body
    }));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if asset.template == Template::Page {
        set(h, header::CACHE_CONTROL, "no-store");
        let policy = format!(
            "default-src 'self'; script-src 'self' https://appsforoffice.microsoft.com; \
             connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             frame-src https://appsforoffice.microsoft.com; object-src 'none'; base-uri 'none'; \
             form-action 'none'; {PAGE_FRAME_ANCESTORS}"
        );
        if let Ok(v) = HeaderValue::from_str(&policy) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    } else {
        set(h, header::CACHE_CONTROL, "no-cache");
    }
    if asset.content_type.starts_with("image/") {
        set(h, CORP, "cross-origin");
    }
    r
}

fn cors(r: &mut Resp, origin: &Option<String>) {
    if let Some(o) = origin
        && let Ok(v) = HeaderValue::from_str(o)
    {
        r.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
}

async fn api(req: Request<Incoming>, state: &State, origin: Option<String>) -> Resp {
    if req.method() == Method::OPTIONS {
        // A preflight: only from our own origin (checked above), only for POST.
        let mut r = text(StatusCode::NO_CONTENT, "");
        *r.body_mut() = Full::new(Bytes::new());
        if origin.is_some() {
            let h = r.headers_mut();
            set(h, header::ACCESS_CONTROL_ALLOW_METHODS, "POST");
            set(
                h,
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type",
            );
            set(h, header::ACCESS_CONTROL_MAX_AGE, "600");
            if req
                .headers()
                .contains_key("Access-Control-Request-Private-Network")
            {
                set(h, "Access-Control-Allow-Private-Network", "true");
            }
        }
        cors(&mut r, &origin);
        return r;
    }
    let mut r = if req.uri().path() == "/api/pair" {
        pair_call(req, state).await
    } else {
        api_call(req, state).await
    };
    cors(&mut r, &origin);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn api_call(req: Request<Incoming>, state: &State) -> Resp {
    if req.method() != Method::POST {
        return post_only("POST a JSON request here");
    }
    let token = state.files.read_token().ok();
    let authorised = bearer(req.headers())
        .zip(token.as_deref())
        .is_some_and(|(t, token)| same_secret(t, token.as_bytes()));
    if !authorised {
        let mut r = text(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token (pair the task pane with the code `rapport serve` shows)",
        );
        set(
            r.headers_mut(),
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"rapport\"",
        );
        drain(req.into_body()).await;
        return r;
    }
    let body = match json_body(req, MAX_BODY).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let engine = state.engine.clone();
    let ctx = RpcContext {
        client: rapport_core::SourceKind::Outlook,
        now: state.now,
    };
    let reply = tokio::task::spawn_blocking(move || handle_bytes(&engine, &body, &ctx)).await;
    match reply {
        Ok(bytes) => {
            let mut r = Response::new(Full::new(Bytes::from(bytes)));
            set(r.headers_mut(), header::CONTENT_TYPE, "application/json");
            r
        }
        Err(e) => {
            tracing::debug!(error = %e, "rpc task failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request failed inside Rapport",
            )
        }
    }
}

fn is_json(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// 405 for an API path asked with another method than POST (or OPTIONS, answered before).
fn post_only(message: &str) -> Resp {
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, message);
    set(r.headers_mut(), header::ALLOW, "POST, OPTIONS");
    r
}

/// The body of a JSON API request of at most `limit` bytes, or the answer refusing it: 415
/// without `Content-Type: application/json`, 413 when it is (or says it is) larger, 408 when
/// it comes too slowly.
pub(crate) async fn json_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, Resp> {
    if !is_json(&req) {
        drain(req.into_body()).await;
        return Err(text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send Content-Type: application/json",
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        drain(req.into_body()).await;
        return Err(too_large());
    }
    read_limited(req.into_body(), limit).await
}

/// A JSON error answer of the pairing endpoint: `{"error": {"code", "message"}}`.
fn pair_error(status: StatusCode, code: &str, message: &str) -> Resp {
    let body = serde_json::json!({ "error": { "code": code, "message": message } }).to_string();
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    set(r.headers_mut(), header::CONTENT_TYPE, "application/json");
    r
}

/// `POST /api/pair {"code": "ABCD-EFGH"}` → `{"token": "..."}`: the one-time pairing code (only
/// the bridge's owner can see it) for the API token. A code works once, for ten minutes, and
/// stops working after [`PAIRING_ATTEMPTS`] wrong tries.
async fn pair_call(req: Request<Incoming>, state: &State) -> Resp {
    if req.method() != Method::POST {
        return post_only("POST a pairing code here");
    }
    let body = match json_body(req, MAX_PAIR_BODY).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let typed = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned));
    let Some(typed) = typed else {
        return pair_error(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "send {\"code\": \"ABCD-EFGH\"}",
        );
    };
    let no_code = "no pairing code is waiting: run `rapport install outlook --pair` (or restart \
                   `rapport serve`) and type the code it shows";
    let Some(pairing) = state.files.read_pairing() else {
        return pair_error(StatusCode::GONE, "NoCode", no_code);
    };
    let now = rapport_core::time::now();
    if now >= pairing.expires {
        state.files.remove_pairing();
        return pair_error(StatusCode::GONE, "NoCode", no_code);
    }
    if pairing.accepts(&typed, now) {
        state.files.remove_pairing();
        return match state.files.read_token() {
            Ok(token) => {
                tracing::info!("an add-in paired with the bridge");
                let body = serde_json::json!({ "token": token }).to_string();
                let mut r = Response::new(Full::new(Bytes::from(body)));
                set(r.headers_mut(), header::CONTENT_TYPE, "application/json");
                r
            }
            Err(e) => pair_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal",
                &format!("{e:#}"),
            ),
        };
    }
    let tries = match state.pair_failures.lock() {
        Ok(mut failures) => {
            if failures.0 != pairing.code {
                *failures = (pairing.code.clone(), 0);
            }
            failures.1 += 1;
            failures.1
        }
        Err(_) => PAIRING_ATTEMPTS,
    };
    if tries >= PAIRING_ATTEMPTS {
        state.files.remove_pairing();
        return pair_error(
            StatusCode::UNAUTHORIZED,
            "WrongCode",
            "wrong code, too many times: that code no longer works; run `rapport install outlook \
             --pair` for a new one",
        );
    }
    pair_error(
        StatusCode::UNAUTHORIZED,
        "WrongCode",
        "wrong pairing code: type the code `rapport serve` (or `rapport install outlook --pair`) shows",
    )
}

fn too_large() -> Resp {
    let mut r = text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("request bodies are limited to {MAX_BODY} bytes"),
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Reads a body of at most `limit` bytes within [`BODY_DEADLINE`]. A longer one is drained
/// (see [`drain`]) and answered 413; one too slow is answered 408.
pub(crate) async fn read_limited(mut body: Incoming, limit: usize) -> Result<Bytes, Resp> {
    let deadline = tokio::time::Instant::now() + BODY_DEADLINE;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                let mut r = text(
                    StatusCode::REQUEST_TIMEOUT,
                    "the request body came too slowly",
                );
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return Err(r);
            }
            Ok(None) => return Ok(Bytes::from(buf)),
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, "reading a request body failed");
                return Err(text(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                ));
            }
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if buf.len() + data.len() > limit {
                        drain(body).await;
                        return Err(too_large());
                    }
                    buf.extend_from_slice(data);
                }
            }
        }
    }
}

/// Reads and discards up to [`DRAIN_LIMIT`] bytes of a body we refuse, so that the client,
/// still sending, gets our answer rather than a reset connection.
pub(crate) async fn drain(mut body: Incoming) {
    let mut seen = 0usize;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen < DRAIN_LIMIT {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len();
                }
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert!(bearer(&h).is_none());
        set(&mut h, header::AUTHORIZATION, "Bearer  xyz ");
        assert_eq!(bearer(&h), Some(&b"xyz"[..]));
        set(&mut h, header::AUTHORIZATION, "Basic xyz");
        assert!(bearer(&h).is_none());
    }
}
