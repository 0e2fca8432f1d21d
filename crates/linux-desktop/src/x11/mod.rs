//! Talking to the session's X server: capture, input, cursor and screen size.

pub mod capture;
pub mod clipboard;
pub mod cursor;
pub mod framebuffer;
pub mod input;
pub mod keymap;
pub mod keysym;
pub mod reply_limit;
pub mod scancode;
pub mod screen;
pub mod text;

use std::os::unix::net::UnixStream;
use std::path::Path;

use x11rb::connection::RequestConnection as _;
use x11rb::rust_connection::{DefaultStream, RustConnection};

use self::reply_limit::{LimitedStream, MAX_PACKET_BYTES};

use crate::xauthority::{AUTH_NAME, Cookie};

/// Errors talking to X. The session ends on any of them: X going away is
/// the usual cause.
#[derive(Debug, thiserror::Error)]
pub enum X11Error {
    /// The connection could not be set up.
    #[error("cannot connect to the X server: {0}")]
    Connect(String),
    /// An extension Oriel needs is missing.
    #[error("the X server lacks the {0} extension")]
    MissingExtension(&'static str),
    /// The connection broke.
    #[error("X connection failed: {0}")]
    Connection(#[from] x11rb::errors::ConnectionError),
    /// A request failed.
    #[error("X request failed: {0}")]
    Reply(#[from] x11rb::errors::ReplyError),
    /// Allocating an X resource id or sending a request failed.
    #[error("X request failed: {0}")]
    ReplyOrId(#[from] x11rb::errors::ReplyOrIdError),
    /// Shared memory for captures could not be set up.
    #[error("shared memory for screen capture: {0}")]
    SharedMemory(#[source] std::io::Error),
}

/// A connection of the service to its session's X server: every packet
/// from the server is at most [`MAX_PACKET_BYTES`] (see [`reply_limit`]).
pub type X11Connection = RustConnection<LimitedStream>;

/// Connects to the display's unix socket presenting the session cookie.
pub fn connect(socket: &Path, cookie: &Cookie) -> Result<X11Connection, X11Error> {
    let stream = UnixStream::connect(socket).map_err(|e| X11Error::Connect(format!("{}: {e}", socket.display())))?;
    let (stream, _) = DefaultStream::from_unix_stream(stream).map_err(|e| X11Error::Connect(e.to_string()))?;
    let stream = LimitedStream::new(stream, MAX_PACKET_BYTES);
    let conn = RustConnection::connect_to_stream_with_auth_info(stream, 0, AUTH_NAME.to_vec(), cookie.bytes().to_vec())
        .map_err(|e| X11Error::Connect(e.to_string()))?;
    for (name, ext) in [
        ("DAMAGE", x11rb::protocol::damage::X11_EXTENSION_NAME),
        ("XFIXES", x11rb::protocol::xfixes::X11_EXTENSION_NAME),
        ("XTEST", x11rb::protocol::xtest::X11_EXTENSION_NAME),
        ("RANDR", x11rb::protocol::randr::X11_EXTENSION_NAME),
        ("MIT-SHM", x11rb::protocol::shm::X11_EXTENSION_NAME),
    ] {
        if conn.extension_information(ext)?.is_none() {
            return Err(X11Error::MissingExtension(name));
        }
    }
    Ok(conn)
}
