//! The desktop's `CLIPBOARD` selection, shared with the browser: a thread
//! with an X connection of its own and a hidden window.
//!
//! - Browser → desktop: the window takes `CLIPBOARD` with the browser's text
//!   and answers conversions (`crate::clipboard::Target`), by `INCR` when a
//!   reply is larger than a chunk.
//! - Desktop → browser: XFIXES tells when another client takes `CLIPBOARD`;
//!   the window converts it to `UTF8_STRING` (else `STRING`), reads `INCR`
//!   transfers too, and the text goes to the browser as `ClipboardData`, or
//!   a WARNING alert when it is over 1 MiB.
//!
//! A second thread blocks on X events and hands them over, as the frame
//! loop's does, so the clipboard thread can also hear the session and a
//! clock (stalled transfers are dropped).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::X11Connection;
use oriel_tdpb::pb::{self, AlertSeverity};
use oriel_tdpb::{Payload, encode_frame};
use x11rb::connection::{Connection as _, RequestConnection as _};
use x11rb::protocol::Event;
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    AtomEnum, ChangeWindowAttributesAux, ConnectionExt as _, CreateWindowAux, EventMask, PropMode, Property, PropertyNotifyEvent, SelectionNotifyEvent,
    SelectionRequestEvent, Timestamp, Window, WindowClass,
};
use x11rb::wrapper::ConnectionExt as _;
use x11rb::{CURRENT_TIME, NONE, atom_manager};

use super::X11Error;
use crate::clipboard::{BrowserCopy, Encoding, Incoming, MAX_CLIPBOARD_LEN, Outgoing, Received, Target, chunk_size, needs_incr};
use crate::xauthority::Cookie;

atom_manager! {
    Atoms: AtomsCookie {
        CLIPBOARD,
        TARGETS,
        TIMESTAMP,
        UTF8_STRING,
        TEXT,
        INCR,
        TEXT_PLAIN_UTF8: b"text/plain;charset=utf-8",
        // Where conversions for the browser land, on the hidden window.
        ORIEL_CLIPBOARD,
        // Appended to with nothing to learn the server's time (ICCCM: never
        // take a selection at CurrentTime).
        ORIEL_TIMESTAMP,
    }
}

/// How often stalled transfers are looked for while nothing happens.
const TICK: Duration = Duration::from_secs(1);
/// Most `INCR` replies under way at once; more are refused.
const MAX_OUTGOING: usize = 32;
/// How long the session waits for the desktop's clipboard to hold the
/// browser's text before it handles the next message (a paste key, say).
pub const TAKE_WAIT: Duration = Duration::from_secs(1);

enum Signal {
    X(Event),
    XClosed,
    BrowserCopied(String, Taken),
    Stop,
}

/// The clipboard bridge of one session. Dropping it stops the thread.
pub struct Clipboard {
    signals: mpsc::Sender<Signal>,
}

impl Clipboard {
    /// Connects to the display and starts following and serving `CLIPBOARD`.
    /// What the browser is to get (clipboard text, alerts) goes to `out`.
    pub fn start(socket: &Path, cookie: &Cookie, out: tokio::sync::mpsc::Sender<Vec<u8>>) -> Result<Self, X11Error> {
        let conn = Arc::new(super::connect(socket, cookie)?);
        conn.xfixes_query_version(5, 0)?.reply()?;
        let atoms = Atoms::new(&*conn)?.reply()?;
        let root = conn.setup().roots[0].root;
        let window = conn.generate_id()?;
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            root,
            -1,
            -1,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            x11rb::COPY_FROM_PARENT,
            &CreateWindowAux::new().event_mask(EventMask::PROPERTY_CHANGE),
        )?;
        conn.xfixes_select_selection_input(
            window,
            atoms.CLIPBOARD,
            xfixes::SelectionEventMask::SET_SELECTION_OWNER
                | xfixes::SelectionEventMask::SELECTION_WINDOW_DESTROY
                | xfixes::SelectionEventMask::SELECTION_CLIENT_CLOSE,
        )?;
        // A round trip, so a refused request fails here rather than later.
        conn.get_input_focus()?.reply()?;
        let state = State {
            chunk: chunk_size(conn.maximum_request_bytes()),
            conn: conn.clone(),
            window,
            atoms,
            out,
            owned: None,
            pending: None,
            outgoing: HashMap::new(),
            incoming: None,
            convert_again: false,
            browser: BrowserCopy::default(),
            closed: false,
        };
        let (signals, rx) = mpsc::channel();
        let events = signals.clone();
        let event_conn = conn.clone();
        std::thread::Builder::new()
            .name("x11-clipboard-events".into())
            .spawn(move || forward_events(&event_conn, &events))
            .map_err(|e| X11Error::Connect(format!("cannot start the clipboard's thread: {e}")))?;
        std::thread::Builder::new()
            .name("clipboard".into())
            .spawn(move || {
                if let Err(error) = state.run(rx) {
                    tracing::warn!(%error, "the clipboard stopped; the session goes on without it");
                }
            })
            .map_err(|e| X11Error::Connect(format!("cannot start the clipboard's thread: {e}")))?;
        Ok(Self { signals })
    }

    /// The browser copied `text`: the desktop's clipboard is to hold it.
    /// The answer comes once it does (or the browser's next text replaced it).
    pub fn browser_copied(&self, text: String) -> tokio::sync::oneshot::Receiver<()> {
        let (taken, answer) = tokio::sync::oneshot::channel();
        let _ = self.signals.send(Signal::BrowserCopied(text, taken));
        answer
    }
}

impl Drop for Clipboard {
    fn drop(&mut self) {
        let _ = self.signals.send(Signal::Stop);
    }
}

fn forward_events(conn: &X11Connection, signals: &mpsc::Sender<Signal>) {
    loop {
        let signal = match conn.wait_for_event() {
            // A requestor that went away mid-transfer makes its window's requests fail.
            Ok(Event::Error(error)) => {
                tracing::debug!(?error, "X error on the clipboard's connection");
                continue;
            }
            Ok(event) => Signal::X(event),
            Err(_) => Signal::XClosed,
        };
        let closed = matches!(signal, Signal::XClosed);
        if signals.send(signal).is_err() || closed {
            return;
        }
    }
}

/// Told once the desktop's clipboard holds the browser's text.
type Taken = tokio::sync::oneshot::Sender<()>;

/// The browser's text, as the desktop's `CLIPBOARD` owner.
struct Owned {
    text: Arc<str>,
    since: Timestamp,
}

/// Reading the selection for the browser.
enum Conversion {
    /// `ConvertSelection` sent; waiting for the owner's `SelectionNotify`.
    Asked { target: Target, since: Instant },
    /// The owner answered `INCR`: chunks arrive as the property is deleted.
    Incr(Incoming),
}

struct State {
    conn: Arc<X11Connection>,
    window: Window,
    atoms: Atoms,
    out: tokio::sync::mpsc::Sender<Vec<u8>>,
    chunk: usize,
    owned: Option<Owned>,
    /// The browser's text, waiting for a server timestamp to take `CLIPBOARD` with.
    pending: Option<(Arc<str>, Taken)>,
    /// `INCR` replies under way, by requestor window and property.
    outgoing: HashMap<(Window, u32), (Outgoing, u32)>,
    incoming: Option<Conversion>,
    /// The owner changed during a conversion: convert again after it.
    convert_again: bool,
    browser: BrowserCopy,
    /// The session stopped listening.
    closed: bool,
}

impl State {
    fn run(mut self, signals: mpsc::Receiver<Signal>) -> Result<(), X11Error> {
        let result = self.serve(&signals);
        // Wake the event thread, which finds nobody listening and ends (Xvfb's end would do it too).
        drop(signals);
        let wake = x11rb::protocol::xproto::ClientMessageEvent::new(32, self.window, self.atoms.ORIEL_CLIPBOARD, [0u32; 5]);
        let _ = self.conn.send_event(false, self.window, EventMask::NO_EVENT, wake);
        let _ = self.conn.flush();
        result
    }

    fn serve(&mut self, signals: &mpsc::Receiver<Signal>) -> Result<(), X11Error> {
        let mut next_expiry = Instant::now() + TICK;
        while !self.closed {
            let signal = match signals.recv_timeout(next_expiry.saturating_duration_since(Instant::now())) {
                Ok(signal) => signal,
                Err(RecvTimeoutError::Timeout) => {
                    self.expire(Instant::now())?;
                    next_expiry = Instant::now() + TICK;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            };
            match signal {
                Signal::X(event) => self.event(event)?,
                Signal::BrowserCopied(text, taken) => self.browser_copied(text, taken)?,
                Signal::XClosed | Signal::Stop => return Ok(()),
            }
            self.conn.flush()?;
        }
        Ok(())
    }

    fn event(&mut self, event: Event) -> Result<(), X11Error> {
        match event {
            Event::PropertyNotify(e) => self.property_changed(&e),
            Event::SelectionRequest(e) => self.selection_requested(&e),
            Event::SelectionClear(e) => {
                if e.selection == self.atoms.CLIPBOARD && e.owner == self.window {
                    self.owned = None;
                }
                Ok(())
            }
            Event::XfixesSelectionNotify(e) => {
                // Another client copied something (an owner going away leaves the browser's copy as it is).
                if e.selection == self.atoms.CLIPBOARD && e.owner != NONE && e.owner != self.window {
                    self.convert(e.selection_timestamp)?;
                }
                Ok(())
            }
            Event::SelectionNotify(e) => self.converted(&e),
            _ => Ok(()),
        }
    }

    fn browser_copied(&mut self, text: String, taken: Taken) -> Result<(), X11Error> {
        let text: Arc<str> = text.into();
        self.browser.sent_by_browser(text.clone());
        if self.owned.as_ref().is_some_and(|owned| owned.text == text) {
            let _ = taken.send(());
            return Ok(());
        }
        tracing::info!(bytes = text.len(), "clipboard: the browser's text goes to the desktop");
        self.pending = Some((text, taken));
        self.conn.change_property8(PropMode::APPEND, self.window, self.atoms.ORIEL_TIMESTAMP, AtomEnum::STRING, &[])?;
        Ok(())
    }

    fn property_changed(&mut self, e: &PropertyNotifyEvent) -> Result<(), X11Error> {
        if e.window == self.window {
            if e.atom == self.atoms.ORIEL_TIMESTAMP && e.state == Property::NEW_VALUE {
                if let Some((text, taken)) = self.pending.take() {
                    self.take_selection(text, e.time)?;
                    let _ = taken.send(());
                }
            } else if e.atom == self.atoms.ORIEL_CLIPBOARD && e.state == Property::NEW_VALUE && matches!(self.incoming, Some(Conversion::Incr(_))) {
                self.read_chunk()?;
            }
        } else if e.state == Property::DELETE {
            self.send_chunk(e.window, e.atom)?;
        }
        Ok(())
    }

    fn take_selection(&mut self, text: Arc<str>, time: Timestamp) -> Result<(), X11Error> {
        self.conn.set_selection_owner(self.window, self.atoms.CLIPBOARD, time)?;
        let owner = self.conn.get_selection_owner(self.atoms.CLIPBOARD)?.reply()?.owner;
        if owner == self.window {
            self.owned = Some(Owned { text, since: time });
        } else {
            tracing::warn!("clipboard: another X client kept the desktop's clipboard; the browser's text was not copied");
        }
        Ok(())
    }

    // --- Serving the browser's text to X clients.

    fn target(&self, atom: u32) -> Option<Target> {
        Target::SERVED.into_iter().find(|&t| self.atom(t) == atom)
    }

    fn atom(&self, target: Target) -> u32 {
        let a = &self.atoms;
        match target {
            Target::Targets => a.TARGETS,
            Target::Timestamp => a.TIMESTAMP,
            Target::Utf8String => a.UTF8_STRING,
            Target::TextPlainUtf8 => a.TEXT_PLAIN_UTF8,
            Target::Text => a.TEXT,
            Target::Latin1 => AtomEnum::STRING.into(),
        }
    }

    /// The type a text reply carries: TEXT is answered in UTF-8.
    fn reply_type(&self, target: Target) -> u32 {
        match target {
            Target::Text => self.atoms.UTF8_STRING,
            other => self.atom(other),
        }
    }

    fn selection_requested(&mut self, e: &SelectionRequestEvent) -> Result<(), X11Error> {
        // Obsolete clients name no property: the target is the property then.
        let property = if e.property == NONE { e.target } else { e.property };
        let served = match (&self.owned, self.target(e.target)) {
            (Some(owned), Some(target)) if e.selection == self.atoms.CLIPBOARD && (e.time == CURRENT_TIME || e.time >= owned.since) => {
                let (text, since) = (owned.text.clone(), owned.since);
                self.reply(e.requestor, property, target, &text, since)?
            }
            _ => false,
        };
        let notify = SelectionNotifyEvent {
            response_type: x11rb::protocol::xproto::SELECTION_NOTIFY_EVENT,
            sequence: 0,
            time: e.time,
            requestor: e.requestor,
            selection: e.selection,
            target: e.target,
            property: if served { property } else { NONE },
        };
        self.conn.send_event(false, e.requestor, EventMask::NO_EVENT, notify)?;
        Ok(())
    }

    /// Writes the answer on the requestor's property; false to refuse.
    fn reply(&mut self, requestor: Window, property: u32, target: Target, text: &str, since: Timestamp) -> Result<bool, X11Error> {
        let conn = &*self.conn;
        match target {
            Target::Targets => {
                let atoms: Vec<u32> = Target::SERVED.into_iter().map(|t| self.atom(t)).collect();
                conn.change_property32(PropMode::REPLACE, requestor, property, AtomEnum::ATOM, &atoms)?;
            }
            Target::Timestamp => {
                conn.change_property32(PropMode::REPLACE, requestor, property, AtomEnum::INTEGER, &[since])?;
            }
            _ => {
                let data = target.encode(text).expect("a text target");
                let kind = self.reply_type(target);
                if !needs_incr(data.len(), conn.maximum_request_bytes()) {
                    conn.change_property8(PropMode::REPLACE, requestor, property, kind, &data)?;
                    return Ok(true);
                }
                if self.outgoing.len() >= MAX_OUTGOING {
                    tracing::warn!("clipboard: too many transfers under way; a request was refused");
                    return Ok(false);
                }
                // The requestor deleting the property asks for the next chunk.
                let watch = ChangeWindowAttributesAux::new().event_mask(EventMask::PROPERTY_CHANGE);
                conn.change_window_attributes(requestor, &watch)?;
                conn.change_property32(PropMode::REPLACE, requestor, property, self.atoms.INCR, &[data.len() as u32])?;
                let transfer = Outgoing::new(Arc::from(data.into_owned()), self.chunk, Instant::now());
                self.outgoing.insert((requestor, property), (transfer, kind));
            }
        }
        Ok(true)
    }

    fn send_chunk(&mut self, requestor: Window, property: u32) -> Result<(), X11Error> {
        let key = (requestor, property);
        let Some((transfer, kind)) = self.outgoing.get_mut(&key) else {
            return Ok(());
        };
        let done = match transfer.next_chunk(Instant::now()) {
            Some(chunk) => {
                self.conn.change_property8(PropMode::REPLACE, requestor, property, *kind, chunk)?;
                chunk.is_empty()
            }
            None => true,
        };
        if done {
            self.end_outgoing(key)?;
        }
        Ok(())
    }

    fn end_outgoing(&mut self, key: (Window, u32)) -> Result<(), X11Error> {
        self.outgoing.remove(&key);
        if !self.outgoing.keys().any(|(window, _)| *window == key.0) {
            let unwatch = ChangeWindowAttributesAux::new().event_mask(EventMask::NO_EVENT);
            self.conn.change_window_attributes(key.0, &unwatch)?;
        }
        Ok(())
    }

    // --- Reading other clients' selections for the browser.

    fn convert(&mut self, time: Timestamp) -> Result<(), X11Error> {
        if self.incoming.is_some() {
            self.convert_again = true;
            return Ok(());
        }
        self.ask(Target::Utf8String, time)
    }

    fn ask(&mut self, target: Target, time: Timestamp) -> Result<(), X11Error> {
        let (clipboard, into) = (self.atoms.CLIPBOARD, self.atoms.ORIEL_CLIPBOARD);
        self.conn.convert_selection(self.window, clipboard, self.atom(target), into, time)?;
        self.incoming = Some(Conversion::Asked { target, since: Instant::now() });
        Ok(())
    }

    /// A conversion ended, whichever way: the next one, if the owner changed meanwhile.
    fn conversion_done(&mut self) -> Result<(), X11Error> {
        self.incoming = None;
        if std::mem::take(&mut self.convert_again) {
            self.ask(Target::Utf8String, CURRENT_TIME)?;
        }
        Ok(())
    }

    /// Words to ask for so that one byte over the limit shows.
    const WORDS: u32 = (MAX_CLIPBOARD_LEN / 4 + 1) as u32;

    fn converted(&mut self, e: &SelectionNotifyEvent) -> Result<(), X11Error> {
        let Some(Conversion::Asked { target, .. }) = self.incoming else {
            return Ok(());
        };
        if e.requestor != self.window || e.selection != self.atoms.CLIPBOARD {
            return Ok(());
        }
        if e.property == NONE {
            if target == Target::Utf8String {
                // An owner without UTF-8 may still have Latin-1.
                return self.ask(Target::Latin1, e.time);
            }
            tracing::debug!("clipboard: the desktop's clipboard holds no text");
            return self.conversion_done();
        }
        let encoding = if target == Target::Latin1 { Encoding::Latin1 } else { Encoding::Utf8 };
        let reply = self.conn.get_property(false, self.window, e.property, AtomEnum::ANY, 0, Self::WORDS)?.reply()?;
        // Deleting the property tells an INCR owner to send the first chunk.
        self.conn.delete_property(self.window, e.property)?;
        let now = Instant::now();
        if reply.type_ == self.atoms.INCR {
            self.incoming = Some(Conversion::Incr(Incoming::new(encoding, now)));
            return Ok(());
        }
        let encoding = if reply.type_ == u32::from(AtomEnum::STRING) { Encoding::Latin1 } else { encoding };
        let mut incoming = Incoming::new(encoding, now);
        if reply.bytes_after > 0 {
            incoming.skip(reply.value.len() + reply.bytes_after as usize, now);
        } else {
            incoming.push(&reply.value, now);
        }
        self.deliver(incoming.finish());
        self.conversion_done()
    }

    fn read_chunk(&mut self) -> Result<(), X11Error> {
        let Some(Conversion::Incr(incoming)) = &mut self.incoming else {
            return Ok(());
        };
        // Past the limit, only sizes are asked for: the rest is drained, not read.
        let words = if incoming.over_limit() { 0 } else { Self::WORDS };
        let reply = self.conn.get_property(true, self.window, self.atoms.ORIEL_CLIPBOARD, AtomEnum::ANY, 0, words)?.reply()?;
        let now = Instant::now();
        if reply.type_ == NONE {
            // Our own deletion's echo, or nothing written yet.
            return Ok(());
        }
        if reply.bytes_after > 0 {
            // Not deleted by the read: delete it to ask for the next chunk.
            self.conn.delete_property(self.window, self.atoms.ORIEL_CLIPBOARD)?;
            incoming.skip(reply.value.len() + reply.bytes_after as usize, now);
            return Ok(());
        }
        if !reply.value.is_empty() {
            incoming.push(&reply.value, now);
            return Ok(());
        }
        // A zero-length chunk ends the transfer.
        if let Some(Conversion::Incr(incoming)) = self.incoming.take() {
            self.deliver(incoming.finish());
        }
        self.conversion_done()
    }

    fn deliver(&mut self, received: Received) {
        match received {
            Received::Text(text) => {
                if self.browser.should_send(&text) {
                    tracing::info!(bytes = text.len(), "clipboard: the desktop's text goes to the browser");
                    self.send(Payload::ClipboardData(pb::ClipboardData { data: text.into_bytes() }));
                }
            }
            Received::TooLarge(bytes) => {
                tracing::warn!(bytes, "clipboard: the desktop's clipboard is over the limit; not sent");
                let message =
                    format!("the desktop's clipboard holds {} of text, more than the 1 MiB limit; it was not copied to your browser", describe_size(bytes));
                self.send(Payload::Alert(pb::Alert { message, severity: AlertSeverity::Warning as i32 }));
            }
        }
    }

    fn send(&mut self, payload: Payload) {
        if self.out.blocking_send(encode_frame(payload)).is_err() {
            self.closed = true;
        }
    }

    /// Drops transfers whose other side went quiet.
    fn expire(&mut self, now: Instant) -> Result<(), X11Error> {
        let stalled: Vec<_> = self.outgoing.iter().filter(|(_, (t, _))| t.stalled(now)).map(|(key, _)| *key).collect();
        for key in stalled {
            tracing::debug!(requestor = key.0, "clipboard: a requestor stopped reading; transfer dropped");
            self.end_outgoing(key)?;
        }
        let stalled = match &self.incoming {
            Some(Conversion::Asked { since, .. }) => now.duration_since(*since) >= crate::clipboard::TRANSFER_TIMEOUT,
            Some(Conversion::Incr(incoming)) => incoming.stalled(now),
            None => false,
        };
        if stalled {
            tracing::debug!("clipboard: the desktop's clipboard owner stopped answering; conversion dropped");
            self.conversion_done()?;
        }
        self.conn.flush()?;
        Ok(())
    }
}

/// `1.5 MiB`, `900 KiB`: a size as the alert tells the user, rounded up
/// (so that just over 1 MiB does not read as 1 MiB).
fn describe_size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        let tenths = (bytes as u64 * 10).div_ceil(1 << 20);
        format!("{}.{} MiB", tenths / 10, tenths % 10)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::describe_size;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(describe_size((1 << 20) + 1), "1.1 MiB");
        assert_eq!(describe_size(3 << 19), "1.5 MiB");
        assert_eq!(describe_size(900 * 1024), "900 KiB");
    }
}
