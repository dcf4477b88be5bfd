//! Finding an account's server from its address alone, the way Thunderbird does but without
//! its central database: the provider's own autoconfig file, then guessing the usual names.
//!
//! Order: the built-in presets ([`crate::config::preset_for`], used by
//! [`crate::config::AccountSpec::build`] without any network) come first; then
//! `https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=…` and
//! `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=…`, then both over
//! plain http (a file fetched over http is trusted only for servers named `<domain>` or under
//! it: anyone on the path could have written it); then `imap.`/`mail.<domain>` on 993 (TLS) and
//! 143 (STARTTLS), and `pop.`/`mail.<domain>` on 995 and 110 (STLS). IMAP is preferred to POP3.
//! Nothing is asked of anyone but the address's own domain: Thunderbird's ISPDB
//! (autoconfig.thunderbird.net) is never queried.
//!
//! With a secret, each server that answers is logged in to with the login names the provider
//! gives, then the whole address, then the part before `@`; the first that works is the
//! account. Without one, the first server that answers is reported, its login name unverified.

pub mod autoconfig;
pub mod exchange;
pub mod http;
pub mod srv;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::join_all;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::{Account, AccountKind, AuthKind, FolderPolicy, Security};
use crate::error::{Error, Result};
use crate::sync::imap::ImapSession;
use crate::sync::pop3::Pop3Session;

/// Longest wait for one autoconfig file, or for one server to answer a probe.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(8);

/// What discovery starts from.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The address: its domain is where the settings are looked for.
    pub email: String,
    /// Only servers of this kind (`--pop3`); any, IMAP first, when absent.
    pub kind: Option<AccountKind>,
    /// Only this login name (`--user`); the usual forms when absent.
    pub user: Option<String>,
    /// How the secret logs in.
    pub auth: AuthKind,
    /// The password or token; without it servers are found but no login is tried.
    pub secret: Option<String>,
    /// Extra trusted CAs, for TLS to the servers and to the autoconfig host.
    pub ca_file: Option<PathBuf>,
    /// Per probe; [`PROBE_TIMEOUT`] when zero.
    pub timeout: Duration,
}

/// The settings found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub kind: AccountKind,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    /// Which form of login name it is: `given`, `autoconfig`, `address` or `local part`.
    pub user_form: String,
    pub auth: AuthKind,
    /// Where the settings came from: the autoconfig URL (without its query) or `guess`.
    pub source: String,
    /// Whether a login with them worked (false when no secret was given).
    pub verified: bool,
}

/// One thing tried, for `--json` and for the error when nothing worked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub what: String,
    pub outcome: String,
}

/// What discovery did and found.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    pub domain: String,
    pub found: Found,
    pub attempts: Vec<Attempt>,
}

/// A server to try and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    kind: AccountKind,
    host: String,
    port: u16,
    security: Security,
    /// The login name the autoconfig file gives.
    user: Option<String>,
    source: String,
}

impl Candidate {
    fn label(&self) -> String {
        format!(
            "{} {}:{} ({})",
            self.kind.as_str().to_ascii_uppercase(),
            self.host,
            self.port,
            self.security.as_str()
        )
    }
}

/// The address's domain in ASCII (IDNA), lower case.
pub fn domain_of(email: &str) -> Result<String> {
    let domain = email
        .rsplit_once('@')
        .map(|(_, d)| d.trim())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| Error::InvalidInput(format!("'{email}' is not an address (user@domain)")))?;
    idna::domain_to_ascii(domain)
        .map_err(|_| Error::InvalidInput(format!("'{domain}' is not a valid domain")))
}

/// The login names to try, best first, without repeats: the one given (only that), else the
/// autoconfig file's, the whole address, and the part before `@`.
pub fn user_forms(
    email: &str,
    autoconfig: Option<&str>,
    given: Option<&str>,
) -> Vec<(String, &'static str)> {
    if let Some(user) = given.filter(|u| !u.is_empty()) {
        return vec![(user.to_string(), "given")];
    }
    let local = email.rsplit_once('@').map_or(email, |(l, _)| l);
    let mut forms: Vec<(String, &'static str)> = Vec::new();
    for (user, form) in [
        (autoconfig.unwrap_or_default(), "autoconfig"),
        (email, "address"),
        (local, "local part"),
    ] {
        if !user.is_empty() && !forms.iter().any(|(u, _)| u == user) {
            let form = if user == email {
                "address"
            } else if user == local {
                "local part"
            } else {
                form
            };
            forms.push((user.to_string(), form));
        }
    }
    forms
}

/// The autoconfig URLs for `domain`, in the order they are trusted.
pub fn autoconfig_urls(domain: &str, email: &str) -> Vec<String> {
    let query = format!("emailaddress={}", percent_encode(email));
    let mut urls = Vec::new();
    for scheme in ["https", "http"] {
        urls.push(format!(
            "{scheme}://autoconfig.{domain}/mail/config-v1.1.xml?{query}"
        ));
        urls.push(format!(
            "{scheme}://{domain}/.well-known/autoconfig/mail/config-v1.1.xml?{query}"
        ));
    }
    urls
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whether `host` is `domain` or a name under it (what a file fetched over http may name).
pub fn within_domain(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// The usual names and ports, IMAP first.
fn guesses(domain: &str) -> Vec<Candidate> {
    let c = |kind, prefix: &str, port, security| Candidate {
        kind,
        host: format!("{prefix}.{domain}"),
        port,
        security,
        user: None,
        source: "guess".into(),
    };
    vec![
        c(AccountKind::Imap, "imap", 993, Security::Tls),
        c(AccountKind::Imap, "mail", 993, Security::Tls),
        c(AccountKind::Imap, "imap", 143, Security::Starttls),
        c(AccountKind::Imap, "mail", 143, Security::Starttls),
        c(AccountKind::Pop3, "pop", 995, Security::Tls),
        c(AccountKind::Pop3, "mail", 995, Security::Tls),
        c(AccountKind::Pop3, "pop", 110, Security::Starttls),
        c(AccountKind::Pop3, "mail", 110, Security::Starttls),
    ]
}

/// Finds the account's server (and, with a secret, its login name). `progress` gets one line
/// per step, for the user.
pub async fn discover(
    request: &Request,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Discovery> {
    let domain = domain_of(&request.email)?;
    let timeout = if request.timeout.is_zero() {
        PROBE_TIMEOUT
    } else {
        request.timeout
    };
    let mut attempts = Vec::new();
    let wanted = |k: AccountKind| request.kind.is_none_or(|w| w == k);

    // 1. The provider's autoconfig file.
    progress(&format!(
        "Looking for {domain}'s autoconfig file (autoconfig.{domain}, {domain}/.well-known)…"
    ));
    let urls = autoconfig_urls(&domain, &request.email);
    let fetched = join_all(urls.iter().map(|u| fetch_config(u, request, timeout))).await;
    let mut candidates = Vec::new();
    for (url, result) in urls.iter().zip(fetched) {
        let shown = http::Url::parse(url).map_or_else(|| url.clone(), |u| u.shown());
        match result {
            Err(why) => attempts.push(Attempt {
                what: format!("autoconfig {shown}"),
                outcome: why,
            }),
            Ok((servers, secure)) if candidates.is_empty() => {
                let mut kept = Vec::new();
                for s in servers {
                    if !wanted(s.kind) {
                        continue;
                    }
                    if !secure && !within_domain(&s.host, &domain) {
                        attempts.push(Attempt {
                            what: format!("autoconfig {shown}"),
                            outcome: format!(
                                "ignored {}: fetched over plain http, it may only name servers under {domain}",
                                s.host
                            ),
                        });
                        continue;
                    }
                    if s.security == Security::None && !crate::sync::net::is_localhost_name(&s.host)
                    {
                        attempts.push(Attempt {
                            what: format!("autoconfig {shown}"),
                            outcome: format!("ignored {}: it offers no encryption", s.host),
                        });
                        continue;
                    }
                    if request.auth == AuthKind::Xoauth2 && !s.auth.contains(&AuthKind::Xoauth2) {
                        continue;
                    }
                    kept.push(Candidate {
                        kind: s.kind,
                        host: s.host,
                        port: s.port,
                        security: s.security,
                        user: s.user,
                        source: shown.clone(),
                    });
                }
                attempts.push(Attempt {
                    what: format!("autoconfig {shown}"),
                    outcome: format!("{} usable server(s)", kept.len()),
                });
                if !kept.is_empty() {
                    progress(&format!(
                        "Found {shown}: {}",
                        kept.iter()
                            .map(Candidate::label)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                candidates = kept;
            }
            Ok(_) => attempts.push(Attempt {
                what: format!("autoconfig {shown}"),
                outcome: "found, not needed (an earlier one answered)".into(),
            }),
        }
    }
    // IMAP first, in the file's order otherwise.
    candidates.sort_by_key(|c| c.kind != AccountKind::Imap);

    if !candidates.is_empty()
        && let Some(found) =
            try_candidates(&candidates, request, timeout, &mut attempts, progress).await?
    {
        return Ok(Discovery {
            domain,
            found,
            attempts,
        });
    }

    // 2. Guessing the usual names.
    let guesses: Vec<Candidate> = guesses(&domain)
        .into_iter()
        .filter(|c| wanted(c.kind))
        .collect();
    progress(&format!(
        "Trying the usual names: {}…",
        guesses
            .iter()
            .map(Candidate::label)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(found) = try_candidates(&guesses, request, timeout, &mut attempts, progress).await?
    {
        return Ok(Discovery {
            domain,
            found,
            attempts,
        });
    }
    let last = attempts
        .last()
        .map(|a| format!(" (last: {}: {})", a.what, a.outcome))
        .unwrap_or_default();
    Err(Error::NoServerFound {
        detail: format!(
            "no autoconfig file, and no server answered at imap., mail. or pop.{domain} as it should{last}; pass --host (and --port, --security)"
        ),
        domain,
    })
}

/// Fetches one autoconfig URL, following up to three redirects: the servers it lists, and
/// whether every hop was https.
async fn fetch_config(
    url: &str,
    request: &Request,
    timeout: Duration,
) -> std::result::Result<(Vec<autoconfig::Server>, bool), String> {
    let mut url = http::Url::parse(url).ok_or("not a URL")?;
    let mut secure = url.https;
    for _ in 0..4 {
        let response = http::get(&url, request.ca_file.as_deref(), timeout).await?;
        match response.status {
            200 => {
                let text = String::from_utf8_lossy(&response.body);
                let servers = autoconfig::parse(&text, &request.email)
                    .map_err(|e| format!("not an autoconfig file: {e}"))?;
                return Ok((servers, secure));
            }
            301 | 302 | 303 | 307 | 308 => {
                let next = response.location.ok_or("a redirect without Location")?;
                url = if next.starts_with('/') {
                    http::Url { path: next, ..url }
                } else {
                    http::Url::parse(&next).ok_or_else(|| format!("a redirect to '{next}'"))?
                };
                secure &= url.https;
            }
            status => return Err(format!("HTTP {status}")),
        }
    }
    Err("too many redirects".into())
}

/// Probes every candidate at once, then, in order, logs in to those that answered (with a
/// secret) or takes the first that answered (without). `None` when none answered.
async fn try_candidates(
    candidates: &[Candidate],
    request: &Request,
    timeout: Duration,
    attempts: &mut Vec<Attempt>,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Option<Found>> {
    let probes = join_all(candidates.iter().map(|c| probe(c, request, timeout))).await;
    let mut answered = Vec::new();
    for (c, result) in candidates.iter().zip(probes) {
        let outcome = match &result {
            Ok(()) => "answered".to_string(),
            Err(why) => why.clone(),
        };
        attempts.push(Attempt {
            what: c.label(),
            outcome: outcome.clone(),
        });
        progress(&format!("  {}: {outcome}", c.label()));
        if result.is_ok() {
            answered.push(c);
        }
    }
    for c in answered {
        let forms = user_forms(&request.email, c.user.as_deref(), request.user.as_deref());
        let Some(secret) = &request.secret else {
            let (user, form) = forms.into_iter().next().unwrap_or_default();
            return Ok(Some(found(c, user, form, request.auth, false)));
        };
        let mut rejected = 0;
        for (user, form) in &forms {
            progress(&format!(
                "  logging in to {} with the {form} as the user name…",
                c.host
            ));
            match login(c, user, request, secret).await {
                Ok(()) => {
                    attempts.push(Attempt {
                        what: format!("log in to {} with the {form}", c.host),
                        outcome: "logged in".into(),
                    });
                    progress("  logged in.");
                    return Ok(Some(found(c, user.clone(), form, request.auth, true)));
                }
                Err(Error::Auth { .. }) => {
                    rejected += 1;
                    attempts.push(Attempt {
                        what: format!("log in to {} with the {form}", c.host),
                        outcome: "rejected".into(),
                    });
                    progress("  rejected.");
                }
                Err(e) => {
                    attempts.push(Attempt {
                        what: format!("log in to {} with the {form}", c.host),
                        outcome: e.to_string(),
                    });
                    progress(&format!("  {e}"));
                    break;
                }
            }
        }
        if rejected == forms.len() {
            // Every login name refused: the password is wrong, and further servers would only
            // count more failed logins against the account.
            let tried = forms.iter().map(|(_, f)| *f).collect::<Vec<_>>().join(", ");
            return Err(Error::Auth {
                account: c.label(),
                detail: format!(
                    "the server refused the password with every user name tried ({tried}); check the password, or pass --user"
                ),
            });
        }
    }
    Ok(None)
}

fn found(c: &Candidate, user: String, form: &str, auth: AuthKind, verified: bool) -> Found {
    Found {
        kind: c.kind,
        host: c.host.clone(),
        port: c.port,
        security: c.security,
        user,
        user_form: form.to_string(),
        auth,
        source: c.source.clone(),
        verified,
    }
}

/// An account with a candidate's settings, for the transports' `connect`.
fn probe_account(c: &Candidate, user: &str, request: &Request) -> Account {
    Account {
        name: "discovery".into(),
        kind: c.kind,
        email: request.email.clone(),
        host: c.host.clone(),
        port: Some(c.port),
        security: c.security,
        user: user.to_string(),
        auth: request.auth,
        // Never run: the secret is passed to `connect`; `validate` only wants a source named.
        password_command: Some(String::new()),
        password_env: None,
        oauth2_token_command: Some(String::new()),
        ca_file: request.ca_file.clone(),
        insecure: false,
        folders: FolderPolicy::default(),
        path: None,
        ews_url: None,
        client_id: None,
        authority: None,
        graph_url: None,
        token_file: None,
    }
}

async fn login(c: &Candidate, user: &str, request: &Request, secret: &str) -> Result<()> {
    let account = probe_account(c, user, request);
    match c.kind {
        AccountKind::Pop3 => Pop3Session::connect(&account, secret).await?.quit().await,
        _ => ImapSession::connect(&account, secret).await?.logout().await,
    }
    Ok(())
}

/// Whether the candidate answers as its kind of server, encrypted as it says.
async fn probe(
    c: &Candidate,
    request: &Request,
    timeout: Duration,
) -> std::result::Result<(), String> {
    bounded(timeout, probe_inner(c, request)).await
}

async fn bounded<F: Future<Output = std::result::Result<(), String>>>(
    timeout: Duration,
    f: F,
) -> std::result::Result<(), String> {
    tokio::time::timeout(timeout, f)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", timeout.as_secs())))
}

async fn probe_inner(c: &Candidate, request: &Request) -> std::result::Result<(), String> {
    let tcp = crate::sync::net::connect_tcp(&c.host, c.port)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let account = probe_account(c, "", request);
    let greeting_ok = |line: &str| match c.kind {
        AccountKind::Pop3 => line.starts_with("+OK"),
        _ => line.starts_with("* OK") || line.starts_with("* PREAUTH"),
    };
    match c.security {
        Security::Tls => {
            let mut tls = crate::sync::imap::tls_wrap(&account, tcp)
                .await
                .map_err(|e| e.to_string())?;
            let line = read_line(&mut tls).await?;
            if !greeting_ok(&line) {
                return Err(format!(
                    "no {} greeting",
                    c.kind.as_str().to_ascii_uppercase()
                ));
            }
        }
        Security::Starttls | Security::None => {
            let mut tcp = tcp;
            let line = read_line(&mut tcp).await?;
            if !greeting_ok(&line) {
                return Err(format!(
                    "no {} greeting",
                    c.kind.as_str().to_ascii_uppercase()
                ));
            }
            if c.security == Security::Starttls {
                let (command, ok) = match c.kind {
                    AccountKind::Pop3 => ("STLS\r\n", "+OK"),
                    _ => ("r1 STARTTLS\r\n", "r1 OK"),
                };
                tcp.write_all(command.as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
                loop {
                    let line = read_line(&mut tcp).await?;
                    if line.starts_with(ok) {
                        break;
                    }
                    if !line.starts_with('*') {
                        return Err("does not offer STARTTLS".into());
                    }
                }
                crate::sync::imap::tls_wrap(&account, tcp)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// One CRLF line, byte by byte (nothing read past it: STARTTLS follows), at most 4 KiB.
async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
) -> std::result::Result<String, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 4096 {
        match s.read(&mut byte).await {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(_) => {
                if byte[0] == b'\n' {
                    return Ok(String::from_utf8_lossy(&line).trim_end().to_string());
                }
                line.push(byte[0]);
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("a line longer than 4 KiB".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_forms_are_the_address_then_the_local_part() {
        let forms = |a, g| {
            user_forms("jane@example.org", a, g)
                .into_iter()
                .map(|(u, f)| format!("{u}={f}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            forms(None, None),
            ["jane@example.org=address", "jane=local part"]
        );
        assert_eq!(
            forms(Some("jane"), None),
            ["jane=local part", "jane@example.org=address"]
        );
        assert_eq!(
            forms(Some("JD1234"), None),
            [
                "JD1234=autoconfig",
                "jane@example.org=address",
                "jane=local part"
            ]
        );
        assert_eq!(
            forms(Some("jane@example.org"), Some("root")),
            ["root=given"]
        );
    }

    #[test]
    fn domains_urls_and_trust() {
        assert_eq!(domain_of("Jane@Example.ORG").unwrap(), "example.org");
        assert_eq!(
            domain_of("x@bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(domain_of("no-at-sign").is_err());
        let urls = autoconfig_urls("example.org", "a+b@example.org");
        assert_eq!(
            urls,
            [
                "https://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=a%2Bb%40example.org",
                "https://example.org/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%2Bb%40example.org",
                "http://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=a%2Bb%40example.org",
                "http://example.org/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%2Bb%40example.org",
            ]
        );
        assert!(urls.iter().all(|u| !u.contains("thunderbird.net")));
        assert!(within_domain("imap.example.org", "example.org"));
        assert!(within_domain("Example.org.", "example.org"));
        assert!(!within_domain("imap.example.org.evil.test", "example.org"));
        assert!(!within_domain("badexample.org", "example.org"));
    }

    #[test]
    fn guesses_prefer_imap_and_tls() {
        let g = guesses("d.example");
        let labels: Vec<String> = g.iter().map(Candidate::label).collect();
        assert_eq!(labels[0], "IMAP imap.d.example:993 (tls)");
        assert_eq!(labels[2], "IMAP imap.d.example:143 (starttls)");
        assert_eq!(labels[4], "POP3 pop.d.example:995 (tls)");
        assert_eq!(labels[7], "POP3 mail.d.example:110 (starttls)");
        assert!(g.iter().all(|c| c.security != Security::None));
    }

    /// A local server for one connection: it reads the request first (HTTP) or not (a mail
    /// server's greeting), then sends `answer`; returns its port.
    async fn serve_once(answer: &'static str) -> std::io::Result<u16> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                if answer.starts_with("HTTP") {
                    let mut buf = [0u8; 2048];
                    let _ = s.read(&mut buf).await;
                }
                let _ = s.write_all(answer.as_bytes()).await;
                if !answer.starts_with("HTTP") {
                    // A mail server waits for the client's command (HTTP closes at once).
                    let mut buf = [0u8; 64];
                    let _ = s.read(&mut buf).await;
                }
            }
        });
        Ok(port)
    }

    #[tokio::test]
    async fn an_autoconfig_file_is_fetched_over_http_from_a_localhost_name() -> std::io::Result<()>
    {
        let port = serve_once(
            "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<clientConfig><emailProvider id='x'>\
             <incomingServer type='imap'><hostname>imap.t.localhost</hostname><port>993</port>\
             <socketType>SSL</socketType><username>%EMAILLOCALPART%</username></incomingServer>\
             </emailProvider></clientConfig>",
        )
        .await?;
        let request = Request {
            email: "me@t.localhost".into(),
            ..Default::default()
        };
        let url = format!(
            "http://autoconfig.t.localhost:{port}/mail/config-v1.1.xml?emailaddress=me%40t.localhost"
        );
        let (servers, secure) = fetch_config(&url, &request, Duration::from_secs(5))
            .await
            .map_err(std::io::Error::other)?;
        assert!(!secure);
        assert_eq!(servers.len(), 1);
        assert_eq!(
            (servers[0].host.as_str(), servers[0].user.as_deref()),
            ("imap.t.localhost", Some("me"))
        );
        let port = serve_once("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").await?;
        let url = format!("http://127.0.0.1:{port}/x");
        let err = fetch_config(&url, &request, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err, "HTTP 404");
        Ok(())
    }

    #[tokio::test]
    async fn a_probe_tells_a_pop3_greeting_from_an_imap_one() -> std::io::Result<()> {
        let port = serve_once("+OK POP3 ready\r\n").await?;
        let c = |kind| Candidate {
            kind,
            host: "pop.t.localhost".into(),
            port,
            security: Security::None,
            user: None,
            source: "test".into(),
        };
        let request = Request::default();
        assert_eq!(
            probe(&c(AccountKind::Pop3), &request, Duration::from_secs(5)).await,
            Ok(())
        );
        let port2 = serve_once("+OK POP3 ready\r\n").await?;
        let imap = Candidate {
            port: port2,
            ..c(AccountKind::Imap)
        };
        assert_eq!(
            probe(&imap, &request, Duration::from_secs(5)).await,
            Err("no IMAP greeting".into())
        );
        Ok(())
    }
}
