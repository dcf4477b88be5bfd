//! Where Rapport keeps its files by default, per platform.

use std::path::PathBuf;

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
}

/// The per-user data directory: `$XDG_DATA_HOME/rapport` or `~/.local/share/rapport` on Linux,
/// `~/Library/Application Support/Rapport` on macOS, `%APPDATA%\Rapport` on Windows.
pub fn data_dir() -> PathBuf {
    if cfg!(target_os = "windows") {
        if let Some(appdata) = std::env::var_os("APPDATA") {
            return PathBuf::from(appdata).join("Rapport");
        }
    } else if cfg!(target_os = "macos") {
        if let Some(h) = home() {
            return h.join("Library/Application Support/Rapport");
        }
    } else if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("rapport");
    } else if let Some(h) = home() {
        return h.join(".local/share/rapport");
    }
    PathBuf::from(".rapport")
}

/// The per-user configuration directory (accounts): `$XDG_CONFIG_HOME/rapport` or
/// `~/.config/rapport` on Linux, the data directory elsewhere.
pub fn config_dir() -> PathBuf {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return data_dir();
    }
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("rapport");
    }
    match home() {
        Some(h) => h.join(".config/rapport"),
        None => PathBuf::from(".rapport"),
    }
}

pub fn default_db() -> PathBuf {
    data_dir().join("rapport.db")
}
