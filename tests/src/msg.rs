//! Writes Outlook `.msg` files ([MS-OXMSG]) for the tests: a Compound File with a properties
//! stream, one `__substg1.0_` stream per variable-size property and one storage per recipient,
//! the layout Outlook saves. Messages are made from `.eml` files the way Outlook stores them:
//! received mail with its transport headers, sent mail from its properties alone.

use std::io::Write;
use std::path::{Path, PathBuf};

use rapport_core::mail::{Envelope, Mailbox, ParseOptions, parse_envelope};

/// A MAPI property value.
#[derive(Debug, Clone)]
pub enum Value {
    /// PtypString: UTF-16LE.
    Unicode(String),
    /// PtypString8: bytes in the message's code page.
    Ansi(Vec<u8>),
    Int(i32),
    /// PtypTime, given as seconds since the Unix epoch.
    Time(i64),
    Binary(Vec<u8>),
}

impl Value {
    fn kind(&self) -> u16 {
        match self {
            Value::Unicode(_) => 0x001F,
            Value::Ansi(_) => 0x001E,
            Value::Int(_) => 0x0003,
            Value::Time(_) => 0x0040,
            Value::Binary(_) => 0x0102,
        }
    }

    /// The bytes of its stream, for variable-size values (strings end with a NUL, as Outlook
    /// writes them).
    fn stream(&self) -> Option<Vec<u8>> {
        match self {
            Value::Unicode(s) => Some(
                s.encode_utf16()
                    .chain([0])
                    .flat_map(|u| u.to_le_bytes())
                    .collect(),
            ),
            Value::Ansi(b) => Some(b.iter().copied().chain([0]).collect()),
            Value::Binary(b) => Some(b.clone()),
            Value::Int(_) | Value::Time(_) => None,
        }
    }

    /// The 8 bytes of its properties-stream entry.
    fn inline(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        match self {
            Value::Int(v) => out[..4].copy_from_slice(&v.to_le_bytes()),
            Value::Time(t) => {
                let filetime = (t + 11_644_473_600) * 10_000_000;
                out.copy_from_slice(&filetime.to_le_bytes());
            }
            other => {
                let len = other.stream().map(|s| s.len()).unwrap_or(0) as u32;
                out[..4].copy_from_slice(&len.to_le_bytes());
            }
        }
        out
    }
}

pub type Properties = Vec<(u16, Value)>;

/// One `.msg` file's content.
#[derive(Debug, Clone, Default)]
pub struct MsgFile {
    pub properties: Properties,
    pub recipients: Vec<Properties>,
}

pub const SUBJECT: u16 = 0x0037;
pub const CLIENT_SUBMIT_TIME: u16 = 0x0039;
pub const SENT_REPRESENTING_NAME: u16 = 0x0042;
pub const SENT_REPRESENTING_ADDRTYPE: u16 = 0x0064;
pub const SENT_REPRESENTING_EMAIL: u16 = 0x0065;
pub const TRANSPORT_MESSAGE_HEADERS: u16 = 0x007D;
pub const RECIPIENT_TYPE: u16 = 0x0C15;
pub const SENDER_NAME: u16 = 0x0C1A;
pub const SENDER_ADDRTYPE: u16 = 0x0C1E;
pub const SENDER_EMAIL: u16 = 0x0C1F;
pub const MESSAGE_DELIVERY_TIME: u16 = 0x0E06;
pub const MESSAGE_FLAGS: u16 = 0x0E07;
pub const INTERNET_MESSAGE_ID: u16 = 0x1035;
pub const INTERNET_REFERENCES: u16 = 0x1039;
pub const IN_REPLY_TO_ID: u16 = 0x1042;
pub const DISPLAY_NAME: u16 = 0x3001;
pub const ADDRTYPE: u16 = 0x3002;
pub const EMAIL_ADDRESS: u16 = 0x3003;
pub const SMTP_ADDRESS: u16 = 0x39FE;
pub const MESSAGE_CODEPAGE: u16 = 0x3FFD;
pub const SENDER_SMTP_ADDRESS: u16 = 0x5D01;

fn write_properties<F: std::io::Read + std::io::Write + std::io::Seek>(
    cfb: &mut cfb::CompoundFile<F>,
    dir: &str,
    header: &[u8],
    properties: &Properties,
) {
    let mut entries = header.to_vec();
    for (id, value) in properties {
        entries.extend_from_slice(&value.kind().to_le_bytes());
        entries.extend_from_slice(&id.to_le_bytes());
        entries.extend_from_slice(&6u32.to_le_bytes()); // readable | writable
        entries.extend_from_slice(&value.inline());
        if let Some(bytes) = value.stream() {
            let name = format!("{dir}/__substg1.0_{id:04X}{:04X}", value.kind());
            cfb.create_stream(&name).unwrap().write_all(&bytes).unwrap();
        }
    }
    cfb.create_stream(format!("{dir}/__properties_version1.0"))
        .unwrap()
        .write_all(&entries)
        .unwrap();
}

impl MsgFile {
    pub fn bytes(&self) -> Vec<u8> {
        let mut cfb = cfb::CompoundFile::create(std::io::Cursor::new(Vec::new())).unwrap();
        cfb.create_storage("/__nameid_version1.0").unwrap();
        let count = self.recipients.len() as u32;
        let mut header = vec![0u8; 8];
        header.extend_from_slice(&count.to_le_bytes()); // next recipient id
        header.extend_from_slice(&0u32.to_le_bytes()); // next attachment id
        header.extend_from_slice(&count.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&[0u8; 8]);
        write_properties(&mut cfb, "", &header, &self.properties);
        for (i, recipient) in self.recipients.iter().enumerate() {
            let dir = format!("/__recip_version1.0_#{i:08X}");
            cfb.create_storage(&dir).unwrap();
            write_properties(&mut cfb, &dir, &[0u8; 8], recipient);
        }
        cfb.flush().unwrap();
        cfb.into_inner().into_inner()
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.bytes()).unwrap();
    }

    /// The message as Outlook saves mail it received (`transport_headers`: the header section is
    /// kept) or mail it sent (properties only).
    pub fn from_eml(raw: &[u8], transport_headers: bool) -> MsgFile {
        let env = parse_envelope(
            raw,
            ParseOptions {
                // Dates are judged against this "now": far enough ahead for any fixture.
                capture_time: 4_000_000_000,
                snippet: false,
            },
        )
        .unwrap();
        let mut msg = MsgFile::from_envelope(&env);
        if transport_headers {
            let end = find(raw, b"\r\n\r\n")
                .map(|i| i + 2)
                .or_else(|| find(raw, b"\n\n").map(|i| i + 1))
                .unwrap_or(raw.len());
            let headers = String::from_utf8_lossy(&raw[..end]).into_owned();
            msg.properties
                .push((TRANSPORT_MESSAGE_HEADERS, Value::Unicode(headers)));
        }
        msg
    }

    /// The properties Outlook keeps for a message with this envelope.
    pub fn from_envelope(env: &Envelope) -> MsgFile {
        let mut properties: Properties = Vec::new();
        if let Some(from) = env.from.first() {
            properties.extend(person(
                from,
                SENT_REPRESENTING_NAME,
                SENT_REPRESENTING_ADDRTYPE,
            ));
            properties.extend(person(from, SENDER_NAME, SENDER_ADDRTYPE));
        }
        if env.date_problem.is_none() {
            properties.push((CLIENT_SUBMIT_TIME, Value::Time(env.date)));
            properties.push((MESSAGE_DELIVERY_TIME, Value::Time(env.date)));
        }
        if !env.subject.is_empty() {
            properties.push((SUBJECT, Value::Unicode(env.subject.clone())));
        }
        if let Some(id) = &env.message_id {
            properties.push((INTERNET_MESSAGE_ID, Value::Unicode(format!("<{id}>"))));
        }
        if let Some(parent) = env.in_reply_to.first() {
            properties.push((IN_REPLY_TO_ID, Value::Unicode(format!("<{parent}>"))));
        }
        if !env.references.is_empty() {
            let refs: Vec<String> = env.references.iter().map(|r| format!("<{r}>")).collect();
            properties.push((INTERNET_REFERENCES, Value::Unicode(refs.join(" "))));
        }
        properties.push((MESSAGE_FLAGS, Value::Int(1)));
        let mut recipients = Vec::new();
        for (kind, list) in [(1, &env.to), (2, &env.cc), (3, &env.bcc)] {
            for mailbox in list {
                let mut r = vec![(RECIPIENT_TYPE, Value::Int(kind))];
                r.extend(person(mailbox, DISPLAY_NAME, ADDRTYPE));
                recipients.push(r);
            }
        }
        MsgFile {
            properties,
            recipients,
        }
    }
}

/// Writes every message of a maildir (`cur/` and `new/`) as a `.msg` file in `out`
/// (`transport_headers`: as Outlook saves mail it received, else as it saves mail it sent), each
/// with its file's modification time (the date of mail without a Date header). Returns the
/// files, in the order of the maildir's sorted file names.
pub fn write_maildir_as_msg(maildir: &Path, out: &Path, transport_headers: bool) -> Vec<PathBuf> {
    std::fs::create_dir_all(out).unwrap();
    let mut files: Vec<PathBuf> = ["cur", "new"]
        .iter()
        .filter_map(|d| std::fs::read_dir(maildir.join(d)).ok())
        .flat_map(|rd| rd.map(|e| e.unwrap().path()))
        .collect();
    files.sort();
    files
        .iter()
        .map(|eml| {
            let raw = std::fs::read(eml).unwrap();
            let name = eml.file_name().unwrap().to_string_lossy().replace(':', "_");
            let path = out.join(format!("{name}.msg"));
            MsgFile::from_eml(&raw, transport_headers).write(&path);
            let modified = std::fs::metadata(eml).unwrap().modified().unwrap();
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(modified)
                .unwrap();
            path
        })
        .collect()
}

/// Name, address type and address, at `name_id`, `addrtype_id` and the id after the address
/// type (the layout of the sender, representing and recipient triples).
fn person(m: &Mailbox, name_id: u16, addrtype_id: u16) -> Properties {
    let email_id = match addrtype_id {
        SENT_REPRESENTING_ADDRTYPE => SENT_REPRESENTING_EMAIL,
        SENDER_ADDRTYPE => SENDER_EMAIL,
        _ => EMAIL_ADDRESS,
    };
    let mut out = vec![
        (addrtype_id, Value::Unicode("SMTP".into())),
        (email_id, Value::Unicode(m.address.email.clone())),
    ];
    if let Some(name) = &m.name {
        out.push((name_id, Value::Unicode(name.clone())));
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
