//! An NTLMv2 initiator for HTTP authentication to Exchange ([MS-NLMP]), with channel binding
//! (Extended Protection, on by default since Exchange 2019 CU14): the AUTHENTICATE message
//! carries the MD5 of the RFC 5929 `tls-server-end-point` binding of the TLS connection it
//! rides on, and a MIC over the three messages. No session security is negotiated (HTTP needs
//! none), so the exported session key is the session base key. NTLMv1 is never offered.
//!
//! [MS-NLMP]: https://learn.microsoft.com/openspecs/windows_protocols/ms-nlmp

use hmac::{Hmac, Mac};
use md4::Md4;
use md5::{Digest, Md5};

type HmacMd5 = Hmac<Md5>;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
const NEGOTIATE_OEM: u32 = 0x0000_0002;
const REQUEST_TARGET: u32 = 0x0000_0004;
const NEGOTIATE_NTLM: u32 = 0x0000_0200;
const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
const NEGOTIATE_VERSION: u32 = 0x0200_0000;
const NEGOTIATE_128: u32 = 0x2000_0000;
const NEGOTIATE_56: u32 = 0x8000_0000;
const ASKED: u32 = NEGOTIATE_UNICODE
    | NEGOTIATE_OEM
    | REQUEST_TARGET
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_TARGET_INFO
    | NEGOTIATE_VERSION
    | NEGOTIATE_128
    | NEGOTIATE_56;
/// Windows 10.0 build 19041, NTLMSSP_REVISION_W2K3.
const VERSION: [u8; 8] = [10, 0, 0x61, 0x4a, 0, 0, 0, 15];

const AV_EOL: u16 = 0;
const AV_NB_DOMAIN_NAME: u16 = 2;
const AV_FLAGS: u16 = 6;
const AV_TIMESTAMP: u16 = 7;
const AV_CHANNEL_BINDINGS: u16 = 10;
/// MsvAvFlags bit: the AUTHENTICATE message carries a MIC.
const AV_FLAG_MIC: u32 = 0x2;
/// Where the MIC sits in an AUTHENTICATE message with a Version field.
const MIC_OFFSET: usize = 72;
const AUTHENTICATE_HEADER: usize = 88;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NtlmError {
    #[error("the server's NTLM challenge is malformed: {0}")]
    MalformedChallenge(&'static str),
    #[error("the server's NTLM challenge came before this client's negotiate message")]
    OutOfOrder,
    #[error("an NTLM field is too long for the message: {0}")]
    TooLong(&'static str),
}

/// `DOMAIN\user` → (DOMAIN, user); a UPN `user@example.com` or a bare name → ("", as given):
/// the domain "should be None for a user in the UPN form" (pyspnego, requests-ntlm).
pub fn split_username(login: &str) -> (String, String) {
    match login.split_once('\\') {
        Some((domain, user)) => (domain.to_string(), user.to_string()),
        None => (String::new(), login.to_string()),
    }
}

/// RFC 5929 `tls-server-end-point` application data: the prefix and the hash of the server's
/// certificate, with the certificate's own signature hash (SHA-256 for MD5 and SHA-1).
pub fn tls_server_end_point(cert_der: &[u8]) -> Vec<u8> {
    let algorithm = match signature_hash(cert_der) {
        Some(SignatureHash::Sha384) => &ring::digest::SHA384,
        Some(SignatureHash::Sha512) => &ring::digest::SHA512,
        _ => &ring::digest::SHA256,
    };
    let mut out = b"tls-server-end-point:".to_vec();
    out.extend_from_slice(ring::digest::digest(algorithm, cert_der).as_ref());
    out
}

#[derive(Debug, PartialEq, Eq)]
enum SignatureHash {
    Sha256,
    Sha384,
    Sha512,
}

/// A DER element at `i`: (tag, content start, content end).
fn der_element(b: &[u8], i: usize) -> Option<(u8, usize, usize)> {
    let tag = *b.get(i)?;
    let first = *b.get(i.checked_add(1)?)? as usize;
    let after_length_byte = i.checked_add(2)?;
    let (len, start) = if first < 0x80 {
        (first, after_length_byte)
    } else {
        let n = first & 0x7f;
        // Longer length encodings cannot describe a certificate that fits in memory.
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for k in 0..n {
            let byte = *b.get(after_length_byte.checked_add(k)?)? as usize;
            len = len.checked_mul(256)?.checked_add(byte)?;
        }
        (len, after_length_byte.checked_add(n)?)
    };
    let end = start.checked_add(len)?;
    (end <= b.len()).then_some((tag, start, end))
}

/// The hash of the certificate's signatureAlgorithm (the second element of the outer
/// SEQUENCE), from its OID's last arcs.
fn signature_hash(cert: &[u8]) -> Option<SignatureHash> {
    let (_, body, _) = der_element(cert, 0)?;
    let (_, _, tbs_end) = der_element(cert, body)?;
    let (_, alg, _) = der_element(cert, tbs_end)?;
    let (tag, oid_start, oid_end) = der_element(cert, alg)?;
    if tag != 0x06 {
        return None;
    }
    let oid = cert.get(oid_start..oid_end)?;
    // 1.2.840.113549.1.1.{11,12,13} (RSA) and 1.2.840.10045.4.3.{2,3,4} (ECDSA).
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    let (prefix, last) = oid.split_at(oid.len().checked_sub(1)?);
    match (prefix, last.first()?) {
        (RSA, 12) | (ECDSA, 3) => Some(SignatureHash::Sha384),
        (RSA, 13) | (ECDSA, 4) => Some(SignatureHash::Sha512),
        _ => Some(SignatureHash::Sha256),
    }
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = match HmacMd5::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 16],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// NTOWFv2: HMAC-MD5 over the uppercased user and the domain, keyed by MD4 of the password.
fn ntowf_v2(user: &str, domain: &str, password: &str) -> [u8; 16] {
    let nt_hash = Md4::digest(utf16le(password));
    hmac_md5(&nt_hash, &[&utf16le(&(user.to_uppercase() + domain))])
}

/// The AV pairs of a challenge's TargetInfo, without the terminating MsvAvEOL.
fn av_pairs(info: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, NtlmError> {
    const TRUNCATED: NtlmError = NtlmError::MalformedChallenge("truncated target info");
    const PAST_END: NtlmError =
        NtlmError::MalformedChallenge("an AV pair runs past the target info");
    let mut pairs = Vec::new();
    let mut i: usize = 0;
    loop {
        let id = u16_at(info, i).ok_or(TRUNCATED)?;
        let len = u16_at(info, i.checked_add(2).ok_or(TRUNCATED)?).ok_or(TRUNCATED)? as usize;
        if id == AV_EOL {
            return Ok(pairs);
        }
        let start = i.checked_add(4).ok_or(PAST_END)?;
        let end = start.checked_add(len).ok_or(PAST_END)?;
        let value = info.get(start..end).ok_or(PAST_END)?;
        pairs.push((id, value.to_vec()));
        i = end;
    }
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    let bytes = b.get(i..i.checked_add(2)?)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    let bytes = b.get(i..i.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// A CHALLENGE_MESSAGE's parts.
struct Challenge {
    flags: u32,
    server_challenge: [u8; 8],
    pairs: Vec<(u16, Vec<u8>)>,
}

fn parse_challenge(b: &[u8]) -> Result<Challenge, NtlmError> {
    if b.get(..8) != Some(SIGNATURE.as_slice()) || u32_at(b, 8) != Some(2) {
        return Err(NtlmError::MalformedChallenge(
            "not an NTLM CHALLENGE_MESSAGE",
        ));
    }
    let flags = u32_at(b, 20).ok_or(NtlmError::MalformedChallenge("too short"))?;
    let server_challenge: [u8; 8] = b
        .get(24..32)
        .and_then(|c| c.try_into().ok())
        .ok_or(NtlmError::MalformedChallenge("no server challenge"))?;
    let info_len = u16_at(b, 40).unwrap_or(0) as usize;
    let info_offset = u32_at(b, 44).unwrap_or(0) as usize;
    let pairs = if info_len == 0 {
        Vec::new()
    } else {
        let info = info_offset
            .checked_add(info_len)
            .and_then(|end| b.get(info_offset..end))
            .ok_or(NtlmError::MalformedChallenge(
                "the target info lies outside the message",
            ))?;
        av_pairs(info)?
    };
    Ok(Challenge {
        flags,
        server_challenge,
        pairs,
    })
}

/// The NetBIOS domain a challenge announces (MsvAvNbDomainName), if any.
pub fn challenge_domain(challenge: &[u8]) -> Option<String> {
    let c = parse_challenge(challenge).ok()?;
    let (_, value) = c.pairs.iter().find(|(id, _)| *id == AV_NB_DOMAIN_NAME)?;
    let units: Vec<u16> = value
        .chunks_exact(2)
        .filter_map(|p| Some(u16::from_le_bytes(p.try_into().ok()?)))
        .collect();
    String::from_utf16(&units).ok()
}

/// The MD5 of a gss_channel_bindings_struct holding only application data.
fn channel_binding_hash(application_data: &[u8]) -> [u8; 16] {
    let mut s = vec![0u8; 16];
    s.extend_from_slice(&(application_data.len() as u32).to_le_bytes());
    s.extend_from_slice(application_data);
    Md5::digest(&s).into()
}

/// The NTLMv2 response pieces (`pairs`: the encoded AV pairs, MsvAvEOL included) for given inputs (what the spec's test vectors check).
struct V2Response {
    nt_response: Vec<u8>,
    session_base_key: [u8; 16],
}

fn v2_response(
    ntowf: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
    timestamp: &[u8; 8],
    pairs: &[u8],
) -> V2Response {
    let mut temp = vec![1u8, 1, 0, 0, 0, 0, 0, 0];
    temp.extend_from_slice(timestamp);
    temp.extend_from_slice(client_challenge);
    temp.extend_from_slice(&[0; 4]);
    temp.extend_from_slice(pairs);
    temp.extend_from_slice(&[0; 4]);
    let proof = hmac_md5(ntowf, &[server_challenge, &temp]);
    let session_base_key = hmac_md5(ntowf, &[&proof]);
    let mut nt_response = proof.to_vec();
    nt_response.extend(temp);
    V2Response {
        nt_response,
        session_base_key,
    }
}

/// Encodes AV pairs and the closing MsvAvEOL. Every value here is either the server's (read
/// through a u16 length) or one of ours (at most 16 bytes), so the length always fits.
fn encode_pairs(pairs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, value) in pairs {
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(value.get(..usize::from(len)).unwrap_or_default());
    }
    out.extend_from_slice(&[0; 4]);
    out
}

/// The current time as a Windows FILETIME (100 ns since 1601).
fn filetime_now() -> [u8; 8] {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos() / 100).ok())
        .unwrap_or(0);
    unix.saturating_add(116_444_736_000_000_000).to_le_bytes()
}

fn random_challenge() -> [u8; 8] {
    use ring::rand::SecureRandom;
    let mut c = [0u8; 8];
    // The system RNG does not fail on supported platforms; a zero challenge is still valid.
    let _ = ring::rand::SystemRandom::new().fill(&mut c);
    c
}

/// One NTLM authentication, from NEGOTIATE to AUTHENTICATE.
pub struct NtlmClient {
    domain: String,
    user: String,
    password: String,
    workstation: String,
    channel_binding: Option<Vec<u8>>,
    negotiate: Option<Vec<u8>>,
}

impl NtlmClient {
    /// `channel_binding`: the [`tls_server_end_point`] data of the connection (None sends the
    /// all-zero binding of a client unaware of the channel).
    pub fn new(
        domain: &str,
        user: &str,
        password: &str,
        workstation: &str,
        channel_binding: Option<Vec<u8>>,
    ) -> NtlmClient {
        NtlmClient {
            domain: domain.to_string(),
            user: user.to_string(),
            password: password.to_string(),
            workstation: workstation.to_string(),
            channel_binding,
            negotiate: None,
        }
    }

    /// The NEGOTIATE_MESSAGE.
    pub fn negotiate(&mut self) -> Vec<u8> {
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&ASKED.to_le_bytes());
        // Empty domain and workstation fields (offsets past the header).
        m.extend_from_slice(&[0, 0, 0, 0, 40, 0, 0, 0]);
        m.extend_from_slice(&[0, 0, 0, 0, 40, 0, 0, 0]);
        m.extend_from_slice(&VERSION);
        self.negotiate = Some(m.clone());
        m
    }

    /// The AUTHENTICATE_MESSAGE answering `challenge`.
    pub fn authenticate(&mut self, challenge: &[u8]) -> Result<Vec<u8>, NtlmError> {
        let negotiate = self.negotiate.clone().ok_or(NtlmError::OutOfOrder)?;
        let c = parse_challenge(challenge)?;
        let timestamp: Option<[u8; 8]> = c
            .pairs
            .iter()
            .find(|(id, _)| *id == AV_TIMESTAMP)
            .and_then(|(_, v)| v.as_slice().try_into().ok());
        let mut pairs: Vec<(u16, Vec<u8>)> = c
            .pairs
            .iter()
            .filter(|(id, _)| *id != AV_FLAGS && *id != AV_CHANNEL_BINDINGS)
            .cloned()
            .collect();
        let server_flags = c
            .pairs
            .iter()
            .find(|(id, _)| *id == AV_FLAGS)
            .and_then(|(_, v)| u32_at(v, 0))
            .unwrap_or(0);
        pairs.push((
            AV_FLAGS,
            (server_flags | AV_FLAG_MIC).to_le_bytes().to_vec(),
        ));
        let binding = match &self.channel_binding {
            Some(data) => channel_binding_hash(data),
            None => [0; 16],
        };
        pairs.push((AV_CHANNEL_BINDINGS, binding.to_vec()));
        let ntowf = ntowf_v2(&self.user, &self.domain, &self.password);
        let client_challenge = random_challenge();
        let response = v2_response(
            &ntowf,
            &c.server_challenge,
            &client_challenge,
            &timestamp.unwrap_or_else(filetime_now),
            &encode_pairs(&pairs),
        );
        let lm_response = if timestamp.is_some() {
            vec![0u8; 24]
        } else {
            let mut lm = hmac_md5(&ntowf, &[&c.server_challenge, &client_challenge]).to_vec();
            lm.extend_from_slice(&client_challenge);
            lm
        };
        let flags = (c.flags & ASKED & !NEGOTIATE_OEM) | NEGOTIATE_UNICODE;
        let fields = [
            lm_response,
            response.nt_response,
            utf16le(&self.domain),
            utf16le(&self.user),
            utf16le(&self.workstation),
            Vec::new(),
        ];
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&3u32.to_le_bytes());
        // Each field is described by (length, maximum length, offset) in the header.
        let names = [
            "LM response",
            "NT response",
            "domain",
            "user",
            "workstation",
            "key",
        ];
        let mut offset = AUTHENTICATE_HEADER;
        for (f, name) in fields.iter().zip(names) {
            let len = u16::try_from(f.len()).map_err(|_| NtlmError::TooLong(name))?;
            let at = u32::try_from(offset).map_err(|_| NtlmError::TooLong(name))?;
            m.extend_from_slice(&len.to_le_bytes());
            m.extend_from_slice(&len.to_le_bytes());
            m.extend_from_slice(&at.to_le_bytes());
            offset = offset
                .checked_add(f.len())
                .ok_or(NtlmError::TooLong(name))?;
        }
        m.extend_from_slice(&flags.to_le_bytes());
        m.extend_from_slice(&VERSION);
        m.extend_from_slice(&[0; 16]);
        for f in &fields {
            m.extend_from_slice(f);
        }
        // The MIC covers this message with its own slot still zero.
        let mic = hmac_md5(&response.session_base_key, &[&negotiate, challenge, &m]);
        if let Some(slot) = m.get_mut(MIC_OFFSET..MIC_OFFSET + 16) {
            slot.copy_from_slice(&mic);
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect()
    }

    /// [MS-NLMP] §4.2.4: NTLMv2 authentication test vectors.
    #[test]
    fn matches_the_specification_vectors() {
        let ntowf = ntowf_v2("User", "Domain", "Password");
        assert_eq!(ntowf.to_vec(), hex("0c868a403bfd7a93a3001ef22ef02e3f"));
        let pairs = encode_pairs(&[
            (AV_NB_DOMAIN_NAME, utf16le("Domain")),
            (1, utf16le("Server")),
        ]);
        let server: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        let client = [0xaa; 8];
        let r = v2_response(&ntowf, &server, &client, &[0; 8], &pairs);
        assert_eq!(
            r.nt_response.get(..16).map(<[u8]>::to_vec),
            Some(hex("68cd0ab851e51c96aabc927bebef6a1c"))
        );
        assert_eq!(
            r.session_base_key.to_vec(),
            hex("8de40ccadbc14a82f15cb0ad0de95ca3")
        );
    }

    #[test]
    fn usernames_split_as_windows_does() {
        assert_eq!(split_username("CORP\\dana"), ("CORP".into(), "dana".into()));
        assert_eq!(
            split_username("dana@corp.example"),
            (String::new(), "dana@corp.example".into())
        );
        assert_eq!(split_username("dana"), (String::new(), "dana".into()));
    }

    fn challenge_with(pairs: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let info = encode_pairs(pairs);
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&2u32.to_le_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 56, 0, 0, 0]);
        m.extend_from_slice(&(ASKED & !NEGOTIATE_OEM).to_le_bytes());
        m.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&56u32.to_le_bytes());
        m.extend_from_slice(&VERSION);
        m.extend(info);
        m
    }

    #[test]
    fn authenticate_carries_the_binding_and_a_valid_mic() -> Result<(), NtlmError> {
        let challenge = challenge_with(&[
            (AV_NB_DOMAIN_NAME, utf16le("CORP")),
            (AV_TIMESTAMP, vec![1, 2, 3, 4, 5, 6, 7, 8]),
        ]);
        assert_eq!(challenge_domain(&challenge).as_deref(), Some("CORP"));
        let binding = b"tls-server-end-point:abc".to_vec();
        let mut client = NtlmClient::new("CORP", "dana", "pw", "WS", Some(binding.clone()));
        let negotiate = client.negotiate();
        let m = client.authenticate(&challenge)?;
        let field = |i: usize| -> Vec<u8> {
            let len = u16_at(&m, 12 + 8 * i).unwrap_or(0) as usize;
            let off = u32_at(&m, 16 + 8 * i).unwrap_or(0) as usize;
            m.get(off..off + len)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        };
        assert_eq!(m.get(..8), Some(SIGNATURE.as_slice()));
        assert_eq!(u32_at(&m, 8), Some(3));
        // The payload starts right after the 16-byte MIC at 72, in field order.
        assert_eq!(u32_at(&m, 16), Some(AUTHENTICATE_HEADER as u32));
        assert_eq!(AUTHENTICATE_HEADER, MIC_OFFSET + 16);
        assert_eq!(m.get(64..72), Some(VERSION.as_slice()));
        let flags = u32_at(&m, 60).unwrap_or(0);
        assert_eq!(flags & NEGOTIATE_OEM, 0);
        assert_ne!(flags & NEGOTIATE_UNICODE, 0);
        assert_eq!(
            field(0),
            vec![0u8; 24],
            "LM response is zero with a timestamp"
        );
        assert_eq!(field(2), utf16le("CORP"));
        assert_eq!(field(3), utf16le("dana"));
        let nt = field(1);
        let pairs = av_pairs(nt.get(44..).unwrap_or_default())?;
        let av_flags = pairs.iter().find(|(id, _)| *id == AV_FLAGS);
        assert_eq!(
            av_flags.and_then(|(_, v)| u32_at(v, 0)),
            Some(AV_FLAG_MIC),
            "MsvAvFlags announces the MIC"
        );
        let bound = pairs.iter().find(|(id, _)| *id == AV_CHANNEL_BINDINGS);
        assert_eq!(
            bound.map(|(_, v)| v.clone()),
            Some(channel_binding_hash(&binding).to_vec())
        );
        // The MIC verifies with the session key derived from the response.
        let ntowf = ntowf_v2("dana", "CORP", "pw");
        let key = hmac_md5(&ntowf, &[nt.get(..16).unwrap_or_default()]);
        let mut zeroed = m.clone();
        if let Some(slot) = zeroed.get_mut(MIC_OFFSET..MIC_OFFSET + 16) {
            slot.copy_from_slice(&[0; 16]);
        }
        let mic = hmac_md5(&key, &[&negotiate, &challenge, &zeroed]);
        assert_eq!(m.get(MIC_OFFSET..MIC_OFFSET + 16), Some(mic.as_slice()));
        Ok(())
    }

    #[test]
    fn a_challenge_out_of_bounds_is_an_error_not_a_panic() {
        let mut client = NtlmClient::new("", "u", "p", "WS", None);
        client.negotiate();
        assert!(client.authenticate(b"NTLMSSP\0\x02\0\0\0").is_err());
        let mut bad = challenge_with(&[]);
        if let Some(b) = bad.get_mut(44) {
            *b = 250;
        }
        assert!(client.authenticate(&bad).is_err());
        // An AV pair claiming more bytes than the target info holds.
        let mut overlong = challenge_with(&[(AV_NB_DOMAIN_NAME, utf16le("CORP"))]);
        if let Some(b) = overlong.get_mut(56 + 2) {
            *b = 200;
        }
        assert_eq!(
            client.authenticate(&overlong),
            Err(NtlmError::MalformedChallenge(
                "an AV pair runs past the target info"
            ))
        );
        assert_eq!(challenge_domain(&overlong), None);
    }

    #[test]
    fn end_point_hash_follows_the_signature_algorithm() {
        let cert = |oid: &[u8]| {
            // SEQUENCE { SEQUENCE {} (tbs), SEQUENCE { OID }, BIT STRING {} }
            let mut alg = vec![0x06, oid.len() as u8];
            alg.extend_from_slice(oid);
            let mut alg_seq = vec![0x30, alg.len() as u8];
            alg_seq.extend(alg);
            let mut body = vec![0x30, 0x00];
            body.extend(alg_seq);
            body.extend([0x03, 0x01, 0x00]);
            let mut c = vec![0x30, body.len() as u8];
            c.extend(body);
            c
        };
        let ecdsa384 = cert(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03]);
        let rsa256 = cert(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]);
        assert_eq!(signature_hash(&ecdsa384), Some(SignatureHash::Sha384));
        assert_eq!(signature_hash(&rsa256), Some(SignatureHash::Sha256));
        assert_eq!(tls_server_end_point(&ecdsa384).len(), 21 + 48);
        assert_eq!(tls_server_end_point(&rsa256).len(), 21 + 32);
        assert_eq!(tls_server_end_point(b"garbage").len(), 21 + 32);
    }
}
