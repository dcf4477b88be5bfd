// The bindings' operations, written once for both: each takes the engine and the binding's
// records, applies the defaults (limits, "now"), calls the core and converts what it returns.
// Included by `rapport-node` and `rapport-ffi` in their `ops` module, after `types.rs`; each
// binding's methods only choose how to run these off the caller's thread, map errors and
// call back. Runs on a worker thread: nothing here may block on the caller.

use std::io::Write;
use std::path::PathBuf;

use rapport_core::{self as core, Engine};

use crate::types::*;

/// Results lists default to 50 items; search to 20.
const DEFAULT_LIMIT: usize = 50;
const DEFAULT_SEARCH_LIMIT: usize = 20;

fn limit_or(limit: Option<u32>, default: usize) -> usize {
    limit.map_or(default, |n| n as usize)
}

fn all<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}

/// Logs to stderr at `level` from now on (the first call wins; later ones do nothing).
pub fn log_to_stderr(level: tracing::Level) {
    let _ = tracing_subscriber::fmt()
        // Colour codes only for a person at a terminal who has not asked for none (NO_COLOR).
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .try_init();
}

pub fn ingest(e: &Engine, raw: &[u8], source: SourceRef, sent: bool) -> core::Result<Captured> {
    let source = core::SourceRef::try_from(source)?;
    e.capture_with(raw, &source, sent, core::time::now())
        .map(Captured::from)
}

pub fn identities(e: &Engine) -> core::Result<Vec<Identity>> {
    Ok(all(e.identities()?))
}

pub fn policy(e: &Engine) -> core::Result<String> {
    Ok(e.policy()?.as_str().to_string())
}

pub fn set_policy(e: &Engine, policy: &str) -> core::Result<()> {
    e.set_policy(policy.parse()?)
}

pub fn rules(e: &Engine) -> core::Result<Vec<Rule>> {
    Ok(all(e.rules()?))
}

pub fn add_rule(e: &Engine, action: &str, pattern: &str) -> core::Result<String> {
    e.add_rule(action.parse()?, pattern)
}

pub fn stats(e: &Engine) -> core::Result<Stats> {
    e.stats().map(Stats::from)
}

/// Contacts matching `query` (by default the 50 most recently in touch).
pub fn contacts(e: &Engine, query: Option<ContactQuery>) -> core::Result<Vec<Contact>> {
    let (q, now) = query.unwrap_or_default().to_core()?;
    Ok(all(e.contacts(&q, now)?))
}

/// One contact by any of its addresses or its number; `now` pins the due dates.
pub fn contact(e: &Engine, address_or_id: &str, now: Option<&str>) -> core::Result<ContactDetail> {
    e.contact(address_or_id, now_of(now)?)
        .map(ContactDetail::from)
}

pub fn timeline(
    e: &Engine,
    address_or_id: &str,
    limit: Option<u32>,
) -> core::Result<Vec<TimelineEntry>> {
    Ok(all(
        e.timeline(address_or_id, limit_or(limit, DEFAULT_LIMIT))?
    ))
}

/// Threads matching `query`, most recent first.
pub fn threads(e: &Engine, query: Option<ThreadQuery>) -> core::Result<Vec<Thread>> {
    let (q, now) = query.unwrap_or_default().to_core()?;
    Ok(all(e.threads(&q, now)?))
}

pub fn thread(e: &Engine, id_or_message_id: &str, now: Option<&str>) -> core::Result<ThreadDetail> {
    e.thread(id_or_message_id, now_of(now)?)
        .map(ThreadDetail::from)
}

pub fn awaiting(e: &Engine, query: Option<AwaitingQuery>) -> core::Result<Vec<AwaitingItem>> {
    Ok(all(e.awaiting(&query.unwrap_or_default().to_core()?)?))
}

pub fn neglected(
    e: &Engine,
    limit: Option<u32>,
    now: Option<&str>,
) -> core::Result<Vec<NeglectedItem>> {
    Ok(all(
        e.neglected(now_of(now)?, limit_or(limit, DEFAULT_LIMIT))?
    ))
}

pub fn search(e: &Engine, text: &str, limit: Option<u32>) -> core::Result<Vec<SearchHit>> {
    Ok(all(e.search(text, limit_or(limit, DEFAULT_SEARCH_LIMIT))?))
}

pub fn explain(e: &Engine, address: &str) -> core::Result<Explanation> {
    e.explain(address).map(Explanation::from)
}

pub fn skipped_inputs(e: &Engine, limit: Option<u32>) -> core::Result<Vec<SkipRecord>> {
    Ok(all(e.skipped_inputs(limit_or(limit, DEFAULT_LIMIT))?))
}

pub fn export_to_string(e: &Engine, format: &str, now: Option<&str>) -> core::Result<String> {
    let format = format.parse::<core::ExportFormat>()?;
    let mut out = Vec::new();
    e.export(format, &mut out, now_of(now)?)?;
    String::from_utf8(out).map_err(|_| core::Error::Internal("the export is not UTF-8".into()))
}

pub fn export_to_file(
    e: &Engine,
    format: &str,
    path: &str,
    now: Option<&str>,
) -> core::Result<i64> {
    let format = format.parse::<core::ExportFormat>()?;
    let now = now_of(now)?;
    let io = |source| core::Error::Io {
        path: PathBuf::from(path),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    let n = e.export(format, &mut out, now)?;
    out.flush().map_err(io)?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}
