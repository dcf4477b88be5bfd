//! Mail accounts: `rapport account …`, `sync`, `watch`, `status` and `audit`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rapport_core::Engine;
use rapport_core::config::{Account, AccountKind, AccountSpec, Config, FolderPolicy, Security};
use rapport_core::sync::token_store::{Kept, TokenStore};
use rapport_core::syncer::{self, SyncOptions, SyncProgress, WatchEvent, WatchOptions};
use rapport_core::time::human_age;

use crate::context::Ctx;
use crate::fmt::{self, Table, heading};
use crate::stop::StopSignals;

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Add an IMAP account, a POP3 one with --pop3, an Outlook data file with --pst, an
    /// on-premises Exchange with --exchange, or Microsoft 365 / Outlook.com with --provider and
    /// --client-id (the server is found from --email: built-in providers, the provider's
    /// autoconfig file, Exchange's Autodiscover, or the usual names)
    #[command(
        after_help = "Examples:\n  rapport account add home --email me@isp.example --password-command 'pass show mail/isp'\n  rapport account add work --email me@fastmail.com --password-command 'pass show mail/fastmail'\n  rapport account add gmail --email me@gmail.com --oauth2-command 'oauth2-token gmail'\n  rapport account add office --email me@corp.example --provider office365 --oauth2-command 'get-token'\n  rapport account add local --host 127.0.0.1 --port 143 --security none --user alice --password-env PW\n  rapport account add home --pop3 --email me@isp.example --host pop.isp.example --password-command 'pass show mail/isp'\n  rapport account add outlook --pst ~/Documents/Outlook\\ Files/me@isp.example.pst --email me@isp.example\n  rapport account add work --exchange --email dana@corp.example --password-command 'pass show work'\n  rapport account add work --exchange --email dana@corp.example --server mail.corp.example --username 'CORP\\dana' --password-env PW\n  rapport account add m365 --provider office365 --email dana@contoso.com --client-id APP-ID\n\nExchange (--exchange, on-premises EWS): the server comes from --server, --ews-url or\nAutodiscover; the login is tried as typed, as the whole address, as the part before @ and as\nDOMAIN\\user, with NTLM (channel binding) or Basic over https; the form that works is saved.\nMicrosoft 365 and Outlook.com (--provider office365|outlook with --client-id, over Microsoft\nGraph): you sign in with a code shown here (or --browser); the README shows how to register the\napplication whose id --client-id takes. The tokens go to the OS keyring (Secret Service) where\none answers, else to a file only you can read (RAPPORT_KEYRING=off: always the file); `account\nremove` deletes them. With --oauth2-command instead, they are IMAP accounts.\n\nPOP3 accounts are read without deleting or marking anything: each poll (`rapport sync`, or\n`rapport watch` every --poll seconds) stores the headers of the messages it has not seen. POP3\nshows neither the mail you sent nor mail your own client deleted from the server before a\npoll; where the provider offers IMAP, an IMAP account sees both.\n\nA --pst account is an Outlook data file (where classic Outlook keeps POP3 mail, Sent Items\nincluded): `rapport sync` reads what is new in it, and `rapport watch` re-reads it whenever it\nchanges and can be opened. Outlook locks the data file it has open, so new mail arrives after\nOutlook closes; point the account at a copy to read it while Outlook runs.\n\nFinding the server: with --email and no --host, well-known providers (Gmail, iCloud, Yahoo,\nOutlook.com, Fastmail) are built in; for other domains Rapport asks the domain itself, as\nThunderbird does: https://autoconfig.DOMAIN/mail/config-v1.1.xml, then\nhttps://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml, then both over http (a file read\nover http may only name servers under DOMAIN), then it tries imap.DOMAIN and mail.DOMAIN on 993\n(TLS) and 143 (STARTTLS), then pop.DOMAIN and mail.DOMAIN on 995 and 110 (STLS); IMAP is\npreferred. It logs in with the user name the autoconfig file gives, then the whole address,\nthen the part before @, and saves the first that works. Nothing is sent anywhere but to your\nown mail domain: Thunderbird's central database (autoconfig.thunderbird.net) is never asked.\nWithout a password source nothing can be verified: the server found is shown, not saved.\nNames under .localhost always mean this machine (RFC 6761)."
    )]
    Add(Box<AddArgs>),
    /// Add the IMAP and POP3 accounts of another mail program (Thunderbird)
    #[command(subcommand)]
    Import(ImportFrom),
    /// List accounts (secrets are never shown)
    List,
    /// Remove an account from the configuration (its mail stays in the database; a Microsoft
    /// account's sign-in tokens are deleted)
    Remove { name: String },
    /// Connect, log in and list the folders a sync would cover
    Test { name: String },
    /// Sign a Microsoft 365 / Outlook.com account in again (its tokens expired or were revoked)
    Login {
        name: String,
        /// Sign in in a browser (authorization code with PKCE, redirected to
        /// http://localhost:PORT/) instead of with a code on another device
        #[arg(long)]
        browser: bool,
    },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// A short name for the account (no spaces)
    pub name: String,
    /// A POP3 mailbox (read-only: nothing is deleted or marked) instead of IMAP
    #[arg(long, conflicts_with_all = ["sync_junk", "sync_trash", "sync_drafts", "exclude"])]
    pub pop3: bool,
    /// On-premises Exchange over EWS (Exchange 2016, 2019, Subscription Edition): the server is
    /// found by Autodiscover from --email unless --server or --ews-url gives it
    #[arg(long, conflicts_with_all = ["pop3", "port", "security", "provider", "insecure"])]
    pub exchange: bool,
    /// The EWS endpoint, when it is not https://SERVER/EWS/Exchange.asmx (with --exchange)
    #[arg(long, value_name = "URL", requires = "exchange")]
    pub ews_url: Option<String>,
    /// Trust a server Autodiscover finds outside the address's domain without asking
    #[arg(long, requires = "exchange")]
    pub allow_redirect: bool,
    /// The application (client) id of your or your organisation's app registration, for
    /// Microsoft 365 and Outlook.com over Graph (see --help for how to register one)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Where to sign in [default: https://login.microsoftonline.com/organizations for
    /// office365, …/consumers for outlook]
    #[arg(long, value_name = "URL", requires = "client_id")]
    pub authority: Option<String>,
    /// Microsoft Graph's endpoint [default: https://graph.microsoft.com/v1.0]
    #[arg(long, value_name = "URL", requires = "client_id")]
    pub graph_url: Option<String>,
    /// Sign in in a browser (PKCE on a loopback redirect) instead of with a device code
    #[arg(long, requires = "client_id")]
    pub browser: bool,
    /// An Outlook data file (.pst) instead of a server: read whenever Outlook is closed
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pop3", "host", "port", "security", "user", "provider", "password_command", "password_env", "oauth2_command"])]
    pub pst: Option<PathBuf>,
    /// Your address on this account (it becomes one of your identities)
    #[arg(long)]
    pub email: Option<String>,
    /// Server settings for a provider that --email does not reveal
    #[arg(long, value_enum)]
    pub provider: Option<ProviderArg>,
    /// The server (an Exchange server with --exchange)
    #[arg(long, visible_alias = "server")]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long, value_parser = crate::choice::choice(Security::ALL, Security::as_str))]
    pub security: Option<Security>,
    /// Login name [default: the address]. Exchange takes any form: the address, the part
    /// before @, DOMAIN\\user or the UPN
    #[arg(long, visible_alias = "username")]
    pub user: Option<String>,
    /// A command printing the password (its first line is used)
    #[arg(long, value_name = "COMMAND")]
    pub password_command: Option<String>,
    /// An environment variable holding the password
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// A command printing an OAuth2 access token (XOAUTH2)
    #[arg(long, value_name = "COMMAND")]
    pub oauth2_command: Option<String>,
    /// Extra trusted certificate authorities (PEM), for a private CA
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Allow an unencrypted connection to a host other than this machine
    #[arg(long)]
    pub insecure: bool,
    /// Also sync Junk / Trash / Drafts
    #[arg(long)]
    pub sync_junk: bool,
    #[arg(long)]
    pub sync_trash: bool,
    #[arg(long)]
    pub sync_drafts: bool,
    /// Never sync this folder (repeatable)
    #[arg(long, value_name = "FOLDER")]
    pub exclude: Vec<String>,
    /// Replace an existing account of the same name
    #[arg(long)]
    pub replace: bool,
}

#[derive(Subcommand, Debug)]
pub enum ImportFrom {
    /// A Thunderbird profile's IMAP and POP3 accounts: servers, ports, encryption, user names
    /// and addresses (never its passwords: logins.json is not opened)
    #[command(
        after_help = "Examples:\n  rapport account import thunderbird --dry-run\n  rapport account import thunderbird ~/.thunderbird/abcd1234.default-release --password-command 'pass show mail/{name}'\n  rapport account import thunderbird work-profile --json\n\nWithout PROFILE, the profile Thunderbird starts with: from ~/.thunderbird/profiles.ini (also\nthe snap's and the flatpak's), else a *.default-release directory. PROFILE is a profile\ndirectory or a profile's name in profiles.ini. Local Folders, news and feed accounts are\nskipped with a note, and so are servers already configured here. New accounts are named after\nThunderbird's account names (made unique). Thunderbird's passwords are never read: give a\nsource with --password-command or --password-env ({name} in the command is replaced by the\nnew account's name), or add one per account later in the accounts file."
    )]
    Thunderbird(ThunderbirdArgs),
}

#[derive(Args, Debug)]
pub struct ThunderbirdArgs {
    /// The profile directory, or a profile's name in profiles.ini [default: Thunderbird's default
    /// profile]
    pub profile: Option<String>,
    /// Show what would be added without saving anything
    #[arg(long)]
    pub dry_run: bool,
    /// A command printing each account's password ({name}: the new account's name)
    #[arg(long, value_name = "COMMAND")]
    pub password_command: Option<String>,
    /// An environment variable holding the password (for every imported account)
    #[arg(long, value_name = "VAR", conflicts_with = "password_command")]
    pub password_env: Option<String>,
    /// Extra trusted certificate authorities (PEM), for a private CA
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ProviderArg {
    /// Microsoft 365 (work or school): Microsoft Graph, or IMAP with --oauth2-command
    Office365,
    /// Outlook.com, Hotmail, Live: Microsoft Graph, or IMAP with --oauth2-command
    Outlook,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Accounts to sync [default: all]
    pub accounts: Vec<String>,
    /// Only these folders (repeatable)
    #[arg(long, value_name = "FOLDER")]
    pub folder: Vec<String>,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Accounts to watch [default: all]
    pub accounts: Vec<String>,
    /// Seconds between checks of IMAP folders IDLE does not cover, between POP3, Exchange and
    /// Microsoft 365 polls, and between looks at a PST file
    #[arg(long, default_value_t = 60)]
    pub poll: u64,
    /// Seconds one IDLE lasts before it is re-issued (at most 29 minutes)
    #[arg(long, default_value_t = 300)]
    pub idle: u64,
}

fn config_path(ctx: &Ctx) -> PathBuf {
    ctx.config.clone()
}

fn load(ctx: &Ctx) -> anyhow::Result<Config> {
    Ok(Config::load(&config_path(ctx))?)
}

fn pick<'a>(config: &'a Config, names: &[String]) -> anyhow::Result<Vec<&'a Account>> {
    if config.accounts.is_empty() {
        bail!(
            "no accounts configured: add one with `rapport account add NAME --email you@example.com …`"
        );
    }
    if names.is_empty() {
        return Ok(config.accounts.iter().collect());
    }
    names
        .iter()
        .map(|n| config.account(n).map_err(anyhow::Error::from))
        .collect()
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn account(ctx: &Ctx, cmd: AccountCommand) -> anyhow::Result<ExitCode> {
    let path = config_path(ctx);
    match cmd {
        AccountCommand::Add(args) => add(ctx, &path, *args),
        AccountCommand::Import(ImportFrom::Thunderbird(args)) => {
            import_thunderbird(ctx, &path, args)
        }
        AccountCommand::List => {
            let config = load(ctx)?;
            if ctx.json {
                fmt::json(&config.accounts)?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = Table::new(&[
                "NAME",
                "KIND",
                "ADDRESS",
                "SERVER OR FILE",
                "SECURITY",
                "AUTH",
                "SECRET FROM",
            ]);
            for a in &config.accounts {
                t.row(vec![
                    a.name.clone(),
                    a.kind.to_string(),
                    a.email.clone(),
                    a.location(),
                    if a.kind == AccountKind::Pst {
                        "-".into()
                    } else {
                        format!("{:?}", a.security).to_lowercase()
                    },
                    match a.kind {
                        AccountKind::Pst => "-".into(),
                        AccountKind::Graph => "oauth2".into(),
                        _ => format!("{:?}", a.auth).to_lowercase(),
                    },
                    if a.kind == AccountKind::Pst {
                        "-".into()
                    } else if a.kind == AccountKind::Graph {
                        match a.token_file.as_deref().map(|f| TokenStore::new(f).kept()) {
                            Some(Some(Kept::Keyring)) => "sign-in (keyring)".into(),
                            Some(Some(Kept::File(_))) => "sign-in (tokens file)".into(),
                            _ => "not signed in".into(),
                        }
                    } else if a.password_env.is_some() {
                        "environment".into()
                    } else if a.password_command.is_some() || a.oauth2_token_command.is_some() {
                        "command".into()
                    } else {
                        "none (add one)".into()
                    },
                ]);
            }
            if t.is_empty() {
                println!(
                    "No accounts in {}. Add one: rapport account add NAME --email you@example.com",
                    path.display()
                );
            } else {
                t.print();
            }
            Ok(ExitCode::SUCCESS)
        }
        AccountCommand::Remove { name } => {
            let mut config = load(ctx)?;
            let Some(removed) = config.accounts.iter().position(|a| a.name == name) else {
                return Err(rapport_core::Error::NotFound {
                    what: "account",
                    name,
                }
                .into());
            };
            let account = config.accounts.remove(removed);
            config.save(&path)?;
            // Removing a Microsoft account signs it out: no refresh token outlives it.
            if let Some(file) = account.token_file.as_deref() {
                TokenStore::new(file).forget()?;
            }
            if !ctx.quiet {
                eprintln!("Removed {name}; its mail stays in the database.");
            }
            Ok(ExitCode::SUCCESS)
        }
        AccountCommand::Login { name, browser } => {
            let config = load(ctx)?;
            let account = config.account(&name)?.clone();
            if account.kind != AccountKind::Graph {
                bail!(
                    "'{name}' is a {} account: only Microsoft 365 / Outlook.com accounts sign in (others take a password or token source)",
                    account.kind
                );
            }
            let rt = runtime()?;
            sign_in(ctx, &rt, &account, browser)?;
            Ok(ExitCode::SUCCESS)
        }
        AccountCommand::Test { name } => {
            let config = load(ctx)?;
            let account = config.account(&name)?.clone();
            let rt = runtime()?;
            let result = rt.block_on(syncer::test_account(&account))?;
            // Exchange: the login form that worked is the one to keep.
            let login = result
                .capabilities
                .iter()
                .find_map(|c| c.strip_prefix("login "));
            if let Some(login) = login.filter(|l| *l != account.user) {
                let mut config = config.clone();
                if let Some(saved) = config.accounts.iter_mut().find(|a| a.name == name) {
                    saved.user = login.to_string();
                }
                config.save(&path)?;
                if !ctx.quiet {
                    eprintln!(
                        "The server refused '{}' but accepted '{login}': saved '{login}' as the login.",
                        account.user
                    );
                }
            }
            if ctx.json {
                fmt::json(&result)?;
                return Ok(ExitCode::SUCCESS);
            }
            if account.kind == AccountKind::Pst {
                println!("{} opened {}.", heading(&name), result.host);
            } else {
                println!("{} logged in to {}.", heading(&name), result.host);
                println!("  capabilities: {}", result.capabilities.join(" "));
            }
            println!("  folders synced: {}", result.synced_folders.join(", "));
            let skipped: Vec<&str> = result
                .folders
                .iter()
                .filter(|f| !result.synced_folders.contains(&f.name))
                .map(|f| f.name.as_str())
                .collect();
            if !skipped.is_empty() {
                println!("  folders not synced: {}", skipped.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn add(ctx: &Ctx, path: &Path, args: AddArgs) -> anyhow::Result<ExitCode> {
    let mut config = load(ctx)?;
    if config.accounts.iter().any(|a| a.name == args.name) && !args.replace {
        bail!(
            "an account named '{}' exists already (use --replace to overwrite it)",
            args.name
        );
    }
    let mut spec = AccountSpec {
        name: args.name.clone(),
        kind: if args.pst.is_some() {
            AccountKind::Pst
        } else if args.provider.is_some() && args.oauth2_command.is_none() && !args.pop3 {
            AccountKind::Graph
        } else if args.exchange {
            AccountKind::Ews
        } else if args.pop3 {
            AccountKind::Pop3
        } else {
            AccountKind::Imap
        },
        email: args.email.clone(),
        office365: matches!(args.provider, Some(ProviderArg::Office365)),
        host: args.host.clone(),
        port: args.port,
        security: args.security,
        user: args.user.clone(),
        auth: None,
        password_command: args.password_command,
        password_env: args.password_env,
        oauth2_token_command: args.oauth2_command,
        ca_file: args.ca_file,
        insecure: args.insecure,
        folders: FolderPolicy {
            junk: args.sync_junk,
            trash: args.sync_trash,
            drafts: args.sync_drafts,
            exclude: args.exclude,
            only: Vec::new(),
        },
        path: args.pst.clone(),
        ews_url: args.ews_url.clone(),
        client_id: args.client_id.clone(),
        authority: args.authority.clone().or(match args.provider {
            Some(ProviderArg::Outlook) => {
                Some("https://login.microsoftonline.com/consumers".into())
            }
            Some(ProviderArg::Office365) => {
                Some("https://login.microsoftonline.com/organizations".into())
            }
            None => None,
        }),
        graph_url: args.graph_url.clone(),
        token_file: Some(token_file_for(path, &args.name)),
    };
    if spec.kind == AccountKind::Graph {
        return add_graph(ctx, path, config, spec, args.browser);
    }
    if spec.kind == AccountKind::Ews {
        return add_exchange(ctx, path, config, spec, args.allow_redirect);
    }
    // No server given and none built in: ask the address's domain.
    let discovery = match &spec.email {
        Some(email)
            if spec.kind != AccountKind::Pst
                && spec.host.as_deref().is_none_or(|h| h.trim().is_empty())
                && !spec.office365
                && rapport_core::config::preset_for(email).is_none() =>
        {
            let email = email.clone();
            match discover_server(ctx, &spec, &email, args.pop3)? {
                Some(discovery) => {
                    let found = &discovery.found;
                    spec.kind = found.kind;
                    spec.host = Some(found.host.clone());
                    spec.port = Some(found.port);
                    spec.security = Some(found.security);
                    spec.user = Some(found.user.clone());
                    Some(discovery)
                }
                None => return Ok(ExitCode::from(1)),
            }
        }
        _ => None,
    };
    let (account, preset) = spec.build()?;
    config.accounts.retain(|a| a.name != account.name);
    config.accounts.push(account.clone());
    config.save(path)?;
    if ctx.json {
        let mut value = serde_json::to_value(&account)?;
        if let (Some(d), Some(map)) = (&discovery, value.as_object_mut()) {
            map.insert("discovery".into(), serde_json::to_value(d)?);
        }
        fmt::json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(d) = &discovery {
        eprintln!(
            "Found {} {}:{} ({}) through {}; logged in with the {} as the user name.",
            d.found.kind.as_str().to_ascii_uppercase(),
            d.found.host,
            d.found.port,
            d.found.security.as_str(),
            if d.found.source == "guess" {
                "the usual names".to_string()
            } else {
                format!("the autoconfig file {}", d.found.source)
            },
            d.found.user_form
        );
    }
    match &account.path {
        Some(file) => eprintln!(
            "Added {} (Outlook data file {}) to {}. Outlook locks the data file it has open: it is read while Outlook is closed.",
            account.name,
            file.display(),
            path.display()
        ),
        None => eprintln!(
            "Added {} ({}:{} {:?}) to {}.",
            account.name,
            account.host,
            account.port(),
            account.security,
            path.display()
        ),
    }
    if let Some(p) = preset {
        eprintln!("{}: {}", p.provider, p.note);
        if account.kind == AccountKind::Pop3 {
            eprintln!(
                "{} also offers IMAP ({}), which Rapport recommends: it sees the mail you send, and mail deleted from the server. Add it with the same command without --pop3.",
                p.provider, p.host
            );
        }
    }
    eprintln!(
        "Next: rapport account test {0}   then   rapport sync {0}",
        account.name
    );
    Ok(ExitCode::SUCCESS)
}

/// Where a Graph account's tokens are kept: beside the accounts file, in `tokens/`.
fn token_file_for(config: &Path, name: &str) -> PathBuf {
    config
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("tokens")
        .join(format!("{name}.json"))
}

/// Signs a Graph account in (device code, or a browser with PKCE) and saves its tokens.
fn sign_in(
    ctx: &Ctx,
    rt: &tokio::runtime::Runtime,
    account: &Account,
    browser: bool,
) -> anyhow::Result<()> {
    use rapport_core::sync::graph::DevicePrompt;
    let endpoints = account.graph_endpoints();
    let json = ctx.json;
    let tokens = if browser {
        let open = |url: &str| {
            eprintln!("Sign in in your browser: {url}");
            // Best effort: the URL is printed either way.
            let _ = std::process::Command::new("xdg-open")
                .arg(url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        };
        rt.block_on(endpoints.browser_sign_in(&account.name, &open))?
    } else {
        let prompt = move |p: &DevicePrompt| {
            if json {
                // One line a script can read before the sign-in finishes.
                println!("{}", serde_json::json!({"sign_in": p}));
            }
            if p.message.is_empty() {
                eprintln!(
                    "To sign in, open {} and enter the code {} (within {} minutes).",
                    p.verification_uri,
                    p.user_code,
                    p.expires_in / 60
                );
            } else {
                eprintln!("{}", p.message);
            }
            eprintln!("Waiting for the sign-in…");
        };
        rt.block_on(endpoints.device_code_sign_in(&account.name, &prompt))?
    };
    let file = account
        .token_file
        .clone()
        .context("the account has no token file")?;
    let kept = TokenStore::new(&file).save(&tokens)?;
    if !ctx.quiet {
        eprintln!("Signed in; tokens kept in {kept}.");
    }
    Ok(())
}

/// `account add --provider office365|outlook`: sign in, list the folders, save.
fn add_graph(
    ctx: &Ctx,
    path: &Path,
    mut config: Config,
    spec: AccountSpec,
    browser: bool,
) -> anyhow::Result<ExitCode> {
    let (account, _) = spec.build()?;
    let rt = runtime()?;
    sign_in(ctx, &rt, &account, browser)?;
    let test = rt.block_on(syncer::test_account(&account))?;
    config.accounts.retain(|a| a.name != account.name);
    config.accounts.push(account.clone());
    config.save(path)?;
    if ctx.json {
        let mut value = serde_json::to_value(&account)?;
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "folders".into(),
                serde_json::to_value(&test.synced_folders)?,
            );
        }
        fmt::json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "Added {} (Microsoft Graph, {} mail folders) to {}.",
        account.name,
        test.synced_folders.len(),
        path.display()
    );
    eprintln!(
        "Next: rapport sync {0}   (rapport watch {0} keeps it current)",
        account.name
    );
    Ok(ExitCode::SUCCESS)
}

/// `account add --exchange`: the endpoint from --ews-url, --server or Autodiscover; then, with
/// a password source, every login form in turn until the server accepts one, which is saved.
fn add_exchange(
    ctx: &Ctx,
    path: &Path,
    mut config: Config,
    mut spec: AccountSpec,
    allow_redirect: bool,
) -> anyhow::Result<ExitCode> {
    let has_server = spec.host.as_deref().is_some_and(|h| !h.trim().is_empty())
        || spec
            .ews_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty());
    let rt = runtime()?;
    let mut discovered = None;
    if !has_server {
        let Some(email) = spec.email.clone() else {
            bail!("an Exchange account needs --email (for Autodiscover), --server or --ews-url");
        };
        // The secret's source, as the account will have it (the host is not known yet).
        let probe = AccountSpec {
            host: Some("autodiscover.invalid".into()),
            ..spec.clone()
        }
        .build()?
        .0;
        let found = autodiscover_exchange(ctx, &rt, &probe, &email, allow_redirect)?;
        spec.ews_url = Some(found.ews_url.clone());
        discovered = Some(found);
    }
    let (mut account, _) = spec.build()?;
    let test = rt.block_on(syncer::test_account(&account))?;
    let login = test
        .capabilities
        .iter()
        .find_map(|c| c.strip_prefix("login "))
        .map(str::to_string);
    let scheme = test
        .capabilities
        .iter()
        .find_map(|c| c.strip_prefix("auth "))
        .unwrap_or("none")
        .to_string();
    if let Some(login) = &login {
        account.user = login.clone();
    }
    config.accounts.retain(|a| a.name != account.name);
    config.accounts.push(account.clone());
    config.save(path)?;
    if ctx.json {
        let mut value = serde_json::to_value(&account)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("auth_scheme".into(), scheme.clone().into());
            map.insert(
                "folders".into(),
                serde_json::to_value(&test.synced_folders)?,
            );
            if let Some(d) = &discovered {
                map.insert("discovery".into(), serde_json::to_value(d)?);
            }
        }
        fmt::json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(d) = &discovered {
        eprintln!("Found {} through Autodiscover ({}).", d.ews_url, d.route);
    }
    eprintln!(
        "Logged in to {} as {} ({}); {} mail folders to sync.",
        account.ews_endpoint(),
        account.user,
        scheme.to_uppercase(),
        test.synced_folders.len()
    );
    eprintln!("Added {} (Exchange) to {}.", account.name, path.display());
    eprintln!(
        "Next: rapport sync {0}   (rapport watch {0} keeps it current)",
        account.name
    );
    Ok(ExitCode::SUCCESS)
}

/// Autodiscover for `account add --exchange`, with progress on stderr and the user's word
/// before a server outside the address's domain is trusted (a terminal prompt, or
/// --allow-redirect).
fn autodiscover_exchange(
    ctx: &Ctx,
    rt: &tokio::runtime::Runtime,
    probe: &Account,
    email: &str,
    allow_redirect: bool,
) -> anyhow::Result<rapport_core::discover::exchange::ExchangeDiscovery> {
    let password = probe.secret()?;
    let quiet = ctx.quiet;
    let progress = move |line: &str| {
        if !quiet {
            eprintln!("  Autodiscover: {line}");
        }
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let confirm = move |host: &str| -> bool {
        if allow_redirect {
            return true;
        }
        if !interactive {
            eprintln!(
                "  Autodiscover points to {host}, outside your address's domain: not trusted (pass --allow-redirect to accept it)"
            );
            return false;
        }
        eprint!("  Autodiscover points to {host}, outside your address's domain. Trust it? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && answer.trim().eq_ignore_ascii_case("y")
    };
    Ok(rt.block_on(rapport_core::discover::exchange::autodiscover(
        &probe.name,
        email,
        &probe.user,
        &password,
        probe.ca_file.clone(),
        &confirm,
        &progress,
    ))?)
}

/// Runs discovery for `account add`: progress on stderr (unless --quiet). `None` when the
/// server was found but, without a secret, nothing could be verified (already reported).
fn discover_server(
    ctx: &Ctx,
    spec: &AccountSpec,
    email: &str,
    pop3_only: bool,
) -> anyhow::Result<Option<rapport_core::discover::Discovery>> {
    use rapport_core::config::AuthKind;
    let auth = if spec.oauth2_token_command.is_some() {
        AuthKind::Xoauth2
    } else {
        AuthKind::Password
    };
    let has_source = spec.password_command.is_some()
        || spec.password_env.is_some()
        || spec.oauth2_token_command.is_some();
    let secret = if has_source {
        // The secret's source, as the account will have it.
        let probe = Account {
            name: spec.name.clone(),
            kind: spec.kind,
            email: email.to_string(),
            host: String::new(),
            port: None,
            security: Security::default(),
            user: String::new(),
            auth,
            password_command: spec.password_command.clone(),
            password_env: spec.password_env.clone(),
            oauth2_token_command: spec.oauth2_token_command.clone(),
            ca_file: None,
            insecure: false,
            folders: FolderPolicy::default(),
            path: None,
            ews_url: None,
            client_id: None,
            authority: None,
            graph_url: None,
            token_file: None,
        };
        Some(probe.secret()?)
    } else {
        None
    };
    let request = rapport_core::discover::Request {
        email: email.to_string(),
        kind: pop3_only.then_some(AccountKind::Pop3),
        user: spec.user.clone(),
        auth,
        secret,
        ca_file: spec.ca_file.clone(),
        timeout: Duration::ZERO,
    };
    let quiet = ctx.quiet;
    let progress = move |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let rt = runtime()?;
    let discovery = rt.block_on(rapport_core::discover::discover(&request, &progress))?;
    if discovery.found.verified {
        return Ok(Some(discovery));
    }
    let f = &discovery.found;
    if ctx.json {
        let mut value = serde_json::to_value(&discovery)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("saved".into(), serde_json::Value::Bool(false));
        }
        fmt::json(&value)?;
    }
    eprintln!(
        "Found {} {}:{} ({}) through {}, but without a password source Rapport cannot log in to check the user name ({} is a guess, not verified). Nothing was saved. Add the account with one:\n  rapport account add {} --email {email} --password-command '…'   (or --password-env VAR)",
        f.kind.as_str().to_ascii_uppercase(),
        f.host,
        f.port,
        f.security.as_str(),
        if f.source == "guess" {
            "the usual names"
        } else {
            f.source.as_str()
        },
        f.user_form,
        spec.name
    );
    Ok(None)
}

fn home_dir() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .context("neither HOME nor USERPROFILE is set: pass the profile directory")
}

fn import_thunderbird(ctx: &Ctx, path: &Path, args: ThunderbirdArgs) -> anyhow::Result<ExitCode> {
    use rapport_core::thunderbird_profile as tb;
    let profile = match &args.profile {
        Some(p) if Path::new(p).is_dir() => PathBuf::from(p),
        Some(p)
            if p.contains(std::path::MAIN_SEPARATOR) || p.contains('/') || p.starts_with('.') =>
        {
            bail!(
                "{p} is not a directory: pass a Thunderbird profile directory (it holds prefs.js) or a profile's name"
            )
        }
        Some(name) => tb::find_profile(&home_dir()?, Some(name))?,
        None => tb::find_profile(&home_dir()?, None)?,
    };
    let (found, mut skipped) = tb::read_profile(&profile)?;
    let mut config = load(ctx)?;
    let mut taken: Vec<String> = config.accounts.iter().map(|a| a.name.clone()).collect();
    let mut added = Vec::new();
    for t in found {
        if let Some(same) = config.accounts.iter().find(|a| {
            a.kind == t.kind
                && a.host.eq_ignore_ascii_case(&t.host)
                && a.port() == t.port
                && a.user == t.user
        }) {
            skipped.push(tb::SkippedAccount {
                key: t.key,
                name: t.name,
                reason: format!("already configured as '{}'", same.name),
            });
            continue;
        }
        let name = tb::account_name(&t.name, &taken);
        let account = Account {
            name: name.clone(),
            kind: t.kind,
            email: t.email.clone().unwrap_or_else(|| {
                if t.name.contains('@') {
                    t.name.clone()
                } else {
                    String::new()
                }
            }),
            host: t.host.clone(),
            port: Some(t.port),
            security: t.security,
            user: t.user.clone(),
            auth: t.auth,
            password_command: match t.auth {
                rapport_core::config::AuthKind::Password => args
                    .password_command
                    .as_ref()
                    .map(|c| c.replace("{name}", &name)),
                rapport_core::config::AuthKind::Xoauth2 => None,
            },
            password_env: match t.auth {
                rapport_core::config::AuthKind::Password => args.password_env.clone(),
                rapport_core::config::AuthKind::Xoauth2 => None,
            },
            oauth2_token_command: None,
            ca_file: args.ca_file.clone(),
            insecure: false,
            folders: FolderPolicy::default(),
            path: None,
            ews_url: None,
            client_id: None,
            authority: None,
            graph_url: None,
            token_file: None,
        };
        if let Err(e) = account.validate_settings() {
            skipped.push(tb::SkippedAccount {
                key: t.key,
                name: t.name,
                reason: e.to_string(),
            });
            continue;
        }
        taken.push(name);
        added.push(account);
    }
    if !args.dry_run && !added.is_empty() {
        config.accounts.extend(added.iter().cloned());
        config.save(path)?;
    }
    if ctx.json {
        fmt::json(&serde_json::json!({
            "profile": profile,
            "dry_run": args.dry_run,
            "added": added,
            "skipped": skipped,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if args.dry_run { "Would add" } else { "Added" };
    eprintln!("Thunderbird profile {}:", profile.display());
    for a in &added {
        eprintln!(
            "  {verb} {} ({} {} user {}, {})",
            a.name,
            a.kind.as_str().to_ascii_uppercase(),
            a.location(),
            a.user,
            a.security.as_str()
        );
    }
    for s in &skipped {
        eprintln!("  Skipped {} ({}): {}", s.name, s.key, s.reason);
    }
    if added.is_empty() {
        eprintln!("  No IMAP or POP3 account to add.");
    } else if !args.dry_run {
        eprintln!("Saved to {}.", path.display());
        let without: Vec<&str> = added
            .iter()
            .filter(|a| a.validate_secret_source().is_err())
            .map(|a| a.name.as_str())
            .collect();
        if !without.is_empty() {
            eprintln!(
                "Thunderbird's passwords are not read. Give {} a password source: set password_command (or password_env; oauth2_token_command for OAuth2) in {} (or `rapport account remove NAME` and import again with --password-command).",
                without.join(", "),
                path.display()
            );
        }
        eprintln!("Next: rapport account test NAME   then   rapport sync");
    }
    Ok(ExitCode::SUCCESS)
}

/// One progress bar per folder, on a terminal.
struct Bars {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn new(quiet: bool) -> Self {
        let on = !quiet && std::io::stderr().is_terminal();
        Self {
            multi: on.then(MultiProgress::new),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn update(&self, p: &SyncProgress) {
        let Some(multi) = &self.multi else {
            return;
        };
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let key = format!("{}/{}", p.account, p.folder);
        let bar = bars.entry(key.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(p.total.max(1)));
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:30!} {bar:25} {pos}/{len} {per_sec} ETA {eta} {msg}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(key);
            bar
        });
        bar.set_length(p.total.max(1));
        bar.set_position(p.done);
        bar.set_message(format!("{} new", p.stored));
        if p.finished {
            bar.finish();
        }
    }
}

/// What `sync` and `watch` start from: the chosen accounts, the database, a runtime, and
/// Ctrl-C/SIGTERM turned into a stop after the current window.
struct Session {
    accounts: Vec<Account>,
    engine: Arc<Engine>,
    rt: tokio::runtime::Runtime,
    stop: StopSignals,
}

impl Session {
    fn into_parts(
        self,
    ) -> (
        Vec<Account>,
        Arc<Engine>,
        tokio::runtime::Runtime,
        StopSignals,
    ) {
        (self.accounts, self.engine, self.rt, self.stop)
    }

    fn start(ctx: &Ctx, names: &[String]) -> anyhow::Result<Session> {
        let config = load(ctx)?;
        let accounts = pick(&config, names)?.into_iter().cloned().collect();
        Ok(Session {
            accounts,
            engine: Arc::new(Engine::open(&ctx.db)?),
            rt: runtime()?,
            stop: StopSignals::listen(),
        })
    }
}

pub fn sync(ctx: &Ctx, args: SyncArgs) -> anyhow::Result<ExitCode> {
    let (accounts, engine, rt, stop) = Session::start(ctx, &args.accounts)?.into_parts();
    let cancel = stop.token().clone();
    let bars = Arc::new(Bars::new(ctx.quiet || ctx.json));
    let mut reports = Vec::new();
    let mut failed = false;
    for account in &accounts {
        if cancel.is_cancelled() {
            break;
        }
        let options = SyncOptions {
            folders: args.folder.clone(),
            window: syncer::WINDOW,
        };
        let b = Arc::clone(&bars);
        let progress = move |p: &SyncProgress| b.update(p);
        let result = rt.block_on(syncer::sync_account(
            Arc::clone(&engine),
            account,
            &options,
            &progress,
            &cancel,
        ));
        match result {
            Ok(report) => reports.push(serde_json::to_value(&report)?),
            Err(rapport_core::Error::Cancelled) => break,
            Err(e) => {
                failed = true;
                if !ctx.json {
                    eprintln!("error: {}: {e}", account.name);
                }
                reports.push(serde_json::json!({
                    "account": account.name,
                    "error": {"code": e.code().as_str(), "message": e.to_string()},
                }));
            }
        }
    }
    if let Some(stopped) = stop.stopped(&format!(
        "{} of {} account(s) synced; the others stopped after their last complete window, which is \
         stored. Run `rapport sync` again to go on.",
        reports.iter().filter(|r| r.get("error").is_none()).count(),
        accounts.len()
    )) {
        if ctx.json {
            fmt::json(&reports)?;
        }
        return Err(stopped.into());
    }
    if ctx.json {
        fmt::json(&reports)?;
    } else if !ctx.quiet {
        for r in &reports {
            if r.get("error").is_some() {
                continue;
            }
            eprintln!(
                "{}: {} fetched, {} new, {} already stored, {} skipped in {:.1} s",
                r["account"].as_str().unwrap_or(""),
                r["fetched"],
                r["stored"],
                r["duplicates"],
                r["skipped"],
                r["elapsed_ms"].as_f64().unwrap_or(0.0) / 1000.0
            );
            for f in r["folders"].as_array().into_iter().flatten() {
                let note = match (f["status"].as_str(), f.get("uidvalidity_change")) {
                    (Some("error"), _) => format!(" error: {}", f["error"].as_str().unwrap_or("")),
                    (_, Some(c)) => format!(" (UIDVALIDITY changed: {})", c.as_str().unwrap_or("")),
                    _ => String::new(),
                };
                eprintln!(
                    "  {:<24} {:>6} new {:>6} known  {}{}",
                    f["folder"].as_str().unwrap_or(""),
                    f["stored"],
                    f["duplicates"],
                    f["status"].as_str().unwrap_or(""),
                    note
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn watch(ctx: &Ctx, args: WatchArgs) -> anyhow::Result<ExitCode> {
    // Ctrl-C or SIGTERM is how a watch ends: each account stops after its current window.
    let (accounts, engine, rt, stop) = Session::start(ctx, &args.accounts)?.into_parts();
    let cancel = stop.token().clone();
    let options = WatchOptions {
        poll: Duration::from_secs(args.poll.max(5)),
        idle: Duration::from_secs(args.idle.clamp(5, 29 * 60)),
    };
    let json = ctx.json;
    let quiet = ctx.quiet;
    if !quiet && !json {
        eprintln!("Watching {} account(s); Ctrl-C stops.", accounts.len());
    }
    let stopped = rt.block_on(async {
        let mut tasks = Vec::new();
        for account in accounts {
            let engine = Arc::clone(&engine);
            let cancel = cancel.clone();
            let options = options.clone();
            tasks.push(tokio::spawn(async move {
                let events = move |e: &WatchEvent| {
                    if json {
                        if let Ok(line) = serde_json::to_string(e) {
                            println!("{line}");
                        }
                    } else if !quiet {
                        match e {
                            WatchEvent::Connected { account, mode } => {
                                eprintln!("{account}: connected ({mode})")
                            }
                            WatchEvent::Synced {
                                account, stored, ..
                            } => {
                                eprintln!("{account}: {stored} new message(s) stored")
                            }
                            WatchEvent::Disconnected {
                                account,
                                error,
                                retry_in_secs,
                            } => {
                                eprintln!("{account}: {error}; retrying in {retry_in_secs} s")
                            }
                            WatchEvent::Stopped { account, error } => {
                                eprintln!("{account}: stopped: {error}")
                            }
                            WatchEvent::Waiting {
                                account,
                                reason,
                                retry_in_secs,
                            } => {
                                eprintln!("{account}: waiting: {reason}; trying again every {retry_in_secs} s")
                            }
                        }
                    }
                };
                syncer::watch_account(engine, account, options, &events, &cancel).await
            }));
        }
        let mut stopped = 0;
        for t in tasks {
            if !matches!(t.await, Ok(Ok(()))) {
                stopped += 1;
            }
        }
        stopped
    });
    Ok(if stopped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `rapport status --json`: every configured account with its folders' sync state.
pub fn status_value(ctx: &Ctx, engine: &Engine) -> anyhow::Result<serde_json::Value> {
    let config = load(ctx)?;
    let states = rapport_core::syncer::folder_states(engine, None)?;
    let v: Vec<_> = config
        .accounts
        .iter()
        .map(|a| {
            let folders: Vec<_> = states.iter().filter(|s| s.account == a.name).collect();
            serde_json::json!({"account": a.name, "host": a.host, "folders": folders})
        })
        .collect();
    Ok(serde_json::Value::Array(v))
}

pub fn status(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let engine = Engine::open(&ctx.db)?;
    if ctx.json {
        fmt::json(&status_value(ctx, &engine)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = load(ctx)?;
    let states = rapport_core::syncer::folder_states(&engine, None)?;
    if config.accounts.is_empty() {
        println!("No accounts. Add one: rapport account add NAME --email you@example.com");
        return Ok(ExitCode::SUCCESS);
    }
    let now = ctx.now;
    let mut t = Table::new(&[
        "ACCOUNT",
        "FOLDER",
        "LAST SYNC",
        "MODE",
        "MESSAGES",
        "HISTORY",
        "LAST ERROR",
    ])
    .max_width(6, 60);
    let mut seen = std::collections::HashSet::new();
    for a in &config.accounts {
        let mine: Vec<_> = states.iter().filter(|s| s.account == a.name).collect();
        if mine.is_empty() {
            t.row(vec![
                a.name.clone(),
                "—".into(),
                "never".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        for s in mine {
            if !seen.insert((s.account.clone(), s.folder.clone())) {
                continue;
            }
            t.row(vec![
                a.name.clone(),
                s.folder.clone(),
                if s.last_sync > 0 {
                    format!("{} ago", human_age(now - s.last_sync))
                } else {
                    "never".into()
                },
                s.mode.clone(),
                s.message_count.to_string(),
                if s.backfill_below <= 1 {
                    "complete".into()
                } else {
                    format!("below UID {}", s.backfill_below)
                },
                s.last_error.clone(),
            ]);
        }
    }
    t.print();
    Ok(ExitCode::SUCCESS)
}

pub fn audit(ctx: &Ctx, name: &str) -> anyhow::Result<ExitCode> {
    let config = load(ctx)?;
    let account = config.account(name)?.clone();
    let engine = Arc::new(Engine::open(&ctx.db)?);
    let rt = runtime()?;
    let report = rt.block_on(syncer::audit_account(engine, &account))?;
    if ctx.json {
        fmt::json(&report)?;
    } else {
        for f in &report.folders {
            println!(
                "{}  {} on the server, {} in the store, {} gap(s)",
                heading(&f.folder),
                f.on_server,
                f.in_store,
                f.gaps.len()
            );
            for g in f.gaps.iter().take(50) {
                println!("  UID {:<8} <{}>  {}", g.uid, g.message_id, g.reason);
            }
            if f.gaps.len() > 50 {
                println!("  … and {} more (--json lists all)", f.gaps.len() - 50);
            }
        }
        println!(
            "{}",
            if report.gaps == 0 {
                "No gaps: every message on the server is in the store.".to_string()
            } else {
                format!("{} gap(s).", report.gaps)
            }
        );
    }
    Ok(if report.gaps == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
