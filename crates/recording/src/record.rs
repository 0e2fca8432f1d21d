//! One record: a message and when, relative to the session's start.

use crate::{FormatError, MAX_BODY_LEN};

/// Which way a recorded message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// From the desktop to the browser: what the user saw.
    Desktop,
    /// From the browser to the desktop: where the user pointed.
    Browser,
}

impl Source {
    fn byte(self) -> u8 {
        match self {
            Self::Desktop => 0,
            Self::Browser => 1,
        }
    }
}

/// A record read from a file; `envelope` is one TDPB envelope, without the
/// frame's length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub delay_ms: u32,
    pub source: Source,
    pub envelope: &'a [u8],
}

/// Length prefix and CRC around a body.
pub(crate) const FRAMING_LEN: usize = 8;
/// Delay and source before the envelope.
const BODY_PREFIX_LEN: usize = 5;

/// Appends the record of `envelope` to `out`.
pub(crate) fn encode_record(delay_ms: u32, source: Source, envelope: &[u8], out: &mut Vec<u8>) {
    let body_len = (BODY_PREFIX_LEN + envelope.len()) as u32;
    out.reserve(FRAMING_LEN + body_len as usize);
    out.extend_from_slice(&body_len.to_be_bytes());
    let body_start = out.len();
    out.extend_from_slice(&delay_ms.to_be_bytes());
    out.push(source.byte());
    out.extend_from_slice(envelope);
    let crc = crc32fast::hash(&out[body_start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Reads the record at the start of `buf`, which is at `offset` in the
/// file: the record and its length, or `None` while more bytes are needed.
pub fn parse_record(buf: &[u8], offset: u64) -> Result<Option<(Record<'_>, usize)>, FormatError> {
    let Some(len) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let body_len = u32::from_be_bytes(*len);
    if !(BODY_PREFIX_LEN as u32..=MAX_BODY_LEN).contains(&body_len) {
        return Err(FormatError::BadRecordLength {
            offset,
            len: body_len,
        });
    }
    let total = FRAMING_LEN + body_len as usize;
    let Some(record) = buf.get(..total) else {
        return Ok(None);
    };
    let body = &record[4..4 + body_len as usize];
    let crc = u32::from_be_bytes(record[total - 4..].try_into().expect("4 bytes"));
    if crc32fast::hash(body) != crc {
        return Err(FormatError::BadChecksum { offset });
    }
    let source = match body[4] {
        0 => Source::Desktop,
        1 => Source::Browser,
        value => return Err(FormatError::BadSource { offset, value }),
    };
    let delay_ms = u32::from_be_bytes(body[..4].try_into().expect("4 bytes"));
    Ok(Some((
        Record {
            delay_ms,
            source,
            envelope: &body[BODY_PREFIX_LEN..],
        },
        total,
    )))
}
