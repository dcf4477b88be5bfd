//! What the read-only commands answer under `--json`, built in one place: the CLI prints these
//! values and the dashboard's API (`rapport ui`) serves the very same ones, so a figure on a page
//! and the figure `rapport --json` gives for the same query cannot differ.

use anyhow::anyhow;
use rapport_core::time::parse_when;
use rapport_core::{AwaitingQuery, ContactQuery, Engine, ThreadMark, ThreadQuery};
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

pub fn contact_query(args: &ContactsArgs, now: i64) -> anyhow::Result<ContactQuery> {
    Ok(ContactQuery {
        sort: args.sort,
        flow: args.flow,
        domain: args.domain.clone(),
        group: args.group.clone(),
        since: when_arg(&args.since, now)?,
        until: when_arg(&args.until, now)?,
        min_messages: args.min,
        text: args.search.clone(),
        ungrouped: args.ungrouped,
        class: args.class.clone(),
        first_since: when_arg(&args.new_since, now)?,
        limit: args.limit,
        offset: args.offset,
    })
}

/// `rapport contacts --json`, or with `--count` `{"count": N}`.
pub fn contacts(engine: &Engine, args: &ContactsArgs, now: i64) -> anyhow::Result<Value> {
    let q = contact_query(args, now)?;
    if args.count {
        return Ok(json!({ "count": engine.contacts_count(&q)? }));
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
pub fn groups(engine: &Engine, now: i64) -> anyhow::Result<Value> {
    value(&engine.group_overview(now)?)
}

/// `rapport imports --json`.
pub fn imports(engine: &Engine, limit: usize) -> anyhow::Result<Value> {
    value(&engine.imports(limit)?)
}

/// `rapport sources --json`.
pub fn sources(engine: &Engine) -> anyhow::Result<Value> {
    value(&engine.with_store(|s| s.source_overview())?)
}

/// Puts contacts in `group` (`""`: in none) and answers `{"updated": N, "previous": [{"address",
/// "group"}]}`, what an undo needs (`rapport group add|remove --json`).
pub fn set_groups(engine: &Engine, addresses: &[String], group: &str) -> anyhow::Result<Value> {
    let previous: Vec<Value> = engine
        .set_groups(addresses, group)?
        .into_iter()
        .map(|(address, group)| json!({"address": address, "group": group}))
        .collect();
    Ok(json!({"updated": previous.len(), "previous": previous}))
}

/// A thread's mark from `--done`, `--snooze WHEN` and `--reopen` (`None`: none given).
pub fn thread_mark(
    done: bool,
    snooze: &Option<String>,
    reopen: bool,
    now: i64,
) -> anyhow::Result<Option<ThreadMark>> {
    Ok(if done {
        Some(ThreadMark::Done)
    } else if reopen {
        Some(ThreadMark::Reopen)
    } else {
        future_arg(snooze, now)?.map(ThreadMark::Snooze)
    })
}

/// Until when a snooze runs: `off`, `none` or nothing wakes (None), else as [`future_arg`].
pub fn snooze_until(s: &Option<String>, now: i64) -> anyhow::Result<Option<i64>> {
    match s.as_deref().map(str::trim) {
        None | Some("off" | "none" | "") => Ok(None),
        Some(_) => future_arg(s, now),
    }
}

/// A `--snooze`-style moment: a date, or a span forward from `now` (`3d` is three days on).
pub fn future_arg(s: &Option<String>, now: i64) -> anyhow::Result<Option<i64>> {
    let Some(v) = s.as_deref() else {
        return Ok(None);
    };
    let v = v.trim();
    if let Some(span) = rapport_core::time::parse_span(v) {
        return Ok(Some(now + span));
    }
    parse_when(v, now).map(Some).ok_or_else(|| {
        anyhow!("'{v}' is not a date (use 2025-03-01, or a span such as 3d, 2w, 1m)")
    })
}

#[cfg(test)]
mod tests {
    use super::{future_arg, snooze_until};

    #[test]
    fn snoozes_count_spans_forward_and_off_wakes() -> anyhow::Result<()> {
        let now = 1_790_000_000;
        assert_eq!(
            snooze_until(&Some("3d".into()), now)?,
            Some(now + 3 * 86_400)
        );
        assert_eq!(snooze_until(&Some("off".into()), now)?, None);
        assert_eq!(snooze_until(&None, now)?, None);
        assert_eq!(
            future_arg(&Some("2026-01-01".into()), now)?,
            Some(1_767_225_600)
        );
        assert!(snooze_until(&Some("someday".into()), now).is_err());
        Ok(())
    }
}
