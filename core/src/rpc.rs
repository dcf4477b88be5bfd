//! The JSON request/response protocol shared by the Thunderbird native host and the Outlook
//! bridge: `{"id": n, "method": "...", "params": {...}}` → `{"id": n, "result": ...}` or
//! `{"id": n, "error": {"code": "...", "message": "..."}}`. The method table is defined here,
//! once; the transports only move bytes.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Engine, SentRecord};
use crate::error::{Error, Result};
use crate::model::{SourceRef, WaitingOn};
use crate::query::{AwaitingQuery, ContactQuery, ContactSort, Flow};

/// Protocol version, bumped on incompatible changes.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest reply a transport may send (Thunderbird kills hosts that send more than 1 MiB).
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// Longest list any method returns in one reply.
const MAX_LIMIT: usize = 500;
/// Most ids a `have` request may ask about.
const MAX_HAVE: usize = 5000;

/// Every method with a one-line description (served by `hello` and `rapport native-host --schema`).
pub const METHODS: &[(&str, &str)] = &[
    (
        "hello",
        "protocol version, database path and the method list",
    ),
    (
        "status",
        "counts, policy and identities, for an options page",
    ),
    (
        "capture",
        "store one raw message: {raw: base64, source: {account, folder, id}, sent?: bool}",
    ),
    (
        "record_sent",
        "record a message at send time: {tracking_id, from, to, cc, bcc, subject, date?, in_reply_to?}",
    ),
    (
        "have",
        "which Message-IDs are stored: {message_ids: [...]} → {missing: [...]}",
    ),
    (
        "card",
        "everything about one sender for a popup or task pane: {address}",
    ),
    ("contact", "one contact's full history: {address}"),
    (
        "contacts",
        "contacts: {limit?, sort?, flow?, domain?, group?}",
    ),
    (
        "thread",
        "a thread and its state: {message_id} or {thread_id}",
    ),
    (
        "awaiting",
        "threads waiting on a reply: {who?: 'me'|'them', days?, limit?}",
    ),
    ("neglected", "contacts past their cadence: {limit?}"),
    (
        "search",
        "contacts, addresses and subjects: {query, limit?}",
    ),
    ("identities", "the user's addresses and candidates"),
    (
        "add_identity",
        "add (or confirm) one of the user's own addresses: {address} → {added}",
    ),
    ("stats", "database counts"),
];

/// Who is calling: decides the `kind` recorded on captured sources.
#[derive(Debug, Clone)]
pub struct RpcContext {
    pub client: crate::source::SourceKind,
    /// "Now" for age computations (seconds since the epoch); `None` for the clock.
    pub now: Option<i64>,
}

#[derive(Deserialize)]
struct Request {
    method: String,
    #[serde(default)]
    params: Value,
}

#[derive(Deserialize, Default)]
struct SourceParams {
    #[serde(default)]
    account: String,
    #[serde(default)]
    folder: String,
    #[serde(default, alias = "external_id")]
    id: String,
}

fn error_reply(id: &Value, code: &str, message: &str) -> Value {
    json!({"id": id, "error": {"code": code, "message": message}})
}

fn param<T: for<'de> Deserialize<'de>>(params: &Value) -> Result<T> {
    let p = if params.is_null() {
        json!({})
    } else {
        params.clone()
    };
    serde_json::from_value(p).map_err(|e| Error::InvalidInput(format!("bad params: {e}")))
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(e.to_string()))
}

fn limit(l: Option<usize>, default: usize) -> usize {
    l.unwrap_or(default).clamp(1, MAX_LIMIT)
}

fn source(ctx: &RpcContext, s: SourceParams) -> SourceRef {
    SourceRef {
        kind: ctx.client,
        account: s.account,
        folder: s.folder,
        external_id: s.id,
    }
}

fn dispatch(engine: &Engine, method: &str, params: &Value, ctx: &RpcContext) -> Result<Value> {
    let now = ctx.now.unwrap_or_else(crate::time::now);
    match method {
        "hello" => Ok(json!({
            "protocol": PROTOCOL_VERSION,
            "version": env!("CARGO_PKG_VERSION"),
            "database": engine.path().display().to_string(),
            "methods": METHODS.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        })),
        "status" => Ok(json!({
            "protocol": PROTOCOL_VERSION,
            "version": env!("CARGO_PKG_VERSION"),
            "database": engine.path().display().to_string(),
            "stats": to_value(&engine.stats()?)?,
            "policy": engine.policy()?.as_str(),
            "identities": to_value(&engine.identities()?)?,
        })),
        "capture" => {
            #[derive(Deserialize)]
            struct P {
                raw: String,
                #[serde(default)]
                source: SourceParams,
                #[serde(default)]
                sent: bool,
            }
            let p: P = param(params)?;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(p.raw.trim())
                .map_err(|e| Error::InvalidInput(format!("raw is not valid base64: {e}")))?;
            let src = source(ctx, p.source);
            to_value(&engine.capture_with(&raw, &src, p.sent, now)?)
        }
        "record_sent" => {
            #[derive(Deserialize)]
            struct P {
                #[serde(flatten)]
                record: SentRecord,
                #[serde(default)]
                source: SourceParams,
            }
            let p: P = param(params)?;
            let mut src = source(ctx, p.source);
            if src.external_id.is_empty() {
                src.external_id = format!("sent:{}", p.record.tracking_id.as_deref().unwrap_or(""));
            }
            to_value(&engine.record_sent(&p.record, &src)?)
        }
        "have" => {
            #[derive(Deserialize)]
            struct P {
                message_ids: Vec<String>,
            }
            let p: P = param(params)?;
            if p.message_ids.len() > MAX_HAVE {
                return Err(Error::InvalidInput(format!(
                    "at most {MAX_HAVE} ids per request"
                )));
            }
            let known = engine.have(&p.message_ids)?;
            let missing: Vec<&String> = p
                .message_ids
                .iter()
                .zip(known)
                .filter(|(_, k)| !k)
                .map(|(id, _)| id)
                .collect();
            Ok(json!({"missing": missing}))
        }
        "card" => {
            #[derive(Deserialize)]
            struct P {
                address: String,
            }
            let p: P = param(params)?;
            let explanation = engine.explain(&p.address)?;
            let contact = match engine.contact(&p.address, now) {
                Ok(c) => Some(c),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            };
            Ok(json!({"explanation": to_value(&explanation)?, "contact": to_value(&contact)?}))
        }
        "contact" => {
            #[derive(Deserialize)]
            struct P {
                address: String,
            }
            let p: P = param(params)?;
            to_value(&engine.contact(&p.address, now)?)
        }
        "contacts" => {
            #[derive(Deserialize, Default)]
            struct P {
                limit: Option<usize>,
                sort: Option<String>,
                flow: Option<String>,
                domain: Option<String>,
                group: Option<String>,
            }
            let p: P = param(params)?;
            let q = ContactQuery {
                sort: match p.sort.as_deref() {
                    Some(s) => s.parse::<ContactSort>()?,
                    None => ContactSort::default(),
                },
                flow: match p.flow.as_deref() {
                    Some(f) => Some(f.parse::<Flow>()?),
                    None => None,
                },
                domain: p.domain,
                group: p.group,
                limit: limit(p.limit, 50),
                ..Default::default()
            };
            to_value(&engine.contacts(&q, now)?)
        }
        "thread" => {
            #[derive(Deserialize)]
            struct P {
                message_id: Option<String>,
                thread_id: Option<i64>,
            }
            let p: P = param(params)?;
            let key = match (p.thread_id, p.message_id) {
                (Some(t), _) => t.to_string(),
                (None, Some(m)) => m,
                (None, None) => {
                    return Err(Error::InvalidInput("give message_id or thread_id".into()));
                }
            };
            let mut t = engine.thread(&key, now)?;
            t.messages.truncate(100);
            to_value(&t)
        }
        "awaiting" => {
            #[derive(Deserialize, Default)]
            struct P {
                who: Option<String>,
                days: Option<i64>,
                limit: Option<usize>,
            }
            let p: P = param(params)?;
            let mut q = AwaitingQuery::new(now);
            q.who = match p.who.as_deref() {
                None | Some("all") => None,
                Some(who) => Some(who.parse::<WaitingOn>()?),
            };
            if let Some(d) = p.days {
                q.their_grace_days = d.max(0);
            }
            q.limit = limit(p.limit, 50);
            to_value(&engine.awaiting(&q)?)
        }
        "neglected" => {
            #[derive(Deserialize, Default)]
            struct P {
                limit: Option<usize>,
            }
            let p: P = param(params)?;
            to_value(&engine.neglected(now, limit(p.limit, 50))?)
        }
        "search" => {
            #[derive(Deserialize)]
            struct P {
                query: String,
                limit: Option<usize>,
            }
            let p: P = param(params)?;
            to_value(&engine.search(&p.query, limit(p.limit, 20))?)
        }
        "identities" => to_value(&engine.identities()?),
        "add_identity" => {
            #[derive(Deserialize)]
            struct P {
                address: String,
            }
            let p: P = param(params)?;
            Ok(json!({"added": engine.add_identity(&p.address)?}))
        }
        "stats" => to_value(&engine.stats()?),
        other => Err(Error::NotFound {
            what: "method",
            name: other.to_string(),
        }),
    }
}

/// Handles one request (already parsed as JSON) and returns the reply object.
/// Longest request id echoed in a reply (a number, or a string of at most this many bytes):
/// echoing a huge id would push the reply over [`MAX_REPLY_BYTES`].
pub const MAX_ID_BYTES: usize = 256;

/// The id to echo: the request's own when it is null, a number or a short string.
pub fn echoed_id(request: &Value) -> std::result::Result<Value, Value> {
    match request.get("id") {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(n @ Value::Number(_)) => Ok(n.clone()),
        Some(Value::String(s)) if s.len() <= MAX_ID_BYTES => Ok(Value::String(s.clone())),
        Some(_) => Err(error_reply(
            &Value::Null,
            "InvalidRequest",
            &format!("the id must be a number or a string of at most {MAX_ID_BYTES} bytes"),
        )),
    }
}

pub fn handle_value(engine: &Engine, request: Value, ctx: &RpcContext) -> Value {
    let id = match echoed_id(&request) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let req: Request = match serde_json::from_value(request) {
        Ok(r) => r,
        Err(e) => {
            return error_reply(&id, "InvalidRequest", &format!("not a request object: {e}"));
        }
    };
    match dispatch(engine, &req.method, &req.params, ctx) {
        Ok(result) => json!({"id": id, "result": result}),
        Err(Error::NotFound {
            what: "method",
            name,
        }) => error_reply(&id, "UnknownMethod", &format!("no method '{name}'")),
        Err(e) => {
            tracing::debug!(method = %req.method, error = %e, "rpc error");
            error_reply(&id, e.code().as_str(), &e.to_string())
        }
    }
}

/// Handles one request given as bytes; always returns a serialised reply under
/// [`MAX_REPLY_BYTES`].
pub fn handle_bytes(engine: &Engine, request: &[u8], ctx: &RpcContext) -> Vec<u8> {
    let reply = match serde_json::from_slice::<Value>(request) {
        Ok(v) if v.is_object() => handle_value(engine, v, ctx),
        Ok(_) => error_reply(
            &Value::Null,
            "InvalidRequest",
            "a request must be a JSON object",
        ),
        Err(e) => error_reply(
            &Value::Null,
            "InvalidRequest",
            &format!("invalid JSON: {e}"),
        ),
    };
    let bytes = serde_json::to_vec(&reply).unwrap_or_default();
    if bytes.len() <= MAX_REPLY_BYTES {
        return bytes;
    }
    let id = reply.get("id").cloned().unwrap_or(Value::Null);
    serde_json::to_vec(&error_reply(
        &id,
        "TooLarge",
        "the reply would exceed 1 MiB; ask for fewer items (limit)",
    ))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RpcContext {
        RpcContext {
            client: crate::source::SourceKind::Thunderbird,
            now: Some(1_700_000_000),
        }
    }

    fn call(engine: &Engine, req: &str) -> Value {
        serde_json::from_slice(&handle_bytes(engine, req.as_bytes(), &ctx())).unwrap()
    }

    #[test]
    fn capture_then_have_then_card() {
        let engine = Engine::open_in_memory().unwrap();
        let raw = base64::engine::general_purpose::STANDARD.encode(
            "From: Ann <ann@example.org>\r\nTo: me@example.com\r\nSubject: hi\r\nMessage-ID: <m1@example.org>\r\nDate: Tue, 14 Nov 2023 10:00:00 +0000\r\n\r\nbody",
        );
        let r = call(
            &engine,
            &format!(
                r#"{{"id":1,"method":"capture","params":{{"raw":"{raw}","source":{{"account":"a","folder":"INBOX","id":"1"}}}}}}"#
            ),
        );
        assert_eq!(r["result"]["outcome"], "stored", "{r}");
        let r = call(
            &engine,
            r#"{"id":2,"method":"have","params":{"message_ids":["m1@example.org","<nope@x>"]}}"#,
        );
        assert_eq!(r["result"]["missing"], json!(["<nope@x>"]));
        let r = call(
            &engine,
            r#"{"id":3,"method":"card","params":{"address":"ANN@example.org"}}"#,
        );
        assert_eq!(r["result"]["explanation"]["messages_from"], 1, "{r}");
    }

    /// Before, the id was echoed whatever its size: a 2 MiB id made a reply over the 1 MiB
    /// every native-messaging reply must stay under.
    #[test]
    fn a_huge_id_is_refused_not_echoed() {
        let engine = Engine::open_in_memory().unwrap();
        for id in [
            format!("\"{}\"", "x".repeat(2 * 1024 * 1024)),
            format!("[{}]", vec!["1"; 600_000].join(",")),
        ] {
            let req = format!(r#"{{"id":{id},"method":"stats"}}"#);
            let reply = handle_bytes(&engine, req.as_bytes(), &ctx());
            assert!(reply.len() < 1024, "{} bytes", reply.len());
            let r: Value = serde_json::from_slice(&reply).unwrap();
            assert_eq!(r["error"]["code"], "InvalidRequest");
            assert_eq!(r["id"], Value::Null);
        }
        let short = call(&engine, r#"{"id":"abc","method":"stats"}"#);
        assert_eq!(short["id"], "abc");
    }

    #[test]
    fn garbage_gets_error_replies() {
        let engine = Engine::open_in_memory().unwrap();
        assert_eq!(call(&engine, "not json")["error"]["code"], "InvalidRequest");
        assert_eq!(call(&engine, "[1,2]")["error"]["code"], "InvalidRequest");
        assert_eq!(
            call(&engine, r#"{"id":5,"method":"nope"}"#)["error"]["code"],
            "UnknownMethod"
        );
        let r = call(
            &engine,
            r#"{"id":6,"method":"capture","params":{"raw":"***"}}"#,
        );
        assert_eq!(r["error"]["code"], "InvalidInput");
        assert_eq!(r["id"], 6);
    }
}
