//! Frames to messages and back.

use prost::Message as _;

use crate::Payload;
use crate::framing::{FrameError, HEADER_LEN, MAX_FRAME_LEN, frame_body};
use crate::limits::{LimitError, Limits, check};
use crate::pb::Envelope;

/// Why a frame is not a message this side accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The length prefix is wrong.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The envelope is not valid protobuf for the schema.
    #[error("malformed envelope: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// A field is outside its limit.
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// Decodes one whole frame (exactly one websocket message, or one frame cut
/// by a [`crate::FrameReader`]). `Ok(None)` is a well-formed envelope whose
/// payload this version does not know: receivers skip it.
pub fn decode_frame(frame: &[u8], limits: Limits) -> Result<Option<Payload>, DecodeError> {
    let body = frame_body(frame, limits.max_frame_len)?;
    let envelope = Envelope::decode(body)?;
    match envelope.payload {
        Some(payload) => {
            check(&payload)?;
            Ok(Some(payload))
        }
        None => Ok(None),
    }
}

/// Encodes `payload` as one frame appended to `out`.
///
/// # Panics
/// If the envelope exceeds [`MAX_FRAME_LEN`]: senders split large data
/// (frames into rectangles) so this is a bug in the sender, never peer input.
pub fn encode_frame_into(payload: Payload, out: &mut Vec<u8>) {
    let envelope = Envelope {
        payload: Some(payload),
    };
    let len = envelope.encoded_len();
    assert!(
        len <= MAX_FRAME_LEN,
        "envelope of {len} bytes exceeds the frame limit"
    );
    out.reserve(HEADER_LEN + len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    envelope.encode(out).expect("a Vec grows as needed");
}

/// Encodes `payload` as one frame.
pub fn encode_frame(payload: Payload) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame_into(payload, &mut out);
    out
}
