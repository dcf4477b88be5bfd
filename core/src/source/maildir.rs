//! A local maildir as a pull source: each maildir (the root and its Maildir++ `.Folder`
//! subdirectories) is a folder; messages are taken in the order of their unique names, and the
//! cursor is the last unique name stored. It lets a mail directory another program keeps
//! filling (fetchmail, getmail, offlineimap) be pulled incrementally through the same pipeline
//! as a server, and it is the pull source the conformance test drives without a server.

use std::path::{Path, PathBuf};

use super::{
    Batch, Cursor, FolderPlan, FolderRole, MessageInput, PullSource, PulledMessage, RemoteFolder,
    SourceKind,
};
use crate::error::{Error, Result};

/// A maildir tree pulled as account `account`.
#[derive(Debug, Clone)]
pub struct MaildirSource {
    account: String,
    root: PathBuf,
    /// The open folder's messages still to hand over, listed once when it is opened.
    pending: std::collections::VecDeque<(String, PathBuf)>,
}

impl MaildirSource {
    pub fn new(account: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        MaildirSource {
            account: account.into(),
            root: root.into(),
            pending: std::collections::VecDeque::new(),
        }
    }

    fn folder_dir(&self, folder: &RemoteFolder) -> PathBuf {
        if folder.name == "INBOX" {
            self.root.clone()
        } else {
            self.root.join(format!(".{}", folder.name))
        }
    }
}

fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

/// A message file's unique name: its name without the `:2,FLAGS` info, which changes when a
/// client marks it read or moves it from `new/` to `cur/`.
fn unique_name(file_name: &str) -> &str {
    file_name.split(':').next().unwrap_or(file_name)
}

/// Every message of one maildir as (unique name, path), in the order of the unique names.
fn messages(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&path).map_err(|e| Error::io(&path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&path, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            found.push((unique_name(&name).to_string(), entry.path()));
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    Ok(found)
}

impl PullSource for MaildirSource {
    fn kind(&self) -> SourceKind {
        SourceKind::File
    }

    fn account(&self) -> &str {
        &self.account
    }

    async fn folders(&mut self) -> Result<Vec<RemoteFolder>> {
        if !self.root.is_dir() {
            return Err(Error::InvalidInput(format!(
                "{} is not a directory",
                self.root.display()
            )));
        }
        let mut folders = Vec::new();
        if is_maildir(&self.root) {
            folders.push(RemoteFolder {
                name: "INBOX".into(),
                role: FolderRole::Inbox,
            });
        }
        let entries = std::fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let mut subfolders = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(folder) = name.strip_prefix('.')
                && !folder.is_empty()
                && is_maildir(&entry.path())
            {
                subfolders.push(RemoteFolder {
                    name: folder.to_string(),
                    role: FolderRole::from_name(folder),
                });
            }
        }
        subfolders.sort_by(|a, b| a.name.cmp(&b.name));
        folders.extend(subfolders);
        Ok(folders)
    }

    async fn open_folder(
        &mut self,
        folder: &RemoteFolder,
        saved: Option<&Cursor>,
    ) -> Result<FolderPlan> {
        let all = messages(&self.folder_dir(folder))?;
        let after = saved.map(|c| c.0.clone()).unwrap_or_default();
        let total = all.len();
        self.pending = all.into_iter().filter(|(name, _)| *name > after).collect();
        let expected = self.pending.len() as u64;
        Ok(FolderPlan::pending(
            Cursor(after),
            expected,
            total as u64,
            saved.is_some(),
        ))
    }

    async fn next_batch(
        &mut self,
        _folder: &RemoteFolder,
        _cursor: &Cursor,
        limit: usize,
    ) -> Result<Option<Batch>> {
        let pending = super::take_batch(&mut self.pending, limit);
        let Some((last, _)) = pending.last() else {
            return Ok(None);
        };
        let mut batch = Batch {
            messages: Vec::with_capacity(pending.len()),
            cursor: Cursor(last.clone()),
        };
        for (name, path) in pending {
            // A file a client removed between listing and reading is simply no longer there.
            match std::fs::read(&path) {
                Ok(raw) => batch.messages.push(PulledMessage {
                    external_id: name,
                    input: MessageInput::Raw(raw),
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Ok(Some(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_drop_the_flags() {
        assert_eq!(
            unique_name("1700000000.M1P2.host:2,S"),
            "1700000000.M1P2.host"
        );
        assert_eq!(unique_name("plain"), "plain");
    }
}
