//! The one place where the core's errors become foreign exceptions.
//!
//! Each variant is one of the core's stable codes, so in Python `except RapportError.NotFound`,
//! in Kotlin `catch (e: RapportException.NotFound)`, in Swift `catch RapportError.NotFound`;
//! the message is the core's.

use rapport_core::{Error as CoreError, ErrorCode};

/// An error from Rapport: the variant is the stable code, the text is the message.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum RapportError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Storage(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Network(String),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Cancelled(String),
    #[error("{0}")]
    Closed(String),
    #[error("{0}")]
    Internal(String),
}

impl From<CoreError> for RapportError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        tracing::debug!(code = %e.code(), "Call failed: {message}.");
        match e.code() {
            ErrorCode::NotFound => Self::NotFound(message),
            ErrorCode::InvalidInput => Self::InvalidInput(message),
            ErrorCode::Io => Self::Io(message),
            ErrorCode::Storage => Self::Storage(message),
            ErrorCode::Config => Self::Config(message),
            ErrorCode::Network => Self::Network(message),
            ErrorCode::Auth => Self::Auth(message),
            ErrorCode::Cancelled => Self::Cancelled(message),
            ErrorCode::Closed => Self::Closed(message),
            ErrorCode::Internal => Self::Internal(message),
        }
    }
}

/// An argument the binding itself rejects (before reaching the core).
pub fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::InvalidInput(message.into())
}
