//! Frame boundaries: a 4-byte big-endian length, then that many bytes of `Envelope`.

/// Bytes in the length prefix.
pub const HEADER_LEN: usize = 4;

/// The largest `Envelope` any peer may send: lengths stay below 2^24, so the
/// first byte of a frame is always 0.
pub const MAX_FRAME_LEN: usize = (1 << 24) - 1;

/// Why bytes could not be split into frames. Either ends the session: the
/// stream has no way to resynchronise after a bad length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than the receiver accepts.
    #[error("frame of {len} bytes exceeds the limit of {limit} bytes")]
    TooLong {
        /// Announced envelope length.
        len: usize,
        /// The receiver's limit.
        limit: usize,
    },
    /// A complete frame was expected (one websocket message) but the bytes end early.
    #[error("frame truncated: header says {expected} bytes, {actual} present")]
    Truncated {
        /// Envelope bytes the header announces.
        expected: usize,
        /// Envelope bytes present.
        actual: usize,
    },
    /// A complete frame was expected but more bytes follow it.
    #[error("{0} trailing bytes after the frame")]
    Trailing(usize),
}

/// The total size (header included) of the frame at the start of `buf`, or
/// `None` while the 4-byte header itself is incomplete.
pub fn frame_len(buf: &[u8], limit: usize) -> Result<Option<usize>, FrameError> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*header) as usize;
    if len > limit.min(MAX_FRAME_LEN) {
        return Err(FrameError::TooLong {
            len,
            limit: limit.min(MAX_FRAME_LEN),
        });
    }
    Ok(Some(HEADER_LEN + len))
}

/// How many bytes at the start of `buf` are whole frames, so a relay can
/// pass them on as they are, without copying each frame out, and only
/// ever between frames.
pub fn whole_frames(buf: &[u8], limit: usize) -> Result<usize, FrameError> {
    let mut whole = 0;
    while let Some(len) = frame_len(&buf[whole..], limit)? {
        if buf.len() - whole < len {
            break;
        }
        whole += len;
    }
    Ok(whole)
}

/// Checks that `frame` is exactly one whole frame of at most `limit`
/// envelope bytes (as one websocket message must be) and returns the envelope.
pub fn frame_body(frame: &[u8], limit: usize) -> Result<&[u8], FrameError> {
    let total = match frame_len(frame, limit)? {
        Some(total) => total,
        None => {
            return Err(FrameError::Truncated {
                expected: HEADER_LEN,
                actual: frame.len(),
            });
        }
    };
    match frame.len().cmp(&total) {
        std::cmp::Ordering::Less => Err(FrameError::Truncated {
            expected: total - HEADER_LEN,
            actual: frame.len() - HEADER_LEN,
        }),
        std::cmp::Ordering::Greater => Err(FrameError::Trailing(frame.len() - total)),
        std::cmp::Ordering::Equal => Ok(&frame[HEADER_LEN..]),
    }
}

/// Splits a byte stream into whole frames. Feed it whatever the transport
/// read; take frames out as they complete.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    limit: usize,
}

impl FrameReader {
    /// A reader that refuses frames whose envelope is longer than `limit`.
    pub fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            limit: limit.min(MAX_FRAME_LEN),
        }
    }

    /// Appends bytes read from the transport.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame (header included), if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        let pending = &self.buf[self.start..];
        let Some(total) = frame_len(pending, self.limit)? else {
            return Ok(None);
        };
        if pending.len() < total {
            // Move the partial frame to the front once, so the buffer does
            // not grow without bound on a long session.
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            return Ok(None);
        }
        let frame = &self.buf[self.start..self.start + total];
        self.start += total;
        Ok(Some(frame))
    }

    /// Bytes received but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}
