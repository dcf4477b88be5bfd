//! Importing files with a progress bar: used by `rapport import` and by the demo.

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use rapport_core::{Engine, ImportOptions, ImportProgress};

use crate::context::Ctx;
use crate::stop::StopSignals;

/// A progress bar on stderr when it is a terminal; hidden otherwise.
fn progress_bar(quiet: bool, len: u64, template: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

pub fn run_import(
    ctx: &Ctx,
    engine: &Engine,
    paths: &[PathBuf],
    options: &ImportOptions,
) -> anyhow::Result<rapport_core::ImportSummary> {
    let pb = progress_bar(
        ctx.quiet,
        0,
        "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {msg} (ETA {eta})",
    );
    let stop = StopSignals::listen();
    let mut last = ImportProgress::default();
    let mut on_progress = |p: &ImportProgress| {
        last = p.clone();
        pb.set_length(p.bytes_total.max(p.bytes_done).max(1));
        pb.set_position(p.bytes_done);
        let rate = {
            let secs = pb.elapsed().as_secs_f64();
            if secs > 0.0 {
                (p.messages as f64 / secs) as u64
            } else {
                0
            }
        };
        pb.set_message(format!(
            "{} messages, {} new, {} duplicates, {} skipped, {rate}/s",
            p.messages, p.stored, p.duplicates, p.skipped
        ));
    };
    let summary = engine.import(paths, options, &mut on_progress, stop.token());
    pb.finish_and_clear();
    if let Err(rapport_core::Error::Cancelled) = &summary
        && let Some(stopped) = stop.stopped(&format!(
            "{} messages read, {} new stored and settled ({} already stored, {} skipped). \
             Run the same command again to go on: nothing is stored twice.",
            last.messages, last.stored, last.duplicates, last.skipped
        ))
    {
        return Err(stopped.into());
    }
    Ok(summary?)
}
