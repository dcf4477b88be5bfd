//! Exports: CSV and vCard 4.0 for address books and spreadsheets, JSON for scripts, and an
//! iCalendar file of VTODO follow-ups for neglected contacts.

use std::io::Write;

use crate::error::{Error, Result};
use crate::model::{ContactDetail, ContactSummary, NeglectedItem};
use crate::time::{Timestamp, format_iso};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Vcard,
    Json,
    Ical,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Csv,
        ExportFormat::Vcard,
        ExportFormat::Json,
        ExportFormat::Ical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Vcard => "vcard",
            ExportFormat::Json => "json",
            ExportFormat::Ical => "ical",
        }
    }
}

// File extensions and the standard's own name, as people type them.
crate::choice::choice_traits!(
    ExportFormat,
    "export format",
    aliases [("vcf", Vcard), ("ics", Ical), ("icalendar", Ical)]
);

fn io(e: std::io::Error) -> Error {
    Error::io("export output", e)
}

fn csv_field(s: &str) -> String {
    // No control characters (escape sequences, NUL) reach the file, and spreadsheet formulas
    // (=, +, -, @ at the start of a cell) are defused.
    let s = crate::text::printable(s);
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn opt(t: Option<Timestamp>) -> String {
    t.map(|t| format_iso(t.0)).unwrap_or_default()
}

pub fn write_csv(out: &mut dyn Write, rows: &[(ContactSummary, Vec<String>)]) -> Result<()> {
    writeln!(
        out,
        "name,email,other_emails,group,first_contact,last_contact,last_inbound,last_outbound,inbound_count,outbound_count,thread_count,cadence_days,due,neglected"
    )
    .map_err(io)?;
    for (c, emails) in rows {
        let others = emails.iter().skip(1).cloned().collect::<Vec<_>>().join(" ");
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&c.name),
            csv_field(&c.email),
            csv_field(&others),
            csv_field(&c.group),
            opt(c.first_contact),
            opt(c.last_contact),
            opt(c.last_inbound),
            opt(c.last_outbound),
            c.inbound_count,
            c.outbound_count,
            c.thread_count,
            c.cadence_days.map(|d| d.to_string()).unwrap_or_default(),
            opt(c.due),
            c.neglected
        )
        .map_err(io)?;
    }
    Ok(())
}

/// Escapes a vCard/iCalendar text value (RFC 6350 §3.4, RFC 5545 §3.3.11).
fn text(s: &str) -> String {
    crate::text::printable(s)
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;")
        .replace('\n', "\\n")
        .replace('\r', "")
}

/// Folds a content line at 75 octets (RFC 6350 §3.2, RFC 5545 §3.1).
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let w = c.len_utf8();
        if width + w > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += w;
    }
    out.push_str("\r\n");
    out
}

fn vdate(ts: i64) -> String {
    format_iso(ts).replace(['-', ':'], "")
}

pub fn write_vcard(out: &mut dyn Write, rows: &[(ContactSummary, Vec<String>)]) -> Result<()> {
    for (c, emails) in rows {
        let mut card = String::new();
        card.push_str("BEGIN:VCARD\r\nVERSION:4.0\r\n");
        let name = if c.name.is_empty() { &c.email } else { &c.name };
        card.push_str(&fold(&format!("FN:{}", text(name))));
        for (i, e) in emails.iter().enumerate() {
            let pref = if i == 0 { ";PREF=1" } else { "" };
            card.push_str(&fold(&format!("EMAIL{pref}:{}", text(e))));
        }
        if !c.group.is_empty() {
            card.push_str(&fold(&format!("CATEGORIES:{}", text(&c.group))));
        }
        let mut note = format!(
            "Rapport: {} received, {} sent, {} threads",
            c.inbound_count, c.outbound_count, c.thread_count
        );
        if let Some(last) = c.last_contact {
            note.push_str(&format!("; last contact {}", format_iso(last.0)));
        }
        card.push_str(&fold(&format!("NOTE:{}", text(&note))));
        card.push_str(&format!("UID:urn:rapport:contact:{}\r\n", c.id));
        if let Some(last) = c.last_contact {
            card.push_str(&format!("REV:{}\r\n", vdate(last.0)));
        }
        card.push_str("END:VCARD\r\n");
        out.write_all(card.as_bytes()).map_err(io)?;
    }
    Ok(())
}

pub fn write_json(out: &mut dyn Write, contacts: &[ContactDetail]) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, contacts)
        .map_err(|e| Error::Internal(format!("JSON export: {e}")))?;
    writeln!(out).map_err(io)?;
    Ok(())
}

/// One VTODO per neglected contact, due now, reminding the user to get in touch.
pub fn write_ical(out: &mut dyn Write, items: &[NeglectedItem], now: i64) -> Result<()> {
    let mut cal = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Rapport//Follow-ups//EN\r\nCALSCALE:GREGORIAN\r\n",
    );
    for item in items {
        let c = &item.contact;
        let who = if c.name.is_empty() {
            c.email.clone()
        } else {
            format!("{} <{}>", c.name, c.email)
        };
        cal.push_str("BEGIN:VTODO\r\n");
        cal.push_str(&format!(
            "UID:rapport-followup-{}-{}@rapport.local\r\n",
            c.id,
            c.due.map_or(0, |d| d.0)
        ));
        cal.push_str(&format!("DTSTAMP:{}\r\n", vdate(now)));
        cal.push_str(&fold(&format!(
            "SUMMARY:{}",
            text(&format!("Get in touch with {who}"))
        )));
        let mut desc = format!(
            "Cadence {} days; {} days overdue.",
            c.cadence_days.unwrap_or(0),
            item.overdue_days
        );
        if let Some(last) = c.last_contact {
            desc.push_str(&format!(" Last contact {}.", format_iso(last.0)));
        }
        cal.push_str(&fold(&format!("DESCRIPTION:{}", text(&desc))));
        if let Some(due) = c.due {
            cal.push_str(&format!("DUE:{}\r\n", vdate(due.0.max(now))));
        }
        cal.push_str(&fold(&format!(
            "ATTENDEE;CN={}:mailto:{}",
            text(&c.name).replace(':', ""),
            c.email
        )));
        cal.push_str("STATUS:NEEDS-ACTION\r\nEND:VTODO\r\n");
    }
    cal.push_str("END:VCALENDAR\r\n");
    out.write_all(cal.as_bytes()).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_carry_no_control_characters() {
        let evil = "Eve\x1b]8;;https://x.example\x07 \u{202e}\0";
        for out in [csv_field(evil), text(evil)] {
            assert!(!out.chars().any(crate::text::is_unsafe), "{out:?}");
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn folds_long_lines() {
        let line = format!("NOTE:{}", "x".repeat(200));
        let folded = fold(&line);
        assert!(folded.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(folded.replace("\r\n ", ""), format!("{line}\r\n"));
    }
}
