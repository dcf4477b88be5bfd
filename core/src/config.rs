//! Accounts: a TOML file the user can read and edit, presets for well-known providers, and
//! secrets fetched at connect time from a command or an environment variable (never stored,
//! never logged).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (port 993).
    #[default]
    Tls,
    /// Plain connection upgraded with STARTTLS (port 143).
    Starttls,
    /// No encryption: only for 127.0.0.1/localhost unless `insecure` is set.
    None,
}

impl Security {
    pub const ALL: [Security; 3] = [Security::Tls, Security::Starttls, Security::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::None => "none",
        }
    }

    /// IMAP's port for this protection.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Tls => 993,
            Security::Starttls | Security::None => 143,
        }
    }

    /// POP3's port for this protection.
    pub fn default_pop3_port(self) -> u16 {
        match self {
            Security::Tls => 995,
            Security::Starttls | Security::None => 110,
        }
    }
}

// `ssl` and `plain` are what other mail programs call them.
crate::choice::choice_traits!(Security, "security", aliases [("ssl", Tls), ("plain", None)]);

/// How the user proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    /// IMAP LOGIN with a password.
    #[default]
    Password,
    /// SASL XOAUTH2 with an OAuth2 access token (Gmail, Outlook.com, Office 365).
    Xoauth2,
}

impl AuthKind {
    pub const ALL: [AuthKind; 2] = [AuthKind::Password, AuthKind::Xoauth2];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Password => "password",
            AuthKind::Xoauth2 => "xoauth2",
        }
    }
}

crate::choice::choice_traits!(AuthKind, "auth");

/// Which folders a sync covers beyond INBOX, Sent, Archive and user folders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderPolicy {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub junk: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trash: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drafts: bool,
    /// Folder names never synced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// When set, only these folders are synced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
}

impl FolderPolicy {
    /// Whether a folder named `name` with `role` is synced: never when excluded; only listed
    /// ones when `only` is set; Junk, Trash and Drafts when asked for; everything else.
    pub fn wants(&self, name: &str, role: crate::source::FolderRole) -> bool {
        use crate::source::FolderRole;
        if self.exclude.iter().any(|x| x == name) {
            return false;
        }
        if !self.only.is_empty() {
            return self.only.iter().any(|x| x == name);
        }
        match role {
            FolderRole::Junk => self.junk,
            FolderRole::Trash => self.trash,
            FolderRole::Drafts => self.drafts,
            _ => true,
        }
    }
}

/// What kind of server an account reads. An `accounts.toml` entry without `kind` is IMAP, as
/// every entry was before kinds existed; further kinds (`ews`, `graph`, `pop3`, `pst`) take the
/// same file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    #[default]
    Imap,
    /// A POP3 mailbox, read without deleting: new mail only, and only while the user's own
    /// client leaves it on the server.
    Pop3,
    /// An Outlook data file (`.pst`), read whenever it can be opened (Outlook locks the one it
    /// has open).
    Pst,
    /// On-premises Exchange over Exchange Web Services (NTLM or Basic over https).
    Ews,
    /// Microsoft 365 or Outlook.com over Microsoft Graph (signed in with OAuth2).
    Graph,
}

impl AccountKind {
    pub const ALL: [AccountKind; 5] = [
        AccountKind::Imap,
        AccountKind::Pop3,
        AccountKind::Pst,
        AccountKind::Ews,
        AccountKind::Graph,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Imap => "imap",
            AccountKind::Pop3 => "pop3",
            AccountKind::Pst => "pst",
            AccountKind::Ews => "ews",
            AccountKind::Graph => "graph",
        }
    }

    /// The kind recorded on the sources this account's mail is seen at.
    pub fn source_kind(self) -> crate::source::SourceKind {
        match self {
            AccountKind::Imap => crate::source::SourceKind::Imap,
            AccountKind::Pop3 => crate::source::SourceKind::Pop3,
            AccountKind::Pst => crate::source::SourceKind::Pst,
            AccountKind::Ews => crate::source::SourceKind::Ews,
            AccountKind::Graph => crate::source::SourceKind::Graph,
        }
    }
}

crate::choice::choice_traits!(AccountKind, "account kind");

/// One mail account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    #[serde(default)]
    pub kind: AccountKind,
    /// The account's address: it becomes one of the user's identities.
    #[serde(default)]
    pub email: String,
    /// The server (IMAP and POP3 accounts).
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub auth: AuthKind,
    /// A command whose first line of output is the password (e.g. `pass show mail/work`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_command: Option<String>,
    /// An environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// A command whose first line of output is an OAuth2 access token (for XOAUTH2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2_token_command: Option<String>,
    /// A PEM file of extra trusted certificate authorities (a private CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Allows `security = "none"` to a host other than loopback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    #[serde(default)]
    pub folders: FolderPolicy,
    /// The data file a `pst` account reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// An `ews` account's endpoint, when it is not `https://<host>/EWS/Exchange.asmx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ews_url: Option<String>,
    /// A `graph` account's application (client) id, from the user's or the organisation's app
    /// registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Where a `graph` account signs in (`https://login.microsoftonline.com/<tenant>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Graph's endpoint, when it is not `https://graph.microsoft.com/v1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    /// Where a `graph` account's tokens are kept (a file only the user can read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

impl Account {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| match self.kind {
            AccountKind::Imap => self.security.default_port(),
            AccountKind::Pop3 => self.security.default_pop3_port(),
            AccountKind::Pst => 0,
            AccountKind::Ews | AccountKind::Graph => 443,
        })
    }

    /// Where the account's mail is: `host:port`, or a `pst` account's file.
    pub fn location(&self) -> String {
        match (&self.kind, &self.path) {
            (AccountKind::Pst, Some(path)) => path.display().to_string(),
            (AccountKind::Ews, _) => self.ews_endpoint(),
            (AccountKind::Graph, _) => self.graph_endpoints().graph,
            _ => format!("{}:{}", self.host, self.port()),
        }
    }

    /// An `ews` account's endpoint: its `ews_url`, else the standard path on its host.
    pub fn ews_endpoint(&self) -> String {
        match &self.ews_url {
            Some(url) if !url.trim().is_empty() => url.trim().to_string(),
            _ => format!("https://{}/EWS/Exchange.asmx", self.host),
        }
    }

    /// A `graph` account's sign-in and Graph endpoints.
    pub fn graph_endpoints(&self) -> crate::sync::graph::GraphEndpoints {
        crate::sync::graph::GraphEndpoints {
            authority: self
                .authority
                .clone()
                .unwrap_or_else(|| crate::sync::graph::DEFAULT_AUTHORITY.to_string()),
            graph: self
                .graph_url
                .clone()
                .unwrap_or_else(|| crate::sync::graph::DEFAULT_GRAPH.to_string()),
            client_id: self.client_id.clone().unwrap_or_default(),
            ca_file: self.ca_file.clone(),
        }
    }

    /// Whether `host` is this machine (plaintext is allowed there): a loopback address, or
    /// `localhost` and the names under it, which Rapport always resolves to loopback (RFC 6761).
    pub fn is_loopback(&self) -> bool {
        matches!(
            self.host.trim_start_matches('[').trim_end_matches(']'),
            "127.0.0.1" | "::1"
        ) || self.host.starts_with("127.")
            || crate::sync::net::is_localhost_name(&self.host)
    }

    /// Checks the account is complete and safe to use.
    pub fn validate(&self) -> Result<()> {
        self.validate_settings()?;
        self.validate_secret_source()
    }

    /// Checks everything but where the secret comes from (an account imported from another
    /// program, whose password Rapport does not read, is saved without one).
    pub fn validate_settings(&self) -> Result<()> {
        let bad = |what: String| Error::InvalidInput(format!("account '{}': {what}", self.name));
        if self.name.trim().is_empty() || self.name.contains(char::is_whitespace) {
            return Err(Error::InvalidInput(
                "an account needs a name without spaces".into(),
            ));
        }
        if self.kind == AccountKind::Graph {
            if self
                .client_id
                .as_deref()
                .is_none_or(|c| c.trim().is_empty())
            {
                return Err(bad("a Microsoft 365 / Outlook.com account needs --client-id (see `rapport account add --help`)".into()));
            }
            if self.token_file.is_none() {
                return Err(bad(
                    "no token_file: sign in with `rapport account login`".into()
                ));
            }
            let endpoints = self.graph_endpoints();
            for url in [&endpoints.authority, &endpoints.graph] {
                if !crate::discover::http::Url::parse(url).is_some_and(|u| u.https) {
                    return Err(bad(format!("'{url}' is not an https URL")));
                }
            }
            return Ok(());
        }
        if self.kind == AccountKind::Pst {
            // A file: no server, no login.
            return match &self.path {
                Some(path) if !path.as_os_str().is_empty() => Ok(()),
                _ => Err(bad("a pst account needs the data file's path".into())),
            };
        }
        if self.kind == AccountKind::Ews {
            let endpoint = self.ews_endpoint();
            match crate::discover::http::Url::parse(&endpoint) {
                Some(url) if url.https => {}
                Some(_) => {
                    return Err(bad(format!(
                        "{endpoint} is plain HTTP; Exchange credentials go only over https"
                    )));
                }
                None => return Err(bad(format!("'{endpoint}' is not an https URL"))),
            }
            if self.host.trim().is_empty() && self.ews_url.is_none() {
                return Err(bad("no server: give --server or --ews-url".into()));
            }
        } else if self.host.trim().is_empty() {
            return Err(bad("no host".into()));
        }
        if self.user.trim().is_empty() {
            return Err(bad("no user".into()));
        }
        if self.security == Security::None && !self.is_loopback() && !self.insecure {
            return Err(bad(format!(
                "refusing an unencrypted connection to {}: use security \"tls\" or \"starttls\" (or --insecure if you really mean it)",
                self.host
            )));
        }
        Ok(())
    }

    /// Checks the account names where its password or token comes from.
    pub fn validate_secret_source(&self) -> Result<()> {
        let bad = |what: String| Error::InvalidInput(format!("account '{}': {what}", self.name));
        if matches!(self.kind, AccountKind::Pst | AccountKind::Graph) {
            return Ok(());
        }
        match self.auth {
            AuthKind::Password
                if self.password_command.is_none() && self.password_env.is_none() =>
            {
                Err(bad(
                    "no password source: set password_command or password_env".into(),
                ))
            }
            AuthKind::Xoauth2 if self.oauth2_token_command.is_none() => {
                Err(bad("XOAUTH2 needs oauth2_token_command".into()))
            }
            _ => Ok(()),
        }
    }

    /// The password or token, from its command or environment variable. Never logged.
    pub fn secret(&self) -> Result<String> {
        let (command, env) = match self.auth {
            AuthKind::Password => (
                self.password_command.as_deref(),
                self.password_env.as_deref(),
            ),
            AuthKind::Xoauth2 => (self.oauth2_token_command.as_deref(), None),
        };
        if let Some(var) = env {
            return std::env::var(var).map_err(|_| Error::Auth {
                account: self.name.clone(),
                detail: format!("the environment variable {var} is not set"),
            });
        }
        let Some(cmd) = command else {
            return Err(Error::Auth {
                account: self.name.clone(),
                detail: "no password source configured".into(),
            });
        };
        let output = if cfg!(windows) {
            std::process::Command::new("cmd").args(["/C", cmd]).output()
        } else {
            std::process::Command::new("sh").args(["-c", cmd]).output()
        }
        .map_err(|e| Error::Auth {
            account: self.name.clone(),
            detail: format!("cannot run the password command: {e}"),
        })?;
        if !output.status.success() {
            return Err(Error::Auth {
                account: self.name.clone(),
                detail: format!("the password command failed ({})", output.status),
            });
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let secret = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if secret.is_empty() {
            return Err(Error::Auth {
                account: self.name.clone(),
                detail: "the password command printed nothing".into(),
            });
        }
        Ok(secret.to_string())
    }
}

/// What a person or a program says about a new account; [`AccountSpec::build`] fills in the
/// rest (a provider's settings from the address, the login name, how to authenticate) and
/// checks the result. The one way accounts are made: by `rapport account add` and by both
/// bindings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSpec {
    pub name: String,
    pub kind: AccountKind,
    pub email: Option<String>,
    /// Use the Office 365 settings whatever the address's domain (work addresses).
    pub office365: bool,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<Security>,
    /// Login name; the address when absent.
    pub user: Option<String>,
    /// How to log in; when absent, what the secret given implies, else the provider's way.
    pub auth: Option<AuthKind>,
    pub password_command: Option<String>,
    pub password_env: Option<String>,
    pub oauth2_token_command: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub folders: FolderPolicy,
    /// The data file of a `pst` account.
    pub path: Option<PathBuf>,
    /// An `ews` account's endpoint (found by Autodiscover, or given).
    pub ews_url: Option<String>,
    /// A `graph` account's application (client) id, sign-in authority, Graph endpoint and
    /// token file.
    pub client_id: Option<String>,
    pub authority: Option<String>,
    pub graph_url: Option<String>,
    pub token_file: Option<PathBuf>,
}

impl AccountSpec {
    /// The complete, checked account, and the provider preset it used (its note tells the user
    /// what to do on the provider's side).
    pub fn build(self) -> Result<(Account, Option<Preset>)> {
        if self.kind == AccountKind::Pst {
            return self.build_pst().map(|account| (account, None));
        }
        if self.kind == AccountKind::Ews {
            return self.build_ews().map(|account| (account, None));
        }
        if self.kind == AccountKind::Graph {
            return self.build_graph().map(|account| (account, None));
        }
        let email = self.email.clone().unwrap_or_default();
        let preset = if self.office365 {
            Some(office365())
        } else {
            preset_for(&email)
        };
        let preset_host = preset.as_ref().and_then(|p| match self.kind {
            AccountKind::Imap => Some(p.host),
            AccountKind::Pop3 => p.pop3_host,
            AccountKind::Pst | AccountKind::Ews | AccountKind::Graph => None,
        });
        let host = self
            .host
            .clone()
            .filter(|h| !h.trim().is_empty())
            .or_else(|| preset_host.map(String::from))
            .ok_or_else(|| {
                let who = if email.is_empty() {
                    "the account".to_string()
                } else {
                    email.clone()
                };
                Error::InvalidInput(format!(
                    "no host given and {who} is not a provider Rapport knows; pass --host (and --port, --security)"
                ))
            })?;
        let auth = self.auth.unwrap_or(if self.oauth2_token_command.is_some() {
            AuthKind::Xoauth2
        } else if self.password_command.is_some() || self.password_env.is_some() {
            AuthKind::Password
        } else {
            preset.as_ref().map(|p| p.auth).unwrap_or_default()
        });
        let account = Account {
            name: self.name,
            kind: self.kind,
            user: self.user.unwrap_or_else(|| email.clone()),
            email,
            host,
            // A preset's port is its IMAP port; POP3 takes the standard one for its security.
            port: self.port.or(match self.kind {
                AccountKind::Imap => preset.as_ref().map(|p| p.port),
                AccountKind::Pop3 | AccountKind::Pst | AccountKind::Ews | AccountKind::Graph => {
                    None
                }
            }),
            security: self.security.unwrap_or_default(),
            auth,
            password_command: self.password_command,
            password_env: self.password_env,
            oauth2_token_command: self.oauth2_token_command,
            ca_file: self.ca_file,
            insecure: self.insecure,
            folders: self.folders,
            path: None,
            ews_url: None,
            client_id: None,
            authority: None,
            graph_url: None,
            token_file: None,
        };
        account.validate()?;
        Ok((account, preset))
    }
}

impl AccountSpec {
    /// An `ews` account: its server (or endpoint), the login (the address unless given), and
    /// where its password or token comes from.
    fn build_ews(self) -> Result<Account> {
        let email = self.email.clone().unwrap_or_default();
        let ews_url = self
            .ews_url
            .clone()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        let host = match (&self.host, &ews_url) {
            (Some(h), _) if !h.trim().is_empty() => h.trim().to_ascii_lowercase(),
            (_, Some(url)) => crate::discover::http::Url::parse(url)
                .map(|u| u.host)
                .ok_or_else(|| Error::InvalidInput(format!("'{url}' is not an https URL")))?,
            _ => {
                return Err(Error::InvalidInput(
                    "an Exchange account needs --server, --ews-url, or an address whose domain Autodiscover answers for".into(),
                ));
            }
        };
        let auth = self.auth.unwrap_or(if self.oauth2_token_command.is_some() {
            AuthKind::Xoauth2
        } else {
            AuthKind::Password
        });
        let account = Account {
            name: self.name,
            kind: AccountKind::Ews,
            user: self
                .user
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(|| email.clone()),
            email,
            host,
            port: None,
            security: Security::Tls,
            auth,
            password_command: self.password_command,
            password_env: self.password_env,
            oauth2_token_command: self.oauth2_token_command,
            ca_file: self.ca_file,
            insecure: false,
            folders: self.folders,
            path: None,
            ews_url,
            client_id: None,
            authority: None,
            graph_url: None,
            token_file: None,
        };
        account.validate()?;
        Ok(account)
    }

    /// A `graph` account: its address, client id, endpoints and token file.
    fn build_graph(self) -> Result<Account> {
        let email = self.email.clone().unwrap_or_default();
        let account = Account {
            name: self.name,
            kind: AccountKind::Graph,
            user: email.clone(),
            email,
            host: String::new(),
            port: None,
            security: Security::Tls,
            auth: AuthKind::Xoauth2,
            password_command: None,
            password_env: None,
            oauth2_token_command: None,
            ca_file: self.ca_file,
            insecure: false,
            folders: self.folders,
            path: None,
            ews_url: None,
            client_id: self.client_id.map(|c| c.trim().to_string()),
            authority: self.authority,
            graph_url: self.graph_url,
            token_file: self.token_file,
        };
        account.validate()?;
        Ok(account)
    }

    /// A `pst` account: its file (made absolute, so that `watch` finds it from anywhere) and,
    /// optionally, the owner's address.
    fn build_pst(self) -> Result<Account> {
        let path = self
            .path
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| {
                Error::InvalidInput("a pst account needs the data file's path".into())
            })?;
        let path = std::path::absolute(&path).map_err(|e| Error::io(&path, e))?;
        let account = Account {
            name: self.name,
            kind: AccountKind::Pst,
            email: self.email.unwrap_or_default(),
            host: String::new(),
            port: None,
            security: Security::default(),
            user: String::new(),
            auth: AuthKind::default(),
            password_command: None,
            password_env: None,
            oauth2_token_command: None,
            ca_file: None,
            insecure: false,
            folders: self.folders,
            path: Some(path),
            ews_url: None,
            client_id: None,
            authority: None,
            graph_url: None,
            token_file: None,
        };
        account.validate()?;
        Ok(account)
    }
}

/// Server settings of well-known providers, found from the address's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    pub provider: &'static str,
    pub host: &'static str,
    pub port: u16,
    /// The provider's POP3 server (on 995, TLS), if it offers POP3.
    pub pop3_host: Option<&'static str>,
    pub auth: AuthKind,
    /// What the user must do on the provider's side.
    pub note: &'static str,
}

pub fn preset_for(email: &str) -> Option<Preset> {
    let domain = email.rsplit('@').next()?.to_ascii_lowercase();
    let p = |provider, host, pop3_host, auth, note| Preset {
        provider,
        host,
        port: 993,
        pop3_host,
        auth,
        note,
    };
    Some(match domain.as_str() {
        "gmail.com" | "googlemail.com" => p(
            "Gmail",
            "imap.gmail.com",
            Some("pop.gmail.com"),
            AuthKind::Xoauth2,
            "Gmail needs an OAuth2 token command (or an app password with --password-command).",
        ),
        "icloud.com" | "me.com" | "mac.com" => p(
            "iCloud",
            "imap.mail.me.com",
            None,
            AuthKind::Password,
            "iCloud needs an app-specific password (appleid.apple.com → Sign-In and Security).",
        ),
        "yahoo.com" | "ymail.com" | "rocketmail.com" => p(
            "Yahoo",
            "imap.mail.yahoo.com",
            Some("pop.mail.yahoo.com"),
            AuthKind::Password,
            "Yahoo needs an app password (Account security → Generate app password).",
        ),
        "outlook.com" | "hotmail.com" | "live.com" | "msn.com" => p(
            "Outlook.com",
            "outlook.office365.com",
            Some("outlook.office365.com"),
            AuthKind::Xoauth2,
            "Outlook.com accepts only OAuth2 (scope https://outlook.office.com/IMAP.AccessAsUser.All).",
        ),
        "fastmail.com" | "fastmail.fm" | "messagingengine.com" => p(
            "Fastmail",
            "imap.fastmail.com",
            Some("pop.fastmail.com"),
            AuthKind::Password,
            "Fastmail needs an app password (Settings → Privacy & Security → App passwords).",
        ),
        _ => return None,
    })
}

/// The Office 365 preset, for work addresses on any domain (`--provider office365`).
pub fn office365() -> Preset {
    Preset {
        provider: "Office 365",
        host: "outlook.office365.com",
        port: 993,
        pop3_host: Some("outlook.office365.com"),
        auth: AuthKind::Xoauth2,
        note: "Exchange Online accepts only OAuth2 (scope https://outlook.office.com/IMAP.AccessAsUser.All); your admin must allow IMAP.",
    }
}

/// The accounts file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default, rename = "account")]
    pub accounts: Vec<Account>,
}

/// Something about the accounts file's permissions that lets another user change it. Its
/// `password_command` runs through a shell, so whoever can write the file can run commands as
/// the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionProblem {
    /// Serious enough that the file is not used at all (anyone on the machine can write it, or
    /// another user owns it).
    pub refuse: bool,
    pub detail: String,
}

/// The permission problems of the accounts file at `path` (none when it does not exist).
#[cfg(unix)]
pub fn permission_problems(path: &Path) -> Vec<PermissionProblem> {
    use std::os::unix::fs::MetadataExt;
    let mut problems = Vec::new();
    let Ok(meta) = std::fs::metadata(path) else {
        return problems;
    };
    let fix = format!("chmod 600 {}", path.display());
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me && meta.uid() != 0 {
        problems.push(PermissionProblem {
            refuse: true,
            detail: format!(
                "{} belongs to another user (uid {}), who could make Rapport run any command as you",
                path.display(),
                meta.uid()
            ),
        });
    }
    if meta.mode() & 0o002 != 0 {
        problems.push(PermissionProblem {
            refuse: true,
            detail: format!(
                "{} is writable by every user, who could make its password_command run anything as you: {fix}",
                path.display()
            ),
        });
    } else if meta.mode() & 0o020 != 0 {
        problems.push(PermissionProblem {
            refuse: false,
            detail: format!(
                "{} is writable by its group (gid {}), whose members could make its password_command run anything as you: {fix}",
                path.display(),
                meta.gid()
            ),
        });
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir_meta) = std::fs::metadata(dir)
        // World-writable without the sticky bit: anyone may replace the file.
        && dir_meta.mode() & 0o002 != 0
        && dir_meta.mode() & 0o1000 == 0
    {
        problems.push(PermissionProblem {
            refuse: false,
            detail: format!(
                "{} is in {}, where every user may replace it: keep it in a private directory",
                path.display(),
                dir.display()
            ),
        });
    }
    problems
}

#[cfg(not(unix))]
pub fn permission_problems(_path: &Path) -> Vec<PermissionProblem> {
    Vec::new()
}

impl Config {
    /// Reads the file; a missing file is an empty configuration. A file another user may write
    /// (every user, or its owner is someone else) is refused: see [`permission_problems`].
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        if let Some(problem) = permission_problems(path).into_iter().find(|p| p.refuse) {
            return Err(Error::Config {
                path: path.to_path_buf(),
                detail: format!("not used: {}", problem.detail),
            });
        }
        let config: Config = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let mut seen = std::collections::HashSet::new();
        for a in &config.accounts {
            if !seen.insert(a.name.as_str()) {
                return Err(Error::Config {
                    path: path.to_path_buf(),
                    detail: format!("account '{}' is defined twice", a.name),
                });
            }
        }
        Ok(config)
    }

    /// Writes the file atomically, readable by the user only.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| Error::Internal(format!("cannot serialise the configuration: {e}")))?;
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }

    pub fn account(&self, name: &str) -> Result<&Account> {
        self.accounts
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::not_found("account", name))
    }
}

#[cfg(test)]
mod permission_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_others_can_write_are_flagged_and_world_writable_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        std::fs::write(&path, "").unwrap();
        let chmod =
            |mode| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        chmod(0o600);
        assert!(permission_problems(&path).is_empty());
        assert!(Config::load(&path).is_ok());
        chmod(0o620);
        let problems = permission_problems(&path);
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].refuse && problems[0].detail.contains("group"));
        assert!(Config::load(&path).is_ok());
        chmod(0o666);
        assert!(permission_problems(&path)[0].refuse);
        let refused = Config::load(&path).unwrap_err().to_string();
        assert!(refused.contains("writable by every user"), "{refused}");
        assert!(refused.contains("chmod 600"), "{refused}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            name: "work".into(),
            kind: AccountKind::Imap,
            email: "me@example.com".into(),
            host: "imap.example.com".into(),
            port: None,
            security: Security::Tls,
            user: "me".into(),
            auth: AuthKind::Password,
            password_command: Some("echo s3cret".into()),
            password_env: None,
            oauth2_token_command: None,
            ca_file: None,
            insecure: false,
            folders: FolderPolicy::default(),
            path: None,
            ews_url: None,
            client_id: None,
            authority: None,
            graph_url: None,
            token_file: None,
        }
    }

    #[test]
    fn a_pst_account_needs_only_its_file_and_reads_back_from_toml() {
        let spec = |path: Option<&str>| AccountSpec {
            name: "outlook".into(),
            kind: AccountKind::Pst,
            path: path.map(PathBuf::from),
            ..Default::default()
        };
        let err = spec(None).build().err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("path")),
            "{err:?}"
        );
        let (account, preset) = spec(Some("mail.pst")).build().unwrap();
        assert!(preset.is_none());
        let path = account.path.clone().unwrap();
        assert!(path.is_absolute() && path.ends_with("mail.pst"), "{path:?}");
        assert_eq!(account.location(), path.display().to_string());
        let text = toml::to_string(&Config {
            accounts: vec![account.clone()],
        })
        .unwrap();
        assert!(!text.contains("password_"), "{text}");
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.accounts, vec![account]);
        // Written by hand: kind and path are all it takes.
        let hand: Config =
            toml::from_str("[[account]]\nname = \"o\"\nkind = \"pst\"\npath = \"/m.pst\"\n")
                .unwrap();
        assert!(hand.accounts[0].validate().is_ok());
    }

    #[test]
    fn plaintext_only_to_loopback() {
        let mut a = account();
        a.security = Security::None;
        assert!(a.validate().is_err());
        a.host = "127.0.0.1".into();
        assert!(a.validate().is_ok());
        a.host = "mail.example.com".into();
        a.insecure = true;
        assert!(a.validate().is_ok());
    }

    #[test]
    fn secrets_come_from_commands_and_env() {
        let a = account();
        assert_eq!(a.secret().unwrap(), "s3cret");
        let mut b = account();
        b.password_command = None;
        b.password_env = Some("RAPPORT_TEST_SECRET_UNSET_VAR".into());
        let err = b.secret().unwrap_err().to_string();
        assert!(err.contains("RAPPORT_TEST_SECRET_UNSET_VAR") && !err.contains("s3cret"));
    }

    #[test]
    fn round_trips_through_toml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let config = Config {
            accounts: vec![account()],
        };
        config.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), config);
        std::fs::write(&path, "[[account]]\nname = 3\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("accounts.toml"), "{err}");
    }

    /// A POP3 account takes POP3's ports, a provider's POP3 server, and the same file.
    #[test]
    fn pop3_accounts_take_pop3_settings() {
        let spec = |email: &str, security| AccountSpec {
            name: "home".into(),
            kind: AccountKind::Pop3,
            email: Some(email.into()),
            security,
            password_env: Some("PW".into()),
            ..Default::default()
        };
        let (gmail, _) = spec("me@gmail.com", None).build().unwrap();
        assert_eq!((gmail.host.as_str(), gmail.port()), ("pop.gmail.com", 995));
        let mut local = spec("me@isp.example", Some(Security::Starttls));
        local.host = Some("pop.isp.example".into());
        let (local, _) = local.build().unwrap();
        assert_eq!(local.port(), 110);
        assert!(
            spec("me@icloud.com", None).build().is_err(),
            "iCloud offers no POP3: a host must be given"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let config = Config {
            accounts: vec![local],
        };
        config.save(&path).unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("kind = \"pop3\"")
        );
        assert_eq!(Config::load(&path).unwrap(), config);
    }

    #[test]
    fn presets() {
        assert_eq!(preset_for("x@gmail.com").unwrap().host, "imap.gmail.com");
        assert_eq!(preset_for("x@icloud.com").unwrap().host, "imap.mail.me.com");
        assert_eq!(preset_for("x@hotmail.com").unwrap().auth, AuthKind::Xoauth2);
        assert!(preset_for("x@example.org").is_none());
    }

    #[test]
    fn files_from_before_kinds_are_imap_and_unknown_kinds_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        std::fs::write(
            &path,
            "[[account]]\nname = \"old\"\nhost = \"h\"\nuser = \"u\"\npassword_env = \"P\"\n",
        )
        .unwrap();
        assert_eq!(
            Config::load(&path).unwrap().accounts[0].kind,
            AccountKind::Imap
        );
        std::fs::write(
            &path,
            "[[account]]\nname = \"x\"\nkind = \"carrier-pigeon\"\nhost = \"h\"\nuser = \"u\"\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("carrier-pigeon"), "{err}");
        let err = "smtp".parse::<AccountKind>().unwrap_err().to_string();
        assert!(err.contains("use one of: imap"), "{err}");
    }

    #[test]
    fn the_builder_fills_in_providers_users_and_auth() {
        let (gmail, preset) = AccountSpec {
            name: "g".into(),
            email: Some("me@gmail.com".into()),
            oauth2_token_command: Some("token".into()),
            ..Default::default()
        }
        .build()
        .unwrap();
        assert_eq!(gmail.host, "imap.gmail.com");
        assert_eq!(
            (gmail.user.as_str(), gmail.auth),
            ("me@gmail.com", AuthKind::Xoauth2)
        );
        assert_eq!(preset.map(|p| p.provider), Some("Gmail"));
        let (own, preset) = AccountSpec {
            name: "own".into(),
            host: Some("127.0.0.1".into()),
            security: Some("plain".parse().unwrap()),
            user: Some("alice".into()),
            password_env: Some("PW".into()),
            ..Default::default()
        }
        .build()
        .unwrap();
        assert_eq!(
            (own.security, own.auth, own.port()),
            (Security::None, AuthKind::Password, 143)
        );
        assert!(preset.is_none());
        let err = AccountSpec {
            name: "x".into(),
            email: Some("me@example.org".into()),
            password_env: Some("PW".into()),
            ..Default::default()
        }
        .build()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("me@example.org") && err.contains("--host"),
            "{err}"
        );
        let err = "ssh".parse::<Security>().unwrap_err().to_string();
        assert!(err.contains("tls, starttls, none"), "{err}");
    }
}
