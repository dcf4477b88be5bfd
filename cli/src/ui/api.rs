//! The dashboard's API. Reads are `GET /api/<route>?<flags>`: the route names a command, the
//! parameters are its flags (`/api/contacts?sort=name&limit=10` is `rapport contacts --sort name
//! --limit 10`), parsed by the same clap definitions and answered by the same functions
//! (`crate::views`) as `--json`, so the API and the CLI agree by construction, errors included.
//! Writes are `POST` with a JSON body (listed in the README).

use hyper::StatusCode;
use hyper::body::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Resp, State, json as json_resp, json_error};
use crate::args::{Cli, Command, GroupCommand};
use crate::views;

use rapport_core::text::form_decode as decode;

fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// A refused API call: its HTTP status, a stable code and a message for people.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: &str) -> ApiError {
        ApiError {
            status,
            code,
            message: message.to_string(),
        }
    }

    fn into_resp(self) -> Resp {
        json_error(self.status, self.code, &self.message)
    }
}

/// A bad request, answered 400 with the reason.
struct BadRequest(String);

/// What one read route accepts: its command words, the parameter given as the positional
/// argument (if any), the parameters taken as `--flag VALUE` and those taken as bare flags.
struct Route {
    words: &'static [&'static str],
    positional: Option<&'static str>,
    options: &'static [&'static str],
    flags: &'static [&'static str],
}

const CONTACT_FILTERS: &[&str] = &[
    "sort",
    "flow",
    "domain",
    "group",
    "since",
    "until",
    "min",
    "limit",
    "offset",
    "search",
    "class",
    "new_since",
];

fn route_for(path: &str) -> Option<Route> {
    let r = |words, positional, options, flags| Route {
        words,
        positional,
        options,
        flags,
    };
    Some(match path {
        "awaiting" => r(
            &["awaiting"],
            None,
            &["on", "days", "max_age", "limit"],
            &[],
        ),
        "neglected" => r(&["neglected"], None, &["limit"], &[]),
        "contacts" => r(&["contacts"], None, CONTACT_FILTERS, &["ungrouped"]),
        "contacts/count" => r(
            &["contacts", "--count"],
            None,
            CONTACT_FILTERS,
            &["ungrouped"],
        ),
        "imports" => r(&["imports"], None, &["limit"], &[]),
        "contact" => r(&["contact"], Some("address"), &["timeline"], &[]),
        "explain" => r(&["explain"], Some("address"), &[], &[]),
        "threads" => r(
            &["threads"],
            None,
            &["with", "waiting", "since", "limit"],
            &[],
        ),
        "thread" => r(&["thread"], Some("id"), &[], &[]),
        "search" => r(&["search"], Some("q"), &["limit"], &[]),
        "groups" => r(&["group", "list"], None, &[], &[]),
        "stats" => r(&["stats"], None, &[], &[]),
        "sources" => r(&["sources"], None, &[], &[]),
        "status" => r(&["status"], None, &[], &[]),
        "doctor" => r(&["doctor"], None, &[], &[]),
        _ => return None,
    })
}

/// The CLI command a read route and its parameters stand for.
fn command_for(route: &Route, query: &str) -> Result<Command, BadRequest> {
    let mut argv: Vec<String> = vec!["rapport".into()];
    argv.extend(route.words.iter().map(|w| w.to_string()));
    let mut positional = None;
    for (key, value) in pairs(query) {
        if route.positional == Some(key.as_str()) {
            positional = Some(value);
        } else if route.options.contains(&key.as_str()) {
            argv.push(format!("--{}", key.replace('_', "-")));
            argv.push(value);
        } else if route.flags.contains(&key.as_str()) {
            if !matches!(value.as_str(), "" | "0" | "false" | "off") {
                argv.push(format!("--{}", key.replace('_', "-")));
            }
        } else {
            return Err(BadRequest(format!("unknown parameter '{key}'")));
        }
    }
    if let Some(name) = route.positional {
        let value =
            positional.ok_or_else(|| BadRequest(format!("the parameter '{name}' is needed")))?;
        // After `--`, so a value starting with a dash is a value, not a flag.
        argv.push("--".into());
        argv.push(value);
    }
    let cli = <Cli as clap::Parser>::try_parse_from(argv).map_err(|e| {
        let message = e.to_string();
        let first = message
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("bad parameters");
        BadRequest(first.trim_start_matches("error: ").to_string())
    })?;
    Ok(cli.command)
}

/// The `--json` answer of a read-only command.
fn answer(state: &State, command: &Command) -> anyhow::Result<Value> {
    let engine = &*state.engine;
    let now = state.now();
    match command {
        Command::Awaiting(a) => views::awaiting(engine, a, now),
        Command::Neglected { limit } => views::neglected(engine, *limit, now),
        Command::Contacts(a) => views::contacts(engine, a, now),
        Command::Contact(a) => views::contact(engine, &a.address, a.timeline, now),
        Command::Explain { address } => views::explain(engine, address),
        Command::Threads(a) => views::threads(engine, a, now),
        Command::Thread { id, .. } => views::thread(engine, id, now),
        Command::Imports { limit } => views::imports(engine, *limit),
        Command::Search { text, limit } => views::search(engine, &text.join(" "), *limit),
        Command::Group(GroupCommand::List) => views::groups(engine, now),
        Command::Stats => views::stats(engine),
        Command::Sources => views::sources(engine),
        Command::Status => crate::accounts::status_value(&state.ctx, engine),
        Command::Doctor => crate::doctor::checks_value(&state.ctx),
        _ => Err(anyhow::anyhow!("not a read-only command")),
    }
}

/// An error as an API answer: what the user can fix is 4xx, with the CLI's message.
fn error_resp(e: &anyhow::Error) -> ApiError {
    use rapport_core::ErrorCode;
    let message = format!("{e:#}");
    let Some(core) = e.downcast_ref::<rapport_core::Error>() else {
        return ApiError::new(StatusCode::BAD_REQUEST, "InvalidInput", &message);
    };
    let status = match core.code() {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::InvalidInput | ErrorCode::Config => StatusCode::BAD_REQUEST,
        ErrorCode::Cancelled | ErrorCode::Closed => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, core.code().as_str(), &message)
}

fn read(state: &State, path: &str, query: &str) -> Result<Value, ApiError> {
    let route = route_for(path)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such API route"))?;
    let command = command_for(&route, query)
        .map_err(|BadRequest(m)| ApiError::new(StatusCode::BAD_REQUEST, "InvalidInput", &m))?;
    answer(state, &command).map_err(|e| error_resp(&e))
}

/// Today: the four lists of the dashboard's first page, each what its command answers.
fn today(state: &State, query: &str) -> Result<Value, ApiError> {
    let mut days = "3".to_string();
    for (k, v) in pairs(query) {
        match k.as_str() {
            "days" => days = v,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidInput",
                    &format!("unknown parameter '{k}'"),
                ));
            }
        }
    }
    Ok(json!({
        "waiting_on_me": read(state, "awaiting", "on=me")?,
        "waiting_on_them": read(state, "awaiting", &format!("on=them&days={days}"))?,
        "neglected": read(state, "neglected", "")?,
        "new_people": read(state, "contacts", "sort=new&new_since=7d&limit=50")?,
    }))
}

/// A number that moves whenever anything wrote to the database: another process (SQLite's
/// `data_version`) or this dashboard.
fn changes(state: &State) -> Result<Value, ApiError> {
    let others = state
        .engine
        .data_version()
        .map_err(|e| error_resp(&e.into()))?;
    let own = state.own_writes.load(std::sync::atomic::Ordering::Relaxed);
    Ok(json!({ "version": others + own }))
}

pub fn get(state: &State, path: &str, query: &str, csrf: &str) -> Resp {
    let result = match path {
        "session" => Ok(json!({
            "csrf": csrf,
            "database": std::path::absolute(&state.ctx.db)
                .unwrap_or_else(|_| state.ctx.db.clone())
                .display()
                .to_string(),
            "now": rapport_core::time::format_iso(state.now()),
            "version": env!("CARGO_PKG_VERSION"),
        })),
        "today" => today(state, query),
        "changes" => changes(state),
        _ => read(state, path, query),
    };
    match result {
        Ok(v) => json_resp(StatusCode::OK, &v),
        Err(e) => e.into_resp(),
    }
}

/// Days as the API takes them: a number, `null` (none), or the CLI's spellings (`30`, `off`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Days {
    Number(i64),
    Text(String),
}

fn days(d: Option<Days>) -> anyhow::Result<Option<i64>> {
    match d {
        None => Ok(None),
        Some(Days::Number(n)) if n > 0 => Ok(Some(n)),
        Some(Days::Number(_)) => Ok(None),
        Some(Days::Text(s)) => crate::commands::days_arg(&s),
    }
}

fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            &format!("bad request body: {e}"),
        )
    })
}

fn write(state: &State, path: &str, bytes: &Bytes) -> Result<Value, ApiError> {
    let engine = &*state.engine;
    let now = state.now();
    let fail = |e: anyhow::Error| error_resp(&e);
    let value = match path {
        "contact/cadence" => {
            #[derive(Deserialize)]
            struct P {
                address: String,
                days: Option<Days>,
            }
            let p: P = body(bytes)?;
            let d = days(p.days).map_err(fail)?;
            engine
                .set_cadence(&p.address, d)
                .map_err(|e| fail(e.into()))?;
            views::contact(engine, &p.address, 10, now).map_err(fail)?
        }
        "contacts/group" => {
            #[derive(Deserialize)]
            struct P {
                addresses: Vec<String>,
                group: String,
            }
            let p: P = body(bytes)?;
            views::set_groups(engine, &p.addresses, &p.group).map_err(fail)?
        }
        "group/cadence" => {
            #[derive(Deserialize)]
            struct P {
                group: String,
                days: Option<Days>,
            }
            let p: P = body(bytes)?;
            let d = days(p.days).map_err(fail)?;
            engine
                .set_group_cadence(&p.group, d)
                .map_err(|e| fail(e.into()))?;
            views::groups(engine, now).map_err(fail)?
        }
        "contact/snooze" => {
            #[derive(Deserialize)]
            struct P {
                address: String,
                until: Option<String>,
            }
            let p: P = body(bytes)?;
            let until = views::snooze_until(&p.until, now).map_err(fail)?;
            engine
                .snooze_contact(&p.address, until)
                .map_err(|e| fail(e.into()))?;
            views::contact(engine, &p.address, 10, now).map_err(fail)?
        }
        "thread/mark" => {
            #[derive(Deserialize)]
            struct P {
                thread_id: i64,
                action: String,
                until: Option<String>,
            }
            let p: P = body(bytes)?;
            let mark = match p.action.as_str() {
                "done" => views::thread_mark(true, &None, false, now),
                "reopen" => views::thread_mark(false, &None, true, now),
                "snooze" if p.until.is_some() => views::thread_mark(false, &p.until, false, now),
                _ => Err(anyhow::anyhow!(
                    "action must be done, reopen, or snooze with until"
                )),
            }
            .map_err(fail)?;
            if let Some(mark) = mark {
                engine
                    .mark_thread(&p.thread_id.to_string(), mark, now)
                    .map_err(|e| fail(e.into()))?;
            }
            views::thread(engine, &p.thread_id.to_string(), now).map_err(fail)?
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                "no such API route",
            ));
        }
    };
    state
        .own_writes
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(value)
}

pub fn post(state: &State, path: &str, bytes: &Bytes) -> Resp {
    match write(state, path, bytes) {
        Ok(v) => json_resp(StatusCode::OK, &v),
        Err(e) => e.into_resp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(decode("a%40b.example"), "a@b.example");
        assert_eq!(decode("two+words"), "two words");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%e2%82%ac"), "€");
    }

    #[test]
    fn routes_become_cli_commands() {
        let r = route_for("contacts").expect("route");
        assert!(matches!(
            command_for(&r, "sort=name&limit=5"),
            Ok(Command::Contacts(a)) if a.limit == 5
        ));
        assert!(command_for(&r, "sort=bogus").is_err());
        assert!(command_for(&r, "cadence=5").is_err());
        let c = route_for("contact").expect("route");
        assert!(matches!(
            command_for(&c, "address=-x%40y"),
            Ok(Command::Contact(a)) if a.address == "-x@y"
        ));
        assert!(command_for(&c, "").is_err());
    }
}
