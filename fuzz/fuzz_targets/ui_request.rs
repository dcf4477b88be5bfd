//! The dashboard's request handling (`rapport ui`) on any bytes sent down one connection:
//! HTTP/1.1 parsing, the Host/Origin/Sec-Fetch-Site checks, the login token and session cookie,
//! the CSRF check, body limits, the query parameters parsed as CLI flags, and the API behind
//! them. Every answer is HTTP; nothing panics. Inputs that carry the fuzz session's cookie and
//! CSRF token reach the API (the seeds do).
#![no_main]

#[path = "http_driver.rs"]
mod http_driver;

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rapport_cli::context::Ctx;
use rapport_cli::ui::http::{State, serve_io};
use rapport_core::Engine;

const PORT: u16 = 48124;
const LOGIN: &str = "11112222333344445555666677778888aaaabbbbccccddddeeeeffff00001111";
const SESSION: &str = "5e5510115e5510115e5510115e5510115e5510115e5510115e5510115e551011";
const CSRF: &str = "c5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rfc5rf";

struct Ui {
    runtime: tokio::runtime::Runtime,
    engine: Arc<Engine>,
    ctx: Ctx,
}

fn ui() -> &'static Ui {
    static UI: OnceLock<Ui> = OnceLock::new();
    UI.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rapport-fuzz-ui-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz ui directory");
        let ctx = Ctx {
            db: dir.join("absent.db"),
            config: dir.join("accounts.toml"),
            json: true,
            quiet: true,
            now: 1_790_000_000,
            now_fixed: true,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Ui {
            runtime,
            engine: Arc::new(Engine::open_in_memory().expect("in-memory database")),
            ctx,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let ui = ui();
    // A fresh state for every input: the login token is one-time.
    let state = State::new(
        ui.engine.clone(),
        ui.ctx.clone(),
        PORT,
        LOGIN.to_string(),
        Some(1_790_000_000),
    );
    let state = Arc::new(state.with_session(SESSION, CSRF));
    let answer = http_driver::exchange(&ui.runtime, data, move |server| serve_io(server, state));
    http_driver::assert_http(&answer);
});
