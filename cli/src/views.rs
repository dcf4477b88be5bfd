//! What the read-only commands answer under `--json`, built in one place: the CLI prints these
//! values and the dashboard's API (`rapport ui`) serves the very same ones, so a figure on a page
//! and the figure `rapport --json` gives for the same query cannot differ.

use anyhow::anyhow;
use rapport_core::time::parse_when;
use rapport_core::{AwaitingQuery, ContactQuery, Engine, ThreadQuery};
use serde_json::{Value, json};

use crate::args::{AwaitingArgs, ContactsArgs, ThreadsArgs};

fn value<T: serde::Serialize>(v: &T) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(v)?)
}

/// A `--since`-style argument: a date or a span back from `now`.
pub fn when_arg(s: &Option<String>, now: i64) -> anyhow::Result<Option<i64>> {
    s.as_deref()
        .map(|v| {
            parse_when(v, now).ok_or_else(|| {
                anyhow!("'{v}' is not a date (use 2024-03-01, or a span such as 30d, 2w, 6m, 1y)")
            })
        })
        .transpose()
}

// Fields other than the flags below keep their defaults.
#[allow(clippy::needless_update)]
pub fn contact_query(args: &ContactsArgs, now: i64) -> anyhow::Result<ContactQuery> {
    Ok(ContactQuery {
        sort: args.sort,
        flow: args.flow,
        domain: args.domain.clone(),
        group: args.group.clone(),
        since: when_arg(&args.since, now)?,
        until: when_arg(&args.until, now)?,
        min_messages: args.min,
        limit: args.limit,
        offset: args.offset,
        ..ContactQuery::default()
    })
}

/// `rapport contacts --json`, or with `--count` `{"count": N}`.
pub fn contacts(engine: &Engine, args: &ContactsArgs, now: i64) -> anyhow::Result<Value> {
    let q = contact_query(args, now)?;
    if args.count {
        return Ok(
            json!({ "count": engine.contacts(&ContactQuery { limit: usize::MAX >> 1, offset: 0, ..q }, now)?.len() }),
        );
    }
    value(&engine.contacts(&q, now)?)
}

/// `rapport contact ADDRESS --json`: the contact with its recent messages as `timeline`.
pub fn contact(engine: &Engine, address: &str, timeline: usize, now: i64) -> anyhow::Result<Value> {
    let d = engine.contact(address, now)?;
    let recent = engine.timeline(address, timeline)?;
    let mut v = value(&d)?;
    v["timeline"] = value(&recent)?;
    Ok(v)
}

pub fn threads(engine: &Engine, args: &ThreadsArgs, now: i64) -> anyhow::Result<Value> {
    let q = ThreadQuery {
        with: args.with.clone(),
        waiting: args.waiting,
        since: when_arg(&args.since, now)?,
        limit: args.limit,
    };
    value(&engine.threads(&q, now)?)
}

pub fn thread(engine: &Engine, id: &str, now: i64) -> anyhow::Result<Value> {
    value(&engine.thread(id, now)?)
}

pub fn awaiting_query(args: &AwaitingArgs, now: i64) -> AwaitingQuery {
    let mut q = AwaitingQuery::new(now);
    q.who = args.on;
    q.their_grace_days = args.days;
    q.max_age_days = args.max_age;
    q.limit = args.limit;
    q
}

pub fn awaiting(engine: &Engine, args: &AwaitingArgs, now: i64) -> anyhow::Result<Value> {
    value(&engine.awaiting(&awaiting_query(args, now))?)
}

pub fn neglected(engine: &Engine, limit: usize, now: i64) -> anyhow::Result<Value> {
    value(&engine.neglected(now, limit)?)
}

pub fn search(engine: &Engine, text: &str, limit: usize) -> anyhow::Result<Value> {
    value(&engine.search(text, limit)?)
}

pub fn explain(engine: &Engine, address: &str) -> anyhow::Result<Value> {
    value(&engine.explain(address)?)
}

pub fn stats(engine: &Engine) -> anyhow::Result<Value> {
    value(&engine.stats()?)
}

/// `rapport group list --json`.
pub fn groups(engine: &Engine) -> anyhow::Result<Value> {
    let groups = engine.groups()?;
    Ok(Value::Array(
        groups
            .iter()
            .map(|(n, c, s)| json!({"group": n, "cadence_days": c, "contacts": s}))
            .collect(),
    ))
}

/// `rapport sources --json`.
pub fn sources(engine: &Engine) -> anyhow::Result<Value> {
    value(&engine.with_store(|s| s.source_overview())?)
}

/// Puts contacts in `group` (`""`: in none) and answers `{"updated": N, "previous": [{"address",
/// "group"}]}`, what an undo needs (`rapport group add|remove --json`).
pub fn set_groups(
    engine: &Engine,
    addresses: &[String],
    group: &str,
    now: i64,
) -> anyhow::Result<Value> {
    // Every address is checked before anything changes: an unknown one moves nobody.
    let mut previous = Vec::with_capacity(addresses.len());
    for address in addresses {
        let before = engine.contact(address, now)?.summary.group;
        previous.push(json!({"address": address, "group": before}));
    }
    for address in addresses {
        engine.set_group(address, group.trim())?;
    }
    Ok(json!({"updated": previous.len(), "previous": previous}))
}
