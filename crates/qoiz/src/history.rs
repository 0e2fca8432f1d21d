//! The session history behind [`Codec::QoizStream`](crate::Codec::QoizStream).
//!
//! Every stream rectangle is one complete zstd frame compressed against a
//! dictionary made of fixed entropy tables and the QOI bytes of the
//! rectangles sent since the last reset (at most [`STREAM_HISTORY_MAX`] of
//! them). So a rectangle can copy long runs from earlier ones, as with a
//! session-long zstd stream, yet each rectangle is a whole frame.
//!
//! Why not a real zstd stream flushed after each rectangle: the pure-Rust
//! decoder (ruzstd 0.9) keeps the last window of output to itself until its
//! frame ends, so a flushed chunk cannot be read out at once. A dictionary
//! holding the same history gives the same ratio (see `docs/codec.md`).
//!
//! Both ends must build the same dictionary bytes: the entropy tables below
//! are part of the wire format. Changing them needs a new codec number.

/// Most history bytes a stream rectangle may refer to. Decoders keep this
/// much; encoders may keep less.
pub const STREAM_HISTORY_MAX: usize = 1 << 20;

/// Dictionary id written in every stream frame that uses history
/// (`"QOIZ"` little-endian; in the unregistered range of the zstd format).
pub(crate) const DICT_ID: u32 = u32::from_le_bytes(*b"QOIZ");

/// Magic number of a zstd dictionary.
const DICT_MAGIC: [u8; 4] = [0x37, 0xa4, 0x30, 0xec];

/// Huffman and FSE tables in zstd dictionary format, taken once from a
/// dictionary zstd trained on QOI bytes of terminal screens. Encoders may
/// use them for the first block of a rectangle, which helps small ones.
const ENTROPY_TABLES: [u8; 156] = [
    0x57, 0x10, 0x38, 0x08, 0xad, 0x3a, 0xed, 0xb8, 0xd0, 0x61, 0xeb, 0x81, 0x52, 0xd8, 0xd2, 0x41,
    0x4f, 0x1f, 0x1c, 0x9d, 0x8b, 0x6f, 0x7f, 0xfb, 0xff, 0x7b, 0x6b, 0x92, 0x8d, 0x7d, 0x34, 0x46,
    0x7f, 0x55, 0x5f, 0xaa, 0xc5, 0xb1, 0xc7, 0x68, 0xa5, 0x9c, 0x84, 0xb0, 0x68, 0x02, 0xc3, 0xb6,
    0x78, 0x28, 0x1b, 0x8b, 0xa8, 0xb1, 0x37, 0xcd, 0xd0, 0xcd, 0xb3, 0xe5, 0x1c, 0xd0, 0x3a, 0x78,
    0x64, 0x13, 0x43, 0x0c, 0xcb, 0x0a, 0xd1, 0xba, 0xd9, 0x32, 0x45, 0x13, 0x9c, 0x87, 0x82, 0xfa,
    0x5f, 0x97, 0x4f, 0xa8, 0x80, 0xf6, 0x3f, 0x09, 0x53, 0x00, 0x10, 0x08, 0x08, 0x06, 0x04, 0x63,
    0xd1, 0x68, 0x74, 0x72, 0x6a, 0x0e, 0x00, 0x04, 0x60, 0x00, 0x10, 0x15, 0x8d, 0xa2, 0x1e, 0x98,
    0x93, 0x47, 0x33, 0x81, 0x98, 0x05, 0x31, 0x85, 0x8c, 0x31, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xc0, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd4, 0x51, 0x4b, 0x63, 0x89, 0x9e, 0x05, 0x1d,
    0x53, 0xc8, 0x98, 0x91, 0x11, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// The three repeat offsets a dictionary starts with: zstd's defaults.
const REPEAT_OFFSETS: [u32; 3] = [1, 4, 8];

/// Length of everything before the history bytes.
const PREFIX_LEN: usize = DICT_MAGIC.len() + 4 + ENTROPY_TABLES.len() + 12;

/// The QOI bytes of the stream so far (at most `limit` of them), stored right
/// after a zstd dictionary header so the dictionary needs no copy.
#[derive(Debug, Clone)]
pub(crate) struct History {
    dict: Vec<u8>,
    limit: usize,
}

impl History {
    /// An empty history that keeps the last `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        let mut dict = Vec::with_capacity(PREFIX_LEN);
        dict.extend_from_slice(&DICT_MAGIC);
        dict.extend_from_slice(&DICT_ID.to_le_bytes());
        dict.extend_from_slice(&ENTROPY_TABLES);
        for offset in REPEAT_OFFSETS {
            dict.extend_from_slice(&offset.to_le_bytes());
        }
        debug_assert_eq!(dict.len(), PREFIX_LEN);
        Self { dict, limit }
    }

    /// Forgets every byte (a keyframe follows).
    pub(crate) fn clear(&mut self) {
        self.dict.truncate(PREFIX_LEN);
    }

    /// True when nothing was sent since the last reset.
    pub(crate) fn is_empty(&self) -> bool {
        self.dict.len() == PREFIX_LEN
    }

    /// Appends the QOI bytes of one rectangle and drops the oldest bytes
    /// beyond the limit.
    pub(crate) fn push(&mut self, qoi: &[u8]) {
        self.dict.extend_from_slice(qoi);
        let excess = (self.dict.len() - PREFIX_LEN).saturating_sub(self.limit);
        if excess > 0 {
            self.dict.drain(PREFIX_LEN..PREFIX_LEN + excess);
        }
    }

    /// The zstd dictionary: header, entropy tables, repeat offsets, history.
    /// Only meaningful when not [`empty`](Self::is_empty): the repeat
    /// offsets need at least 8 bytes of content, and a QOI image has 23.
    pub(crate) fn dictionary(&self) -> &[u8] {
        &self.dict
    }
}
