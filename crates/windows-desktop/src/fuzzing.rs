//! A host's channel traffic as the fuzz target (`fuzz/fuzz_targets/
//! rdp_channels.rs`) and its regression test drive it: bytes a hostile
//! host might send on the drive (RDPDR) and clipboard (CLIPRDR) channels,
//! through IronRDP's processors into [`DriveBridge`] and
//! [`ClipboardBridge`] as a session feeds them, with a browser that
//! answers (plausibly, wrongly, hostilely or not at all, as the input says), and everything they send back encoded as for the host; and
//! each chunk through the declared-length caps (`channel_cap`).
//! Nothing may panic; the bridges bound what they hold themselves.

use std::time::{Duration, Instant};

use ironrdp_cliprdr::CliprdrClient;
use ironrdp_rdpdr::Rdpdr;
use ironrdp_svc::{SvcMessage, SvcProcessor as _};
use oriel_tdpb::pb::{self, shared_directory_request::Operation, shared_directory_response as answer};

use crate::clipboard::{ChannelBackend, ClipboardAction, ClipboardBridge};
use crate::drive::{DriveAction, DriveBackend, DriveBridge};

/// What reached the bridges, so a test can tell its input got through.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reached {
    /// Notes IronRDP's RDPDR processor made for the drive bridge.
    pub drive_notes: usize,
    /// Requests the drive bridge sent to the browser.
    pub browser_requests: usize,
    /// Notes IronRDP's CLIPRDR processor made for the clipboard bridge.
    pub clipboard_notes: usize,
}

/// Feeds `data` to both channels. It is a sequence of records: a byte
/// whose low bit picks the channel (0 drives, 1 the clipboard) and whose
/// next three bits pick how the browser answers the drive requests that
/// record causes ([`Browser`]), a 16-bit little-endian length, then that
/// many bytes of one channel PDU.
pub fn host_channel_bytes(data: &[u8]) -> Reached {
    let start = Instant::now();
    let mut drives = Drives::new();
    let mut clipboard = Clipboard::new();
    let mut rest = data;
    let mut step = 0u64;
    while let [channel, low, high, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*low, *high])).min(tail.len());
        let (pdu, next) = tail.split_at(len);
        let now = start + Duration::from_millis(step * 100);
        drives.browser = Browser::from_bits(channel >> 1);
        match channel & 1 {
            0 => drives.host(pdu, now),
            _ => clipboard.host(pdu),
        }
        // The caps a session checks every chunk's declared lengths against.
        let _ = crate::channel_cap::declared_static(pdu).and_then(|length| crate::channel_cap::refusal("static", length));
        let _ = crate::channel_cap::declared_dynamic(pdu).and_then(|length| crate::channel_cap::refusal("dynamic", length));
        rest = next;
        step += 1;
    }
    // The browser never answers what is left: those IRPs time out.
    drives.expire(start + Duration::from_secs(3600));
    Reached { drive_notes: drives.notes, browser_requests: drives.requests, clipboard_notes: clipboard.notes }
}

/// Encodes what goes back to the host, as a session would send it.
fn to_host(messages: Vec<SvcMessage>) {
    let _ = ironrdp_svc::client_encode_svc_messages(messages, 1004, 1007);
}

struct Drives {
    rdpdr: Rdpdr,
    bridge: DriveBridge,
    notes: usize,
    requests: usize,
    browser: Browser,
}

/// How the fuzzed browser answers: as a browser would, or as a broken or
/// hostile one (the bridge checks everything it is told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Browser {
    /// A plausible answer (a failure for odd completion ids).
    Plausible,
    /// An answer of another operation's kind.
    WrongKind,
    /// Paths outside the directory, more bytes than asked, no object.
    Hostile,
    /// No answer: the request times out.
    Silent,
    /// An error code no browser sends.
    UnknownError,
}

impl Browser {
    fn from_bits(bits: u8) -> Self {
        match bits & 0b111 {
            1 => Self::WrongKind,
            2 => Self::Hostile,
            3 => Self::Silent,
            4 => Self::UnknownError,
            _ => Self::Plausible,
        }
    }
}

impl Drives {
    /// The channel with one shared directory on it.
    fn new() -> Self {
        let mut drives = Self {
            rdpdr: Rdpdr::new(Box::new(DriveBackend::default()), "fuzz".into()).with_drives(None),
            bridge: DriveBridge::new(),
            notes: 0,
            requests: 0,
            browser: Browser::Plausible,
        };
        let actions = drives.bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: 1, name: "share".into() });
        drives.act(actions, Instant::now());
        drives
    }

    fn host(&mut self, pdu: &[u8], now: Instant) {
        if let Ok(messages) = self.rdpdr.process(pdu) {
            to_host(messages);
        }
        let notes = self.rdpdr.downcast_backend_mut::<DriveBackend>().map(DriveBackend::take).unwrap_or_default();
        self.notes += notes.len();
        for note in notes {
            let actions = self.bridge.from_host(note, now);
            self.act(actions, now);
        }
    }

    fn expire(&mut self, now: Instant) {
        let actions = self.bridge.expire(now);
        self.act(actions, now);
    }

    fn act(&mut self, actions: Vec<DriveAction>, now: Instant) {
        let mut actions = std::collections::VecDeque::from(actions);
        while let Some(action) = actions.pop_front() {
            match action {
                DriveAction::AddDrive { device_id, name } => match self.rdpdr.add_dynamic_drive(device_id, name) {
                    Ok(messages) => to_host(messages),
                    Err(error) => actions.extend(self.bridge.not_added(device_id, &error.to_string())),
                },
                DriveAction::RemoveDrive { device_id } => {
                    if let Ok(messages) = self.rdpdr.remove_drive(device_id) {
                        to_host(messages);
                    }
                }
                DriveAction::ToHost(messages) => to_host(messages),
                DriveAction::ToBrowser(request) => {
                    self.requests += 1;
                    if let Some(answer) = browser_answer(&request, self.browser) {
                        actions.extend(self.bridge.from_browser(answer, now));
                    }
                }
                DriveAction::Acknowledge(_) | DriveAction::Warn(_) => {}
            }
        }
    }
}

/// A browser's answer as `browser` gives it. A plausible one is a failure
/// for an odd completion id, a success for an even one (a small file, a
/// one-entry listing, the bytes asked for).
fn browser_answer(request: &pb::SharedDirectoryRequest, browser: Browser) -> Option<pb::SharedDirectoryResponse> {
    let id = request.completion_id;
    let failed = pb::SharedDirectoryResponse { completion_id: id, error_code: pb::SharedDirectoryErrorCode::Failed as i32, result: None };
    let with = |result| Some(pb::SharedDirectoryResponse { completion_id: id, error_code: pb::SharedDirectoryErrorCode::None as i32, result: Some(result) });
    match browser {
        Browser::Silent => return None,
        Browser::UnknownError => return Some(pb::SharedDirectoryResponse { completion_id: id, error_code: 42, result: None }),
        Browser::WrongKind => return with(answer::Result::Read(answer::Read { data: vec![0; 3] })),
        Browser::Hostile => return with(hostile_answer(request)),
        Browser::Plausible if id % 2 == 1 => return Some(failed),
        Browser::Plausible => {}
    }
    let file = |path: &str| pb::FileSystemObject {
        last_modified: 1_700_000_000_000,
        size: 10,
        file_type: pb::FileType::File as i32,
        is_empty: false,
        path: path.to_owned(),
    };
    let result = match &request.operation {
        Some(Operation::Info(info)) => answer::Result::Info(answer::Info { fso: Some(file(&info.path)) }),
        Some(Operation::Create(create)) => answer::Result::Create(answer::Create { fso: Some(file(&create.path)) }),
        Some(Operation::List(list)) => {
            let entry = if list.path.is_empty() { "a.txt".to_owned() } else { format!("{}/a.txt", list.path) };
            answer::Result::List(answer::List { fso_list: vec![file(&entry)] })
        }
        Some(Operation::Read(read)) => answer::Result::Read(answer::Read { data: vec![b'x'; (read.length as usize).min(10)] }),
        Some(Operation::Write(write)) => answer::Result::Write(answer::Write { bytes_written: write.data.len() as u32 }),
        Some(Operation::Delete(_)) => answer::Result::Delete(answer::Delete {}),
        Some(Operation::Move(_)) => answer::Result::Move(answer::Move {}),
        Some(Operation::Truncate(_)) => answer::Result::Truncate(answer::Truncate {}),
        None => return Some(failed),
    };
    with(result)
}

/// What a hostile browser answers `request` with: objects outside the
/// directory or missing, more bytes than asked, a listing of thousands.
fn hostile_answer(request: &pb::SharedDirectoryRequest) -> answer::Result {
    let outside = |path: &str| pb::FileSystemObject { last_modified: u64::MAX, size: u64::MAX, file_type: 7, is_empty: true, path: path.to_owned() };
    match &request.operation {
        Some(Operation::Info(_)) => answer::Result::Info(answer::Info { fso: None }),
        Some(Operation::Create(_)) => answer::Result::Create(answer::Create { fso: Some(outside("../../etc/passwd")) }),
        Some(Operation::List(list)) => answer::Result::List(answer::List {
            fso_list: (0..5000).map(|i| outside(&format!("{}/../{i}\\x\0", list.path))).chain([outside("/abs"), outside("")]).collect(),
        }),
        Some(Operation::Read(read)) => answer::Result::Read(answer::Read { data: vec![b'x'; (read.length as usize).saturating_add(100).min(4 << 20)] }),
        Some(Operation::Write(write)) => answer::Result::Write(answer::Write { bytes_written: (write.data.len() as u32).saturating_add(1) }),
        _ => answer::Result::Delete(answer::Delete {}),
    }
}

struct Clipboard {
    cliprdr: CliprdrClient,
    bridge: ClipboardBridge,
    notes: usize,
}

impl Clipboard {
    /// The channel with the browser's text waiting to be announced.
    fn new() -> Self {
        let mut clipboard = Self { cliprdr: CliprdrClient::new(Box::new(ChannelBackend::default())), bridge: ClipboardBridge::default(), notes: 0 };
        let actions = clipboard.bridge.from_browser("from the browser\nline two".as_bytes());
        clipboard.act(actions);
        clipboard
    }

    fn host(&mut self, pdu: &[u8]) {
        if let Ok(messages) = self.cliprdr.process(pdu) {
            to_host(messages);
        }
        let notes = self.cliprdr.downcast_backend_mut::<ChannelBackend>().map(ChannelBackend::take).unwrap_or_default();
        self.notes += notes.len();
        for note in notes {
            let actions = self.bridge.from_host(note);
            self.act(actions);
        }
    }

    fn act(&mut self, actions: Vec<ClipboardAction>) {
        for action in actions {
            let messages = match action {
                ClipboardAction::Announce(formats) => {
                    let formats: Vec<_> = formats.into_iter().map(ironrdp_cliprdr::pdu::ClipboardFormat::new).collect();
                    self.cliprdr.initiate_copy(&formats).map(Vec::from)
                }
                ClipboardAction::Fetch(format) => self.cliprdr.initiate_paste(format).map(Vec::from),
                ClipboardAction::Answer(response) => self.cliprdr.submit_format_data(response).map(Vec::from),
                ClipboardAction::ToBrowser(_) | ClipboardAction::Warn(_) => continue,
            };
            if let Ok(messages) = messages {
                to_host(messages);
            }
        }
    }
}
