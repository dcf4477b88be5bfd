//! Python, Kotlin and Swift bindings for Rapport (UniFFI, proc-macro style): the `Rapport`
//! object (one open database), `CancelToken`, progress listeners and records. Conversions,
//! error mapping and runtime setup only; the logic is in `rapport-core`.

/// The same allocator as the CLI: the import allocates many small strings, and the system
/// allocator made imports through the bindings about 1.4x slower. Memory never crosses the FFI
/// boundary to be freed by the other side (napi and UniFFI copy or hand it back to Rust).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod error;
mod handoff;
mod rapport;
mod types;
/// The operations both bindings share (`bindings/api/ops.rs`).
mod ops {
    include!("../../api/ops.rs");
}

pub use error::RapportError;
pub use rapport::{CancelToken, ImportProgressListener, Rapport, SyncProgressListener};
pub use types::*;

uniffi::setup_scaffolding!();

/// Logs to stderr at `level` (`error`, `warn`, `info`, `debug` or `trace`). Call once; later
/// calls do nothing. Without it the library logs nothing.
#[uniffi::export]
pub fn init_logging(level: String) -> Result<(), RapportError> {
    let level = level.trim().parse::<tracing::Level>().map_err(|_| {
        RapportError::InvalidInput(format!(
            "unknown log level '{level}' (use error, warn, info, debug or trace)"
        ))
    })?;
    ops::log_to_stderr(level);
    Ok(())
}
