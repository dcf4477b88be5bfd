//! What the HTTP fuzz targets share: send the input down one in-memory connection to a server
//! task, read everything it answers, and check that an answer is HTTP.

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Writes `data` into a connection served by `serve` and returns all the server wrote back.
pub fn exchange<F, Fut>(runtime: &tokio::runtime::Runtime, data: &[u8], serve: F) -> Vec<u8>
where
    F: FnOnce(DuplexStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    runtime.block_on(async move {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let served = tokio::spawn(serve(server));
        let (mut reading, mut writing) = tokio::io::split(&mut client);
        let send = async {
            let _ = writing.write_all(data).await;
            let _ = writing.shutdown().await;
        };
        let mut answer = Vec::new();
        let receive = reading.read_to_end(&mut answer);
        let (_, received) = tokio::join!(send, receive);
        let _ = received;
        let _ = served.await;
        answer
    })
}

/// Every answer starts with an HTTP status line (HTTP/1.0 requests get HTTP/1.0 answers).
pub fn assert_http(answer: &[u8]) {
    if !answer.is_empty() {
        assert!(
            answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
            "{:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(80)])
        );
    }
}
