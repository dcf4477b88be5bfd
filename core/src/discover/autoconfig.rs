//! Thunderbird's autoconfig format (`clientConfig`, the ISPDB's `config-v1.1.xml`): the
//! incoming IMAP and POP3 servers of the first `emailProvider`, read by a small XML reader that
//! knows elements, attributes, text, entities, comments and CDATA (no DTDs, no namespaces
//! beyond dropping a prefix). Sans-I/O.

use crate::config::{AccountKind, AuthKind, Security};
use crate::xml::{Event, tokenize};

/// One incoming server an autoconfig file offers, its placeholders filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub kind: AccountKind,
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// The login name the provider says to use (`%EMAILADDRESS%`, `%EMAILLOCALPART%`, …
    /// already replaced), if it says one.
    pub user: Option<String>,
    /// The ways to log in that Rapport can use, in the file's order (none listed: password).
    pub auth: Vec<AuthKind>,
}

/// The incoming IMAP and POP3 servers of `xml`, in the file's order, with `email`'s parts put
/// in for the placeholders. Servers of other types (Exchange, JMAP), with a socket type,
/// port or way to log in that Rapport cannot use, are left out. An error says why the text is
/// not a `clientConfig` document.
pub fn parse(xml: &str, email: &str) -> Result<Vec<Server>, String> {
    let events = tokenize(xml)?;
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let fill = |s: &str| {
        s.trim()
            .replace("%EMAILADDRESS%", email)
            .replace("%EMAILLOCALPART%", local)
            .replace("%EMAILDOMAIN%", domain)
    };
    let mut stack: Vec<String> = Vec::new();
    let mut saw_root = false;
    let mut providers = 0usize;
    let mut servers = Vec::new();
    // The server being read: its type, and its child elements' texts.
    let mut current: Option<(String, Vec<(String, String)>)> = None;
    let mut text = String::new();
    for event in events {
        match event {
            Event::Start { name, attrs, empty } => {
                if stack.is_empty() {
                    if name != "clientConfig" {
                        return Err(format!("the document is <{name}>, not <clientConfig>"));
                    }
                    saw_root = true;
                }
                if name == "emailProvider" && stack.len() == 1 {
                    providers += 1;
                }
                if name == "incomingServer" && providers == 1 && stack.len() == 2 {
                    let kind = attrs
                        .iter()
                        .find(|(k, _)| k == "type")
                        .map(|(_, v)| v.to_ascii_lowercase())
                        .unwrap_or_default();
                    current = Some((kind, Vec::new()));
                }
                text.clear();
                if !empty {
                    stack.push(name);
                }
            }
            Event::Text(t) => text.push_str(&t),
            Event::End(name) => {
                if stack.last() != Some(&name) {
                    return Err(format!("</{name}> does not close the open element"));
                }
                stack.pop();
                if name == "incomingServer" && stack.len() == 2 {
                    if let Some((kind, fields)) = current.take()
                        && let Some(server) = server_of(&kind, &fields, &fill)
                    {
                        servers.push(server);
                    }
                } else if stack.len() == 3
                    && let Some((_, fields)) = current.as_mut()
                {
                    fields.push((name, text.clone()));
                }
                text.clear();
            }
        }
    }
    if !saw_root {
        return Err("no <clientConfig> element".into());
    }
    if !stack.is_empty() {
        return Err(format!("<{}> is never closed", stack.join("><")));
    }
    Ok(servers)
}

fn server_of(
    kind: &str,
    fields: &[(String, String)],
    fill: &dyn Fn(&str) -> String,
) -> Option<Server> {
    let kind = match kind {
        "imap" => AccountKind::Imap,
        "pop3" => AccountKind::Pop3,
        _ => return None,
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| fill(v))
            .filter(|v| !v.is_empty())
    };
    let host = field("hostname")?;
    let security = match field("socketType")
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("SSL") | Some("TLS") => Security::Tls,
        Some("STARTTLS") => Security::Starttls,
        Some("PLAIN") => Security::None,
        None => Security::Tls,
        Some(_) => return None,
    };
    let port = match field("port") {
        Some(p) => p.parse().ok().filter(|p| *p > 0)?,
        None => match kind {
            AccountKind::Pop3 => security.default_pop3_port(),
            _ => security.default_port(),
        },
    };
    let listed: Vec<&str> = fields
        .iter()
        .filter(|(k, _)| k == "authentication")
        .map(|(_, v)| v.trim())
        .collect();
    let mut auth = Vec::new();
    for way in &listed {
        let usable = match way.to_ascii_lowercase().as_str() {
            "password-cleartext" | "plain" | "password-encrypted" | "secure" => {
                Some(AuthKind::Password)
            }
            "oauth2" => Some(AuthKind::Xoauth2),
            _ => None,
        };
        if let Some(a) = usable
            && !auth.contains(&a)
        {
            auth.push(a);
        }
    }
    if listed.is_empty() {
        auth.push(AuthKind::Password);
    } else if auth.is_empty() {
        // Only NTLM, GSSAPI, client certificates or the like: nothing Rapport can do.
        return None;
    }
    Some(Server {
        kind,
        host,
        port,
        security,
        user: field("username"),
        auth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a real ISPDB entry (the shape of autoconfig.thunderbird.net/v1.1/…).
    const ISPDB: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment with <tags> inside -->
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <displayName>Example &amp; Co</displayName>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <authentication>OAuth2</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type='pop3'>
      <hostname>pop.example.org</hostname>
      <port>110</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username>
      <authentication>password-encrypted</authentication>
      <pop3><leaveMessagesOnServer>true</leaveMessagesOnServer></pop3>
    </incomingServer>
    <incomingServer type="exchange">
      <hostname>outlook.example.org</hostname>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>legacy.example.org</hostname>
      <port>143</port>
      <socketType>plain</socketType>
      <authentication>NTLM</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.org</hostname>
      <port>465</port>
      <socketType>SSL</socketType>
    </outgoingServer>
    <documentation url="http://example.org/help"><descr lang="en">Help</descr></documentation>
  </emailProvider>
  <emailProvider id="second"><incomingServer type="imap"><hostname>no.example</hostname></incomingServer></emailProvider>
</clientConfig>"#;

    #[test]
    fn reads_the_imap_and_pop3_servers_with_placeholders_filled() {
        let servers = parse(ISPDB, "jane.doe@example.org").unwrap();
        assert_eq!(
            servers,
            vec![
                Server {
                    kind: AccountKind::Imap,
                    host: "imap.example.org".into(),
                    port: 993,
                    security: Security::Tls,
                    user: Some("jane.doe@example.org".into()),
                    auth: vec![AuthKind::Password, AuthKind::Xoauth2],
                },
                Server {
                    kind: AccountKind::Pop3,
                    host: "pop.example.org".into(),
                    port: 110,
                    security: Security::Starttls,
                    user: Some("jane.doe".into()),
                    auth: vec![AuthKind::Password],
                },
            ]
        );
    }

    #[test]
    fn defaults_cdata_entities_and_prefixes() {
        let xml = "<x:clientConfig xmlns:x='urn:x'><x:emailProvider id=\"a\"><x:incomingServer type=\"IMAP\">\
            <x:hostname><![CDATA[mail.a.example]]></x:hostname><x:socketType>STARTTLS</x:socketType>\
            <x:username>&#37;EMAILLOCALPART&#x25;</x:username></x:incomingServer></x:emailProvider></x:clientConfig>";
        let servers = parse(xml, "bo@a.example").unwrap();
        assert_eq!(servers.len(), 1);
        assert_eq!(
            (
                servers[0].host.as_str(),
                servers[0].port,
                servers[0].security
            ),
            ("mail.a.example", 143, Security::Starttls)
        );
        assert_eq!(servers[0].user.as_deref(), Some("bo"));
        assert_eq!(servers[0].auth, vec![AuthKind::Password]);
    }

    #[test]
    fn refuses_what_is_not_a_client_config() {
        for (xml, why) in [
            ("<html><body>Not found</body></html>", "not <clientConfig>"),
            ("just text", "no <clientConfig>"),
            (
                "<clientConfig><emailProvider></clientConfig>",
                "does not close",
            ),
            ("<clientConfig><emailProvider>", "never closed"),
            ("<clientConfig a=b></clientConfig>", "unquoted"),
            ("<clientConfig>&nbsp;</clientConfig>", "unknown entity"),
            ("<clientConfig><!-- open", "without -->"),
        ] {
            let err = parse(xml, "a@b.example").unwrap_err();
            assert!(err.contains(why), "{xml}: {err}");
        }
        assert_eq!(parse("<clientConfig/>", "a@b").unwrap(), vec![]);
    }
}
