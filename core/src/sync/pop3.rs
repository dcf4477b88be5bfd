//! The POP3 transport: connects (TLS, STLS or, on loopback, plain), logs in (SASL PLAIN,
//! USER/PASS, APOP or XOAUTH2), lists unique ids and moves header sections. Strictly read-only:
//! it never sends DELE, so the QUIT that ends a session changes nothing on the server. Like the
//! IMAP transport it never parses mail and keeps no state.
//!
//! Three layers: `Wire` reads bounded lines and answers and writes commands, `Client` speaks
//! the protocol over any byte stream (so tests can script a server), [`Pop3Session`] is a
//! `Client` over a real connection.

use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::config::{Account, AuthKind, Security};
use crate::error::{Error, Result};
use crate::mail::MAX_HEADER_BYTES;
use crate::sync::imap::{COMMAND_TIMEOUT, CONNECT_TIMEOUT, Conn, network, tls_wrap};

/// Longest line accepted in a protocol answer. Mail lines may be longer: they are cut, not
/// refused, since one odd message must not stop a mailbox from syncing.
const MAX_LINE: usize = 1 << 20;
/// Most UIDL lines accepted: far above any real mailbox, far below running out of memory.
const MAX_UIDL_LINES: usize = 10_000_000;
const MAX_CAPA_LINES: usize = 1_000;
/// Longest unique id. RFC 1939 says 70 characters; some servers go beyond, none this far.
const MAX_UID_LEN: usize = 512;
/// TOP commands sent in one write when the server pipelines. Their ~1 KiB fits any receive
/// window, so the server can never block on us while we are still writing (RFC 2449 §6.6).
const PIPELINE_GROUP: usize = 64;
/// Longest command line, CRLF included (RFC 2449 §4); a longer SASL initial response is sent
/// after the server's "+" instead (RFC 5034 §4).
const MAX_COMMAND_LINE: usize = 255;
const BUFFER: usize = 64 * 1024;
/// Longest piece of a server's answer quoted in an error.
const MAX_QUOTE: usize = 300;

/// What the server said it can do (CAPA), plus whether the greeting carried an APOP timestamp.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pop3Capabilities {
    pub top: bool,
    pub uidl: bool,
    pub user: bool,
    pub pipelining: bool,
    pub stls: bool,
    /// SASL mechanisms, upper case.
    pub sasl: Vec<String>,
    pub apop: bool,
}

impl Pop3Capabilities {
    fn offers_sasl(&self, mechanism: &str) -> bool {
        self.sasl.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }
}

/// A server's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Ok(String),
    Err(String),
    /// A SASL challenge (`+ <base64>`), during AUTH only.
    More(String),
}

/// Status line → answer; `None` when it is no POP3 answer at all.
fn parse_reply(line: &[u8]) -> Option<Reply> {
    let text = |rest: &[u8]| String::from_utf8_lossy(rest).trim().to_string();
    let starts = |prefix: &[u8]| {
        line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if starts(b"+OK") {
        Some(Reply::Ok(text(&line[3..])))
    } else if starts(b"-ERR") {
        Some(Reply::Err(text(&line[4..])))
    } else if line == b"+" || line.starts_with(b"+ ") {
        Some(Reply::More(text(&line[1..])))
    } else {
        None
    }
}

/// A server's words made fit for an error message: printable, one line, bounded.
fn quote(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_QUOTE)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Which way a line longer than the limit goes: an error (protocol answers) or cut (mail
/// content, whose line length no server enforces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Fail,
    Cut,
}

/// One connection at the byte level: bounded lines in, commands out. Every read and write
/// waits at most [`COMMAND_TIMEOUT`] for progress, so a silent server cannot hang a sync while
/// a slow but steady one can still send a large mailbox.
struct Wire<S> {
    stream: BufReader<S>,
    host: String,
}

impl<S> Wire<S> {
    fn error(&self, what: &str, detail: impl std::fmt::Display) -> Error {
        network(&self.host, format!("{what}: {detail}"))
    }

    fn unexpected(&self, what: &str, reply: &Reply) -> Error {
        let said = match reply {
            Reply::Ok(t) => format!("+OK {t}"),
            Reply::Err(t) => format!("-ERR {t}"),
            Reply::More(t) => format!("+ {t}"),
        };
        self.error(what, format!("unexpected answer '{}'", quote(&said)))
    }
}

impl<S: AsyncRead + Unpin> Wire<S> {
    fn new(stream: S, host: String) -> Self {
        Wire {
            stream: BufReader::with_capacity(BUFFER, stream),
            host,
        }
    }

    /// One line into `out`, its line end (CRLF or a bare LF) removed; whether it is whole
    /// (lines beyond `limit` bytes are an error or cut, after `overflow`).
    async fn read_line(
        &mut self,
        what: &str,
        out: &mut Vec<u8>,
        limit: usize,
        overflow: Overflow,
    ) -> Result<bool> {
        out.clear();
        // One byte past the limit, so that a line of `limit` bytes and its CR is not cut.
        let keep = limit.saturating_add(1);
        let mut seen = 0usize;
        loop {
            let buf = match tokio::time::timeout(COMMAND_TIMEOUT, self.stream.fill_buf()).await {
                Ok(Ok(buf)) => buf,
                Ok(Err(e)) => return Err(network(&self.host, format!("{what}: {e}"))),
                Err(_) => {
                    return Err(network(
                        &self.host,
                        format!("{what}: no answer within {COMMAND_TIMEOUT:?}"),
                    ));
                }
            };
            if buf.is_empty() {
                return Err(self.error(what, "the server closed the connection"));
            }
            let newline = buf.iter().position(|&b| b == b'\n');
            let chunk = &buf[..newline.unwrap_or(buf.len())];
            let room = keep.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            seen = seen.saturating_add(chunk.len());
            let used = newline.map_or(buf.len(), |at| at + 1);
            self.stream.consume(used);
            if newline.is_some() {
                break;
            }
            if overflow == Overflow::Fail && seen > keep {
                return Err(self.error(what, format!("a line longer than {limit} bytes")));
            }
        }
        if seen == out.len() && out.last() == Some(&b'\r') {
            out.pop();
            seen -= 1;
        }
        if seen <= limit {
            return Ok(true);
        }
        if overflow == Overflow::Fail {
            return Err(self.error(what, format!("a line longer than {limit} bytes")));
        }
        out.truncate(limit);
        Ok(false)
    }

    /// The status line that answers a command.
    async fn reply(&mut self, what: &str) -> Result<Reply> {
        let mut line = Vec::new();
        self.read_line(what, &mut line, MAX_LINE, Overflow::Fail)
            .await?;
        parse_reply(&line).ok_or_else(|| {
            self.error(
                what,
                format!(
                    "not a POP3 answer: '{}'",
                    quote(&String::from_utf8_lossy(&line))
                ),
            )
        })
    }

    /// One line of a multi-line answer into `out`, dot-unstuffed (RFC 1939 §3): `None` at the
    /// "." that ends the answer, else whether the line is whole.
    async fn data_line(
        &mut self,
        what: &str,
        out: &mut Vec<u8>,
        limit: usize,
        overflow: Overflow,
    ) -> Result<Option<bool>> {
        let whole = self.read_line(what, out, limit, overflow).await?;
        if whole && out.as_slice() == b"." {
            return Ok(None);
        }
        if out.first() == Some(&b'.') {
            out.remove(0);
        }
        Ok(Some(whole))
    }

    /// The lines of a multi-line protocol answer (CAPA, UIDL), each handed to `each`. A line
    /// `each` refuses fails the call, but only after the answer is read to its end, so the
    /// session stays usable (QUIT).
    async fn lines(
        &mut self,
        what: &str,
        max_lines: usize,
        mut each: impl FnMut(&[u8]) -> std::result::Result<(), String>,
    ) -> Result<()> {
        let mut line = Vec::new();
        let mut count = 0usize;
        let mut refused = None;
        while self
            .data_line(what, &mut line, MAX_LINE, Overflow::Fail)
            .await?
            .is_some()
        {
            count += 1;
            if count > max_lines {
                return Err(self.error(what, format!("more than {max_lines} lines")));
            }
            if refused.is_none() {
                refused = each(&line).err();
            }
        }
        match refused {
            Some(detail) => Err(self.error(what, detail)),
            None => Ok(()),
        }
    }

    /// The header section of a TOP or RETR answer; the rest of the message is read and dropped
    /// line by line, never held.
    async fn header_section(&mut self, what: &str) -> Result<Vec<u8>> {
        let mut section = HeaderSection::default();
        let mut line = Vec::new();
        loop {
            // Past the header section only the final "." matters: one byte of a line will do.
            let limit = if section.done { 1 } else { MAX_LINE };
            if self
                .data_line(what, &mut line, limit, Overflow::Cut)
                .await?
                .is_none()
            {
                return Ok(section.bytes);
            }
            section.push(&line);
        }
    }

    /// The stream underneath, for the TLS handshake after STLS.
    fn into_inner(self) -> Result<S> {
        // Bytes already here came before the handshake, unprotected: someone in the middle
        // may have put them there to be read as if they came over TLS.
        if !self.stream.buffer().is_empty() {
            return Err(self.error("STLS", "the server sent data before the TLS handshake"));
        }
        Ok(self.stream.into_inner())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Wire<S> {
    /// Sends one command. `what` names it in errors: it never holds a secret.
    async fn send(&mut self, command: &str, what: &str) -> Result<()> {
        let mut bytes = Vec::with_capacity(command.len() + 2);
        bytes.extend_from_slice(command.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write(&bytes, what).await
    }

    async fn write(&mut self, bytes: &[u8], what: &str) -> Result<()> {
        let stream = self.stream.get_mut();
        let sent = tokio::time::timeout(COMMAND_TIMEOUT, async {
            stream.write_all(bytes).await?;
            stream.flush().await
        })
        .await;
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.error(what, format!("cannot send: {e}"))),
            Err(_) => Err(self.error(
                what,
                format!("the server took nothing within {COMMAND_TIMEOUT:?}"),
            )),
        }
    }
}

/// A message's header section, built line by line: up to and including the blank line that
/// ends it, CRLF line ends.
#[derive(Debug, Default)]
struct HeaderSection {
    bytes: Vec<u8>,
    /// The blank line (or the bound) was reached; the lines still to come are body.
    done: bool,
}

impl HeaderSection {
    fn push(&mut self, line: &[u8]) {
        if self.done {
            return;
        }
        self.bytes.extend_from_slice(line);
        self.bytes.extend_from_slice(b"\r\n");
        if line.is_empty() {
            self.done = true;
        } else if self.bytes.len() > MAX_HEADER_BYTES {
            // One byte past the bound: the parser sees the section was cut and says so.
            self.bytes.truncate(MAX_HEADER_BYTES + 1);
            self.done = true;
        }
    }
}

/// CAPA's lines → what the server can do (`apop` comes from the greeting, not from here).
fn parse_capa(lines: &[String]) -> Pop3Capabilities {
    let mut caps = Pop3Capabilities::default();
    for line in lines {
        let mut words = line.split_ascii_whitespace();
        let Some(name) = words.next() else { continue };
        match name.to_ascii_uppercase().as_str() {
            "TOP" => caps.top = true,
            "UIDL" => caps.uidl = true,
            "USER" => caps.user = true,
            "PIPELINING" => caps.pipelining = true,
            "STLS" => caps.stls = true,
            "SASL" => {
                for mechanism in words {
                    let mechanism = mechanism.to_ascii_uppercase();
                    if !caps.sasl.contains(&mechanism) {
                        caps.sasl.push(mechanism);
                    }
                }
            }
            _ => {}
        }
    }
    caps
}

/// One UIDL line: `<message number> <unique id>`.
fn parse_uidl_line(line: &[u8]) -> std::result::Result<(u32, String), String> {
    let bad = |why: &str| {
        format!(
            "bad UIDL line '{}': {why}",
            quote(&String::from_utf8_lossy(line))
        )
    };
    let text = std::str::from_utf8(line).map_err(|_| bad("not text"))?;
    let mut words = text.split_ascii_whitespace();
    let number = words
        .next()
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|&n| n > 0)
        .ok_or_else(|| bad("no message number"))?;
    let uid = words.next().ok_or_else(|| bad("no unique id"))?;
    if uid.len() > MAX_UID_LEN {
        return Err(bad("unique id too long"));
    }
    if !uid.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(bad("unique id not printable ASCII"));
    }
    if words.next().is_some() {
        return Err(bad("more than a number and an id"));
    }
    Ok((number, uid.to_string()))
}

/// STAT's `+OK <count> <octets>`.
fn parse_stat(text: &str) -> Option<(u32, u64)> {
    let mut words = text.split_ascii_whitespace();
    let count = words.next()?.parse().ok()?;
    let octets = words.next()?.parse().ok()?;
    Some((count, octets))
}

/// The APOP timestamp (`<...@...>`) of a greeting, if it has one (RFC 1939 §7).
fn apop_timestamp(greeting: &str) -> Option<String> {
    let start = greeting.find('<')?;
    let len = greeting[start..].find('>')?;
    let stamp = &greeting[start..=start + len];
    (stamp.contains('@') && !stamp.contains(char::is_whitespace)).then(|| stamp.to_string())
}

/// APOP's digest: MD5 of the timestamp and the secret, lower-case hex.
fn apop_digest(timestamp: &str, secret: &str) -> String {
    let mut input = Vec::with_capacity(timestamp.len() + secret.len());
    input.extend_from_slice(timestamp.as_bytes());
    input.extend_from_slice(secret.as_bytes());
    md5(&input).iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// MD5 (RFC 1321), for APOP only: too little to pull in a crate for.
fn md5(data: &[u8]) -> [u8; 16] {
    const SHIFT: [[u32; 4]; 4] = [
        [7, 12, 17, 22],
        [5, 9, 14, 20],
        [4, 11, 16, 23],
        [6, 10, 15, 21],
    ];
    // floor(abs(sin(i + 1)) * 2^32)
    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64).wrapping_mul(8).to_le_bytes());
    let mut state: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    for block in message.chunks_exact(64) {
        let mut m = [0u32; 16];
        for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let [mut a, mut b, mut c, mut d] = state;
        for (i, k) in K.iter().enumerate() {
            let round = i / 16;
            let (f, g) = match round {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let sum = a.wrapping_add(f).wrapping_add(*k).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(sum.rotate_left(SHIFT[round][i % 4]));
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    let mut digest = [0u8; 16];
    for (out, word) in digest.chunks_exact_mut(4).zip(state) {
        out.copy_from_slice(&word.to_le_bytes());
    }
    digest
}

/// SASL PLAIN's response (RFC 4616), no authorization identity.
fn plain_response(user: &str, secret: &str) -> String {
    BASE64.encode(format!("\0{user}\0{secret}"))
}

/// XOAUTH2's response, as Google and Microsoft define it.
fn xoauth2_response(user: &str, token: &str) -> String {
    BASE64.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

/// Who logs in and how.
struct Login<'a> {
    /// The account's name, for errors.
    account: &'a str,
    user: &'a str,
    auth: AuthKind,
    secret: &'a str,
}

impl Login<'_> {
    /// A server's answer with the secret and the user name taken out, fit for an error.
    fn redact(&self, text: &str) -> String {
        let mut text = quote(text);
        if !self.secret.is_empty() {
            text = text.replace(self.secret, "[secret]");
        }
        if self.user.len() >= 3 {
            text = text.replace(self.user, "[user]");
        }
        text
    }
}

/// The POP3 protocol over any byte stream.
struct Client<S> {
    wire: Wire<S>,
    caps: Pop3Capabilities,
    /// Whether the server answered CAPA. Without it USER, TOP and UIDL are tried anyway.
    capa: bool,
    /// Whether TOP is known to work: listed by CAPA, or answered once.
    top_known: bool,
    /// The greeting's APOP timestamp.
    timestamp: Option<String>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// Reads the greeting and asks for the capabilities.
    async fn greet(stream: S, host: String) -> Result<Self> {
        let mut wire = Wire::new(stream, host);
        let greeting = match tokio::time::timeout(CONNECT_TIMEOUT, wire.reply("greeting")).await {
            Err(_) => return Err(wire.error("greeting", "no greeting from the server")),
            Ok(reply) => reply?,
        };
        let text = match greeting {
            Reply::Ok(text) => text,
            Reply::Err(text) => {
                return Err(wire.error(
                    "greeting",
                    format!("the server refused the connection: {}", quote(&text)),
                ));
            }
            other @ Reply::More(_) => return Err(wire.unexpected("greeting", &other)),
        };
        Client::with_wire(wire, apop_timestamp(&text)).await
    }

    /// Carries on over a new stream after STLS: no second greeting, CAPA asked again since
    /// what was learnt before TLS cannot be trusted (RFC 2595 §4).
    async fn resume(stream: S, host: String, timestamp: Option<String>) -> Result<Self> {
        Client::with_wire(Wire::new(stream, host), timestamp).await
    }

    async fn with_wire(wire: Wire<S>, timestamp: Option<String>) -> Result<Self> {
        let mut client = Client {
            wire,
            caps: Pop3Capabilities::default(),
            capa: false,
            top_known: false,
            timestamp,
        };
        match client.query_capa().await? {
            Some(caps) => {
                client.capa = true;
                client.top_known = caps.top;
                client.caps = caps;
            }
            // RFC 1939 servers without CAPA: assume the common commands and find out.
            None => {
                client.caps = Pop3Capabilities {
                    top: true,
                    uidl: true,
                    user: true,
                    ..Pop3Capabilities::default()
                };
            }
        }
        client.caps.apop = client.timestamp.is_some();
        Ok(client)
    }

    /// CAPA's answer; `None` when the server does not know CAPA.
    async fn query_capa(&mut self) -> Result<Option<Pop3Capabilities>> {
        self.wire.send("CAPA", "CAPA").await?;
        match self.wire.reply("CAPA").await? {
            Reply::Ok(_) => {
                let mut lines = Vec::new();
                self.wire
                    .lines("CAPA", MAX_CAPA_LINES, |line| {
                        lines.push(String::from_utf8_lossy(line).into_owned());
                        Ok(())
                    })
                    .await?;
                Ok(Some(parse_capa(&lines)))
            }
            Reply::Err(_) => Ok(None),
            other @ Reply::More(_) => Err(self.wire.unexpected("CAPA", &other)),
        }
    }

    /// The capabilities of the transaction state: servers may offer more once logged in
    /// (RFC 2449 §4). What only matters for logging in is kept from before.
    async fn refresh_capabilities(&mut self) -> Result<()> {
        if !self.capa {
            return Ok(());
        }
        if let Some(after) = self.query_capa().await? {
            self.caps.top = after.top;
            self.caps.uidl = after.uidl;
            self.caps.pipelining = after.pipelining;
            self.top_known = after.top;
        }
        Ok(())
    }

    /// Asks for TLS (the caller then wraps the stream).
    async fn stls(&mut self) -> Result<()> {
        if self.capa && !self.caps.stls {
            return Err(Error::Unsupported {
                host: self.wire.host.clone(),
                what: "STLS, which security \"starttls\" needs (try security \"tls\", port 995)"
                    .into(),
            });
        }
        self.wire.send("STLS", "STLS").await?;
        match self.wire.reply("STLS").await? {
            Reply::Ok(_) => Ok(()),
            Reply::Err(text) => Err(Error::Unsupported {
                host: self.wire.host.clone(),
                what: format!(
                    "STLS, which security \"starttls\" needs (it answered: {})",
                    quote(&text)
                ),
            }),
            other @ Reply::More(_) => Err(self.wire.unexpected("STLS", &other)),
        }
    }

    async fn login(&mut self, login: &Login<'_>) -> Result<()> {
        // NUL, ^A, CR and LF would end a field or a command early: refuse them, never send them.
        let unsafe_byte = |s: &str| s.bytes().any(|b| matches!(b, 0 | 1 | b'\r' | b'\n'));
        if unsafe_byte(login.user) || unsafe_byte(login.secret) {
            return Err(Error::Auth {
                account: login.account.to_string(),
                detail: "the user name or the secret holds a control character POP3 cannot carry"
                    .into(),
            });
        }
        match login.auth {
            AuthKind::Xoauth2 => {
                if self.capa && !self.caps.offers_sasl("XOAUTH2") {
                    return Err(Error::Unsupported {
                        host: self.wire.host.clone(),
                        what: "XOAUTH2 logins (its CAPA lists no SASL XOAUTH2): use a password"
                            .into(),
                    });
                }
                let response = xoauth2_response(login.user, login.secret);
                self.sasl(login, "XOAUTH2", &response).await
            }
            AuthKind::Password => {
                if self.caps.offers_sasl("PLAIN") {
                    let response = plain_response(login.user, login.secret);
                    return self.sasl(login, "PLAIN", &response).await;
                }
                if self.caps.user || !self.capa {
                    match self.user_pass(login).await? {
                        None => return Ok(()),
                        // Without CAPA, a refused USER may mean the server takes only APOP.
                        Some(text) if self.capa || self.timestamp.is_none() => {
                            return Err(self.rejected(login, &text));
                        }
                        Some(_) => {}
                    }
                }
                if let Some(timestamp) = self.timestamp.clone() {
                    return self.apop(login, &timestamp).await;
                }
                Err(Error::Unsupported {
                    host: self.wire.host.clone(),
                    what: "any password login Rapport knows (SASL PLAIN, USER/PASS, APOP)".into(),
                })
            }
        }
    }

    /// USER and PASS: `Some(answer)` when USER itself is refused.
    async fn user_pass(&mut self, login: &Login<'_>) -> Result<Option<String>> {
        self.wire
            .send(&format!("USER {}", login.user), "USER")
            .await?;
        match self.wire.reply("USER").await? {
            Reply::Ok(_) => {}
            Reply::Err(text) => return Ok(Some(text)),
            other @ Reply::More(_) => return Err(self.wire.unexpected("USER", &other)),
        }
        self.wire
            .send(&format!("PASS {}", login.secret), "PASS")
            .await?;
        match self.wire.reply("PASS").await? {
            Reply::Ok(_) => Ok(None),
            Reply::Err(text) => Err(self.rejected(login, &text)),
            other @ Reply::More(_) => Err(self.wire.unexpected("PASS", &other)),
        }
    }

    async fn apop(&mut self, login: &Login<'_>, timestamp: &str) -> Result<()> {
        let digest = apop_digest(timestamp, login.secret);
        self.wire
            .send(&format!("APOP {} {digest}", login.user), "APOP")
            .await?;
        match self.wire.reply("APOP").await? {
            Reply::Ok(_) => Ok(()),
            Reply::Err(text) => Err(self.rejected(login, &text)),
            other @ Reply::More(_) => Err(self.wire.unexpected("APOP", &other)),
        }
    }

    /// SASL AUTH (RFC 5034) with a one-step mechanism whose response is `response` (base64).
    async fn sasl(&mut self, login: &Login<'_>, mechanism: &str, response: &str) -> Result<()> {
        let what = format!("AUTH {mechanism}");
        let inline = format!("AUTH {mechanism} {response}");
        // Office 365 takes XOAUTH2 only after the "+"; RFC 5034 allows no longer line.
        if mechanism != "XOAUTH2" && inline.len() + 2 <= MAX_COMMAND_LINE {
            self.wire.send(&inline, &what).await?;
        } else {
            self.wire.send(&what, &what).await?;
            match self.wire.reply(&what).await? {
                Reply::More(_) => self.wire.send(response, &what).await?,
                Reply::Err(text) => return Err(self.rejected(login, &text)),
                other @ Reply::Ok(_) => return Err(self.wire.unexpected(&what, &other)),
            }
        }
        match self.wire.reply(&what).await? {
            Reply::Ok(_) => Ok(()),
            Reply::Err(text) => Err(self.rejected(login, &text)),
            Reply::More(challenge) => {
                // A failure told as a challenge: XOAUTH2's JSON status wants an empty answer
                // (Google's definition), anything else is cancelled with "*" (RFC 5034 §4).
                let why = BASE64
                    .decode(challenge.trim())
                    .ok()
                    .map(|b| quote(&String::from_utf8_lossy(&b)))
                    .filter(|w| !w.is_empty());
                let answer = if mechanism == "XOAUTH2" { "" } else { "*" };
                self.wire.send(answer, &what).await?;
                let text = match self.wire.reply(&what).await? {
                    Reply::Ok(_) => return Ok(()),
                    Reply::Err(text) => text,
                    other @ Reply::More(_) => return Err(self.wire.unexpected(&what, &other)),
                };
                let text = match why {
                    Some(why) => format!("{text} ({why})"),
                    None => text,
                };
                Err(self.rejected(login, &text))
            }
        }
    }

    /// A refused login. The response codes of RFC 2449 and RFC 3206 tell a busy or broken
    /// server (a network matter: try again later) from a wrong password or token.
    fn rejected(&self, login: &Login<'_>, text: &str) -> Error {
        let text = login.redact(text);
        let code = text
            .strip_prefix('[')
            .and_then(|rest| rest.split(']').next())
            .map(str::to_ascii_uppercase);
        match code.as_deref() {
            Some("IN-USE" | "LOGIN-DELAY" | "SYS/TEMP" | "SYS/PERM") => self.wire.error(
                "login",
                format!(
                    "the server refused the login for a reason other than the password: {text}"
                ),
            ),
            _ => Error::Auth {
                account: login.account.to_string(),
                detail: format!("the server answered: {text}"),
            },
        }
    }

    async fn stat(&mut self) -> Result<(u32, u64)> {
        self.wire.send("STAT", "STAT").await?;
        match self.wire.reply("STAT").await? {
            Reply::Ok(text) => parse_stat(&text).ok_or_else(|| {
                self.wire
                    .error("STAT", format!("unexpected answer '+OK {}'", quote(&text)))
            }),
            other => Err(self.wire.unexpected("STAT", &other)),
        }
    }

    async fn uidl(&mut self) -> Result<Vec<(u32, String)>> {
        self.wire.send("UIDL", "UIDL").await?;
        match self.wire.reply("UIDL").await? {
            Reply::Ok(_) => {}
            // Listed yet refused: a passing trouble, not a missing command.
            Reply::Err(text) if self.capa && self.caps.uidl => {
                return Err(self
                    .wire
                    .error("UIDL", format!("the server answered: {}", quote(&text))));
            }
            Reply::Err(text) => {
                return Err(Error::Unsupported {
                    host: self.wire.host.clone(),
                    what: format!(
                        "UIDL, which Rapport needs to tell new mail from mail it has seen (it answered: {})",
                        quote(&text)
                    ),
                });
            }
            other @ Reply::More(_) => return Err(self.wire.unexpected("UIDL", &other)),
        }
        let mut listed = Vec::new();
        self.wire
            .lines("UIDL", MAX_UIDL_LINES, |line| {
                listed.push(parse_uidl_line(line)?);
                Ok(())
            })
            .await?;
        listed.sort_unstable_by_key(|(number, _)| *number);
        if let Some(pair) = listed.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(self
                .wire
                .error("UIDL", format!("message {} listed twice", pair[0].0)));
        }
        Ok(listed)
    }

    async fn headers(&mut self, numbers: &[u32]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut out = Vec::with_capacity(numbers.len());
        if self.caps.pipelining && self.top_known {
            for group in numbers.chunks(PIPELINE_GROUP) {
                let mut commands = String::new();
                for n in group {
                    let _ = write!(commands, "TOP {n} 0\r\n");
                }
                self.wire.write(commands.as_bytes(), "TOP").await?;
                for n in group {
                    let what = format!("TOP {n} 0");
                    out.push(match self.wire.reply(&what).await? {
                        Reply::Ok(_) => Some(self.wire.header_section(&what).await?),
                        Reply::Err(_) => None,
                        other @ Reply::More(_) => return Err(self.wire.unexpected(&what, &other)),
                    });
                }
            }
        } else {
            for &n in numbers {
                out.push(self.header(n).await?);
            }
        }
        Ok(out)
    }

    /// One message's header section, by TOP or else RETR; `None` if the message is gone.
    async fn header(&mut self, n: u32) -> Result<Option<Vec<u8>>> {
        if self.caps.top {
            let what = format!("TOP {n} 0");
            self.wire.send(&what, &what).await?;
            match self.wire.reply(&what).await? {
                Reply::Ok(_) => {
                    self.top_known = true;
                    return Ok(Some(self.wire.header_section(&what).await?));
                }
                Reply::Err(_) if self.top_known => return Ok(None),
                // Untried TOP refused: a message that is gone, or no TOP? LIST tells which.
                Reply::Err(_) => {
                    if !self.exists(n).await? {
                        return Ok(None);
                    }
                    self.caps.top = false;
                }
                other @ Reply::More(_) => return Err(self.wire.unexpected(&what, &other)),
            }
        }
        let what = format!("RETR {n}");
        self.wire.send(&what, &what).await?;
        match self.wire.reply(&what).await? {
            Reply::Ok(_) => Ok(Some(self.wire.header_section(&what).await?)),
            Reply::Err(_) => Ok(None),
            other @ Reply::More(_) => Err(self.wire.unexpected(&what, &other)),
        }
    }

    async fn exists(&mut self, n: u32) -> Result<bool> {
        let what = format!("LIST {n}");
        self.wire.send(&what, &what).await?;
        match self.wire.reply(&what).await? {
            Reply::Ok(_) => Ok(true),
            Reply::Err(_) => Ok(false),
            other @ Reply::More(_) => Err(self.wire.unexpected(&what, &other)),
        }
    }

    async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            self.wire.send("QUIT", "QUIT").await?;
            self.wire.reply("QUIT").await?;
            let _ = self.wire.stream.get_mut().shutdown().await;
            Ok::<(), Error>(())
        })
        .await;
    }
}

/// A logged-in POP3 session. It only reads: no command it sends changes the mailbox.
pub struct Pop3Session {
    client: Client<Conn>,
}

impl std::fmt::Debug for Pop3Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pop3Session")
            .field("host", &self.client.wire.host)
            .field("capabilities", &self.client.caps)
            .finish()
    }
}

impl Pop3Session {
    /// Connects (TLS from the first byte for `Security::Tls`, STLS for `Security::Starttls`,
    /// plain only where [`Account::validate`] allows), reads the greeting and CAPA, and logs in
    /// with `secret` (the password or the OAuth2 token): SASL PLAIN, else USER/PASS, else APOP;
    /// XOAUTH2 for `AuthKind::Xoauth2`.
    pub async fn connect(account: &Account, secret: &str) -> Result<Pop3Session> {
        account.validate()?;
        let host = account.host.clone();
        let port = account.port();
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, crate::sync::net::connect_tcp(&host, port))
            .await
            .map_err(|_| network(&host, format!("connecting to port {port} timed out")))?
            .map_err(|e| network(&host, format!("cannot connect to port {port}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let conn = match account.security {
            Security::Tls => tls_wrap(account, tcp).await?,
            Security::Starttls | Security::None => Conn::Plain(tcp),
        };
        let mut client = Client::greet(conn, host.clone()).await?;
        if account.security == Security::Starttls {
            client.stls().await?;
            let Client {
                wire, timestamp, ..
            } = client;
            let Conn::Plain(tcp) = wire.into_inner()? else {
                return Err(Error::Internal("STLS on a TLS connection".into()));
            };
            client = Client::resume(tls_wrap(account, tcp).await?, host, timestamp).await?;
        }
        client
            .login(&Login {
                account: &account.name,
                user: &account.user,
                auth: account.auth,
                secret,
            })
            .await?;
        client.refresh_capabilities().await?;
        Ok(Pop3Session { client })
    }

    pub fn host(&self) -> &str {
        &self.client.wire.host
    }

    pub fn capabilities(&self) -> &Pop3Capabilities {
        &self.client.caps
    }

    /// `STAT`: (message count, total octets).
    pub async fn stat(&mut self) -> Result<(u32, u64)> {
        self.client.stat().await
    }

    /// `UIDL`: (message number, unique id) of every message, in message-number order. A server
    /// without UIDL is [`Error::Unsupported`]: Rapport cannot tell new mail from old without it.
    pub async fn uidl(&mut self) -> Result<Vec<(u32, String)>> {
        self.client.uidl().await
    }

    /// The header section of each message number (up to and including the blank line that
    /// ends it, CRLF line ends), in the order asked: `TOP n 0`, pipelined in groups when the
    /// server pipelines; `RETR n` without TOP, the body dropped as it streams in. A message
    /// gone meanwhile is `None`. Sections beyond [`MAX_HEADER_BYTES`] are cut one byte past it
    /// (so the parser notes the cut).
    pub async fn headers(&mut self, numbers: &[u32]) -> Result<Vec<Option<Vec<u8>>>> {
        self.client.headers(numbers).await
    }

    /// `QUIT`, best effort. Nothing was marked for deletion, so the UPDATE state changes
    /// nothing.
    pub async fn quit(self) {
        self.client.quit().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(bytes: &'static [u8]) -> Wire<&'static [u8]> {
        Wire::new(bytes, "pop.test".into())
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn md5_matches_rfc_1321() {
        let vectors: [(&str, &str); 7] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, digest) in vectors {
            assert_eq!(hex(&md5(input.as_bytes())), digest, "MD5({input:?})");
        }
        // Lengths around the padding boundary (55, 56, 64 bytes).
        assert_eq!(hex(&md5(&[b'a'; 55])), "ef1772b6dff9a122358552954ad0df65");
        assert_eq!(hex(&md5(&[b'a'; 56])), "3b0c8ac703f828b04c6c197006d17218");
        assert_eq!(hex(&md5(&[b'a'; 64])), "014842d480b571495a4a0363793f7367");
    }

    #[test]
    fn apop_digest_matches_rfc_1939() {
        let greeting = "POP3 server ready <1896.697170952@dbc.mtview.ca.us>";
        let stamp = apop_timestamp(greeting).unwrap();
        assert_eq!(stamp, "<1896.697170952@dbc.mtview.ca.us>");
        assert_eq!(
            apop_digest(&stamp, "tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb"
        );
        assert_eq!(apop_timestamp("Dovecot ready."), None);
        assert_eq!(apop_timestamp("ready <no at sign>"), None);
        assert_eq!(apop_timestamp("ready <unclosed@x"), None);
    }

    #[test]
    fn xoauth2_and_plain_responses() {
        // Google's example.
        assert_eq!(
            xoauth2_response(
                "someuser@example.com",
                "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
            ),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
        assert_eq!(
            BASE64.decode(plain_response("alice", "pw")).unwrap(),
            b"\0alice\0pw"
        );
    }

    #[test]
    fn replies_are_recognised() {
        assert_eq!(parse_reply(b"+OK 2 320"), Some(Reply::Ok("2 320".into())));
        assert_eq!(parse_reply(b"+OK"), Some(Reply::Ok(String::new())));
        assert_eq!(parse_reply(b"+ok fine"), Some(Reply::Ok("fine".into())));
        assert_eq!(
            parse_reply(b"-ERR [IN-USE] locked"),
            Some(Reply::Err("[IN-USE] locked".into()))
        );
        assert_eq!(parse_reply(b"+ "), Some(Reply::More(String::new())));
        assert_eq!(parse_reply(b"+ eyJ9"), Some(Reply::More("eyJ9".into())));
        assert_eq!(parse_reply(b"* OK IMAP"), None);
        assert_eq!(parse_reply(b""), None);
    }

    #[test]
    fn capa_lines_are_parsed() {
        let lines: Vec<String> = [
            "CAPA",
            "top",
            "UIDL",
            "RESP-CODES",
            "PIPELINING",
            "STLS",
            "USER",
            "SASL plain LOGIN xoauth2",
            "IMPLEMENTATION Dovecot",
            "",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            parse_capa(&lines),
            Pop3Capabilities {
                top: true,
                uidl: true,
                user: true,
                pipelining: true,
                stls: true,
                sasl: vec!["PLAIN".into(), "LOGIN".into(), "XOAUTH2".into()],
                apop: false,
            }
        );
        assert_eq!(parse_capa(&[]), Pop3Capabilities::default());
    }

    #[test]
    fn uidl_lines_are_checked() {
        assert_eq!(
            parse_uidl_line(b"1 whqtswO00WBw418f9t5JxYwZ"),
            Ok((1, "whqtswO00WBw418f9t5JxYwZ".into()))
        );
        assert_eq!(
            parse_uidl_line(b"12  000000017e5a1c4b"),
            Ok((12, "000000017e5a1c4b".into()))
        );
        for bad in [
            &b""[..],
            b"1",
            b"x abc",
            b"+1 abc",
            b"0 abc",
            b"99999999999 abc",
            b"1 abc def",
            b"1 ab\x7fc",
            b"1 \xc3\xa9t\xc3\xa9",
        ] {
            let err = parse_uidl_line(bad).unwrap_err();
            assert!(err.starts_with("bad UIDL line"), "{err}");
        }
        let long = format!("3 {}", "a".repeat(MAX_UID_LEN + 1));
        assert!(parse_uidl_line(long.as_bytes()).is_err());
    }

    #[test]
    fn stat_answer() {
        assert_eq!(parse_stat("2 320"), Some((2, 320)));
        assert_eq!(parse_stat("0 0 extra words"), Some((0, 0)));
        assert_eq!(parse_stat("two 320"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[tokio::test]
    async fn multi_line_answers_are_unstuffed_with_crlf_or_bare_lf() {
        let mut w = wire(b"+OK list follows\r\n1 a\r\n..2 dotted\n.\r\n+OK next\n");
        assert_eq!(
            w.reply("UIDL").await.unwrap(),
            Reply::Ok("list follows".into())
        );
        let mut got = Vec::new();
        w.lines("UIDL", 10, |l| {
            got.push(l.to_vec());
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(got, vec![b"1 a".to_vec(), b".2 dotted".to_vec()]);
        assert_eq!(w.reply("NOOP").await.unwrap(), Reply::Ok("next".into()));
        // The stream ends: the error names the host and the command.
        let err = w.reply("STAT").await.unwrap_err().to_string();
        assert!(
            err.contains("pop.test") && err.contains("STAT") && err.contains("closed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_refused_line_fails_after_the_answer_is_read() {
        let mut w = wire(b"1 a\r\nbroken\r\n3 c\r\n.\r\n+OK\r\n");
        let err = w
            .lines("UIDL", 10, |l| parse_uidl_line(l).map(|_| ()))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pop.test") && err.contains("bad UIDL line 'broken'"),
            "{err}"
        );
        assert_eq!(w.reply("NOOP").await.unwrap(), Reply::Ok(String::new()));
        let mut w = wire(b"1 a\r\n2 b\r\n3 c\r\n.\r\n");
        let err = w.lines("UIDL", 2, |_| Ok(())).await.unwrap_err();
        assert!(err.to_string().contains("more than 2 lines"), "{err}");
    }

    #[tokio::test]
    async fn lines_are_bounded() {
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.extend_from_slice(b"\r\n");
        let long: &'static [u8] = long.leak();
        let err = wire(long).reply("CAPA").await.unwrap_err().to_string();
        assert!(
            err.contains("pop.test") && err.contains("longer than"),
            "{err}"
        );
        // A line of exactly the limit, CR included, is whole.
        let mut exact = b"+OK ".to_vec();
        exact.resize(MAX_LINE, b'y');
        exact.extend_from_slice(b"\r\n");
        let exact: &'static [u8] = exact.leak();
        assert!(matches!(wire(exact).reply("CAPA").await, Ok(Reply::Ok(_))));
        let err = wire(b"+OK cut sho").reply("X").await.unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    #[tokio::test]
    async fn the_header_section_is_kept_and_the_body_dropped() {
        let retr: &[u8] = b"Subject: hi\r\nFrom: a@b.example\n\tcontinued\r\n..dotted: yes\r\n\r\nbody line\r\n..\r\n..not the end\r\n\r\n.\r\n+OK after\r\n";
        let mut w = wire(retr);
        let header = w.header_section("RETR 1").await.unwrap();
        assert_eq!(
            header,
            b"Subject: hi\r\nFrom: a@b.example\r\n\tcontinued\r\n.dotted: yes\r\n\r\n"
        );
        assert_eq!(w.reply("NOOP").await.unwrap(), Reply::Ok("after".into()));
        // A body line far longer than any bound costs nothing.
        let mut big = b"To: x@y.example\r\n\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'z', 3 * MAX_LINE));
        big.extend_from_slice(b"\r\n.\r\n");
        let big: &'static [u8] = big.leak();
        assert_eq!(
            wire(big).header_section("RETR 2").await.unwrap(),
            b"To: x@y.example\r\n\r\n"
        );
        // A message without a body is all header.
        let mut w = wire(b"X-A: 1\r\n.\r\n");
        assert_eq!(w.header_section("TOP 3 0").await.unwrap(), b"X-A: 1\r\n");
        // Cut mid-answer: an error, not a short header.
        let err = wire(b"X-A: 1\r\n")
            .header_section("TOP 4 0")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("TOP 4 0"), "{err}");
    }

    #[test]
    fn header_sections_are_bounded() {
        let mut section = HeaderSection::default();
        let line = vec![b'h'; 1000];
        while !section.done {
            section.push(&line);
        }
        assert_eq!(section.bytes.len(), MAX_HEADER_BYTES + 1);
        section.push(b"");
        assert_eq!(section.bytes.len(), MAX_HEADER_BYTES + 1);
    }

    /// A scripted server: writes `greeting`, then for each step reads one command and writes
    /// the answer. Returns the commands it read.
    fn server(
        greeting: &'static str,
        steps: Vec<(&'static str, &'static str)>,
    ) -> (
        tokio::io::DuplexStream,
        tokio::task::JoinHandle<Vec<String>>,
    ) {
        let (client, server) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(async move {
            let mut server = BufReader::new(server);
            let mut seen = Vec::new();
            server
                .get_mut()
                .write_all(greeting.as_bytes())
                .await
                .unwrap();
            for (expected, answer) in steps {
                let mut line = String::new();
                server.read_line(&mut line).await.unwrap();
                let line = line.trim_end_matches(['\r', '\n']).to_string();
                assert_eq!(line, expected);
                seen.push(line);
                server.get_mut().write_all(answer.as_bytes()).await.unwrap();
            }
            seen
        });
        (client, task)
    }

    fn login<'a>(auth: AuthKind, secret: &'a str) -> Login<'a> {
        Login {
            account: "test",
            user: "alice",
            auth,
            secret,
        }
    }

    const DOVECOT_CAPA: &str = "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n";

    #[tokio::test]
    async fn a_session_with_sasl_plain_and_pipelined_top() {
        let (stream, task) = server(
            "+OK Dovecot ready.\r\n",
            vec![
                ("CAPA", DOVECOT_CAPA),
                ("AUTH PLAIN AGFsaWNlAHB3", "+OK Logged in.\r\n"),
                ("CAPA", DOVECOT_CAPA),
                ("STAT", "+OK 3 600\r\n"),
                ("UIDL", "+OK\r\n2 b\r\n1 a\r\n3 c\r\n.\r\n"),
                ("TOP 1 0", "+OK\r\nSubject: one\r\n\r\n.\r\n"),
                ("TOP 9 0", "-ERR There's no message 9.\r\n"),
                ("TOP 3 0", "+OK\r\nSubject: three\r\n\r\n.\r\n"),
                ("QUIT", "+OK Logging out.\r\n"),
            ],
        );
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        assert!(client.capa && client.caps.pipelining && !client.caps.apop);
        client
            .login(&login(AuthKind::Password, "pw"))
            .await
            .unwrap();
        client.refresh_capabilities().await.unwrap();
        assert_eq!(client.stat().await.unwrap(), (3, 600));
        assert_eq!(
            client.uidl().await.unwrap(),
            vec![(1, "a".into()), (2, "b".into()), (3, "c".into())]
        );
        assert_eq!(
            client.headers(&[1, 9, 3]).await.unwrap(),
            vec![
                Some(b"Subject: one\r\n\r\n".to_vec()),
                None,
                Some(b"Subject: three\r\n\r\n".to_vec())
            ]
        );
        client.quit().await;
        let seen = task.await.unwrap();
        assert!(!seen.iter().any(|c| c.starts_with("DELE")));
    }

    #[tokio::test]
    async fn without_capa_user_pass_then_top_is_probed() {
        let (stream, task) = server(
            "+OK hello\r\n",
            vec![
                ("CAPA", "-ERR unknown command\r\n"),
                ("USER alice", "+OK\r\n"),
                ("PASS pw", "+OK\r\n"),
                // Message 4 is gone: LIST says so, TOP stays in use.
                ("TOP 4 0", "-ERR no such message\r\n"),
                ("LIST 4", "-ERR no such message\r\n"),
                // Message 5 exists: TOP itself is missing, RETR takes over.
                ("TOP 5 0", "-ERR unknown command\r\n"),
                ("LIST 5", "+OK 5 120\r\n"),
                ("RETR 5", "+OK\r\nSubject: five\r\n\r\nbody\r\n.\r\n"),
                ("RETR 6", "+OK\r\nSubject: six\r\n\r\n..\r\n.\r\n"),
                ("UIDL", "-ERR unknown command\r\n"),
            ],
        );
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        assert!(!client.capa && client.caps.user && client.caps.top);
        client
            .login(&login(AuthKind::Password, "pw"))
            .await
            .unwrap();
        assert_eq!(
            client.headers(&[4, 5, 6]).await.unwrap(),
            vec![
                None,
                Some(b"Subject: five\r\n\r\n".to_vec()),
                Some(b"Subject: six\r\n\r\n".to_vec())
            ]
        );
        assert!(!client.caps.top);
        let err = client.uidl().await.unwrap_err();
        assert!(
            matches!(&err, Error::Unsupported { host, what } if host == "pop.test" && what.starts_with("UIDL")),
            "{err}"
        );
        task.await.unwrap();
    }

    #[tokio::test]
    async fn apop_when_nothing_else_is_offered() {
        let (stream, task) = server(
            "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
            vec![
                ("CAPA", "+OK\r\nTOP\r\nUIDL\r\n.\r\n"),
                (
                    "APOP alice c4c9334bac560ecc979e58001b3e22fb",
                    "+OK maildrop has 1 message\r\n",
                ),
            ],
        );
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        assert!(client.caps.apop);
        client
            .login(&login(AuthKind::Password, "tanstaaf"))
            .await
            .unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn xoauth2_goes_after_the_plus_and_failures_say_why() {
        let token = "ya29.token";
        let response = xoauth2_response("alice", token);
        let script: Vec<(&'static str, &'static str)> = vec![
            ("CAPA", "+OK\r\nSASL PLAIN XOAUTH2\r\nUIDL\r\n.\r\n"),
            ("AUTH XOAUTH2", "+ \r\n"),
            (response.clone().leak(), "+ eyJzdGF0dXMiOiI0MDEifQ==\r\n"),
            ("", "-ERR [AUTH] Invalid credentials for alice\r\n"),
        ];
        let (stream, task) = server("+OK ready\r\n", script);
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        let err = client
            .login(&login(AuthKind::Xoauth2, token))
            .await
            .unwrap_err();
        let Error::Auth { account, detail } = &err else {
            panic!("{err}")
        };
        assert_eq!(account, "test");
        assert!(
            detail.contains("Invalid credentials for [user]"),
            "{detail}"
        );
        assert!(detail.contains("401"), "{detail}");
        task.await.unwrap();

        // Not offered: said clearly, nothing sent.
        let (stream, task) = server("+OK ready\r\n", vec![("CAPA", DOVECOT_CAPA)]);
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        let err = client
            .login(&login(AuthKind::Xoauth2, token))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Unsupported { what, .. } if what.contains("XOAUTH2")),
            "{err}"
        );
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_refused_login_quotes_the_server_without_the_secret() {
        let (stream, task) = server(
            "+OK ready\r\n",
            vec![
                ("CAPA", "+OK\r\nUSER\r\n.\r\n"),
                ("USER alice", "+OK\r\n"),
                ("PASS s3cret-pw", "-ERR [AUTH] bad password s3cret-pw\r\n"),
            ],
        );
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        let err = client
            .login(&login(AuthKind::Password, "s3cret-pw"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Auth { .. }), "{text}");
        assert!(
            text.contains("[AUTH] bad password [secret]") && !text.contains("s3cret"),
            "{text}"
        );
        task.await.unwrap();

        // A locked maildrop is no password problem.
        let (stream, task) = server(
            "+OK ready\r\n",
            vec![
                ("CAPA", DOVECOT_CAPA),
                (
                    "AUTH PLAIN AGFsaWNlAHB3",
                    "-ERR [IN-USE] Mailbox is locked\r\n",
                ),
            ],
        );
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        let err = client
            .login(&login(AuthKind::Password, "pw"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Network { host, detail } if host == "pop.test" && detail.contains("IN-USE")),
            "{err}"
        );
        task.await.unwrap();

        let (stream, _task) = server("+OK ready\r\n", vec![("CAPA", DOVECOT_CAPA)]);
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        let err = client
            .login(&login(AuthKind::Password, "pw\r\nDELE 1"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Auth { .. }));
    }

    #[tokio::test]
    async fn stls_needs_the_server_to_offer_it() {
        let (stream, task) = server("+OK ready\r\n", vec![("CAPA", DOVECOT_CAPA)]);
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        let err = client.stls().await.unwrap_err();
        assert!(
            matches!(&err, Error::Unsupported { what, .. } if what.starts_with("STLS")),
            "{err}"
        );
        task.await.unwrap();
        // Bytes that arrive with the STLS answer, before the handshake, are refused.
        let (stream, task) = server(
            "+OK ready\r\n",
            vec![
                ("CAPA", "+OK\r\nSTLS\r\n.\r\n"),
                ("STLS", "+OK Begin TLS\r\n+OK injected\r\n"),
            ],
        );
        let mut client = Client::greet(stream, "pop.test".into()).await.unwrap();
        client.stls().await.unwrap();
        task.await.unwrap();
        // Make sure the injected line is buffered before checking.
        client.wire.stream.fill_buf().await.unwrap();
        let err = client.wire.into_inner().unwrap_err();
        assert!(
            err.to_string().contains("before the TLS handshake"),
            "{err}"
        );
    }
}
