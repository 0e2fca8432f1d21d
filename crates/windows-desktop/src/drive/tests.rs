//! The bridge driven as the session drives it: IRPs through the backend
//! IronRDP calls, the browser's answers by hand, time on a virtual clock.
//! Completions are checked as the host would read them, decoded from the
//! bytes that go on the channel.

use std::time::{Duration, Instant};

use ironrdp_core::ReadCursor;
use ironrdp_rdpdr::RdpdrBackend;
use ironrdp_rdpdr::pdu::RdpdrPdu;
use ironrdp_rdpdr::pdu::efs::{
    Boolean, CreateDisposition, CreateOptions, DesiredAccess, DeviceCloseRequest, DeviceCreateRequest, DeviceIoRequest, DeviceIoResponse, DeviceReadRequest,
    DeviceWriteRequest, FileAttributes, FileDispositionInformation, FileEndOfFileInformation, FileInformationClass, FileInformationClassLevel,
    FileRenameInformation, FileSystemInformationClass, FileSystemInformationClassLevel, Information, MajorFunction, MinorFunction, NtStatus,
    ServerDeviceAnnounceResponse, ServerDriveIoRequest, ServerDriveNotifyChangeDirectoryRequest, ServerDriveQueryDirectoryRequest,
    ServerDriveQueryInformationRequest, ServerDriveQueryVolumeInformationRequest, ServerDriveSetInformationRequest, SharedAccess,
};
use ironrdp_svc::SvcMessage;
use oriel_tdpb::pb::shared_directory_request::Operation;
use oriel_tdpb::pb::shared_directory_response::{self as answer, Result as Answer};
use oriel_tdpb::pb::{self, SharedDirectoryErrorCode as Code};

use super::*;

const MIB: usize = 1 << 20;
const DIRECTORY_ID: u32 = 7;

/// A session with one shared directory the host accepted.
struct Session {
    backend: DriveBackend,
    bridge: DriveBridge,
    t0: Instant,
    device_id: u32,
    next_completion: u32,
}

impl Session {
    fn new() -> Self {
        let t0 = Instant::now();
        let mut bridge = DriveBridge::new();
        let actions = bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: DIRECTORY_ID, name: "docs".into() });
        let [DriveAction::AddDrive { device_id, name }] = &actions[..] else { panic!("{actions:?}") };
        assert_eq!(name, "docs");
        let mut session = Self { backend: DriveBackend::default(), bridge, t0, device_id: *device_id, next_completion: 100 };
        session.backend.handle_server_device_announce_response(ServerDeviceAnnounceResponse { device_id: *device_id, result_code: NtStatus::SUCCESS }).unwrap();
        let actions = session.notes(t0);
        assert!(
            matches!(&actions[..], [DriveAction::Acknowledge(ack)] if ack.directory_id == DIRECTORY_ID && ack.error_code == Code::None as i32),
            "{actions:?}"
        );
        session
    }

    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    fn notes(&mut self, now: Instant) -> Vec<DriveAction> {
        self.backend.take().into_iter().flat_map(|note| self.bridge.from_host(note, now)).collect()
    }

    /// The host sends `req` (IronRDP's processor hands it to the backend).
    fn host(&mut self, req: ServerDriveIoRequest) -> Vec<DriveAction> {
        assert!(self.backend.handle_drive_io_request(req).unwrap().is_empty());
        let now = self.t0;
        self.notes(now)
    }

    fn io(&mut self, file_id: u32, major: MajorFunction, minor: u32) -> DeviceIoRequest {
        self.next_completion += 1;
        DeviceIoRequest {
            device_id: self.device_id,
            file_id,
            completion_id: self.next_completion,
            major_function: major,
            minor_function: MinorFunction::from(minor),
        }
    }

    fn create(&mut self, path: &str, disposition: CreateDisposition, options: CreateOptions) -> ServerDriveIoRequest {
        ServerDriveIoRequest::ServerCreateDriveRequest(DeviceCreateRequest {
            device_io_request: self.io(0, MajorFunction::Create, 0),
            desired_access: DesiredAccess::GENERIC_READ | DesiredAccess::GENERIC_WRITE,
            allocation_size: 0,
            file_attributes: FileAttributes::FILE_ATTRIBUTE_NORMAL,
            shared_access: SharedAccess::FILE_SHARE_READ,
            create_disposition: disposition,
            create_options: options,
            path: path.into(),
        })
    }

    /// Opens `path` (which the browser says is `fso`); returns the file id.
    fn open(&mut self, path: &str, fso: pb::FileSystemObject) -> u32 {
        let req = self.create(path, CreateDisposition::FILE_OPEN, CreateOptions::empty());
        let (request,) = one_request(self.host(req));
        let actions = self.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(fso) })));
        let RdpdrPdu::DeviceCreateResponse(created) = decode(&one_completion(actions), MajorFunction::Create, 0, None) else { panic!() };
        assert_eq!(created.device_io_reply.io_status, NtStatus::SUCCESS);
        created.file_id
    }

    fn browser(&mut self, completion_id: u32, code: Code, result: Option<Answer>) -> Vec<DriveAction> {
        let now = self.at(1);
        self.bridge.from_browser(pb::SharedDirectoryResponse { completion_id, error_code: code as i32, result }, now)
    }

    fn query_directory(&mut self, file_id: u32, initial: bool, path: &str) -> ServerDriveIoRequest {
        ServerDriveIoRequest::ServerDriveQueryDirectoryRequest(ServerDriveQueryDirectoryRequest {
            device_io_request: self.io(file_id, MajorFunction::DirectoryControl, 1),
            file_info_class_lvl: FileInformationClassLevel::FILE_BOTH_DIRECTORY_INFORMATION,
            initial_query: u8::from(initial),
            path: path.into(),
        })
    }

    fn read(&mut self, file_id: u32, offset: u64, length: u32) -> ServerDriveIoRequest {
        ServerDriveIoRequest::DeviceReadRequest(DeviceReadRequest { device_io_request: self.io(file_id, MajorFunction::Read, 0), length, offset })
    }

    fn set(&mut self, file_id: u32, set_buffer: FileInformationClass) -> ServerDriveIoRequest {
        ServerDriveIoRequest::ServerDriveSetInformationRequest(ServerDriveSetInformationRequest {
            device_io_request: self.io(file_id, MajorFunction::SetInformation, 0),
            set_buffer,
        })
    }

    fn close(&mut self, file_id: u32) -> ServerDriveIoRequest {
        ServerDriveIoRequest::DeviceCloseRequest(DeviceCloseRequest { device_io_request: self.io(file_id, MajorFunction::Close, 0) })
    }

    fn query_information(&mut self, file_id: u32, class: FileInformationClassLevel) -> ServerDriveIoRequest {
        ServerDriveIoRequest::ServerDriveQueryInformationRequest(ServerDriveQueryInformationRequest {
            device_io_request: self.io(file_id, MajorFunction::QueryInformation, 0),
            file_info_class_lvl: class,
        })
    }
}

fn file(path: &str, size: u64) -> pb::FileSystemObject {
    pb::FileSystemObject { last_modified: 1_609_459_200_000, size, file_type: pb::FileType::File as i32, is_empty: false, path: path.into() }
}

fn dir(path: &str, is_empty: bool) -> pb::FileSystemObject {
    pb::FileSystemObject { last_modified: 0, size: 0, file_type: pb::FileType::Directory as i32, is_empty, path: path.into() }
}

/// The one browser request among `actions`, and nothing for the host.
fn one_request(actions: Vec<DriveAction>) -> (pb::SharedDirectoryRequest,) {
    match <[DriveAction; 1]>::try_from(actions) {
        Ok([DriveAction::ToBrowser(request)]) => {
            assert_eq!(request.directory_id, DIRECTORY_ID);
            (request,)
        }
        Ok(other) => panic!("expected one browser request, got {other:?}"),
        Err(other) => panic!("expected one browser request, got {other:?}"),
    }
}

/// The one completion among `actions`, and nothing for the browser.
fn one_completion(actions: Vec<DriveAction>) -> SvcMessage {
    match <[DriveAction; 1]>::try_from(actions) {
        Ok([DriveAction::ToHost(messages)]) => match <[SvcMessage; 1]>::try_from(messages) {
            Ok([message]) => message,
            Err(messages) => panic!("expected one completion, got {messages:?}"),
        },
        Ok(other) => panic!("expected one completion, got {other:?}"),
        Err(other) => panic!("expected one completion, got {other:?}"),
    }
}

/// The completion's header, as the host reads it.
fn header(message: &SvcMessage) -> DeviceIoResponse {
    let bytes = message.encode_unframed_pdu().unwrap();
    // RDPDR_HEADER: component and packet id, then DR_DEVICE_IOCOMPLETION.
    assert_eq!(&bytes[..4], &[0x72, 0x44, 0x43, 0x49], "a device I/O completion");
    DeviceIoResponse::decode(&mut ReadCursor::new(&bytes[4..])).unwrap()
}

fn status(message: &SvcMessage) -> NtStatus {
    header(message).io_status
}

/// The whole completion, decoded for the request it answers.
fn decode(message: &SvcMessage, major: MajorFunction, minor: u32, class: Option<FileInformationClassLevel>) -> RdpdrPdu {
    let bytes = message.encode_unframed_pdu().unwrap();
    let mut src = ReadCursor::new(&bytes[4..]);
    let io = DeviceIoResponse::decode(&mut src).unwrap();
    let volume = (major == MajorFunction::QueryVolumeInformation).then_some(FileSystemInformationClassLevel::FILE_FS_ATTRIBUTE_INFORMATION);
    let pdu = RdpdrPdu::decode_io_completion(major, MinorFunction::from(minor), class, volume, io, &mut src).unwrap();
    assert!(src.is_empty(), "trailing bytes");
    pdu
}

/// The entry name a directory query's completion carries, or its status.
fn listed_name(message: &SvcMessage) -> Result<String, NtStatus> {
    let class = Some(FileInformationClassLevel::FILE_BOTH_DIRECTORY_INFORMATION);
    let RdpdrPdu::ClientDriveQueryDirectoryResponse(response) = decode(message, MajorFunction::DirectoryControl, 1, class) else { panic!() };
    match response.buffer {
        Some(FileInformationClass::BothDirectory(entry)) => Ok(entry.file_name),
        None => Err(response.device_io_reply.io_status),
        Some(other) => panic!("{other:?}"),
    }
}

#[test]
fn announce_adds_a_drive_and_acknowledges_when_the_host_accepts() {
    let session = Session::new();
    assert_eq!(session.device_id, 1);
    assert_eq!(session.bridge.next_deadline(), None);
}

#[test]
fn bad_announcements_are_refused_with_a_warning() {
    let mut session = Session::new();
    let refused = |actions: Vec<DriveAction>, id: u32| {
        assert!(
            matches!(&actions[..], [DriveAction::Acknowledge(ack), DriveAction::Warn(_)] if ack.directory_id == id && ack.error_code == Code::Failed as i32),
            "{actions:?}"
        );
    };
    for name in ["", "a/b", "a\\b", "c:", "a\0b", "..", &"x".repeat(256)] {
        refused(session.bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: 8, name: name.into() }), 8);
    }
    refused(session.bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: DIRECTORY_ID, name: "again".into() }), DIRECTORY_ID);
    for id in 1..MAX_SHARED_DIRECTORIES as u32 {
        let actions = session.bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: 100 + id, name: format!("d{id}") });
        assert!(matches!(&actions[..], [DriveAction::AddDrive { .. }]), "{actions:?}");
    }
    refused(session.bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: 200, name: "one too many".into() }), 200);
}

#[test]
fn a_drive_the_host_refuses_is_not_shared() {
    let mut session = Session::new();
    let actions = session.bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: 9, name: "more".into() });
    let [DriveAction::AddDrive { device_id, .. }] = actions[..] else { panic!("{actions:?}") };
    let actions = session.bridge.from_host(DriveNote::Announced { device_id, ok: false }, session.t0);
    assert!(
        matches!(&actions[..], [DriveAction::Acknowledge(ack), DriveAction::Warn(_), DriveAction::RemoveDrive { device_id: removed }]
            if ack.directory_id == 9 && ack.error_code == Code::Failed as i32 && *removed == device_id),
        "{actions:?}"
    );
    // IronRDP could not announce one either.
    let actions = session.bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: 10, name: "other".into() });
    let [DriveAction::AddDrive { device_id, .. }] = actions[..] else { panic!("{actions:?}") };
    let actions = session.bridge.not_added(device_id, "no drive capability");
    assert!(matches!(&actions[..], [DriveAction::Acknowledge(ack), DriveAction::Warn(_)] if ack.error_code == Code::Failed as i32), "{actions:?}");
}

#[test]
fn opening_an_existing_file_asks_what_it_is() {
    let mut session = Session::new();
    let req = session.create("\\notes\\a.txt", CreateDisposition::FILE_OPEN, CreateOptions::FILE_NON_DIRECTORY_FILE);
    let (request,) = one_request(session.host(req));
    assert_eq!(request.operation, Some(Operation::Info(pb::shared_directory_request::Info { path: "notes/a.txt".into() })));
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(file("notes/a.txt", 5)) })));
    let message = one_completion(actions);
    let RdpdrPdu::DeviceCreateResponse(created) = decode(&message, MajorFunction::Create, 0, None) else { panic!() };
    assert_eq!(created.device_io_reply.io_status, NtStatus::SUCCESS);
    assert_eq!(created.device_io_reply.completion_id, session.next_completion);
    assert_eq!(created.information, Information::FILE_OPENED);
    assert_ne!(created.file_id, 0);
    // Each open gets its own id.
    let other = session.open("\\notes\\a.txt", file("notes/a.txt", 5));
    assert_ne!(other, created.file_id);

    // The file's information, asked again of the browser.
    let req = session.query_information(created.file_id, FileInformationClassLevel::FILE_STANDARD_INFORMATION);
    let (request,) = one_request(session.host(req));
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(file("notes/a.txt", 12)) })));
    let class = Some(FileInformationClassLevel::FILE_STANDARD_INFORMATION);
    let RdpdrPdu::ClientDriveQueryInformationResponse(info) = decode(&one_completion(actions), MajorFunction::QueryInformation, 0, class) else { panic!() };
    let Some(FileInformationClass::Standard(standard)) = info.buffer else { panic!("{info:?}") };
    assert_eq!((standard.end_of_file, standard.directory), (12, Boolean::False));
    let req = session.query_information(created.file_id, FileInformationClassLevel::FILE_BASIC_INFORMATION);
    let (request,) = one_request(session.host(req));
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(file("notes/a.txt", 12)) })));
    let class = Some(FileInformationClassLevel::FILE_BASIC_INFORMATION);
    let RdpdrPdu::ClientDriveQueryInformationResponse(info) = decode(&one_completion(actions), MajorFunction::QueryInformation, 0, class) else { panic!() };
    let Some(FileInformationClass::Basic(basic)) = info.buffer else { panic!("{info:?}") };
    // 2021-01-01T00:00:00Z as a FILETIME.
    assert_eq!(basic.last_write_time, 132_539_328_000_000_000);
}

#[test]
fn a_missing_file_is_not_found_or_made() {
    let mut session = Session::new();
    let req = session.create("\\gone.txt", CreateDisposition::FILE_OPEN, CreateOptions::empty());
    let (request,) = one_request(session.host(req));
    let message = one_completion(session.browser(request.completion_id, Code::DoesNotExist, None));
    assert_eq!(status(&message), NtStatus::NO_SUCH_FILE);

    // FILE_OPEN_IF: Info, then Create.
    let req = session.create("\\new.txt", CreateDisposition::FILE_OPEN_IF, CreateOptions::FILE_NON_DIRECTORY_FILE);
    let (request,) = one_request(session.host(req));
    assert!(matches!(request.operation, Some(Operation::Info(_))));
    let (request,) = one_request(session.browser(request.completion_id, Code::DoesNotExist, None));
    assert_eq!(
        request.operation,
        Some(Operation::Create(pb::shared_directory_request::Create { path: "new.txt".into(), file_type: pb::FileType::File as i32 }))
    );
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Create(answer::Create { fso: Some(file("new.txt", 0)) })));
    let RdpdrPdu::DeviceCreateResponse(created) = decode(&one_completion(actions), MajorFunction::Create, 0, None) else { panic!() };
    assert_eq!((created.device_io_reply.io_status, created.information), (NtStatus::SUCCESS, Information::FILE_CREATED));

    // FILE_CREATE of a directory: straight to Create; one that exists collides.
    let req = session.create("\\new dir", CreateDisposition::FILE_CREATE, CreateOptions::FILE_DIRECTORY_FILE);
    let (request,) = one_request(session.host(req));
    assert_eq!(
        request.operation,
        Some(Operation::Create(pb::shared_directory_request::Create { path: "new dir".into(), file_type: pb::FileType::Directory as i32 }))
    );
    let message = one_completion(session.browser(request.completion_id, Code::AlreadyExists, None));
    assert_eq!(status(&message), NtStatus::OBJECT_NAME_COLLISION);
}

#[test]
fn overwriting_empties_the_file_first() {
    let mut session = Session::new();
    let req = session.create("\\a.txt", CreateDisposition::FILE_OVERWRITE_IF, CreateOptions::empty());
    let (request,) = one_request(session.host(req));
    let (request,) = one_request(session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(file("a.txt", 99)) }))));
    assert_eq!(request.operation, Some(Operation::Truncate(pb::shared_directory_request::Truncate { path: "a.txt".into(), end_of_file: 0 })));
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Truncate(answer::Truncate {})));
    let RdpdrPdu::DeviceCreateResponse(created) = decode(&one_completion(actions), MajorFunction::Create, 0, None) else { panic!() };
    assert_eq!((created.device_io_reply.io_status, created.information), (NtStatus::SUCCESS, Information::FILE_OVERWRITTEN));
}

#[test]
fn directories_and_files_are_not_mistaken() {
    let mut session = Session::new();
    for (options, fso, expected) in [
        (CreateOptions::FILE_DIRECTORY_FILE, file("x", 1), NtStatus::NOT_A_DIRECTORY),
        (CreateOptions::FILE_NON_DIRECTORY_FILE, dir("x", true), NtStatus::FILE_IS_A_DIRECTORY),
    ] {
        let req = session.create("\\x", CreateDisposition::FILE_OPEN, options);
        let (request,) = one_request(session.host(req));
        let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(fso) }))));
        assert_eq!(status(&message), expected);
    }
    // Reading a directory.
    let id = session.open("\\d", dir("d", false));
    let req = session.read(id, 0, 10);
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::INVALID_DEVICE_REQUEST);
}

#[test]
fn a_directory_is_listed_across_queries() {
    let mut session = Session::new();
    let id = session.open("\\dir", dir("dir", false));
    let req = session.query_directory(id, true, "\\dir\\*");
    let (request,) = one_request(session.host(req));
    assert_eq!(request.operation, Some(Operation::List(pb::shared_directory_request::List { path: "dir".into() })));
    let list = vec![
        file("dir/a.txt", 1),
        dir("dir/sub", true),
        // Not the directory's own entries, or names Windows cannot use: skipped.
        file("elsewhere/x", 1),
        file("dir/sub/deeper", 1),
        file("dir/what:stream", 1),
        file("../escape", 1),
        file("dir/b.TXT", 2),
    ];
    let first = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::List(answer::List { fso_list: list }))));
    let mut names = vec![listed_name(&first)];
    for _ in 0..5 {
        let req = session.query_directory(id, false, "");
        names.push(listed_name(&one_completion(session.host(req))));
    }
    let expected: Vec<Result<String, NtStatus>> =
        vec![Ok(".".into()), Ok("..".into()), Ok("a.txt".into()), Ok("sub".into()), Ok("b.TXT".into()), Err(NtStatus::NO_MORE_FILES)];
    assert_eq!(names, expected);

    // A pattern, matched without case; a new first call starts over.
    let req = session.query_directory(id, true, "\\dir\\*.txt");
    let (request,) = one_request(session.host(req));
    let list = vec![file("dir/a.txt", 1), dir("dir/sub", true), file("dir/b.TXT", 2)];
    let first = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::List(answer::List { fso_list: list }))));
    let req = session.query_directory(id, false, "");
    let second = one_completion(session.host(req));
    let req = session.query_directory(id, false, "");
    let third = one_completion(session.host(req));
    assert_eq!([listed_name(&first), listed_name(&second), listed_name(&third)], [Ok("a.txt".into()), Ok("b.TXT".into()), Err(NtStatus::NO_MORE_FILES)]);

    // The drive's root has no "." or ".."; nothing matching on a first call is NO_SUCH_FILE.
    let root = session.open("\\", dir("", true));
    let req = session.query_directory(root, true, "\\*");
    let (request,) = one_request(session.host(req));
    let first = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::List(answer::List { fso_list: vec![] }))));
    assert_eq!(listed_name(&first), Err(NtStatus::NO_SUCH_FILE));
}

#[test]
fn a_read_over_1_mib_takes_several_browser_reads() {
    let mut session = Session::new();
    let id = session.open("\\big.bin", file("big.bin", 10 * MIB as u64));
    let req = session.read(id, 100, 3 * MIB as u32);
    let (request,) = one_request(session.host(req));
    assert_eq!(request.operation, Some(Operation::Read(pb::shared_directory_request::Read { path: "big.bin".into(), offset: 100, length: MIB as u32 })));
    let (request,) = one_request(session.browser(request.completion_id, Code::None, Some(Answer::Read(answer::Read { data: vec![1; MIB] }))));
    assert_eq!(
        request.operation,
        Some(Operation::Read(pb::shared_directory_request::Read { path: "big.bin".into(), offset: 100 + MIB as u64, length: MIB as u32 }))
    );
    // A short piece is the end of the file: the read returns what there is.
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Read(answer::Read { data: vec![2; MIB / 2] })));
    let RdpdrPdu::DeviceReadResponse(read) = decode(&one_completion(actions), MajorFunction::Read, 0, None) else { panic!() };
    assert_eq!(read.device_io_reply.io_status, NtStatus::SUCCESS);
    assert_eq!(read.read_data.len(), MIB + MIB / 2);
    assert_eq!((read.read_data[MIB - 1], read.read_data[MIB]), (1, 2));

    // A huge read is clamped: never more than 1 MiB a piece, 4 MiB in all.
    let req = session.read(id, 0, u32::MAX);
    let (mut request,) = one_request(session.host(req));
    let mut pieces = 0;
    loop {
        let Some(Operation::Read(read)) = &request.operation else { panic!("{request:?}") };
        assert!(read.length as usize <= MIB);
        pieces += 1;
        let actions = session.browser(request.completion_id, Code::None, Some(Answer::Read(answer::Read { data: vec![0; read.length as usize] })));
        match &actions[..] {
            [DriveAction::ToBrowser(next)] => request = next.clone(),
            [DriveAction::ToHost(_)] => {
                let RdpdrPdu::DeviceReadResponse(read) = decode(&one_completion(actions), MajorFunction::Read, 0, None) else { panic!() };
                assert_eq!(read.read_data.len(), irp::MAX_READ_LEN);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(pieces, 4);

    // An answer longer than asked is refused.
    let req = session.read(id, 0, 10);
    let (request,) = one_request(session.host(req));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Read(answer::Read { data: vec![0; 11] }))));
    assert_eq!(status(&message), NtStatus::UNSUCCESSFUL);
}

#[test]
fn a_write_goes_in_pieces_of_1_mib() {
    let mut session = Session::new();
    let id = session.open("\\out.bin", file("out.bin", 0));
    let data: Vec<u8> = (0..MIB + 10).map(|i| (i % 251) as u8).collect();
    let io = session.io(id, MajorFunction::Write, 0);
    let req = ServerDriveIoRequest::DeviceWriteRequest(DeviceWriteRequest { device_io_request: io, offset: 5, write_data: data.clone() });
    let (request,) = one_request(session.host(req));
    let Some(Operation::Write(write)) = &request.operation else { panic!() };
    assert_eq!((write.path.as_str(), write.offset, &write.data[..]), ("out.bin", 5, &data[..MIB]));
    let (request,) = one_request(session.browser(request.completion_id, Code::None, Some(Answer::Write(answer::Write { bytes_written: MIB as u32 }))));
    let Some(Operation::Write(write)) = &request.operation else { panic!() };
    assert_eq!((write.offset, &write.data[..]), (5 + MIB as u64, &data[MIB..]));
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Write(answer::Write { bytes_written: 10 })));
    let RdpdrPdu::DeviceWriteResponse(written) = decode(&one_completion(actions), MajorFunction::Write, 0, None) else { panic!() };
    assert_eq!((written.device_io_reply.io_status, written.length), (NtStatus::SUCCESS, MIB as u32 + 10));

    // A browser that answers the second piece wrongly: the first stands,
    // and the host learns it was written (a short write).
    let io = session.io(id, MajorFunction::Write, 0);
    let req = ServerDriveIoRequest::DeviceWriteRequest(DeviceWriteRequest { device_io_request: io, offset: 0, write_data: data.clone() });
    let (request,) = one_request(session.host(req));
    let (request,) = one_request(session.browser(request.completion_id, Code::None, Some(Answer::Write(answer::Write { bytes_written: MIB as u32 }))));
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Read(answer::Read { data: vec![] })));
    let RdpdrPdu::DeviceWriteResponse(written) = decode(&one_completion(actions), MajorFunction::Write, 0, None) else { panic!() };
    assert_eq!((written.device_io_reply.io_status, written.length), (NtStatus::SUCCESS, MIB as u32));

    // A new end of file is a Truncate.
    let req = session.set(id, FileInformationClass::EndOfFile(FileEndOfFileInformation { end_of_file: 3 }));
    let (request,) = one_request(session.host(req));
    assert_eq!(request.operation, Some(Operation::Truncate(pb::shared_directory_request::Truncate { path: "out.bin".into(), end_of_file: 3 })));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Truncate(answer::Truncate {}))));
    assert_eq!(status(&message), NtStatus::SUCCESS);
}

#[test]
fn a_rename_checks_the_target_then_moves() {
    let mut session = Session::new();
    let id = session.open("\\a.txt", file("a.txt", 1));
    let rename = |to: &str, replace| FileInformationClass::Rename(FileRenameInformation { replace_if_exists: replace, file_name: to.into() });

    // Something is there and replacing was not asked for.
    let req = session.set(id, rename("\\b.txt", Boolean::False));
    let (request,) = one_request(session.host(req));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(file("b.txt", 1)) }))));
    assert_eq!(status(&message), NtStatus::OBJECT_NAME_COLLISION);

    let req = session.set(id, rename("\\sub\\c.txt", Boolean::False));
    let (request,) = one_request(session.host(req));
    assert_eq!(request.operation, Some(Operation::Info(pb::shared_directory_request::Info { path: "sub/c.txt".into() })));
    let (request,) = one_request(session.browser(request.completion_id, Code::DoesNotExist, None));
    assert_eq!(request.operation, Some(Operation::Move(pb::shared_directory_request::Move { original_path: "a.txt".into(), new_path: "sub/c.txt".into() })));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Move(answer::Move {}))));
    assert_eq!(status(&message), NtStatus::SUCCESS);

    // The handle follows the file.
    let req = session.query_information(id, FileInformationClassLevel::FILE_BASIC_INFORMATION);
    let (request,) = one_request(session.host(req));
    assert_eq!(request.operation, Some(Operation::Info(pb::shared_directory_request::Info { path: "sub/c.txt".into() })));

    // A hostile target never reaches the browser.
    let req = session.set(id, rename("\\..\\..\\etc\\passwd", Boolean::True));
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::ACCESS_DENIED);

    // A rename that changes only case would find the file itself as the
    // target on a case-insensitive disk (and replacing it would delete it).
    let case = session.open("\\Case.txt", file("Case.txt", 3));
    let req = session.set(case, rename("\\CASE.TXT", Boolean::True));
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::ACCESS_DENIED, "refused at once, the browser not asked");
}

#[test]
fn delete_on_close_deletes_at_the_close() {
    let mut session = Session::new();
    // As a create option.
    let req = session.create("\\tmp.txt", CreateDisposition::FILE_OPEN, CreateOptions::FILE_DELETE_ON_CLOSE);
    let (request,) = one_request(session.host(req));
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(file("tmp.txt", 1)) })));
    let RdpdrPdu::DeviceCreateResponse(created) = decode(&one_completion(actions), MajorFunction::Create, 0, None) else { panic!() };
    let req = session.close(created.file_id);
    let (request,) = one_request(session.host(req));
    assert_eq!(request.operation, Some(Operation::Delete(pb::shared_directory_request::Delete { path: "tmp.txt".into() })));
    let actions = session.browser(request.completion_id, Code::None, Some(Answer::Delete(answer::Delete {})));
    assert!(
        matches!(decode(&one_completion(actions), MajorFunction::Close, 0, None), RdpdrPdu::DeviceCloseResponse(r) if r.device_io_response.io_status == NtStatus::SUCCESS)
    );

    // As a disposition, on a directory: only while it is empty.
    let id = session.open("\\d", dir("d", false));
    let req = session.set(id, FileInformationClass::Disposition(FileDispositionInformation { delete_pending: 1 }));
    let (request,) = one_request(session.host(req));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(dir("d", false)) }))));
    assert_eq!(status(&message), NtStatus::DIRECTORY_NOT_EMPTY);
    let req = session.close(id);
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::SUCCESS, "closed without deleting");

    let id = session.open("\\e", dir("e", true));
    let req = session.set(id, FileInformationClass::Disposition(FileDispositionInformation { delete_pending: 1 }));
    let (request,) = one_request(session.host(req));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(dir("e", true)) }))));
    assert_eq!(status(&message), NtStatus::SUCCESS);
    let req = session.close(id);
    let (request,) = one_request(session.host(req));
    assert_eq!(request.operation, Some(Operation::Delete(pb::shared_directory_request::Delete { path: "e".into() })));

    // A file, marked, then unmarked: nothing is deleted.
    let id = session.open("\\f", file("f", 1));
    let req = session.set(id, FileInformationClass::Disposition(FileDispositionInformation { delete_pending: 1 }));
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::SUCCESS);
    let req = session.set(id, FileInformationClass::Disposition(FileDispositionInformation { delete_pending: 0 }));
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::SUCCESS);
    let req = session.close(id);
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::SUCCESS);
}

#[test]
fn hostile_paths_never_reach_the_browser() {
    let mut session = Session::new();
    for (path, expected) in [
        ("\\..\\secret", NtStatus::ACCESS_DENIED),
        ("\\a\\..\\..\\b", NtStatus::ACCESS_DENIED),
        ("\\.", NtStatus::ACCESS_DENIED),
        ("\\a.txt:hidden", NtStatus::OBJECT_NAME_INVALID),
        ("\\a\\\\b", NtStatus::OBJECT_NAME_INVALID),
        // '/' separates too (xrdp's way): no way out either.
        ("\\a/../../b", NtStatus::ACCESS_DENIED),
        ("/../secret", NtStatus::ACCESS_DENIED),
        ("\\nul\0byte", NtStatus::OBJECT_NAME_INVALID),
        ("\\what?", NtStatus::OBJECT_NAME_INVALID),
    ] {
        let req = session.create(path, CreateDisposition::FILE_OPEN_IF, CreateOptions::empty());
        let message = one_completion(session.host(req));
        let RdpdrPdu::DeviceCreateResponse(created) = decode(&message, MajorFunction::Create, 0, None) else { panic!() };
        assert_eq!((created.device_io_reply.io_status, created.file_id), (expected, 0), "{path:?}");
    }
    assert_eq!(session.bridge.next_deadline(), None);
    assert_eq!(super::path::from_host("/dir/file.txt").unwrap(), super::path::from_host("\\dir\\file.txt").unwrap());
}

#[test]
fn a_browser_that_never_answers_fails_the_irp() {
    let mut session = Session::new();
    let req = session.create("\\slow.txt", CreateDisposition::FILE_OPEN, CreateOptions::empty());
    let (request,) = one_request(session.host(req));
    assert_eq!(session.bridge.next_deadline(), Some(session.at(15)));
    assert!(session.bridge.expire(session.at(14)).is_empty());
    let actions = session.bridge.expire(session.at(15));
    let [DriveAction::Warn(_), DriveAction::ToHost(messages)] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(status(&messages[0]), reply::io_timeout());
    assert_eq!(session.bridge.next_deadline(), None);
    // The answer that comes after is nobody's.
    let late = session.bridge.from_browser(
        pb::SharedDirectoryResponse {
            completion_id: request.completion_id,
            error_code: 0,
            result: Some(Answer::Info(answer::Info { fso: Some(file("slow.txt", 1)) })),
        },
        session.at(16),
    );
    assert!(late.is_empty(), "{late:?}");

    // An answer past its deadline that comes before `expire` fails the IRP too, warned once.
    let req = session.create("\\slow.txt", CreateDisposition::FILE_OPEN, CreateOptions::empty());
    let (request,) = one_request(session.host(req));
    let actions = session.bridge.from_browser(
        pb::SharedDirectoryResponse {
            completion_id: request.completion_id,
            error_code: 0,
            result: Some(Answer::Info(answer::Info { fso: Some(file("slow.txt", 1)) })),
        },
        session.at(20),
    );
    assert_eq!(status(&one_completion(actions)), reply::io_timeout());
}

#[test]
fn answers_nobody_asked_for_are_dropped() {
    let mut session = Session::new();
    let req = session.create("\\a.txt", CreateDisposition::FILE_OPEN, CreateOptions::empty());
    let (request,) = one_request(session.host(req));
    let stray = session.browser(request.completion_id + 1000, Code::None, Some(Answer::Info(answer::Info { fso: Some(file("a.txt", 1)) })));
    assert!(stray.is_empty(), "{stray:?}");
    // The real request still waits, and its answer still counts.
    assert_eq!(session.bridge.next_deadline(), Some(session.at(15)));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: Some(file("a.txt", 1)) }))));
    assert_eq!(status(&message), NtStatus::SUCCESS);
}

#[test]
fn an_answer_of_the_wrong_kind_fails_the_irp() {
    let mut session = Session::new();
    let req = session.create("\\a.txt", CreateDisposition::FILE_OPEN, CreateOptions::empty());
    let (request,) = one_request(session.host(req));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Read(answer::Read { data: vec![1, 2] }))));
    assert_eq!(status(&message), NtStatus::UNSUCCESSFUL);
    // An Info without its object is as bad; so is an unknown error code.
    let req = session.create("\\a.txt", CreateDisposition::FILE_OPEN, CreateOptions::empty());
    let (request,) = one_request(session.host(req));
    let message = one_completion(session.browser(request.completion_id, Code::None, Some(Answer::Info(answer::Info { fso: None }))));
    assert_eq!(status(&message), NtStatus::UNSUCCESSFUL);
    let req = session.create("\\a.txt", CreateDisposition::FILE_OPEN, CreateOptions::empty());
    let (request,) = one_request(session.host(req));
    let now = session.at(1);
    let actions = session.bridge.from_browser(pb::SharedDirectoryResponse { completion_id: request.completion_id, error_code: 42, result: None }, now);
    assert_eq!(status(&one_completion(actions)), NtStatus::UNSUCCESSFUL);
}

#[test]
fn removing_a_directory_cancels_its_irps_and_withdraws_the_drive() {
    let mut session = Session::new();
    let id = session.open("\\a.txt", file("a.txt", 1));
    let req = session.read(id, 0, 10);
    let (request,) = one_request(session.host(req));
    assert!(session.bridge.remove(DIRECTORY_ID + 1).is_empty());
    let actions = session.bridge.remove(DIRECTORY_ID);
    let [DriveAction::ToHost(messages), DriveAction::RemoveDrive { device_id }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!((status(&messages[0]), *device_id), (NtStatus::CANCELLED, session.device_id));
    assert!(session.browser(request.completion_id, Code::None, Some(Answer::Read(answer::Read { data: vec![0] }))).is_empty());
    // A late IRP for the drive is refused without the browser.
    let req = session.read(id, 0, 10);
    assert_eq!(status(&one_completion(session.host(req))), reply::no_such_device());
}

#[test]
fn what_the_browser_cannot_answer_is_answered_here() {
    let mut session = Session::new();
    let io = session.io(0, MajorFunction::QueryVolumeInformation, 0);
    let req = ServerDriveIoRequest::ServerDriveQueryVolumeInformationRequest(ServerDriveQueryVolumeInformationRequest {
        device_io_request: io,
        fs_info_class_lvl: FileSystemInformationClassLevel::FILE_FS_ATTRIBUTE_INFORMATION,
    });
    let message = one_completion(session.host(req));
    let RdpdrPdu::ClientDriveQueryVolumeInformationResponse(volume) = decode(&message, MajorFunction::QueryVolumeInformation, 0, None) else { panic!() };
    let Some(FileSystemInformationClass::FileFsAttributeInformation(attributes)) = volume.buffer else { panic!("{volume:?}") };
    assert_eq!(attributes.file_system_name, "FAT32");

    // Change notifications are never completed.
    let io = session.io(0, MajorFunction::DirectoryControl, 2);
    let req = ServerDriveIoRequest::ServerDriveNotifyChangeDirectoryRequest(ServerDriveNotifyChangeDirectoryRequest {
        device_io_request: io,
        watch_tree: 1,
        completion_filter: 0x17,
    });
    assert!(session.host(req).is_empty());

    // Unknown handles.
    let req = session.read(999, 0, 1);
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::INVALID_HANDLE);
    let req = session.close(999);
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::INVALID_HANDLE);
}

#[test]
fn a_channel_reset_forgets_open_files() {
    let mut session = Session::new();
    let id = session.open("\\a.txt", file("a.txt", 1));
    let req = session.read(id, 0, 1);
    let (request,) = one_request(session.host(req));
    session.backend.reset().unwrap();
    assert!(session.notes(session.t0).is_empty());
    assert_eq!(session.bridge.next_deadline(), None);
    assert!(session.browser(request.completion_id, Code::None, Some(Answer::Read(answer::Read { data: vec![0] }))).is_empty());
    let req = session.read(id, 0, 1);
    assert_eq!(status(&one_completion(session.host(req))), NtStatus::INVALID_HANDLE);
    // The drive stays, and its acknowledgement is not repeated when the host accepts it again.
    let actions = session.bridge.from_host(DriveNote::Announced { device_id: session.device_id, ok: true }, session.t0);
    assert!(actions.is_empty(), "{actions:?}");
}

#[test]
fn a_browser_that_leaves_takes_every_directory_with_it() {
    let mut session = Session::new();
    let actions = session.bridge.announce(&pb::SharedDirectoryAnnounce { directory_id: 9, name: "more".into() });
    let [DriveAction::AddDrive { device_id: second, .. }] = actions[..] else { panic!("{actions:?}") };
    let actions = session.bridge.remove_all();
    let removed: Vec<u32> = actions.iter().filter_map(|a| if let DriveAction::RemoveDrive { device_id } = a { Some(*device_id) } else { None }).collect();
    assert_eq!(removed, [session.device_id, second]);
    assert!(session.bridge.remove_all().is_empty());
}
