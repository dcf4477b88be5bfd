//! Sans-I/O mail handling: header parsing, address normalisation, classification and subject
//! rules. Nothing here touches the network, the filesystem or the database, so it can be fuzzed
//! and compiled to wasm.

pub mod address;
pub mod classify;
pub mod ids;
pub mod msg;
pub mod parse;
pub mod pst;
pub mod subject;

pub use address::{AddressKey, clean_display_name, normalize_address};
pub use classify::{Class, classify_message, classify_participant};
pub use parse::{DateProblem, Envelope, MAX_HEADER_BYTES, Mailbox, ParseOptions, parse_envelope};

/// Which way a message went, from the user's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// From one of the user's identities to someone else.
    Outbound,
    /// From someone else.
    Inbound,
    /// Between the user's own addresses.
    Internal,
}

impl Direction {
    pub const ALL: [Direction; 3] = [Direction::Outbound, Direction::Inbound, Direction::Internal];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
            Direction::Internal => "internal",
        }
    }
}

/// The role an address plays in a message's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    From,
    Sender,
    ReplyTo,
    To,
    Cc,
    Bcc,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::From,
        Role::Sender,
        Role::ReplyTo,
        Role::To,
        Role::Cc,
        Role::Bcc,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::From => "from",
            Role::Sender => "sender",
            Role::ReplyTo => "reply-to",
            Role::To => "to",
            Role::Cc => "cc",
            Role::Bcc => "bcc",
        }
    }

    pub fn is_recipient(self) -> bool {
        matches!(self, Role::To | Role::Cc | Role::Bcc)
    }
}
