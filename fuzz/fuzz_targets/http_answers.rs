//! What a server answers Rapport's one HTTP client (`sync::http1`: EWS, Graph, sign-in,
//! discovery), as any bytes: two requests on one kept-alive connection read their answers from
//! the input. Each is an answer or an error, never a panic or a hang, and no body is larger than
//! the connection's cap.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rapport_core::discover::http::Url;
use rapport_core::sync::http1::{Connection, request};
use tokio::io::AsyncWriteExt;

/// The cap the target sets: small, so that over-long answers are reached.
const CAP: usize = 64 * 1024;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let answer = data.to_vec();
    runtime().block_on(async move {
        let (client, mut server) = tokio::io::duplex(256 * 1024);
        let serve = tokio::spawn(async move {
            let _ = server.write_all(&answer).await;
            let _ = server.shutdown().await;
            // Keep the server end open until the client is done reading: EOF comes from the
            // shutdown above, not from dropping the stream.
            server
        });
        let url = Url::parse("https://fuzz.example/EWS/Exchange.asmx").expect("a URL");
        let mut connection = Connection::over(client, "fuzz.example").with_max_response(CAP);
        let ask = request("POST", &url, &[], Some("text/xml"), b"<a/>");
        for _ in 0..2 {
            match connection.round_trip(&ask).await {
                Ok(response) => assert!(response.body.len() <= CAP, "a body over the cap"),
                Err(_) => break,
            }
        }
        let _ = serve.await;
    });
});
