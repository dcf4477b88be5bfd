//! `rapport`: know your relationships from your email.

use std::process::ExitCode;

use clap::Parser;

use rapport_cli::args::Cli;
use rapport_cli::{commands, context, fmt};

// Import hands millions of small strings from the reader thread to the writer; glibc's allocator
// spent a tenth of import time freeing them across threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_logging(verbose: u8) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match std::env::var("RAPPORT_LOG").ok().as_deref() {
        Some("trace") => LevelFilter::TRACE,
        Some("debug") => LevelFilter::DEBUG,
        Some("info") => LevelFilter::INFO,
        Some("error") => LevelFilter::ERROR,
        Some("off") => LevelFilter::OFF,
        _ => match verbose {
            0 => LevelFilter::WARN,
            1 => LevelFilter::INFO,
            2 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        },
    };
    let _ = tracing_subscriber::fmt()
        // Colour codes only for a person at a terminal who has not asked for none (NO_COLOR).
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// `rapport contacts | head` should end quietly, as other Unix tools do, not with a panic
/// message about the closed pipe. (SIGPIPE itself stays ignored, so that a mail server closing
/// its socket is an error Rapport reports, not a silent death.)
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let json = cli.json;
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(stopped) = e.downcast_ref::<rapport_cli::stop::Stopped>() {
                if json {
                    let _ = fmt::json(
                        &serde_json::json!({"error": {"code": "Stopped", "message": stopped.message}}),
                    );
                } else {
                    eprintln!("{stopped}");
                }
                return ExitCode::from(stopped.exit_code());
            }
            let (code, message) = match e.downcast_ref::<rapport_core::Error>() {
                Some(core) => (core.code().as_str().to_string(), core.to_string()),
                None => ("Error".to_string(), format!("{e:#}")),
            };
            if json {
                let _ =
                    fmt::json(&serde_json::json!({"error": {"code": code, "message": message}}));
            } else {
                eprintln!("error: {message}");
                if let Some(hint) = context::hint_for(&e) {
                    eprintln!("hint: {hint}");
                }
            }
            ExitCode::from(1)
        }
    }
}
