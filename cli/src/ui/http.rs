//! The dashboard's HTTP server: plain HTTP on 127.0.0.1 (as Jupyter's), its files and `/api/*`.
//!
//! Every request passes, in order: `Host` must be `127.0.0.1:PORT` or `localhost:PORT` (421:
//! DNS rebinding sends the attacker's name); an `Origin`, when present, must be this server's
//! (403); then a session cookie (401), which only `GET /?token=LOGIN` hands out, once. API
//! calls from another site are refused by `Sec-Fetch-Site` as well (403), and changes need a
//! `POST` with a JSON body, this origin's `Origin` and the session's CSRF token in
//! `X-Rapport-CSRF` (403). No answer carries CORS headers, so other origins cannot read any.

use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use rapport_core::Engine;
use tokio::net::TcpListener;

use super::{api, files};
use crate::bridge::http::{accept_loop, host_of, json_body, same_secret, serve_requests};
use crate::context::Ctx;

/// Largest API request body: a list of addresses to put in a group is the largest there is.
const MAX_BODY: usize = 1024 * 1024;
const MAX_CONNECTIONS: usize = 64;
/// Most sessions kept (each a browser that used a login link); the oldest goes first.
const MAX_SESSIONS: usize = 16;
pub const CSRF_HEADER: &str = "x-rapport-csrf";

pub type Resp = Response<Full<Bytes>>;

struct Session {
    id: String,
    csrf: String,
}

/// What every request handler shares.
pub struct State {
    pub engine: Arc<Engine>,
    pub ctx: Ctx,
    pub port: u16,
    /// The one-time login token, `None` once spent.
    login: Mutex<Option<String>>,
    sessions: Mutex<Vec<Session>>,
    /// "Now" when pinned (`--now`), else the clock at each request.
    pub fixed_now: Option<i64>,
    /// Counts the dashboard's own writes, so `/api/changes` moves when it writes too.
    pub own_writes: std::sync::atomic::AtomicI64,
}

impl State {
    pub fn new(
        engine: Arc<Engine>,
        ctx: Ctx,
        port: u16,
        login: String,
        fixed_now: Option<i64>,
    ) -> State {
        State {
            engine,
            ctx,
            port,
            login: Mutex::new(Some(login)),
            sessions: Mutex::new(Vec::new()),
            fixed_now,
            own_writes: std::sync::atomic::AtomicI64::new(0),
        }
    }

    pub fn now(&self) -> i64 {
        self.fixed_now.unwrap_or_else(rapport_core::time::now)
    }

    fn cookie_name(&self) -> String {
        format!("rapport_ui_{}", self.port)
    }

    fn host_allowed(&self, host: &str) -> bool {
        host == format!("127.0.0.1:{}", self.port) || host == format!("localhost:{}", self.port)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        origin == format!("http://127.0.0.1:{}", self.port)
            || origin == format!("http://localhost:{}", self.port)
    }

    /// A state with a session already open (session id, CSRF token): for the fuzz target,
    /// which cannot learn a random session id from an earlier answer.
    pub fn with_session(self, id: &str, csrf: &str) -> State {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.push(Session {
                id: id.to_string(),
                csrf: csrf.to_string(),
            });
        }
        self
    }

    /// Spends the login token if `offered` is it: a new session (id, CSRF token).
    fn log_in(&self, offered: &str) -> anyhow::Result<Option<String>> {
        let mut login = self
            .login
            .lock()
            .map_err(|_| anyhow::anyhow!("login state poisoned"))?;
        let valid = login
            .as_deref()
            .is_some_and(|t| same_secret(t.as_bytes(), offered.as_bytes()));
        if !valid {
            return Ok(None);
        }
        *login = None;
        let session = Session {
            id: crate::bridge::files::new_token()?,
            csrf: crate::bridge::files::new_token()?,
        };
        let id = session.id.clone();
        let mut sessions = self
            .sessions
            .lock()
            .map_err(|_| anyhow::anyhow!("session state poisoned"))?;
        if sessions.len() >= MAX_SESSIONS {
            sessions.remove(0);
        }
        sessions.push(session);
        Ok(Some(id))
    }

    /// The CSRF token of the session whose cookie `headers` carry.
    fn session_csrf(&self, headers: &HeaderMap) -> Option<String> {
        let id = cookie(headers, &self.cookie_name())?;
        let sessions = self.sessions.lock().ok()?;
        sessions
            .iter()
            .find(|s| same_secret(s.id.as_bytes(), id.as_bytes()))
            .map(|s| s.csrf.clone())
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set(h: &mut HeaderMap, name: impl header::IntoHeaderName, value: &'static str) {
    h.insert(name, HeaderValue::from_static(value));
}

pub fn text(status: StatusCode, message: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *r.status_mut() = status;
    set(
        r.headers_mut(),
        header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    );
    r
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    set(h, header::CONTENT_TYPE, "application/json");
    set(h, header::CACHE_CONTROL, "no-store");
    r
}

pub fn json_error(status: StatusCode, code: &str, message: &str) -> Resp {
    json(
        status,
        &serde_json::json!({ "error": { "code": code, "message": message } }),
    )
}

/// The page shown to a browser without a session: how to get one.
fn login_page(status: StatusCode, why: &str) -> Resp {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rapport</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body><main><h1>Rapport dashboard</h1><p>{why}</p><p>Open the link that \
         <code>rapport ui</code> printed in your terminal. Each link works once, in one \
         browser; run <code>rapport ui</code> again for a new one.</p></main></body></html>"
    );
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    set(
        r.headers_mut(),
        header::CONTENT_TYPE,
        "text/html; charset=utf-8",
    );
    r
}

fn secure_headers(h: &mut HeaderMap) {
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, "Cross-Origin-Resource-Policy", "same-origin");
    set(h, "Cross-Origin-Opener-Policy", "same-origin");
    // uPlot sizes its canvas through element styles, hence 'unsafe-inline' for styles only.
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'",
    );
}

/// Serves until the listener fails.
pub async fn run(listener: TcpListener, state: Arc<State>) -> anyhow::Result<()> {
    accept_loop(listener, MAX_CONNECTIONS, move |stream, peer| {
        let state = state.clone();
        async move {
            // Defence in depth: the socket is bound to 127.0.0.1, so this never fires.
            if !peer.ip().is_loopback() {
                return;
            }
            serve_io(stream, state).await;
        }
    })
    .await
}

/// Answers the HTTP/1.1 requests of one connection (also what the fuzz target drives with
/// raw bytes).
pub async fn serve_io<S>(io: S, state: Arc<State>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    serve_requests(io, move |req| handle(req, state.clone())).await;
}

pub async fn handle(req: Request<Incoming>, state: Arc<State>) -> Resp {
    let mut resp = route(req, state).await;
    secure_headers(resp.headers_mut());
    resp
}

/// The query string's `token` value, if any.
fn login_token(req: &Request<Incoming>) -> Option<String> {
    req.uri()
        .query()?
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.to_string())
}

async fn route(req: Request<Incoming>, state: Arc<State>) -> Resp {
    if !host_of(&req).is_some_and(|h| state.host_allowed(&h)) {
        return text(
            StatusCode::MISDIRECTED_REQUEST,
            "this server answers only to 127.0.0.1 and localhost with its own port",
        );
    }
    let origin = match req.headers().get(header::ORIGIN) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(o) if state.origin_allowed(o) => Some(o.to_string()),
            _ => {
                return text(
                    StatusCode::FORBIDDEN,
                    "requests from other origins are refused",
                );
            }
        },
    };
    let path = req.uri().path().to_string();
    if path == "/"
        && req.method() == Method::GET
        && let Some(offered) = login_token(&req)
    {
        return log_in(&state, &offered, req.headers());
    }
    let Some(csrf) = state.session_csrf(req.headers()) else {
        return if path.starts_with("/api/") {
            json_error(
                StatusCode::UNAUTHORIZED,
                "NoSession",
                "not logged in: open the link `rapport ui` printed",
            )
        } else {
            login_page(StatusCode::UNAUTHORIZED, "You are not logged in.")
        };
    };
    if let Some(api_path) = path.strip_prefix("/api/") {
        let site = req
            .headers()
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok());
        if matches!(site, Some("cross-site" | "same-site")) {
            return json_error(
                StatusCode::FORBIDDEN,
                "CrossSite",
                "API calls from other sites are refused",
            );
        }
        return match *req.method() {
            Method::GET => {
                let query = req.uri().query().unwrap_or("").to_string();
                let api_path = api_path.to_string();
                blocking(state.clone(), move |s| {
                    api::get(s, &api_path, &query, &csrf)
                })
                .await
            }
            Method::POST => {
                let offered = req
                    .headers()
                    .get(CSRF_HEADER)
                    .map(|v| v.as_bytes().to_vec())
                    .unwrap_or_default();
                if origin.is_none() || !same_secret(&offered, csrf.as_bytes()) {
                    return json_error(
                        StatusCode::FORBIDDEN,
                        "Csrf",
                        "changes need this page's CSRF token and Origin",
                    );
                }
                let body = match json_body(req, MAX_BODY).await {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                let api_path = api_path.to_string();
                blocking(state.clone(), move |s| api::post(s, &api_path, &body)).await
            }
            _ => {
                let mut r = json_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Method",
                    "the API takes GET and POST",
                );
                set(r.headers_mut(), header::ALLOW, "GET, POST");
                r
            }
        };
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET here");
        set(r.headers_mut(), header::ALLOW, "GET, HEAD");
        return r;
    }
    let Some(file) = files::find(&path) else {
        return text(StatusCode::NOT_FOUND, "no such file");
    };
    let body = if req.method() == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from_static(file.body)
    };
    let mut r = Response::new(Full::new(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    set(h, header::CACHE_CONTROL, "no-cache");
    r
}

fn log_in(state: &State, offered: &str, headers: &HeaderMap) -> Resp {
    let redirect = |cookie: Option<String>| {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::SEE_OTHER;
        set(r.headers_mut(), header::LOCATION, "/");
        if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            r.headers_mut().insert(header::SET_COOKIE, c);
        }
        r
    };
    match state.log_in(offered) {
        Ok(Some(id)) => redirect(Some(format!(
            "{}={id}; HttpOnly; SameSite=Strict; Path=/",
            state.cookie_name()
        ))),
        // A browser that is already in (the link opened twice) goes on to the dashboard.
        Ok(None) if state.session_csrf(headers).is_some() => redirect(None),
        Ok(None) => login_page(
            StatusCode::UNAUTHORIZED,
            "This login link is wrong or has been used already.",
        ),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Runs a database call off the async threads.
async fn blocking(state: Arc<State>, f: impl FnOnce(&State) -> Resp + Send + 'static) -> Resp {
    match tokio::task::spawn_blocking(move || f(&state)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(error = %e, "API call failed");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal",
                "the API call failed",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; rapport_ui_7878=xyz; rapport_ui_78780=no"),
        );
        assert_eq!(cookie(&h, "rapport_ui_7878").as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "rapport_ui_787"), None);
    }
}
