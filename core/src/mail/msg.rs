//! Outlook message files (`.msg`, [MS-OXMSG]): a Compound File Binary whose streams hold one
//! message's MAPI properties. Rapport reads the properties it needs and writes them out as an
//! RFC 5322 header section, so a dropped `.msg` goes through the same parser, and gives the
//! same database, as the same mail as `.eml`.
//!
//! Received mail keeps its transport headers (`PR_TRANSPORT_MESSAGE_HEADERS`): they are the
//! original header section and are used as they are, with any field they lack taken from the
//! properties. Mail without them (sent items, drafts saved as files) is described from the
//! properties alone: sender, recipients with their SMTP addresses, dates, subject, Message-ID,
//! In-Reply-To, References and the conversation index.
//!
//! [MS-OXMSG]: https://learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxmsg

use std::io::{Read, Seek};

use base64::Engine as _;

/// The first bytes of every Compound File Binary file.
pub const CFB_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The most read from one property stream: the transport headers are bounded like any header
/// section; every other property Rapport reads is short.
const MAX_STREAM_BYTES: u64 = super::MAX_HEADER_BYTES as u64;
/// Recipients read from one message (like [`super::parse::MAX_ADDRESSES_PER_FIELD`], for all
/// fields together).
const MAX_RECIPIENTS: usize = 3 * super::parse::MAX_ADDRESSES_PER_FIELD;

const PROPERTIES: &str = "__properties_version1.0";
const RECIPIENT_PREFIX: &str = "__recip_version1.0_#";
/// Bytes before the first property entry of the top-level properties stream, and of a
/// recipient's ([MS-OXMSG] 2.4.1.1, 2.4.1.2).
const TOP_HEADER: usize = 32;
const RECIPIENT_HEADER: usize = 8;

// Property ids ([MS-OXPROPS]).
const SUBJECT: u16 = 0x0037;
const CLIENT_SUBMIT_TIME: u16 = 0x0039;
const SENT_REPRESENTING_NAME: u16 = 0x0042;
const SENT_REPRESENTING_ADDRTYPE: u16 = 0x0064;
const SENT_REPRESENTING_EMAIL: u16 = 0x0065;
const CONVERSATION_TOPIC: u16 = 0x0070;
const CONVERSATION_INDEX: u16 = 0x0071;
const TRANSPORT_MESSAGE_HEADERS: u16 = 0x007D;
const RECIPIENT_TYPE: u16 = 0x0C15;
const SENDER_NAME: u16 = 0x0C1A;
const SENDER_ADDRTYPE: u16 = 0x0C1E;
const SENDER_EMAIL: u16 = 0x0C1F;
const MESSAGE_DELIVERY_TIME: u16 = 0x0E06;
const INTERNET_MESSAGE_ID: u16 = 0x1035;
const INTERNET_REFERENCES: u16 = 0x1039;
const IN_REPLY_TO_ID: u16 = 0x1042;
const DISPLAY_NAME: u16 = 0x3001;
const ADDRTYPE: u16 = 0x3002;
const EMAIL_ADDRESS: u16 = 0x3003;
const SMTP_ADDRESS: u16 = 0x39FE;
pub(crate) const MESSAGE_CODEPAGE: u16 = 0x3FFD;
pub(crate) const INTERNET_CPID: u16 = 0x3FDE;
/// PR_MESSAGE_CLASS: what kind of item (mail, contact, appointment) an Outlook item is.
pub(crate) const MESSAGE_CLASS: u16 = 0x001A;
const SENDER_SMTP_ADDRESS: u16 = 0x5D01;
const SENT_REPRESENTING_SMTP_ADDRESS: u16 = 0x5D02;

// Property types.
const PT_INTEGER32: u16 = 0x0003;
const PT_TIME: u16 = 0x0040;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_BINARY: u16 = 0x0102;

/// Why a file could not be read as an Outlook message.
#[derive(Debug, thiserror::Error)]
pub enum MsgError {
    #[error("not a readable Compound File (the container of .msg files): {0}")]
    Container(std::io::Error),
    #[error(
        "a Compound File but not an Outlook message (it has no {PROPERTIES} stream; Word and Excel files use the same container)"
    )]
    NotAMessage,
    #[error("cannot read its stream {stream}: {error}")]
    Stream {
        stream: String,
        error: std::io::Error,
    },
    #[error("its property stream {stream} is {len} bytes, not a whole number of 16-byte entries")]
    Properties { stream: String, len: usize },
    #[error("the .msg reader crashed on it: {0}")]
    Crashed(String),
    #[error(
        "no sender, recipient, date, subject or Message-ID in its properties: nothing to record"
    )]
    Empty,
}

impl MsgError {
    /// The short reason a skip is grouped under.
    pub fn reason(&self) -> &'static str {
        match self {
            MsgError::NotAMessage => "not a message",
            _ => "unreadable Outlook message",
        }
    }
}

/// Whether bytes start like a Compound File (an Outlook `.msg`, or another Office file).
pub fn is_compound_file(bytes: &[u8]) -> bool {
    bytes.starts_with(&CFB_SIGNATURE)
}

/// The message's header section (ending with the empty line), from a `.msg` file or its bytes.
pub fn header_section<F: Read + Seek>(file: F) -> Result<Vec<u8>, MsgError> {
    let mut cfb = cfb::CompoundFile::open(file).map_err(MsgError::Container)?;
    if !cfb.is_stream(format!("/{PROPERTIES}")) {
        return Err(MsgError::NotAMessage);
    }
    let top = Storage::read(&mut cfb, "", TOP_HEADER)?;
    let recipients = recipients(&mut cfb, top.code_page)?;
    header_section_of(&top, recipients)
}

/// Where a message's MAPI properties come from: a `.msg` file's streams, or a row of an Outlook
/// data file. Strings come decoded (8-bit ones in the message's code page).
pub(crate) trait Properties {
    fn text(&self, id: u16) -> Option<String>;
    fn integer(&self, id: u16) -> Option<i32>;
    /// A PtypTime as seconds since the Unix epoch.
    fn time(&self, id: u16) -> Option<i64>;
    fn binary(&self, id: u16) -> Option<Vec<u8>>;
}

/// A message's header section from its properties and its recipients' (To/Cc/Bcc type and
/// person): the transport headers completed when it has them, else described in full.
pub(crate) fn header_section_of(
    top: &dyn Properties,
    recipients: Vec<(i32, Person)>,
) -> Result<Vec<u8>, MsgError> {
    let message = Message::from_properties(top, recipients);
    let transport = top.text(TRANSPORT_MESSAGE_HEADERS);
    match transport.filter(|h| h.contains(':')) {
        Some(headers) => Ok(message.complete(&headers)),
        None => message.described(),
    }
}

/// A recipient's type (1 To, 2 Cc, 3 Bcc; To when absent) and person, if it has an SMTP
/// address.
pub(crate) fn recipient(props: &dyn Properties) -> Option<(i32, Person)> {
    let person = Person::from(
        props.text(DISPLAY_NAME),
        props.text(SMTP_ADDRESS),
        props.text(ADDRTYPE),
        props.text(EMAIL_ADDRESS),
    )?;
    Some((props.integer(RECIPIENT_TYPE).unwrap_or(1), person))
}

/// FILETIME (100 ns intervals since 1601-01-01) → seconds since the Unix epoch.
pub(crate) fn unix_time(filetime: i64) -> Option<i64> {
    const EPOCH_DIFF: i64 = 11_644_473_600;
    (filetime > 0).then(|| filetime / 10_000_000 - EPOCH_DIFF)
}

/// One storage's properties: its fixed-size values, and its variable-size ones read on demand.
struct Storage {
    /// (property id, type, 8-byte value) of every entry in the properties stream.
    fixed: Vec<(u16, u16, [u8; 8])>,
    /// Streams named `__substg1.0_IIIITTTT` in this storage, read: (id, type, bytes).
    variable: Vec<(u16, u16, Vec<u8>)>,
    /// The code page of 8-bit strings (`PR_MESSAGE_CODEPAGE`, else `PR_INTERNET_CPID`).
    code_page: Option<u32>,
}

impl Storage {
    fn read<F: Read + Seek>(
        cfb: &mut cfb::CompoundFile<F>,
        dir: &str,
        header: usize,
    ) -> Result<Storage, MsgError> {
        let properties = format!("{dir}/{PROPERTIES}");
        let bytes = read_stream(cfb, &properties)?;
        let entries = bytes.get(header..).unwrap_or_default();
        if entries.len() % 16 != 0 {
            return Err(MsgError::Properties {
                stream: properties,
                len: bytes.len(),
            });
        }
        let fixed: Vec<(u16, u16, [u8; 8])> = entries
            .chunks_exact(16)
            .map(|e| {
                let mut value = [0u8; 8];
                value.copy_from_slice(&e[8..16]);
                (
                    u16::from_le_bytes([e[2], e[3]]),
                    u16::from_le_bytes([e[0], e[1]]),
                    value,
                )
            })
            .collect();
        let names: Vec<String> = cfb
            .read_storage(if dir.is_empty() { "/" } else { dir })
            .map_err(|error| MsgError::Stream {
                stream: dir.to_string(),
                error,
            })?
            .filter(|e| e.is_stream())
            .map(|e| e.name().to_string())
            .collect();
        let mut variable = Vec::new();
        for name in names {
            let Some((id, kind)) = substg_tag(&name) else {
                continue;
            };
            if !WANTED.contains(&id) {
                continue;
            }
            variable.push((id, kind, read_stream(cfb, &format!("{dir}/{name}"))?));
        }
        let mut storage = Storage {
            fixed,
            variable,
            code_page: None,
        };
        storage.code_page = storage
            .integer32(MESSAGE_CODEPAGE)
            .or_else(|| storage.integer32(INTERNET_CPID))
            .map(|cp| cp as u32);
        Ok(storage)
    }

    fn fixed(&self, id: u16, kind: u16) -> Option<[u8; 8]> {
        self.fixed
            .iter()
            .find(|(i, k, _)| *i == id && *k == kind)
            .map(|(_, _, v)| *v)
    }

    fn integer32(&self, id: u16) -> Option<i32> {
        self.fixed(id, PT_INTEGER32)
            .map(|v| i32::from_le_bytes([v[0], v[1], v[2], v[3]]))
    }
}

impl Properties for Storage {
    /// A string property, decoded: UTF-16LE, or 8-bit in the message's code page. Trailing
    /// NULs (which some writers count in the stream) are dropped; empty strings are absent.
    fn text(&self, id: u16) -> Option<String> {
        let (kind, bytes) = self
            .variable
            .iter()
            .filter(|(i, _, _)| *i == id)
            .map(|(_, k, v)| (*k, v))
            .find(|(k, _)| *k == PT_UNICODE || *k == PT_STRING8)?;
        if kind == PT_UNICODE {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            present(String::from_utf16_lossy(&units))
        } else {
            present(decode_code_page(bytes, self.code_page))
        }
    }

    fn integer(&self, id: u16) -> Option<i32> {
        self.integer32(id)
    }

    fn time(&self, id: u16) -> Option<i64> {
        unix_time(i64::from_le_bytes(self.fixed(id, PT_TIME)?))
    }

    fn binary(&self, id: u16) -> Option<Vec<u8>> {
        self.variable
            .iter()
            .find(|(i, k, _)| *i == id && *k == PT_BINARY)
            .map(|(_, _, v)| v.clone())
    }
}

/// Every property a message's header section is made from, and its class: what an Outlook
/// data file's reader decodes of each item (the rest is never decoded).
pub(crate) const MESSAGE_PROPERTIES: [u16; 24] = {
    let mut all = [0u16; 24];
    let mut i = 0;
    while i < WANTED.len() {
        all[i] = WANTED[i];
        i += 1;
    }
    all[19] = CLIENT_SUBMIT_TIME;
    all[20] = MESSAGE_DELIVERY_TIME;
    all[21] = MESSAGE_CODEPAGE;
    all[22] = INTERNET_CPID;
    all[23] = MESSAGE_CLASS;
    all
};

/// Every property read from a variable-size stream (others are not read at all).
const WANTED: [u16; 19] = [
    SUBJECT,
    SENT_REPRESENTING_NAME,
    SENT_REPRESENTING_ADDRTYPE,
    SENT_REPRESENTING_EMAIL,
    CONVERSATION_TOPIC,
    CONVERSATION_INDEX,
    TRANSPORT_MESSAGE_HEADERS,
    SENDER_NAME,
    SENDER_ADDRTYPE,
    SENDER_EMAIL,
    INTERNET_MESSAGE_ID,
    INTERNET_REFERENCES,
    IN_REPLY_TO_ID,
    SENDER_SMTP_ADDRESS,
    SENT_REPRESENTING_SMTP_ADDRESS,
    DISPLAY_NAME,
    ADDRTYPE,
    EMAIL_ADDRESS,
    SMTP_ADDRESS,
];

/// `__substg1.0_IIIITTTT` → (id, type).
fn substg_tag(name: &str) -> Option<(u16, u16)> {
    let tag = name.strip_prefix("__substg1.0_")?;
    if tag.len() != 8 || !tag.is_ascii() {
        return None;
    }
    let id = u16::from_str_radix(&tag[..4], 16).ok()?;
    let kind = u16::from_str_radix(&tag[4..], 16).ok()?;
    Some((id, kind))
}

fn read_stream<F: Read + Seek>(
    cfb: &mut cfb::CompoundFile<F>,
    path: &str,
) -> Result<Vec<u8>, MsgError> {
    let stream_error = |error| MsgError::Stream {
        stream: path.trim_start_matches('/').to_string(),
        error,
    };
    let stream = cfb.open_stream(path).map_err(stream_error)?;
    let mut bytes = Vec::new();
    stream
        .take(MAX_STREAM_BYTES)
        .read_to_end(&mut bytes)
        .map_err(stream_error)?;
    Ok(bytes)
}

/// A decoded string property without the trailing NULs some writers count in it; `None` when
/// nothing is left.
pub(crate) fn present(text: String) -> Option<String> {
    let text = text.trim_end_matches('\0');
    (!text.trim().is_empty()).then(|| text.to_string())
}

/// 8-bit text in a Windows code page; unknown code pages are read as Windows-1252, which
/// never fails (the text may then be wrong, but the addresses, which are ASCII, are right).
pub(crate) fn decode_code_page(bytes: &[u8], code_page: Option<u32>) -> String {
    use mail_parser::decoders::charsets::map::charset_decoder;
    let code_page = code_page.unwrap_or(1252);
    if code_page == 65001 {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let name = match code_page {
        20127 => "us-ascii".to_string(),
        932 => "shift_jis".to_string(),
        936 => "gbk".to_string(),
        949 => "euc-kr".to_string(),
        950 => "big5".to_string(),
        54936 => "gb18030".to_string(),
        51932 => "euc-jp".to_string(),
        50220..=50222 => "iso-2022-jp".to_string(),
        20866 => "koi8-r".to_string(),
        21866 => "koi8-u".to_string(),
        cp @ 28591..=28606 => format!("iso-8859-{}", cp - 28590),
        cp => format!("windows-{cp}"),
    };
    match charset_decoder(name.as_bytes()) {
        Some(decode) => decode(bytes),
        None => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A participant as the properties give it: a display name and, when known, an SMTP address
/// (an Exchange `EX` address without its SMTP form cannot be keyed and is left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    name: Option<String>,
    address: String,
}

impl Person {
    fn from(
        name: Option<String>,
        smtp: Option<String>,
        addrtype: Option<String>,
        email: Option<String>,
    ) -> Option<Person> {
        let is_smtp = addrtype.is_none_or(|t| t.trim().eq_ignore_ascii_case("SMTP"));
        let address = smtp
            .filter(|a| a.contains('@'))
            .or_else(|| email.filter(|a| is_smtp && a.contains('@')))?;
        Some(Person {
            name,
            address: address.trim().to_string(),
        })
    }

    /// `"Name" <address>`, the name quoted whatever it holds.
    fn to_header(&self) -> String {
        let address = one_line(&self.address);
        match &self.name {
            Some(name) if !name.trim().is_empty() && name.trim() != self.address => {
                let quoted = one_line(name.trim())
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"");
                format!("\"{quoted}\" <{address}>")
            }
            _ => format!("<{address}>"),
        }
    }
}

/// A header value on one line: CR and LF (which would start a new header field) become spaces.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

fn recipients<F: Read + Seek>(
    cfb: &mut cfb::CompoundFile<F>,
    code_page: Option<u32>,
) -> Result<Vec<(i32, Person)>, MsgError> {
    let mut names: Vec<String> = cfb
        .read_root_storage()
        .filter(|e| e.is_storage() && e.name().starts_with(RECIPIENT_PREFIX))
        .map(|e| e.name().to_string())
        .collect();
    names.sort();
    names.truncate(MAX_RECIPIENTS);
    let mut out = Vec::new();
    for name in names {
        let mut storage = Storage::read(cfb, &format!("/{name}"), RECIPIENT_HEADER)?;
        storage.code_page = storage.code_page.or(code_page);
        out.extend(recipient(&storage));
    }
    Ok(out)
}

/// The fields of one message, as header fields in the order a mail client writes them.
struct Message {
    fields: Vec<(&'static str, String)>,
}

impl Message {
    fn from_properties(top: &dyn Properties, recipients: Vec<(i32, Person)>) -> Message {
        let mut fields = Vec::new();
        let representing = Person::from(
            top.text(SENT_REPRESENTING_NAME),
            top.text(SENT_REPRESENTING_SMTP_ADDRESS),
            top.text(SENT_REPRESENTING_ADDRTYPE),
            top.text(SENT_REPRESENTING_EMAIL),
        );
        let sender = Person::from(
            top.text(SENDER_NAME),
            top.text(SENDER_SMTP_ADDRESS),
            top.text(SENDER_ADDRTYPE),
            top.text(SENDER_EMAIL),
        );
        // "Sent on behalf of": From is the one represented, Sender the one who sent it.
        match (representing, sender) {
            (Some(from), Some(sender)) if !from.address.eq_ignore_ascii_case(&sender.address) => {
                fields.push(("From", from.to_header()));
                fields.push(("Sender", sender.to_header()));
            }
            (Some(from), _) | (None, Some(from)) => fields.push(("From", from.to_header())),
            (None, None) => {}
        }
        for (kind, field) in [(1, "To"), (2, "Cc"), (3, "Bcc")] {
            let list: Vec<String> = recipients
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, p)| p.to_header())
                .collect();
            if !list.is_empty() {
                fields.push((field, list.join(", ")));
            }
        }
        if let Some(date) = top
            .time(CLIENT_SUBMIT_TIME)
            .or_else(|| top.time(MESSAGE_DELIVERY_TIME))
        {
            fields.push(("Date", crate::time::format_rfc5322(date)));
        }
        if let Some(subject) = top.text(SUBJECT) {
            fields.push(("Subject", one_line(strip_subject_marker(&subject))));
        }
        for (id, field) in [
            (INTERNET_MESSAGE_ID, "Message-ID"),
            (IN_REPLY_TO_ID, "In-Reply-To"),
            (INTERNET_REFERENCES, "References"),
        ] {
            if let Some(value) = top.text(id) {
                fields.push((field, one_line(value.trim())));
            }
        }
        if let Some(topic) = top.text(CONVERSATION_TOPIC) {
            fields.push(("Thread-Topic", one_line(&topic)));
        }
        if let Some(index) = top.binary(CONVERSATION_INDEX).filter(|b| !b.is_empty()) {
            fields.push((
                "Thread-Index",
                base64::engine::general_purpose::STANDARD.encode(&index),
            ));
        }
        Message { fields }
    }

    /// The transport headers, with the fields they lack appended from the properties.
    fn complete(&self, transport: &str) -> Vec<u8> {
        let mut out = transport.trim_end_matches(['\r', '\n', '\0']).to_string();
        out.push_str("\r\n");
        for (name, value) in &self.fields {
            if !has_field(transport, name) {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        out.push_str("\r\n");
        out.into_bytes()
    }

    /// A header section from the properties alone.
    fn described(&self) -> Result<Vec<u8>, MsgError> {
        let recordable = ["From", "To", "Cc", "Date", "Subject", "Message-ID"];
        if !self.fields.iter().any(|(n, _)| recordable.contains(n)) {
            return Err(MsgError::Empty);
        }
        let mut out = String::new();
        for (name, value) in &self.fields {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        Ok(out.into_bytes())
    }
}

/// Whether a header section has a field of this name (at the start of a line, any case).
fn has_field(headers: &str, name: &str) -> bool {
    headers.lines().any(|line| {
        line.split_once(':')
            .is_some_and(|(n, _)| n.trim_end().eq_ignore_ascii_case(name))
            && !line.starts_with([' ', '\t'])
    })
}

/// Outlook may store a subject with a `0x01 <length>` marker in front of its prefix.
fn strip_subject_marker(subject: &str) -> &str {
    let mut chars = subject.chars();
    match chars.next() {
        Some('\u{1}') => {
            chars.next();
            chars.as_str()
        }
        _ => subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_pages_decode_their_text() {
        assert_eq!(decode_code_page(b"caf\xe9", Some(1252)), "café");
        assert_eq!(
            decode_code_page(b"\xcf\xf0\xe8\xe2\xe5\xf2", Some(1251)),
            "Привет"
        );
        assert_eq!(decode_code_page(b"\x93\xfa\x96\x7b", Some(932)), "日本");
        assert_eq!(decode_code_page("ok é".as_bytes(), Some(65001)), "ok é");
        // Unknown code pages fall back to Windows-1252 rather than failing.
        assert_eq!(decode_code_page(b"caf\xe9", Some(4242)), "café");
        assert_eq!(decode_code_page(b"caf\xe9", None), "café");
    }

    #[test]
    fn people_need_an_smtp_address() {
        let p = |name: &str, smtp: &str, kind: &str, email: &str| {
            let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
            Person::from(some(name), some(smtp), some(kind), some(email))
        };
        assert_eq!(
            p("Ann", "", "SMTP", "ann@example.org").map(|p| p.to_header()),
            Some("\"Ann\" <ann@example.org>".to_string())
        );
        // An Exchange DN is no address; its SMTP form is.
        assert_eq!(p("Bob", "", "EX", "/O=CORP/OU=EXCHANGE/CN=BOB"), None);
        assert_eq!(
            p("Bob", "bob@corp.example", "EX", "/O=CORP/CN=BOB").map(|p| p.to_header()),
            Some("\"Bob\" <bob@corp.example>".to_string())
        );
        // Quotes and line breaks in names cannot break the header.
        assert_eq!(
            p("A \"B\"\r\nBcc: x@y", "", "SMTP", "a@b.example").map(|p| p.to_header()),
            Some("\"A \\\"B\\\"  Bcc: x@y\" <a@b.example>".to_string())
        );
    }

    #[test]
    fn fields_are_found_only_at_line_starts() {
        let headers = "From: a@b\r\nX-Note: Message-ID: no\r\n References: folded\r\n";
        assert!(has_field(headers, "from"));
        assert!(!has_field(headers, "Message-ID"));
        assert!(!has_field(headers, "References"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut bytes = CFB_SIGNATURE.to_vec();
        bytes.extend_from_slice(&[0xFF; 600]);
        assert!(header_section(std::io::Cursor::new(bytes)).is_err());
        assert!(header_section(std::io::Cursor::new(b"From: a@b\r\n\r\n".to_vec())).is_err());
    }
}
