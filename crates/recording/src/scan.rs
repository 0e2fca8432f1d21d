//! Checking a recording as its bytes arrive, and closing one cut short.

use crate::format::{read_trailer, trailer};
use crate::index::IndexBuilder;
use crate::{FormatError, Index, MAX_INDEX_LEN, Meta, TRAILER_LEN, parse_header, parse_record};

/// Reads a recording from its first byte on, checking every record and
/// rebuilding the index: an upload is checked this way before it is kept,
/// and a file left by a crash is closed with [`Self::recover`].
///
/// Records are read until one does not parse; what follows must be the
/// trailer. A trailer never parses as a record: the index is JSON, so its
/// first four bytes, read as a length, are far over [`crate::MAX_BODY_LEN`].
#[derive(Debug, Default)]
pub struct Scanner {
    /// Bytes not yet read, from file offset `buffered_at`.
    buffer: Vec<u8>,
    buffered_at: u64,
    meta: Option<Meta>,
    index: Option<IndexBuilder>,
    /// Why records stopped, once they have: the rest is the trailer, or
    /// this is the damage.
    stopped: Option<FormatError>,
}

/// A whole recording, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub meta: Meta,
    pub index: Index,
    /// The file's length.
    pub len: u64,
}

/// What to do with a file cut short: keep its first `keep` bytes (every
/// whole record) and append `trailer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub meta: Meta,
    pub index: Index,
    pub keep: u64,
    pub trailer: Vec<u8>,
}

impl Scanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `bytes`, the next part of the file.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), FormatError> {
        self.buffer.extend_from_slice(bytes);
        if self.stopped.is_some() {
            let limit = MAX_INDEX_LEN as usize + TRAILER_LEN;
            return match self.buffer.len() > limit {
                true => Err(self.stopped.take().expect("checked")),
                false => Ok(()),
            };
        }
        let mut at = 0;
        if self.meta.is_none() {
            let Some((meta, len)) = parse_header(&self.buffer)? else {
                return Ok(());
            };
            self.meta = Some(meta);
            self.index = Some(IndexBuilder::starting_at(len as u64));
            at = len;
        }
        let index = self.index.as_mut().expect("set with the meta");
        loop {
            let offset = self.buffered_at + at as u64;
            match parse_record(&self.buffer[at..], offset) {
                Ok(Some((record, len))) => match index.observe(offset, len, &record) {
                    Ok(()) => at += len,
                    Err(error) => {
                        self.stopped = Some(error);
                        break;
                    }
                },
                Ok(None) => break,
                Err(error) => {
                    self.stopped = Some(error);
                    break;
                }
            }
        }
        self.buffer.drain(..at);
        self.buffered_at += at as u64;
        Ok(())
    }

    /// The file ended: it must have ended with its trailer, holding the
    /// index its records make.
    pub fn finish(self) -> Result<Scanned, FormatError> {
        let len = self.buffered_at + self.buffer.len() as u64;
        let (Some(meta), Some(built)) = (self.meta, self.index) else {
            return Err(FormatError::Truncated { offset: len });
        };
        let records_end = built.end();
        let index = match read_trailer(&self.buffer, len) {
            Ok(index) => index,
            // Records stopped where the index's JSON starts: the trailer is
            // what is damaged or cut short.
            Err(trailer_error) if self.buffer.first() == Some(&b'{') => return Err(trailer_error),
            // Damage among the records says more than a missing trailer.
            Err(trailer_error) => return Err(self.stopped.unwrap_or(trailer_error)),
        };
        let built = built.finish();
        if index.records_end != records_end {
            return Err(self.stopped.unwrap_or(FormatError::IndexMismatch(format!(
                "records end at {records_end}, the index says {}",
                index.records_end
            ))));
        }
        // The session may have gone on after its last record.
        if index.duration_ms < built.duration_ms {
            return Err(FormatError::IndexMismatch(format!(
                "it lasts {} ms, but a record is {} ms in",
                index.duration_ms, built.duration_ms
            )));
        }
        if index.keyframes != built.keyframes || index.records != built.records {
            return Err(FormatError::IndexMismatch(
                "its keyframes or count differ from the records'".into(),
            ));
        }
        Ok(Scanned { meta, index, len })
    }

    /// The file ended, perhaps without its trailer (its writer died): what
    /// to keep of it and the trailer to close it with. A file whose own
    /// trailer checks out is kept whole.
    pub fn recover(self) -> Result<Recovered, FormatError> {
        let len = self.buffered_at + self.buffer.len() as u64;
        let (Some(meta), Some(built)) = (self.meta, self.index) else {
            return Err(FormatError::Truncated { offset: len });
        };
        let built = built.finish();
        if let Ok(index) = read_trailer(&self.buffer, len)
            && index.keyframes == built.keyframes
            && index.records == built.records
            && index.duration_ms >= built.duration_ms
        {
            return Ok(Recovered {
                meta,
                index,
                keep: len,
                trailer: Vec::new(),
            });
        }
        let trailer = trailer(&built);
        Ok(Recovered {
            meta,
            keep: built.records_end,
            index: built,
            trailer,
        })
    }
}
