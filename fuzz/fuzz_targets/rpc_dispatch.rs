//! The RPC dispatcher (shared by the native host, the bridge and the bindings) on any request
//! bytes: one JSON object reply within the reply limit, never a panic.
#![no_main]

#[path = "shared.rs"]
mod shared;

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use rapport_core::Engine;
use rapport_core::rpc::{MAX_REPLY_BYTES, handle_bytes};
use shared::{Renewed, context};

thread_local! {
    static ENGINE: RefCell<Renewed<Engine>> = const { RefCell::new(Renewed::new()) };
}

fuzz_target!(|data: &[u8]| {
    ENGINE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let Some(engine) = cell.get(|| Engine::open_in_memory().ok()) else {
            return;
        };
        let reply = handle_bytes(engine, data, &context());
        assert!(
            reply.len() <= MAX_REPLY_BYTES,
            "reply of {} bytes",
            reply.len()
        );
        let value: serde_json::Value = serde_json::from_slice(&reply).expect("replies are JSON");
        assert!(value.is_object());
    });
});
