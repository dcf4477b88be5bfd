//! What autoconfig and Autodiscover fetch: URLs, and a one-shot `GET` over http or https with
//! `Connection: close` and a size cap, through the one HTTP client (`sync::http1`); redirects
//! are left to the caller.

use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::sync::http1::{Connection, request};

/// Largest answer read (an autoconfig file is a few KiB).
const MAX_RESPONSE: usize = 256 * 1024;

/// A URL Rapport fetches: `http` or `https`, a host, an optional port, a path with its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// From the first `/`, query included.
    pub path: String,
}

impl Url {
    pub fn parse(s: &str) -> Option<Url> {
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else {
            (false, s.strip_prefix("http://")?)
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => {
                let (a, p) = rest.split_at(i);
                (
                    a,
                    if p.starts_with('?') {
                        format!("/{p}")
                    } else {
                        p.to_string()
                    },
                )
            }
            None => (rest, "/".to_string()),
        };
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let default = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']')?;
            match after.strip_prefix(':') {
                Some(p) => (h, p.parse().ok()?),
                None if after.is_empty() => (h, default),
                None => return None,
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().ok()?),
                None => (authority, default),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some(Url {
            https,
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }

    /// The URL without its query (what progress lines show: the query holds the address).
    pub fn shown(&self) -> String {
        let path = self.path.split('?').next().unwrap_or("/");
        let scheme = if self.https { "https" } else { "http" };
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            format!("{scheme}://{}{path}", self.host)
        } else {
            format!("{scheme}://{}:{}{path}", self.host, self.port)
        }
    }
}

/// An answer: the status, a redirect's target, and the body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// `GET url` within `timeout` (connect, TLS and reading all together), over http or https as
/// the URL says (discovery sends no secret). TLS trusts the public roots and `ca_file`.
pub async fn get(url: &Url, ca_file: Option<&Path>, timeout: Duration) -> Result<Response, String> {
    match tokio::time::timeout(timeout, get_inner(url, ca_file)).await {
        Ok(r) => r.map_err(|e| match e {
            Error::Network { detail, .. } => detail,
            Error::Tls { detail, .. } => format!("TLS: {detail}"),
            other => other.to_string(),
        }),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

async fn get_inner(url: &Url, ca_file: Option<&Path>) -> crate::error::Result<Response> {
    let mut connection = Connection::open_as_url_says(url, ca_file)
        .await?
        .with_max_response(MAX_RESPONSE);
    let headers = [
        ("Accept", "application/xml, text/xml".to_string()),
        ("Connection", "close".to_string()),
    ];
    let answer = connection
        .round_trip(&request("GET", url, &headers, None, b""))
        .await?;
    Ok(Response {
        status: answer.status,
        location: answer.header("location").map(str::to_string),
        body: answer.body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u =
            Url::parse("https://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=a%40b")
                .unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port),
            (true, "autoconfig.example.org", 443)
        );
        assert_eq!(u.path, "/mail/config-v1.1.xml?emailaddress=a%40b");
        assert_eq!(
            u.shown(),
            "https://autoconfig.example.org/mail/config-v1.1.xml"
        );
        let u = Url::parse("http://Example.org:8080").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.path.as_str()),
            (false, "example.org", 8080, "/")
        );
        assert!(Url::parse("ftp://x/").is_none());
        assert!(Url::parse("http://:80/").is_none());
    }

    /// Serves each canned answer once, on a loopback port; the URLs to ask.
    async fn serve(answers: Vec<&'static [u8]>) -> Vec<Url> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut urls = Vec::new();
        for answer in answers {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            urls.push(Url::parse(&format!("http://127.0.0.1:{port}/c.xml")).unwrap());
            tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = vec![0u8; 4096];
                let _ = socket.read(&mut request).await;
                let _ = socket.write_all(answer).await;
            });
        }
        urls
    }

    #[tokio::test]
    async fn answers_plain_sized_and_chunked() {
        let urls = serve(vec![
            b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<a/>",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<cli\r\na;x=y\r\nentConfig>\r\n0\r\n\r\n",
            b"HTTP/1.1 301 Moved\r\nLocation: https://x.example/c.xml\r\nContent-Length: 0\r\n\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ])
        .await;
        let wait = Duration::from_secs(5);
        let r = get(&urls[0], None, wait).await.unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"<a/>"[..]));
        assert_eq!(get(&urls[1], None, wait).await.unwrap().body, b"abc");
        assert_eq!(
            get(&urls[2], None, wait).await.unwrap().body,
            b"<clientConfig>"
        );
        let r = get(&urls[3], None, wait).await.unwrap();
        assert_eq!(
            (r.status, r.location.as_deref()),
            (301, Some("https://x.example/c.xml"))
        );
        assert!(get(&urls[4], None, wait).await.is_err());
        assert!(get(&urls[5], None, wait).await.is_err());
    }
}
