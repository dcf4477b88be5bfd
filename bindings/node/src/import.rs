//! Imports run as napi tasks on libuv's thread pool: the caller gets a promise, progress arrives
//! through a thread-safe callback, and a [`CancelToken`] stops the work between batches.

use std::path::PathBuf;
use std::sync::Arc;

use napi::bindgen_prelude::Env;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Status, Task};
use napi_derive::napi;
use rapport_core::{self as core, Engine};

use crate::error::to_js;
use crate::types::{ImportProgress, ImportSummary};

/// A flag that stops long work (an import, a sync) at its next check: the work then rejects
/// with code `Cancelled`, keeping what was already committed.
#[napi]
#[derive(Default)]
pub struct CancelToken {
    pub(crate) inner: core::CancelToken,
}

#[napi]
impl CancelToken {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the work this token was given to stop.
    #[napi]
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    #[napi]
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// The progress callback: called with an {@link ImportProgress} about ten times a second.
pub type ProgressCallback = ThreadsafeFunction<ImportProgress, (), ImportProgress, Status, false>;

pub struct ImportJob {
    pub(crate) engine: Arc<Engine>,
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) options: core::ImportOptions,
    /// An argument error found before the work started; the promise rejects with it.
    pub(crate) invalid: Option<core::Error>,
    pub(crate) progress: Option<ProgressCallback>,
    pub(crate) cancel: core::CancelToken,
}

#[napi]
impl Task for ImportJob {
    type Output = core::Result<core::ImportSummary>;
    type JsValue = ImportSummary;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        if let Some(e) = self.invalid.take() {
            return Ok(Err(e));
        }
        let progress = self.progress.take();
        let mut on_progress = |p: &core::ImportProgress| {
            if let Some(cb) = &progress {
                cb.call(
                    ImportProgress::from(p),
                    ThreadsafeFunctionCallMode::NonBlocking,
                );
            }
        };
        Ok(self
            .engine
            .import(&self.paths, &self.options, &mut on_progress, &self.cancel))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        output.map(ImportSummary::from).map_err(|e| to_js(&env, &e))
    }
}
