//! The Thunderbird native host's session on any input stream: length-prefixed frames, each a
//! request. Every reply is a well-formed frame of at most 1 MiB; the session ends cleanly or as
//! "broken", never with a panic.
#![no_main]

#[path = "shared.rs"]
mod shared;

use std::cell::RefCell;
use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rapport_cli::native_host::frames::read_frame;
use rapport_cli::native_host::host::{Backend, serve};
use rapport_core::Engine;
use rapport_core::rpc::MAX_REPLY_BYTES;
use shared::{Renewed, context};

thread_local! {
    static BACKEND: RefCell<Renewed<Backend>> = const { RefCell::new(Renewed::new()) };
}

fuzz_target!(|data: &[u8]| {
    BACKEND.with(|cell| {
        let mut cell = cell.borrow_mut();
        let Some(backend) = cell.get(|| Engine::open_in_memory().ok().map(Backend::with_engine))
        else {
            return;
        };
        let mut out = Vec::new();
        serve(backend, &mut Cursor::new(data), &mut out, &context()).expect("writing to memory");
        let mut replies = out.as_slice();
        while let Some(frame) = read_frame(&mut replies, MAX_REPLY_BYTES).expect("reply frames") {
            let value: serde_json::Value = serde_json::from_slice(&frame).expect("JSON replies");
            assert!(value.is_object());
        }
    });
});
