//! The QOIZ decoder as a WebAssembly module for the browser's decode worker.
//!
//! No wasm-bindgen: the worker instantiates the module with
//! `WebAssembly.instantiate` and calls these exports with plain numbers.
//! Pointers are offsets into the module's memory; re-read `memory.buffer`
//! after every call, since decoding may grow it.
//!
//! ```text
//! qoiz_alloc(len) -> ptr                 buffer for compressed data (0 if len is 0)
//! qoiz_free(ptr, len)                    give back a qoiz_alloc buffer
//! qoiz_decoder_new() -> handle           one per session
//! qoiz_decoder_free(handle)
//! qoiz_decode(handle, codec, reset_context, data_ptr, data_len, width, height) -> status
//! qoiz_decode_frame(handle, reset_context, data_ptr, data_len) -> status
//!                                        one CODEC_QOIZ_SESSION message
//! qoiz_output_ptr(handle) -> ptr         last success: RGBA of qoiz_decode
//!                                        (width * height * 4 bytes), or the
//!                                        operations of qoiz_decode_frame
//! qoiz_output_len(handle) -> len         bytes at qoiz_output_ptr
//! qoiz_error_ptr(handle) -> ptr          UTF-8 message of the last error
//! qoiz_error_len(handle) -> len
//! ```
//!
//! Status: [`OK`], or a negative code: [`ERR_ARGUMENT`] (null handle or
//! data pointer), [`ERR_CODEC`] (unknown codec number), [`ERR_DATA`]
//! (anything wrong with the data; the message says what). `codec` is the
//! number of the `Codec` enum in `proto/tdpb.proto`; `reset_context` is 0
//! or 1.
//!
//! The operations of a session stream message are little-endian u32
//! fields, back to back: a paint is `0, x, y, width, height` and then
//! `width * height * 4` RGBA bytes; a copy is `1, x, y, width, height,
//! src_x, src_y` (`oriel_qoiz::FrameOps`). Apply them in order.

#![warn(missing_docs)]

use oriel_qoiz::{Codec, DecodeError, Decoder, SessionDecoder};

/// Decoded.
pub const OK: i32 = 0;
/// Null handle, or null data pointer with a non-zero length.
pub const ERR_ARGUMENT: i32 = -1;
/// The codec number is not one this decoder knows.
pub const ERR_CODEC: i32 = -2;
/// The data could not be decoded; see `qoiz_error_ptr`.
pub const ERR_DATA: i32 = -3;

/// What a handle points to: a session's decoder, its output and last error.
pub struct Session {
    decoder: Decoder,
    stream: SessionDecoder,
    /// Whether the last success was a session stream message (its output
    /// lives in `stream`) or a rectangle (in `rgba`).
    output_is_frame: bool,
    rgba: Vec<u8>,
    error: String,
}

/// Allocates `len` bytes for the caller to fill; free with [`qoiz_free`].
#[unsafe(no_mangle)]
pub extern "C" fn qoiz_alloc(len: u32) -> *mut u8 {
    if len == 0 {
        return std::ptr::null_mut();
    }
    Box::into_raw(vec![0u8; len as usize].into_boxed_slice()).cast()
}

/// Frees a buffer from [`qoiz_alloc`].
///
/// # Safety
/// `ptr` and `len` must be exactly what one `qoiz_alloc` call returned and
/// took, and the buffer must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qoiz_free(ptr: *mut u8, len: u32) {
    if ptr.is_null() || len == 0 {
        return;
    }
    // SAFETY: the caller hands back a boxed slice of exactly `len` bytes.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len as usize)) });
}

/// Creates a decoder for one session.
#[unsafe(no_mangle)]
pub extern "C" fn qoiz_decoder_new() -> *mut Session {
    Box::into_raw(Box::new(Session {
        decoder: Decoder::new(),
        stream: SessionDecoder::new(),
        output_is_frame: false,
        rgba: Vec::new(),
        error: String::new(),
    }))
}

/// Frees a decoder. Null is ignored.
///
/// # Safety
/// `handle` must come from [`qoiz_decoder_new`] and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qoiz_decoder_free(handle: *mut Session) {
    if !handle.is_null() {
        // SAFETY: the handle was made by Box::into_raw in qoiz_decoder_new.
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// Decodes one rectangle; see the crate documentation for the status codes.
///
/// # Safety
/// `handle` must be null or live; `data_ptr` must point to `data_len`
/// readable bytes (it may be null when `data_len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qoiz_decode(
    handle: *mut Session,
    codec: u32,
    reset_context: u32,
    data_ptr: *const u8,
    data_len: u32,
    width: u32,
    height: u32,
) -> i32 {
    // SAFETY: the caller guarantees what `call` needs.
    let Some((session, data)) = (unsafe { call(handle, data_ptr, data_len) }) else {
        return ERR_ARGUMENT;
    };
    let Ok(data) = data else {
        return session.fail(ERR_ARGUMENT, "data pointer is null".into());
    };
    let codec = match Codec::try_from(codec) {
        Ok(codec) => codec,
        Err(e) => return session.fail(ERR_CODEC, e.to_string()),
    };
    match session.decoder.decode(
        codec,
        reset_context != 0,
        data,
        width,
        height,
        &mut session.rgba,
    ) {
        Ok(()) => {
            session.error.clear();
            session.output_is_frame = false;
            OK
        }
        Err(e) => session.fail(ERR_DATA, message(&e)),
    }
}

/// Decodes one `CODEC_QOIZ_SESSION` message into its operations; see the
/// crate documentation for the layout and the status codes.
///
/// # Safety
/// As [`qoiz_decode`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qoiz_decode_frame(
    handle: *mut Session,
    reset_context: u32,
    data_ptr: *const u8,
    data_len: u32,
) -> i32 {
    // SAFETY: the caller guarantees what `call` needs.
    let Some((session, data)) = (unsafe { call(handle, data_ptr, data_len) }) else {
        return ERR_ARGUMENT;
    };
    let Ok(data) = data else {
        return session.fail(ERR_ARGUMENT, "data pointer is null".into());
    };
    match session.stream.decode(reset_context != 0, data) {
        Ok(_) => {
            session.error.clear();
            session.output_is_frame = true;
            OK
        }
        Err(e) => session.fail(ERR_DATA, message(&e)),
    }
}

/// The RGBA pixels of the last successful decode (`width * height * 4`
/// bytes); null for a null handle. Valid until the next call on the handle.
///
/// # Safety
/// `handle` must be null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qoiz_output_ptr(handle: *const Session) -> *const u8 {
    // SAFETY: the caller guarantees the handle is null or live.
    unsafe { handle.as_ref() }.map_or(std::ptr::null(), |s| s.output().as_ptr())
}

/// Length in bytes of the output at [`qoiz_output_ptr`]; 0 for a null handle.
///
/// # Safety
/// `handle` must be null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qoiz_output_len(handle: *const Session) -> u32 {
    // SAFETY: the caller guarantees the handle is null or live.
    unsafe { handle.as_ref() }.map_or(0, |s| s.output().len() as u32)
}

/// The UTF-8 message of the last error (empty after a success).
///
/// # Safety
/// `handle` must be null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qoiz_error_ptr(handle: *const Session) -> *const u8 {
    // SAFETY: the caller guarantees the handle is null or live.
    unsafe { handle.as_ref() }.map_or(std::ptr::null(), |s| s.error.as_ptr())
}

/// Length in bytes of the message at [`qoiz_error_ptr`].
///
/// # Safety
/// `handle` must be null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn qoiz_error_len(handle: *const Session) -> u32 {
    // SAFETY: the caller guarantees the handle is null or live.
    unsafe { handle.as_ref() }.map_or(0, |s| s.error.len() as u32)
}

/// The session and the input bytes of a decode call; `None` for a null
/// handle, an error for a null data pointer with a non-zero length.
///
/// # Safety
/// `handle` must be null or live and unaliased; `data_ptr` must point to
/// `data_len` readable bytes (it may be null when `data_len` is 0).
unsafe fn call<'a>(
    handle: *mut Session,
    data_ptr: *const u8,
    data_len: u32,
) -> Option<(&'a mut Session, Result<&'a [u8], ()>)> {
    // SAFETY: the caller guarantees the handle is null or live and unaliased.
    let session = unsafe { handle.as_mut() }?;
    let data = if data_len == 0 {
        Ok(&[][..])
    } else if data_ptr.is_null() {
        Err(())
    } else {
        // SAFETY: the caller guarantees data_len readable bytes at data_ptr.
        Ok(unsafe { std::slice::from_raw_parts(data_ptr, data_len as usize) })
    };
    Some((session, data))
}

impl Session {
    fn output(&self) -> &[u8] {
        if self.output_is_frame {
            self.stream.last_ops().as_bytes()
        } else {
            &self.rgba
        }
    }

    fn fail(&mut self, status: i32, error: String) -> i32 {
        self.error = error;
        status
    }
}

fn message(e: &DecodeError) -> String {
    e.to_string()
}
