//! Stopping long work cleanly on Ctrl-C (SIGINT) or SIGTERM: the first signal asks the work to
//! stop after its current batch (an import commits and settles what it read; a sync finishes its
//! window), and the command exits with a line saying so and the shell's code for the signal
//! (130 or 143). A second signal ends the process at once, which is safe too: every batch is
//! one transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use rapport_core::CancelToken;

/// The signals that ask long work to stop.
#[derive(Clone)]
pub struct StopSignals {
    cancel: CancelToken,
    /// The number of the first signal received, 0 before any.
    received: Arc<AtomicI32>,
}

/// What a stopped command returns: `main` prints the line and exits with the signal's code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Stopped {
    pub signal: i32,
    pub message: String,
}

impl Stopped {
    /// 128 + the signal number, as shells report a command a signal ended.
    pub fn exit_code(&self) -> u8 {
        (128 + self.signal).clamp(0, 255) as u8
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "Ctrl-C",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

impl StopSignals {
    /// Starts listening for SIGINT and SIGTERM on a thread of its own. When the handlers cannot
    /// be installed the default behaviour (ending the process) stays, which loses nothing either.
    pub fn listen() -> StopSignals {
        let stop = StopSignals {
            cancel: CancelToken::new(),
            received: Arc::new(AtomicI32::new(0)),
        };
        let listener = stop.clone();
        let started = std::thread::Builder::new()
            .name("rapport-signals".into())
            .spawn(move || listener.wait_for_signals());
        if let Err(e) = started {
            tracing::debug!(error = %e, "no signal thread: signals end the process");
        }
        stop
    }

    fn wait_for_signals(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::debug!(error = %e, "no signal runtime: signals end the process");
                return;
            }
        };
        runtime.block_on(async {
            let (Ok(mut interrupt), Ok(mut terminate)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            loop {
                let number = tokio::select! {
                    _ = interrupt.recv() => libc::SIGINT,
                    _ = terminate.recv() => libc::SIGTERM,
                };
                if self
                    .received
                    .compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    eprintln!("{}: stopping now.", signal_name(number));
                    std::process::exit(128 + number);
                }
                eprintln!(
                    "{}: stopping after the current batch (again to stop at once)…",
                    signal_name(number)
                );
                self.cancel.cancel();
            }
        });
    }

    /// The token long work checks between batches.
    pub fn token(&self) -> &CancelToken {
        &self.cancel
    }

    /// The signal that stopped the work, if one did.
    pub fn received(&self) -> Option<i32> {
        match self.received.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// The error a command returns once its work stopped for a signal: `what` says what was
    /// done and kept.
    pub fn stopped(&self, what: &str) -> Option<Stopped> {
        self.received().map(|signal| Stopped {
            signal,
            message: format!("stopped by {}: {what}", signal_name(signal)),
        })
    }
}
