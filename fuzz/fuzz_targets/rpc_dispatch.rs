//! The RPC dispatcher (shared by the native host, the bridge and the bindings) on any request
//! bytes: one JSON object reply within the reply limit, never a panic.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use rapport_core::rpc::{MAX_REPLY_BYTES, RpcContext, handle_bytes};
use rapport_core::{Engine, SourceKind};

thread_local! {
    /// One database for many inputs (opening one per input would be most of the work),
    /// renewed now and then so captures do not pile up.
    static ENGINE: RefCell<(u32, Option<Engine>)> = const { RefCell::new((0, None)) };
}

fuzz_target!(|data: &[u8]| {
    ENGINE.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.1.is_none() || cell.0 >= 5_000 {
            *cell = (0, Engine::open_in_memory().ok());
        }
        cell.0 += 1;
        let Some(engine) = &cell.1 else { return };
        let ctx = RpcContext {
            client: SourceKind::Thunderbird,
            now: Some(1_790_000_000),
        };
        let reply = handle_bytes(engine, data, &ctx);
        assert!(
            reply.len() <= MAX_REPLY_BYTES,
            "reply of {} bytes",
            reply.len()
        );
        let value: serde_json::Value = serde_json::from_slice(&reply).expect("replies are JSON");
        assert!(value.is_object());
    });
});
