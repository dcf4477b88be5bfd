//! DNS SRV look-ups for Autodiscover's last route: one query over UDP to the system's resolver
//! (the first `nameserver` of /etc/resolv.conf, or `RAPPORT_DNS_SERVER=host:port`, which the
//! tests use), answered with the record of lowest priority and highest weight (RFC 2782).

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, Result};

const TIMEOUT: Duration = Duration::from_secs(5);
const TYPE_SRV: u16 = 33;

fn resolver() -> Result<SocketAddr> {
    let network = |detail: String| Error::Network {
        host: "DNS".into(),
        detail,
    };
    if let Ok(server) = std::env::var("RAPPORT_DNS_SERVER") {
        return server
            .parse()
            .map_err(|_| network(format!("RAPPORT_DNS_SERVER '{server}' is not host:port")));
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf")
        .map_err(|e| network(format!("cannot read /etc/resolv.conf: {e}")))?;
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .next()
        .ok_or_else(|| network("no nameserver in /etc/resolv.conf".into()))
}

/// The query's bytes.
fn query(id: u16, name: &str) -> Result<Vec<u8>> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(Error::InvalidInput(format!("'{name}' is not a DNS name")));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&TYPE_SRV.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Ok(q)
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

/// A (possibly compressed) name at `i`: the name and the offset just past it in place.
fn name_at(b: &[u8], mut i: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    let mut end = None;
    for _ in 0..64 {
        let len = *b.get(i)? as usize;
        if len == 0 {
            return Some((labels.join("."), end.unwrap_or(i + 1)));
        }
        if len & 0xC0 == 0xC0 {
            let pointer = (u16_at(b, i)? & 0x3FFF) as usize;
            end.get_or_insert(i + 2);
            i = pointer;
            continue;
        }
        labels.push(String::from_utf8_lossy(b.get(i + 1..i + 1 + len)?).into_owned());
        i += 1 + len;
    }
    None
}

/// The best SRV target of an answer: (host, port).
fn best_target(answer: &[u8], id: u16) -> Option<Option<(String, u16)>> {
    if u16_at(answer, 0)? != id {
        return None;
    }
    let rcode = answer.get(3)? & 0x0F;
    if rcode == 3 {
        return Some(None); // NXDOMAIN
    }
    let questions = u16_at(answer, 4)?;
    let answers = u16_at(answer, 6)?;
    let mut i = 12;
    for _ in 0..questions {
        i = name_at(answer, i)?.1 + 4;
    }
    let mut best: Option<(u16, u16, String, u16)> = None;
    for _ in 0..answers {
        let (_, after) = name_at(answer, i)?;
        let kind = u16_at(answer, after)?;
        let len = u16_at(answer, after + 8)? as usize;
        let data = after + 10;
        if kind == TYPE_SRV {
            let priority = u16_at(answer, data)?;
            let weight = u16_at(answer, data + 2)?;
            let port = u16_at(answer, data + 4)?;
            let (target, _) = name_at(answer, data + 6)?;
            let better = best
                .as_ref()
                .is_none_or(|(p, w, _, _)| priority < *p || (priority == *p && weight > *w));
            if better && !target.is_empty() {
                best = Some((priority, weight, target, port));
            }
        }
        i = data + len;
    }
    Some(best.map(|(_, _, host, port)| (host.to_ascii_lowercase(), port)))
}

/// The SRV record `name` points to, if any.
pub async fn lookup(name: &str) -> Result<Option<(String, u16)>> {
    let server = resolver()?;
    let network = |detail: String| Error::Network {
        host: server.to_string(),
        detail,
    };
    let id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u16)
        .unwrap_or(0x5eed);
    let bind = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| network(format!("cannot open a UDP socket: {e}")))?;
    socket
        .send_to(&query(id, name)?, server)
        .await
        .map_err(|e| network(format!("cannot send the DNS query: {e}")))?;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(TIMEOUT, socket.recv(&mut buf))
        .await
        .map_err(|_| network("no DNS answer within 5 s".into()))?
        .map_err(|e| network(format!("reading the DNS answer: {e}")))?;
    best_target(buf.get(..n).unwrap_or_default(), id)
        .ok_or_else(|| network("a malformed DNS answer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_lowest_priority_then_the_highest_weight() -> Result<()> {
        let q = query(7, "_autodiscover._tcp.corp.example")?;
        let mut a = q.clone();
        // Header: a response with 3 answers.
        a[2] = 0x81;
        a[3] = 0x80;
        a[7] = 3;
        let record = |prio: u16, weight: u16, port: u16, target: &str| {
            let mut r = vec![0xC0, 12];
            r.extend_from_slice(&TYPE_SRV.to_be_bytes());
            r.extend_from_slice(&[0, 1, 0, 0, 1, 0]);
            let mut data = Vec::new();
            data.extend_from_slice(&prio.to_be_bytes());
            data.extend_from_slice(&weight.to_be_bytes());
            data.extend_from_slice(&port.to_be_bytes());
            for l in target.split('.') {
                data.push(l.len() as u8);
                data.extend_from_slice(l.as_bytes());
            }
            data.push(0);
            r.extend_from_slice(&(data.len() as u16).to_be_bytes());
            r.extend(data);
            r
        };
        a.extend(record(10, 5, 443, "backup.corp.example"));
        a.extend(record(0, 1, 443, "low.corp.example"));
        a.extend(record(0, 9, 8443, "Mail.Corp.Example"));
        assert_eq!(
            best_target(&a, 7),
            Some(Some(("mail.corp.example".to_string(), 8443)))
        );
        assert_eq!(best_target(&a, 8), None);
        assert_eq!(best_target(&a[..20], 7), None);
        Ok(())
    }
}
