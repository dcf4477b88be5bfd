//! Transports: they connect to mail servers and move header bytes; they never parse mail and
//! keep no state of their own (the syncer stores it with the mail, in one transaction).

pub mod ews;
pub mod graph;
pub mod http1;
pub mod imap;
pub mod net;
pub mod ntlm;
pub mod pop3;
pub mod token_store;
