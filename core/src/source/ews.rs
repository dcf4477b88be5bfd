//! Exchange Web Services as a pull source (on-premises Exchange 2016, 2019 and Subscription
//! Edition). Folders come from `SyncFolderHierarchy` (mail folders only, roles from the
//! distinguished ids); each folder is pulled with `SyncFolderItems`, its sync state being the
//! cursor saved with every window, and `GetItem` reads the header fields of the changed items
//! in batches. An item that vanished between the two is a delete; other per-item errors are
//! skipped and reported; an invalid sync state restarts the folder from the beginning, which
//! stores nothing twice since messages are keyed by Message-ID. Items deleted or moved on the
//! server stay in the history (the mail was still exchanged), as with IMAP.
//!
//! Each item becomes an RFC 5322 header: Exchange's `InternetMessageHeaders` (the transport
//! headers, as the message arrived) completed with the typed fields it lacks (sent mail has no
//! transport headers). Exchange-internal senders (`EX` routing, a legacyExchangeDN) are turned
//! into SMTP addresses with `ResolveNames`, cached for the session.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{
    Batch, Cursor, FolderPlan, FolderRole, MessageInput, PullSource, PulledMessage, RemoteFolder,
    SourceKind,
};
use crate::config::Account;
use crate::error::{Error, Result};
use crate::sync::ews::{
    EwsClient, FolderInfo, GET_ITEM_BATCH, ItemHeaders, ItemResult, MAX_SYNC_CHANGES, Mailbox,
};

/// EWS's cursor in one folder: the sync state after the last stored page, and whether that
/// page was the last of the pull.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EwsCursor {
    pub sync_state: String,
    /// The server said the page ending at `sync_state` included the last change.
    #[serde(default)]
    pub complete: bool,
}

impl EwsCursor {
    pub fn decode(cursor: &Cursor) -> EwsCursor {
        serde_json::from_str(&cursor.0).unwrap_or_default()
    }

    pub fn encode(&self) -> Cursor {
        Cursor(serde_json::to_string(self).unwrap_or_default())
    }
}

/// The role of a distinguished folder id.
pub fn role_of_distinguished(id: &str) -> FolderRole {
    match id {
        "inbox" => FolderRole::Inbox,
        "sentitems" => FolderRole::Sent,
        "drafts" => FolderRole::Drafts,
        "deleteditems" => FolderRole::Trash,
        "junkemail" => FolderRole::Junk,
        "archive" => FolderRole::Archive,
        _ => FolderRole::Other,
    }
}

/// One EWS mailbox being pulled.
pub struct EwsSource {
    account: Account,
    client: EwsClient,
    /// Folder name (its path of display names) → EWS folder id.
    folder_ids: HashMap<String, String>,
    /// Messages each folder holds, from the hierarchy (for progress on a first pull).
    totals: HashMap<String, u64>,
    /// legacyExchangeDN → SMTP address (None: could not be resolved).
    resolved: HashMap<String, Option<String>>,
}

impl EwsSource {
    pub fn new(account: Account, client: EwsClient) -> EwsSource {
        EwsSource {
            account,
            client,
            folder_ids: HashMap::new(),
            totals: HashMap::new(),
            resolved: HashMap::new(),
        }
    }

    pub fn client(&self) -> &EwsClient {
        &self.client
    }

    /// The whole folder hierarchy, paged.
    async fn hierarchy(&mut self) -> Result<Vec<FolderInfo>> {
        let mut state = String::new();
        let mut folders: Vec<FolderInfo> = Vec::new();
        for _ in 0..1000 {
            let page = self.client.sync_folder_hierarchy(&state).await?;
            folders.retain(|f| !page.deleted.contains(&f.id));
            for folder in page.created {
                match folders.iter_mut().find(|f| f.id == folder.id) {
                    Some(known) => *known = folder,
                    None => folders.push(folder),
                }
            }
            state = page.sync_state;
            if page.last {
                return Ok(folders);
            }
        }
        Err(Error::Server {
            host: self.client.url().host.clone(),
            detail: "SyncFolderHierarchy never reached its last page".into(),
        })
    }

    /// An address as the header writes it, `EX` ones resolved to SMTP.
    async fn address(&mut self, mailbox: &Mailbox) -> Option<String> {
        let address =
            if mailbox.routing_type.eq_ignore_ascii_case("EX") || !mailbox.address.contains('@') {
                if mailbox.address.is_empty() {
                    return None;
                }
                if !self.resolved.contains_key(&mailbox.address) {
                    let found = self
                        .client
                        .resolve_name(&mailbox.address)
                        .await
                        .ok()
                        .flatten();
                    self.resolved.insert(mailbox.address.clone(), found);
                }
                self.resolved.get(&mailbox.address).cloned().flatten()?
            } else {
                mailbox.address.clone()
            };
        Some(if mailbox.name.is_empty() || mailbox.name == address {
            address
        } else {
            format!(
                "\"{}\" <{address}>",
                mailbox.name.replace('\\', "\\\\").replace('"', "\\\"")
            )
        })
    }

    async fn addresses(&mut self, list: &[Mailbox]) -> Vec<String> {
        let mut out = Vec::with_capacity(list.len());
        for m in list {
            if let Some(a) = self.address(m).await {
                out.push(a);
            }
        }
        out
    }

    /// The item as RFC 5322 header bytes.
    async fn header_of(&mut self, item: &ItemHeaders) -> Vec<u8> {
        // Addresses the transport headers already carry are not looked at again: resolving an
        // Exchange-internal one costs a ResolveNames round trip.
        let needs = |name: &str| {
            !item
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let mut typed: Vec<(&str, String)> = Vec::new();
        if let Some(id) = &item.message_id {
            typed.push(("Message-ID", id.clone()));
        }
        for (name, mailbox) in [("From", &item.from), ("Sender", &item.sender)] {
            if let Some(m) = mailbox.as_ref().filter(|_| needs(name))
                && let Some(a) = self.address(m).await
            {
                typed.push((name, a));
            }
        }
        for (name, list) in [("To", &item.to), ("Cc", &item.cc), ("Bcc", &item.bcc)] {
            if needs(name) {
                let list = self.addresses(list).await;
                if !list.is_empty() {
                    typed.push((name, list.join(", ")));
                }
            }
        }
        typed.push(("Subject", item.subject.clone()));
        let date = item
            .date_sent
            .as_deref()
            .or(item.date_received.as_deref())
            .and_then(|d| crate::time::parse_when(d.split('.').next().unwrap_or(d), 0));
        if let Some(ts) = date {
            typed.push(("Date", crate::time::format_rfc5322(ts)));
        }
        if let Some(r) = &item.in_reply_to {
            typed.push(("In-Reply-To", r.clone()));
        }
        if let Some(r) = &item.references {
            typed.push(("References", r.clone()));
        }
        super::compose_header(&item.headers, typed)
    }
}

impl PullSource for EwsSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Ews
    }

    fn account(&self) -> &str {
        &self.account.name
    }

    async fn folders(&mut self) -> Result<Vec<RemoteFolder>> {
        let distinguished = self.client.distinguished_folders().await?;
        let all = self.hierarchy().await?;
        let paths = super::folder_paths(
            &all.iter()
                .map(|f| (f.id.clone(), f.parent_id.clone(), f.display_name.clone()))
                .collect::<Vec<_>>(),
        );
        let mut folders = Vec::new();
        self.folder_ids.clear();
        self.totals.clear();
        for f in &all {
            // Mail folders only (IPF.Note and its kinds); calendars, contacts and tasks hold no
            // mail headers.
            if !(f.folder_class.is_empty() || f.folder_class.starts_with("IPF.Note")) {
                continue;
            }
            let name = paths
                .get(&f.id)
                .cloned()
                .unwrap_or_else(|| f.display_name.clone());
            let role = distinguished
                .get(&f.id)
                .map(|d| role_of_distinguished(d))
                .unwrap_or_else(|| FolderRole::from_name(&f.display_name));
            if self.account.folders.wants(&name, role) {
                self.folder_ids.insert(name.clone(), f.id.clone());
                self.totals.insert(name.clone(), f.total_count);
                folders.push(RemoteFolder { name, role });
            }
        }
        super::inbox_and_sent_first(&mut folders);
        Ok(folders)
    }

    async fn open_folder(
        &mut self,
        folder: &RemoteFolder,
        saved: Option<&Cursor>,
    ) -> Result<FolderPlan> {
        let mut cursor = saved.map(EwsCursor::decode).unwrap_or_default();
        // A new pull asks for the changes since the saved state.
        cursor.complete = false;
        let fresh = cursor.sync_state.is_empty();
        Ok(FolderPlan::changes_since(
            cursor.encode(),
            fresh,
            self.totals.get(&folder.name).copied(),
        ))
    }

    async fn next_batch(
        &mut self,
        folder: &RemoteFolder,
        cursor: &Cursor,
        limit: usize,
    ) -> Result<Option<Batch>> {
        let mut position = EwsCursor::decode(cursor);
        if position.complete {
            return Ok(None);
        }
        let id = self
            .folder_ids
            .get(&folder.name)
            .cloned()
            .ok_or_else(|| Error::not_found("Exchange folder", folder.name.clone()))?;
        let page = match self
            .client
            .sync_folder_items(&id, &position.sync_state, limit.min(MAX_SYNC_CHANGES))
            .await
        {
            Err(Error::Server { detail, .. })
                if detail.starts_with("ErrorInvalidSyncStateData")
                    && !position.sync_state.is_empty() =>
            {
                tracing::warn!(folder = %folder.name, "Exchange no longer knows this folder's sync state: resyncing it");
                position.sync_state.clear();
                self.client
                    .sync_folder_items(&id, "", limit.min(MAX_SYNC_CHANGES))
                    .await?
            }
            other => other?,
        };
        let mut messages = Vec::with_capacity(page.changed.len());
        for ids in page.changed.chunks(GET_ITEM_BATCH) {
            for result in self.client.get_items(ids).await? {
                match result {
                    ItemResult::Found(item) => {
                        let header = self.header_of(&item).await;
                        messages.push(PulledMessage {
                            external_id: item.id.clone(),
                            input: MessageInput::Raw(header),
                        });
                    }
                    ItemResult::Gone(_) => {}
                    ItemResult::Failed { id, code } => {
                        messages.push(PulledMessage {
                            external_id: id,
                            input: MessageInput::Unreadable {
                                reason: "exchange-item-error",
                                detail: code,
                            },
                        });
                    }
                }
            }
        }
        let next = EwsCursor {
            sync_state: page.sync_state,
            complete: page.last,
        };
        Ok(Some(Batch {
            messages,
            cursor: next.encode(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_starts_over() {
        let c = EwsCursor {
            sync_state: "H4sIAA==".into(),
            complete: true,
        };
        assert_eq!(EwsCursor::decode(&c.encode()), c);
        assert_eq!(
            EwsCursor::decode(&Cursor("junk".into())),
            EwsCursor::default()
        );
    }

    #[test]
    fn distinguished_ids_give_roles() {
        assert_eq!(role_of_distinguished("sentitems"), FolderRole::Sent);
        assert_eq!(role_of_distinguished("inbox"), FolderRole::Inbox);
        assert_eq!(role_of_distinguished("whatever"), FolderRole::Other);
    }
}
