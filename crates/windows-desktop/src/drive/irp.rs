//! Each IRP from the host as the browser's operations: what is asked
//! first, what each answer leads to, and the completion at the end. A
//! [`Step`] is an IRP between two browser round trips; it holds the
//! request, so it can always be completed, with a failure if need be.

use std::collections::VecDeque;
use std::time::Instant;

use ironrdp_rdpdr::pdu::efs::{
    CreateDisposition, CreateOptions, DeviceCloseRequest, DeviceCreateRequest, DeviceReadRequest, DeviceWriteRequest, FileInformationClass,
    FileInformationClassLevel, Information, NtStatus, ServerDriveIoRequest, ServerDriveQueryDirectoryRequest, ServerDriveQueryInformationRequest,
    ServerDriveSetInformationRequest,
};
use ironrdp_svc::SvcMessage;
use oriel_linux_desktop::shared_dir::path::SharedPath;
use oriel_tdpb::limits::{MAX_SHARED_CHUNK, MAX_SHARED_LIST_ENTRIES};
use oriel_tdpb::pb::shared_directory_request::{self as ask, Operation};
use oriel_tdpb::pb::shared_directory_response::Result as Answer;
use oriel_tdpb::pb::{self, FileType};

use super::reply::{self, Entry, Facts};
use super::{DriveBridge, MAX_LISTINGS, OpenFile, Out, path};

/// The most one read returns, in several browser reads of at most 1 MiB.
/// Windows asks for at most its own buffer; a longer read returns this
/// much, which a read may (the caller asks again from where it ended).
pub(super) const MAX_READ_LEN: usize = 4 * MAX_SHARED_CHUNK;

/// An IRP waiting for the browser.
pub(super) enum Step {
    /// A create: first what is at `path`, then maybe emptying or making it.
    Create { req: DeviceCreateRequest, path: SharedPath, phase: CreatePhase },
    /// A file's information, asked fresh (sizes change with writes).
    QueryInformation { req: ServerDriveQueryInformationRequest },
    /// The first call of a directory query: the listing.
    QueryDirectory { req: ServerDriveQueryDirectoryRequest, path: SharedPath, facts: Facts, pattern: path::Pattern },
    /// A read, in pieces of at most 1 MiB: `data` so far, `wanted` in all, `asked` in the piece on its way.
    Read { req: DeviceReadRequest, path: SharedPath, data: Vec<u8>, wanted: usize, asked: usize },
    /// A write, in pieces of at most 1 MiB: `done` so far, `asked` in the piece on its way.
    Write { req: DeviceWriteRequest, path: SharedPath, done: usize, asked: usize },
    /// A new end of file.
    EndOfFile { req: ServerDriveSetInformationRequest },
    /// Delete a directory at close: only if it is empty.
    DeleteDirectory { req: ServerDriveSetInformationRequest },
    /// A rename: first whether something is at `to`.
    RenameCheck { req: ServerDriveSetInformationRequest, from: SharedPath, to: SharedPath, replace: bool },
    /// A rename, asked.
    Rename { req: ServerDriveSetInformationRequest, from: SharedPath, to: SharedPath },
    /// A close that deletes.
    Close { req: DeviceCloseRequest },
}

pub(super) enum CreatePhase {
    /// What is at the path.
    Info,
    /// Emptying the file that is there, for an overwrite or supersede.
    Truncate { facts: Facts, information: Information },
    /// Making the file or directory.
    Make,
}

impl Step {
    /// The IRP's completion with `status`. A read or write that got part
    /// of the way returns that part instead, as a short read or write.
    pub(super) fn fail(self, status: NtStatus) -> Option<SvcMessage> {
        let message = match self {
            Step::Create { req, .. } => reply::created(req.device_io_request, status, 0, Information::empty()),
            Step::QueryInformation { req } => reply::information(req.device_io_request, status, None),
            Step::QueryDirectory { req, .. } => reply::directory(req.device_io_request, status, None),
            Step::Read { req, data, .. } if !data.is_empty() => reply::read(req.device_io_request, NtStatus::SUCCESS, data),
            Step::Read { req, .. } => reply::read(req.device_io_request, status, Vec::new()),
            Step::Write { req, done, .. } if done > 0 => reply::written(req.device_io_request, NtStatus::SUCCESS, len_u32(done)),
            Step::Write { req, .. } => reply::written(req.device_io_request, status, 0),
            Step::EndOfFile { req } | Step::DeleteDirectory { req } | Step::RenameCheck { req, .. } | Step::Rename { req, .. } => {
                return reply::set_information(&req, status);
            }
            Step::Close { req } => reply::closed(req.device_io_request, status),
        };
        Some(message)
    }
}

/// A length that came from a `u32` (reads and writes are at most 4 GiB).
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// The object of an `Info` answer, or the failure it means.
fn info(response: &pb::SharedDirectoryResponse) -> Result<Facts, NtStatus> {
    ok(response)?;
    match &response.result {
        Some(Answer::Info(pb::shared_directory_response::Info { fso: Some(fso) })) => Ok(Facts::of(fso)),
        other => Err(wrong(other)),
    }
}

/// Whether the browser said it did it.
fn ok(response: &pb::SharedDirectoryResponse) -> Result<(), NtStatus> {
    match reply::status_of(response.error_code) {
        NtStatus::SUCCESS => Ok(()),
        status => Err(status),
    }
}

/// An answer of another kind than the request (or without what it must
/// carry): the browser is confused, the IRP fails.
fn wrong(answer: &Option<Answer>) -> NtStatus {
    tracing::warn!(?answer, "shared directory answer of the wrong kind");
    NtStatus::UNSUCCESSFUL
}

fn info_of(path: &SharedPath) -> Operation {
    Operation::Info(ask::Info { path: path.as_str().to_owned() })
}

fn truncate(path: &SharedPath, end_of_file: u64) -> Operation {
    Operation::Truncate(ask::Truncate { path: path.as_str().to_owned(), end_of_file })
}

impl DriveBridge {
    /// An IRP from the host.
    pub(super) fn irp(&mut self, req: ServerDriveIoRequest, now: Instant, out: &mut Out) {
        let Some(drive) = self.drives.get(&device_id(&req)) else {
            tracing::debug!(?req, "IRP for a drive not shared");
            out.host(reply::status_only(&req, reply::no_such_device()));
            return;
        };
        match req {
            ServerDriveIoRequest::ServerCreateDriveRequest(req) => self.create(req, now, out),
            ServerDriveIoRequest::ServerDriveQueryInformationRequest(req) => self.query_information(req, now, out),
            ServerDriveIoRequest::DeviceCloseRequest(req) => self.close(req, now, out),
            ServerDriveIoRequest::ServerDriveQueryDirectoryRequest(req) => self.query_directory(req, now, out),
            ServerDriveIoRequest::ServerDriveQueryVolumeInformationRequest(req) => {
                let io = req.device_io_request;
                let message = match reply::volume_information(&req.fs_info_class_lvl, &drive.name, io.device_id) {
                    Some(info) => reply::volume(io, NtStatus::SUCCESS, Some(info)),
                    None => reply::volume(io, NtStatus::NOT_SUPPORTED, None),
                };
                out.host(Some(message));
            }
            ServerDriveIoRequest::DeviceReadRequest(req) => self.read(req, now, out),
            ServerDriveIoRequest::DeviceWriteRequest(req) => self.write(req, now, out),
            ServerDriveIoRequest::ServerDriveSetInformationRequest(req) => self.set_information(req, now, out),
            // Nothing is cached here, and the browser locks nothing: both succeed as no-ops.
            req @ (ServerDriveIoRequest::DeviceFlushBuffersRequest(_) | ServerDriveIoRequest::ServerDriveLockControlRequest(_)) => {
                out.host(reply::status_only(&req, NtStatus::SUCCESS));
            }
            // Never completed (see `reply::status_only`).
            ServerDriveIoRequest::ServerDriveNotifyChangeDirectoryRequest(_) => {}
            // File system controls (reparse points, sparse files…) mean nothing to a browser's directory.
            req @ ServerDriveIoRequest::DeviceControlRequest(_) => out.host(reply::status_only(&req, NtStatus::INVALID_DEVICE_REQUEST)),
            // Drive security is not offered (the capability is off); a host that asks anyway is refused.
            req @ (ServerDriveIoRequest::ServerDriveQuerySecurityRequest(_) | ServerDriveIoRequest::ServerDriveSetSecurityRequest(_)) => {
                out.host(reply::status_only(&req, NtStatus::NOT_SUPPORTED));
            }
        }
    }

    /// The browser's answer for `step`.
    pub(super) fn answer(&mut self, device_id: u32, step: Step, response: pb::SharedDirectoryResponse, now: Instant, out: &mut Out) {
        match step {
            Step::Create { req, path, phase } => self.create_answer(device_id, req, path, phase, &response, now, out),
            Step::QueryInformation { req } => {
                let io = req.device_io_request;
                match info(&response) {
                    Ok(facts) => {
                        let delete_pending = self.file_mut(device_id, io.file_id).is_some_and(|file| {
                            file.facts = facts.clone();
                            file.delete_on_close
                        });
                        let buffer = reply::file_information(&req.file_info_class_lvl, &facts, delete_pending);
                        out.host(Some(reply::information(io, NtStatus::SUCCESS, buffer)));
                    }
                    Err(status) => out.host(Some(reply::information(io, status, None))),
                }
            }
            Step::QueryDirectory { req, path, facts, pattern } => self.listed(device_id, req, &path, facts, &pattern, &response, out),
            Step::Read { req, path, mut data, wanted, asked } => {
                let got = match (ok(&response), response.result) {
                    (Err(status), _) => return out.host(Step::Read { req, path, data, wanted, asked }.fail(status)),
                    (Ok(()), Some(Answer::Read(read))) if read.data.len() <= asked => read.data,
                    (Ok(()), other) => return out.host(Step::Read { req, path, data: Vec::new(), wanted, asked }.fail(wrong(&other))),
                };
                let short = got.len() < asked;
                data.extend_from_slice(&got);
                if short || data.len() >= wanted {
                    return out.host(Some(reply::read(req.device_io_request, NtStatus::SUCCESS, data)));
                }
                let asked = (wanted - data.len()).min(MAX_SHARED_CHUNK);
                let operation = Operation::Read(ask::Read { path: path.as_str().to_owned(), offset: req.offset + data.len() as u64, length: len_u32(asked) });
                self.ask(device_id, operation, Step::Read { req, path, data, wanted, asked }, now, out);
            }
            Step::Write { req, path, mut done, asked } => {
                let written = match (ok(&response), &response.result) {
                    (Err(status), _) => return out.host(Step::Write { req, path, done, asked }.fail(status)),
                    (Ok(()), Some(Answer::Write(w))) if (w.bytes_written as usize) <= asked => w.bytes_written as usize,
                    // What was written before stands: the host gets a short write.
                    (Ok(()), other) => return out.host(Step::Write { req, path, done, asked }.fail(wrong(other))),
                };
                done += written;
                if written < asked || done >= req.write_data.len() {
                    return out.host(Some(reply::written(req.device_io_request, NtStatus::SUCCESS, len_u32(done))));
                }
                self.write_piece(device_id, req, path, done, now, out);
            }
            Step::EndOfFile { req } => {
                let status = match (ok(&response), &response.result) {
                    (Err(status), _) => status,
                    (Ok(()), None | Some(Answer::Truncate(_))) => NtStatus::SUCCESS,
                    (Ok(()), other) => wrong(other),
                };
                out.host(reply::set_information(&req, status));
            }
            Step::DeleteDirectory { req } => {
                let status = match (ok(&response), &response.result) {
                    (Err(status), _) => status,
                    (Ok(()), Some(Answer::Info(pb::shared_directory_response::Info { fso: Some(fso) }))) if fso.is_empty => {
                        match self.file_mut(device_id, req.device_io_request.file_id) {
                            Some(file) => {
                                file.delete_on_close = true;
                                NtStatus::SUCCESS
                            }
                            None => NtStatus::INVALID_HANDLE,
                        }
                    }
                    (Ok(()), Some(Answer::Info(pb::shared_directory_response::Info { fso: Some(_) }))) => NtStatus::DIRECTORY_NOT_EMPTY,
                    (Ok(()), other) => wrong(other),
                };
                out.host(reply::set_information(&req, status));
            }
            Step::RenameCheck { req, from, to, replace } => match info(&response) {
                // Windows never replaces a directory; a file only when asked to.
                Ok(there) if there.is_dir => out.host(reply::set_information(&req, NtStatus::ACCESS_DENIED)),
                Ok(_) if !replace => out.host(reply::set_information(&req, NtStatus::OBJECT_NAME_COLLISION)),
                Ok(_) | Err(NtStatus::NO_SUCH_FILE) => {
                    let operation = Operation::Move(ask::Move { original_path: from.as_str().to_owned(), new_path: to.as_str().to_owned() });
                    self.ask(device_id, operation, Step::Rename { req, from, to }, now, out);
                }
                Err(status) => out.host(reply::set_information(&req, status)),
            },
            Step::Rename { req, from, to } => {
                let status = match (ok(&response), &response.result) {
                    (Err(NtStatus::NO_SUCH_FILE), _) => NtStatus::OBJECT_PATH_NOT_FOUND,
                    (Err(status), _) => status,
                    (Ok(()), None | Some(Answer::Move(_))) => {
                        // Every open file at or under the old path follows it.
                        for file in self.files.values_mut().filter(|file| file.device_id == device_id) {
                            if let Some(moved) = file.path.rebase(&from, &to) {
                                file.path = moved;
                            }
                        }
                        NtStatus::SUCCESS
                    }
                    (Ok(()), other) => wrong(other),
                };
                out.host(reply::set_information(&req, status));
            }
            Step::Close { req } => {
                let status = match (ok(&response), &response.result) {
                    (Err(status), _) => status,
                    (Ok(()), None | Some(Answer::Delete(_))) => NtStatus::SUCCESS,
                    (Ok(()), other) => wrong(other),
                };
                out.host(Some(reply::closed(req.device_io_request, status)));
            }
        }
    }

    fn create(&mut self, req: DeviceCreateRequest, now: Instant, out: &mut Out) {
        let path = match path::from_host(&req.path) {
            Ok(path) => path,
            Err(status) => {
                tracing::debug!(path = %req.path.escape_debug(), ?status, "create refused");
                return out.host(Step::Create { req, path: SharedPath::root(), phase: CreatePhase::Info }.fail(status));
            }
        };
        let options = &req.create_options;
        let directory = options.contains(CreateOptions::FILE_DIRECTORY_FILE);
        let disposition = req.create_disposition;
        let truncates = matches!(disposition, CreateDisposition::FILE_OVERWRITE | CreateDisposition::FILE_OVERWRITE_IF | CreateDisposition::FILE_SUPERSEDE);
        let known = truncates || matches!(disposition, CreateDisposition::FILE_OPEN | CreateDisposition::FILE_CREATE | CreateDisposition::FILE_OPEN_IF);
        let status = if !known || (directory && options.contains(CreateOptions::FILE_NON_DIRECTORY_FILE)) || (directory && truncates) {
            Some(NtStatus::INVALID_PARAMETER)
        } else if self.files.len() >= super::MAX_OPEN_FILES {
            Some(NtStatus::INSUFFICIENT_RESOURCES)
        } else {
            None
        };
        if let Some(status) = status {
            return out.host(Step::Create { req, path, phase: CreatePhase::Info }.fail(status));
        }
        if disposition == CreateDisposition::FILE_CREATE {
            // Only a new file will do: the browser's Create refuses an existing one.
            let operation = make(&path, directory);
            return self.ask(req.device_io_request.device_id, operation, Step::Create { req, path, phase: CreatePhase::Make }, now, out);
        }
        let operation = info_of(&path);
        self.ask(req.device_io_request.device_id, operation, Step::Create { req, path, phase: CreatePhase::Info }, now, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn create_answer(
        &mut self,
        device_id: u32,
        req: DeviceCreateRequest,
        path: SharedPath,
        phase: CreatePhase,
        response: &pb::SharedDirectoryResponse,
        now: Instant,
        out: &mut Out,
    ) {
        let options = req.create_options.clone();
        let directory = options.contains(CreateOptions::FILE_DIRECTORY_FILE);
        let disposition = req.create_disposition;
        let fail = |req, path, status| Step::Create { req, path, phase: CreatePhase::Info }.fail(status);
        match phase {
            CreatePhase::Info => match info(response) {
                Ok(facts) => {
                    let status = if directory && !facts.is_dir {
                        NtStatus::NOT_A_DIRECTORY
                    } else if !facts.is_dir || !options.contains(CreateOptions::FILE_NON_DIRECTORY_FILE) {
                        NtStatus::SUCCESS
                    } else {
                        NtStatus::FILE_IS_A_DIRECTORY
                    };
                    if status != NtStatus::SUCCESS {
                        return out.host(fail(req, path, status));
                    }
                    let information = match disposition {
                        CreateDisposition::FILE_OPEN | CreateDisposition::FILE_OPEN_IF => return self.opened(req, path, facts, Information::FILE_OPENED, out),
                        CreateDisposition::FILE_SUPERSEDE => Information::FILE_SUPERSEDED,
                        CreateDisposition::FILE_OVERWRITE | CreateDisposition::FILE_OVERWRITE_IF => Information::FILE_OVERWRITTEN,
                        _ => return out.host(fail(req, path, NtStatus::OBJECT_NAME_COLLISION)),
                    };
                    if facts.is_dir {
                        return out.host(fail(req, path, NtStatus::FILE_IS_A_DIRECTORY));
                    }
                    // Superseding a file is emptying it here: the browser has no "replace".
                    let operation = truncate(&path, 0);
                    self.ask(device_id, operation, Step::Create { req, path, phase: CreatePhase::Truncate { facts, information } }, now, out);
                }
                Err(NtStatus::NO_SUCH_FILE) if !matches!(disposition, CreateDisposition::FILE_OPEN | CreateDisposition::FILE_OVERWRITE) => {
                    let operation = make(&path, directory);
                    self.ask(device_id, operation, Step::Create { req, path, phase: CreatePhase::Make }, now, out);
                }
                Err(status) => out.host(fail(req, path, status)),
            },
            CreatePhase::Truncate { mut facts, information } => match (ok(response), &response.result) {
                (Ok(()), None | Some(Answer::Truncate(_))) => {
                    facts.size = 0;
                    self.opened(req, path, facts, information, out);
                }
                (Ok(()), other) => out.host(fail(req, path, wrong(other))),
                (Err(status), _) => out.host(fail(req, path, status)),
            },
            CreatePhase::Make => match (ok(response), &response.result) {
                (Ok(()), Some(Answer::Create(pb::shared_directory_response::Create { fso: Some(fso) }))) => {
                    self.opened(req, path, Facts::of(fso), Information::FILE_CREATED, out)
                }
                // Made, without a word on it: what was asked for, empty.
                (Ok(()), None | Some(Answer::Create(_))) => {
                    self.opened(req, path, Facts { is_dir: directory, size: 0, modified: reply::filetime(0) }, Information::FILE_CREATED, out)
                }
                (Ok(()), other) => out.host(fail(req, path, wrong(other))),
                // The directory to make it in is missing.
                (Err(NtStatus::NO_SUCH_FILE), _) => out.host(fail(req, path, NtStatus::OBJECT_PATH_NOT_FOUND)),
                (Err(status), _) => out.host(fail(req, path, status)),
            },
        }
    }

    /// A create that succeeded: a new file id for it.
    fn opened(&mut self, req: DeviceCreateRequest, path: SharedPath, facts: Facts, information: Information, out: &mut Out) {
        let delete_on_close = req.create_options.contains(CreateOptions::FILE_DELETE_ON_CLOSE) && path != SharedPath::root();
        let file = OpenFile { device_id: req.device_io_request.device_id, path, facts, delete_on_close, listing: None };
        match self.open(file) {
            Some(file_id) => out.host(Some(reply::created(req.device_io_request, NtStatus::SUCCESS, file_id, information))),
            None => out.host(Some(reply::created(req.device_io_request, NtStatus::INSUFFICIENT_RESOURCES, 0, Information::empty()))),
        }
    }

    fn query_information(&mut self, req: ServerDriveQueryInformationRequest, now: Instant, out: &mut Out) {
        let io = &req.device_io_request;
        let Some(file) = self.file(io.device_id, io.file_id) else {
            return out.host(Some(reply::information(req.device_io_request, NtStatus::INVALID_HANDLE, None)));
        };
        // Only these are answered; the host makes do without the others.
        let answered = [
            FileInformationClassLevel::FILE_BASIC_INFORMATION,
            FileInformationClassLevel::FILE_STANDARD_INFORMATION,
            FileInformationClassLevel::FILE_ATTRIBUTE_TAG_INFORMATION,
        ];
        if !answered.contains(&req.file_info_class_lvl) {
            return out.host(Some(reply::information(req.device_io_request, NtStatus::NOT_SUPPORTED, None)));
        }
        let operation = info_of(&file.path);
        self.ask(io.device_id, operation, Step::QueryInformation { req }, now, out);
    }

    fn query_directory(&mut self, req: ServerDriveQueryDirectoryRequest, now: Instant, out: &mut Out) {
        let io = req.device_io_request.clone();
        let Some(file) = self.file_mut(io.device_id, io.file_id) else {
            return out.host(Some(reply::directory(io, NtStatus::INVALID_HANDLE, None)));
        };
        if !file.facts.is_dir {
            return out.host(Some(reply::directory(io, NtStatus::INVALID_PARAMETER, None)));
        }
        if req.initial_query == 0 {
            // The next entry of the listing the first call took.
            let entry = file.listing.as_mut().and_then(VecDeque::pop_front);
            let message = match entry {
                Some(entry) => reply::directory(io, NtStatus::SUCCESS, reply::directory_entry(&req.file_info_class_lvl, &entry)),
                None => reply::directory(io, NtStatus::NO_MORE_FILES, None),
            };
            return out.host(Some(message));
        }
        // A new enumeration starts over.
        let dropped = file.listing.take().is_some();
        let (path, facts) = (file.path.clone(), file.facts.clone());
        if dropped {
            self.listings -= 1;
        }
        let pattern = match path::Pattern::of(&req.path) {
            Ok(pattern) => pattern,
            Err(status) => return out.host(Some(reply::directory(io, status, None))),
        };
        let operation = Operation::List(ask::List { path: path.as_str().to_owned() });
        self.ask(io.device_id, operation, Step::QueryDirectory { req, path, facts, pattern }, now, out);
    }

    /// The listing for a directory query's first call: its first entry is
    /// the answer, the rest wait for the next calls.
    #[allow(clippy::too_many_arguments)]
    fn listed(
        &mut self,
        device_id: u32,
        req: ServerDriveQueryDirectoryRequest,
        path: &SharedPath,
        facts: Facts,
        pattern: &path::Pattern,
        response: &pb::SharedDirectoryResponse,
        out: &mut Out,
    ) {
        let io = req.device_io_request.clone();
        let list = match (ok(response), &response.result) {
            (Err(status), _) => return out.host(Some(reply::directory(io, status, None))),
            (Ok(()), None) => &[][..],
            (Ok(()), Some(Answer::List(list))) => &list.fso_list[..],
            (Ok(()), other) => return out.host(Some(reply::directory(io, wrong(other), None))),
        };
        // Windows lists "." and ".." in every directory but a drive's root.
        let dots = if *path == SharedPath::root() { Vec::new() } else { vec![".", ".."] };
        let mut entries: VecDeque<Entry> =
            dots.into_iter().map(|name| Entry { name: name.to_owned(), facts: facts.clone() }).filter(|entry| pattern.matches(&entry.name)).collect();
        for fso in list.iter().take(MAX_SHARED_LIST_ENTRIES) {
            // Only direct children with names Windows can use; anything
            // else the browser says is skipped, never followed.
            let child = match SharedPath::parse(&fso.path) {
                Ok(child) if child.parent().as_ref() == Some(path) && path::is_windows_name(child.file_name()) => child,
                _ => {
                    tracing::debug!(path = %path, entry = %fso.path.escape_debug(), "listing entry skipped");
                    continue;
                }
            };
            if pattern.matches(child.file_name()) {
                entries.push_back(Entry { name: child.file_name().to_owned(), facts: Facts::of(fso) });
            }
        }
        let Some(first) = entries.pop_front() else {
            // Nothing matches at all: what Windows says on a first call.
            return out.host(Some(reply::directory(io, NtStatus::NO_SUCH_FILE, None)));
        };
        let buffer = reply::directory_entry(&req.file_info_class_lvl, &first);
        let status = if buffer.is_some() { NtStatus::SUCCESS } else { NtStatus::INVALID_PARAMETER };
        // The rest is kept for the next calls, unless the handle is gone
        // or too many listings are kept (then the enumeration ends early).
        let room = self.listings < MAX_LISTINGS;
        let kept = match self.file_mut(device_id, io.file_id) {
            // Counted once, though two first calls may race on one handle.
            Some(file) if room => file.listing.replace(entries).is_none(),
            Some(_) => {
                tracing::warn!(listings = MAX_LISTINGS, "too many directory listings held; one ends early");
                false
            }
            None => false,
        };
        if kept {
            self.listings += 1;
        }
        out.host(Some(reply::directory(io, status, buffer)));
    }

    fn read(&mut self, req: DeviceReadRequest, now: Instant, out: &mut Out) {
        let io = &req.device_io_request;
        let status = match self.file(io.device_id, io.file_id) {
            None => Err(NtStatus::INVALID_HANDLE),
            Some(file) if file.facts.is_dir => Err(NtStatus::INVALID_DEVICE_REQUEST),
            Some(_) if req.offset.checked_add(u64::from(req.length)).is_none() => Err(NtStatus::INVALID_PARAMETER),
            Some(file) => Ok(file.path.clone()),
        };
        let path = match status {
            Ok(path) => path,
            Err(status) => return out.host(Some(reply::read(req.device_io_request, status, Vec::new()))),
        };
        let wanted = (req.length as usize).min(MAX_READ_LEN);
        if wanted == 0 {
            return out.host(Some(reply::read(req.device_io_request, NtStatus::SUCCESS, Vec::new())));
        }
        let asked = wanted.min(MAX_SHARED_CHUNK);
        let operation = Operation::Read(ask::Read { path: path.as_str().to_owned(), offset: req.offset, length: len_u32(asked) });
        let device_id = io.device_id;
        self.ask(device_id, operation, Step::Read { req, path, data: Vec::new(), wanted, asked }, now, out);
    }

    fn write(&mut self, req: DeviceWriteRequest, now: Instant, out: &mut Out) {
        let io = &req.device_io_request;
        let status = match self.file(io.device_id, io.file_id) {
            None => Err(NtStatus::INVALID_HANDLE),
            Some(file) if file.facts.is_dir => Err(NtStatus::INVALID_DEVICE_REQUEST),
            Some(_) if req.offset.checked_add(req.write_data.len() as u64).is_none() => Err(NtStatus::INVALID_PARAMETER),
            Some(file) => Ok(file.path.clone()),
        };
        let path = match status {
            Ok(path) => path,
            Err(status) => return out.host(Some(reply::written(req.device_io_request, status, 0))),
        };
        if req.write_data.is_empty() {
            return out.host(Some(reply::written(req.device_io_request, NtStatus::SUCCESS, 0)));
        }
        let device_id = io.device_id;
        self.write_piece(device_id, req, path, 0, now, out);
    }

    /// Sends the next piece of a write, from `done` bytes in.
    fn write_piece(&mut self, device_id: u32, req: DeviceWriteRequest, path: SharedPath, done: usize, now: Instant, out: &mut Out) {
        let end = req.write_data.len().min(done + MAX_SHARED_CHUNK);
        let data = req.write_data.get(done..end).unwrap_or_default().to_vec();
        let asked = data.len();
        let operation = Operation::Write(ask::Write { path: path.as_str().to_owned(), offset: req.offset + done as u64, data });
        self.ask(device_id, operation, Step::Write { req, path, done, asked }, now, out);
    }

    fn set_information(&mut self, req: ServerDriveSetInformationRequest, now: Instant, out: &mut Out) {
        let io = &req.device_io_request;
        let device_id = io.device_id;
        let Some(file) = self.file_mut(device_id, io.file_id) else {
            return out.host(reply::set_information(&req, NtStatus::INVALID_HANDLE));
        };
        let status = match &req.set_buffer {
            FileInformationClass::EndOfFile(eof) => match u64::try_from(eof.end_of_file) {
                Ok(_) if file.facts.is_dir => NtStatus::INVALID_PARAMETER,
                Ok(end_of_file) => {
                    let operation = truncate(&file.path, end_of_file);
                    return self.ask(device_id, operation, Step::EndOfFile { req }, now, out);
                }
                Err(_) => NtStatus::INVALID_PARAMETER,
            },
            // Times, attributes and preallocation: the browser keeps none.
            FileInformationClass::Basic(_) | FileInformationClass::Allocation(_) => NtStatus::SUCCESS,
            FileInformationClass::Disposition(disposition) if disposition.delete_pending == 0 => {
                file.delete_on_close = false;
                NtStatus::SUCCESS
            }
            FileInformationClass::Disposition(_) if file.path == SharedPath::root() => NtStatus::ACCESS_DENIED,
            FileInformationClass::Disposition(_) if file.facts.is_dir => {
                // A directory may only be marked while empty (the browser would refuse at close).
                let operation = info_of(&file.path);
                return self.ask(device_id, operation, Step::DeleteDirectory { req }, now, out);
            }
            FileInformationClass::Disposition(_) => {
                file.delete_on_close = true;
                NtStatus::SUCCESS
            }
            FileInformationClass::Rename(rename) => {
                let from = file.path.clone();
                match path::from_host(&rename.file_name) {
                    Err(status) => status,
                    Ok(to) if from == SharedPath::root() || to == SharedPath::root() => NtStatus::ACCESS_DENIED,
                    Ok(to) if to == from => NtStatus::SUCCESS,
                    // The drive is case-insensitive to Windows, and the
                    // browser's disk may be too: there the "existing
                    // target" would be the file itself, and replacing it
                    // would delete it. A case-only rename is refused.
                    Ok(to) if same_name(&to, &from) => NtStatus::ACCESS_DENIED,
                    // A directory into itself.
                    Ok(to) if to.is_within(&from) => NtStatus::INVALID_PARAMETER,
                    Ok(to) => {
                        let replace = rename.replace_if_exists == ironrdp_rdpdr::pdu::efs::Boolean::True;
                        let operation = info_of(&to);
                        return self.ask(device_id, operation, Step::RenameCheck { req, from, to, replace }, now, out);
                    }
                }
            }
            _ => NtStatus::NOT_SUPPORTED,
        };
        out.host(reply::set_information(&req, status));
    }

    fn close(&mut self, req: DeviceCloseRequest, now: Instant, out: &mut Out) {
        let io = &req.device_io_request;
        let device_id = io.device_id;
        if self.file(device_id, io.file_id).is_none() {
            return out.host(Some(reply::closed(req.device_io_request, NtStatus::INVALID_HANDLE)));
        }
        let Some(file) = self.files.remove(&io.file_id) else { return };
        if file.listing.is_some() {
            self.listings -= 1;
        }
        if !file.delete_on_close {
            return out.host(Some(reply::closed(req.device_io_request, NtStatus::SUCCESS)));
        }
        // Windows deletes at the last close: another open of the same file inherits the deletion.
        if let Some(other) = self.files.values_mut().find(|other| other.device_id == device_id && same_name(&other.path, &file.path)) {
            other.delete_on_close = true;
            return out.host(Some(reply::closed(req.device_io_request, NtStatus::SUCCESS)));
        }
        let operation = Operation::Delete(ask::Delete { path: file.path.as_str().to_owned() });
        self.ask(device_id, operation, Step::Close { req }, now, out);
    }
}

/// The browser's Create for a new file, or a directory.
fn make(path: &SharedPath, directory: bool) -> Operation {
    let file_type = if directory { FileType::Directory } else { FileType::File };
    Operation::Create(ask::Create { path: path.as_str().to_owned(), file_type: file_type as i32 })
}

/// The drive an IRP is for.
fn device_id(req: &ServerDriveIoRequest) -> u32 {
    match req {
        ServerDriveIoRequest::ServerCreateDriveRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::ServerDriveQueryInformationRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::DeviceCloseRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::ServerDriveQueryDirectoryRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::ServerDriveNotifyChangeDirectoryRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::ServerDriveQueryVolumeInformationRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::DeviceControlRequest(r) => r.header.device_id,
        ServerDriveIoRequest::DeviceReadRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::DeviceWriteRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::DeviceFlushBuffersRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::ServerDriveSetInformationRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::ServerDriveLockControlRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::ServerDriveQuerySecurityRequest(r) => r.device_io_request.device_id,
        ServerDriveIoRequest::ServerDriveSetSecurityRequest(r) => r.device_io_request.device_id,
    }
}

/// Whether two paths name the same file to Windows, which compares names
/// without regard to case.
fn same_name(a: &SharedPath, b: &SharedPath) -> bool {
    a.as_str().to_lowercase() == b.as_str().to_lowercase()
}
