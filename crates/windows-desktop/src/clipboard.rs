//! The host's clipboard through CLIPRDR (MS-RDPECLIP), text only, sans-IO.
//!
//! IronRDP's CLIPRDR processor calls a backend when the host speaks;
//! [`ChannelBackend`] only notes those calls as [`HostClipboard`] events,
//! which the session hands to [`ClipboardBridge`] with the browser's
//! clipboard messages. The bridge decides what crosses: the browser's text
//! offered to the host as Unicode text (delayed rendering: sent when the
//! host pastes), the host's copied text fetched and passed to the browser.
//! Windows text has CRLF line ends and the browser's LF; text crosses under
//! the same 1 MiB limit as a Linux desktop's clipboard.

use ironrdp_cliprdr::backend::CliprdrBackend;
use ironrdp_cliprdr::pdu::{
    ClipboardFormat, ClipboardFormatId, ClipboardGeneralCapabilityFlags, FileContentsRequest, FileContentsResponse, FormatDataRequest, FormatDataResponse,
    LockDataId, OwnedFormatDataResponse,
};
use oriel_tdpb::limits::MAX_CLIPBOARD_LEN;

/// What the host's clipboard channel said, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostClipboard {
    /// The channel is being set up: the client says what its clipboard holds.
    AnnounceWanted,
    /// The host took that: the channel is ready for copies and pastes.
    Ready,
    /// The host's clipboard now holds data in these formats.
    Copied(Vec<ClipboardFormatId>),
    /// Something on the host pastes: it wants the browser's data in this format.
    DataWanted(ClipboardFormatId),
    /// The host's data for the last fetch; `None` when it had none to give.
    Data(Option<Vec<u8>>),
}

/// What the session does for the clipboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClipboardAction {
    /// Tell the host what the browser's clipboard holds (these formats).
    Announce(Vec<ClipboardFormatId>),
    /// Ask the host for its clipboard in this format.
    Fetch(ClipboardFormatId),
    /// Answer the host's paste.
    Answer(OwnedFormatDataResponse),
    /// Give the browser this text.
    ToBrowser(String),
    /// Tell the user why something did not cross.
    Warn(String),
}

/// Notes what IronRDP's CLIPRDR processor says; the session takes the
/// notes after each PDU (see [`ChannelBackend::take`]).
#[derive(Debug, Default)]
pub struct ChannelBackend {
    events: Vec<HostClipboard>,
}

ironrdp_core::impl_as_any!(ChannelBackend);

impl ChannelBackend {
    /// What the host said since the last call.
    pub fn take(&mut self) -> Vec<HostClipboard> {
        std::mem::take(&mut self.events)
    }
}

impl CliprdrBackend for ChannelBackend {
    fn temporary_directory(&self) -> &str {
        // Files do not cross the clipboard: no directory on this side.
        ".cliprdr"
    }

    fn client_capabilities(&self) -> ClipboardGeneralCapabilityFlags {
        // Text only: no file streams, so no clipboard data locking either.
        ClipboardGeneralCapabilityFlags::empty()
    }

    fn on_ready(&mut self) {
        self.events.push(HostClipboard::Ready);
    }

    fn on_request_format_list(&mut self) {
        self.events.push(HostClipboard::AnnounceWanted);
    }

    fn on_process_negotiated_capabilities(&mut self, _capabilities: ClipboardGeneralCapabilityFlags) {}

    fn on_remote_copy(&mut self, available_formats: &[ClipboardFormat]) {
        self.events.push(HostClipboard::Copied(available_formats.iter().map(ClipboardFormat::id).collect()));
    }

    fn on_format_data_request(&mut self, request: FormatDataRequest) {
        self.events.push(HostClipboard::DataWanted(request.format));
    }

    fn on_format_data_response(&mut self, response: FormatDataResponse<'_>) {
        let data = (!response.is_error()).then(|| response.data().to_vec());
        self.events.push(HostClipboard::Data(data));
    }

    fn on_file_contents_request(&mut self, _request: FileContentsRequest) {
        // No file list is ever offered, so IronRDP answers these itself.
    }

    fn on_file_contents_response(&mut self, _response: FileContentsResponse<'_>) {}

    fn on_lock(&mut self, _data_id: LockDataId) {}

    fn on_unlock(&mut self, _data_id: LockDataId) {}
}

/// The clipboard's state on this side: what each side holds as far as
/// this session knows, and what is being fetched from the host.
#[derive(Debug, Default)]
pub struct ClipboardBridge {
    /// The browser's text, served when the host pastes.
    browser_text: Option<String>,
    /// The text in the browser's clipboard: not sent to it again.
    browser_has: Option<String>,
    /// The text in the host's clipboard: not announced to it again.
    host_has: Option<String>,
    /// The format asked of the host and not yet answered.
    fetching: Option<ClipboardFormatId>,
    /// Whether the host is ready to hear of the browser's clipboard.
    ready: bool,
}

impl ClipboardBridge {
    /// The browser's clipboard changed to `data` (UTF-8 text).
    pub fn from_browser(&mut self, data: &[u8]) -> Vec<ClipboardAction> {
        if data.len() > MAX_CLIPBOARD_LEN {
            return vec![ClipboardAction::Warn(format!(
                "your clipboard holds {} bytes, more than the 1 MiB limit; it was not copied to the desktop",
                data.len()
            ))];
        }
        let text = String::from_utf8_lossy(data).into_owned();
        self.browser_has = Some(text.clone());
        // Text the host gave is not news to it.
        if self.host_has.as_deref() == Some(text.as_str()) {
            return Vec::new();
        }
        self.browser_text = Some(text);
        if !self.ready {
            return Vec::new();
        }
        self.host_has = self.browser_text.clone();
        vec![announcement(true)]
    }

    /// The host's clipboard channel said `event`.
    pub fn from_host(&mut self, event: HostClipboard) -> Vec<ClipboardAction> {
        match event {
            HostClipboard::AnnounceWanted => {
                self.host_has = self.browser_text.clone();
                vec![announcement(self.browser_text.is_some())]
            }
            HostClipboard::Ready => {
                self.ready = true;
                // What the browser copied while the channel was being set up.
                match self.browser_text.is_some() && self.host_has != self.browser_text {
                    true => {
                        self.host_has = self.browser_text.clone();
                        vec![announcement(true)]
                    }
                    false => Vec::new(),
                }
            }
            HostClipboard::Copied(formats) => {
                // The host's copy replaces whatever it held.
                self.browser_text = None;
                self.host_has = None;
                let text = [ClipboardFormatId::CF_UNICODETEXT, ClipboardFormatId::CF_TEXT].into_iter().find(|format| formats.contains(format));
                // Pictures and files do not cross.
                self.fetching = text;
                text.map(ClipboardAction::Fetch).into_iter().collect()
            }
            HostClipboard::DataWanted(format) => {
                let answer = match (&self.browser_text, format) {
                    (Some(text), ClipboardFormatId::CF_UNICODETEXT) => OwnedFormatDataResponse::new_unicode_string(&to_crlf(text)),
                    (Some(text), ClipboardFormatId::CF_TEXT) => OwnedFormatDataResponse::new_string(&to_crlf(text)),
                    _ => OwnedFormatDataResponse::new_error(),
                };
                vec![ClipboardAction::Answer(answer)]
            }
            HostClipboard::Data(data) => {
                let Some(format) = self.fetching.take() else { return Vec::new() };
                let Some(text) = data.map(|bytes| decode(format, &bytes)) else { return Vec::new() };
                if text.len() > MAX_CLIPBOARD_LEN {
                    return vec![ClipboardAction::Warn(format!(
                        "the desktop's clipboard holds {} bytes of text, more than the 1 MiB limit; it was not copied to your browser",
                        text.len()
                    ))];
                }
                self.host_has = Some(text.clone());
                if self.browser_has.as_deref() == Some(text.as_str()) {
                    return Vec::new();
                }
                self.browser_has = Some(text.clone());
                vec![ClipboardAction::ToBrowser(text)]
            }
        }
    }
}

/// The client's format list: Unicode text when the browser gave some
/// (Windows makes CF_TEXT and the rest from it), else empty.
fn announcement(has_text: bool) -> ClipboardAction {
    ClipboardAction::Announce(match has_text {
        true => vec![ClipboardFormatId::CF_UNICODETEXT],
        false => Vec::new(),
    })
}

/// The host's text in `format` as the browser's: up to the first NUL,
/// with LF line ends.
fn decode(format: ClipboardFormatId, bytes: &[u8]) -> String {
    let text = match format {
        ClipboardFormatId::CF_UNICODETEXT => {
            let units: Vec<u16> = bytes.chunks_exact(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]])).take_while(|&unit| unit != 0).collect();
            String::from_utf16_lossy(&units)
        }
        // CF_TEXT is the host's ANSI code page; its ASCII part is certain.
        _ => bytes.iter().take_while(|&&byte| byte != 0).map(|&byte| if byte.is_ascii() { char::from(byte) } else { '?' }).collect(),
    };
    text.replace("\r\n", "\n")
}

/// `text` with Windows line ends.
fn to_crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
    }

    fn only_answer(actions: Vec<ClipboardAction>) -> OwnedFormatDataResponse {
        match <[ClipboardAction; 1]>::try_from(actions) {
            Ok([ClipboardAction::Answer(answer)]) => answer,
            other => panic!("one answer, not {other:?}"),
        }
    }

    #[test]
    fn the_browsers_text_is_announced_once_the_host_is_ready_and_served_with_crlf_when_it_pastes() {
        let mut bridge = ClipboardBridge::default();
        assert_eq!(bridge.from_browser(b"one\ntwo"), [], "nothing to tell before the channel is up");
        assert_eq!(bridge.from_host(HostClipboard::AnnounceWanted), [ClipboardAction::Announce(vec![ClipboardFormatId::CF_UNICODETEXT])]);
        assert_eq!(bridge.from_browser("while setting up".as_bytes()), [], "not until the host took the first list");
        assert_eq!(bridge.from_host(HostClipboard::Ready), [ClipboardAction::Announce(vec![ClipboardFormatId::CF_UNICODETEXT])], "then it is announced");
        bridge.from_browser(b"one\ntwo");
        let answer = only_answer(bridge.from_host(HostClipboard::DataWanted(ClipboardFormatId::CF_UNICODETEXT)));
        assert_eq!(answer.data(), utf16("one\r\ntwo"));
        assert_eq!(bridge.from_browser("é".as_bytes()), [ClipboardAction::Announce(vec![ClipboardFormatId::CF_UNICODETEXT])], "announced at once now");
        let bitmap = only_answer(bridge.from_host(HostClipboard::DataWanted(ClipboardFormatId::CF_DIB)));
        assert!(bitmap.is_error(), "only text is served");
    }

    #[test]
    fn the_hosts_text_is_fetched_as_unicode_and_reaches_the_browser_once_with_lf() {
        let mut bridge = ClipboardBridge::default();
        bridge.from_host(HostClipboard::AnnounceWanted);
        bridge.from_host(HostClipboard::Ready);
        let formats = vec![ClipboardFormatId::CF_TEXT, ClipboardFormatId::CF_UNICODETEXT, ClipboardFormatId::CF_LOCALE];
        assert_eq!(bridge.from_host(HostClipboard::Copied(formats.clone())), [ClipboardAction::Fetch(ClipboardFormatId::CF_UNICODETEXT)]);
        assert_eq!(bridge.from_host(HostClipboard::Data(Some(utf16("a\r\nb ✓")))), [ClipboardAction::ToBrowser("a\nb ✓".into())]);
        // The same text again (copied twice on the host) is not news.
        bridge.from_host(HostClipboard::Copied(formats));
        assert_eq!(bridge.from_host(HostClipboard::Data(Some(utf16("a\r\nb ✓")))), []);
        // The browser hands it back: not announced to the host again.
        assert_eq!(bridge.from_browser("a\nb ✓".as_bytes()), []);
    }

    #[test]
    fn pictures_a_failed_fetch_an_answer_nobody_asked_for_and_oversized_text_do_not_cross() {
        let mut bridge = ClipboardBridge::default();
        assert_eq!(bridge.from_host(HostClipboard::Copied(vec![ClipboardFormatId::CF_DIB])), []);
        assert_eq!(bridge.from_host(HostClipboard::Data(Some(utf16("unasked")))), []);
        bridge.from_host(HostClipboard::Copied(vec![ClipboardFormatId::CF_TEXT]));
        assert_eq!(bridge.from_host(HostClipboard::Data(None)), []);
        bridge.from_host(HostClipboard::Copied(vec![ClipboardFormatId::CF_TEXT]));
        assert_eq!(bridge.from_host(HostClipboard::Data(Some(b"ok\xe9\0junk".to_vec()))), [ClipboardAction::ToBrowser("ok?".into())]);
        bridge.from_host(HostClipboard::Copied(vec![ClipboardFormatId::CF_UNICODETEXT]));
        let big = utf16(&"x".repeat(MAX_CLIPBOARD_LEN + 1));
        assert!(matches!(&bridge.from_host(HostClipboard::Data(Some(big)))[..], [ClipboardAction::Warn(_)]));
        assert!(matches!(&bridge.from_browser(&vec![b'y'; MAX_CLIPBOARD_LEN + 1])[..], [ClipboardAction::Warn(_)]));
        // A CLIPRDR answer of odd length loses its last byte, not the text.
        bridge.from_host(HostClipboard::Copied(vec![ClipboardFormatId::CF_UNICODETEXT]));
        let mut odd = utf16("hi");
        odd.truncate(5);
        assert_eq!(bridge.from_host(HostClipboard::Data(Some(odd))), [ClipboardAction::ToBrowser("hi".into())]);
    }
}
