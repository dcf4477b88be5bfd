//! Outlook's file formats on any bytes: a `.msg` (Compound File) and a `.pst` reader each
//! return a header section, an error or (for a PST) items and per-item errors, never panic;
//! and whatever `.msg` section comes out parses without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_core::ingest::parse_isolated;
use rapport_core::mail::ParseOptions;
use rapport_core::mail::{msg, pst};

fuzz_target!(|data: &[u8]| {
    let options = ParseOptions {
        capture_time: 1_790_000_000,
        snippet: false,
    };
    if let Ok(section) = msg::header_section(std::io::Cursor::new(data)) {
        let _ = parse_isolated(&section, options);
    }
    let mut items = 0usize;
    let _ = pst::read(std::io::Cursor::new(data.to_vec()), &mut |item| {
        if let Ok(section) = &item.section {
            let _ = parse_isolated(section, options);
        }
        items += 1;
        items < 10_000
    });
});
