//! Exchange Autodiscover (POX), the way Microsoft documents it for clients outside a domain
//! (facts/exchange.md §3): POST the address to `https://<domain>/autodiscover/autodiscover.xml`,
//! then to `https://autodiscover.<domain>/…`; then an unauthenticated GET of
//! `http://autodiscover.<domain>/autodiscover/autodiscover.xml` whose redirect names the https
//! URL to POST to; then the DNS SRV record `_autodiscover._tcp.<domain>`. An answer may send
//! the client on to another address (`RedirectAddr`, followed at most [`MAX_REDIRECTS`]
//! times). A server found through the plain-HTTP redirect or SRV outside the address's domain
//! is used only when the caller confirms it. Credentials go only over https.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::http::Url;
use crate::error::{Error, Result};
use crate::sync::ews::{Credentials, EwsClient};
use crate::xml::{self, escape};

/// `RedirectAddr` hops followed before giving up (a loop).
pub const MAX_REDIRECTS: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(15);

/// What Autodiscover found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeDiscovery {
    pub ews_url: String,
    /// `domain`, `autodiscover`, `http-redirect` or `srv`.
    pub route: String,
    /// The Autodiscover URL that answered.
    pub answered_by: String,
    /// The addresses `RedirectAddr` led through.
    pub redirects: Vec<String>,
    /// What the server advises for logging in (`Ntlm`, `basic`…), if it says.
    pub auth_package: Option<String>,
}

/// What one POX answer says.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Settings {
        ews_url: String,
        auth_package: Option<String>,
    },
    RedirectAddr(String),
    RedirectUrl(String),
}

fn request_body(email: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>{}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>"#,
        escape(email)
    )
}

/// Reads a POX answer: the EWS URL of the first EXCH/EXPR/WEB protocol, or where to go next.
fn read_answer(body: &str) -> std::result::Result<Answer, String> {
    let doc = xml::parse(body)?;
    if doc.name != "Autodiscover" {
        return Err(format!("the answer is <{}>, not <Autodiscover>", doc.name));
    }
    let response = doc
        .child("Response")
        .ok_or("an answer without <Response>")?;
    if let Some(error) = response.child("Error") {
        return Err(format!(
            "Autodiscover error {}: {}",
            error.child_text("ErrorCode").unwrap_or("?"),
            error.child_text("Message").unwrap_or("")
        ));
    }
    let account = response
        .child("Account")
        .ok_or("an answer without <Account>")?;
    match account.child_text("Action") {
        Some("redirectAddr") => {
            return account
                .child_text("RedirectAddr")
                .filter(|a| a.contains('@'))
                .map(|a| Answer::RedirectAddr(a.to_string()))
                .ok_or_else(|| "redirectAddr without an address".into());
        }
        Some("redirectUrl") => {
            return account
                .child_text("RedirectUrl")
                .map(|u| Answer::RedirectUrl(u.to_string()))
                .ok_or_else(|| "redirectUrl without a URL".into());
        }
        _ => {}
    }
    for kind in ["EXCH", "EXPR", "WEB"] {
        let protocol = account
            .children_named("Protocol")
            .find(|p| p.child_text("Type") == Some(kind));
        if let Some(url) = protocol
            .and_then(|p| p.child_text("EwsUrl"))
            .filter(|u| !u.is_empty())
        {
            return Ok(Answer::Settings {
                ews_url: url.to_string(),
                auth_package: protocol
                    .and_then(|p| p.child_text("AuthPackage"))
                    .map(str::to_string),
            });
        }
    }
    Err("the answer names no EWS URL".into())
}

/// Finds the EWS endpoint of `email`. `confirm(host)` is asked before trusting a server the
/// plain-HTTP redirect or SRV names outside the domain; `progress` hears each attempt.
pub async fn autodiscover(
    account: &str,
    email: &str,
    login: &str,
    password: &str,
    ca_file: Option<PathBuf>,
    confirm: &(dyn Fn(&str) -> bool + Send + Sync),
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<ExchangeDiscovery> {
    let mut address = email.to_string();
    let mut redirects = Vec::new();
    let mut tried = Vec::new();
    for _ in 0..=MAX_REDIRECTS {
        let domain = address
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| Error::InvalidInput(format!("'{address}' is not an email address")))?;
        let mut candidates: Vec<(String, String)> = vec![
            (
                format!("https://{domain}/autodiscover/autodiscover.xml"),
                "domain".into(),
            ),
            (
                format!("https://autodiscover.{domain}/autodiscover/autodiscover.xml"),
                "autodiscover".into(),
            ),
        ];
        let mut answer = None;
        let mut index = 0;
        while index < candidates.len() + 2 && answer.is_none() {
            let (url, route) = match candidates.get(index) {
                Some(c) => c.clone(),
                None if index == candidates.len() => {
                    // The unauthenticated HTTP redirect.
                    index += 1;
                    let probe =
                        format!("http://autodiscover.{domain}/autodiscover/autodiscover.xml");
                    progress(&format!("asking {probe} for a redirect"));
                    match http_redirect(&probe, ca_file.as_deref()).await {
                        Some(target) => {
                            if !trusted(&target, &domain, confirm) {
                                tried.push(format!("{probe}: redirect to {target} not confirmed"));
                                continue;
                            }
                            candidates.push((target, "http-redirect".into()));
                            index = candidates.len() - 1;
                            continue;
                        }
                        None => {
                            tried.push(format!("{probe}: no https redirect"));
                            continue;
                        }
                    }
                }
                None => {
                    index += 1;
                    progress(&format!("looking up _autodiscover._tcp.{domain} (SRV)"));
                    match super::srv::lookup(&format!("_autodiscover._tcp.{domain}")).await {
                        Ok(Some((target, port))) => {
                            let url = if port == 443 {
                                format!("https://{target}/autodiscover/autodiscover.xml")
                            } else {
                                format!("https://{target}:{port}/autodiscover/autodiscover.xml")
                            };
                            if !trusted(&url, &domain, confirm) {
                                tried.push(format!("SRV: {target} not confirmed"));
                                continue;
                            }
                            candidates.push((url, "srv".into()));
                            index = candidates.len() - 1;
                            continue;
                        }
                        Ok(None) => {
                            tried.push(format!("SRV _autodiscover._tcp.{domain}: no record"));
                            continue;
                        }
                        Err(e) => {
                            tried.push(format!("SRV _autodiscover._tcp.{domain}: {e}"));
                            continue;
                        }
                    }
                }
            };
            index += 1;
            let Some(parsed) = Url::parse(&url).filter(|u| u.https) else {
                tried.push(format!("{url}: not an https URL"));
                continue;
            };
            progress(&format!("asking {}", parsed.shown()));
            match post_pox(account, parsed, &address, login, password, ca_file.clone()).await {
                Ok(a) => answer = Some((a, url, route)),
                Err(e @ Error::Auth { .. }) => return Err(e),
                Err(e) => tried.push(format!("{url}: {e}")),
            }
        }
        match answer {
            Some((
                Answer::Settings {
                    ews_url,
                    auth_package,
                },
                url,
                route,
            )) => {
                return Ok(ExchangeDiscovery {
                    ews_url,
                    route,
                    answered_by: url,
                    redirects,
                    auth_package,
                });
            }
            Some((Answer::RedirectAddr(next), _, _)) => {
                progress(&format!("redirected to the address {next}"));
                if redirects.contains(&next) || next == email {
                    return Err(Error::NoServerFound {
                        domain,
                        detail: format!(
                            "Autodiscover redirects in a loop ({})",
                            redirects.join(" → ")
                        ),
                    });
                }
                redirects.push(next.clone());
                address = next;
            }
            Some((Answer::RedirectUrl(url), _, _)) => {
                return Err(Error::NoServerFound {
                    domain,
                    detail: format!(
                        "Autodiscover answered with a redirect URL ({url}); give it as --ews-url if it is the EWS endpoint"
                    ),
                });
            }
            None => {
                return Err(Error::NoServerFound {
                    domain,
                    detail: format!(
                        "Autodiscover found nothing ({}); give --server or --ews-url",
                        tried.join("; ")
                    ),
                });
            }
        }
    }
    Err(Error::NoServerFound {
        domain: email.rsplit('@').next().unwrap_or(email).to_string(),
        detail: format!("more than {MAX_REDIRECTS} Autodiscover redirects"),
    })
}

/// A server under the address's own domain is trusted; any other needs the user's word.
fn trusted(url: &str, domain: &str, confirm: &(dyn Fn(&str) -> bool + Send + Sync)) -> bool {
    let Some(parsed) = Url::parse(url).filter(|u| u.https) else {
        return false;
    };
    parsed.host == domain || parsed.host.ends_with(&format!(".{domain}")) || confirm(&parsed.host)
}

async fn http_redirect(probe: &str, ca_file: Option<&std::path::Path>) -> Option<String> {
    let url = Url::parse(probe)?;
    let response = super::http::get(&url, ca_file, TIMEOUT).await.ok()?;
    if !matches!(response.status, 301 | 302 | 307 | 308) {
        return None;
    }
    response.location.filter(|l| l.starts_with("https://"))
}

async fn post_pox(
    account: &str,
    url: Url,
    address: &str,
    login: &str,
    password: &str,
    ca_file: Option<PathBuf>,
) -> Result<Answer> {
    let host = url.host.clone();
    let mut client = EwsClient::new(
        account,
        url,
        ca_file,
        Credentials::Password {
            user: login.to_string(),
            password: password.to_string(),
        },
    )?;
    let response = tokio::time::timeout(TIMEOUT, client.post(request_body(address).as_bytes()))
        .await
        .map_err(|_| Error::Network {
            host: host.clone(),
            detail: format!("no answer within {} s", TIMEOUT.as_secs()),
        })??;
    if response.status != 200 {
        return Err(Error::Server {
            host,
            detail: format!("HTTP {}", response.status),
        });
    }
    read_answer(&String::from_utf8_lossy(&response.body))
        .map_err(|detail| Error::Server { host, detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_settings_redirects_and_errors() {
        let settings = r#"<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account><AccountType>email</AccountType><Action>settings</Action><Protocol><Type>EXCH</Type><AuthPackage>Ntlm</AuthPackage><EwsUrl>https://mail.corp.example/EWS/Exchange.asmx</EwsUrl></Protocol></Account></Response></Autodiscover>"#;
        assert_eq!(
            read_answer(settings),
            Ok(Answer::Settings {
                ews_url: "https://mail.corp.example/EWS/Exchange.asmx".into(),
                auth_package: Some("Ntlm".into())
            })
        );
        let redirect = r#"<Autodiscover><Response><Account><Action>redirectAddr</Action><RedirectAddr>dana@new.example</RedirectAddr></Account></Response></Autodiscover>"#;
        assert_eq!(
            read_answer(redirect),
            Ok(Answer::RedirectAddr("dana@new.example".into()))
        );
        let error = r#"<Autodiscover><Response><Error><ErrorCode>500</ErrorCode><Message>The email address can't be found.</Message></Error></Response></Autodiscover>"#;
        assert!(
            read_answer(error)
                .err()
                .unwrap_or_default()
                .contains("can't be found")
        );
        assert!(read_answer("<html/>").is_err());
    }

    #[test]
    fn only_the_domain_is_trusted_without_asking() {
        let no = |_: &str| false;
        assert!(trusted(
            "https://autodiscover.corp.example/a",
            "corp.example",
            &no
        ));
        assert!(!trusted("https://evil.example/a", "corp.example", &no));
        assert!(!trusted(
            "http://autodiscover.corp.example/a",
            "corp.example",
            &no
        ));
        let yes = |_: &str| true;
        assert!(trusted(
            "https://mail.hoster.example/a",
            "corp.example",
            &yes
        ));
    }
}
