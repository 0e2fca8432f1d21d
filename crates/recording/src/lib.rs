//! Session recordings (`docs/recording.md`): what is recorded of a
//! session's messages, the file they are written to, its keyframe index,
//! and reading such a file back, whole or damaged. No IO: callers feed
//! bytes and write what they are given.
//!
//! - [`RecordingWriter`] turns a session's frames into a file's bytes.
//! - [`Scanner`] checks a file as its bytes arrive (an upload, a read from
//!   disk) and rebuilds its index; [`Scanner::recover`] closes a file that
//!   was cut short.
//! - [`read_trailer`] finds the index at the end of a finished file, and
//!   [`parse_record`] reads one record, for players and exports that seek.
//! - [`Screen`] paints records into RGBA pixels, for exports.

mod error;
mod format;
mod index;
mod record;
mod render;
mod scan;
mod selection;
mod writer;

pub use error::FormatError;
pub use format::{
    END_MAGIC, MAGIC, MAX_BODY_LEN, MAX_INDEX_LEN, MAX_META_LEN, Meta, TRAILER_LEN, VERSION,
    index_start, parse_header, read_trailer,
};
pub use index::{Index, Keyframe};
pub use record::{Record, Source, parse_record};
pub use render::{RenderError, Screen};
pub use scan::{Recovered, Scanned, Scanner};
pub use selection::{is_screen_size, recorded};
pub use writer::RecordingWriter;
