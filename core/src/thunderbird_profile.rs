//! Reading a Thunderbird profile's mail accounts: where the profile is (`profiles.ini`), and its
//! `prefs.js` (`user_pref("mail.server.server1.hostname", "…");` lines). Only server settings
//! are read (IMAP and POP3: host, port, encryption, login name, address); never passwords
//! (`logins.json`, `key4.db` are not opened).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{AccountKind, AuthKind, Security};
use crate::error::{Error, Result};

/// One value of `prefs.js`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pref {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl Pref {
    fn as_str(&self) -> Option<&str> {
        match self {
            Pref::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_int(&self) -> Option<i64> {
        match self {
            Pref::Int(n) => Some(*n),
            Pref::Str(s) => s.trim().parse().ok(),
            Pref::Bool(_) => None,
        }
    }
}

/// Every `user_pref(name, value);` (and `pref(…)`) of a `prefs.js` text. An error gives the line
/// and what is wrong there.
pub fn parse_prefs(text: &str) -> std::result::Result<BTreeMap<String, Pref>, (usize, String)> {
    let mut prefs = BTreeMap::new();
    let mut p = Parser { text, pos: 0 };
    loop {
        p.skip_space_and_comments()?;
        if p.pos >= text.len() {
            return Ok(prefs);
        }
        let word = p.ident();
        if !matches!(word, "user_pref" | "pref" | "sticky_pref") {
            return Err((
                p.line(),
                format!("expected user_pref(…), found '{}'", p.snippet()),
            ));
        }
        p.skip_space_and_comments()?;
        p.expect('(')?;
        p.skip_space_and_comments()?;
        let name = p.string()?;
        p.skip_space_and_comments()?;
        p.expect(',')?;
        p.skip_space_and_comments()?;
        let value = p.value()?;
        p.skip_space_and_comments()?;
        p.expect(')')?;
        p.skip_space_and_comments()?;
        p.expect(';')?;
        prefs.insert(name, value);
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn line(&self) -> usize {
        1 + self
            .text
            .get(..self.pos)
            .unwrap_or_default()
            .matches('\n')
            .count()
    }

    fn snippet(&self) -> String {
        self.rest().chars().take(20).collect()
    }

    fn skip_space_and_comments(&mut self) -> std::result::Result<(), (usize, String)> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") || trimmed.starts_with('#') {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if trimmed.starts_with("/*") {
                let end = trimmed
                    .find("*/")
                    .ok_or_else(|| (self.line(), "a /* comment that never ends".to_string()))?;
                self.pos += end + 2;
            } else {
                return Ok(());
            }
        }
    }

    fn ident(&mut self) -> &'a str {
        let rest = self.rest();
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += n;
        rest.get(..n).unwrap_or_default()
    }

    fn expect(&mut self, c: char) -> std::result::Result<(), (usize, String)> {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err((
                self.line(),
                format!("expected '{c}', found '{}'", self.snippet()),
            ))
        }
    }

    /// A JavaScript string literal ("…" or '…') with its escapes.
    fn string(&mut self) -> std::result::Result<String, (usize, String)> {
        let line = self.line();
        let mut chars = self.rest().char_indices();
        let quote = match chars.next() {
            Some((_, q @ ('"' | '\''))) => q,
            _ => {
                return Err((
                    line,
                    format!("expected a string, found '{}'", self.snippet()),
                ));
            }
        };
        let mut out = String::new();
        let unterminated = || (line, "a string that never ends".to_string());
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\n' => return Err(unterminated()),
                '\\' => {
                    let (_, e) = chars.next().ok_or_else(unterminated)?;
                    let mut hex = |n: usize| -> std::result::Result<u32, (usize, String)> {
                        let digits: String = (0..n)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        u32::from_str_radix(&digits, 16)
                            .map_err(|_| (line, format!("a bad escape \\{e}{digits}")))
                    };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'v' => out.push('\u{b}'),
                        '0' => out.push('\0'),
                        'x' => out.push(char::from_u32(hex(2)?).unwrap_or('\u{fffd}')),
                        'u' => {
                            let unit = hex(4)?;
                            // A surrogate pair is two \u escapes.
                            let c = if (0xD800..0xDC00).contains(&unit) {
                                let rest = chars.as_str();
                                match rest
                                    .strip_prefix("\\u")
                                    .and_then(|r| r.get(..4))
                                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                                {
                                    Some(low) if (0xDC00..0xE000).contains(&low) => {
                                        for _ in 0..6 {
                                            chars.next();
                                        }
                                        char::from_u32(
                                            0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00),
                                        )
                                    }
                                    _ => None,
                                }
                            } else {
                                char::from_u32(unit)
                            };
                            out.push(c.unwrap_or('\u{fffd}'));
                        }
                        '\n' => {}
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        Err(unterminated())
    }

    fn value(&mut self) -> std::result::Result<Pref, (usize, String)> {
        let rest = self.rest();
        if rest.starts_with('"') || rest.starts_with('\'') {
            return self.string().map(Pref::Str);
        }
        let n = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '+' || c == '.'))
            .unwrap_or(rest.len());
        let word = rest.get(..n).unwrap_or_default();
        let value = match word {
            "true" => Pref::Bool(true),
            "false" => Pref::Bool(false),
            _ => Pref::Int(word.parse().map_err(|_| {
                (
                    self.line(),
                    format!("expected a value, found '{}'", self.snippet()),
                )
            })?),
        };
        self.pos += n;
        Ok(value)
    }
}

/// A mail account of the profile that Rapport can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileAccount {
    /// Thunderbird's key (`account1`).
    pub key: String,
    /// The account's name in Thunderbird (often the address).
    pub name: String,
    pub kind: AccountKind,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    /// The address of the account's first identity.
    pub email: Option<String>,
    pub auth: AuthKind,
}

/// An account of the profile that is not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedAccount {
    pub key: String,
    pub name: String,
    pub reason: String,
}

/// The IMAP and POP3 accounts of a profile's prefs, in Thunderbird's order
/// (`mail.accountmanager.accounts`), and the accounts left out (Local Folders, news, feeds…).
pub fn accounts(prefs: &BTreeMap<String, Pref>) -> (Vec<ProfileAccount>, Vec<SkippedAccount>) {
    let get = |k: String| prefs.get(&k);
    let get_str = |k: String| {
        get(k)
            .and_then(Pref::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let mut keys: Vec<String> = get_str("mail.accountmanager.accounts".into())
        .map(|list| {
            list.split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if keys.is_empty() {
        // Older or hand-made profiles: every account that names a server.
        keys = prefs
            .keys()
            .filter_map(|k| k.strip_prefix("mail.account.")?.strip_suffix(".server"))
            .map(String::from)
            .collect();
    }
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for key in keys {
        let Some(server) = get_str(format!("mail.account.{key}.server")) else {
            skipped.push(SkippedAccount {
                key: key.clone(),
                name: key,
                reason: "no server".into(),
            });
            continue;
        };
        let s = |field: &str| {
            // Thunderbird writes `hostname` and `userName`; accept any case, the `real…`
            // variants (what the user changed the server to) first.
            let wanted = format!("mail.server.{server}.{}", field.to_ascii_lowercase());
            prefs
                .iter()
                .find(|(k, _)| k.to_ascii_lowercase() == wanted)
                .map(|(_, v)| v)
        };
        let s_str = |field: &str| {
            s(field)
                .and_then(Pref::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        let server_type = s_str("type").unwrap_or_default();
        let name = s_str("name").unwrap_or_else(|| key.clone());
        let kind = match server_type.to_ascii_lowercase().as_str() {
            "imap" => AccountKind::Imap,
            "pop3" => AccountKind::Pop3,
            other => {
                let reason = match other {
                    "none" => "Local Folders (no server)".to_string(),
                    "nntp" => "a news server (Rapport reads mail)".to_string(),
                    "rss" => "feeds (Rapport reads mail)".to_string(),
                    "" => "no server type".to_string(),
                    t => format!("a server of type '{t}' (Rapport reads IMAP and POP3)"),
                };
                skipped.push(SkippedAccount { key, name, reason });
                continue;
            }
        };
        let Some(host) = s_str("realhostname").or_else(|| s_str("hostname")) else {
            skipped.push(SkippedAccount {
                key,
                name,
                reason: "no host name".into(),
            });
            continue;
        };
        let security = match s("socketType").and_then(Pref::as_int) {
            Some(3) => Security::Tls,
            Some(1) | Some(2) => Security::Starttls,
            Some(0) => Security::None,
            // Thunderbird's default for a server without the pref is plain; keep to what it
            // would do.
            None => Security::None,
            Some(n) => {
                skipped.push(SkippedAccount {
                    key,
                    name,
                    reason: format!("an unknown socketType {n}"),
                });
                continue;
            }
        };
        let port = s("port")
            .and_then(Pref::as_int)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .unwrap_or(match kind {
                AccountKind::Pop3 => security.default_pop3_port(),
                _ => security.default_port(),
            });
        let user = s_str("realuserName")
            .or_else(|| s_str("userName"))
            .unwrap_or_default();
        // authMethod 10 is OAuth2 (nsMsgAuthMethod::OAuth2).
        let auth = if s("authMethod").and_then(Pref::as_int) == Some(10) {
            AuthKind::Xoauth2
        } else {
            AuthKind::Password
        };
        let email = get_str(format!("mail.account.{key}.identities"))
            .and_then(|ids| ids.split(',').next().map(|i| i.trim().to_string()))
            .and_then(|id| get_str(format!("mail.identity.{id}.useremail")));
        found.push(ProfileAccount {
            key,
            name,
            kind,
            host,
            port,
            security,
            user,
            email,
            auth,
        });
    }
    (found, skipped)
}

/// Reads and parses `<profile>/prefs.js`.
pub fn read_profile(profile: &Path) -> Result<(Vec<ProfileAccount>, Vec<SkippedAccount>)> {
    let file = profile.join("prefs.js");
    if !profile.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{} is not a Thunderbird profile directory",
            profile.display()
        )));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
    let prefs = parse_prefs(&text).map_err(|(line, detail)| Error::Config {
        path: file.clone(),
        detail: format!("line {line}: {detail}"),
    })?;
    Ok(accounts(&prefs))
}

/// Where Thunderbird keeps its profiles under `home`, most usual first (Debian and other
/// packages, the snap, the flatpak, macOS).
pub fn profile_roots(home: &Path) -> Vec<PathBuf> {
    vec![
        home.join(".thunderbird"),
        home.join("snap/thunderbird/common/.thunderbird"),
        home.join(".var/app/org.mozilla.Thunderbird/.thunderbird"),
        home.join("Library/Thunderbird"),
    ]
}

/// The profile Thunderbird starts with: `profiles.ini`'s `[Install…] Default=`, else the
/// profile marked `Default=1`, else the only one; without a `profiles.ini`, a `*.default-release`
/// (else `*.default`) directory. `name` picks a profile by its name in `profiles.ini` instead.
pub fn find_profile(home: &Path, name: Option<&str>) -> Result<PathBuf> {
    let roots = profile_roots(home);
    for root in &roots {
        let ini = root.join("profiles.ini");
        let Ok(text) = std::fs::read_to_string(&ini) else {
            continue;
        };
        if let Some(path) = profile_from_ini(&text, root, name) {
            return Ok(path);
        }
        if name.is_some() {
            continue;
        }
    }
    if name.is_none() {
        for suffix in [".default-release", ".default"] {
            for root in &roots {
                let Ok(entries) = std::fs::read_dir(root) else {
                    continue;
                };
                let mut dirs: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_dir() && p.to_string_lossy().ends_with(suffix))
                    .collect();
                dirs.sort();
                if let Some(dir) = dirs.into_iter().next() {
                    return Ok(dir);
                }
            }
        }
    }
    Err(Error::NotFound {
        what: "Thunderbird profile",
        name: match name {
            Some(n) => format!(
                "{n} (no profile of that name in {})",
                roots
                    .iter()
                    .map(|r| r.join("profiles.ini").display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!(
                "no profiles.ini or *.default-release directory in {}; pass the profile directory",
                roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    })
}

/// The profile `profiles.ini` (in `root`) names: by `name`, else the default one.
pub fn profile_from_ini(text: &str, root: &Path, name: Option<&str>) -> Option<PathBuf> {
    let mut sections: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((section.to_string(), BTreeMap::new()));
        } else if let Some((k, v)) = line.split_once('=')
            && let Some((_, map)) = sections.last_mut()
        {
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    let resolve = |path: &str, relative: bool| {
        if relative {
            root.join(path)
        } else {
            PathBuf::from(path)
        }
    };
    let profiles: Vec<&BTreeMap<String, String>> = sections
        .iter()
        .filter(|(s, _)| s.starts_with("Profile"))
        .map(|(_, m)| m)
        .collect();
    let path_of = |m: &BTreeMap<String, String>| {
        m.get("Path")
            .map(|p| resolve(p, m.get("IsRelative").is_none_or(|r| r == "1")))
    };
    if let Some(name) = name {
        return profiles
            .iter()
            .find(|m| m.get("Name").map(String::as_str) == Some(name))
            .and_then(|m| path_of(m));
    }
    // A Thunderbird install's default (recent versions) is relative to the root.
    if let Some(path) = sections
        .iter()
        .filter(|(s, _)| s.starts_with("Install"))
        .find_map(|(_, m)| m.get("Default"))
    {
        let relative = profiles
            .iter()
            .find(|m| m.get("Path") == Some(path))
            .is_none_or(|m| m.get("IsRelative").is_none_or(|r| r == "1"));
        return Some(resolve(path, relative));
    }
    if let Some(m) = profiles
        .iter()
        .find(|m| m.get("Default").map(String::as_str) == Some("1"))
    {
        return path_of(m);
    }
    match profiles.as_slice() {
        [only] => path_of(only),
        _ => None,
    }
}

/// A name for a new account from Thunderbird's: letters, digits and `@ . _ + -` only (so it
/// is safe in a shell command), not one of `taken`.
pub fn account_name(thunderbird_name: &str, taken: &[String]) -> String {
    let base: String = thunderbird_name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "@._+-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let base = if base.is_empty() {
        "thunderbird".to_string()
    } else {
        base
    };
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As Thunderbird writes it (header comment, sorted prefs), with the accounts of
    /// tests/e2e/thunderbird/prefs.js.in and an IMAP, a news and a feed account added.
    const PREFS: &str = r#"// Mozilla User Preferences

// DO NOT EDIT THIS FILE.
/* If you make changes to this file while the application is running,
 * the changes will be overwritten when the application exits. */

user_pref("mail.account.account1.identities", "id1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.account.account3.identities", "id2,id3");
user_pref("mail.account.account3.server", "server3");
user_pref("mail.account.account4.server", "server4");
user_pref("mail.account.account5.server", "server5");
user_pref("mail.accountmanager.accounts", "account1,account3,account2,account4,account5");
user_pref("mail.identity.id1.useremail", "alice@example.test");
user_pref("mail.identity.id2.useremail", "b\u00F6b@example.test");
user_pref("mail.identity.id3.useremail", "other@example.test");
user_pref("mail.server.server1.authMethod", 3);
user_pref("mail.server.server1.hostname", "127.0.0.1");
user_pref("mail.server.server1.name", "alice@example.test");
user_pref("mail.server.server1.port", 31110);
user_pref("mail.server.server1.socketType", 0);
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server1.userName", "alice");
user_pref("mail.server.server2.hostname", "Local Folders");
user_pref("mail.server.server2.name", "Local Folders");
user_pref("mail.server.server2.type", "none");
user_pref("mail.server.server3.authMethod", 10);
user_pref("mail.server.server3.hostname", "imap.example.test");
user_pref("mail.server.server3.realhostname", "imap2.example.test");
user_pref("mail.server.server3.name", "Work \"IMAP\"\\mail");
user_pref("mail.server.server3.socketType", 3);
user_pref("mail.server.server3.type", "imap");
user_pref("mail.server.server3.userName", "bob");
user_pref("mail.server.server4.hostname", "news.example.test");
user_pref("mail.server.server4.type", "nntp");
user_pref("mail.server.server5.type", "rss");
user_pref("mail.server.server5.name", "Blogs & News Feeds");
user_pref("mailnews.start_page.enabled", false);
"#;

    #[test]
    fn prefs_js_with_escapes_numbers_and_booleans() {
        let prefs = parse_prefs(PREFS).unwrap();
        assert_eq!(
            prefs.get("mail.server.server1.port"),
            Some(&Pref::Int(31110))
        );
        assert_eq!(
            prefs.get("mailnews.start_page.enabled"),
            Some(&Pref::Bool(false))
        );
        assert_eq!(
            prefs.get("mail.server.server3.name"),
            Some(&Pref::Str("Work \"IMAP\"\\mail".into()))
        );
        let p = parse_prefs("user_pref('a', '\\x41\\ud83d\\ude00\\n'); pref(\"b\", -3) ; // x\n")
            .unwrap();
        assert_eq!(p.get("a"), Some(&Pref::Str("A😀\n".into())));
        assert_eq!(p.get("b"), Some(&Pref::Int(-3)));
    }

    #[test]
    fn malformed_prefs_name_the_line() {
        for (text, line, what) in [
            (
                "user_pref(\"a\", 1);\nuser_pref(\"b\" 2);\n",
                2,
                "expected ','",
            ),
            ("user_pref(\"a\", \"never ends);\n", 1, "never ends"),
            ("\n\nalert(1);", 3, "expected user_pref"),
            ("user_pref(\"a\", 1)\n", 2, "expected ';'"),
            ("user_pref(\"a\", yes);", 1, "expected a value"),
        ] {
            let (l, detail) = parse_prefs(text).unwrap_err();
            assert_eq!(l, line, "{text:?}: {detail}");
            assert!(detail.contains(what), "{text:?}: {detail}");
        }
    }

    #[test]
    fn imap_and_pop3_accounts_in_thunderbirds_order_others_skipped() {
        let (found, skipped) = accounts(&parse_prefs(PREFS).unwrap());
        assert_eq!(found.len(), 2);
        let pop = &found[0];
        assert_eq!(
            (
                pop.kind,
                pop.host.as_str(),
                pop.port,
                pop.security,
                pop.user.as_str()
            ),
            (
                AccountKind::Pop3,
                "127.0.0.1",
                31110,
                Security::None,
                "alice"
            )
        );
        assert_eq!(pop.email.as_deref(), Some("alice@example.test"));
        assert_eq!(pop.auth, AuthKind::Password);
        let imap = &found[1];
        assert_eq!(
            (
                imap.kind,
                imap.host.as_str(),
                imap.port,
                imap.security,
                imap.auth
            ),
            (
                AccountKind::Imap,
                "imap2.example.test",
                993,
                Security::Tls,
                AuthKind::Xoauth2
            )
        );
        assert_eq!(imap.email.as_deref(), Some("böb@example.test"));
        let reasons: Vec<&str> = skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(reasons.len(), 3);
        assert!(
            reasons[0].contains("Local Folders")
                && reasons[1].contains("news")
                && reasons[2].contains("feeds")
        );
    }

    #[test]
    fn profiles_ini_and_default_dirs() {
        let root = Path::new("/h/.thunderbird");
        let ini = "[Profile1]\nName=work\nIsRelative=1\nPath=abc.work\n\n[Profile0]\nName=default-release\nIsRelative=1\nPath=xyz.default-release\nDefault=1\n\n[General]\nStartWithLastProfile=1\n";
        assert_eq!(
            profile_from_ini(ini, root, None),
            Some(root.join("xyz.default-release"))
        );
        assert_eq!(
            profile_from_ini(ini, root, Some("work")),
            Some(root.join("abc.work"))
        );
        assert_eq!(profile_from_ini(ini, root, Some("nope")), None);
        let with_install =
            format!("[Install4F96D1932A9F858E]\nDefault=abc.work\nLocked=1\n\n{ini}");
        assert_eq!(
            profile_from_ini(&with_install, root, None),
            Some(root.join("abc.work"))
        );
        let absolute = "[Profile0]\nName=x\nIsRelative=0\nPath=/data/tb\n";
        assert_eq!(
            profile_from_ini(absolute, root, None),
            Some(PathBuf::from("/data/tb"))
        );

        let home = tempfile::tempdir().unwrap();
        let err = find_profile(home.path(), None).unwrap_err().to_string();
        assert!(err.contains(".thunderbird"), "{err}");
        let dir = home.path().join(".thunderbird/q1w2.default-release");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(find_profile(home.path(), None).unwrap(), dir);
        let err = read_profile(&dir).unwrap_err().to_string();
        assert!(err.contains("prefs.js"), "{err}");
        std::fs::write(dir.join("prefs.js"), "user_pref(\"x\", );\n").unwrap();
        let err = read_profile(&dir).unwrap_err().to_string();
        assert!(err.contains("prefs.js") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn names_are_made_unique() {
        let taken = vec![
            "alice@example.test".to_string(),
            "alice@example.test-2".to_string(),
        ];
        assert_eq!(
            account_name("alice@example.test", &taken),
            "alice@example.test-3"
        );
        assert_eq!(account_name("Work IMAP", &taken), "Work-IMAP");
        assert_eq!(account_name("Blogs & \"News\"", &taken), "Blogs----News-");
        assert_eq!(account_name("  ", &[]), "thunderbird");
    }
}
