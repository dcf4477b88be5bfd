//! `rapport doctor`: is everything in order? The database, the accounts file, the Thunderbird
//! host registration and the Outlook bridge's files, each with what to do when it is not.

use std::process::ExitCode;

use rapport_core::Engine;
use rapport_core::config::Config;
use serde::Serialize;

use crate::context::Ctx;
use crate::fmt;

#[derive(Serialize)]
struct Check {
    area: &'static str,
    /// `ok`, `warn` or `fail`.
    status: &'static str,
    detail: String,
}

fn check(area: &'static str, status: &'static str, detail: impl Into<String>) -> Check {
    Check {
        area,
        status,
        detail: detail.into(),
    }
}

fn database(ctx: &Ctx, out: &mut Vec<Check>) {
    if !ctx.db.exists() {
        out.push(check(
            "database",
            "warn",
            format!(
                "{} does not exist yet: `rapport import` or `rapport sync` creates it",
                ctx.db.display()
            ),
        ));
        return;
    }
    let engine = match Engine::open(&ctx.db) {
        Ok(e) => e,
        Err(e) => {
            out.push(check("database", "fail", e.to_string()));
            return;
        }
    };
    let facts = engine.with_store(|s| {
        Ok((
            s.integrity_check()?,
            s.foreign_key_violations()?,
            s.schema_version()?,
            s.pending_counts()?,
            s.stats()?,
        ))
    });
    match facts {
        Err(e) => out.push(check("database", "fail", e.to_string())),
        Ok((integrity, dangling, version, (threads, addresses), stats)) => {
            if dangling > 0 {
                out.push(check(
                    "database",
                    "fail",
                    format!(
                        "{dangling} rows point at rows that do not exist (PRAGMA foreign_key_check)"
                    ),
                ));
            }
            out.push(check(
                "database",
                if integrity == "ok" { "ok" } else { "fail" },
                format!(
                    "{}: schema {version}, integrity {integrity}; {} messages, {} threads, {} contacts, {} identities",
                    ctx.db.display(),
                    stats.messages,
                    stats.threads,
                    stats.contacts,
                    stats.identities
                ),
            ));
            if threads + addresses > 0 {
                out.push(check(
                    "database",
                    "warn",
                    format!("{threads} threads and {addresses} addresses wait for recomputation (an interrupted import or sync); the next import or sync settles them"),
                ));
            }
            if stats.identities == 0 && stats.messages > 0 {
                out.push(check(
                    "identities",
                    "warn",
                    "no identities: all mail counts as received; `rapport identity add you@example.com`",
                ));
            }
        }
    }
}

fn accounts(ctx: &Ctx, out: &mut Vec<Check>) {
    let problems = rapport_core::config::permission_problems(&ctx.config);
    let refused = problems.iter().any(|p| p.refuse);
    for problem in problems {
        out.push(check("accounts", "fail", problem.detail));
    }
    if refused {
        return;
    }
    match Config::load(&ctx.config) {
        Err(e) => out.push(check("accounts", "fail", e.to_string())),
        Ok(c) if c.accounts.is_empty() => out.push(check(
            "accounts",
            "ok",
            format!("no mail accounts in {} (optional)", ctx.config.display()),
        )),
        Ok(c) => {
            for a in &c.accounts {
                match a.validate() {
                    Ok(()) if a.kind == rapport_core::config::AccountKind::Pst => {
                        out.push(pst_file(a))
                    }
                    Ok(()) if a.kind == rapport_core::config::AccountKind::Graph => {
                        let kept = a.token_file.as_deref().and_then(|f| {
                            rapport_core::sync::token_store::TokenStore::new(f).kept()
                        });
                        out.push(check(
                            "accounts",
                            if kept.is_some() { "ok" } else { "WARN" },
                            if let Some(kept) = kept {
                                format!(
                                    "{}: graph {} (signed in; tokens in {kept})",
                                    a.name,
                                    a.location()
                                )
                            } else {
                                format!(
                                    "{}: graph {}: not signed in (`rapport account login {}`)",
                                    a.name,
                                    a.location(),
                                    a.name
                                )
                            },
                        ))
                    }
                    Ok(()) if a.kind == rapport_core::config::AccountKind::Ews => out.push(check(
                        "accounts",
                        "ok",
                        format!("{}: ews {}", a.name, a.location()),
                    )),
                    Ok(()) => out.push(check(
                        "accounts",
                        "ok",
                        format!(
                            "{}: {} {}:{} ({:?})",
                            a.name,
                            a.kind,
                            a.host,
                            a.port(),
                            a.security
                        ),
                    )),
                    Err(e) => out.push(check("accounts", "fail", e.to_string())),
                }
            }
        }
    }
}

/// A `pst` account's file: readable now, or why not (most often: Outlook has it open).
fn pst_file(a: &rapport_core::config::Account) -> Check {
    let Some(path) = &a.path else {
        return check("accounts", "fail", format!("{}: no data file", a.name));
    };
    let read = rapport_core::source::pst::open_pst(path).and_then(|reader| {
        rapport_core::mail::pst::folders(reader)
            .map_err(|e| rapport_core::Error::InvalidInput(e.to_string()))
    });
    match read {
        Ok(folders) => check(
            "accounts",
            "ok",
            format!(
                "{}: pst {} ({} folders readable). Outlook locks the data file it has open: `rapport watch` reads it whenever Outlook is closed",
                a.name,
                path.display(),
                folders.len()
            ),
        ),
        Err(e) => check(
            "accounts",
            "warn",
            format!(
                "{}: pst {} cannot be read now: {e}. Outlook locks the data file it has open; `rapport watch` tries again every poll, or point the account at a copy (File › Open & Export › Export to a file)",
                a.name,
                path.display()
            ),
        ),
    }
}

fn thunderbird(out: &mut Vec<Check>) {
    let Ok(dir) = crate::native_host::manifest_dir() else {
        return;
    };
    let manifest = dir.join(format!("{}.json", crate::native_host::HOST_NAME));
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        out.push(check(
            "thunderbird",
            "ok",
            "the extension's host is not installed (optional: `rapport install thunderbird`)",
        ));
        return;
    };
    let path = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["path"].as_str().map(String::from));
    match path {
        Some(p) if std::path::Path::new(&p).exists() => out.push(check(
            "thunderbird",
            "ok",
            format!("host registered in {} → {p}", manifest.display()),
        )),
        Some(p) => out.push(check(
            "thunderbird",
            "fail",
            format!(
                "{} points at {p}, which does not exist: run `rapport install thunderbird` again",
                manifest.display()
            ),
        )),
        None => out.push(check(
            "thunderbird",
            "fail",
            format!(
                "{} is not a valid host manifest: run `rapport install thunderbird` again",
                manifest.display()
            ),
        )),
    }
}

fn outlook(out: &mut Vec<Check>) {
    let files = crate::bridge::files::BridgeFiles::new(crate::paths::data_dir().join("outlook"));
    match files.read_config() {
        Ok(None) => out.push(check(
            "outlook",
            "ok",
            "the Outlook bridge is not installed (optional: `rapport install outlook`)",
        )),
        Err(e) => out.push(check("outlook", "fail", format!("{e:#}"))),
        Ok(Some(c)) => {
            let days = (c.cert_not_after - rapport_core::time::now()) / 86_400;
            let missing: Vec<String> = files
                .all()
                .into_iter()
                .filter(|p| !p.exists())
                .map(|p| p.display().to_string())
                .collect();
            if !missing.is_empty() {
                out.push(check(
                    "outlook",
                    "fail",
                    format!(
                        "missing {}: run `rapport install outlook`",
                        missing.join(", ")
                    ),
                ));
            } else if days < 0 {
                out.push(check(
                    "outlook",
                    "fail",
                    "the bridge certificate has expired: `rapport install outlook --renew`",
                ));
            } else {
                out.push(check(
                    "outlook",
                    if days < 30 { "warn" } else { "ok" },
                    format!(
                        "bridge on https://localhost:{}; certificate valid for {days} more days",
                        c.port
                    ),
                ));
            }
        }
    }
}

fn all_checks(ctx: &Ctx) -> Vec<Check> {
    let mut checks = Vec::new();
    database(ctx, &mut checks);
    accounts(ctx, &mut checks);
    thunderbird(&mut checks);
    outlook(&mut checks);
    checks
}

/// `rapport doctor --json`: every check with its status and what to do.
pub fn checks_value(ctx: &Ctx) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::to_value(all_checks(ctx))?)
}

pub fn run(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let checks = all_checks(ctx);
    let failed = checks.iter().any(|c| c.status == "fail");
    if ctx.json {
        fmt::json(&checks)?;
    } else {
        for c in &checks {
            let mark = match c.status {
                "ok" => "ok  ",
                "warn" => "WARN",
                _ => "FAIL",
            };
            println!("{mark} {:<12} {}", c.area, c.detail);
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
