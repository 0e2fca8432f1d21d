//! Shared directories as drives on a Windows host: RDPDR drive redirection
//! (MS-RDPEFS) answered by the browser through TDPB's shared-directory
//! messages, sans-IO.
//!
//! IronRDP's RDPDR processor decodes the host's I/O requests (IRPs) and
//! hands them to a backend; [`DriveBackend`] only notes them as
//! [`DriveNote`]s, which the session takes after each PDU and gives to
//! [`DriveBridge`] with the browser's messages. The bridge turns each IRP
//! into one or more `SharedDirectoryRequest`s (a create that may make the
//! file is an `Info`, then a `Create`; a read over 1 MiB is several
//! `Read`s), and each answer into the next request or the IRP's
//! completion. Everything the host asks is checked before the browser is
//! asked ([`path`]), and every IRP is completed exactly once: by its last
//! answer, by a refusal, or with `STATUS_IO_TIMEOUT` when the browser does
//! not answer in time ([`DriveBridge::expire`]; time comes in as `now`,
//! nothing here reads a clock).
//!
//! A directory is acknowledged to the browser when the host accepts its
//! drive (the device announce response), not when it is announced: only
//! then does it show on the desktop. Before the user has logged on, IronRDP
//! holds the announcement back, and the acknowledgement waits with it.
//!
//! What the browser cannot say is made up, plainly: one time stands for
//! all four of a file's times; setting times or attributes, allocation
//! sizes and locks succeed and change nothing; the volume is a 1 TiB FAT32
//! disk half free. Change notifications are never completed (FreeRDP's
//! way): nothing here could notice a change in the browser's directory.

mod irp;
mod path;
mod reply;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use ironrdp_pdu::PduResult;
use ironrdp_rdpdr::RdpdrBackend;
use ironrdp_rdpdr::pdu::RdpdrPdu;
use ironrdp_rdpdr::pdu::efs::{DeviceControlRequest, DeviceControlResponse, NtStatus, ServerDeviceAnnounceResponse, ServerDriveIoRequest};
use ironrdp_rdpdr::pdu::esc::{ScardCall, ScardIoCtlCode};
use ironrdp_svc::SvcMessage;
use oriel_linux_desktop::shared_dir::path::SharedPath;
use oriel_tdpb::pb::{self, SharedDirectoryErrorCode};

use irp::Step;
use reply::{Entry, Facts};

/// How many directories one session may share at once.
pub const MAX_SHARED_DIRECTORIES: usize = 8;

/// How long the browser has to answer one request, as on a Linux desktop.
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(15);

/// Most requests waiting for the browser at once. Windows keeps a few
/// IRPs in flight per file; far more means the browser is stuck. A read
/// waiting may hold up to 4 MiB of the browser's answers and a write the
/// host's data, so this bounds the bridge's memory too (about 256 MiB).
const MAX_WAITING: usize = 64;

/// Most files open at once, over all drives.
const MAX_OPEN_FILES: usize = 4096;

/// Most directory listings held at once. A listing lives from a
/// directory query's first call to its handle's close, and each is at
/// most one browser frame (2 MiB).
const MAX_LISTINGS: usize = 32;

/// The longest name a shared directory is shown under.
const MAX_DRIVE_NAME_LEN: usize = 255;

/// What IronRDP's RDPDR processor told the backend, in order.
#[derive(Debug)]
pub enum DriveNote {
    /// The host asks something of a drive.
    Io(ServerDriveIoRequest),
    /// The host accepted (`ok`) or refused a drive's announcement.
    Announced {
        /// The drive.
        device_id: u32,
        /// Whether the host accepted it.
        ok: bool,
    },
    /// The host started the channel over (a Server Announce): every open
    /// file and waiting IRP is forgotten; IronRDP announces the drives again.
    Reset,
}

/// What the session does for shared directories, in order.
#[derive(Debug)]
pub enum DriveAction {
    /// Announce a drive: `Rdpdr::add_dynamic_drive(device_id, name)`; if that
    /// fails, tell [`DriveBridge::not_added`].
    AddDrive {
        /// The drive's RDPDR device id, chosen by the bridge.
        device_id: u32,
        /// The directory's name, as the desktop shows it.
        name: String,
    },
    /// Withdraw a drive: `Rdpdr::remove_drive(device_id)`.
    RemoveDrive {
        /// The drive's RDPDR device id.
        device_id: u32,
    },
    /// IRP completions for the host on the RDPDR channel.
    ToHost(Vec<SvcMessage>),
    /// A file operation for the browser.
    ToBrowser(pb::SharedDirectoryRequest),
    /// The answer to a browser's announce.
    Acknowledge(pb::SharedDirectoryAcknowledge),
    /// Tell the user (a WARNING alert).
    Warn(String),
}

/// Notes what IronRDP's RDPDR processor receives; the session takes the
/// notes after each PDU (see [`DriveBackend::take`]). It answers nothing
/// itself: drive IRPs are completed later, through the bridge.
#[derive(Debug, Default)]
pub struct DriveBackend {
    notes: Vec<DriveNote>,
}

ironrdp_core::impl_as_any!(DriveBackend);

impl DriveBackend {
    /// What the host said since the last call.
    pub fn take(&mut self) -> Vec<DriveNote> {
        std::mem::take(&mut self.notes)
    }
}

impl RdpdrBackend for DriveBackend {
    fn reset(&mut self) -> PduResult<()> {
        self.notes.push(DriveNote::Reset);
        Ok(())
    }

    fn restore_drive(&mut self, _device_id: u32) -> PduResult<()> {
        Ok(())
    }

    fn add_drive(&mut self, _device_id: u32) -> PduResult<()> {
        // Browsers share directories once the session runs: drives come
        // and go at any time.
        Ok(())
    }

    fn remove_drive(&mut self, _device_id: u32) -> PduResult<Vec<SvcMessage>> {
        // The bridge completes the drive's waiting IRPs itself before it
        // asks for the removal (see `DriveBridge::remove`).
        Ok(Vec::new())
    }

    fn handle_server_device_announce_response(&mut self, pdu: ServerDeviceAnnounceResponse) -> PduResult<()> {
        self.notes.push(DriveNote::Announced { device_id: pdu.device_id, ok: pdu.result_code == NtStatus::SUCCESS });
        Ok(())
    }

    fn handle_scard_call(&mut self, req: DeviceControlRequest<ScardIoCtlCode>, _call: ScardCall) -> PduResult<Vec<SvcMessage>> {
        // No smart card is announced; a host that asks anyway is refused.
        Ok(vec![SvcMessage::from(RdpdrPdu::DeviceControlResponse(DeviceControlResponse::with_raw_output(req.header, NtStatus::NOT_SUPPORTED, Vec::new())))])
    }

    fn handle_drive_io_request(&mut self, req: ServerDriveIoRequest) -> PduResult<Vec<SvcMessage>> {
        self.notes.push(DriveNote::Io(req));
        Ok(Vec::new())
    }
}

/// A shared directory shown as a drive.
struct Drive {
    directory_id: u32,
    name: String,
    /// The browser was told the directory is shared.
    acknowledged: bool,
    /// The user was told the browser does not answer for it.
    timeout_told: bool,
}

/// A file or directory the host opened.
struct OpenFile {
    device_id: u32,
    path: SharedPath,
    facts: Facts,
    /// Delete at close (FILE_DELETE_ON_CLOSE or FileDispositionInformation).
    delete_on_close: bool,
    /// What a directory query has still to return, from its first call.
    listing: Option<VecDeque<Entry>>,
}

/// An IRP waiting for the browser's answer.
struct Waiting {
    device_id: u32,
    deadline: Instant,
    step: Step,
}

/// What one call decided: completions for the host gather into one
/// [`DriveAction::ToHost`], after the other actions.
#[derive(Default)]
struct Out {
    host: Vec<SvcMessage>,
    actions: Vec<DriveAction>,
}

impl Out {
    fn host(&mut self, message: Option<SvcMessage>) {
        self.host.extend(message);
    }

    fn finish(self) -> Vec<DriveAction> {
        let mut actions = self.actions;
        if !self.host.is_empty() {
            actions.push(DriveAction::ToHost(self.host));
        }
        actions
    }
}

/// The shared directories of one session and the host's files in them.
pub struct DriveBridge {
    timeout: Duration,
    drives: BTreeMap<u32, Drive>,
    next_device_id: u32,
    files: HashMap<u32, OpenFile>,
    next_file_id: u32,
    listings: usize,
    waiting: HashMap<u32, Waiting>,
    next_completion_id: u32,
}

impl Default for DriveBridge {
    fn default() -> Self {
        Self::new()
    }
}

impl DriveBridge {
    /// No directory shared yet; the browser has [`BROWSER_TIMEOUT`] per request.
    pub fn new() -> Self {
        Self::with_timeout(BROWSER_TIMEOUT)
    }

    /// Like [`DriveBridge::new`], with `timeout` per browser request.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout,
            drives: BTreeMap::new(),
            next_device_id: 1,
            files: HashMap::new(),
            next_file_id: 1,
            listings: 0,
            waiting: HashMap::new(),
            next_completion_id: 1,
        }
    }

    /// The browser shares a directory: a drive to announce, or a failed
    /// acknowledgement and a warning saying why not. The acknowledgement
    /// that it is shared comes when the host accepts the drive.
    pub fn announce(&mut self, announce: &pb::SharedDirectoryAnnounce) -> Vec<DriveAction> {
        let id = announce.directory_id;
        let refused = |why: String| {
            tracing::warn!(directory_id = id, why, "directory not shared");
            vec![acknowledge(id, SharedDirectoryErrorCode::Failed), DriveAction::Warn(why)]
        };
        if let Err(why) = check_drive_name(&announce.name) {
            return refused(format!("the directory {:?} cannot be shared: its name {why}", announce.name));
        }
        if self.drives.values().any(|drive| drive.directory_id == id) {
            return refused(format!("directory {id} is shared already"));
        }
        if self.drives.len() >= MAX_SHARED_DIRECTORIES {
            return refused(format!("this session already shares {MAX_SHARED_DIRECTORIES} directories, the most it may; stop sharing one first"));
        }
        // Device ids are never reused in a session, so a late IRP for a
        // withdrawn drive cannot reach a new one.
        let Some(next) = self.next_device_id.checked_add(1) else {
            return refused("this session has shared too many directories".to_owned());
        };
        let device_id = std::mem::replace(&mut self.next_device_id, next);
        let name = announce.name.clone();
        self.drives.insert(device_id, Drive { directory_id: id, name: name.clone(), acknowledged: false, timeout_told: false });
        tracing::info!(directory_id = id, device_id, "announcing a shared directory to the host");
        vec![DriveAction::AddDrive { device_id, name }]
    }

    /// IronRDP would not announce the drive (`Rdpdr::add_dynamic_drive`
    /// failed, `why`): the directory is not shared.
    pub fn not_added(&mut self, device_id: u32, why: &str) -> Vec<DriveAction> {
        let Some(drive) = self.drives.remove(&device_id) else { return Vec::new() };
        tracing::warn!(directory_id = drive.directory_id, device_id, why, "drive not announced");
        vec![
            acknowledge(drive.directory_id, SharedDirectoryErrorCode::Failed),
            DriveAction::Warn(format!("the directory {:?} could not be shared with the desktop: {why}", drive.name)),
        ]
    }

    /// The browser stops sharing a directory: its waiting IRPs are
    /// cancelled, its files forgotten, and the drive withdrawn.
    pub fn remove(&mut self, directory_id: u32) -> Vec<DriveAction> {
        let Some(device_id) = self.drives.iter().find(|(_, drive)| drive.directory_id == directory_id).map(|(id, _)| *id) else {
            tracing::debug!(directory_id, "remove for a directory not shared");
            return Vec::new();
        };
        self.drives.remove(&device_id);
        let cancelled = self.forget_device(device_id, NtStatus::CANCELLED);
        let mut actions = Vec::new();
        // Completions first: the host must not see IRPs of a removed device complete.
        if !cancelled.is_empty() {
            actions.push(DriveAction::ToHost(cancelled));
        }
        actions.push(DriveAction::RemoveDrive { device_id });
        actions
    }

    /// The browser that answered for every shared directory is gone (a
    /// resumed session's browser shares its own again): all are removed.
    pub fn remove_all(&mut self) -> Vec<DriveAction> {
        let ids: Vec<u32> = self.drives.values().map(|drive| drive.directory_id).collect();
        ids.into_iter().flat_map(|id| self.remove(id)).collect()
    }

    /// What the host said (a note from [`DriveBackend::take`]), at `now`.
    pub fn from_host(&mut self, note: DriveNote, now: Instant) -> Vec<DriveAction> {
        let mut out = Out::default();
        match note {
            DriveNote::Io(req) => self.irp(req, now, &mut out),
            DriveNote::Announced { device_id, ok } => self.announced(device_id, ok, &mut out),
            DriveNote::Reset => {
                // The host forgot every file and IRP; answers still on
                // their way from the browser find nothing to complete.
                self.files.clear();
                self.listings = 0;
                self.waiting.clear();
            }
        }
        out.finish()
    }

    fn announced(&mut self, device_id: u32, ok: bool, out: &mut Out) {
        let Some(drive) = self.drives.get_mut(&device_id) else {
            tracing::debug!(device_id, ok, "announce response for a drive not shared");
            return;
        };
        if ok {
            if !drive.acknowledged {
                drive.acknowledged = true;
                tracing::info!(directory_id = drive.directory_id, device_id, "the host shows the shared directory");
                out.actions.push(acknowledge(drive.directory_id, SharedDirectoryErrorCode::None));
            }
            return;
        }
        let Some(drive) = self.drives.remove(&device_id) else { return };
        tracing::warn!(directory_id = drive.directory_id, device_id, "the host refused the drive");
        // IronRDP has told the host the device is gone; its IRPs are moot.
        self.forget_device(device_id, NtStatus::CANCELLED);
        if !drive.acknowledged {
            out.actions.push(acknowledge(drive.directory_id, SharedDirectoryErrorCode::Failed));
        }
        out.actions.push(DriveAction::Warn(format!("the desktop refused the shared directory {:?}", drive.name)));
        // Lets IronRDP forget the refused device too.
        out.actions.push(DriveAction::RemoveDrive { device_id });
    }

    /// The browser's answer, at `now`. An answer nobody waits for (late,
    /// answered already, or never asked) is dropped.
    pub fn from_browser(&mut self, response: pb::SharedDirectoryResponse, now: Instant) -> Vec<DriveAction> {
        let mut out = Out::default();
        match self.waiting.remove(&response.completion_id) {
            None => tracing::debug!(completion_id = response.completion_id, "shared directory answer nobody waits for dropped"),
            Some(waiting) if now >= waiting.deadline => {
                // `expire` was not called in time: the IRP fails as it would have.
                self.timed_out(waiting, &mut out);
            }
            Some(waiting) => self.answer(waiting.device_id, waiting.step, response, now, &mut out),
        }
        out.finish()
    }

    /// Fails the IRPs whose browser answer is overdue at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<DriveAction> {
        let mut out = Out::default();
        let overdue: Vec<u32> = self.waiting.iter().filter(|(_, w)| now >= w.deadline).map(|(id, _)| *id).collect();
        for id in overdue {
            if let Some(waiting) = self.waiting.remove(&id) {
                self.timed_out(waiting, &mut out);
            }
        }
        out.finish()
    }

    /// When [`DriveBridge::expire`] has something to do next.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.waiting.values().map(|w| w.deadline).min()
    }

    fn timed_out(&mut self, waiting: Waiting, out: &mut Out) {
        if let Some(drive) = self.drives.get_mut(&waiting.device_id) {
            tracing::warn!(directory_id = drive.directory_id, "the browser did not answer a shared directory request in time");
            if !std::mem::replace(&mut drive.timeout_told, true) {
                out.actions.push(DriveAction::Warn(format!(
                    "the browser did not answer for the shared directory {:?} within {} s; the desktop's file operations on it fail",
                    drive.name,
                    self.timeout.as_secs()
                )));
            }
        }
        out.host(waiting.step.fail(reply::io_timeout()));
    }

    /// Forgets the files and waiting IRPs of a drive; returns the IRPs
    /// completed with `status`.
    fn forget_device(&mut self, device_id: u32, status: NtStatus) -> Vec<SvcMessage> {
        let before = self.files.len();
        let listings = self.files.values().filter(|f| f.device_id == device_id && f.listing.is_some()).count();
        self.files.retain(|_, file| file.device_id != device_id);
        self.listings = self.listings.saturating_sub(listings);
        tracing::debug!(device_id, closed = before - self.files.len(), "drive's files forgotten");
        let ids: Vec<u32> = self.waiting.iter().filter(|(_, w)| w.device_id == device_id).map(|(id, _)| *id).collect();
        ids.into_iter().filter_map(|id| self.waiting.remove(&id)).filter_map(|w| w.step.fail(status)).collect()
    }

    /// Sends `operation` to the browser for `step`; the step goes on when
    /// the answer comes. Without the drive, or with too many requests
    /// waiting, the IRP fails here.
    fn ask(&mut self, device_id: u32, operation: pb::shared_directory_request::Operation, step: Step, now: Instant, out: &mut Out) {
        let Some(drive) = self.drives.get(&device_id) else {
            out.host(step.fail(reply::no_such_device()));
            return;
        };
        if self.waiting.len() >= MAX_WAITING {
            tracing::warn!(waiting = self.waiting.len(), "too many shared directory requests waiting; IRP refused");
            out.host(step.fail(NtStatus::INSUFFICIENT_RESOURCES));
            return;
        }
        // Ids wrap; one still waiting is skipped, so two IRPs never share one.
        let mut id = self.next_completion_id;
        while self.waiting.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next_completion_id = id.wrapping_add(1);
        let request = pb::SharedDirectoryRequest { directory_id: drive.directory_id, completion_id: id, operation: Some(operation) };
        self.waiting.insert(id, Waiting { device_id, deadline: now + self.timeout, step });
        out.actions.push(DriveAction::ToBrowser(request));
    }

    /// A new file id for an open of `file`; `None` when too many are open.
    fn open(&mut self, file: OpenFile) -> Option<u32> {
        if self.files.len() >= MAX_OPEN_FILES {
            return None;
        }
        let mut id = self.next_file_id;
        while id == 0 || self.files.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next_file_id = id.wrapping_add(1);
        self.files.insert(id, file);
        Some(id)
    }

    /// The open file `file_id` of drive `device_id`.
    fn file(&self, device_id: u32, file_id: u32) -> Option<&OpenFile> {
        self.files.get(&file_id).filter(|file| file.device_id == device_id)
    }

    fn file_mut(&mut self, device_id: u32, file_id: u32) -> Option<&mut OpenFile> {
        self.files.get_mut(&file_id).filter(|file| file.device_id == device_id)
    }
}

fn acknowledge(directory_id: u32, code: SharedDirectoryErrorCode) -> DriveAction {
    DriveAction::Acknowledge(pb::SharedDirectoryAcknowledge { directory_id, error_code: code as i32 })
}

/// A shared directory's name becomes a drive's: one component Windows can
/// show ("x on <computer>"), of sane length.
fn check_drive_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() > MAX_DRIVE_NAME_LEN {
        return Err("is too long");
    }
    if !path::is_windows_name(name) {
        return Err("has characters Windows does not allow in names");
    }
    Ok(())
}
