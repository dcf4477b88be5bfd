//! Terminal output: aligned tables, dates with relative ages, and JSON for scripts.

use std::io::{IsTerminal, Write};

use rapport_core::text::printable;
use rapport_core::time::{DAY, Timestamp, format_date, human_age};

/// Prints `value` as pretty JSON on stdout.
pub fn json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// `2024-03-01 (3 days ago)`, or `—`.
pub fn when(ts: Option<Timestamp>, now: i64) -> String {
    match ts {
        None => "—".into(),
        Some(t) if t.0 > now => format_date(t.0),
        Some(t) => format!("{} ({} ago)", format_date(t.0), human_age(now - t.0)),
    }
}

/// Short form: `3d ago`, `2mo ago`.
pub fn ago(ts: Option<Timestamp>, now: i64) -> String {
    match ts {
        None => "never".into(),
        Some(t) => {
            let d = (now - t.0).max(0);
            if d < DAY {
                "today".into()
            } else if d < 60 * DAY {
                format!("{}d ago", d / DAY)
            } else if d < 730 * DAY {
                format!("{}mo ago", d / (30 * DAY))
            } else {
                format!("{}y ago", d / (365 * DAY))
            }
        }
    }
}

pub fn is_tty() -> bool {
    std::io::stdout().is_terminal()
}

fn bold(s: &str) -> String {
    if is_tty() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[1m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn heading(s: &str) -> String {
    bold(&printable(s))
}

/// Cuts a string to `width` characters, with an ellipsis (and neutralises control characters:
/// every table cell passes here).
pub fn cut(s: &str, width: usize) -> String {
    let s = printable(s);
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A plain table: the header row, then rows, columns padded to their widest cell.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    max: Vec<usize>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            max: vec![48; header.len()],
        }
    }

    pub fn max_width(mut self, column: usize, width: usize) -> Self {
        if let Some(m) = self.max.get_mut(column) {
            *m = width;
        }
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Prints the table, or `nothing` in its place when it has no rows.
    pub fn print_or(&self, nothing: &str) {
        if self.is_empty() {
            println!("{nothing}");
        } else {
            self.print();
        }
    }

    pub fn print(&self) {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(i, c)| cut(c, self.max.get(i).copied().unwrap_or(48)))
                    .collect()
            })
            .collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate().take(n) {
                if i + 1 == n {
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
                }
            }
            s.trim_end().to_string()
        };
        println!("{}", heading(&line(&self.header)));
        for r in &rows {
            println!("{}", line(r));
        }
    }
}

/// `Name <email>` or the bare email.
pub fn person(name: &str, email: &str) -> String {
    if name.is_empty() {
        printable(email).into_owned()
    } else {
        format!("{} <{}>", printable(name), printable(email))
    }
}
