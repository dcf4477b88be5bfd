//! rapport-core: mail headers in, a local relationship database out.
//!
//! Layers, bottom up: [`mail`] and [`thread`] (sans-I/O parsing, classification, threading),
//! [`store`] (SQLite, the only place SQL lives), [`ingest`]/[`import`] (envelope → store),
//! [`sync`] (transports that move header bytes), [`source`] (the kinds of source, the pull-source
//! interface and the one pipeline that drives it), and the [`Engine`] facade that the CLI, the RPC
//! protocol ([`rpc`]) and the bindings use; [`syncer`] keeps IMAP accounts current through it.
//!
//! # Adding a source
//!
//! A new kind of mailbox (POP3, EWS, Graph, an Outlook data file) touches: its module under
//! [`source`] implementing [`source::PullSource`] (its transport under [`sync`] if it talks to a
//! server), one [`SourceKind`] variant, one [`config::AccountKind`] variant with its settings,
//! its arms in [`syncer`], and its flags in the CLI's `accounts.rs` (POP3 is the worked example). The [`source::pipeline`] drives it (windows,
//! cursors committed with their mail, cancellation, progress, back-off), and it must pass the
//! conformance test in `tests/tests/conformance.rs`. The [`source`] module's documentation has
//! the details.

pub mod choice;
pub mod config;
pub mod discover;
pub mod engine;
pub mod error;
pub mod export;
pub mod import;
pub mod ingest;
pub mod mail;
pub mod mbox;
pub mod model;
pub mod policy;
pub mod query;
pub mod rpc;
pub mod source;
pub mod store;
pub mod sync;
pub mod syncer;
pub mod text;
pub mod thread;
pub mod thunderbird_profile;
pub mod time;
pub mod xml;

pub use engine::{Captured, Engine, PreparedWindow, SentRecord, WindowOutcome};
pub use error::{Error, ErrorCode, Result};
pub use export::ExportFormat;
pub use import::{CancelToken, ImportOptions, ImportProgress};
pub use model::*;
pub use policy::RuleAction;
pub use query::{AwaitingQuery, ContactQuery, ContactSort, Flow, ThreadQuery};
pub use source::{FieldMessage, FolderRole, MessageInput, SourceKind};
pub use store::{ImportRun, SourceOverview, ThreadMark};
