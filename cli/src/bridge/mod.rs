//! `rapport serve` and `rapport install outlook`: the Outlook add-in's local bridge.
//!
//! The add-in (plugin-outlook/) is served by this bridge over HTTPS from 127.0.0.1, and talks
//! to the same origin's `POST /api/rpc` with the RPC protocol of `rapport_core::rpc`.
//!
//! How the task pane gets the API token: by pairing. `rapport serve` (and `rapport install
//! outlook --pair`) shows a one-time code, valid ten minutes, that only the owner of the
//! bridge's folder can see (its file is 0600); the user types it once into the pane, which
//! trades it for the token at `POST /api/pair` and keeps the token in the add-in's roaming
//! settings. No page or script the bridge serves carries a secret, so another local account
//! that can reach 127.0.0.1 gets nothing by asking. `rapport install outlook --new-token`
//! rotates the token (panes then ask to pair again).

mod assets;
pub mod files;
pub mod http;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use files::{BridgeConfig, BridgeFiles, DEFAULT_PORT, RENEW_DAYS};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::context::Ctx;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Listen on this port instead of the one `rapport install outlook` chose (the add-in
    /// manifest names that one)
    #[arg(long)]
    pub port: Option<u16>,
    /// The bridge's files [default: DATA_DIR/outlook]
    #[arg(long, value_name = "DIR", env = "RAPPORT_OUTLOOK_DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Creates, in DATA_DIR/outlook: a certificate authority for this computer (ca.crt, \
                  ca.key), the bridge's certificate (bridge.crt, bridge.key), the API token, and \
                  manifest.xml for Outlook. Running it again keeps them and renews what expires \
                  soon."
)]
pub struct InstallArgs {
    /// Remove the certificates, token and manifest instead
    #[arg(long)]
    pub uninstall: bool,
    /// The port the bridge listens on (127.0.0.1 only) [default: 47815, or the one chosen before]
    #[arg(long)]
    pub port: Option<u16>,
    /// Where to keep the bridge's files [default: DATA_DIR/outlook]
    #[arg(long, value_name = "DIR", env = "RAPPORT_OUTLOOK_DIR")]
    pub dir: Option<PathBuf>,
    /// Make a new certificate authority, certificate and token even if they exist
    #[arg(long)]
    pub renew: bool,
    /// Show a new pairing code for the task pane (valid 10 minutes, works once)
    #[arg(long)]
    pub pair: bool,
    /// Replace the API token: paired panes must pair again
    #[arg(long)]
    pub new_token: bool,
}

fn files_for(dir: &Option<PathBuf>) -> BridgeFiles {
    BridgeFiles::new(
        dir.clone()
            .unwrap_or_else(|| crate::paths::data_dir().join("outlook")),
    )
}

fn origin_for(port: u16) -> String {
    format!("https://localhost:{port}")
}

pub fn serve(ctx: &Ctx, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let files = files_for(&args.dir);
    let config = files.read_config()?.ok_or_else(|| {
        anyhow!(
            "the Outlook bridge is not set up in {}: run `rapport install outlook` first",
            files.dir.display()
        )
    })?;
    let port = args.port.unwrap_or(config.port);
    files.read_token()?;
    let certs = CertificateDer::pem_file_iter(files.cert())
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            anyhow!(
                "cannot read the certificate {}: {e}",
                files.cert().display()
            )
        })?;
    if certs.is_empty() {
        bail!(
            "{} holds no certificate; run `rapport install outlook --renew`",
            files.cert().display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(files.key())
        .map_err(|e| anyhow!("cannot read the key {}: {e}", files.key().display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup failed")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "the certificate in {} does not fit its key; run `rapport install outlook --renew`",
                files.dir.display()
            )
        })?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];

    let days_left = (config.cert_not_after - rapport_core::time::now()) / 86_400;
    if days_left < 0 {
        bail!("the bridge's certificate has expired: run `rapport install outlook` to renew it");
    }
    if days_left < RENEW_DAYS {
        eprintln!(
            "warning: the bridge's certificate expires in {days_left} days; run `rapport install outlook` to renew it"
        );
    }

    let engine = Arc::new(ctx.engine()?);
    let runtime = http::local_runtime()?;
    runtime.block_on(async move {
        // `--port 0` asks the system for a free port: the Host and Origin checks use that one.
        let (listener, port) =
            http::bind_loopback(port, "is another `rapport serve` running?").await?;
        let pairing = files::new_pairing(&files, rapport_core::time::now())?;
        if !ctx.quiet {
            eprintln!(
                "Rapport bridge for Outlook: {}/taskpane.html (listening on 127.0.0.1:{port} only; Ctrl-C stops it)",
                origin_for(port)
            );
            eprintln!(
                "Pairing code for the task pane: {} (type it once in Outlook's Rapport pane; valid {} minutes, works once; `rapport install outlook --pair` makes a new one)",
                pairing.display(),
                files::PAIRING_MINUTES
            );
        }
        let state = Arc::new(http::State {
            engine,
            files,
            pair_failures: std::sync::Mutex::new((String::new(), 0)),
            port,
            origin: origin_for(port),
            // A server runs for days: "now" is the clock unless a fixed one is asked for.
            now: std::env::var_os("RAPPORT_NOW").map(|_| ctx.now),
        });
        http::run(
            listener,
            tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
            state,
        )
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn install(ctx: &Ctx, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let files = files_for(&args.dir);
    if args.uninstall {
        return uninstall(ctx, &files);
    }
    let now = rapport_core::time::now();
    files::create_private_dir(&files.dir)?;
    let old = files.read_config()?;
    let port = args
        .port
        .or(old.as_ref().map(|c| c.port))
        .unwrap_or(DEFAULT_PORT);
    if port == 0 {
        bail!("--port must be a port number from 1 to 65535");
    }
    let mut made = Vec::new();

    // The certificate authority: kept across runs, since the user has trusted it.
    let have_ca = files.ca_cert().exists() && files.ca_key().exists() && old.is_some();
    let (ca_cert, ca_key, ca_name, ca_not_after) = match (&old, have_ca && !args.renew) {
        (Some(c), true) if c.ca_not_after - now > (RENEW_DAYS + 1) * 86_400 => (
            read_text(&files.ca_cert())?,
            read_text(&files.ca_key())?,
            c.ca_name.clone(),
            c.ca_not_after,
        ),
        _ => {
            let ca = files::new_ca(now)?;
            files::write_file(&files.ca_key(), ca.key_pem.as_bytes(), true)?;
            files::write_file(&files.ca_cert(), ca.cert_pem.as_bytes(), false)?;
            made.push("certificate authority");
            (ca.cert_pem, ca.key_pem, ca.name, ca.not_after)
        }
    };
    let ca_is_new = made.contains(&"certificate authority");

    // The server certificate: renewed when the CA is new or it expires soon.
    let leaf_ok = !ca_is_new
        && files.cert().exists()
        && files.key().exists()
        && old
            .as_ref()
            .is_some_and(|c| c.cert_not_after - now > RENEW_DAYS * 86_400);
    let cert_not_after = if leaf_ok {
        old.as_ref().map(|c| c.cert_not_after).unwrap_or_default()
    } else {
        let leaf = files::new_leaf(&ca_cert, &ca_key, &ca_name, ca_not_after, now)?;
        files::write_file(&files.key(), leaf.key_pem.as_bytes(), true)?;
        files::write_file(&files.cert(), leaf.chain_pem.as_bytes(), false)?;
        made.push("server certificate");
        leaf.not_after
    };

    if args.renew || args.new_token || files.read_token().is_err() {
        files::write_file(&files.token(), files::new_token()?.as_bytes(), true)?;
        made.push("token");
    }
    let config = BridgeConfig {
        port,
        ca_name: ca_name.clone(),
        cert_not_after,
        ca_not_after,
    };
    let json = serde_json::to_vec_pretty(&config).context("cannot encode the configuration")?;
    files::write_file(&files.config(), &json, false)?;
    let origin = origin_for(port);
    files::write_file(
        &files.manifest(),
        assets::manifest_for(&origin).as_bytes(),
        false,
    )?;

    let pairing = if args.pair || made.contains(&"token") {
        Some(files::new_pairing(&files, now)?)
    } else {
        None
    };
    if ctx.json {
        crate::fmt::json(&serde_json::json!({
            "pairing_code": pairing.as_ref().map(files::Pairing::display),
            "port": port,
            "origin": origin,
            "ca_certificate": files.ca_cert().display().to_string(),
            "ca_name": ca_name,
            "manifest": files.manifest().display().to_string(),
            "created": made,
            "certificate_expires": rapport_core::time::format_iso(cert_not_after),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    print_install_steps(&files, &origin, &ca_name, &made, ca_is_new);
    if let Some(p) = pairing {
        println!(
            "\nPairing code for the task pane: {} (valid {} minutes, works once). `rapport serve` shows a new one each time it starts.",
            p.display(),
            files::PAIRING_MINUTES
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn print_install_steps(
    files: &BridgeFiles,
    origin: &str,
    ca_name: &str,
    made: &[&str],
    ca_is_new: bool,
) {
    let ca = files.ca_cert();
    let ca = ca.display();
    let dir = files.dir.display();
    if made.is_empty() {
        println!("The Outlook bridge is set up in {dir} (nothing needed renewing).");
    } else {
        println!("Made in {dir}: {}.", made.join(", "));
    }
    println!(
        r#"
The add-in works only for Microsoft 365, Outlook.com and Exchange mailboxes (and IMAP accounts
added with CloudCache in Outlook for Mac). Outlook never loads add-ins for POP3 or IMAP accounts:
for those, use the Thunderbird extension, `rapport import` or `rapport sync`.

1. Trust the bridge's certificate authority "{ca_name}" ({ca}).
   It can vouch only for localhost and 127.0.0.1 (name constraints).{again}
   Linux (Chrome, Chromium, Edge; needs libnss3-tools):
     certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "{ca_name}" -i "{ca}"
   Firefox (any system): Settings > Privacy & Security > Certificates > View Certificates >
     Authorities > Import, choose the file above, tick "Trust this CA to identify websites".
   Linux (system-wide, for other programs):
     sudo cp "{ca}" /usr/local/share/ca-certificates/rapport-bridge.crt && sudo update-ca-certificates
   macOS:
     security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db "{ca}"
   Windows (PowerShell, current user; Outlook and Edge use this store):
     Import-Certificate -FilePath "{ca}" -CertStoreLocation Cert:\CurrentUser\Root

2. Start the bridge, and keep it running while Outlook is open:
     {serve}
   Check it: open {origin}/taskpane.html in a browser; no certificate warning should appear.

3. Add the add-in to Outlook (sideload): open https://aka.ms/olksideload (or, in classic Outlook,
   File > Info > Manage Add-ins), then My add-ins > Custom Addins > Add a custom add-in >
   Add from File, and choose:
     {manifest}
   Classic Outlook may take up to 24 hours to show it.

4. Pair the pane: open a message, choose Rapport > History, and type the pairing code that
   `rapport serve` shows when it starts (or `rapport install outlook --pair`). Once per
   mailbox; `rapport install outlook --new-token` makes every pane pair again.

In Outlook on the web (Chrome, Edge) the browser may ask to let Outlook reach "devices on your
local network": allow it, or the task pane says that access was denied and how to allow it."#,
        again = if ca_is_new {
            ""
        } else {
            "\n   (Trusted it before? Nothing to do.)"
        },
        manifest = files.manifest().display(),
        serve = if files.dir == crate::paths::data_dir().join("outlook") {
            "rapport serve".to_string()
        } else {
            format!("rapport serve --dir \"{dir}\"")
        },
    );
}

fn uninstall(ctx: &Ctx, files: &BridgeFiles) -> anyhow::Result<ExitCode> {
    let ca_name = files
        .read_config()
        .ok()
        .flatten()
        .map(|c| c.ca_name)
        .unwrap_or_else(|| files::CA_NAME.to_string());
    let mut removed = Vec::new();
    for path in files.all() {
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    // Only if nothing else was put there.
    let _ = std::fs::remove_dir(&files.dir);
    if ctx.json {
        crate::fmt::json(&serde_json::json!({"removed": removed, "ca_name": ca_name}))?;
        return Ok(ExitCode::SUCCESS);
    }
    if removed.is_empty() {
        println!("Nothing to remove in {}.", files.dir.display());
    } else {
        println!(
            "Removed {} files from {}.",
            removed.len(),
            files.dir.display()
        );
    }
    println!(
        r#"
If you trusted the certificate authority, remove it too:
  Linux (NSS):   certutil -d sql:$HOME/.pki/nssdb -D -n "{ca_name}"
  Linux (system): sudo rm /usr/local/share/ca-certificates/rapport-bridge.crt && sudo update-ca-certificates --fresh
  macOS:         security delete-certificate -c "{ca_name}" ~/Library/Keychains/login.keychain-db
  Windows:       Get-ChildItem Cert:\CurrentUser\Root | Where-Object Subject -like "*{ca_name}*" | Remove-Item
And remove the add-in in Outlook: https://aka.ms/olksideload > My add-ins > Custom Addins > Remove."#
    );
    Ok(ExitCode::SUCCESS)
}
