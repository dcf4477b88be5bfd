//! The host loop: one reply per request, in order, until the input ends or breaks the protocol.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use rapport_core::Engine;
use rapport_core::rpc::{self, MAX_REPLY_BYTES, RpcContext};
use serde_json::{Value, json};

use crate::context::Ctx;

use super::frames::{FrameError, error_frame, read_frame, request_id, write_frame};
use super::{Args, CLIENT, EXTENSION_ID, HOST_NAME, MAX_REQUEST_BYTES};

/// Where requests go: the engine, or the reason it could not be opened (retried per request,
/// so that a database that was locked or missing at start-up is picked up once it is there).
pub struct Backend {
    db: PathBuf,
    engine: Option<Engine>,
}

impl Backend {
    pub fn new(db: PathBuf) -> Backend {
        Backend { db, engine: None }
    }

    /// A backend on an engine already open (tests and the fuzz target).
    pub fn with_engine(engine: Engine) -> Backend {
        Backend {
            db: engine.path().to_path_buf(),
            engine: Some(engine),
        }
    }

    pub(super) fn engine(&mut self) -> Result<&Engine, rapport_core::Error> {
        if self.engine.is_none() {
            self.engine = Some(Engine::open(&self.db)?);
        }
        self.engine
            .as_ref()
            .ok_or_else(|| rapport_core::Error::Internal("no engine".into()))
    }

    fn handle(&mut self, frame: &[u8], ctx: &RpcContext) -> Vec<u8> {
        let reply = match self.engine() {
            Ok(engine) => rpc::handle_bytes(engine, frame, ctx),
            Err(e) => {
                tracing::error!("Cannot open the database {}: {e:#}.", self.db.display());
                error_frame(
                    &request_id(frame),
                    e.code().as_str(),
                    &format!("cannot open the database {}: {e}", self.db.display()),
                )
            }
        };
        if reply.len() <= MAX_REPLY_BYTES {
            return reply;
        }
        // The core caps its replies; this guard keeps a bug from killing the port.
        error_frame(
            &request_id(frame),
            "TooLarge",
            "the reply would exceed 1 MiB; ask for fewer items",
        )
    }
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// Thunderbird closed the port (end of input between frames).
    Closed,
    /// The input broke the protocol; the host stops (after an error reply when one can be sent).
    Broken(String),
}

/// Serves requests from `input` until it ends or breaks the protocol. One reply per request, in
/// order; every reply is written (and flushed) before the next request is read.
pub fn serve(
    backend: &mut Backend,
    input: &mut impl Read,
    output: &mut impl Write,
    ctx: &RpcContext,
) -> io::Result<End> {
    loop {
        match read_frame(input, MAX_REQUEST_BYTES) {
            Ok(None) => return Ok(End::Closed),
            Ok(Some(frame)) => {
                let reply = backend.handle(&frame, ctx);
                write_frame(output, &reply)?;
            }
            Err(e @ FrameError::TooLarge { .. }) => {
                // The rest of the stream cannot be trusted to be in step: answer, then stop.
                write_frame(
                    output,
                    &error_frame(&Value::Null, "TooLarge", &e.to_string()),
                )?;
                return Ok(End::Broken(e.to_string()));
            }
            Err(FrameError::Io(e)) => return Err(e),
            Err(e @ FrameError::Truncated { .. }) => return Ok(End::Broken(e.to_string())),
        }
    }
}

/// Checks the caller: Thunderbird passes the extension id as the last argument.
pub fn check_caller(caller: &[String]) -> Result<(), String> {
    match caller.last() {
        Some(id) if id == EXTENSION_ID => Ok(()),
        Some(id) => Err(format!(
            "refusing caller '{id}': this host serves only the Rapport extension ({EXTENSION_ID})"
        )),
        None => Err(format!(
            "no caller given: Thunderbird starts this host with the manifest path and the extension id \
             ({EXTENSION_ID}); run `rapport install thunderbird` to register it"
        )),
    }
}

pub fn run(ctx: &Ctx, args: Args) -> anyhow::Result<ExitCode> {
    if args.schema {
        let methods: Vec<Value> = rpc::METHODS
            .iter()
            .map(|(name, doc)| json!({"method": name, "description": doc}))
            .collect();
        let schema = json!({
            "protocol": rpc::PROTOCOL_VERSION,
            "host": HOST_NAME,
            "extension_id": EXTENSION_ID,
            "max_reply_bytes": MAX_REPLY_BYTES,
            "max_request_bytes": MAX_REQUEST_BYTES,
            "methods": methods,
        });
        println!("{}", serde_json::to_string_pretty(&schema)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(why) = check_caller(&args.caller) {
        tracing::error!("{why}.");
        return Ok(ExitCode::from(2));
    }
    tracing::info!(
        "Native host started for {EXTENSION_ID} (database {}).",
        ctx.db.display()
    );
    let rpc_ctx = RpcContext {
        client: CLIENT,
        now: None,
    };
    let mut backend = Backend::new(ctx.db.clone());
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut input = stdin.lock();
    let mut output = stdout.lock();
    match serve(&mut backend, &mut input, &mut output, &rpc_ctx) {
        Ok(End::Closed) => {
            tracing::info!("Thunderbird closed the port; native host exiting.");
            Ok(ExitCode::SUCCESS)
        }
        Ok(End::Broken(why)) => {
            tracing::error!("Native host stopping: {why}.");
            Ok(ExitCode::from(1))
        }
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => {
            tracing::error!("Native host stopping: {e:#}.");
            Ok(ExitCode::from(1))
        }
    }
}
