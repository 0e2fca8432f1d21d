//! Which message a frame carries, read from its first bytes without decoding
//! the rest: the proxy relays large frame rectangles untouched and only
//! needs to spot the few messages it handles itself.

use crate::HEADER_LEN;

/// The payload field of an envelope, by its field number in `proto/tdpb.proto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    /// `Ping` (20).
    Ping,
    /// `FrameRect` (100).
    FrameRect,
    /// `Alert` (11).
    Alert,
    /// `ServerHello` (2): the desktop service took the session.
    ServerHello,
    /// `Mfa` (14): the proxy's per-session MFA exchange.
    Mfa,
    /// Any other field number.
    Other(u32),
}

/// Reads the first field key of the envelope in `frame` (header included).
/// `None` if the bytes do not start with a length-delimited field key.
pub fn peek_kind(frame: &[u8]) -> Option<PayloadKind> {
    let body = frame.get(HEADER_LEN..)?;
    let mut key: u64 = 0;
    for (i, byte) in body.iter().take(5).enumerate() {
        key |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // Every payload is a message: wire type 2.
            if key & 0x7 != 2 {
                return None;
            }
            let field = u32::try_from(key >> 3).ok()?;
            return Some(match field {
                20 => PayloadKind::Ping,
                100 => PayloadKind::FrameRect,
                11 => PayloadKind::Alert,
                2 => PayloadKind::ServerHello,
                14 => PayloadKind::Mfa,
                other => PayloadKind::Other(other),
            });
        }
    }
    None
}
