//! TDPB, the desktop protocol between the browser, the proxy and a desktop
//! service: a 4-byte big-endian length followed by one protobuf `Envelope`.
//!
//! This crate never touches a socket. It finds frame boundaries in byte
//! slices ([`FrameReader`]), turns frames into typed messages with every
//! length and size checked ([`decode_frame`]), and messages into frames
//! ([`encode_frame`]). The schema is `proto/tdpb.proto`; the protocol is
//! written down in `docs/protocol.md`.

#![warn(missing_docs)]

mod framing;
pub mod limits;
mod message;
mod name;
mod peek;

/// Types generated from `proto/tdpb.proto`.
pub mod pb {
    #![allow(missing_docs, clippy::all)]
    include!(concat!(env!("OUT_DIR"), "/oriel.tdpb.v1.rs"));
}

pub use framing::{
    FrameError, FrameReader, HEADER_LEN, MAX_FRAME_LEN, frame_body, frame_len, whole_frames,
};
pub use limits::{LimitError, Limits};
pub use message::{DecodeError, decode_frame, encode_frame, encode_frame_into};
pub use pb::envelope::Payload;
pub use peek::{PayloadKind, peek_kind};

/// The protocol version this crate speaks; see "Version negotiation" in docs/protocol.md.
pub const PROTOCOL_VERSION: u32 = 1;
