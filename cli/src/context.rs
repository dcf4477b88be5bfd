//! What every command shares besides its own arguments, and hints for errors users can fix.

use std::path::PathBuf;
use std::process::ExitCode;

use rapport_core::Engine;

/// Everything a command needs besides its own arguments.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub db: PathBuf,
    pub config: PathBuf,
    pub json: bool,
    pub quiet: bool,
    pub now: i64,
    /// Whether `now` was given (`--now`, RAPPORT_NOW) rather than read from the clock.
    pub now_fixed: bool,
}

impl Ctx {
    pub fn engine(&self) -> anyhow::Result<Engine> {
        Ok(Engine::open(&self.db)?)
    }

    /// Answers a command with `value`: as JSON under `--json`, else as `show` writes it for
    /// people.
    pub fn answer<T: serde::Serialize>(
        &self,
        value: &T,
        show: impl FnOnce(&T),
    ) -> anyhow::Result<ExitCode> {
        if self.json {
            crate::fmt::json(value)?;
        } else {
            show(value);
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// A hint for errors users can fix themselves.
pub fn hint_for(e: &anyhow::Error) -> Option<String> {
    let core = e.downcast_ref::<rapport_core::Error>()?;
    match core {
        rapport_core::Error::CorruptDatabase { path, .. } => Some(format!(
            "move {} aside (or pass another --db) and import again",
            path.display()
        )),
        rapport_core::Error::NotFound { what: "contact", .. } => {
            Some("`rapport contacts` lists contacts; `rapport explain ADDRESS` says why an address is not one".into())
        }
        _ => None,
    }
}
