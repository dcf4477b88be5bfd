//! The header parser on any bytes: it returns an envelope or a rejection, never panics, and
//! keeps within its bounds (ids per message, addresses per field).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_core::ingest::prepare;
use rapport_core::mail::parse::{MAX_ADDRESSES_PER_FIELD, MAX_REFERENCE_IDS};
use rapport_core::mail::{ParseOptions, parse_envelope};

fuzz_target!(|data: &[u8]| {
    for snippet in [false, true] {
        let options = ParseOptions {
            capture_time: 1_790_000_000,
            snippet,
        };
        let Ok(envelope) = parse_envelope(data, options) else {
            continue;
        };
        assert!(envelope.references.len() <= MAX_REFERENCE_IDS);
        for field in [&envelope.from, &envelope.to, &envelope.cc, &envelope.bcc] {
            assert!(field.len() <= MAX_ADDRESSES_PER_FIELD);
        }
        let prepared = prepare(&envelope);
        assert!(prepared.own_ids.contains(&prepared.key));
    }
});
