//! Native-messaging frames: a 4-byte length in native byte order, then that many bytes of JSON.

use std::io::{self, Read, Write};

use serde_json::{Value, json};

/// Why reading a frame failed.
#[derive(Debug)]
pub enum FrameError {
    /// The stream ended inside a frame.
    Truncated {
        expected: usize,
        got: usize,
    },
    /// The length prefix announces more than the host accepts.
    TooLarge {
        length: u64,
        limit: usize,
    },
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Truncated { expected, got } => write!(
                f,
                "the input ended inside a frame ({got} of {expected} bytes)"
            ),
            FrameError::TooLarge { length, limit } => write!(
                f,
                "a request of {length} bytes exceeds the limit of {limit} bytes"
            ),
            FrameError::Io(e) => write!(f, "reading stdin failed: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads one frame. `Ok(None)` is a clean end of input (between frames).
pub fn read_frame(r: &mut impl Read, limit: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    let got = read_full(r, &mut len).map_err(FrameError::Io)?;
    if got == 0 {
        return Ok(None);
    }
    if got < len.len() {
        return Err(FrameError::Truncated { expected: 4, got });
    }
    let length = u32::from_ne_bytes(len);
    let expected = usize::try_from(length).map_err(|_| FrameError::TooLarge {
        length: u64::from(length),
        limit,
    })?;
    if expected > limit {
        return Err(FrameError::TooLarge {
            length: u64::from(length),
            limit,
        });
    }
    // Grow with the data actually received, never to a size the prefix merely claims.
    let mut body = Vec::with_capacity(expected.min(1 << 20));
    r.take(u64::from(length))
        .read_to_end(&mut body)
        .map_err(FrameError::Io)?;
    if body.len() < expected {
        return Err(FrameError::Truncated {
            expected,
            got: body.len(),
        });
    }
    Ok(Some(body))
}

/// Writes one frame and flushes it.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a frame must be under 4 GiB"))?;
    w.write_all(&len.to_ne_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

pub(super) fn error_frame(id: &Value, code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "error": {"code": code, "message": message}}))
        .unwrap_or_default()
}

/// The request's id, if the frame is a JSON object with one.
pub(super) fn request_id(frame: &[u8]) -> Value {
    serde_json::from_slice::<Value>(frame)
        .ok()
        .and_then(|v| rapport_core::rpc::echoed_id(&v).ok())
        .unwrap_or(Value::Null)
}
