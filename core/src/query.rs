//! What can be asked of the database: filters and sort orders for contacts, threads, awaiting
//! reply and neglected contacts. The SQL behind them lives in `store`.

use crate::model::WaitingOn;

/// Sort order for contact lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactSort {
    #[default]
    LastContact,
    FirstContact,
    /// Newest first contact first: the people new to you.
    Newest,
    Messages,
    Inbound,
    Outbound,
    Threads,
    Name,
}

impl ContactSort {
    pub const ALL: [ContactSort; 8] = [
        ContactSort::LastContact,
        ContactSort::FirstContact,
        ContactSort::Newest,
        ContactSort::Messages,
        ContactSort::Inbound,
        ContactSort::Outbound,
        ContactSort::Threads,
        ContactSort::Name,
    ];

    /// The CLI's spelling (`--sort last`); the bindings' longer names are aliases.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactSort::LastContact => "last",
            ContactSort::FirstContact => "first",
            ContactSort::Newest => "new",
            ContactSort::Messages => "messages",
            ContactSort::Inbound => "inbound",
            ContactSort::Outbound => "outbound",
            ContactSort::Threads => "threads",
            ContactSort::Name => "name",
        }
    }

    pub(crate) fn order_by(self) -> &'static str {
        match self {
            ContactSort::LastContact => "c.last_contact DESC, c.id",
            ContactSort::FirstContact => "c.first_contact ASC, c.id",
            ContactSort::Newest => "c.first_contact DESC, c.id",
            ContactSort::Messages => "(c.inbound_count + c.outbound_count) DESC, c.id",
            ContactSort::Inbound => "c.inbound_count DESC, c.id",
            ContactSort::Outbound => "c.outbound_count DESC, c.id",
            ContactSort::Threads => "c.thread_count DESC, c.id",
            ContactSort::Name => "lower(coalesce(nullif(c.name, ''), a.email)), c.id",
        }
    }
}

/// Which way mail has flowed with a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Mail both ways.
    TwoWay,
    /// The user wrote; they never answered.
    SentOnly,
    /// They wrote; the user never did.
    ReceivedOnly,
}

impl Flow {
    pub const ALL: [Flow; 3] = [Flow::TwoWay, Flow::SentOnly, Flow::ReceivedOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Flow::TwoWay => "two-way",
            Flow::SentOnly => "sent-only",
            Flow::ReceivedOnly => "received-only",
        }
    }
}

// The bindings' longer names, and the words people use for the counts.
crate::choice::choice_traits!(
    ContactSort,
    "sort",
    aliases [
        ("last-contact", LastContact),
        ("first-contact", FirstContact),
        ("newest", Newest),
        ("received", Inbound),
        ("sent", Outbound),
    ]
);

crate::choice::choice_traits!(
    Flow,
    "flow",
    aliases [("both", TwoWay), ("sent", SentOnly), ("received", ReceivedOnly)]
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactQuery {
    pub sort: ContactSort,
    pub flow: Option<Flow>,
    /// Only contacts with an address in this domain (or its subdomains).
    pub domain: Option<String>,
    pub group: Option<String>,
    /// Last contact on or after (seconds since the epoch).
    pub since: Option<i64>,
    /// Last contact before.
    pub until: Option<i64>,
    pub min_messages: i64,
    /// Name or any address contains this (case-insensitive).
    pub text: Option<String>,
    /// Only contacts in no group.
    pub ungrouped: bool,
    /// Only contacts with mail of this class (`person`, `list`, `bulk`, `auto`, `bounce`).
    pub class: Option<String>,
    /// First contact on or after.
    pub first_since: Option<i64>,
    pub limit: usize,
    pub offset: usize,
}

impl Default for ContactQuery {
    fn default() -> Self {
        Self {
            sort: ContactSort::default(),
            flow: None,
            domain: None,
            group: None,
            since: None,
            until: None,
            min_messages: 0,
            text: None,
            ungrouped: false,
            class: None,
            first_since: None,
            limit: 50,
            offset: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadQuery {
    /// Only threads this address (its contact's addresses) took part in.
    pub with: Option<String>,
    pub waiting: Option<WaitingOn>,
    pub since: Option<i64>,
    pub limit: usize,
}

impl Default for ThreadQuery {
    fn default() -> Self {
        Self {
            with: None,
            waiting: None,
            since: None,
            limit: 50,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingQuery {
    /// `None` for both directions.
    pub who: Option<WaitingOn>,
    /// A thread waits on them once the user's last message is this many days old.
    pub their_grace_days: i64,
    /// Only threads whose waiting message is newer than this many days (0 = no limit).
    pub max_age_days: i64,
    pub limit: usize,
    /// "Now", in seconds since the epoch (tests and the demo pin it).
    pub now: i64,
}

impl AwaitingQuery {
    pub fn new(now: i64) -> Self {
        Self {
            who: None,
            their_grace_days: 3,
            max_age_days: 0,
            limit: 50,
            now,
        }
    }
}
