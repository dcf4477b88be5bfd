//! Node.js bindings for Rapport: the `Rapport` class (one open database), `CancelToken`, and
//! plain-object DTOs. Conversions, error mapping and runtime setup only; the logic is in
//! `rapport-core`.
//!
//! Set `RAPPORT_LOG` (`error`, `warn`, `info`, `debug`, `trace`) to log to stderr.

/// The same allocator as the CLI: the import allocates many small strings, and the system
/// allocator made imports through the bindings about 1.4x slower. Memory never crosses the FFI
/// boundary to be freed by the other side (napi and UniFFI copy or hand it back to Rust).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod error;
mod import;
mod rapport;
mod types;
/// The operations both bindings share (`bindings/api/ops.rs`).
mod ops {
    include!("../../api/ops.rs");
}

#[napi_derive::module_init]
fn init() {
    if let Ok(level) = std::env::var("RAPPORT_LOG")
        && let Ok(level) = level.trim().parse::<tracing::Level>()
    {
        ops::log_to_stderr(level);
    }
}
