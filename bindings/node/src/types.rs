//! The plain objects this package takes and returns, converted from and to the core's types.
//! Dates are ISO 8601 strings in UTC (`2024-03-01T12:00:00Z`), as in `rapport --json` and the
//! RPC protocol: `new Date(s)` turns one into a `Date`. The objects are shared with the UniFFI
//! bindings in `bindings/api/types.rs`; this file says how napi declares them.

use napi_derive::napi;

/// Sorted keys, so objects list them in a stable order.
type Counts = std::collections::BTreeMap<String, i64>;

/// A napi object: `#[ts]` becomes its `ts_type`; `#[optional]` needs nothing, as napi makes every
/// `Option` field optional. napi tells an `Option` by its syntax, which a `$ty:ty` would hide in an
/// opaque group, so the outer type comes through as an ident.
macro_rules! record {
    (
        $(#[$($attr:tt)*])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:tt])*
                $(#[ts = $ts:tt])?
                $(#[optional])?
                pub $field:ident: $outer:ident $(<$inner:ty>)?,
            )*
        }
    ) => {
        #[napi(object)]
        $(#[$($attr)*])*
        pub struct $name {
            $(
                $(#[doc = $doc])*
                $(#[napi(ts_type = $ts)])?
                pub $field: $outer $(<$inner>)?,
            )*
        }
    };
}

include!("../../api/types.rs");
