//! The one place where the core's errors become JavaScript errors.
//!
//! Every rejection and every throw from this package is an `Error` whose `code` is one of the
//! core's stable codes (`NotFound`, `InvalidInput`, `Io`, `Storage`, `Config`, `Network`,
//! `Auth`, `Cancelled`, `Closed`, `Internal`) and whose `message` is the core's message.

use napi::bindgen_prelude::{JsObjectValue, ToNapiValue, Unknown};
use napi::{Env, JsValue, sys};
use rapport_core::Error as CoreError;

/// The result of a core call, converted to JavaScript on the JS thread. An `Err` becomes a
/// rejected promise (or a throw) carrying the stable code; async methods return
/// `napi::Result<Answer<T>>` and declare their TypeScript type with `ts_return_type`.
pub struct Answer<T>(pub Result<T, CoreError>);

impl<T: ToNapiValue> ToNapiValue for Answer<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val.0 {
            // SAFETY: called by napi on the JS thread with a live env, as the trait requires.
            Ok(v) => unsafe { T::to_napi_value(env, v) },
            Err(e) => Err(to_js(&Env::from_raw(env), &e)),
        }
    }
}

/// Builds `Error { code, message }` for a core error. Runs on the JS thread.
pub fn to_js(env: &Env, err: &CoreError) -> napi::Error {
    let code = err.code().as_str();
    let message = err.to_string();
    tracing::debug!(code, "Call failed: {message}.");
    match make(env, code, &message) {
        Ok(e) => e,
        // Creating the error object failed (the environment is going away): napi's own error,
        // whose `code` is the same string, is the best that can be done.
        Err(_) => napi::Error::new(napi::Status::GenericFailure, format!("{code}: {message}")),
    }
}

fn make(env: &Env, code: &str, message: &str) -> napi::Result<napi::Error> {
    let mut obj = env.create_error(napi::Error::new(napi::Status::GenericFailure, message))?;
    obj.set_named_property("code", code)?;
    let unknown: Unknown<'_> = obj.to_unknown();
    Ok(napi::Error::from(unknown))
}

/// An argument the binding itself rejects (before reaching the core).
pub fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::InvalidInput(message.into())
}
