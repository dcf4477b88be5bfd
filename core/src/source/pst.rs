//! An Outlook data file (`.pst`) as a pull source: account kind `pst`, kept current by
//! `rapport sync` and `rapport watch`. Each folder of the file is a folder; what was seen is
//! what the store already records as this account's sources in that folder (each item's node
//! id, written in the same transaction as the item), so a sync opens exactly the items not
//! stored yet, and one killed halfway resumes with nothing twice and nothing missing.
//!
//! Outlook keeps the PST it has open locked (on Windows, no other program may open it): the
//! file is read whenever it can be opened, and `watch` waits and tries again when it cannot.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{
    Batch, Cursor, FolderPlan, FolderRole, MessageInput, PullSource, PulledMessage, RemoteFolder,
    SourceKind,
};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::mail::pst::{self, PstError, PstItem};
use crate::source::pipeline::stored_external_ids;

/// The name Outlook shows for the top of a data file's folders (which rarely holds mail).
pub const TOP_FOLDER: &str = "Top of Personal Folders";

/// One Outlook data file, pulled as account `account`.
pub struct PstSource {
    engine: Arc<Engine>,
    account: String,
    path: PathBuf,
    /// Folder name → its path in the file (the same, except for the top).
    paths: HashMap<String, String>,
    /// The open folder's items not stored yet.
    pending: VecDeque<PulledMessage>,
    handed_over: u64,
}

impl PstSource {
    pub fn new(engine: Arc<Engine>, account: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        PstSource {
            engine,
            account: account.into(),
            path: path.into(),
            paths: HashMap::new(),
            pending: VecDeque::new(),
            handed_over: 0,
        }
    }
}

/// Opens the file for reading only; a file that cannot be opened is most often one Outlook has
/// open, which the error says.
pub fn open_pst(path: &Path) -> Result<std::io::BufReader<std::fs::File>> {
    std::fs::File::open(path)
        .map(std::io::BufReader::new)
        .map_err(|e| {
            let detail = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file".to_string(),
                _ => format!(
                    "cannot be opened ({e}): Outlook locks the data file it has open; close Outlook, or point the account at a copy"
                ),
            };
            Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(e.kind(), detail),
            }
        })
}

fn pst_error(path: &Path, e: PstError) -> Error {
    Error::InvalidInput(format!("{}: {e}", path.display()))
}

/// Runs a read of the file off the async threads (the reader is not `Send`), a crash in the
/// format code becoming an error about this file.
async fn read_file<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce(std::io::BufReader<std::fs::File>) -> std::result::Result<T, PstError>
    + Send
    + 'static,
) -> Result<T> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let reader = open_pst(&path)?;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(reader)))
            .unwrap_or_else(|panic| {
                Err(PstError::Damaged(format!(
                    "the reader crashed on it: {}",
                    crate::ingest::panic_text(&panic)
                )))
            })
            .map_err(|e| pst_error(&path, e))
    })
    .await
    .map_err(|e| Error::Internal(format!("PST reading task failed: {e}")))?
}

impl PullSource for PstSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Pst
    }

    fn account(&self) -> &str {
        &self.account
    }

    async fn folders(&mut self) -> Result<Vec<RemoteFolder>> {
        let folders = read_file(&self.path, pst::folders).await?;
        self.paths.clear();
        Ok(folders
            .into_iter()
            .map(|f| {
                let name = if f.path.is_empty() {
                    TOP_FOLDER.to_string()
                } else {
                    f.path.clone()
                };
                let leaf = f.path.rsplit('/').next().unwrap_or_default();
                let role = if f.sent {
                    FolderRole::Sent
                } else {
                    FolderRole::from_name(leaf)
                };
                self.paths.insert(name.clone(), f.path);
                RemoteFolder { name, role }
            })
            .collect())
    }

    async fn open_folder(
        &mut self,
        folder: &RemoteFolder,
        saved: Option<&Cursor>,
    ) -> Result<FolderPlan> {
        let seen: HashSet<u32> =
            stored_external_ids(&self.engine, SourceKind::Pst, &self.account, &folder.name)
                .await?
                .iter()
                .filter_map(|node| node.parse().ok())
                .collect();
        let stored = seen.len() as u64;
        let path_in_file = self
            .paths
            .get(&folder.name)
            .cloned()
            .unwrap_or_else(|| folder.name.clone());
        let items = read_file(&self.path, move |reader| {
            let mut items = Vec::new();
            pst::read_folder(
                reader,
                &path_in_file,
                &|node| !seen.contains(&node),
                &mut |item| {
                    items.push(item);
                    true
                },
            )?;
            Ok(items)
        })
        .await?;
        self.pending = items.into_iter().map(pulled).collect();
        self.handed_over = 0;
        let pending = self.pending.len() as u64;
        Ok(FolderPlan::pending(
            Cursor(stored.to_string()),
            pending,
            stored + pending,
            saved.is_some(),
        ))
    }

    async fn next_batch(
        &mut self,
        _folder: &RemoteFolder,
        _cursor: &Cursor,
        limit: usize,
    ) -> Result<Option<Batch>> {
        let messages = super::take_batch(&mut self.pending, limit);
        if messages.is_empty() {
            return Ok(None);
        }
        self.handed_over += messages.len() as u64;
        Ok(Some(Batch {
            messages,
            // What the store records is the real cursor; this counts for `rapport status`.
            cursor: Cursor(self.handed_over.to_string()),
        }))
    }
}

fn pulled(item: PstItem) -> PulledMessage {
    PulledMessage {
        external_id: item.node.to_string(),
        input: match item.section {
            Ok(section) => MessageInput::Raw(section),
            Err(detail) => MessageInput::Unreadable {
                reason: "unreadable Outlook item",
                detail,
            },
        },
    }
}
