//! Core enums as clap values.

use std::str::FromStr;

use clap::builder::{PossibleValuesParser, TypedValueParser};

/// A clap value parser for a core enum: `--help` lists the names of `all` (the type's `ALL`
/// through its `as_str`), and the core's `FromStr` turns the chosen name into the value, so the
/// CLI keeps no mirror of the core's enums.
pub fn choice<T, const N: usize>(
    all: [T; N],
    name: fn(T) -> &'static str,
) -> impl TypedValueParser<Value = T>
where
    T: FromStr<Err = rapport_core::Error> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(all.map(name)).try_map(|text| text.parse::<T>())
}
