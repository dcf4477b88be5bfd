//! Where a Microsoft sign-in's tokens are kept: in the OS keyring where one answers (the
//! freedesktop Secret Service — GNOME Keyring, KWallet, KeePassXC — reached through libsecret's
//! `secret-tool`), else in a file only the user can read.
//!
//! The account's token file names the entry either way: it is the file's path when there is no
//! keyring, and the `file` attribute of the keyring item when there is one, so the CLI and the
//! bindings find the same tokens from the same account description. Once the keyring holds the
//! tokens the file is removed, so no refresh token is left in plain text beside it.
//!
//! `RAPPORT_KEYRING=off` keeps tokens in the file even where a keyring exists (for machines
//! where the keyring is locked at the hours `rapport watch` runs).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sync::graph::Tokens;

/// The keyring's `application` attribute for every item Rapport stores.
const APPLICATION: &str = "rapport";
/// A locked keyring may put up an unlock prompt; longer than this and the file is used.
const KEYRING_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a save put the tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// The Secret Service holds them.
    Keyring,
    /// The file holds them: the keyring was unavailable, or turned off.
    File(PathBuf),
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kept::Keyring => f.write_str("the keyring (Secret Service)"),
            Kept::File(path) => write!(f, "{} (readable by you only)", path.display()),
        }
    }
}

/// The tokens of one Graph account.
#[derive(Debug, Clone)]
pub struct TokenStore {
    file: PathBuf,
    keyring_allowed: bool,
}

impl TokenStore {
    /// The keyring where one answers (unless `RAPPORT_KEYRING=off`), else the file.
    pub fn new(file: &Path) -> TokenStore {
        let off = std::env::var("RAPPORT_KEYRING")
            .is_ok_and(|v| matches!(v.as_str(), "off" | "file" | "0" | "no"));
        TokenStore {
            // The keyring item is found by this path: one spelling for every caller.
            file: std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()),
            keyring_allowed: !off,
        }
    }

    /// The file alone, whatever keyring the machine running the tests has.
    #[cfg(test)]
    fn file_only(file: &Path) -> TokenStore {
        TokenStore {
            keyring_allowed: false,
            ..TokenStore::new(file)
        }
    }

    fn keyring(&self) -> Option<SecretService> {
        if self.keyring_allowed {
            SecretService::reachable()
        } else {
            None
        }
    }

    /// Whether a keyring would be asked at all (for messages that explain a missing sign-in).
    pub fn keyring_reachable(&self) -> bool {
        self.keyring().is_some()
    }

    /// The tokens, from the keyring if it has them, else from the file; `None` when signed out.
    pub fn load(&self) -> Result<Option<Tokens>> {
        if let Some(keyring) = self.keyring() {
            match keyring.lookup(&self.file) {
                Ok(Some(secret)) => {
                    return serde_json::from_str(&secret)
                        .map(Some)
                        .map_err(|e| Error::Config {
                            path: self.file.clone(),
                            detail: format!("the keyring's entry for it is not tokens: {e}"),
                        });
                }
                Ok(None) => {}
                Err(e) => tracing::debug!("keyring lookup failed, trying the file: {e}"),
            }
        }
        Tokens::load(&self.file)
    }

    /// Keeps the tokens in the keyring if it takes them (then removes the file), else in the file.
    pub fn save(&self, tokens: &Tokens) -> Result<Kept> {
        if let Some(keyring) = self.keyring() {
            let secret =
                serde_json::to_string(tokens).map_err(|e| Error::Internal(e.to_string()))?;
            match keyring.store(&self.file, &secret) {
                Ok(()) => {
                    match std::fs::remove_file(&self.file) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::io(&self.file, e)),
                    }
                    return Ok(Kept::Keyring);
                }
                Err(e) => tracing::info!("the keyring did not take the tokens, using a file: {e}"),
            }
        }
        tokens.save(&self.file)?;
        Ok(Kept::File(self.file.clone()))
    }

    /// Where the tokens are now, without reading them out; `None` when signed out.
    pub fn kept(&self) -> Option<Kept> {
        if let Some(keyring) = self.keyring()
            && let Ok(Some(_)) = keyring.lookup(&self.file)
        {
            return Some(Kept::Keyring);
        }
        self.file.is_file().then(|| Kept::File(self.file.clone()))
    }

    /// Signs out: the keyring entry and the file both go.
    pub fn forget(&self) -> Result<()> {
        if let Some(keyring) = self.keyring()
            && let Err(e) = keyring.clear(&self.file)
        {
            tracing::debug!("keyring clear failed: {e}");
        }
        match std::fs::remove_file(&self.file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.file, e)),
        }
    }
}

/// The Secret Service on the user's session bus, through `secret-tool` (package libsecret-tools):
/// the secret goes through a pipe, never on a command line.
struct SecretService {
    tool: PathBuf,
}

impl SecretService {
    /// The service when it can be asked: `secret-tool` installed and a session bus to ask on.
    fn reachable() -> Option<SecretService> {
        if !session_bus_exists() {
            return None;
        }
        find_on_path("secret-tool").map(|tool| SecretService { tool })
    }

    fn attributes(file: &Path) -> Vec<String> {
        vec![
            "application".into(),
            APPLICATION.into(),
            "file".into(),
            file.to_string_lossy().into_owned(),
        ]
    }

    fn store(&self, file: &Path, secret: &str) -> std::result::Result<(), String> {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut args = vec![
            "store".to_string(),
            format!("--label=Rapport: Microsoft sign-in ({name})"),
        ];
        args.extend(Self::attributes(file));
        self.run(&args, Some(secret)).map(|_| ())
    }

    /// The secret, `None` when there is no such item.
    fn lookup(&self, file: &Path) -> std::result::Result<Option<String>, String> {
        let mut args = vec!["lookup".to_string()];
        args.extend(Self::attributes(file));
        match self.run(&args, None) {
            Ok(out) if out.is_empty() => Ok(None),
            Ok(out) => Ok(Some(out)),
            // secret-tool says nothing and exits 1 when no item matches.
            Err(e) if e.is_empty() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn clear(&self, file: &Path) -> std::result::Result<(), String> {
        let mut args = vec!["clear".to_string()];
        args.extend(Self::attributes(file));
        match self.run(&args, None) {
            Ok(_) => Ok(()),
            Err(e) if e.is_empty() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Runs secret-tool: its stdout on success, its stderr (maybe empty) on failure.
    fn run(&self, args: &[String], input: Option<&str>) -> std::result::Result<String, String> {
        let mut child = Command::new(&self.tool)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", self.tool.display()))?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| format!("writing to secret-tool: {e}"))?;
        }
        let deadline = Instant::now() + KEYRING_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "the keyring did not answer within {} s (locked?)",
                        KEYRING_TIMEOUT.as_secs()
                    ));
                }
                Err(e) => return Err(format!("waiting for secret-tool: {e}")),
            }
        };
        // A token is a few kilobytes: the pipes never fill before the tool exits.
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut pipe) = child.stdout.take() {
            let _ = pipe.read_to_string(&mut out);
        }
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut err);
        }
        if status.success() {
            Ok(out)
        } else {
            Err(err.trim().to_string())
        }
    }
}

/// A D-Bus session bus to talk to: without one, secret-tool would try to start one under X11.
fn session_bus_exists() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| Path::new(&dir).join("bus").exists())
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens {
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: 5,
        }
    }

    #[test]
    fn without_a_keyring_tokens_live_in_the_file() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Internal(e.to_string()))?;
        let path = dir.path().join("tokens/work.json");
        let store = TokenStore::file_only(&path);
        assert!(store.load()?.is_none());
        assert_eq!(store.kept(), None);
        assert_eq!(store.save(&tokens())?, Kept::File(path.clone()));
        assert_eq!(store.kept(), Some(Kept::File(path.clone())));
        let back = store.load()?.ok_or(Error::Internal("gone".into()))?;
        assert_eq!(back.refresh_token, "r");
        store.forget()?;
        assert!(!path.exists());
        assert!(store.load()?.is_none());
        Ok(())
    }
}
