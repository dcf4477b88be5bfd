//! The Thunderbird native host's session on any input stream: length-prefixed frames, each a
//! request. Every reply is a well-formed frame of at most 1 MiB; the session ends cleanly or as
//! "broken", never with a panic.
#![no_main]

use std::cell::RefCell;
use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use rapport_cli::native_host::frames::read_frame;
use rapport_cli::native_host::host::{Backend, serve};
use rapport_core::rpc::{MAX_REPLY_BYTES, RpcContext};
use rapport_core::{Engine, SourceKind};

thread_local! {
    static BACKEND: RefCell<(u32, Option<Backend>)> = const { RefCell::new((0, None)) };
}

fuzz_target!(|data: &[u8]| {
    BACKEND.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.1.is_none() || cell.0 >= 5_000 {
            *cell = (0, Engine::open_in_memory().ok().map(Backend::with_engine));
        }
        cell.0 += 1;
        let Some(backend) = &mut cell.1 else { return };
        let ctx = RpcContext {
            client: SourceKind::Thunderbird,
            now: Some(1_790_000_000),
        };
        let mut out = Vec::new();
        serve(backend, &mut Cursor::new(data), &mut out, &ctx).expect("writing to memory");
        let mut replies = out.as_slice();
        while let Some(frame) = read_frame(&mut replies, MAX_REPLY_BYTES).expect("reply frames") {
            let value: serde_json::Value = serde_json::from_slice(&frame).expect("JSON replies");
            assert!(value.is_object());
        }
    });
});
