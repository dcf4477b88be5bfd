//! Splitting an mbox file into messages, streaming, in bounded memory.
//!
//! A message begins at a `From ` line that starts the file or follows a blank line. What the
//! file allows of the other conventions is followed too:
//!
//! - **Separator shape.** When the file's first line has the ctime shape every mail system
//!   writes (`From sender Tue Nov 24 10:00:00 2026`), later separators must have it too, so a
//!   body line such as `From my experience, ...` after a blank line is body, not a message. A
//!   file whose first line lacks that shape was written by a looser tool: any `From ` line is a
//!   separator there.
//! - **Phantoms.** A separator must be followed by a header line (`Name: value`). One that is
//!   not starts no message (an unescaped `From ` line in an mboxo body, followed by prose): it
//!   and what follows stay in the body of the message before, so no phantom message — and no
//!   phantom contact — is made of it.
//! - **mboxcl / mboxcl2.** A `Content-Length:` header is trusted when the file agrees with it:
//!   that many bytes after the header end exactly at the end of the file or at a `From ` line
//!   (after at most one blank line). Then `From ` lines inside that body are body. When the file
//!   disagrees, the bytes are read again line by line as mboxo.
//! - **mboxrd.** In a body read line by line, `>From `, `>>From `, ... lose one `>`.
//!
//! Memory: each message keeps at most `keep` bytes (the rest of it is read and counted in
//! `dropped`, never stored), and no line is ever held whole beyond that bound, so a file of
//! any size without a single line end costs no more than one message.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};

/// One message of an mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// Where its `From ` line starts in the file.
    pub offset: u64,
    /// The message, without its `From ` line; at most `keep` bytes.
    pub bytes: Vec<u8>,
    /// Bytes of the message beyond `keep` that were read and not kept.
    pub dropped: u64,
}

/// How a split ended.
#[derive(Debug)]
pub struct SplitEnd {
    /// Bytes consumed from the file.
    pub bytes: u64,
    /// False when `emit` asked to stop.
    pub completed: bool,
    /// A read error, after the message being read when it happened was emitted.
    pub error: Option<io::Error>,
}

/// Bytes read per discarded chunk of an over-long line.
const DISCARD_CHUNK: u64 = 64 * 1024;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Whether a `From ` line has the shape mail systems write: a weekday, a month, a time and a
/// four-digit year (`From MAILER-DAEMON Fri Jul  8 12:08:34 2011`, `From - Tue Nov 24 ...`).
pub fn has_ctime_shape(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    if rest.len() > 1024 {
        return false;
    }
    let text = String::from_utf8_lossy(rest);
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    // Bytes, not str slices: a name's third byte may be inside a multi-byte character.
    let is_in = |word: &str, names: &[&str]| {
        let word = word.trim_end_matches(',').as_bytes();
        word.len() >= 3
            && names
                .iter()
                .any(|name| word[..3].eq_ignore_ascii_case(name.as_bytes()))
    };
    let Some(day) = words
        .iter()
        .position(|w| is_in(w, &DAYS) && w.trim_end_matches(',').len() <= 9)
    else {
        return false;
    };
    let after = &words[day + 1..];
    let month = after.iter().take(2).any(|w| is_in(w, &MONTHS));
    let time = after
        .iter()
        .any(|w| w.contains(':') && w.bytes().all(|b| b.is_ascii_digit() || b == b':'));
    let year = after
        .iter()
        .any(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()));
    month && time && year
}

/// Whether a line is a header field (`Name: value`, the name printable ASCII without colon).
fn is_header_line(line: &[u8]) -> bool {
    let name_len = line
        .iter()
        .position(|&b| !(33..=126).contains(&b) || b == b':')
        .unwrap_or(line.len());
    name_len > 0 && line.get(name_len) == Some(&b':')
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// The value of a `Content-Length:` header line.
fn content_length(line: &[u8]) -> Option<u64> {
    const NAME: &[u8] = b"content-length:";
    if line.len() < NAME.len() || !line[..NAME.len()].eq_ignore_ascii_case(NAME) {
        return None;
    }
    std::str::from_utf8(&line[NAME.len()..])
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The file, with bytes given back (a Content-Length body the file disagreed with) read first.
struct Source<R> {
    replay: VecDeque<u8>,
    inner: BufReader<R>,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if !self.replay.is_empty() {
            return Ok(self.replay.as_slices().0);
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amount: usize) {
        if self.replay.is_empty() {
            self.inner.consume(amount);
        } else {
            self.replay.drain(..amount.min(self.replay.len()));
        }
    }
}

/// Reads and drops the rest of an over-long line; returns how many bytes that was.
fn discard_rest_of_line(source: &mut impl BufRead) -> io::Result<u64> {
    let mut total = 0u64;
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        let n = (&mut *source)
            .take(DISCARD_CHUNK)
            .read_until(b'\n', &mut chunk)?;
        total += n as u64;
        if n == 0 || chunk.ends_with(b"\n") {
            return Ok(total);
        }
    }
}

/// What the line just read is to the splitter.
struct Line {
    /// Where it starts in the message buffer (it is appended there while being read).
    start: usize,
    /// Its length in the file.
    len: u64,
    /// Whether all of it is in the buffer (false: the message's `keep` ran out during it).
    whole: bool,
}

struct Splitter<'e, R> {
    source: Source<R>,
    keep: usize,
    emit: &'e mut dyn FnMut(MboxMessage) -> bool,
    offset: u64,
    /// The message being read: `None` before the first separator.
    message: Option<MboxMessage>,
    in_header: bool,
    content_length: Option<u64>,
    previous_blank: bool,
    /// Separators must have the ctime shape (set from the file's first line).
    strict: bool,
    /// A separator candidate seen on the previous line: (its offset in the file, where it
    /// starts in the buffer). It becomes a separator only if a header line follows.
    candidate: Option<(u64, usize)>,
    /// The start of a discarded line kept for separator checks when `keep` has run out.
    scratch: Vec<u8>,
}

impl<R: Read> Splitter<'_, R> {
    /// Reads one line, appending what fits to the current message. `Ok(None)` at the end.
    fn read_line(&mut self) -> io::Result<Option<Line>> {
        let room = match &self.message {
            Some(m) => self.keep.saturating_sub(m.bytes.len()),
            None => self.keep,
        };
        if let Some(message) = &mut self.message
            && room > 0
        {
            let start = message.bytes.len();
            let n = (&mut self.source)
                .take(room as u64)
                .read_until(b'\n', &mut message.bytes)?;
            if n == 0 {
                return Ok(None);
            }
            let whole = message.bytes.ends_with(b"\n") || n < room;
            let mut len = n as u64;
            if !whole {
                let more = discard_rest_of_line(&mut self.source)?;
                message.dropped += more;
                len += more;
            }
            return Ok(Some(Line { start, len, whole }));
        }
        // No room (or no message yet): the line's start is read into scratch for the checks.
        self.scratch.clear();
        let n = (&mut self.source)
            .take(DISCARD_CHUNK)
            .read_until(b'\n', &mut self.scratch)?;
        if n == 0 {
            return Ok(None);
        }
        let mut len = n as u64;
        if !self.scratch.ends_with(b"\n") && n as u64 == DISCARD_CHUNK {
            len += discard_rest_of_line(&mut self.source)?;
        }
        if let Some(message) = &mut self.message {
            message.dropped += len;
        }
        Ok(Some(Line {
            start: usize::MAX,
            len,
            whole: false,
        }))
    }

    /// The bytes of a line for inspection: in the message, or the scratch copy.
    fn line_bytes(&self, line: &Line) -> &[u8] {
        match (&self.message, line.start) {
            (Some(m), start) if start != usize::MAX => &m.bytes[start..],
            _ => &self.scratch,
        }
    }

    fn emit_current(&mut self) -> bool {
        match self.message.take() {
            Some(message) => (self.emit)(message),
            None => true,
        }
    }

    fn start_message(&mut self, offset: u64) {
        self.message = Some(MboxMessage {
            offset,
            bytes: Vec::new(),
            dropped: 0,
        });
        self.in_header = true;
        self.content_length = None;
    }

    /// Reads a body of `length` bytes when the file agrees with the Content-Length; otherwise
    /// gives the bytes back to be read line by line.
    fn content_length_body(&mut self, length: u64) -> io::Result<()> {
        let Some(message) = &mut self.message else {
            return Ok(());
        };
        if length as usize > self.keep.saturating_sub(message.bytes.len()) {
            return Ok(());
        }
        let mut body = Vec::with_capacity(length as usize);
        (&mut self.source).take(length).read_to_end(&mut body)?;
        let next = self.source.fill_buf()?;
        let agrees = body.len() as u64 == length
            && (next.is_empty()
                || next.starts_with(b"From ")
                || next.starts_with(b"\nFrom ")
                || next.starts_with(b"\r\nFrom "));
        if agrees {
            message.bytes.extend_from_slice(&body);
            self.offset += length;
            self.in_header = false;
            // The end of a counted body is a message boundary, blank line or not.
            self.previous_blank = true;
        } else {
            for &b in body.iter().rev() {
                self.source.replay.push_front(b);
            }
        }
        Ok(())
    }

    fn run(&mut self) -> io::Result<bool> {
        let mut first = true;
        while let Some(line) = self.read_line()? {
            let line_offset = self.offset;
            self.offset += line.len;
            let (blank, from_line, header_line, ctime_shape) = {
                let bytes = self.line_bytes(&line);
                let from_line = bytes.starts_with(b"From ");
                (
                    is_blank(bytes),
                    from_line,
                    self.candidate.is_some() && is_header_line(bytes),
                    from_line && has_ctime_shape(bytes),
                )
            };

            // A pending candidate is confirmed by a header line, or falls back into the body.
            if let Some((candidate_offset, candidate_start)) = self.candidate.take()
                && header_line
                && line.whole
            {
                if let Some(message) = &mut self.message {
                    let rest = message.bytes.split_off(line.start);
                    message.bytes.truncate(candidate_start);
                    if !self.emit_current() {
                        return Ok(false);
                    }
                    self.start_message(candidate_offset);
                    if let Some(message) = &mut self.message {
                        message.bytes = rest;
                    }
                }
                // The header line now starts the new message's buffer.
                self.note_header_line(0);
                self.previous_blank = false;
                continue;
            }

            if first {
                first = false;
                if from_line {
                    self.strict = ctime_shape;
                    self.start_message(line_offset);
                    self.previous_blank = false;
                    continue;
                }
            }

            let separator_shape = from_line && (!self.strict || ctime_shape);
            if self.previous_blank && separator_shape {
                match &self.message {
                    // Before the first message: a separator needs no confirmation.
                    None => {
                        self.start_message(line_offset);
                        self.previous_blank = false;
                        continue;
                    }
                    // Kept whole in the buffer: confirmed (or not) by the next line.
                    Some(_) if line.whole => {
                        self.candidate = Some((line_offset, line.start));
                        self.previous_blank = false;
                        continue;
                    }
                    // The message is full: a separator is taken on its shape alone (and was
                    // counted as a dropped line of the message it ends).
                    Some(_) => {
                        if let Some(message) = &mut self.message {
                            message.dropped = message.dropped.saturating_sub(line.len);
                        }
                        if !self.emit_current() {
                            return Ok(false);
                        }
                        self.start_message(line_offset);
                        self.previous_blank = false;
                        continue;
                    }
                }
            }

            if self.in_header {
                if blank {
                    self.in_header = false;
                    if let Some(length) = self.content_length.take() {
                        self.content_length_body(length)?;
                        continue;
                    }
                } else {
                    self.note_header_line(line.start);
                }
            } else if line.whole
                && let Some(message) = &mut self.message
            {
                // mboxrd: one level of `>From ` quoting comes off.
                let text = &message.bytes[line.start..];
                let quotes = text.iter().take_while(|&&b| b == b'>').count();
                if quotes > 0 && text[quotes..].starts_with(b"From ") {
                    message.bytes.remove(line.start);
                }
            }
            self.previous_blank = blank;
        }
        Ok(true)
    }

    fn note_header_line(&mut self, start: usize) {
        if let Some(message) = &self.message
            && start != usize::MAX
            && let Some(length) = content_length(&message.bytes[start..])
        {
            self.content_length = Some(length);
        }
    }
}

/// Splits an mbox read from `reader`, handing each message to `emit` (which returns false to
/// stop). A read error ends the split after the message being read is handed over.
pub fn split(
    reader: impl Read,
    keep: usize,
    emit: &mut dyn FnMut(MboxMessage) -> bool,
) -> SplitEnd {
    let mut splitter = Splitter {
        source: Source {
            replay: VecDeque::new(),
            inner: BufReader::with_capacity(64 * 1024, reader),
        },
        keep: keep.max(1),
        emit,
        offset: 0,
        message: None,
        in_header: false,
        content_length: None,
        previous_blank: true,
        strict: false,
        candidate: None,
        scratch: Vec::new(),
    };
    let outcome = splitter.run();
    let completed = match &outcome {
        Ok(completed) => *completed,
        Err(_) => true,
    };
    let completed = completed && splitter.emit_current();
    SplitEnd {
        bytes: splitter.offset,
        completed,
        error: outcome.err(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(mbox: &[u8], keep: usize) -> Vec<MboxMessage> {
        let mut out = Vec::new();
        let end = split(mbox, keep, &mut |m| {
            out.push(m);
            true
        });
        assert!(end.error.is_none());
        assert_eq!(end.bytes, mbox.len() as u64);
        out
    }

    fn texts(mbox: &str) -> Vec<String> {
        messages(mbox.as_bytes(), 1 << 20)
            .into_iter()
            .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
            .collect()
    }

    const SEP: &str = "From bob@example.test Tue Nov 24 10:00:00 2026\n";

    #[test]
    fn plain_mboxo_splits_at_from_lines_after_blank_lines() {
        let mbox = format!(
            "{SEP}From: a@x\nSubject: one\n\nbody\n\n{SEP}From: b@x\nSubject: two\n\nbody two\n"
        );
        let got = texts(&mbox);
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("From: a@x"));
        assert!(got[1].starts_with("From: b@x"));
        let offsets: Vec<u64> = messages(mbox.as_bytes(), 1 << 20)
            .iter()
            .map(|m| m.offset)
            .collect();
        assert_eq!(offsets[0], 0);
        assert_eq!(&mbox[offsets[1] as usize..][..5], "From ");
    }

    #[test]
    fn prose_after_an_unescaped_from_line_is_no_phantom_message() {
        let mbox = format!(
            "{SEP}From: a@x\n\nHello,\n\nFrom my experience, this works.\nAnd more.\n\n\
             From alice@example.test Tue Nov 24 10:00:00 2026\nyes really\n"
        );
        let got = texts(&mbox);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("From my experience"));
        assert!(got[0].contains("From alice@example.test Tue Nov"));
        assert!(got[0].contains("yes really"));
    }

    #[test]
    fn a_strict_file_needs_the_ctime_shape_a_loose_one_does_not() {
        let strict = format!("{SEP}From: a@x\n\nx\n\nFrom nobody\nSubject: s\n\nb\n");
        assert_eq!(texts(&strict).len(), 1);
        let loose = "From nobody\nFrom: a@x\n\nx\n\nFrom nobody\nSubject: s\n\nb\n";
        assert_eq!(texts(loose).len(), 2);
    }

    #[test]
    fn mboxrd_quoting_loses_one_level_in_bodies_only() {
        let mbox = format!("{SEP}From: a@x\n\n>From here\n>>From there\n>Fromage\n");
        let got = texts(&mbox);
        assert_eq!(
            got[0],
            "From: a@x\n\nFrom here\n>From there\n>Fromage\n".to_string()
        );
    }

    #[test]
    fn a_content_length_the_file_agrees_with_keeps_from_lines_in_the_body() {
        let body = "line\n\nFrom bob@example.test Tue Nov 24 10:00:00 2026\nSubject: inside\n";
        let mbox = format!(
            "{SEP}From: a@x\nContent-Length: {}\n\n{body}\n{SEP}From: b@x\n\nsecond\n",
            body.len()
        );
        let got = texts(&mbox);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with(body) || got[0].ends_with(&format!("{body}\n")));
        assert!(got[1].starts_with("From: b@x"));
    }

    #[test]
    fn a_content_length_the_file_disagrees_with_is_ignored() {
        let mbox = format!(
            "{SEP}From: a@x\nContent-Length: 3\n\nlonger body\n\n{SEP}From: b@x\n\nsecond\n"
        );
        let got = texts(&mbox);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains("longer body"));
        let too_long =
            format!("{SEP}From: a@x\nContent-Length: 9999\n\nshort\n\n{SEP}From: b@x\n\nz\n");
        assert_eq!(texts(&too_long).len(), 2);
    }

    #[test]
    fn memory_stays_bounded_without_line_ends() {
        let mut mbox = format!("{SEP}From: a@x\n\n").into_bytes();
        mbox.extend(std::iter::repeat_n(b'x', 300_000));
        mbox.extend_from_slice(format!("\n\n{SEP}From: b@x\n\nz\n").as_bytes());
        let got = messages(&mbox, 1000);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].bytes.len(), 1000);
        assert_eq!(
            got[0].bytes.len() as u64 + got[0].dropped + SEP.len() as u64,
            got[1].offset
        );
        assert!(got[1].bytes.starts_with(b"From: b@x"));
    }

    /// Found by the mbox_splitter fuzz target: a weekday whose third byte was inside a
    /// multi-byte character panicked the shape check.
    #[test]
    fn a_separator_with_bytes_that_are_not_utf8_is_no_panic() {
        let mut mbox =
            b"From sender1@example.test M\x92\x91 Nov  2 10:00:00 2026\nFrom: a@x\n\nb\n\n"
                .to_vec();
        mbox.extend_from_slice(
            b"From sender1@example.test M\x92\x91 Nov  2 10:00:00 2026\nFrom: b@x\n\nc\n",
        );
        assert!(!has_ctime_shape(b"From x M\x92\x91 Nov  2 10:00:00 2026"));
        // Not the ctime shape, so the file is a loose one: both separators count.
        assert_eq!(messages(&mbox, 1 << 20).len(), 2);
    }

    #[test]
    fn crlf_files_split_too() {
        let mbox = "From x Tue Nov 24 10:00:00 2026\r\nFrom: a@x\r\n\r\nb\r\n\r\nFrom x Tue Nov 24 10:00:00 2026\r\nFrom: b@x\r\n\r\nc\r\n";
        assert_eq!(texts(mbox).len(), 2);
    }

    #[test]
    fn stopping_is_honoured() {
        let mbox = format!("{SEP}From: a@x\n\n\n{SEP}From: b@x\n\n");
        let mut n = 0;
        let end = split(mbox.as_bytes(), 1 << 20, &mut |_| {
            n += 1;
            false
        });
        assert_eq!(n, 1);
        assert!(!end.completed);
    }
}
