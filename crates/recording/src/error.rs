use thiserror::Error;

/// Why bytes are not a recording, or not a whole one. Offsets are from the
/// start of the file, so a report points at the damage.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    #[error("not an Oriel recording (the file does not start with ORIELREC)")]
    BadMagic,
    #[error("recording format version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u16),
    #[error("the recording's metadata is {0} bytes, over the 64 KiB limit")]
    MetaTooLong(u32),
    #[error("the recording's metadata is not valid: {0}")]
    BadMeta(String),
    #[error("the record at offset {offset} claims {len} bytes, outside 5..={max}", max = crate::MAX_BODY_LEN)]
    BadRecordLength { offset: u64, len: u32 },
    #[error("the record at offset {offset} is damaged (its checksum does not match)")]
    BadChecksum { offset: u64 },
    #[error("the record at offset {offset} has an unknown source {value}")]
    BadSource { offset: u64, value: u8 },
    #[error("the record at offset {offset} holds a message recordings never keep")]
    NotRecordable { offset: u64 },
    #[error("the record at offset {offset} is not a valid message: {reason}")]
    BadEnvelope { offset: u64, reason: String },
    #[error(
        "the record at offset {offset} goes back in time ({delay_ms} ms after {previous_ms} ms)"
    )]
    TimeGoesBack {
        offset: u64,
        delay_ms: u32,
        previous_ms: u32,
    },
    #[error("the recording was cut short at offset {offset} (no index at its end)")]
    Truncated { offset: u64 },
    #[error("the recording's index is damaged: {0}")]
    BadIndex(String),
    #[error("the recording's index does not match its records: {0}")]
    IndexMismatch(String),
}
