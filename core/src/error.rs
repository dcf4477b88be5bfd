//! The core's one error type. Bindings and the CLI map it to their own surfaces through
//! [`Error::code`], so the set of codes is part of the public contract.

use std::path::PathBuf;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },

    #[error("invalid input: {0}")]
    InvalidInput(String),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("database error: {0}")]
    Storage(#[from] rusqlite::Error),

    #[error("{path} is not a Rapport database or is damaged: {detail}")]
    CorruptDatabase { path: PathBuf, detail: String },

    #[error("{path} was written by a newer Rapport (schema {found}, this build knows {known})")]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    #[error("configuration error in {path}: {detail}")]
    Config { path: PathBuf, detail: String },

    #[error("network error talking to {host}: {detail}")]
    Network { host: String, detail: String },

    #[error("authentication failed for {account}: {detail}")]
    Auth { account: String, detail: String },

    #[error("TLS error talking to {host}: {detail}")]
    Tls { host: String, detail: String },

    /// A server answered, but with an error about this request (an EWS response code, a Graph
    /// error): it ends the folder being pulled, not the whole sync.
    #[error("the server {host} answered: {detail}")]
    Server { host: String, detail: String },

    #[error("the server {host} does not support {what}")]
    Unsupported { host: String, what: String },

    #[error("no mail server found for {domain}: {detail}")]
    NoServerFound { domain: String, detail: String },

    #[error("cancelled")]
    Cancelled,

    #[error("the database handle is closed")]
    Closed,

    #[error("internal error: {0}")]
    Internal(String),
}

/// Stable, documented error codes shared by the CLI (`--json`), the RPC protocol and the bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    NotFound,
    InvalidInput,
    Io,
    Storage,
    Config,
    Network,
    Auth,
    Cancelled,
    Closed,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NotFound",
            ErrorCode::InvalidInput => "InvalidInput",
            ErrorCode::Io => "Io",
            ErrorCode::Storage => "Storage",
            ErrorCode::Config => "Config",
            ErrorCode::Network => "Network",
            ErrorCode::Auth => "Auth",
            ErrorCode::Cancelled => "Cancelled",
            ErrorCode::Closed => "Closed",
            ErrorCode::Internal => "Internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::NotFound { .. } | Error::NoServerFound { .. } => ErrorCode::NotFound,
            Error::InvalidInput(_) => ErrorCode::InvalidInput,
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorCode::NotFound
            }
            Error::Io { .. } => ErrorCode::Io,
            Error::Storage(_) | Error::CorruptDatabase { .. } | Error::SchemaTooNew { .. } => {
                ErrorCode::Storage
            }
            Error::Config { .. } => ErrorCode::Config,
            Error::Network { .. }
            | Error::Tls { .. }
            | Error::Unsupported { .. }
            | Error::Server { .. } => ErrorCode::Network,
            Error::Auth { .. } => ErrorCode::Auth,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::Closed => ErrorCode::Closed,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn not_found(what: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            what,
            name: name.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
