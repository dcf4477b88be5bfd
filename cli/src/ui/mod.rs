//! `rapport ui`: the dashboard, served on 127.0.0.1 to the browser of the person who ran it.
//!
//! Access works the way Jupyter's does: the printed URL carries a one-time login token; the
//! first request with it gets a session cookie (`HttpOnly`, `SameSite=Strict`) and the token is
//! spent. Every request must name this server by a loopback `Host` (DNS rebinding names the
//! attacker's host), may carry no foreign `Origin`, and changes additionally need the session's
//! CSRF token in a header, which only a page of this origin can read. The pages, scripts and
//! styles are compiled into the binary (see `cli/build.rs`); nothing is fetched from elsewhere.

mod api;
mod files;
pub mod http;

use std::process::ExitCode;
use std::sync::Arc;

use crate::context::Ctx;

/// The port `rapport ui` tries first.
pub const DEFAULT_PORT: u16 = 7878;

#[derive(clap::Args, Debug)]
pub struct UiArgs {
    /// Listen on this port (127.0.0.1 only); 0 picks any free one
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Print the login link but do not open a browser
    #[arg(long)]
    pub no_open: bool,
}

/// Opens `url` in the desktop's browser, quietly; the printed link is the fallback.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "could not start the browser");
        eprintln!("(could not start a browser: open the link above yourself)");
    }
}

pub fn serve(ctx: &Ctx, args: UiArgs) -> anyhow::Result<ExitCode> {
    // Open (and create or upgrade) the database before listening, so a bad path fails here.
    let engine = Arc::new(ctx.engine()?);
    let runtime = crate::bridge::http::local_runtime()?;
    runtime.block_on(async move {
        let (listener, port) = crate::bridge::http::bind_loopback(
            args.port,
            "is another `rapport ui` running? choose another with --port, or --port 0 for any free one",
        )
        .await?;
        let login = crate::bridge::files::new_token()?;
        let url = format!("http://127.0.0.1:{port}/?token={login}");
        if ctx.json {
            println!("{}", serde_json::json!({ "url": url, "port": port }));
        } else {
            println!("Rapport dashboard: {url}");
            if !ctx.quiet {
                eprintln!(
                    "(listening on 127.0.0.1:{port} only; the link works once, in one browser; Ctrl-C stops the server)"
                );
            }
        }
        if !args.no_open {
            open_browser(&url);
        }
        let state = Arc::new(http::State::new(
            engine,
            ctx.clone(),
            port,
            login,
            // A server runs for days: "now" is the clock unless a fixed one is asked for.
            ctx.now_fixed.then_some(ctx.now),
        ));
        tokio::select! {
            r = http::run(listener, state) => r,
            _ = tokio::signal::ctrl_c() => {
                if !ctx.quiet {
                    eprintln!("Dashboard stopped.");
                }
                Ok(())
            }
        }
    })?;
    Ok(ExitCode::SUCCESS)
}
