//! Rapport's one HTTP/1.1 client: a kept-alive connection, for protocols whose authentication
//! belongs to the connection (NTLM: the handshake and the requests it authorises must share one
//! socket), keeping the server's certificate for channel binding; also the one-shot GETs of
//! discovery (autoconfig, the Autodiscover redirect), which may be plain http. Bodies by
//! Content-Length or chunked; an answer with neither is read to the end and the connection is
//! not reused.

use std::path::Path;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::discover::http::Url;
use crate::error::{Error, Result};

/// Largest answer read (a GetItem page of headers is a few hundred KiB).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// Longest wait for one request's answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// An HTTP answer.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The server closes the connection after this answer.
    pub close: bool,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.headers_named(name).next()
    }

    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A byte stream to a server: TLS, or plain TCP for discovery's http probes.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + ?Sized> Stream for S {}

/// One connection to a server.
pub struct Connection {
    stream: Box<dyn Stream>,
    host: String,
    /// Bytes read past the end of the last answer.
    pending: Vec<u8>,
    /// Largest answer accepted.
    max_response: usize,
    /// The server certificate (DER), for channel binding; empty over plain http.
    pub peer_certificate: Vec<u8>,
}

impl Connection {
    /// A TLS connection to `url`'s host, whatever its scheme says: for credentials.
    pub async fn open(url: &Url, ca_file: Option<&Path>) -> Result<Connection> {
        let tcp = Self::connect(url).await?;
        let connector = crate::sync::imap::tls_connector_with(ca_file)?;
        let name = ServerName::try_from(url.host.clone())
            .map_err(|_| Error::InvalidInput(format!("'{}' is not a valid host name", url.host)))?;
        let stream = connector.connect(name, tcp).await.map_err(|e| Error::Tls {
            host: url.host.clone(),
            detail: e.to_string(),
        })?;
        let peer_certificate = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default();
        Ok(Connection {
            stream: Box::new(stream),
            host: url.host.clone(),
            pending: Vec::new(),
            max_response: MAX_RESPONSE,
            peer_certificate,
        })
    }

    /// A connection as `url`'s scheme says, TLS or plain: for discovery, which sends no secret.
    pub async fn open_as_url_says(url: &Url, ca_file: Option<&Path>) -> Result<Connection> {
        if url.https {
            return Self::open(url, ca_file).await;
        }
        Ok(Connection {
            stream: Box::new(Self::connect(url).await?),
            host: url.host.clone(),
            pending: Vec::new(),
            max_response: MAX_RESPONSE,
            peer_certificate: Vec::new(),
        })
    }

    /// A connection over any byte stream (an in-memory one for fuzzing), without TLS.
    pub fn over<S>(stream: S, host: &str) -> Connection
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Connection {
            stream: Box::new(stream),
            host: host.to_string(),
            pending: Vec::new(),
            max_response: MAX_RESPONSE,
            peer_certificate: Vec::new(),
        }
    }

    /// Caps the size of the answers read (discovery expects a few KiB).
    pub fn with_max_response(mut self, bytes: usize) -> Connection {
        self.max_response = bytes;
        self
    }

    async fn connect(url: &Url) -> Result<tokio::net::TcpStream> {
        let network = |detail: String| Error::Network {
            host: url.host.clone(),
            detail,
        };
        tokio::time::timeout(
            Duration::from_secs(30),
            crate::sync::net::connect_tcp(&url.host, url.port),
        )
        .await
        .map_err(|_| network("no connection within 30 s".into()))?
        .map_err(|e| network(format!("cannot connect to port {}: {e}", url.port)))
    }

    /// Sends one request and reads its answer.
    pub async fn round_trip(&mut self, request: &[u8]) -> Result<Response> {
        let host = self.host.clone();
        match tokio::time::timeout(REQUEST_TIMEOUT, self.round_trip_inner(request)).await {
            Ok(r) => r.map_err(|detail| Error::Network { host, detail }),
            Err(_) => Err(Error::Network {
                host,
                detail: format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()),
            }),
        }
    }

    async fn round_trip_inner(&mut self, request: &[u8]) -> Result<Response, String> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        self.stream
            .flush()
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let head_end = loop {
            if let Some(i) = find(&self.pending, b"\r\n\r\n") {
                break i;
            }
            if self.pending.len() > 64 * 1024 {
                return Err("the answer's headers are larger than 64 KiB".into());
            }
            if !self.fill().await? {
                return Err("the server closed the connection".into());
            }
        };
        let head =
            String::from_utf8_lossy(self.pending.get(..head_end).unwrap_or_default()).into_owned();
        self.pending.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.split_whitespace();
        if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
            return Err(format!("not an HTTP answer: {:.60}", status_line));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or("an HTTP answer without a status")?;
        let mut response = Response {
            status,
            close: status_line.starts_with("HTTP/1.0"),
            ..Default::default()
        };
        let mut chunked = false;
        let mut length = None;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            match name.to_ascii_lowercase().as_str() {
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "content-length" => {
                    length = Some(
                        value
                            .parse::<usize>()
                            .map_err(|_| format!("a bad Content-Length: {value:.40}"))?,
                    )
                }
                "connection" => {
                    let v = value.to_ascii_lowercase();
                    if v.contains("close") {
                        response.close = true;
                    } else if v.contains("keep-alive") {
                        response.close = false;
                    }
                }
                _ => {}
            }
            response.headers.push((name.to_string(), value.to_string()));
        }
        response.body = if chunked {
            self.read_chunked().await?
        } else if let Some(n) = length {
            if n > self.max_response {
                return Err(format!("an answer of {n} bytes is too large"));
            }
            self.read_exact(n).await?
        } else if status == 204 || status == 304 || (100..200).contains(&status) {
            Vec::new()
        } else {
            response.close = true;
            while self.fill().await? {
                if self.pending.len() > self.max_response {
                    return Err("the answer is too large".into());
                }
            }
            std::mem::take(&mut self.pending)
        };
        Ok(response)
    }

    /// Reads more bytes; false at the end of the stream.
    async fn fill(&mut self) -> Result<bool, String> {
        let mut buf = [0u8; 16 * 1024];
        match self.stream.read(&mut buf).await {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.pending
                    .extend_from_slice(buf.get(..n).unwrap_or_default());
                Ok(true)
            }
            // A server closing TLS without close_notify is common.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(format!("reading the answer: {e}")),
        }
    }

    async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
        while self.pending.len() < n {
            if !self.fill().await? {
                return Err("the server closed the connection mid-answer".into());
            }
        }
        Ok(self.pending.drain(..n).collect())
    }

    async fn read_line(&mut self) -> Result<String, String> {
        loop {
            if let Some(i) = find(&self.pending, b"\r\n") {
                let line: Vec<u8> = self.pending.drain(..i + 2).collect();
                return Ok(String::from_utf8_lossy(line.get(..i).unwrap_or_default()).into_owned());
            }
            if self.pending.len() > 8192 {
                return Err("a chunk header is too long".into());
            }
            if !self.fill().await? {
                return Err("the server closed the connection mid-answer".into());
            }
        }
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line().await?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| format!("a bad chunk size: {size:.20}"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.read_line().await?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > self.max_response {
                return Err("the answer is too large".into());
            }
            body.extend(self.read_exact(size).await?);
            self.read_line().await?;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An HTTP/1.1 request's bytes.
pub fn request(
    method: &str,
    url: &Url,
    headers: &[(&str, String)],
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<u8> {
    let default_port = if url.https { 443 } else { 80 };
    let host = if url.port == default_port {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    let connection = if headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("connection"))
    {
        String::new()
    } else {
        "Connection: keep-alive\r\n".to_string()
    };
    // A GET carries no body, and no Content-Length either.
    let length = if method == "GET" && body.is_empty() {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\n{connection}{length}",
        url.path,
        crate::sync::ews::USER_AGENT,
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}
