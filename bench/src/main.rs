//! `rapport-bench`: the measurements the shell scripts in bench/ combine into the README's
//! figures. Never used by tests (no timing assertions anywhere).
//!
//!   rapport-bench parse-only DIR          read every file and parse its header, one thread
//!   rapport-bench synth DIR N             write a maildir of N realistic synthetic messages
//!   rapport-bench queries DB [ROUNDS]     latency of the overview queries on an imported DB

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rapport_core::mail::{ParseOptions, parse_envelope};
use rapport_core::{AwaitingQuery, ContactQuery, Engine};

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "tmp" || (name.starts_with('.') && !e.path().join("cur").is_dir()) {
            continue;
        }
        let ft = e.file_type()?;
        if ft.is_dir() {
            files(&e.path(), out)?;
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

/// The practical limit: reading every file and parsing its header, single-threaded.
fn parse_only(dir: &Path) -> anyhow::Result<()> {
    let mut paths = Vec::new();
    files(dir, &mut paths)?;
    let options = ParseOptions {
        capture_time: 1_800_000_000,
        snippet: false,
    };
    let started = Instant::now();
    let mut ok = 0usize;
    let mut buf = Vec::new();
    for p in &paths {
        buf.clear();
        use std::io::Read;
        std::fs::File::open(p)?.read_to_end(&mut buf)?;
        if parse_envelope(&buf, options).is_ok() {
            ok += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"files\": {}, \"parsed\": {ok}, \"seconds\": {secs:.3}, \"messages_per_sec\": {:.0}}}",
        paths.len(),
        paths.len() as f64 / secs
    );
    Ok(())
}

/// A small deterministic generator (no dependency needed for benchmarks).
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

/// A realistic personal mailbox: one user, ~2,000 correspondents at ~300 companies, threads of
/// one to a dozen messages both ways, some newsletters and lists.
fn synth(dir: &Path, n: usize) -> anyhow::Result<()> {
    let me = "me@northwind.example";
    let cur = dir.join("cur");
    let sent = dir.join(".Sent/cur");
    std::fs::create_dir_all(&cur)?;
    std::fs::create_dir_all(&sent)?;
    let mut rng = Rng(42);
    let people: Vec<String> = (0..2000)
        .map(|i| format!("person{i}@company{}.example", i % 300))
        .collect();
    let start = 1_700_000_000i64;
    let mut written = 0usize;
    let mut thread = 0usize;
    while written < n {
        thread += 1;
        let kind = rng.next(100);
        let who = &people[rng.next(people.len() as u64) as usize];
        let len = 1 + rng.next(12) as usize;
        let mut date = start + (written as i64) * 300;
        let mut parent: Option<String> = None;
        let mut refs = String::new();
        for k in 0..len.min(n - written) {
            let id = format!("t{thread}.m{k}@synth.example");
            let outbound = kind >= 20 && (k % 2 == 1) == (rng.next(2) == 0);
            let (from, to) = if kind < 10 {
                ("news@letters.example".to_string(), me.to_string())
            } else if outbound {
                (me.to_string(), who.clone())
            } else {
                (who.clone(), me.to_string())
            };
            let mut m = String::new();
            let _ = write!(m, "From: Sender <{from}>\r\nTo: <{to}>\r\n");
            if kind < 10 {
                m.push_str("List-Unsubscribe: <mailto:u@letters.example>\r\nPrecedence: bulk\r\n");
            } else if kind < 15 {
                m.push_str("List-Id: <dev.lists.example>\r\n");
            }
            let _ = write!(
                m,
                "Subject: {}Topic {thread}\r\nDate: {}\r\nMessage-ID: <{id}>\r\n",
                if k > 0 { "Re: " } else { "" },
                rfc5322(date)
            );
            if let Some(p) = &parent {
                let _ = write!(m, "In-Reply-To: <{p}>\r\nReferences:{refs} <{p}>\r\n");
                refs.push_str(&format!(" <{p}>"));
            }
            m.push_str("\r\nbody\r\n");
            let folder = if from == me { &sent } else { &cur };
            std::fs::write(folder.join(format!("{written:08}.synth:2,S")), m)?;
            written += 1;
            parent = Some(id);
            date += 3600 * (1 + rng.next(48) as i64);
        }
    }
    println!(
        "{{\"messages\": {written}, \"threads\": {thread}, \"dir\": \"{}\"}}",
        dir.display()
    );
    Ok(())
}

fn rfc5322(ts: i64) -> String {
    let iso = rapport_core::time::format_iso(ts);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = iso[5..7].parse().unwrap_or(1);
    format!(
        "{} {} {} {} +0000",
        &iso[8..10],
        MONTHS[month.clamp(1, 12) - 1],
        &iso[0..4],
        &iso[11..19]
    )
}

fn time_it(rounds: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<(f64, f64)> {
    f()?; // warm the page cache and the statement cache
    let mut v: Vec<Duration> = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        f()?;
        v.push(t.elapsed());
    }
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((
        ms(v[v.len() / 2]),
        ms(v[(v.len() * 95 / 100).min(v.len() - 1)]),
    ))
}

/// Latency of the queries the budget names, on an imported database.
fn queries(db: &Path, rounds: usize) -> anyhow::Result<()> {
    let engine = Engine::open(db)?;
    let now = 1_900_000_000;
    let stats = engine.stats()?;
    let busiest = engine
        .contacts(
            &ContactQuery {
                sort: rapport_core::ContactSort::Messages,
                limit: 1,
                ..Default::default()
            },
            now,
        )?
        .into_iter()
        .next()
        .context("the database has no contacts")?;
    let (contacts_med, contacts_p95) = time_it(rounds, || {
        engine.contacts(&ContactQuery::default(), now)?;
        Ok(())
    })?;
    let (await_med, await_p95) = time_it(rounds, || {
        engine.awaiting(&AwaitingQuery::new(now))?;
        Ok(())
    })?;
    let (timeline_med, timeline_p95) = time_it(rounds, || {
        engine.timeline(&busiest.email, 50)?;
        Ok(())
    })?;
    println!(
        "{}",
        serde_json::json!({
            "messages": stats.messages,
            "contacts": stats.contacts,
            "busiest_contact_messages": busiest.inbound_count + busiest.outbound_count,
            "contacts_overview_ms": {"median": contacts_med, "p95": contacts_p95},
            "awaiting_ms": {"median": await_med, "p95": await_p95},
            "timeline_ms": {"median": timeline_med, "p95": timeline_p95},
        })
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["parse-only", dir] => parse_only(Path::new(dir)),
        ["synth", dir, n] => synth(Path::new(dir), n.parse()?),
        ["queries", db] => queries(Path::new(db), 200),
        ["queries", db, rounds] => queries(Path::new(db), rounds.parse()?),
        _ => bail!("usage: rapport-bench parse-only DIR | synth DIR N | queries DB [ROUNDS]"),
    }
}
