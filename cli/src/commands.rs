//! Command handlers: parse arguments into core queries, call the engine, print.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use rapport_core::time::{DAY, format_iso, human_age, parse_when};
use rapport_core::{ExportFormat, ImportOptions, Policy, RuleAction, ThreadQuery, WaitingOn};

use crate::args::{
    AwaitingArgs, Cli, Command, ContactArgs, ContactsArgs, GroupCommand, IdentityCommand,
    ImportArgs, RuleCommand, ThreadsArgs,
};
use crate::context::Ctx;
use crate::fmt::{self, Table, ago, heading, person, when};
use crate::import_cmd::run_import;
use crate::print::{print_awaiting, print_contacts, print_neglected};
use crate::views;

pub(crate) fn days_arg(s: &str) -> anyhow::Result<Option<i64>> {
    if matches!(s, "off" | "none" | "0" | "") {
        return Ok(None);
    }
    let d: i64 = s
        .trim_end_matches('d')
        .parse()
        .map_err(|_| anyhow!("'{s}' is not a number of days (or `off`)"))?;
    Ok(Some(d))
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let now = match cli.now.as_deref() {
        Some(s) => parse_when(s, rapport_core::time::now())
            .ok_or_else(|| anyhow!("--now '{s}' is not a date"))?,
        None => rapport_core::time::now(),
    };
    let explicit_db = cli.db.clone();
    let ctx = Ctx {
        db: cli.db.unwrap_or_else(crate::paths::default_db),
        config: cli
            .config
            .unwrap_or_else(|| crate::paths::config_dir().join("accounts.toml")),
        json: cli.json,
        quiet: cli.quiet,
        now,
        now_fixed: cli.now.is_some(),
    };
    match cli.command {
        Command::Demo => crate::demo::run(&ctx, explicit_db),
        Command::Import(args) => import(&ctx, args),
        Command::Contacts(args) => contacts(&ctx, args),
        Command::Contact(args) => contact(&ctx, args),
        Command::Threads(args) => threads(&ctx, args),
        Command::Thread {
            id,
            done,
            snooze,
            reopen,
        } => {
            let mark = views::thread_mark(done, &snooze, reopen, ctx.now)?;
            thread(&ctx, &id, mark)
        }
        Command::Awaiting(args) => awaiting(&ctx, args),
        Command::Neglected { limit } => neglected(&ctx, limit),
        Command::Search { text, limit } => search(&ctx, &text.join(" "), limit),
        Command::Export { format, output } => export(&ctx, format, output),
        Command::Identity(cmd) => identity(&ctx, cmd),
        Command::Rule(cmd) => rule(&ctx, cmd),
        Command::Policy { policy: p } => policy(&ctx, p),
        Command::Group(cmd) => group(&ctx, cmd),
        Command::Explain { address } => explain(&ctx, &address),
        Command::Stats => stats(&ctx),
        Command::Sources => sources(&ctx),
        Command::Imports { limit } => imports(&ctx, limit),
        Command::Skipped { limit } => skipped(&ctx, limit),
        Command::Account(cmd) => crate::accounts::account(&ctx, cmd),
        Command::Sync(args) => crate::accounts::sync(&ctx, args),
        Command::Watch(args) => crate::accounts::watch(&ctx, args),
        Command::Status => crate::accounts::status(&ctx),
        Command::Doctor => crate::doctor::run(&ctx),
        Command::Audit { account } => crate::accounts::audit(&ctx, &account),
        Command::NativeHost(args) => crate::native_host::run(&ctx, args),
        Command::Serve(args) => crate::bridge::serve(&ctx, args),
        Command::Ui(args) => crate::ui::serve(&ctx, args),
        Command::Install(crate::args::InstallTarget::Thunderbird(args)) => {
            crate::native_host::install(&ctx, args)
        }
        Command::Install(crate::args::InstallTarget::Outlook(args)) => {
            crate::bridge::install(&ctx, args)
        }
    }
}

fn ok() -> anyhow::Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}

fn import(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    for me in &args.me {
        engine.add_identity(me)?;
    }
    let options = ImportOptions {
        snippet: args.snippet,
        policy: args.policy,
        batch_size: args.batch,
    };
    if args.dry_run {
        let report = engine.import_dry_run(&args.paths, &options)?;
        if ctx.json {
            fmt::json(&report)?;
            return ok();
        }
        println!(
            "Dry run with policy {}: nothing was written.",
            report.policy.as_str()
        );
        println!(
            "{} messages read: {} new, {} already stored, {} skipped.",
            report.summary.messages_read,
            report.summary.stored,
            report.summary.duplicates,
            report.summary.skipped
        );
        println!(
            "\n{} ({}):",
            heading("Would become contacts"),
            report.new_contacts
        );
        let mut t = Table::new(&["CONTACT", "MESSAGES", "WHY"]).max_width(2, 60);
        for e in report.would_create.iter().take(25) {
            t.row(vec![
                person(&e.name, &e.email),
                e.messages.to_string(),
                e.reason.clone(),
            ]);
        }
        t.print_or("  nobody");
        println!(
            "\n{} ({} addresses not made contacts):",
            heading("Top skipped senders"),
            report.skipped_addresses
        );
        let mut t = Table::new(&["SENDER", "MESSAGES", "WHY NOT"]).max_width(2, 70);
        for e in &report.top_skipped_senders {
            t.row(vec![
                person(&e.name, &e.email),
                e.messages.to_string(),
                e.reason.clone(),
            ]);
        }
        t.print_or("  nobody");
        return ok();
    }
    let summary = run_import(ctx, &engine, &args.paths, &options)?;
    if ctx.json {
        fmt::json(&summary)?;
        return ok();
    }
    if !ctx.quiet {
        eprintln!(
            "Imported {} files ({:.1} MB) in {:.1} s: {} messages read, {} new, {} already stored, {} skipped ({} messages/s).",
            summary.files,
            summary.bytes as f64 / 1e6,
            summary.elapsed_ms as f64 / 1000.0,
            summary.messages_read,
            summary.stored,
            summary.duplicates,
            summary.skipped,
            summary.messages_per_sec
        );
        for (reason, n) in &summary.skipped_by_reason {
            eprintln!("  skipped, {reason}: {n}");
        }
        for e in summary.errors.iter().take(10) {
            eprintln!("  error: {}: {}", e.location, e.detail);
        }
        if summary.skipped > 0 {
            eprintln!("  (`rapport skipped` lists every skipped input with its reason)");
        }
        let stats = engine.stats()?;
        eprintln!(
            "Database {}: {} messages, {} threads, {} contacts.",
            ctx.db.display(),
            stats.messages,
            stats.threads,
            stats.contacts
        );
        if stats.identities == 0 {
            eprintln!(
                "note: no identities yet, so all mail counts as received; add yours with `rapport identity add you@example.com`."
            );
        }
    }
    ok()
}

fn contacts(ctx: &Ctx, args: ContactsArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json || args.count {
        let v = views::contacts(&engine, &args, ctx.now)?;
        if ctx.json {
            fmt::json(&v)?;
        } else {
            println!("{}", v["count"]);
        }
        return ok();
    }
    let q = views::contact_query(&args, ctx.now)?;
    let list = engine.contacts(&q, ctx.now)?;
    print_contacts(&list, ctx.now);
    if list.is_empty() {
        println!(
            "No contacts match. (`rapport stats` shows what is stored; `rapport explain ADDRESS` says why someone is not a contact.)"
        );
    }
    ok()
}

fn duration(secs: Option<i64>) -> String {
    secs.map(human_age).unwrap_or_else(|| "—".into())
}

fn contact(ctx: &Ctx, args: ContactArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if let Some(c) = &args.cadence {
        engine.set_cadence(&args.address, days_arg(c)?)?;
    }
    if let Some(g) = &args.group {
        engine.set_group(&args.address, g)?;
    }
    if args.snooze.is_some() {
        engine.snooze_contact(&args.address, views::snooze_until(&args.snooze, ctx.now)?)?;
    }
    if ctx.json {
        fmt::json(&views::contact(
            &engine,
            &args.address,
            args.timeline,
            ctx.now,
        )?)?;
        return ok();
    }
    let d = engine.contact(&args.address, ctx.now)?;
    let timeline = engine.timeline(&args.address, args.timeline)?;
    let c = &d.summary;
    println!("{}", heading(&person(&c.name, &c.email)));
    for a in d.addresses.iter().skip(1) {
        println!("  also {}", a.email);
    }
    if !c.group.is_empty() {
        println!("  group {}", c.group);
    }
    println!("  first contact   {}", when(c.first_contact, ctx.now));
    println!("  last contact    {}", when(c.last_contact, ctx.now));
    println!("  last from them  {}", when(c.last_inbound, ctx.now));
    println!("  last from you   {}", when(c.last_outbound, ctx.now));
    println!(
        "  messages        {} from them, {} from you, in {} threads",
        c.inbound_count, c.outbound_count, c.thread_count
    );
    println!(
        "  reply time      you answer in {} (median), they answer in {}",
        duration(d.median_reply_mine_secs),
        duration(d.median_reply_theirs_secs)
    );
    match (c.cadence_days, c.due) {
        (Some(days), Some(due)) => println!(
            "  cadence         every {days} days; {}",
            if c.neglected {
                format!("overdue since {}", when(Some(due), ctx.now))
            } else {
                format!("next touch due {}", rapport_core::time::format_date(due.0))
            }
        ),
        _ => println!("  cadence         none (set one with --cadence DAYS)"),
    }
    if d.name_history.len() > 1 {
        let names: Vec<String> = d
            .name_history
            .iter()
            .map(|n| format!("{} ({}×)", n.name, n.uses))
            .collect();
        println!("  names seen      {}", names.join(", "));
    }
    if !d.open_threads.is_empty() {
        println!("\n{}", heading("Open threads"));
        for t in &d.open_threads {
            println!(
                "  #{:<6} waiting on {:<4} {:>4}d  {}",
                t.thread_id,
                match t.waiting_on {
                    WaitingOn::Me => "you",
                    WaitingOn::Them => "them",
                },
                t.age_days,
                fmt::cut(&t.subject, 60)
            );
        }
    }
    println!("\n{}", heading("Recent messages"));
    for m in &timeline {
        let arrow = match m.direction.as_str() {
            "outbound" => "→",
            "inbound" => "←",
            _ => "↔",
        };
        let tag = if m.class == "person" {
            String::new()
        } else {
            format!(" [{}]", m.class)
        };
        println!(
            "  {} {} #{:<6} {}{}",
            rapport_core::time::format_date(m.date.0),
            arrow,
            m.thread_id,
            fmt::cut(&m.subject, 64),
            tag
        );
    }
    ok()
}

fn threads(ctx: &Ctx, args: ThreadsArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json {
        fmt::json(&views::threads(&engine, &args, ctx.now)?)?;
        return ok();
    }
    let q = ThreadQuery {
        with: args.with,
        waiting: args.waiting,
        since: views::when_arg(&args.since, ctx.now)?,
        limit: args.limit,
    };
    let list = engine.threads(&q, ctx.now)?;
    ctx.answer(&list, |list| {
        let mut t = Table::new(&["#", "LAST", "MSGS", "WAITING ON", "SUBJECT", "PEOPLE"])
            .max_width(4, 50)
            .max_width(5, 40);
        for th in list.iter() {
            t.row(vec![
                th.id.to_string(),
                ago(Some(th.last_date), ctx.now),
                th.message_count.to_string(),
                match th.waiting_on.as_str() {
                    "me" => "you".into(),
                    "them" => "them".into(),
                    _ => String::new(),
                },
                th.subject.clone(),
                th.participants.join(", "),
            ]);
        }
        t.print_or("No threads match.");
    })
}

fn thread(ctx: &Ctx, id: &str, mark: Option<rapport_core::ThreadMark>) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if let Some(mark) = mark {
        engine.mark_thread(id, mark, ctx.now)?;
        if !ctx.json && !ctx.quiet {
            println!(
                "{}",
                match mark {
                    rapport_core::ThreadMark::Done =>
                        "Marked done: off the awaiting lists until someone writes in it again.",
                    rapport_core::ThreadMark::Snooze(_) =>
                        "Snoozed: off the awaiting lists until then, or until someone writes in it.",
                    rapport_core::ThreadMark::Reopen => "Back on the awaiting lists.",
                }
            );
            return ok();
        }
    }
    if ctx.json {
        fmt::json(&views::thread(&engine, id, ctx.now)?)?;
        return ok();
    }
    let t = engine.thread(id, ctx.now)?;
    println!(
        "{}  (#{}, {} messages, {} to {})",
        heading(&t.summary.subject),
        t.summary.id,
        t.summary.message_count,
        rapport_core::time::format_date(t.summary.first_date.0),
        rapport_core::time::format_date(t.summary.last_date.0)
    );
    match t.summary.waiting_on.as_str() {
        "me" => println!("Waiting on you."),
        "them" => println!("Waiting on them."),
        _ => {}
    }
    for m in &t.messages {
        let indent = "  ".repeat(m.depth);
        let arrow = match m.direction.as_str() {
            "outbound" => "→",
            "inbound" => "←",
            _ => "↔",
        };
        println!(
            "{} {indent}{arrow} {}: {}",
            rapport_core::time::format_date(m.date.0),
            if m.from_name.is_empty() {
                &m.from
            } else {
                &m.from_name
            },
            fmt::cut(&m.subject, 70)
        );
    }
    ok()
}

fn awaiting(ctx: &Ctx, args: AwaitingArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json {
        fmt::json(&views::awaiting(&engine, &args, ctx.now)?)?;
        return ok();
    }
    let q = views::awaiting_query(&args, ctx.now);
    let items = engine.awaiting(&q)?;
    if q.who != Some(WaitingOn::Them) {
        println!("{}", heading("Waiting on you"));
        print_awaiting(&items, WaitingOn::Me);
    }
    if q.who != Some(WaitingOn::Me) {
        if q.who.is_none() {
            println!();
        }
        println!(
            "{}",
            heading(&format!(
                "Waiting on them (your last message {}+ days old)",
                args.days
            ))
        );
        print_awaiting(&items, WaitingOn::Them);
    }
    if engine.stats()?.identities == 0 {
        eprintln!(
            "note: no identities configured, so Rapport cannot tell your mail from theirs (`rapport identity add`)."
        );
    }
    ok()
}

fn neglected(ctx: &Ctx, limit: usize) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json {
        fmt::json(&views::neglected(&engine, limit, ctx.now)?)?;
        return ok();
    }
    let items = engine.neglected(ctx.now, limit)?;
    ctx.answer(&items, |items| {
        print_neglected(items, ctx.now);
        if items.is_empty() {
            println!(
                "(Cadences: `rapport contact ADDRESS --cadence 30`, or `rapport group cadence clients 30`.)"
            );
        }
    })
}

fn search(ctx: &Ctx, text: &str, limit: usize) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json {
        fmt::json(&views::search(&engine, text, limit)?)?;
        return ok();
    }
    let hits = engine.search(text, limit)?;
    ctx.answer(&hits, |hits| {
        let mut t = Table::new(&["KIND", "WHAT", "WHEN", "DETAIL"])
            .max_width(1, 56)
            .max_width(3, 50);
        for h in hits.iter() {
            t.row(vec![
                h.kind.clone(),
                match h.thread_id {
                    Some(id) => format!("#{id} {}", h.title),
                    None => h.title.clone(),
                },
                h.date
                    .map(|d| rapport_core::time::format_date(d.0))
                    .unwrap_or_default(),
                h.detail.clone(),
            ]);
        }
        t.print_or("Nothing found.");
    })
}

fn export(ctx: &Ctx, format: ExportFormat, output: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let n = match &output {
        Some(path) => {
            let tmp = path.with_extension("rapport-tmp");
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot write {}", tmp.display()))?,
            );
            let n = engine.export(format, &mut file, ctx.now)?;
            file.flush()?;
            drop(file);
            std::fs::rename(&tmp, path)?;
            n
        }
        None => {
            let mut out = std::io::stdout().lock();
            let n = engine.export(format, &mut out, ctx.now)?;
            out.flush()?;
            n
        }
    };
    if !ctx.quiet {
        eprintln!(
            "Exported {n} {}{}.",
            if format == ExportFormat::Ical {
                "follow-ups"
            } else {
                "contacts"
            },
            output
                .map(|p| format!(" to {}", p.display()))
                .unwrap_or_default()
        );
    }
    ok()
}

fn identity(ctx: &Ctx, cmd: IdentityCommand) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    match cmd {
        IdentityCommand::Add { address } => {
            let changed = engine.add_identity(&address)?;
            if !ctx.quiet {
                eprintln!(
                    "{} {address}; directions and contacts recomputed.",
                    if changed { "Added" } else { "Already had" }
                );
            }
        }
        IdentityCommand::Remove { address } => {
            if !engine.remove_identity(&address)? {
                return Err(rapport_core::Error::NotFound {
                    what: "identity",
                    name: address,
                }
                .into());
            }
            if !ctx.quiet {
                eprintln!("Removed {address}.");
            }
        }
        IdentityCommand::List => {}
    }
    let ids = engine.identities()?;
    ctx.answer(&ids, |ids| {
        let mut t = Table::new(&["ADDRESS", "STATUS", "SEEN IN SENT"]);
        for i in ids.iter() {
            t.row(vec![
                i.email.clone(),
                if i.confirmed {
                    "yours".into()
                } else {
                    "candidate (confirm with `rapport identity add`)".into()
                },
                i.seen.to_string(),
            ]);
        }
        t.print_or("No identities. Add yours: rapport identity add you@example.com");
    })
}

fn rule(ctx: &Ctx, cmd: RuleCommand) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    match cmd {
        RuleCommand::Block { pattern } => {
            let p = engine.add_rule(RuleAction::Block, &pattern)?;
            if !ctx.quiet {
                eprintln!("Blocking {p}.");
            }
        }
        RuleCommand::Allow { pattern } => {
            let p = engine.add_rule(RuleAction::Allow, &pattern)?;
            if !ctx.quiet {
                eprintln!("Allowing {p}.");
            }
        }
        RuleCommand::Remove { pattern } => {
            let removed = engine.remove_rule(&pattern)?;
            if !ctx.quiet {
                eprintln!("Removed {}.", removed.join(", "));
            }
        }
        RuleCommand::List => {}
    }
    let rules = engine.rules()?;
    ctx.answer(&rules, |rules| {
        let mut t = Table::new(&["#", "ACTION", "PATTERN"]);
        for r in rules.iter() {
            t.row(vec![r.id.to_string(), r.action.clone(), r.pattern.clone()]);
        }
        t.print_or("No rules.");
    })
}

fn policy(ctx: &Ctx, p: Option<Policy>) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if let Some(p) = p {
        engine.set_policy(p)?;
    }
    let current = engine.policy()?;
    if ctx.json {
        fmt::json(&serde_json::json!({"policy": current}))?;
    } else {
        println!("{}", current.as_str());
    }
    ok()
}

fn group(ctx: &Ctx, cmd: GroupCommand) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if let GroupCommand::Cadence { group, days } = &cmd {
        engine.set_group_cadence(group, days_arg(days)?)?;
    }
    let moved = match &cmd {
        GroupCommand::Add { group, addresses } => {
            Some(views::set_groups(&engine, addresses, group)?)
        }
        GroupCommand::Remove { addresses } => Some(views::set_groups(&engine, addresses, "")?),
        _ => None,
    };
    if let Some(moved) = moved {
        if ctx.json {
            fmt::json(&moved)?;
        } else if !ctx.quiet {
            println!("{} contacts moved.", moved["updated"]);
        }
        return ok();
    }
    if ctx.json {
        fmt::json(&views::groups(&engine, ctx.now)?)?;
        return ok();
    }
    let groups = engine.group_overview(ctx.now)?;
    let mut t = Table::new(&["GROUP", "CADENCE", "CONTACTS", "OVERDUE"]);
    for g in &groups {
        t.row(vec![
            g.group.clone(),
            g.cadence_days
                .map(|d| format!("{d} days"))
                .unwrap_or_else(|| "—".into()),
            g.contacts.to_string(),
            g.overdue.to_string(),
        ]);
    }
    t.print_or("No groups. Put a contact in one: rapport contact ADDRESS --group clients");
    ok()
}

fn explain(ctx: &Ctx, address: &str) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json {
        fmt::json(&views::explain(&engine, address)?)?;
        return ok();
    }
    let e = engine.explain(address)?;
    let verdict = if e.is_identity {
        "is one of your addresses"
    } else if e.is_contact {
        "is a contact"
    } else {
        "is not a contact"
    };
    println!("{} {verdict}: {}.", heading(&e.address), e.reason);
    if e.known {
        let n = |k: i64| {
            if k == 1 {
                "1 message".to_string()
            } else {
                format!("{k} messages")
            }
        };
        println!(
            "  {} from it, {} to it (policy {}).",
            n(e.messages_from),
            n(e.messages_to),
            e.policy.as_str()
        );
        if !e.by_class.is_empty() {
            let parts: Vec<String> = e.by_class.iter().map(|(k, v)| format!("{v} {k}")).collect();
            println!("  Its mail: {}.", parts.join(", "));
        }
    }
    ok()
}

fn stats(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json {
        fmt::json(&views::stats(&engine)?)?;
        return ok();
    }
    let s = engine.stats()?;
    println!("{}", heading(&ctx.db.display().to_string()));
    println!("  messages    {}", s.messages);
    println!("  threads     {}", s.threads);
    println!("  contacts    {}", s.contacts);
    println!("  addresses   {}", s.addresses);
    println!("  sources     {}", s.sources);
    println!("  identities  {}", s.identities);
    println!("  skipped     {}", s.skipped_inputs);
    let classes: Vec<String> = s.by_class.iter().map(|(k, v)| format!("{v} {k}")).collect();
    if !classes.is_empty() {
        println!("  kinds       {}", classes.join(", "));
    }
    let dirs: Vec<String> = s
        .by_direction
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    if !dirs.is_empty() {
        println!("  directions  {}", dirs.join(", "));
    }
    if let (Some(a), Some(b)) = (s.first_date, s.last_date) {
        println!(
            "  spanning    {} to {}",
            &format_iso(a.0)[..10],
            &format_iso(b.0)[..10]
        );
    }
    let _ = DAY;
    ok()
}

fn sources(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json {
        fmt::json(&views::sources(&engine)?)?;
        return ok();
    }
    let list = engine.with_store(|s| s.source_overview())?;
    let mut t = Table::new(&["CAPTURE PATH", "ACCOUNT", "SIGHTINGS", "LAST"]);
    for s in &list {
        t.row(vec![
            s.kind.clone(),
            s.account.clone(),
            s.sightings.to_string(),
            ago(s.last_seen, ctx.now),
        ]);
    }
    t.print_or("Nothing stored yet: `rapport import`, `rapport sync` or a mail-client plugin brings mail in.");
    ok()
}

fn imports(ctx: &Ctx, limit: usize) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if ctx.json {
        fmt::json(&views::imports(&engine, limit)?)?;
        return ok();
    }
    let runs = engine.imports(limit)?;
    let mut t = Table::new(&[
        "#", "STARTED", "STATE", "PROGRESS", "STORED", "SKIPPED", "PATHS",
    ])
    .max_width(6, 50);
    for r in &runs {
        let progress = if r.bytes_total > 0 {
            format!(
                "{}% of {} files",
                (r.bytes_done * 100 / r.bytes_total).min(100),
                r.files_total
            )
        } else {
            format!("{} messages", r.messages)
        };
        t.row(vec![
            r.id.to_string(),
            ago(Some(r.started), ctx.now),
            r.state.clone(),
            progress,
            r.stored.to_string(),
            r.skipped.to_string(),
            r.label.clone(),
        ]);
    }
    t.print_or("No imports recorded yet.");
    ok()
}

fn skipped(ctx: &Ctx, limit: usize) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let list = engine.skipped_inputs(limit)?;
    ctx.answer(&list, |list| {
        let mut t = Table::new(&["INPUT", "REASON", "DETAIL"])
            .max_width(0, 60)
            .max_width(2, 60);
        for s in list.iter() {
            t.row(vec![s.location.clone(), s.reason.clone(), s.detail.clone()]);
        }
        t.print_or("Nothing was skipped.");
    })
}
