//! The file's header and trailer (layout: `docs/recording.md`).

use serde::{Deserialize, Serialize};

use crate::FormatError;
use crate::index::Index;

/// The first bytes of every recording.
pub const MAGIC: &[u8; 8] = b"ORIELREC";
/// The last bytes of every finished recording.
pub const END_MAGIC: &[u8; 8] = b"ORIELEND";
/// The format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Largest metadata block.
pub const MAX_META_LEN: u32 = 64 * 1024;
/// Largest record body: a TDPB frame's envelope and the 5 bytes before it.
pub const MAX_BODY_LEN: u32 = oriel_tdpb::MAX_FRAME_LEN as u32 + 5;
/// Largest index (a day of keyframes every few seconds fits many times).
pub const MAX_INDEX_LEN: u32 = 16 << 20;
/// Bytes after the index: its length, its CRC and [`END_MAGIC`].
pub const TRAILER_LEN: usize = 4 + 4 + 8;
/// Magic, version, flags and the metadata's length.
pub(crate) const FIXED_HEADER_LEN: usize = 8 + 2 + 2 + 4;

/// Who, where and when: written first, so a file speaks for itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub session_id: String,
    pub user: String,
    pub login: String,
    pub desktop: String,
    pub desktop_kind: String,
    /// RFC 3339, UTC.
    pub start: String,
}

impl Meta {
    pub(crate) fn header(&self) -> Vec<u8> {
        let meta = serde_json::to_vec(self).expect("plain strings serialize");
        let mut out = Vec::with_capacity(FIXED_HEADER_LEN + meta.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&(meta.len() as u32).to_be_bytes());
        out.extend_from_slice(&meta);
        out
    }
}

/// Reads the header at the start of `buf`: the metadata and the header's
/// length, or `None` while more bytes are needed.
pub fn parse_header(buf: &[u8]) -> Result<Option<(Meta, usize)>, FormatError> {
    let magic_seen = buf.len().min(MAGIC.len());
    if buf[..magic_seen] != MAGIC[..magic_seen] {
        return Err(FormatError::BadMagic);
    }
    let Some(fixed) = buf.get(..FIXED_HEADER_LEN) else {
        return Ok(None);
    };
    let version = u16::from_be_bytes([fixed[8], fixed[9]]);
    if version != VERSION {
        return Err(FormatError::UnsupportedVersion(version));
    }
    let meta_len = u32::from_be_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]);
    if meta_len > MAX_META_LEN {
        return Err(FormatError::MetaTooLong(meta_len));
    }
    let end = FIXED_HEADER_LEN + meta_len as usize;
    let Some(meta) = buf.get(FIXED_HEADER_LEN..end) else {
        return Ok(None);
    };
    let meta = serde_json::from_slice(meta).map_err(|e| FormatError::BadMeta(e.to_string()))?;
    Ok(Some((meta, end)))
}

/// The trailer for `index`.
pub(crate) fn trailer(index: &Index) -> Vec<u8> {
    let json = serde_json::to_vec(index).expect("numbers serialize");
    let mut out = Vec::with_capacity(json.len() + TRAILER_LEN);
    out.extend_from_slice(&json);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(&json).to_be_bytes());
    out.extend_from_slice(END_MAGIC);
    out
}

/// Where the index of a finished file of `file_len` bytes starts, from its
/// last [`TRAILER_LEN`] bytes (`tail`): a reader fetches those first, then
/// the index with [`read_trailer`].
pub fn index_start(tail: &[u8], file_len: u64) -> Result<u64, FormatError> {
    let tail: &[u8; TRAILER_LEN] = tail
        .get(tail.len().saturating_sub(TRAILER_LEN)..)
        .and_then(|t| t.try_into().ok())
        .ok_or(FormatError::Truncated { offset: file_len })?;
    if &tail[8..] != END_MAGIC {
        return Err(FormatError::Truncated { offset: file_len });
    }
    let len = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if len > MAX_INDEX_LEN || u64::from(len) + TRAILER_LEN as u64 > file_len {
        return Err(FormatError::BadIndex(format!(
            "its length {len} does not fit the file"
        )));
    }
    Ok(file_len - TRAILER_LEN as u64 - u64::from(len))
}

/// Reads the index from `end`, the bytes from [`index_start`] to the end of
/// a file of `file_len` bytes, and checks it against its CRC and the file.
pub fn read_trailer(end: &[u8], file_len: u64) -> Result<Index, FormatError> {
    let start = index_start(end, file_len)?;
    let json_len = (file_len - start) as usize - TRAILER_LEN;
    let json = end
        .get(end.len() - TRAILER_LEN - json_len..end.len() - TRAILER_LEN)
        .ok_or(FormatError::Truncated { offset: file_len })?;
    let crc = u32::from_be_bytes(
        end[end.len() - 12..end.len() - 8]
            .try_into()
            .expect("4 bytes"),
    );
    if crc32fast::hash(json) != crc {
        return Err(FormatError::BadIndex("its checksum does not match".into()));
    }
    let index: Index =
        serde_json::from_slice(json).map_err(|e| FormatError::BadIndex(e.to_string()))?;
    if index.records_end != start {
        return Err(FormatError::BadIndex(format!(
            "records end at {} but the index starts at {start}",
            index.records_end
        )));
    }
    index.check_shape()?;
    Ok(index)
}
