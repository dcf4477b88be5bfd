//! Microsoft Graph as a pull source (Microsoft 365, Outlook.com). Folders come from
//! `mailFolders/delta` (roles from the well-known names); each folder is pulled with its own
//! `messages/delta`, paged with `Prefer: odata.maxpagesize`: the cursor is the next link while
//! a pull goes on and the delta link once it is done, saved with every window. `@removed`
//! entries are deletions (the mail stays in the history, as with IMAP and EWS). A 410 or an
//! unknown sync state restarts the folder's delta from the beginning; messages are keyed by
//! Message-ID, so nothing is stored twice.
//!
//! Each message becomes an RFC 5322 header: `internetMessageHeaders` (the transport headers;
//! Graph leaves them out for Sent Items) completed with the typed fields, In-Reply-To and
//! References coming from the extended properties PidTagInReplyToId (0x1042) and
//! PidTagInternetReferences (0x1039), which v1.0 has no first-class field for.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Batch, Cursor, FolderPlan, FolderRole, MessageInput, PullSource, PulledMessage, RemoteFolder,
    SourceKind,
};
use crate::config::Account;
use crate::error::{Error, Result};
use crate::sync::graph::{GraphClient, GraphFailure};

/// Messages per delta page asked for (Graph's own limit is 1,000 with `$select`).
pub const PAGE_SIZE: usize = 200;
const IN_REPLY_TO: &str = "String 0x1042";
const REFERENCES: &str = "String 0x1039";
const SELECT: &str = "internetMessageId,subject,from,sender,toRecipients,ccRecipients,bccRecipients,sentDateTime,receivedDateTime,conversationId,internetMessageHeaders";

/// Graph's well-known folder names Rapport gives roles to.
const WELL_KNOWN: [(&str, FolderRole); 6] = [
    ("inbox", FolderRole::Inbox),
    ("sentitems", FolderRole::Sent),
    ("drafts", FolderRole::Drafts),
    ("deleteditems", FolderRole::Trash),
    ("junkemail", FolderRole::Junk),
    ("archive", FolderRole::Archive),
];

/// Graph's cursor in one folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphCursor {
    /// The next link of a pull under way, or the delta link of the last complete one (empty:
    /// from the beginning).
    pub link: String,
    /// `link` is a delta link and every page before it is stored.
    #[serde(default)]
    pub complete: bool,
}

impl GraphCursor {
    pub fn decode(cursor: &Cursor) -> GraphCursor {
        serde_json::from_str(&cursor.0).unwrap_or_default()
    }

    pub fn encode(&self) -> Cursor {
        Cursor(serde_json::to_string(self).unwrap_or_default())
    }
}

/// One Graph mailbox being pulled.
pub struct GraphSource {
    account: Account,
    client: GraphClient,
    /// Folder name (its path of display names) → Graph folder id.
    folder_ids: HashMap<String, String>,
    totals: HashMap<String, u64>,
}

fn address(v: &Value) -> Option<String> {
    let email = &v["emailAddress"];
    let address = email["address"].as_str().filter(|a| a.contains('@'))?;
    let name = email["name"].as_str().unwrap_or("");
    Some(if name.is_empty() || name == address {
        address.to_string()
    } else {
        format!(
            "\"{}\" <{address}>",
            name.replace('\\', "\\\\").replace('"', "\\\"")
        )
    })
}

fn addresses(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|list| list.iter().filter_map(address).collect())
        .unwrap_or_default()
}

/// The header of one delta message.
pub fn header_of(message: &Value) -> Vec<u8> {
    let transport: Vec<(String, String)> = message["internetMessageHeaders"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|h| {
                    (
                        h["name"].as_str().unwrap_or("").to_string(),
                        h["value"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let extended = |id: &str| {
        message["singleValueExtendedProperties"]
            .as_array()
            .and_then(|list| {
                list.iter()
                    .find(|p| p["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
            })
            .and_then(|p| p["value"].as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let mut typed: Vec<(&str, String)> = Vec::new();
    if let Some(id) = message["internetMessageId"].as_str() {
        typed.push(("Message-ID", id.to_string()));
    }
    if let Some(from) = address(&message["from"]) {
        typed.push(("From", from));
    }
    if let Some(sender) = address(&message["sender"]) {
        typed.push(("Sender", sender));
    }
    for (name, field) in [
        ("To", "toRecipients"),
        ("Cc", "ccRecipients"),
        ("Bcc", "bccRecipients"),
    ] {
        let list = addresses(&message[field]);
        if !list.is_empty() {
            typed.push((name, list.join(", ")));
        }
    }
    typed.push((
        "Subject",
        message["subject"].as_str().unwrap_or("").to_string(),
    ));
    let date = message["sentDateTime"]
        .as_str()
        .or(message["receivedDateTime"].as_str())
        .and_then(|d| crate::time::parse_when(d.split('.').next().unwrap_or(d), 0));
    if let Some(ts) = date {
        typed.push(("Date", crate::time::format_rfc5322(ts)));
    }
    if let Some(parent) = extended(IN_REPLY_TO) {
        typed.push(("In-Reply-To", parent));
    }
    if let Some(references) = extended(REFERENCES) {
        typed.push(("References", references));
    }
    super::compose_header(&transport, typed)
}

impl GraphSource {
    pub fn new(account: Account, client: GraphClient) -> GraphSource {
        GraphSource {
            account,
            client,
            folder_ids: HashMap::new(),
            totals: HashMap::new(),
        }
    }

    pub fn client(&self) -> &GraphClient {
        &self.client
    }

    fn failure(&self, f: GraphFailure) -> Error {
        match f {
            GraphFailure::Other(e) => e,
            GraphFailure::Resync(detail) => Error::Server {
                host: self.client.graph_url().to_string(),
                detail,
            },
        }
    }

    /// Every page of a collection: the `value`s, following next links.
    async fn all_pages(&mut self, first: String) -> Result<Vec<Value>> {
        let mut link = first;
        let mut values = Vec::new();
        for _ in 0..10_000 {
            let page = self
                .client
                .get(&link, None)
                .await
                .map_err(|f| self.failure(f))?;
            if let Some(list) = page["value"].as_array() {
                values.extend(list.iter().cloned());
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) => link = next.to_string(),
                None => return Ok(values),
            }
        }
        Err(Error::Server {
            host: self.client.graph_url().to_string(),
            detail: "a folder list that never ends".into(),
        })
    }

    fn first_delta(&self, folder_id: &str) -> String {
        format!(
            "{}/me/mailFolders/{}/messages/delta?$select={SELECT}&$expand=singleValueExtendedProperties($filter=id%20eq%20'{}'%20or%20id%20eq%20'{}')",
            self.client.graph_url().trim_end_matches('/'),
            crate::text::form_encode(folder_id),
            IN_REPLY_TO.replace(' ', "%20"),
            REFERENCES.replace(' ', "%20"),
        )
    }
}

impl PullSource for GraphSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Graph
    }

    fn account(&self) -> &str {
        &self.account.name
    }

    async fn folders(&mut self) -> Result<Vec<RemoteFolder>> {
        let base = self.client.graph_url().trim_end_matches('/').to_string();
        let mut roles: HashMap<String, FolderRole> = HashMap::new();
        for (name, role) in WELL_KNOWN {
            // A mailbox without an Archive answers 404: that folder simply has no role.
            if let Ok(folder) = self
                .client
                .get(&format!("{base}/me/mailFolders/{name}?$select=id"), None)
                .await
                && let Some(id) = folder["id"].as_str()
            {
                roles.insert(id.to_string(), role);
            }
        }
        let all = self
            .all_pages(format!(
                "{base}/me/mailFolders/delta?$select=displayName,parentFolderId,totalItemCount"
            ))
            .await?;
        let listed: Vec<(String, String, String)> = all
            .iter()
            .filter(|f| f.get("@removed").is_none())
            .filter_map(|f| {
                Some((
                    f["id"].as_str()?.to_string(),
                    f["parentFolderId"].as_str().unwrap_or("").to_string(),
                    f["displayName"].as_str().unwrap_or("").to_string(),
                ))
            })
            .collect();
        let paths = super::folder_paths(&listed);
        let mut folders = Vec::new();
        self.folder_ids.clear();
        self.totals.clear();
        for f in &all {
            if f.get("@removed").is_some() {
                continue;
            }
            let Some(id) = f["id"].as_str() else { continue };
            let display = f["displayName"].as_str().unwrap_or("");
            let name = paths
                .get(id)
                .cloned()
                .unwrap_or_else(|| display.to_string());
            let role = roles
                .get(id)
                .copied()
                .unwrap_or_else(|| FolderRole::from_name(display));
            if self.account.folders.wants(&name, role) {
                self.folder_ids.insert(name.clone(), id.to_string());
                self.totals
                    .insert(name.clone(), f["totalItemCount"].as_u64().unwrap_or(0));
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
        let mut cursor = saved.map(GraphCursor::decode).unwrap_or_default();
        // A complete pull saved its delta link: this pull asks it for what changed since.
        cursor.complete = false;
        let fresh = cursor.link.is_empty();
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
        let position = GraphCursor::decode(cursor);
        if position.complete {
            return Ok(None);
        }
        let id = self
            .folder_ids
            .get(&folder.name)
            .cloned()
            .ok_or_else(|| Error::not_found("Graph folder", folder.name.clone()))?;
        let first = self.first_delta(&id);
        let link = if position.link.is_empty() {
            first.clone()
        } else {
            position.link.clone()
        };
        let prefer = format!(
            "odata.maxpagesize={}, IdType=\"ImmutableId\"",
            limit.clamp(1, PAGE_SIZE)
        );
        let page = match self.client.get(&link, Some(&prefer)).await {
            Ok(page) => page,
            Err(GraphFailure::Resync(why)) => {
                tracing::warn!(folder = %folder.name, why = %why, "Graph lost this folder's delta state: starting it over");
                self.client
                    .get(&first, Some(&prefer))
                    .await
                    .map_err(|f| self.failure(f))?
            }
            Err(other) => return Err(self.failure(other)),
        };
        let mut messages = Vec::new();
        for message in page["value"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if message.get("@removed").is_some() {
                continue;
            }
            let Some(item_id) = message["id"].as_str() else {
                continue;
            };
            messages.push(PulledMessage {
                external_id: item_id.to_string(),
                input: MessageInput::Raw(header_of(message)),
            });
        }
        let next = match (
            page["@odata.nextLink"].as_str(),
            page["@odata.deltaLink"].as_str(),
        ) {
            (Some(next), _) => GraphCursor {
                link: next.to_string(),
                complete: false,
            },
            (None, Some(delta)) => GraphCursor {
                link: delta.to_string(),
                complete: true,
            },
            (None, None) => {
                return Err(Error::Server {
                    host: self.client.graph_url().to_string(),
                    detail: "a delta page with neither a next link nor a delta link".into(),
                });
            }
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
    fn messages_become_headers_with_threading_from_extended_properties() {
        let message = serde_json::json!({
            "id": "AAMk1",
            "internetMessageId": "<m2@x>",
            "subject": "Re: plan",
            "from": {"emailAddress": {"name": "Bo \"B\" Lee", "address": "bo@x.example"}},
            "toRecipients": [{"emailAddress": {"name": "", "address": "me@y.example"}}],
            "sentDateTime": "2024-03-01T12:00:00Z",
            "singleValueExtendedProperties": [
                {"id": "String 0x1042", "value": "<m1@x>"},
                {"id": "String 0x1039", "value": "<m0@x> <m1@x>"}
            ]
        });
        let header = String::from_utf8(header_of(&message)).unwrap_or_default();
        assert!(
            header.contains("From: \"Bo \\\"B\\\" Lee\" <bo@x.example>\r\n"),
            "{header}"
        );
        assert!(header.contains("In-Reply-To: <m1@x>\r\n"));
        assert!(header.contains("References: <m0@x> <m1@x>\r\n"));
        assert!(header.contains("Date: Fri, 01 Mar 2024 12:00:00 +0000\r\n"));
        assert!(header.ends_with("\r\n\r\n"));
    }

    #[test]
    fn cursors_round_trip() {
        let c = GraphCursor {
            link: "https://graph.microsoft.com/v1.0/me/mailFolders/x/messages/delta?$deltatoken=a"
                .into(),
            complete: true,
        };
        assert_eq!(GraphCursor::decode(&c.encode()), c);
    }
}
