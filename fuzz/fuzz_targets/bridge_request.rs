//! The Outlook bridge's request handling on any bytes sent down one connection (after TLS):
//! HTTP/1.1 parsing, the Host/Origin checks, the token, pairing, body limits and the RPC behind
//! them. Every answer is HTTP; nothing panics. Inputs that carry the fuzz token and the fixed
//! pairing code reach the API and pairing paths (the seeds do).
#![no_main]

#[path = "http_driver.rs"]
mod http_driver;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use rapport_cli::bridge::files::BridgeFiles;
use rapport_cli::bridge::http::{State, serve_http};
use rapport_core::Engine;

/// The token the seeds carry.
const TOKEN: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const PORT: u16 = 48123;

struct Bridge {
    runtime: tokio::runtime::Runtime,
    state: Arc<State>,
    dir: PathBuf,
}

fn bridge() -> &'static Bridge {
    static BRIDGE: OnceLock<Bridge> = OnceLock::new();
    BRIDGE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rapport-fuzz-bridge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz bridge directory");
        let files = BridgeFiles::new(dir.clone());
        std::fs::write(files.token(), TOKEN).expect("token file");
        let state = Arc::new(State {
            engine: Arc::new(Engine::open_in_memory().expect("in-memory database")),
            files,
            pair_failures: std::sync::Mutex::new((String::new(), 0)),
            port: PORT,
            origin: format!("https://localhost:{PORT}"),
            now: Some(1_790_000_000),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Bridge {
            runtime,
            state,
            dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let bridge = bridge();
    // A fresh pairing code for every input: a successful pairing uses it up.
    let _ = std::fs::write(
        bridge.dir.join("pairing.json"),
        br#"{"code":"ABCDEFGH","expires":4102444800}"#,
    );
    let state = bridge.state.clone();
    let answer = http_driver::exchange(&bridge.runtime, data, move |server| {
        serve_http(server, state)
    });
    http_driver::assert_http(&answer);
});
