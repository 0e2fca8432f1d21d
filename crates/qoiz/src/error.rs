//! Error types.

/// A [`BgrxView`](crate::BgrxView) that does not describe readable pixels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// Width or height is 0 or above [`MAX_DIMENSION`](crate::MAX_DIMENSION).
    #[error("rectangle size {width}x{height} is outside 1..=8192")]
    BadSize {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
    },
    /// Rows would overlap.
    #[error("stride {stride} is shorter than a row of {row_len} bytes")]
    StrideTooSmall {
        /// Stride given.
        stride: usize,
        /// Bytes in one row of the rectangle.
        row_len: usize,
    },
    /// The pixel slice ends before the last row does.
    #[error("pixel buffer holds {len} bytes, the rectangle needs {needed}")]
    TooShort {
        /// Bytes the rectangle spans.
        needed: usize,
        /// Bytes given.
        len: usize,
    },
}

/// Why a rectangle could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The input pixels are not a valid view.
    #[error(transparent)]
    View(#[from] ViewError),
    /// The zstd library failed; the encoder must be reset before reuse.
    #[error("zstd compression failed: {0}")]
    Zstd(&'static str),
    /// A session stream operation would leave the largest screen.
    #[error("{width}x{height} at ({x}, {y}) leaves the largest screen")]
    OffScreen {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
}

/// Why a rectangle could not be decoded. Every variant means the data came
/// from a broken or hostile peer; none is worth a retry with the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Width or height is 0 or above [`MAX_DIMENSION`](crate::MAX_DIMENSION).
    #[error("rectangle size {width}x{height} is outside 1..=8192")]
    BadSize {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
    },
    /// The codec number is not one this crate knows.
    #[error("unknown codec {0}")]
    UnknownCodec(u32),
    /// The output slice given to [`decode_qoi`](crate::decode_qoi) has the wrong length.
    #[error("output buffer holds {len} bytes, the rectangle needs {expected}")]
    OutputLength {
        /// `width * height * 4`.
        expected: usize,
        /// Length given.
        len: usize,
    },
    /// The QOI image does not start with `qoif`.
    #[error("qoi magic is missing")]
    QoiBadMagic,
    /// The QOI header announces another size than the rectangle's.
    #[error("qoi image is {found_width}x{found_height}, the rectangle is {width}x{height}")]
    QoiSizeMismatch {
        /// Rectangle width.
        width: u32,
        /// Rectangle height.
        height: u32,
        /// Width in the QOI header.
        found_width: u32,
        /// Height in the QOI header.
        found_height: u32,
    },
    /// The QOI header's channel count is neither 3 nor 4.
    #[error("qoi channel count {0} is neither 3 nor 4")]
    QoiBadChannels(u8),
    /// The QOI header's colorspace is neither 0 nor 1.
    #[error("qoi colorspace {0} is neither 0 nor 1")]
    QoiBadColorspace(u8),
    /// The QOI data ends before the last pixel or inside the end marker.
    #[error("qoi data is truncated")]
    QoiTruncated,
    /// A run op goes past the last pixel.
    #[error("qoi run goes past the last pixel")]
    QoiRunOverflow,
    /// The bytes after the last pixel are not the end marker.
    #[error("qoi end marker is wrong")]
    QoiBadEndMarker,
    /// Bytes follow the end marker.
    #[error("{extra} bytes follow the qoi end marker")]
    QoiTrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The zstd data is malformed.
    #[error("zstd data is invalid: {0}")]
    Zstd(String),
    /// The zstd data ends before the rectangle's QOI image does.
    #[error("zstd data is truncated")]
    ZstdTruncated,
    /// Bytes follow the zstd data of the rectangle.
    #[error("{extra} bytes follow the zstd data of the rectangle")]
    ZstdTrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The zstd data inflates past the largest QOI image of the rectangle's
    /// size (a decompression bomb, or data for another rectangle).
    #[error("zstd data inflates past {limit} bytes, the most a {width}x{height} qoi image takes")]
    TooLarge {
        /// [`max_qoi_len`](crate::max_qoi_len) of the rectangle.
        limit: usize,
        /// Rectangle width.
        width: u32,
        /// Rectangle height.
        height: u32,
    },
    /// The zstd window is larger than this decoder accepts.
    #[error("zstd window of {window} bytes exceeds the {max}-byte limit")]
    WindowTooLarge {
        /// Window the frame asks for.
        window: u64,
        /// Largest accepted.
        max: u64,
    },
    /// A stream rectangle arrived without `reset_context` and no stream is
    /// open (first rectangle, or the stream broke on an earlier error).
    #[error("stream rectangle without reset_context and no stream is open")]
    NoStream,
    /// A rectangle does not lie on the [`Canvas`](crate::Canvas).
    #[error("{width}x{height} at ({x}, {y}) leaves the {canvas_width}x{canvas_height} screen")]
    OffCanvas {
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The canvas's width.
        canvas_width: u32,
        /// The canvas's height.
        canvas_height: u32,
    },
    /// A `CODEC_QOIZ_SESSION` message was given to the rectangle decoder;
    /// [`SessionDecoder`](crate::SessionDecoder) decodes those.
    #[error("a session stream message is not a rectangle of its own")]
    NotARectangle,
    /// A session stream message inflates past
    /// [`MAX_MESSAGE_BODY`](crate::MAX_MESSAGE_BODY).
    #[error("the frame inflates past {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A session stream message paints more than
    /// [`MAX_MESSAGE_AREA`](crate::MAX_MESSAGE_AREA) pixels.
    #[error("the frame paints more than {limit} pixels")]
    AreaTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The message's body is not as long as it says: cut short, or
    /// corrupted.
    #[error("the frame says it holds {declared} bytes but {found} came out")]
    BodyLength {
        /// The length the body starts with.
        declared: u32,
        /// What was inflated after it.
        found: usize,
    },
    /// A frame operation ends before its fields do.
    #[error("the frame operation at byte {offset} is truncated")]
    OpTruncated {
        /// Where the field starts in the frame body.
        offset: usize,
    },
    /// A field is not a LEB128 u32 of at most 5 bytes.
    #[error("the number at byte {offset} of the frame is not a valid u32")]
    BadVarint {
        /// Where it starts in the frame body.
        offset: usize,
    },
    /// An operation tag this decoder does not know.
    #[error("unknown frame operation {tag} at byte {offset}")]
    BadOp {
        /// Where the operation starts.
        offset: usize,
        /// Its tag.
        tag: u8,
    },
    /// A region is empty or leaves the largest screen.
    #[error(
        "the frame operation at byte {offset} covers {width}x{height} at ({x}, {y}), off the screen"
    )]
    OpOutside {
        /// Where the operation starts.
        offset: usize,
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// A paint's QOI ops do not decode.
    #[error("the paint at byte {offset} of the frame does not decode: {reason}")]
    BadPaint {
        /// Where the operation starts.
        offset: usize,
        /// What is wrong with its pixels.
        reason: Box<DecodeError>,
    },
}
