//! `rapport native-host` and `rapport install thunderbird`: the Thunderbird extension's side of
//! Rapport.
//!
//! Thunderbird starts the host with argv `[<host manifest path>, <extension id>]` and speaks
//! native messaging on its stdin and stdout: each message is a 4-byte length in native byte order
//! followed by that many bytes of UTF-8 JSON. stdout carries frames only; logs go to stderr, which
//! Thunderbird shows in its error console. Requests and replies are the RPC protocol of
//! `rapport_core::rpc`; a capture is answered only after its transaction has committed.

pub mod frames;
pub mod host;
mod install;

use std::path::PathBuf;

use rapport_core::SourceKind;

pub use host::run;
pub use install::install;
pub(crate) use install::manifest_dir;

/// The extension's `browser_specific_settings.gecko.id`: the only caller the host serves.
pub const EXTENSION_ID: &str = "rapport@rapport.invalid";
/// The native-messaging host name (`runtime.connectNative("rapport")`); also the manifest's
/// file name without `.json`.
pub const HOST_NAME: &str = "rapport";
/// Largest request accepted. Thunderbird itself allows up to 4 GiB; a message this big is
/// 96 MiB of raw mail, and the extension sends only the header block of anything over 32 MiB.
pub const MAX_REQUEST_BYTES: usize = 128 * 1024 * 1024;
/// Source kind recorded for captures made through the extension.
const CLIENT: SourceKind = SourceKind::Thunderbird;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the RPC method table as JSON and exit
    #[arg(long)]
    pub schema: bool,

    /// Arguments Thunderbird passes: the host manifest path and the caller's extension id
    #[arg(hide = true)]
    pub caller: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// Remove the host manifest (and its launcher) instead; the database is kept
    #[arg(long)]
    pub uninstall: bool,

    /// Use this extension package instead of building or finding plugin-thunderbird/dist/rapport.xpi
    #[arg(long, value_name = "FILE")]
    pub xpi: Option<PathBuf>,
}

#[cfg(test)]
mod tests;
