//! The smallest HTTP/1.1 client autoconfig needs: `GET` over TCP or TLS (tokio-rustls), with
//! `Connection: close`, a size cap, chunked bodies, and redirects left to the caller.

use std::path::Path;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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

/// `GET url` within `timeout` (connect, TLS and reading all together). TLS trusts the public
/// roots and `ca_file`.
pub async fn get(url: &Url, ca_file: Option<&Path>, timeout: Duration) -> Result<Response, String> {
    match tokio::time::timeout(timeout, get_inner(url, ca_file)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

async fn get_inner(url: &Url, ca_file: Option<&Path>) -> Result<Response, String> {
    let tcp = crate::sync::net::connect_tcp(&url.host, url.port)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rapport\r\nAccept: application/xml, text/xml\r\nConnection: close\r\n\r\n",
        url.path, url.host
    );
    let raw = if url.https {
        let connector =
            crate::sync::imap::tls_connector_with(ca_file).map_err(|e| e.to_string())?;
        let name = ServerName::try_from(url.host.clone())
            .map_err(|_| format!("'{}' is not a valid host name", url.host))?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        exchange(tls, &request).await?
    } else {
        exchange(tcp, &request).await?
    };
    parse_response(&raw)
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &str,
) -> Result<Vec<u8>, String> {
    s.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(buf.get(..n).unwrap_or_default());
                if raw.len() > MAX_RESPONSE {
                    return Err(format!(
                        "the answer is larger than {} KiB",
                        MAX_RESPONSE / 1024
                    ));
                }
            }
            // A server closing TLS without close_notify after a complete answer is common.
            Err(e) if !raw.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(format!("reading the answer: {e}")),
        }
    }
    Ok(raw)
}

/// Status line, headers and body of a complete HTTP/1.x answer.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("not an HTTP answer (no end of headers)")?;
    let head = String::from_utf8_lossy(raw.get(..split).unwrap_or_default()).into_owned();
    let body = raw.get(split + 4..).unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err("not an HTTP answer".into());
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("an HTTP answer without a status")?;
    let mut location = None;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "location" => location = Some(value.to_string()),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "content-length" => length = value.parse::<usize>().ok(),
            _ => {}
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(n) = length {
        body.get(..n)
            .ok_or("the answer is shorter than its Content-Length")?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok(Response {
        status,
        location,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunked answer cut short")?;
        let size_text = String::from_utf8_lossy(data.get(..eol).unwrap_or_default()).into_owned();
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("a bad chunk size '{size_text}'"))?;
        data = data.get(eol + 2..).unwrap_or_default();
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("a chunked answer cut short")?);
        data = data.get(size + 2..).unwrap_or_default();
    }
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

    #[test]
    fn answers_plain_sized_and_chunked() {
        let r = parse_response(b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<a/>").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"<a/>"[..]));
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!(r.body, b"abc");
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n<cli\r\na;x=y\r\nentConfig>\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"<clientConfig>");
        let r = parse_response(b"HTTP/1.1 301 Moved\r\nLocation: https://x.example/c.xml\r\n\r\n")
            .unwrap();
        assert_eq!(
            (r.status, r.location.as_deref()),
            (301, Some("https://x.example/c.xml"))
        );
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }
}
