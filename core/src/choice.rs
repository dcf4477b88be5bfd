//! Enum parsing and its error messages, in one place for the CLI, the bindings and the RPC
//! protocol: every enum a user or a program names as text has an `ALL` list and an `as_str`
//! name, and `choice_traits!` gives it `Display` and a `FromStr` built on
//! [`parse_choice_or_alias`], so an unknown value fails the same way everywhere.

use crate::error::{Error, Result};

/// `Display` (its `as_str` name) and `FromStr` (any of `ALL` by name, without case, or an
/// alias) for an enum with `ALL` and `as_str`. `what` names the choice in errors; aliases are
/// older or looser spellings that parse but are not listed, so each choice has one name to learn.
macro_rules! choice_traits {
    ($name:ident, $what:literal $(, aliases [$(($alias:literal, $target:ident)),* $(,)?])?) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;

            fn from_str(s: &str) -> $crate::error::Result<Self> {
                let aliases: &[(&str, $name)] = &[$($(($alias, $name::$target)),*)?];
                $crate::choice::parse_choice_or_alias($what, s, &Self::ALL, Self::as_str, aliases)
            }
        }
    };
}
pub(crate) use choice_traits;

/// Parses `text` as one of `choices` (compared without case), or fails naming every choice.
pub fn parse_choice<T: Copy>(
    what: &str,
    text: &str,
    choices: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T> {
    parse_choice_or_alias(what, text, choices, name, &[])
}

/// [`parse_choice`] that also takes older or looser spellings (`aliases`, e.g. `vcf` for
/// vCard); the error lists only the choices' own names, so each has one spelling to learn.
pub fn parse_choice_or_alias<T: Copy>(
    what: &str,
    text: &str,
    choices: &[T],
    name: impl Fn(T) -> &'static str,
    aliases: &[(&str, T)],
) -> Result<T> {
    let wanted = text.trim();
    let by_name = choices
        .iter()
        .copied()
        .find(|c| name(*c).eq_ignore_ascii_case(wanted));
    let by_alias = || {
        aliases
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(wanted))
            .map(|(_, c)| *c)
    };
    by_name.or_else(by_alias).ok_or_else(|| {
        let names: Vec<&str> = choices.iter().map(|c| name(*c)).collect();
        Error::InvalidInput(format!(
            "unknown {what} '{wanted}' (use one of: {})",
            names.join(", ")
        ))
    })
}

// `mail` stays free of the rest of the core (it is sans-I/O and may be compiled alone), so the
// parsers of its enums live here rather than beside them.
use crate::mail::{Class, Direction};
choice_traits!(Direction, "direction");
choice_traits!(Class, "class");

#[cfg(test)]
mod tests {
    use std::fmt::Debug;
    use std::str::FromStr;

    use super::*;
    use crate::config::{AccountKind, AuthKind, Security};
    use crate::export::ExportFormat;
    use crate::model::{Policy, WaitingOn};
    use crate::policy::RuleAction;
    use crate::query::{ContactSort, Flow};
    use crate::source::{FolderRole, SourceKind};

    /// Every choice parses back from its own name, in any case, and an unknown value's error
    /// names the value and every choice.
    fn round_trips<T>(all: &[T], name: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + Debug + FromStr<Err = Error>,
    {
        for &choice in all {
            assert_eq!(name(choice).parse::<T>().ok(), Some(choice));
            assert_eq!(
                name(choice).to_ascii_uppercase().parse::<T>().ok(),
                Some(choice)
            );
        }
        let err = "no-such-choice"
            .parse::<T>()
            .err()
            .map(|e| (e.code(), e.to_string()));
        let Some((code, message)) = err else {
            panic!(
                "'no-such-choice' parsed as a {}",
                std::any::type_name::<T>()
            );
        };
        assert_eq!(code, crate::ErrorCode::InvalidInput);
        assert!(message.contains("'no-such-choice'"), "{message}");
        for &choice in all {
            assert!(message.contains(name(choice)), "{message}");
        }
    }

    #[test]
    fn every_named_enum_round_trips_and_names_its_choices() {
        round_trips(&Policy::ALL, Policy::as_str);
        round_trips(&WaitingOn::ALL, WaitingOn::as_str);
        round_trips(&RuleAction::ALL, RuleAction::as_str);
        round_trips(&ExportFormat::ALL, ExportFormat::as_str);
        round_trips(&ContactSort::ALL, ContactSort::as_str);
        round_trips(&Flow::ALL, Flow::as_str);
        round_trips(&Direction::ALL, Direction::as_str);
        round_trips(&Class::ALL, Class::as_str);
        round_trips(&SourceKind::ALL, SourceKind::as_str);
        round_trips(&FolderRole::ALL, FolderRole::as_str);
        round_trips(&AccountKind::ALL, AccountKind::as_str);
        round_trips(&Security::ALL, Security::as_str);
        round_trips(&AuthKind::ALL, AuthKind::as_str);
    }

    #[test]
    fn older_spellings_still_parse() {
        assert_eq!(
            "last-contact".parse::<ContactSort>().ok(),
            Some(ContactSort::LastContact)
        );
        assert_eq!(
            "first-contact".parse::<ContactSort>().ok(),
            Some(ContactSort::FirstContact)
        );
        assert_eq!(
            "received".parse::<ContactSort>().ok(),
            Some(ContactSort::Inbound)
        );
        assert_eq!(
            "sent".parse::<ContactSort>().ok(),
            Some(ContactSort::Outbound)
        );
        assert_eq!("both".parse::<Flow>().ok(), Some(Flow::TwoWay));
        assert_eq!("sent".parse::<Flow>().ok(), Some(Flow::SentOnly));
        assert_eq!("received".parse::<Flow>().ok(), Some(Flow::ReceivedOnly));
        assert_eq!(
            "vcf".parse::<ExportFormat>().ok(),
            Some(ExportFormat::Vcard)
        );
        assert_eq!("ICS".parse::<ExportFormat>().ok(), Some(ExportFormat::Ical));
        assert_eq!(
            "icalendar".parse::<ExportFormat>().ok(),
            Some(ExportFormat::Ical)
        );
        assert_eq!("ssl".parse::<Security>().ok(), Some(Security::Tls));
        assert_eq!("plain".parse::<Security>().ok(), Some(Security::None));
    }

    #[test]
    fn aliases_stay_out_of_the_error() {
        let message = "pdf"
            .parse::<ExportFormat>()
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "invalid input: unknown export format 'pdf' (use one of: csv, vcard, json, ical)"
        );
    }
}
