//! The records this library takes and returns, converted from and to the core's types. The same
//! shapes as the Node package's objects, declared once in `bindings/api/types.rs`; this file says
//! how UniFFI declares them. Dates are ISO 8601 strings in UTC (`2024-03-01T12:00:00Z`), as in
//! `rapport --json` and the RPC protocol.

/// UniFFI maps only `HashMap` to a dict or map.
type Counts = std::collections::HashMap<String, i64>;

/// A UniFFI record: `#[optional]` fields default to null; `#[ts]` (TypeScript only) is dropped.
macro_rules! record {
    (
        $(#[$($attr:tt)*])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:tt])*
                $(#[ts = $ts:tt])?
                $(#[optional $($opt:tt)?])?
                pub $field:ident: $outer:ident $(<$inner:ty>)?,
            )*
        }
    ) => {
        #[derive(Debug, Clone, uniffi::Record)]
        $(#[$($attr)*])*
        pub struct $name {
            $(
                $(#[doc = $doc])*
                $(#[uniffi(default $($opt)?)])?
                pub $field: $outer $(<$inner>)?,
            )*
        }
    };
}

include!("../../api/types.rs");
