//! `rapport native-host` and `rapport install thunderbird`: the Thunderbird extension's side of
//! Rapport.
//!
//! Thunderbird starts the host with argv `[<host manifest path>, <extension id>]` and speaks
//! native messaging on its stdin and stdout: each message is a 4-byte length in native byte order
//! followed by that many bytes of UTF-8 JSON. stdout carries frames only; logs go to stderr, which
//! Thunderbird shows in its error console. Requests and replies are the RPC protocol of
//! `rapport_core::rpc`; a capture is answered only after its transaction has committed.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, anyhow, bail};
use rapport_core::rpc::{self, MAX_REPLY_BYTES, RpcContext};
use rapport_core::{Engine, SourceKind};
use serde_json::{Value, json};

use crate::context::Ctx;

/// The extension's `browser_specific_settings.gecko.id`: the only caller the host serves.
pub const EXTENSION_ID: &str = "rapport@rapport.invalid";
/// The native-messaging host name (`runtime.connectNative("rapport")`); also the manifest's
/// file name without `.json`.
pub const HOST_NAME: &str = "rapport";
/// Largest request accepted. Thunderbird itself allows up to 4 GiB; a message this big is
/// 96 MiB of raw mail, and the extension sends only the header block of anything over 32 MiB.
pub const MAX_REQUEST_BYTES: usize = 128 * 1024 * 1024;
/// Source kind recorded for captures made through the extension.
const CLIENT: SourceKind = SourceKind::Thunderbird;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the RPC method table as JSON and exit
    #[arg(long)]
    pub schema: bool,

    /// Arguments Thunderbird passes: the host manifest path and the caller's extension id
    #[arg(hide = true)]
    pub caller: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// Remove the host manifest (and its launcher) instead; the database is kept
    #[arg(long)]
    pub uninstall: bool,

    /// Use this extension package instead of building or finding plugin-thunderbird/dist/rapport.xpi
    #[arg(long, value_name = "FILE")]
    pub xpi: Option<PathBuf>,
}

// ----- framing -----

/// Why reading a frame failed.
#[derive(Debug)]
pub enum FrameError {
    /// The stream ended inside a frame.
    Truncated {
        expected: usize,
        got: usize,
    },
    /// The length prefix announces more than the host accepts.
    TooLarge {
        length: u64,
        limit: usize,
    },
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Truncated { expected, got } => write!(
                f,
                "the input ended inside a frame ({got} of {expected} bytes)"
            ),
            FrameError::TooLarge { length, limit } => write!(
                f,
                "a request of {length} bytes exceeds the limit of {limit} bytes"
            ),
            FrameError::Io(e) => write!(f, "reading stdin failed: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads one frame. `Ok(None)` is a clean end of input (between frames).
pub fn read_frame(r: &mut impl Read, limit: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    let got = read_full(r, &mut len).map_err(FrameError::Io)?;
    if got == 0 {
        return Ok(None);
    }
    if got < len.len() {
        return Err(FrameError::Truncated { expected: 4, got });
    }
    let length = u32::from_ne_bytes(len);
    let expected = usize::try_from(length).map_err(|_| FrameError::TooLarge {
        length: u64::from(length),
        limit,
    })?;
    if expected > limit {
        return Err(FrameError::TooLarge {
            length: u64::from(length),
            limit,
        });
    }
    // Grow with the data actually received, never to a size the prefix merely claims.
    let mut body = Vec::with_capacity(expected.min(1 << 20));
    r.take(u64::from(length))
        .read_to_end(&mut body)
        .map_err(FrameError::Io)?;
    if body.len() < expected {
        return Err(FrameError::Truncated {
            expected,
            got: body.len(),
        });
    }
    Ok(Some(body))
}

/// Writes one frame and flushes it.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a frame must be under 4 GiB"))?;
    w.write_all(&len.to_ne_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

fn error_frame(id: &Value, code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "error": {"code": code, "message": message}}))
        .unwrap_or_default()
}

/// The request's id, if the frame is a JSON object with one.
fn request_id(frame: &[u8]) -> Value {
    serde_json::from_slice::<Value>(frame)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .unwrap_or(Value::Null)
}

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

    #[cfg(test)]
    fn with_engine(engine: Engine) -> Backend {
        Backend {
            db: engine.path().to_path_buf(),
            engine: Some(engine),
        }
    }

    fn engine(&mut self) -> Result<&Engine, rapport_core::Error> {
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

// ----- install -----

fn home() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("HOME is not set, so the per-user manifest directory is unknown"))
}

/// Where Thunderbird looks for per-user host manifests (Windows: anywhere, found through the
/// registry; Rapport keeps it in its data directory).
pub(crate) fn manifest_dir() -> anyhow::Result<PathBuf> {
    if cfg!(target_os = "windows") {
        Ok(crate::paths::data_dir().join("native-messaging"))
    } else if cfg!(target_os = "macos") {
        // Thunderbird's own path, not Firefox's (~/Library/Application Support/Mozilla/…).
        Ok(home()?.join("Library/Mozilla/NativeMessagingHosts"))
    } else {
        // Linux and other Unix: the same directory as Firefox; the XDG location is not read.
        Ok(home()?.join(".mozilla/native-messaging-hosts"))
    }
}

fn launcher_name() -> &'static str {
    if cfg!(windows) {
        "rapport-native-host.bat"
    } else {
        "rapport-native-host"
    }
}

/// `'…'` quoting for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The launcher Thunderbird runs: the manifest cannot carry arguments, so this script passes
/// the database path on to `rapport native-host`.
fn launcher_script(exe: &Path, db: &Path) -> anyhow::Result<String> {
    let exe = exe
        .to_str()
        .ok_or_else(|| anyhow!("the path of rapport ({}) is not UTF-8", exe.display()))?;
    let db = db
        .to_str()
        .ok_or_else(|| anyhow!("the database path ({}) is not UTF-8", db.display()))?;
    if cfg!(windows) {
        if exe.contains('"') || db.contains('"') || exe.contains('%') || db.contains('%') {
            bail!("paths containing '\"' or '%' cannot be used in the launcher: {exe}, {db}");
        }
        Ok(format!(
            "@echo off\r\nrem Generated by `rapport install thunderbird`; Thunderbird runs it for the Rapport extension.\r\n\"{exe}\" --db \"{db}\" native-host %*\r\n"
        ))
    } else {
        Ok(format!(
            "#!/bin/sh\n# Generated by `rapport install thunderbird`; Thunderbird runs it for the Rapport extension\n# with the manifest path and the extension id as arguments.\nexec {} --db {} native-host \"$@\"\n",
            sh_quote(exe),
            sh_quote(db)
        ))
    }
}

fn host_manifest(launcher: &Path) -> Value {
    json!({
        "name": HOST_NAME,
        "description": "Rapport: stores the mail the Thunderbird extension captures in the local Rapport database",
        "path": launcher.display().to_string(),
        "type": "stdio",
        "allowed_extensions": [EXTENSION_ID],
    })
}

/// Writes `data` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, data: &[u8], executable: bool) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting permissions of {}", tmp.display()))?;
    }
    #[cfg(not(unix))]
    let _ = executable;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// Windows: points `HKCU\Software\Mozilla\NativeMessagingHosts\rapport` at the manifest (or
/// deletes the key). Compiled everywhere so that it is type-checked; it runs only on Windows.
fn registry(add: Option<&Path>) -> anyhow::Result<()> {
    if !cfg!(windows) {
        return Ok(());
    }
    let key = format!(r"HKCU\Software\Mozilla\NativeMessagingHosts\{HOST_NAME}");
    let mut cmd = std::process::Command::new("reg");
    match add {
        Some(manifest) => cmd
            .args(["add", key.as_str(), "/ve", "/t", "REG_SZ", "/d"])
            .arg(manifest)
            .arg("/f"),
        None => cmd.args(["delete", key.as_str(), "/f"]),
    };
    let out = cmd
        .output()
        .with_context(|| format!("running reg.exe for {key}"))?;
    // Deleting a key that is not there fails; that is fine for --uninstall.
    if !out.status.success() && add.is_some() {
        bail!(
            "reg.exe could not write {key}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir()
        .context("reading the current directory")?
        .join(p))
}

fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if let Ok(m) = meta.modified() {
                newest = Some(newest.map_or(m, |n: SystemTime| n.max(m)));
            }
        }
    }
    newest
}

/// Source checkouts that may hold the extension: $RAPPORT_ROOT, the current directory and the
/// executable's directory, with their parents.
fn plugin_dirs(exe: &Path) -> Vec<PathBuf> {
    let mut starts = Vec::new();
    if let Some(root) = std::env::var_os("RAPPORT_ROOT") {
        starts.push(PathBuf::from(root));
    }
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    if let Some(dir) = exe.parent() {
        starts.push(dir.to_path_buf());
    }
    let mut found = Vec::new();
    for start in starts {
        for dir in start.ancestors() {
            let plugin = dir.join("plugin-thunderbird");
            if plugin.join("src/manifest.json").is_file() && !found.contains(&plugin) {
                found.push(plugin);
            }
        }
    }
    found
}

/// How the extension package was found.
struct Xpi {
    path: PathBuf,
    note: String,
}

/// Finds the extension package, building it from a source checkout when it is missing or older
/// than its sources (needs `node`).
fn locate_xpi(exe: &Path, given: Option<&Path>) -> anyhow::Result<Option<Xpi>> {
    if let Some(p) = given {
        if !p.is_file() {
            bail!("--xpi {}: no such file", p.display());
        }
        return Ok(Some(Xpi {
            path: absolute(p)?,
            note: "given with --xpi".into(),
        }));
    }
    if let Some(dir) = exe.parent() {
        for p in [
            dir.join("rapport.xpi"),
            dir.join("../share/rapport/rapport.xpi"),
        ] {
            if p.is_file() {
                return Ok(Some(Xpi {
                    path: p,
                    note: "installed next to rapport".into(),
                }));
            }
        }
    }
    for plugin in plugin_dirs(exe) {
        let xpi = plugin.join("dist/rapport.xpi");
        let built = std::fs::metadata(&xpi).and_then(|m| m.modified()).ok();
        let fresh = match (built, newest_mtime(&plugin.join("src"))) {
            (Some(b), Some(src)) => b >= src,
            (Some(_), None) => true,
            _ => false,
        };
        if fresh {
            return Ok(Some(Xpi {
                path: xpi,
                note: "built from this checkout".into(),
            }));
        }
        let status = std::process::Command::new("node")
            .arg("scripts/build.mjs")
            .current_dir(&plugin)
            .stdout(std::process::Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() && xpi.is_file() => {
                return Ok(Some(Xpi {
                    path: xpi,
                    note: "built now from this checkout".into(),
                }));
            }
            Ok(_) | Err(_) if xpi.is_file() => {
                return Ok(Some(Xpi {
                    path: xpi,
                    note: "older than its sources: building it needs Node (`npm run build` in plugin-thunderbird)"
                        .into(),
                }));
            }
            Ok(_) | Err(_) => {}
        }
    }
    Ok(None)
}

pub fn install(ctx: &Ctx, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let dir = manifest_dir()?;
    let manifest = dir.join(format!("{HOST_NAME}.json"));
    let launcher = dir.join(launcher_name());
    if args.uninstall {
        let mut removed = Vec::new();
        for p in [&manifest, &launcher] {
            match std::fs::remove_file(p) {
                Ok(()) => removed.push(p.display().to_string()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", p.display())),
            }
        }
        registry(None)?;
        if ctx.json {
            crate::fmt::json(&json!({"removed": removed}))?;
        } else if removed.is_empty() {
            println!(
                "Nothing to remove: no Rapport host manifest in {}.",
                dir.display()
            );
        } else {
            println!("Removed the Rapport native-messaging host:");
            for r in &removed {
                println!("  {r}");
            }
            println!(
                "Your database is kept. Remove the extension in Thunderbird: Add-ons and Themes → Rapport → Remove."
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .context("finding the path of the running rapport executable")?;
    let db = absolute(&ctx.db)?;
    // Create (or check) the database now, so that a bad path shows here and not in Thunderbird.
    Engine::open(&db).with_context(|| format!("opening the database {}", db.display()))?;

    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomic(&launcher, launcher_script(&exe, &db)?.as_bytes(), true)?;
    let body = serde_json::to_vec_pretty(&host_manifest(&launcher))?;
    write_atomic(&manifest, &body, false)?;
    registry(Some(&manifest))?;

    let xpi = locate_xpi(&exe, args.xpi.as_deref())?;
    if ctx.json {
        crate::fmt::json(&json!({
            "manifest": manifest.display().to_string(),
            "launcher": launcher.display().to_string(),
            "rapport": exe.display().to_string(),
            "database": db.display().to_string(),
            "extension_id": EXTENSION_ID,
            "xpi": xpi.as_ref().map(|x| x.path.display().to_string()),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("Registered the Rapport native-messaging host for Thunderbird:");
    println!("  manifest  {}", manifest.display());
    println!("  launcher  {}", launcher.display());
    println!("  rapport   {}", exe.display());
    println!("  database  {}", db.display());
    if cfg!(windows) {
        println!(r"  registry  HKCU\Software\Mozilla\NativeMessagingHosts\{HOST_NAME}");
    }
    println!();
    match &xpi {
        Some(x) => println!("Extension package: {} ({})", x.path.display(), x.note),
        None => println!(
            "Extension package: not found. Build it in a checkout with `npm run build` in plugin-thunderbird \
             (writes plugin-thunderbird/dist/rapport.xpi), or pass --xpi FILE."
        ),
    }
    println!();
    println!("Next steps:");
    println!("  1. In Thunderbird open the menu ≡ → Add-ons and Themes.");
    println!(
        "  2. Click the gear icon → Install Add-on From File…, choose the package above, and accept."
    );
    println!(
        "  3. Open Rapport's options (Add-ons and Themes → Rapport → Options): the host should show as"
    );
    println!("     connected, and the scan of your existing mail starts by itself.");
    println!(
        "Run `rapport install thunderbird` again after moving rapport or the database; `--uninstall` removes the host."
    );
    println!(
        "A Flatpak or Snap Thunderbird cannot start programs outside its sandbox: use Thunderbird from your\n\
         distribution's packages or from thunderbird.net."
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use std::io::Cursor;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_frame(&mut out, payload).expect("write to a Vec");
        out
    }

    fn replies(mut out: &[u8]) -> Vec<Value> {
        let mut all = Vec::new();
        while let Some(f) = read_frame(&mut out, MAX_REPLY_BYTES).expect("well-formed reply frames")
        {
            all.push(serde_json::from_slice(&f).expect("replies are JSON"));
        }
        all
    }

    fn ctx() -> RpcContext {
        RpcContext {
            client: CLIENT,
            now: Some(1_790_000_000),
        }
    }

    fn session(input: Vec<u8>) -> (End, Vec<Value>, Backend) {
        let mut backend = Backend::with_engine(Engine::open_in_memory().expect("in-memory engine"));
        let mut out = Vec::new();
        let end = serve(&mut backend, &mut Cursor::new(input), &mut out, &ctx()).expect("serve");
        (end, replies(&out), backend)
    }

    fn capture_request(id: u64, raw: &str, folder: &str) -> Vec<u8> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        serde_json::to_vec(&json!({"id": id, "method": "capture", "params": {
            "raw": b64, "source": {"account": "account1", "folder": folder, "id": "x"},
            "sent": folder == "/Sent"}}))
        .expect("json")
    }

    const TB_COPY: &str = "X-Account-Key: account1\nX-UIDL: 000000010000abcd\nX-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys:                                                                                 \nFrom: Bob <bob@example.test>\nTo: Alice <alice@example.test>\nSubject: Kickoff\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <kickoff-1@example.test>\n\nHi Alice\n";
    const SERVER_COPY: &str = "From: Bob <bob@example.test>\r\nTo: Alice <alice@example.test>\r\nSubject: Kickoff\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <kickoff-1@example.test>\r\n\r\nHi Alice\r\n";

    #[test]
    fn frames_round_trip_in_native_byte_order() {
        let f = frame(b"{}");
        assert_eq!(f.get(..4), Some(&2u32.to_ne_bytes()[..]));
        let mut r = Cursor::new(f);
        assert_eq!(read_frame(&mut r, 10).expect("frame"), Some(b"{}".to_vec()));
        assert_eq!(read_frame(&mut r, 10).expect("eof"), None);
    }

    #[test]
    fn requests_get_replies_in_order_and_end_cleanly() {
        let mut input = frame(br#"{"id":1,"method":"hello"}"#);
        input.extend(frame(br#"{"id":2,"method":"stats"}"#));
        let (end, r, _) = session(input);
        assert_eq!(end, End::Closed);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0]["id"], 1);
        assert_eq!(r[0]["result"]["protocol"], rpc::PROTOCOL_VERSION);
        assert_eq!(r[1]["result"]["messages"], 0);
    }

    #[test]
    fn garbage_frames_get_error_replies_and_the_session_goes_on() {
        let mut input = frame(b"not json at all");
        input.extend(frame(&[0xff, 0xfe, 0x00]));
        input.extend(frame(b""));
        input.extend(frame(b"[1,2,3]"));
        input.extend(frame(
            br#"{"id":9,"method":"capture","params":{"raw":"!!!"}}"#,
        ));
        input.extend(frame(br#"{"id":10,"method":"hello"}"#));
        let (end, r, _) = session(input);
        assert_eq!(end, End::Closed);
        assert_eq!(r.len(), 6);
        for reply in r.iter().take(4) {
            assert_eq!(reply["error"]["code"], "InvalidRequest", "{reply}");
        }
        assert_eq!(r[4]["id"], 9);
        assert_eq!(r[4]["error"]["code"], "InvalidInput");
        assert_eq!(r[5]["result"]["protocol"], rpc::PROTOCOL_VERSION);
    }

    #[test]
    fn truncated_length_prefix_ends_the_session() {
        let mut input = frame(br#"{"id":1,"method":"hello"}"#);
        input.extend([7, 0]);
        let (end, r, _) = session(input);
        assert!(
            matches!(end, End::Broken(ref why) if why.contains("2 of 4")),
            "{end:?}"
        );
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn truncated_capture_writes_nothing() -> anyhow::Result<()> {
        let whole = frame(&capture_request(1, SERVER_COPY, "INBOX"));
        let cut = whole.get(..whole.len() - 20).unwrap_or_default().to_vec();
        let (end, r, mut backend) = session(cut);
        assert!(matches!(end, End::Broken(ref why) if why.contains("inside a frame")));
        assert!(r.is_empty(), "no reply to half a request");
        assert_eq!(backend.engine()?.stats()?.messages, 0);
        Ok(())
    }

    #[test]
    fn oversized_length_gets_an_error_reply_without_reading_or_allocating() {
        let mut input = u32::MAX.to_ne_bytes().to_vec();
        input.extend(b"whatever follows is not read");
        let (end, r, _) = session(input);
        assert!(matches!(end, End::Broken(ref why) if why.contains("exceeds the limit")));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["error"]["code"], "TooLarge");
        assert_eq!(r[0]["id"], Value::Null);
    }

    #[test]
    fn a_length_just_over_the_limit_is_refused() {
        let mut r = Cursor::new(11u32.to_ne_bytes().to_vec());
        assert!(matches!(
            read_frame(&mut r, 10),
            Err(FrameError::TooLarge { length: 11, .. })
        ));
    }

    #[test]
    fn replies_stay_under_one_mebibyte() -> anyhow::Result<()> {
        // Many distinct contacts with long names, then ask for as many as the protocol allows.
        let engine = Engine::open_in_memory()?;
        engine.add_identity("alice@example.test")?;
        let src = |i: usize| rapport_core::model::SourceRef {
            kind: SourceKind::File,
            external_id: i.to_string(),
            ..Default::default()
        };
        let long = "N".repeat(3000);
        for i in 0..500 {
            let raw = format!(
                "From: alice@example.test\r\nTo: \"{long} {i}\" <p{i}@example.test>\r\nSubject: s\r\nMessage-ID: <m{i}@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\nx\r\n"
            );
            engine.capture(raw.as_bytes(), &src(i))?;
        }
        let mut backend = Backend::with_engine(engine);
        let mut out = Vec::new();
        let req = frame(br#"{"id":1,"method":"contacts","params":{"limit":500}}"#);
        serve(&mut backend, &mut Cursor::new(req), &mut out, &ctx())?;
        assert!(out.len() <= MAX_REPLY_BYTES + 4, "{} bytes", out.len());
        let r = replies(&out);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0]["id"], 1);
        assert_eq!(r[0]["error"]["code"], "TooLarge", "the reply was cut short");
        Ok(())
    }

    #[test]
    fn the_thunderbird_copy_and_the_server_copy_are_one_message() -> anyhow::Result<()> {
        let (_, r, mut backend) = session(frame(&capture_request(1, TB_COPY, "/Inbox")));
        assert_eq!(r[0]["result"]["outcome"], "stored", "{}", r[0]);
        let engine = backend.engine()?;
        let imap = rapport_core::model::SourceRef {
            kind: SourceKind::Imap,
            account: "alice@127.0.0.1".into(),
            folder: "INBOX".into(),
            external_id: "1".into(),
        };
        let again = engine.capture(SERVER_COPY.as_bytes(), &imap)?;
        assert_eq!(again.outcome, rapport_core::model::IngestOutcome::Duplicate);
        let stats = engine.stats()?;
        assert_eq!(stats.messages, 1);
        assert_eq!(stats.sources, 2);
        let have = engine.have(&["kickoff-1@example.test".to_string()])?;
        assert_eq!(have, vec![true]);
        Ok(())
    }

    #[test]
    fn identities_from_thunderbird_make_sent_mail_outbound() -> anyhow::Result<()> {
        let reply = "From: Alice <alice@example.test>\nTo: Bob <bob@example.test>\nSubject: Re: Kickoff\nDate: Tue, 24 Nov 2026 11:00:00 +0000\nMessage-ID: <reply-1@example.test>\nIn-Reply-To: <kickoff-1@example.test>\nReferences: <kickoff-1@example.test>\n\nSee you\n";
        let mut input =
            frame(br#"{"id":1,"method":"add_identity","params":{"address":"Alice@Example.test"}}"#);
        input.extend(frame(&capture_request(2, TB_COPY, "/Inbox")));
        input.extend(frame(&capture_request(3, reply, "/Sent")));
        input.extend(frame(
            br#"{"id":4,"method":"add_identity","params":{"address":"alice@example.test"}}"#,
        ));
        let (end, r, mut backend) = session(input);
        assert_eq!(end, End::Closed);
        assert_eq!(r[0]["result"]["added"], true, "{}", r[0]);
        assert_eq!(r[3]["result"]["added"], false, "{}", r[3]);
        let stats = backend.engine()?.stats()?;
        assert_eq!(stats.messages, 2);
        assert_eq!(stats.threads, 1);
        assert_eq!(stats.by_direction.get("outbound"), Some(&1));
        assert_eq!(stats.by_direction.get("inbound"), Some(&1));
        let bob = backend
            .engine()?
            .contact("bob@example.test", 1_790_000_000)?;
        assert_eq!(
            (bob.summary.inbound_count, bob.summary.outbound_count),
            (1, 1)
        );
        Ok(())
    }

    #[test]
    fn a_database_that_cannot_be_opened_gets_error_replies() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x")?;
        let mut backend = Backend::new(blocker.join("sub/rapport.db"));
        let mut out = Vec::new();
        let end = serve(
            &mut backend,
            &mut Cursor::new(frame(br#"{"id":4,"method":"stats"}"#)),
            &mut out,
            &ctx(),
        )?;
        assert_eq!(end, End::Closed);
        let r = replies(&out);
        assert_eq!(r[0]["id"], 4);
        assert!(
            r[0]["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("cannot open the database"),
            "{}",
            r[0]
        );
        Ok(())
    }

    #[test]
    fn only_the_rapport_extension_may_call() {
        let manifest = "/home/u/.mozilla/native-messaging-hosts/rapport.json".to_string();
        assert!(check_caller(&[manifest.clone(), EXTENSION_ID.into()]).is_ok());
        let wrong = check_caller(&[manifest.clone(), "evil@example.com".into()]);
        assert!(wrong.is_err_and(|e| e.contains("evil@example.com")));
        assert!(check_caller(&[manifest]).is_err());
        assert!(check_caller(&[]).is_err());
    }

    #[test]
    fn launcher_quotes_paths_for_sh() -> anyhow::Result<()> {
        if cfg!(windows) {
            return Ok(());
        }
        let s = launcher_script(
            Path::new("/opt/my app/rapport"),
            Path::new("/home/o'neil/r.db"),
        )?;
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(
            s.contains(
                r#"exec '/opt/my app/rapport' --db '/home/o'\''neil/r.db' native-host "$@""#
            ),
            "{s}"
        );
        Ok(())
    }

    #[test]
    fn host_manifest_has_the_firefox_shape() {
        let m = host_manifest(Path::new("/x/rapport-native-host"));
        assert_eq!(m["name"], HOST_NAME);
        assert_eq!(m["type"], "stdio");
        assert_eq!(m["allowed_extensions"], json!([EXTENSION_ID]));
        assert_eq!(m["path"], "/x/rapport-native-host");
    }
}
