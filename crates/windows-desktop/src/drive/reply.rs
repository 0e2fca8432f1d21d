//! What goes back to the host: IRP completions of the right shape for each
//! request, and the file system's facts (times, attributes, sizes, the
//! volume) in Windows' terms, from what the browser says of a file.

use ironrdp_rdpdr::pdu::RdpdrPdu;
use ironrdp_rdpdr::pdu::efs::{
    Boolean, Characteristics, ClientDriveLockControlResponse, ClientDriveQueryDirectoryResponse, ClientDriveQueryInformationResponse,
    ClientDriveQuerySecurityResponse, ClientDriveQueryVolumeInformationResponse, ClientDriveSetInformationResponse, ClientDriveSetSecurityResponse,
    DeviceCloseResponse, DeviceControlResponse, DeviceCreateResponse, DeviceFlushBuffersResponse, DeviceIoRequest, DeviceIoResponse, DeviceReadResponse,
    DeviceWriteResponse, FileAttributeTagInformation, FileAttributes, FileBasicInformation, FileBothDirectoryInformation, FileDirectoryInformation,
    FileFsAttributeInformation, FileFsDeviceInformation, FileFsFullSizeInformation, FileFsSizeInformation, FileFsVolumeInformation,
    FileFullDirectoryInformation, FileInformationClass, FileInformationClassLevel, FileNamesInformation, FileStandardInformation, FileSystemAttributes,
    FileSystemInformationClass, FileSystemInformationClassLevel, Information, NtStatus, ServerDriveIoRequest, ServerDriveSetInformationRequest,
};
use ironrdp_svc::SvcMessage;
use oriel_tdpb::pb::{self, SharedDirectoryErrorCode};

/// STATUS_IO_TIMEOUT: the browser did not answer in time (not among IronRDP's constants).
pub(super) fn io_timeout() -> NtStatus {
    NtStatus::from(0xC000_00B5)
}

/// STATUS_NO_SUCH_DEVICE: the drive is not (or no longer) shared.
pub(super) fn no_such_device() -> NtStatus {
    NtStatus::from(0xC000_000E)
}

/// 100 ns intervals from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const UNIX_EPOCH_AS_FILETIME: i64 = 116_444_736_000_000_000;

/// The browser's time (milliseconds since the Unix epoch) as a FILETIME;
/// one past what FILETIME holds is clamped, not wrapped.
pub(super) fn filetime(unix_ms: u64) -> i64 {
    i64::try_from(unix_ms).ok().and_then(|ms| ms.checked_mul(10_000)).and_then(|t| t.checked_add(UNIX_EPOCH_AS_FILETIME)).unwrap_or(i64::MAX)
}

/// The status for a browser's error code; an unknown code is a failure.
pub(super) fn status_of(error_code: i32) -> NtStatus {
    match SharedDirectoryErrorCode::try_from(error_code) {
        Ok(SharedDirectoryErrorCode::None) => NtStatus::SUCCESS,
        Ok(SharedDirectoryErrorCode::DoesNotExist) => NtStatus::NO_SUCH_FILE,
        Ok(SharedDirectoryErrorCode::AlreadyExists) => NtStatus::OBJECT_NAME_COLLISION,
        Ok(SharedDirectoryErrorCode::NotEmpty) => NtStatus::DIRECTORY_NOT_EMPTY,
        Ok(SharedDirectoryErrorCode::Refused) => NtStatus::ACCESS_DENIED,
        Ok(SharedDirectoryErrorCode::Failed) | Err(_) => NtStatus::UNSUCCESSFUL,
    }
}

/// A file or directory as the host is told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Facts {
    pub(super) is_dir: bool,
    /// Bytes (0 for a directory).
    pub(super) size: i64,
    /// Last modified, as a FILETIME; it stands for the other times too.
    pub(super) modified: i64,
}

impl Facts {
    pub(super) fn of(fso: &pb::FileSystemObject) -> Self {
        let is_dir = fso.file_type == pb::FileType::Directory as i32;
        let size = if is_dir { 0 } else { i64::try_from(fso.size).unwrap_or(i64::MAX) };
        Self { is_dir, size, modified: filetime(fso.last_modified) }
    }

    fn attributes(&self) -> FileAttributes {
        if self.is_dir { FileAttributes::FILE_ATTRIBUTE_DIRECTORY } else { FileAttributes::FILE_ATTRIBUTE_NORMAL }
    }
}

/// One entry of a directory listing, as a directory query returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) facts: Facts,
}

/// A file's information of `class`; `None` for a class not answered here.
pub(super) fn file_information(class: &FileInformationClassLevel, facts: &Facts, delete_pending: bool) -> Option<FileInformationClass> {
    let t = facts.modified;
    let info = match *class {
        FileInformationClassLevel::FILE_BASIC_INFORMATION => {
            FileBasicInformation { creation_time: t, last_access_time: t, last_write_time: t, change_time: t, file_attributes: facts.attributes() }.into()
        }
        FileInformationClassLevel::FILE_STANDARD_INFORMATION => FileStandardInformation {
            allocation_size: facts.size,
            end_of_file: facts.size,
            number_of_links: 1,
            delete_pending: if delete_pending { Boolean::True } else { Boolean::False },
            directory: if facts.is_dir { Boolean::True } else { Boolean::False },
        }
        .into(),
        FileInformationClassLevel::FILE_ATTRIBUTE_TAG_INFORMATION => FileAttributeTagInformation { file_attributes: facts.attributes(), reparse_tag: 0 }.into(),
        _ => return None,
    };
    Some(info)
}

/// A directory query's answer for `entry` in `class`.
pub(super) fn directory_entry(class: &FileInformationClassLevel, entry: &Entry) -> Option<FileInformationClass> {
    let (f, name) = (&entry.facts, entry.name.clone());
    let t = f.modified;
    let info = match *class {
        FileInformationClassLevel::FILE_BOTH_DIRECTORY_INFORMATION => FileBothDirectoryInformation::new(t, t, t, t, f.size, f.attributes(), name).into(),
        FileInformationClassLevel::FILE_FULL_DIRECTORY_INFORMATION => FileFullDirectoryInformation::new(t, t, t, t, f.size, f.attributes(), name).into(),
        FileInformationClassLevel::FILE_DIRECTORY_INFORMATION => FileDirectoryInformation::new(t, t, t, t, f.size, f.attributes(), name).into(),
        FileInformationClassLevel::FILE_NAMES_INFORMATION => FileNamesInformation::new(name).into(),
        _ => return None,
    };
    Some(info)
}

/// Cluster size of the volume the host is shown.
const BYTES_PER_SECTOR: u32 = 512;
const SECTORS_PER_UNIT: u32 = 8;
/// The browser cannot say how big or how full the disk behind a picked
/// directory is: the host is shown 1 TiB with half of it free, so copies
/// are not refused for want of space (the browser fails a write that
/// really does not fit).
const TOTAL_UNITS: i64 = (1 << 40) / 4096;
const FREE_UNITS: i64 = TOTAL_UNITS / 2;
/// FILE_DEVICE_DISK.
const FILE_DEVICE_DISK: u32 = 0x0000_0007;

/// The volume's information of `class` for a drive shown as `label`.
pub(super) fn volume_information(class: &FileSystemInformationClassLevel, label: &str, serial: u32) -> Option<FileSystemInformationClass> {
    let info = match *class {
        FileSystemInformationClassLevel::FILE_FS_VOLUME_INFORMATION => FileFsVolumeInformation {
            volume_creation_time: 0,
            volume_serial_number: serial,
            supports_objects: Boolean::False,
            // NTFS labels are at most 32 characters.
            volume_label: label.chars().take(32).collect(),
        }
        .into(),
        FileSystemInformationClassLevel::FILE_FS_SIZE_INFORMATION => FileFsSizeInformation {
            total_alloc_units: TOTAL_UNITS,
            available_alloc_units: FREE_UNITS,
            sectors_per_alloc_unit: SECTORS_PER_UNIT,
            bytes_per_sector: BYTES_PER_SECTOR,
        }
        .into(),
        FileSystemInformationClassLevel::FILE_FS_FULL_SIZE_INFORMATION => FileFsFullSizeInformation {
            total_alloc_units: TOTAL_UNITS,
            caller_available_alloc_units: FREE_UNITS,
            actual_available_alloc_units: FREE_UNITS,
            sectors_per_alloc_unit: SECTORS_PER_UNIT,
            bytes_per_sector: BYTES_PER_SECTOR,
        }
        .into(),
        // Case preserved, not case sensitive (names are matched without
        // case here and on most browsers' disks); FAT32 as FreeRDP and
        // Teleport name it, so Windows asks for nothing NTFS-only (ACLs,
        // streams); it also keeps Explorer from copying files over 4 GiB,
        // which 1 MiB browser round trips would not carry well anyway.
        FileSystemInformationClassLevel::FILE_FS_ATTRIBUTE_INFORMATION => FileFsAttributeInformation {
            file_system_attributes: FileSystemAttributes::FILE_CASE_PRESERVED_NAMES | FileSystemAttributes::FILE_UNICODE_ON_DISK,
            max_component_name_len: 255,
            file_system_name: "FAT32".to_owned(),
        }
        .into(),
        FileSystemInformationClassLevel::FILE_FS_DEVICE_INFORMATION => {
            FileFsDeviceInformation { device_type: FILE_DEVICE_DISK, characteristics: Characteristics::FILE_REMOTE_DEVICE }.into()
        }
        _ => return None,
    };
    Some(info)
}

fn message(pdu: RdpdrPdu) -> SvcMessage {
    SvcMessage::from(pdu)
}

/// A create's completion; `file_id` 0 and no information unless it succeeded.
pub(super) fn created(io: DeviceIoRequest, status: NtStatus, file_id: u32, information: Information) -> SvcMessage {
    message(RdpdrPdu::DeviceCreateResponse(DeviceCreateResponse { device_io_reply: DeviceIoResponse::new(io, status), file_id, information }))
}

pub(super) fn information(io: DeviceIoRequest, status: NtStatus, buffer: Option<FileInformationClass>) -> SvcMessage {
    message(RdpdrPdu::ClientDriveQueryInformationResponse(ClientDriveQueryInformationResponse {
        device_io_response: DeviceIoResponse::new(io, status),
        buffer,
    }))
}

pub(super) fn directory(io: DeviceIoRequest, status: NtStatus, buffer: Option<FileInformationClass>) -> SvcMessage {
    message(RdpdrPdu::ClientDriveQueryDirectoryResponse(ClientDriveQueryDirectoryResponse { device_io_reply: DeviceIoResponse::new(io, status), buffer }))
}

pub(super) fn volume(io: DeviceIoRequest, status: NtStatus, buffer: Option<FileSystemInformationClass>) -> SvcMessage {
    message(RdpdrPdu::ClientDriveQueryVolumeInformationResponse(ClientDriveQueryVolumeInformationResponse::new(io, status, buffer)))
}

pub(super) fn read(io: DeviceIoRequest, status: NtStatus, read_data: Vec<u8>) -> SvcMessage {
    message(RdpdrPdu::DeviceReadResponse(DeviceReadResponse { device_io_reply: DeviceIoResponse::new(io, status), read_data }))
}

pub(super) fn written(io: DeviceIoRequest, status: NtStatus, length: u32) -> SvcMessage {
    message(RdpdrPdu::DeviceWriteResponse(DeviceWriteResponse { device_io_reply: DeviceIoResponse::new(io, status), length }))
}

pub(super) fn closed(io: DeviceIoRequest, status: NtStatus) -> SvcMessage {
    message(RdpdrPdu::DeviceCloseResponse(DeviceCloseResponse { device_io_response: DeviceIoResponse::new(io, status) }))
}

/// A set-information completion. `None` only if the request's buffer
/// could not be measured, which a decoded request's always can.
pub(super) fn set_information(req: &ServerDriveSetInformationRequest, status: NtStatus) -> Option<SvcMessage> {
    match ClientDriveSetInformationResponse::new(req, status) {
        Ok(response) => Some(message(RdpdrPdu::ClientDriveSetInformationResponse(response))),
        Err(error) => {
            tracing::warn!(%error, "set information completion not encodable");
            None
        }
    }
}

/// `req` completed with `status` and nothing else: the answer to what is
/// refused, not supported, done without the browser, or given up on. `None` for a change
/// notification, which is never completed (as FreeRDP does: nothing on
/// this side can notice a change in the browser's directory, and a
/// completion would make the host ask again at once).
pub(super) fn status_only(req: &ServerDriveIoRequest, status: NtStatus) -> Option<SvcMessage> {
    let pdu = match req {
        ServerDriveIoRequest::ServerCreateDriveRequest(r) => return Some(created(r.device_io_request.clone(), status, 0, Information::empty())),
        ServerDriveIoRequest::ServerDriveQueryInformationRequest(r) => return Some(information(r.device_io_request.clone(), status, None)),
        ServerDriveIoRequest::DeviceCloseRequest(r) => return Some(closed(r.device_io_request.clone(), status)),
        ServerDriveIoRequest::ServerDriveQueryDirectoryRequest(r) => return Some(directory(r.device_io_request.clone(), status, None)),
        ServerDriveIoRequest::ServerDriveNotifyChangeDirectoryRequest(_) => return None,
        ServerDriveIoRequest::ServerDriveQueryVolumeInformationRequest(r) => return Some(volume(r.device_io_request.clone(), status, None)),
        ServerDriveIoRequest::DeviceReadRequest(r) => return Some(read(r.device_io_request.clone(), status, Vec::new())),
        ServerDriveIoRequest::DeviceWriteRequest(r) => return Some(written(r.device_io_request.clone(), status, 0)),
        ServerDriveIoRequest::ServerDriveSetInformationRequest(r) => return set_information(r, status),
        ServerDriveIoRequest::DeviceControlRequest(r) => {
            RdpdrPdu::DeviceControlResponse(DeviceControlResponse::with_raw_output(r.header.clone(), status, Vec::new()))
        }
        ServerDriveIoRequest::DeviceFlushBuffersRequest(r) => {
            RdpdrPdu::DeviceFlushBuffersResponse(DeviceFlushBuffersResponse { device_io_response: DeviceIoResponse::new(r.device_io_request.clone(), status) })
        }
        ServerDriveIoRequest::ServerDriveLockControlRequest(r) => {
            RdpdrPdu::ClientDriveLockControlResponse(ClientDriveLockControlResponse::new(r.device_io_request.clone(), status))
        }
        ServerDriveIoRequest::ServerDriveQuerySecurityRequest(r) => RdpdrPdu::ClientDriveQuerySecurityResponse(ClientDriveQuerySecurityResponse {
            device_io_response: DeviceIoResponse::new(r.device_io_request.clone(), status),
            security_descriptor: None,
        }),
        ServerDriveIoRequest::ServerDriveSetSecurityRequest(r) => match ClientDriveSetSecurityResponse::new(r, status) {
            Ok(response) => RdpdrPdu::ClientDriveSetSecurityResponse(response),
            Err(error) => {
                tracing::warn!(%error, "set security completion not encodable");
                return None;
            }
        },
    };
    Some(message(pdu))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_milliseconds_become_filetime() {
        assert_eq!(filetime(0), UNIX_EPOCH_AS_FILETIME);
        // 2021-01-01T00:00:00Z.
        assert_eq!(filetime(1_609_459_200_000), 132_539_328_000_000_000);
        assert_eq!(filetime(u64::MAX), i64::MAX);
    }

    #[test]
    fn browser_codes_become_statuses() {
        assert_eq!(status_of(0), NtStatus::SUCCESS);
        assert_eq!(status_of(2), NtStatus::NO_SUCH_FILE);
        assert_eq!(status_of(3), NtStatus::OBJECT_NAME_COLLISION);
        assert_eq!(status_of(4), NtStatus::DIRECTORY_NOT_EMPTY);
        assert_eq!(status_of(5), NtStatus::ACCESS_DENIED);
        assert_eq!(status_of(1), NtStatus::UNSUCCESSFUL);
        assert_eq!(status_of(99), NtStatus::UNSUCCESSFUL);
    }
}
