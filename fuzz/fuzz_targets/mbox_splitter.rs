//! The mbox splitter on any bytes: every byte is accounted for, messages come in file order
//! and within the memory bound, and it never panics. A small bound makes the fuzzer reach the
//! paths of over-long messages and lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_core::mbox::split;

fuzz_target!(|data: &[u8]| {
    for keep in [64usize, 1 << 20] {
        let mut last_offset = None;
        let end = split(data, keep, &mut |message| {
            assert!(message.bytes.len() <= keep);
            assert!(message.offset < data.len() as u64);
            if let Some(last) = last_offset {
                assert!(message.offset > last, "messages in file order");
            }
            last_offset = Some(message.offset);
            true
        });
        assert!(end.error.is_none());
        assert!(end.completed);
        assert_eq!(end.bytes, data.len() as u64, "every byte read once");
    }
});
