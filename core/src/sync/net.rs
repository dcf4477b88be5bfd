//! Name resolution for the transports: names under `.localhost` are this machine (RFC 6761
//! §6.3), whatever the system resolver says; every other name goes to the system resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::TcpStream;

/// Whether `host` is `localhost` or a name under it (RFC 6761 §6.3: always loopback).
pub fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// The loopback addresses a `.localhost` name stands for (IPv4 first); `None` for other names.
pub fn localhost_addresses(host: &str) -> Option<[IpAddr; 2]> {
    is_localhost_name(host).then_some([
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ])
}

/// Connects to `host:port`: loopback for `.localhost` names, the system resolver otherwise.
/// The caller bounds it with its own timeout.
pub async fn connect_tcp(host: &str, port: u16) -> std::io::Result<TcpStream> {
    match localhost_addresses(host) {
        Some(ips) => {
            let addrs = ips.map(|ip| SocketAddr::new(ip, port));
            TcpStream::connect(&addrs[..]).await
        }
        None => {
            TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_under_localhost_are_loopback() {
        for name in [
            "localhost",
            "LOCALHOST.",
            "imap.rapport.localhost",
            "autoconfig.Example.Localhost",
        ] {
            assert!(is_localhost_name(name), "{name}");
            assert_eq!(
                localhost_addresses(name).map(|a| a[0]),
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            );
        }
        for name in [
            "localhost.example.com",
            "notlocalhost",
            "imap.example.org",
            "127.0.0.1",
        ] {
            assert!(!is_localhost_name(name), "{name}");
            assert!(localhost_addresses(name).is_none());
        }
    }

    #[tokio::test]
    async fn connecting_to_a_localhost_name_reaches_loopback() -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let accept = tokio::spawn(async move { listener.accept().await.map(|(_, peer)| peer) });
        let stream = connect_tcp("imap.rapport-test.localhost", port).await?;
        assert_eq!(stream.peer_addr()?.port(), port);
        let peer = accept.await.map_err(std::io::Error::other)??;
        assert!(peer.ip().is_loopback());
        Ok(())
    }
}
