//! The bridge's per-install files: a certificate authority, the server certificate it signed,
//! the API token, the port, and the add-in manifest written for that port.
//!
//! Private keys and the token are written readable by the user only (0600, in a 0700
//! directory on Unix; under `%APPDATA%`, which only the user can read, on Windows).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};
use serde::{Deserialize, Serialize};

/// The port the manifest in the repository points at; `install --port` changes it per user.
pub const DEFAULT_PORT: u16 = 47815;
/// The origin written in the repository's `plugin-outlook/manifest.xml`.
pub const TEMPLATE_ORIGIN: &str = "https://localhost:47815";
/// Days the server certificate is valid. Apple platforms refuse TLS server certificates valid
/// for more than 825 days, even under a user-trusted root.
pub const LEAF_DAYS: i64 = 800;
/// Days the certificate authority is valid.
pub const CA_DAYS: i64 = 3650;
/// `rapport install outlook` renews the server certificate when fewer days than this remain.
pub const RENEW_DAYS: i64 = 60;
/// The certificate authority's name (the uninstall steps search for it).
pub const CA_NAME: &str = "Rapport local bridge CA";
const DAY: i64 = 86_400;

/// What `rapport install outlook` records besides the certificates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BridgeConfig {
    pub port: u16,
    /// The certificate authority's common name.
    pub ca_name: String,
    /// When the server certificate expires (seconds since the epoch).
    pub cert_not_after: i64,
    /// When the certificate authority expires (seconds since the epoch).
    pub ca_not_after: i64,
}

/// Where the files live.
#[derive(Debug, Clone)]
pub struct BridgeFiles {
    pub dir: PathBuf,
}

/// One method per file, and [`BridgeFiles::all`] listing them all, from one table (so the
/// uninstall can never miss a file `install` learned to write).
macro_rules! bridge_files {
    ($($(#[$doc:meta])* $method:ident => $name:literal,)+) => {
        impl BridgeFiles {
            $(
                $(#[$doc])*
                pub fn $method(&self) -> PathBuf {
                    self.dir.join($name)
                }
            )+

            /// Every file `install` may create, for `--uninstall`.
            pub fn all(&self) -> Vec<PathBuf> {
                vec![$(self.$method()),+]
            }
        }
    };
}

bridge_files! {
    /// The current pairing code and when it expires (see [`Pairing`]).
    pairing => "pairing.json",
    ca_cert => "ca.crt",
    ca_key => "ca.key",
    cert => "bridge.crt",
    key => "bridge.key",
    token => "token",
    config => "bridge.json",
    manifest => "manifest.xml",
}

impl BridgeFiles {
    pub fn new(dir: PathBuf) -> Self {
        BridgeFiles { dir }
    }

    pub fn read_config(&self) -> anyhow::Result<Option<BridgeConfig>> {
        let path = self.config();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("{} is not a bridge configuration", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn read_token(&self) -> anyhow::Result<String> {
        let path = self.token();
        let token = fs::read_to_string(&path)
            .with_context(|| format!("cannot read the bridge token {}", path.display()))?;
        let token = token.trim().to_string();
        if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "{} does not hold a bridge token; run `rapport install outlook` again",
                path.display()
            );
        }
        Ok(token)
    }
}

/// Creates the directory readable by the user only.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    // A folder that exists already (the user's choice with --dir) keeps its permissions: the
    // secrets in it are written readable by the owner only either way.
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(())
}

/// Writes a file atomically (temporary file, then rename) with `mode` on Unix.
pub fn write_file(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = options
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(f);
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// 256 random bits as 64 hex digits.
pub fn new_token() -> anyhow::Result<String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow!("the system random number generator failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// How long a pairing code works.
pub const PAIRING_MINUTES: i64 = 10;
/// Wrong codes tried before the current code stops working.
pub const PAIRING_ATTEMPTS: u32 = 5;
/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L).
const PAIRING_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A one-time code the user types into the task pane to give it the API token. Only the
/// owner of the bridge's folder can read it (the file is 0600, and `rapport serve` prints it
/// on its own terminal), so only they can pair an add-in: the pages the bridge serves carry
/// no secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pairing {
    /// Eight characters of [`PAIRING_ALPHABET`] (40 bits), shown as `ABCD-EFGH`.
    pub code: String,
    /// Seconds since the epoch.
    pub expires: i64,
}

impl Pairing {
    /// The code as shown to the user.
    pub fn display(&self) -> String {
        let (a, b) = self.code.split_at(self.code.len() / 2);
        format!("{a}-{b}")
    }

    /// Whether `typed` (any case, with or without the dash and spaces) is this code, in time.
    pub fn accepts(&self, typed: &str, now: i64) -> bool {
        let typed: String = typed
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        now < self.expires && super::http::same_secret(typed.as_bytes(), self.code.as_bytes())
    }
}

/// Makes a new pairing code, valid for [`PAIRING_MINUTES`], and writes it (0600).
pub fn new_pairing(files: &BridgeFiles, now: i64) -> anyhow::Result<Pairing> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow!("the system random number generator failed"))?;
    let code = bytes
        .iter()
        .map(|b| PAIRING_ALPHABET[usize::from(*b) % PAIRING_ALPHABET.len()] as char)
        .collect();
    let pairing = Pairing {
        code,
        expires: now + PAIRING_MINUTES * 60,
    };
    let json = serde_json::to_vec(&pairing).context("cannot encode the pairing code")?;
    write_file(&files.pairing(), &json, true)?;
    Ok(pairing)
}

impl BridgeFiles {
    /// The current pairing code, if one was made and not used up.
    pub fn read_pairing(&self) -> Option<Pairing> {
        let bytes = fs::read(self.pairing()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Uses up the current pairing code.
    pub fn remove_pairing(&self) {
        let _ = fs::remove_file(self.pairing());
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

/// Sets a certificate's validity, whole days in UTC.
fn set_validity(p: &mut CertificateParams, from: i64, until: i64) {
    let (y, m, d) = civil_from_days(from.div_euclid(DAY));
    p.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_from_days(until.div_euclid(DAY));
    p.not_after = rcgen::date_time_ymd(y, m, d);
}

/// The CA's parameters. They are rebuilt identically to sign a renewed server certificate with
/// the stored CA key (rcgen needs the issuer's name and key, not its certificate).
fn ca_params(name: &str, now: i64) -> anyhow::Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "Rapport (this computer only)");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Even if its key leaked, this CA could vouch only for this computer's loopback names.
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 1], [255, 255, 255, 255])),
        ],
        excluded_subtrees: vec![],
    });
    set_validity(&mut p, now - DAY, now + CA_DAYS * DAY);
    Ok(p)
}

/// A freshly made certificate authority.
pub struct NewCa {
    pub cert_pem: String,
    pub key_pem: String,
    /// Its common name: [`CA_NAME`] and a random suffix, unique per install.
    pub name: String,
    pub not_after: i64,
}

pub fn new_ca(now: i64) -> anyhow::Result<NewCa> {
    let name = format!("{CA_NAME} {}", &new_token()?[..8]);
    let key = KeyPair::generate().context("cannot generate the CA key")?;
    let cert = ca_params(&name, now)?
        .self_signed(&key)
        .context("cannot make the CA certificate")?;
    Ok(NewCa {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        name,
        not_after: now + CA_DAYS * DAY,
    })
}

/// The server certificate: `localhost` and `127.0.0.1`, signed by the CA (a CA certificate
/// cannot serve TLS itself: rustls and browsers reject it as an end-entity certificate).
pub struct NewLeaf {
    /// The server certificate followed by the CA certificate.
    pub chain_pem: String,
    pub key_pem: String,
    pub not_after: i64,
}

pub fn new_leaf(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    ca_name: &str,
    ca_not_after: i64,
    now: i64,
) -> anyhow::Result<NewLeaf> {
    let ca_key = KeyPair::from_pem(ca_key_pem).context("the CA key file is not a private key")?;
    // The issuer's validity does not matter to rcgen; the name and key do.
    let issuer = Issuer::new(ca_params(ca_name, now)?, ca_key);
    let mut p = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    p.distinguished_name = dn;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    let not_after = (now + LEAF_DAYS * DAY).min(ca_not_after);
    set_validity(&mut p, now - DAY, not_after);
    let key = KeyPair::generate().context("cannot generate the server key")?;
    let cert = p
        .signed_by(&key, &issuer)
        .context("cannot sign the server certificate")?;
    Ok(NewLeaf {
        chain_pem: format!("{}{}", cert.pem(), ca_cert_pem),
        key_pem: key.serialize_pem(),
        not_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn token_is_256_bits_of_hex() -> anyhow::Result<()> {
        let a = new_token()?;
        let b = new_token()?;
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        Ok(())
    }
}
