//! A small XML reader for the documents Rapport reads from servers (autoconfig files, EWS SOAP
//! answers, Autodiscover): elements, attributes, text, entities, comments and CDATA; no DTDs,
//! and namespaces reduced to local names (every document read here uses one vocabulary per
//! local name). Sans-I/O.

/// One token of a document.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        empty: bool,
    },
    End(String),
    Text(String),
}

/// The element name without a namespace prefix.
fn local_name(name: &str) -> String {
    name.rsplit_once(':').map_or(name, |(_, n)| n).to_string()
}

/// The tokens of `xml`, names without their namespace prefixes, entities decoded.
pub fn tokenize(xml: &str) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    let mut rest = xml.trim_start_matches('\u{feff}');
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            events.push(Event::Text(decode(rest)?));
            break;
        };
        let (before, tail) = rest.split_at(lt);
        if !before.is_empty() {
            events.push(Event::Text(decode(before)?));
        }
        rest = tail;
        let skip_to = |rest: &str, open: &str, close: &str| -> Result<usize, String> {
            rest.find(close)
                .map(|i| i + close.len())
                .ok_or_else(|| format!("{open} without {close}"))
        };
        if let Some(body) = rest.strip_prefix("<![CDATA[") {
            let end = body.find("]]>").ok_or("<![CDATA[ without ]]>")?;
            let (data, after) = body.split_at(end);
            events.push(Event::Text(data.to_string()));
            rest = after.get(3..).unwrap_or("");
        } else if rest.starts_with("<!--") {
            let n = skip_to(rest, "<!--", "-->")?;
            rest = rest.get(n..).unwrap_or("");
        } else if rest.starts_with("<?") {
            let n = skip_to(rest, "<?", "?>")?;
            rest = rest.get(n..).unwrap_or("");
        } else if rest.starts_with("<!") {
            let n = skip_to(rest, "<!", ">")?;
            rest = rest.get(n..).unwrap_or("");
        } else if let Some(body) = rest.strip_prefix("</") {
            let end = body.find('>').ok_or("an end tag without >")?;
            let (name, after) = body.split_at(end);
            events.push(Event::End(local_name(name.trim())));
            rest = after.get(1..).unwrap_or("");
        } else {
            let (event, after) = start_tag(rest.get(1..).unwrap_or(""))?;
            events.push(event);
            rest = after;
        }
    }
    Ok(events)
}

/// A start tag after its `<`: the event and what follows the tag's `>`.
fn start_tag(s: &str) -> Result<(Event, &str), String> {
    let name_end = s
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .ok_or("a tag without >")?;
    let (name, mut rest) = s.split_at(name_end);
    if name.is_empty() {
        return Err("a tag without a name".into());
    }
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/>") {
            return Ok((
                Event::Start {
                    name: local_name(name),
                    attrs,
                    empty: true,
                },
                after,
            ));
        }
        if let Some(after) = rest.strip_prefix('>') {
            return Ok((
                Event::Start {
                    name: local_name(name),
                    attrs,
                    empty: false,
                },
                after,
            ));
        }
        let eq = rest
            .find('=')
            .ok_or_else(|| format!("<{name}>: an attribute without a value"))?;
        let (key, after) = rest.split_at(eq);
        let after = after.get(1..).unwrap_or("").trim_start();
        let quote = after
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or_else(|| format!("<{name}>: an unquoted attribute value"))?;
        let body = after.get(1..).unwrap_or("");
        let close = body
            .find(quote)
            .ok_or_else(|| format!("<{name}>: an attribute value without its closing quote"))?;
        let (value, after) = body.split_at(close);
        attrs.push((local_name(key.trim()), decode(value)?));
        rest = after.get(1..).unwrap_or("");
    }
}

/// Replaces the five XML entities and numeric character references.
pub fn decode(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        let (before, tail) = rest.split_at(amp);
        out.push_str(before);
        let semi = tail.find(';').ok_or("an & without ;")?;
        let entity = tail.get(1..semi).unwrap_or("");
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => {
                let code =
                    if let Some(hex) = entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                        u32::from_str_radix(hex, 16).ok()
                    } else {
                        entity.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                code.and_then(char::from_u32)
            }
        };
        out.push(c.ok_or_else(|| format!("unknown entity &{entity};"))?);
        rest = tail.get(semi + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

/// An element with its attributes, children and text (concatenated direct text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at the end of a path of child names.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |e, n| e.child(n))
    }

    /// The trimmed text of the child called `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// The first descendant (depth first, self included) called `name`.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// Deepest nesting accepted (a hostile document must not exhaust the stack or memory).
const MAX_DEPTH: usize = 64;

/// The root element of `xml`.
pub fn parse(xml: &str) -> Result<Element, String> {
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    for event in tokenize(xml)? {
        match event {
            Event::Start { name, attrs, empty } => {
                let element = Element {
                    name,
                    attrs,
                    ..Default::default()
                };
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                if empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                    }
                    stack.push(element);
                }
            }
            Event::End(name) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| format!("</{name}> without its start tag"))?;
                if element.name != name {
                    return Err(format!("<{}> closed by </{name}>", element.name));
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => match stack.last_mut() {
                Some(e) => e.text.push_str(&t),
                None if t.trim().is_empty() => {}
                None => return Err("text outside the root element".into()),
            },
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{}> is never closed", open.name));
    }
    root.ok_or_else(|| "no root element".into())
}

/// `s` with the characters XML reserves written as entities (for text and attribute values).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_tree_without_prefixes() -> Result<(), String> {
        let doc = parse(
            "<?xml version='1.0'?><s:Envelope xmlns:s='x'><s:Body><m:R A=\"1 &amp; 2\">t<t:X/>ext</m:R></s:Body></s:Envelope>",
        )?;
        assert_eq!(doc.name, "Envelope");
        let r = doc.path(&["Body", "R"]).ok_or("no R")?;
        assert_eq!(r.attr("A"), Some("1 & 2"));
        assert_eq!(r.text, "text");
        assert!(doc.find("X").is_some());
        Ok(())
    }

    #[test]
    fn refuses_broken_documents_with_a_reason() {
        for (xml, why) in [
            ("<a><b></a>", "closed by"),
            ("<a>", "never closed"),
            ("</a>", "without its start"),
            ("", "no root"),
            ("<a/><b/>", "after the root"),
        ] {
            let err = parse(xml).err().unwrap_or_default();
            assert!(err.contains(why), "{xml}: {err}");
        }
        let deep = "<a>".repeat(100);
        assert!(parse(&deep).err().unwrap_or_default().contains("deeper"));
    }

    #[test]
    fn escapes_round_trip() -> Result<(), String> {
        let text = "<a href=\"x\">Tom & 'Jerry'</a>";
        assert_eq!(decode(&escape(text))?, text);
        Ok(())
    }
}
