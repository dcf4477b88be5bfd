//! What an Exchange or Microsoft 365 server sends back, as any bytes: the XML reader (EWS and
//! Autodiscover answers), an NTLM challenge answered by the NTLM client, and a Graph message
//! turned into a header. Each returns a value or an error, never panics; a Graph header always
//! ends with its blank line and never holds a bare line break inside a field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_core::source::graph::header_of;
use rapport_core::sync::ntlm::{NtlmClient, challenge_domain};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(root) = rapport_core::xml::parse(&text) {
        let _ = root.find("ResponseCode").map(|e| e.text.len());
    }
    let mut client = NtlmClient::new(
        "CORP",
        "dana",
        "pw",
        "WS",
        Some(b"tls-server-end-point:x".to_vec()),
    );
    client.negotiate();
    let _ = challenge_domain(data);
    let _ = client.authenticate(data);
    if let Ok(message) = serde_json::from_slice::<serde_json::Value>(data) {
        let header = header_of(&message);
        assert!(header.ends_with(b"\r\n\r\n") || header == b"\r\n");
        let body = &header[..header.len().saturating_sub(2)];
        for line in body.split(|b| *b == b'\n') {
            assert!(
                line.is_empty() || line.ends_with(b"\r"),
                "a bare line break in a field"
            );
        }
    }
});
