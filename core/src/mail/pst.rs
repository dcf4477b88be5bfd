//! Outlook data files (`.pst`, [MS-PST]), Unicode and ANSI, read with Microsoft's `outlook-pst`
//! crate (vendored with two fixes for real-world files: `vendor/outlook-pst/README-RAPPORT.md`),
//! always through a read-only handle. Every mail item of every folder under the top of the
//! personal folders becomes a header section, exactly as a `.msg` file's would
//! ([`super::msg`]): one message that cannot be read is reported and the rest go on.
//!
//! Offline files (`.ost`, the cache of an IMAP or Exchange account) share the format's
//! signature but not its layout; they are refused with a clear message (their mail is on the
//! account's server, which Rapport reads directly).
//!
//! [MS-PST]: https://learn.microsoft.com/openspecs/office_file_formats/ms-pst

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;

use outlook_pst::ltp::prop_context::PropertyValue;
use outlook_pst::messaging::folder::Folder;
use outlook_pst::messaging::store::{AnsiStore, Store, UnicodeStore};
use outlook_pst::ndb::node_id::NodeId;
use outlook_pst::{AnsiPstFile, UnicodePstFile};

use super::msg::{
    self, INTERNET_CPID, MESSAGE_CLASS, MESSAGE_CODEPAGE, MESSAGE_PROPERTIES, MsgError, Properties,
};
use crate::source::FolderRole;

/// The first bytes of every PST and OST file (`dwMagic`).
pub const PST_SIGNATURE: &[u8; 4] = b"!BDN";

/// Folders deeper than this are not entered (real stores are a few levels deep; a damaged
/// hierarchy must not recurse without end).
const MAX_FOLDER_DEPTH: usize = 64;

/// Why an Outlook data file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum PstError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "an Outlook offline file (.ost): not supported. It is a cache of an IMAP, Exchange or Microsoft 365 mailbox; add that account instead (rapport account add --help)"
    )]
    Offline,
    #[error("not an Outlook data file: {0}")]
    NotPst(String),
    #[error("a damaged Outlook data file: {0}")]
    Damaged(String),
}

/// One item of the file, as read.
pub struct PstItem {
    /// The folder's path from the top of the personal folders (`Inbox/Clients`).
    pub folder: String,
    /// The folder holds sent mail.
    pub sent: bool,
    /// The item's node id: stable for the life of the file, so it names the source.
    pub node: u32,
    /// The item's header section, or why it could not be read.
    pub section: Result<Vec<u8>, String>,
}

/// What a whole read found besides the items handed over.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PstSummary {
    pub folders: u64,
    /// Contacts, appointments, tasks and notes: not mail, not handed over.
    pub not_mail: u64,
}

/// The format from the header: Unicode (`wVer` 23) or ANSI (14, 15); OSTs refused.
enum Format {
    Unicode,
    Ansi,
}

fn format_of<R: Read + Seek>(reader: &mut R) -> Result<Format, PstError> {
    let mut header = [0u8; 12];
    reader.seek(SeekFrom::Start(0))?;
    reader
        .read_exact(&mut header)
        .map_err(|_| PstError::NotPst("shorter than a PST header".into()))?;
    reader.seek(SeekFrom::Start(0))?;
    if &header[..4] != PST_SIGNATURE {
        return Err(PstError::NotPst("no !BDN signature".into()));
    }
    let client = &header[8..10];
    let version = u16::from_le_bytes([header[10], header[11]]);
    match (client, version) {
        (b"SO", _) | (_, 36) => Err(PstError::Offline),
        (b"SM", 23) => Ok(Format::Unicode),
        (b"SM", 14 | 15) => Ok(Format::Ansi),
        _ => Err(PstError::NotPst(format!(
            "unknown client magic {:?} or version {version}",
            String::from_utf8_lossy(client)
        ))),
    }
}

/// One folder of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PstFolder {
    /// Its path from the top of the personal folders (`Inbox/Clients`; `""` for the top).
    pub path: String,
    pub sent: bool,
}

/// Which items a walk reads.
enum Items<'a> {
    All,
    None,
    Of(&'a str, &'a dyn Fn(u32) -> bool),
}

/// Reads every mail item of the file, handing each to `visit` (which returns false to stop).
pub fn read<R: Read + Seek + 'static>(
    reader: R,
    visit: &mut dyn FnMut(PstItem) -> bool,
) -> Result<PstSummary, PstError> {
    walk(reader, Items::All, visit).map(|(summary, _)| summary)
}

/// The file's folders, in the order a read visits them (no item is opened).
pub fn folders<R: Read + Seek + 'static>(reader: R) -> Result<Vec<PstFolder>, PstError> {
    walk(reader, Items::None, &mut |_| true).map(|(_, folders)| folders)
}

/// Reads the mail items of one folder (by its path) only, and of those only the ones `wanted`
/// names by node id (the others are not opened).
pub fn read_folder<R: Read + Seek + 'static>(
    reader: R,
    path: &str,
    wanted: &dyn Fn(u32) -> bool,
    visit: &mut dyn FnMut(PstItem) -> bool,
) -> Result<PstSummary, PstError> {
    walk(reader, Items::Of(path, wanted), visit).map(|(summary, _)| summary)
}

fn walk<R: Read + Seek + 'static>(
    mut reader: R,
    items: Items<'_>,
    visit: &mut dyn FnMut(PstItem) -> bool,
) -> Result<(PstSummary, Vec<PstFolder>), PstError> {
    let damaged = |e: std::io::Error| {
        PstError::Damaged(if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "it ends before its structures do (cut short?)".into()
        } else {
            e.to_string()
        })
    };
    let store: Rc<dyn Store> = match format_of(&mut reader)? {
        Format::Unicode => {
            let file = UnicodePstFile::read_from(Box::new(reader)).map_err(damaged)?;
            UnicodeStore::read(Rc::new(file)).map_err(damaged)?
        }
        Format::Ansi => {
            let file = AnsiPstFile::read_from(Box::new(reader)).map_err(damaged)?;
            AnsiStore::read(Rc::new(file)).map_err(damaged)?
        }
    };
    let top = store
        .properties()
        .ipm_sub_tree_entry_id()
        .and_then(|id| store.open_folder(&id))
        .map_err(damaged)?;
    let mut walk = Walk {
        store: store.as_ref(),
        visit,
        items,
        entered: HashSet::new(),
        summary: PstSummary::default(),
        folders: Vec::new(),
    };
    walk.folder(&top, "", false, 0);
    Ok((walk.summary, walk.folders))
}

struct Walk<'a> {
    store: &'a dyn Store,
    visit: &'a mut dyn FnMut(PstItem) -> bool,
    items: Items<'a>,
    entered: HashSet<u32>,
    summary: PstSummary,
    folders: Vec<PstFolder>,
}

impl Walk<'_> {
    /// Reads a folder's items, then its subfolders. Returns false when told to stop.
    fn folder(&mut self, folder: &Rc<dyn Folder>, path: &str, sent: bool, depth: usize) -> bool {
        if !self
            .entered
            .insert(u32::from(folder.properties().node_id()))
        {
            return true;
        }
        self.summary.folders += 1;
        self.folders.push(PstFolder {
            path: path.to_string(),
            sent,
        });
        let (read_here, wanted): (bool, &dyn Fn(u32) -> bool) = match self.items {
            Items::All => (true, &|_| true),
            Items::None => (false, &|_| false),
            Items::Of(only, wanted) => (only == path, wanted),
        };
        if let Some(contents) = folder.contents_table().filter(|_| read_here) {
            for row in contents.rows_matrix() {
                let node = u32::from(row.id());
                if !wanted(node) {
                    continue;
                }
                let section = self.item(node);
                let section = match section {
                    Ok(Some(section)) => Ok(section),
                    Ok(None) => {
                        self.summary.not_mail += 1;
                        continue;
                    }
                    Err(e) => Err(e),
                };
                let item = PstItem {
                    folder: path.to_string(),
                    sent,
                    node,
                    section,
                };
                if !(self.visit)(item) {
                    return false;
                }
            }
        }
        if depth >= MAX_FOLDER_DEPTH {
            tracing::warn!(folder = %path, "folders nested deeper than {MAX_FOLDER_DEPTH} levels: not read");
            return true;
        }
        let Some(hierarchy) = folder.hierarchy_table() else {
            return true;
        };
        let children: Vec<u32> = hierarchy.rows_matrix().map(|r| u32::from(r.id())).collect();
        for node in children {
            let opened = self
                .store
                .properties()
                .make_entry_id(NodeId::from(node))
                .and_then(|id| self.store.open_folder(&id));
            let child = match opened {
                Ok(child) => child,
                Err(e) => {
                    let item = PstItem {
                        folder: path.to_string(),
                        sent,
                        node,
                        section: Err(format!("a subfolder cannot be opened: {e}")),
                    };
                    if !(self.visit)(item) {
                        return false;
                    }
                    continue;
                }
            };
            let name = child
                .properties()
                .display_name()
                .unwrap_or_else(|_| format!("folder {node}"));
            let child_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            // Mail under a Sent folder is sent mail, however it is filed below it.
            let child_sent = sent || FolderRole::from_name(&name).is_sent();
            if !self.folder(&child, &child_path, child_sent, depth + 1) {
                return false;
            }
        }
        true
    }

    /// One item's header section; `None` for items that are not mail.
    fn item(&self, node: u32) -> Result<Option<Vec<u8>>, String> {
        let id = self
            .store
            .properties()
            .make_entry_id(NodeId::from(node))
            .map_err(|e| e.to_string())?;
        let message = self
            .store
            .open_message(&id, Some(&MESSAGE_PROPERTIES))
            .map_err(|e| e.to_string())?;
        let values: BTreeMap<u16, PropertyValue> = message
            .properties()
            .iter()
            .map(|(id, v)| (*id, v.clone()))
            .collect();
        let mut top = Values {
            values,
            code_page: None,
        };
        top.code_page = top
            .integer(MESSAGE_CODEPAGE)
            .or_else(|| top.integer(INTERNET_CPID))
            .map(|cp| cp as u32);
        if !top.text(MESSAGE_CLASS).is_none_or(|class| is_mail(&class)) {
            return Ok(None);
        }
        let mut recipients = Vec::new();
        if let Some(table) = message.recipient_table() {
            let context = table.context();
            for row in table.rows_matrix() {
                let columns = row.columns(context).map_err(|e| e.to_string())?;
                let mut values = BTreeMap::new();
                for (column, value) in context.columns().iter().zip(columns) {
                    if let Some(value) = value {
                        let value = table
                            .read_column(&value, column.prop_type())
                            .map_err(|e| e.to_string())?;
                        values.insert(column.prop_id(), value);
                    }
                }
                let values = Values {
                    values,
                    code_page: top.code_page,
                };
                recipients.extend(msg::recipient(&values));
            }
        }
        msg::header_section_of(&top, recipients)
            .map(Some)
            .map_err(|e: MsgError| e.to_string())
    }
}

/// Mail, meeting requests and delivery reports; not contacts, appointments, tasks or notes.
fn is_mail(class: &str) -> bool {
    let class = class.to_ascii_uppercase();
    class == "IPM"
        || class.starts_with("IPM.NOTE")
        || class.starts_with("IPM.SCHEDULE.MEETING")
        || class.starts_with("REPORT.")
}

/// Property values of one item or recipient row.
struct Values {
    values: BTreeMap<u16, PropertyValue>,
    code_page: Option<u32>,
}

impl Properties for Values {
    fn text(&self, id: u16) -> Option<String> {
        match self.values.get(&id)? {
            PropertyValue::Unicode(v) => msg::present(String::from_utf16_lossy(v.buffer())),
            PropertyValue::String8(v) => {
                msg::present(msg::decode_code_page(v.buffer(), self.code_page))
            }
            _ => None,
        }
    }

    fn integer(&self, id: u16) -> Option<i32> {
        match self.values.get(&id)? {
            PropertyValue::Integer32(v) => Some(*v),
            PropertyValue::Integer16(v) => Some(i32::from(*v)),
            _ => None,
        }
    }

    fn time(&self, id: u16) -> Option<i64> {
        match self.values.get(&id)? {
            PropertyValue::Time(t) => msg::unix_time(*t),
            _ => None,
        }
    }

    fn binary(&self, id: u16) -> Option<Vec<u8>> {
        match self.values.get(&id)? {
            PropertyValue::Binary(v) => Some(v.buffer().to_vec()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(client: &[u8; 2], version: u16) -> std::io::Cursor<Vec<u8>> {
        let mut bytes = PST_SIGNATURE.to_vec();
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(client);
        bytes.extend_from_slice(&version.to_le_bytes());
        bytes.resize(600, 0);
        std::io::Cursor::new(bytes)
    }

    #[test]
    fn offline_files_are_refused_by_name() {
        let mut visit = |_: PstItem| true;
        for (client, version) in [(b"SO", 23), (b"SO", 36), (b"SM", 36)] {
            let err = read(header(client, version), &mut visit).err();
            assert!(matches!(err, Some(PstError::Offline)), "{err:?}");
        }
        let err = read(header(b"XX", 23), &mut visit).err();
        assert!(matches!(err, Some(PstError::NotPst(_))), "{err:?}");
        // A PST header and nothing behind it: damaged, not a crash.
        let err = read(header(b"SM", 23), &mut visit).err();
        assert!(matches!(err, Some(PstError::Damaged(_))), "{err:?}");
    }

    #[test]
    fn mail_classes() {
        for class in [
            "IPM.Note",
            "IPM.Note.SMIME",
            "ipm.note",
            "REPORT.IPM.Note.NDR",
        ] {
            assert!(is_mail(class), "{class}");
        }
        for class in ["IPM.Contact", "IPM.Appointment", "IPM.Task", "IPM.DistList"] {
            assert!(!is_mail(class), "{class}");
        }
    }
}
