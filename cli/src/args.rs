//! The command line: every subcommand, flag and value, as clap reads them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rapport_core::{ContactSort, ExportFormat, Flow, Policy, WaitingOn};

use crate::choice::choice;
use crate::{accounts, bridge, native_host};

/// Know your relationships from your email.
///
/// Rapport reads your mail's headers (never bodies, unless you ask) and keeps, in one local
/// SQLite file, every correspondent, when you last wrote each other, every conversation and
/// whose turn it is to answer, and who has gone quiet for too long. Nothing leaves your machine.
///
/// Start with `rapport demo`, then `rapport import ~/Mail --me you@example.com`.
#[derive(Parser, Debug)]
#[command(
    name = "rapport",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The database file [default: the platform data directory, e.g. ~/.local/share/rapport/rapport.db]
    #[arg(long, global = true, env = "RAPPORT_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// The accounts file [default: the platform config directory, e.g. ~/.config/rapport/accounts.toml]
    #[arg(long, global = true, env = "RAPPORT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Print machine-readable JSON instead of tables
    #[arg(long, global = true)]
    pub json: bool,

    /// Treat this moment as now (YYYY-MM-DD or ISO 8601), for reproducible reports
    #[arg(
        long,
        global = true,
        value_name = "WHEN",
        hide = true,
        env = "RAPPORT_NOW"
    )]
    pub now: Option<String>,

    /// More log output on stderr (-v info, -vv debug; addresses and subjects only at debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// No progress bars or summaries on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import a demo mailbox and show what Rapport makes of it (no network, no setup)
    Demo,

    /// Import mbox files, maildirs, .eml and Outlook .msg files, or directories of them
    ///
    /// Safe to repeat and to interrupt: messages are keyed by Message-ID, so importing the same
    /// mail twice, in another order, or from another capture path changes nothing. Ctrl-C (or
    /// SIGTERM) stops after the current batch and says what is stored; run the same command
    /// again to go on. Other programs (sync, the mail-client plugins, edits) keep writing to
    /// the database meanwhile.
    ///
    /// Directories are walked once each (symlink loops are harmless); FIFOs, sockets and
    /// devices are reported as skipped, never opened; at most 17 MiB of one message is read;
    /// mbox files may be mboxo, mboxrd or mboxcl. Outlook .msg files (what dragging mail out of
    /// Outlook saves) are recognised by their content, whatever their name: received mail is
    /// read from its original headers, sent mail from its properties. Whatever is not stored is
    /// listed by `rapport skipped` with its reason.
    #[command(
        after_help = "Examples:\n  rapport import ~/Maildir --me me@example.com\n  rapport import archive.mbox --policy sent-and-received\n  rapport import ~/Mail --dry-run\n  rapport import ~/Desktop/*.msg"
    )]
    Import(ImportArgs),

    /// List contacts, most recently in touch first
    #[command(
        after_help = "Examples:\n  rapport contacts --domain acme.example\n  rapport contacts --flow sent-only --since 90d\n  rapport contacts --sort messages --limit 10 --json"
    )]
    Contacts(ContactsArgs),

    /// One contact's history: dates, counts, reply times, open threads, recent mail
    Contact(ContactArgs),

    /// Conversations, most recent first
    Threads(ThreadsArgs),

    /// One conversation as a reply tree (by thread number or any Message-ID in it)
    #[command(
        after_help = "Examples:\n  rapport thread 42\n  rapport thread 42 --done          # off the awaiting lists until someone writes again\n  rapport thread 42 --snooze 3d     # back in 3 days, or sooner if someone writes\n  rapport thread '<id@example.com>' --reopen"
    )]
    Thread {
        /// Thread number (from `rapport threads`) or a Message-ID
        id: String,
        /// Take it off the awaiting-reply lists until a new message arrives in it
        #[arg(long, conflicts_with_all = ["snooze", "reopen"])]
        done: bool,
        /// Take it off the awaiting-reply lists until then (3d, 2w, 2025-03-01) or a new message
        #[arg(long, value_name = "WHEN", conflicts_with = "reopen")]
        snooze: Option<String>,
        /// Put it back on the lists (undoes --done and --snooze)
        #[arg(long)]
        reopen: bool,
    },

    /// Conversations waiting on a reply: from you, or from them
    Awaiting(AwaitingArgs),

    /// Contacts you have not been in touch with for longer than their cadence
    Neglected {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },

    /// Search names, addresses and subjects
    Search {
        /// Words to look for (prefix matches: `acm` finds Acme)
        text: Vec<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },

    /// Export contacts (CSV, vCard 4.0, JSON) or follow-up tasks for neglected contacts (iCalendar)
    Export {
        #[arg(value_parser = choice(ExportFormat::ALL, ExportFormat::as_str))]
        format: ExportFormat,
        /// Write here instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },

    /// Your own addresses: they decide which mail is outbound
    #[command(subcommand)]
    Identity(IdentityCommand),

    /// Block or allow addresses and domains as contacts
    #[command(subcommand)]
    Rule(RuleCommand),

    /// Which received-only correspondents become contacts
    Policy {
        /// sent-only (default), sent-and-received, or none
        #[arg(value_parser = choice(Policy::ALL, Policy::as_str))]
        policy: Option<Policy>,
    },

    /// Groups of contacts with a shared cadence (e.g. clients every 30 days)
    #[command(subcommand)]
    Group(GroupCommand),

    /// Why an address is, or is not, a contact
    Explain {
        /// An email address
        address: String,
    },

    /// Counts: messages, threads, contacts, addresses, sources
    Stats,

    /// IMAP, POP3, Exchange, Microsoft 365 and Outlook data file (PST) accounts: add (the server
    /// found from the address), import from Thunderbird, list, remove, test, login
    #[command(subcommand)]
    Account(accounts::AccountCommand),

    /// Fetch new mail and history headers from IMAP, Exchange and Microsoft 365 accounts, poll
    /// POP3 ones and read what is new in PST ones (resumable; headers only; nothing on the server
    /// or in the file changes)
    Sync(accounts::SyncArgs),

    /// Keep accounts current: IMAP's IDLE on INBOX and polling elsewhere, POP3, Exchange and
    /// Microsoft 365 polled every --poll seconds, PST files re-read when they change and can be
    /// opened; reconnecting on errors
    Watch(accounts::WatchArgs),

    /// Per account and folder: last sync, mode, counts, history progress, last error
    Status,

    /// Recent imports with their progress (one still running shows how far it has got)
    Imports {
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },

    /// Every capture path (imports, IMAP, POP3, PST, the Thunderbird and Outlook plugins) with
    /// how many messages it brought and when it last did
    Sources,

    /// Compare the server's Message-IDs with the store and name every gap (exit 2 on gaps)
    Audit {
        /// The account to audit
        account: String,
    },

    /// Check the database, accounts and mail-client integrations, and say what to fix
    Doctor,

    /// Inputs that were not stored, with the reason
    Skipped {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },

    /// Native-messaging host for the Thunderbird extension (Thunderbird starts it; stdout is
    /// the protocol channel)
    NativeHost(native_host::Args),

    /// The local HTTPS bridge for the Outlook add-in (127.0.0.1 only)
    Serve(bridge::ServeArgs),

    /// The dashboard in your browser: today's follow-ups, contacts, groups, threads, sources
    ///
    /// Serves http://127.0.0.1:PORT (never other interfaces) and opens the browser with a
    /// one-time login link; the link's token becomes a cookie only that browser holds. Reads
    /// the database while sync, watch, the mail-client plugins and imports write to it.
    #[command(
        after_help = "Examples:\n  rapport ui\n  rapport ui --no-open --port 8080\n  rapport --db work.db ui --port 0 --json   # prints {\"url\", \"port\"}; port 0 = any free port"
    )]
    Ui(crate::ui::UiArgs),

    /// Install (or with --uninstall remove) a mail-client integration
    #[command(subcommand)]
    Install(InstallTarget),
}

#[derive(Subcommand, Debug)]
pub enum InstallTarget {
    /// Register the native-messaging host with Thunderbird and build or locate the extension
    Thunderbird(native_host::InstallArgs),
    /// Create the bridge's certificate and token and write the add-in manifest for Outlook
    Outlook(bridge::InstallArgs),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files or directories (maildirs are found recursively; `tmp/` is skipped)
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// One of your own addresses (repeatable); mail from it is outbound
    #[arg(long, value_name = "ADDRESS")]
    pub me: Vec<String>,
    /// Contact policy for this import only
    #[arg(long, value_parser = choice(Policy::ALL, Policy::as_str))]
    pub policy: Option<Policy>,
    /// Show what would become a contact and which senders would be skipped; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Also keep the first ~200 characters of each body (off: headers only)
    #[arg(long)]
    pub snippet: bool,
    /// Messages per transaction
    #[arg(long, default_value_t = rapport_core::import::DEFAULT_BATCH, hide = true)]
    pub batch: usize,
}

#[derive(Args, Debug)]
pub struct ContactsArgs {
    #[arg(
        long,
        value_parser = choice(ContactSort::ALL, ContactSort::as_str),
        default_value = ContactSort::default().as_str()
    )]
    pub sort: ContactSort,
    /// Only contacts with mail both ways, only sent, or only received
    #[arg(long, value_parser = choice(Flow::ALL, Flow::as_str))]
    pub flow: Option<Flow>,
    /// Only contacts with an address at this domain (subdomains included)
    #[arg(long)]
    pub domain: Option<String>,
    #[arg(long)]
    pub group: Option<String>,
    /// Last contact since (30d, 6m, 2024-01-31)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Last contact before (30d, 6m, 2024-01-31)
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// At least this many messages (both ways)
    #[arg(long, default_value_t = 0)]
    pub min: i64,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only contacts whose name or an address contains this (any case)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only contacts in no group (the ones left to sort into groups)
    #[arg(long, conflicts_with = "group")]
    pub ungrouped: bool,
    /// Only contacts with mail of this class
    #[arg(long, value_parser = ["person", "list", "bulk", "auto", "bounce"])]
    pub class: Option<String>,
    /// First contact since (7d, 2024-01-31): the people new to you
    #[arg(long, value_name = "WHEN")]
    pub new_since: Option<String>,
    /// Skip this many contacts first (to page through a long list)
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Print only how many contacts match (limit and offset ignored)
    #[arg(long)]
    pub count: bool,
}

#[derive(Args, Debug)]
pub struct ContactArgs {
    /// An address of the contact (or its number)
    pub address: String,
    /// Set how often you want to be in touch, in days (`off` to clear)
    #[arg(long, value_name = "DAYS")]
    pub cadence: Option<String>,
    /// Put the contact in a group (empty to remove)
    #[arg(long)]
    pub group: Option<String>,
    /// Leave the contact off the neglected list until then (7d, 2025-03-01; `off` wakes it)
    #[arg(long, value_name = "WHEN")]
    pub snooze: Option<String>,
    /// How many recent messages to list
    #[arg(long, default_value_t = 10)]
    pub timeline: usize,
}

#[derive(Args, Debug)]
pub struct ThreadsArgs {
    /// Only threads with this address or contact
    #[arg(long, value_name = "ADDRESS")]
    pub with: Option<String>,
    /// Only threads waiting on you or on them
    #[arg(long, value_parser = choice(WaitingOn::ALL, WaitingOn::as_str))]
    pub waiting: Option<WaitingOn>,
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct AwaitingArgs {
    /// Only threads waiting on you, or only on them
    #[arg(long, value_parser = choice(WaitingOn::ALL, WaitingOn::as_str))]
    pub on: Option<WaitingOn>,
    /// Days after your last message before a thread counts as waiting on them
    #[arg(long, default_value_t = 3)]
    pub days: i64,
    /// Ignore threads whose waiting message is older than this many days (0: no limit)
    #[arg(long, default_value_t = 0)]
    pub max_age: i64,
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
}

#[derive(Subcommand, Debug)]
pub enum IdentityCommand {
    /// List your addresses, and candidates seen in Sent folders
    List,
    /// Add (or confirm a candidate as) one of your addresses
    Add { address: String },
    /// Remove an address
    Remove { address: String },
}

#[derive(Subcommand, Debug)]
pub enum RuleCommand {
    /// List rules
    List,
    /// Never make contacts from this address or domain
    Block { pattern: String },
    /// Always make a contact from this address or domain
    Allow { pattern: String },
    /// Remove a rule (by pattern or number)
    Remove { pattern: String },
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List groups with their cadence and size
    List,
    /// Set a group's cadence in days (`off` to clear)
    Cadence { group: String, days: String },
    /// Put contacts in a group (each contact is in at most one group)
    #[command(
        after_help = "Example:\n  rapport group add clients priya@acme.example tom@initech.example"
    )]
    Add {
        group: String,
        /// Addresses (or contact numbers)
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// Take contacts out of their group
    Remove {
        /// Addresses (or contact numbers)
        #[arg(required = true)]
        addresses: Vec<String>,
    },
}
