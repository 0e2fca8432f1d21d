//! A shared directory's audit events, from the TDPB messages the daemon
//! relays, sans-IO: `desktop.directory.share` when the desktop answers an
//! announce, and `desktop.directory.read` / `.write` when the browser
//! answers a read or a write. Reads and writes of one file that follow on
//! from each other (each starting where the last ended) are merged into one
//! event, as Teleport's compactor merges them over a few seconds, so a
//! large copy is a handful of events, not one per MiB. A run is written
//! once it has been quiet for [`QUIET`], once it is [`LONGEST`] old, when
//! [`MAX_RUNS`] are open (the oldest first), and at the session's end.
//!
//! The inputs are the browser's and the session process's words: every
//! table here is bounded, and a response to no known request is ignored.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use oriel_tdpb::pb;
use oriel_tdpb::pb::shared_directory_request::Operation;
use oriel_tdpb::pb::shared_directory_response::Result as Answer;

/// A run is written after this long without a read or write that extends it.
pub const QUIET: Duration = Duration::from_secs(3);
/// A run is written once it is this old, however busy.
pub const LONGEST: Duration = Duration::from_secs(30);
/// At most this many runs are open; past it the oldest is written.
pub const MAX_RUNS: usize = 256;
/// At most this many requests are awaited (the session process has at most
/// a few dozen in flight; the rest would be a broken or hostile peer).
const MAX_PENDING: usize = 4096;
/// At most this many directories are remembered (the service caps shares).
const MAX_DIRECTORIES: usize = 1024;

/// Read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// The desktop read from the browser's directory.
    Read,
    /// The desktop wrote to it.
    Write,
}

/// What an event says, for the caller to turn into an audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryEvent {
    /// A directory was shared (or refused, with the error code's name).
    Share {
        /// The browser's id for it.
        directory_id: u32,
        /// Its name.
        directory_name: String,
        /// `None` when shared; the refusal otherwise.
        error: Option<String>,
    },
    /// Reads or writes of one file, merged.
    Access {
        /// Read or write.
        access: Access,
        /// The browser's id for the directory.
        directory_id: u32,
        /// Its name, if it was announced.
        directory_name: String,
        /// The file, relative to the directory.
        path: String,
        /// Where the first of them started.
        offset: u64,
        /// Bytes read or written in all.
        length: u64,
        /// How many operations were merged.
        operations: u64,
        /// `None` when they succeeded; the failure otherwise.
        error: Option<String>,
        /// When the first of them was answered: the event's time, though
        /// it is written when the run ends.
        started: Instant,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct RunKey {
    access: Access,
    directory_id: u32,
    path: String,
    failed: Option<String>,
}

#[derive(Debug, Clone)]
struct Run {
    offset: u64,
    end: u64,
    operations: u64,
    started: Instant,
    last: Instant,
}

#[derive(Debug, Clone)]
struct Pending {
    access: Access,
    directory_id: u32,
    path: String,
    offset: u64,
}

/// One session's shared directories, as the audit log sees them.
#[derive(Debug, Default)]
pub struct DirectoryAudit {
    /// Announced names, by directory id (until acknowledged, and after).
    names: HashMap<u32, String>,
    /// Reads and writes awaiting their answer, by completion id.
    pending: HashMap<u32, Pending>,
    /// Runs being merged.
    runs: BTreeMap<RunKey, Run>,
}

impl DirectoryAudit {
    /// The browser announced a directory.
    pub fn announced(&mut self, announce: &pb::SharedDirectoryAnnounce) {
        if self.names.len() < MAX_DIRECTORIES || self.names.contains_key(&announce.directory_id) {
            self.names.insert(announce.directory_id, announce.name.clone());
        }
    }

    /// The desktop answered an announce: the share event.
    pub fn acknowledged(&mut self, acknowledge: &pb::SharedDirectoryAcknowledge) -> Option<DirectoryEvent> {
        let name = self.names.get(&acknowledge.directory_id)?.clone();
        Some(DirectoryEvent::Share { directory_id: acknowledge.directory_id, directory_name: name, error: failure(acknowledge.error_code) })
    }

    /// The desktop asked the browser for something: reads and writes are
    /// remembered until their answer.
    pub fn requested(&mut self, request: &pb::SharedDirectoryRequest) {
        let (access, path, offset) = match &request.operation {
            Some(Operation::Read(read)) => (Access::Read, &read.path, read.offset),
            Some(Operation::Write(write)) => (Access::Write, &write.path, write.offset),
            _ => return,
        };
        if self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&request.completion_id) {
            return;
        }
        let pending = Pending { access, directory_id: request.directory_id, path: path.clone(), offset };
        self.pending.insert(request.completion_id, pending);
    }

    /// The browser answered a request at `now`: the read or write joins a
    /// run; what had to be written out because of it is returned.
    pub fn answered(&mut self, response: &pb::SharedDirectoryResponse, now: Instant) -> Vec<DirectoryEvent> {
        let Some(pending) = self.pending.remove(&response.completion_id) else { return Vec::new() };
        let failed = failure(response.error_code);
        let length = match (&response.result, failed.is_none()) {
            (Some(Answer::Read(read)), true) => read.data.len() as u64,
            (Some(Answer::Write(write)), true) => u64::from(write.bytes_written),
            _ => 0,
        };
        let key = RunKey { access: pending.access, directory_id: pending.directory_id, path: pending.path, failed };
        let mut out = Vec::new();
        if let Some(run) = self.runs.get_mut(&key) {
            if run.end == pending.offset && now.duration_since(run.started) < LONGEST {
                run.end += length;
                run.operations += 1;
                run.last = now;
                return out;
            }
            // Not where the run ended (a seek, a second pass): the run is done.
            let run = self.runs.remove(&key).expect("just found");
            out.push(self.event(&key, &run));
        }
        if self.runs.len() >= MAX_RUNS
            && let Some(oldest) = self.runs.iter().min_by_key(|(_, run)| run.started).map(|(key, _)| key.clone())
        {
            let run = self.runs.remove(&oldest).expect("just found");
            out.push(self.event(&oldest, &run));
        }
        self.runs.insert(key, Run { offset: pending.offset, end: pending.offset + length, operations: 1, started: now, last: now });
        out
    }

    /// The runs that are done at `now`: quiet, or old enough.
    pub fn tick(&mut self, now: Instant) -> Vec<DirectoryEvent> {
        let done: Vec<RunKey> = self
            .runs
            .iter()
            .filter(|(_, run)| now.duration_since(run.last) >= QUIET || now.duration_since(run.started) >= LONGEST)
            .map(|(key, _)| key.clone())
            .collect();
        done.into_iter().filter_map(|key| self.runs.remove(&key).map(|run| self.event(&key, &run))).collect()
    }

    /// The session ended: every run.
    pub fn finish(&mut self) -> Vec<DirectoryEvent> {
        std::mem::take(&mut self.runs).into_iter().map(|(key, run)| self.event(&key, &run)).collect()
    }

    fn event(&self, key: &RunKey, run: &Run) -> DirectoryEvent {
        DirectoryEvent::Access {
            access: key.access,
            directory_id: key.directory_id,
            directory_name: self.names.get(&key.directory_id).cloned().unwrap_or_default(),
            path: key.path.clone(),
            offset: run.offset,
            length: run.end - run.offset,
            operations: run.operations,
            error: key.failed.clone(),
            started: run.started,
        }
    }
}

/// The error code's name, unless it is NONE.
fn failure(code: i32) -> Option<String> {
    match pb::SharedDirectoryErrorCode::try_from(code) {
        Ok(pb::SharedDirectoryErrorCode::None) => None,
        Ok(other) => Some(other.as_str_name().to_owned()),
        Err(_) => Some(format!("error code {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u32 = 1 << 20;

    fn read(completion_id: u32, path: &str, offset: u64) -> pb::SharedDirectoryRequest {
        let read = pb::shared_directory_request::Read { path: path.into(), offset, length: MIB };
        pb::SharedDirectoryRequest { directory_id: 7, completion_id, operation: Some(Operation::Read(read)) }
    }

    fn data(completion_id: u32, bytes: usize) -> pb::SharedDirectoryResponse {
        let read = pb::shared_directory_response::Read { data: vec![0; bytes] };
        pb::SharedDirectoryResponse { completion_id, error_code: 0, result: Some(Answer::Read(read)) }
    }

    fn shared() -> DirectoryAudit {
        let mut audit = DirectoryAudit::default();
        audit.announced(&pb::SharedDirectoryAnnounce { directory_id: 7, name: "docs".into() });
        let share = audit.acknowledged(&pb::SharedDirectoryAcknowledge { directory_id: 7, error_code: 0 });
        assert_eq!(share, Some(DirectoryEvent::Share { directory_id: 7, directory_name: "docs".into(), error: None }));
        audit
    }

    #[test]
    fn a_file_read_from_start_to_end_is_one_event() {
        let mut audit = shared();
        let start = Instant::now();
        for i in 0..10u32 {
            audit.requested(&read(i, "big.iso", u64::from(i) * u64::from(MIB)));
            assert!(audit.answered(&data(i, MIB as usize), start + Duration::from_millis(u64::from(i) * 100)).is_empty());
        }
        assert!(audit.tick(start + Duration::from_secs(2)).is_empty(), "still going");
        let events = audit.tick(start + Duration::from_secs(5));
        let [DirectoryEvent::Access { access, path, offset, length, operations, error, directory_name, .. }] = &events[..] else { panic!("{events:?}") };
        assert_eq!((*access, path.as_str(), *offset, *length, *operations), (Access::Read, "big.iso", 0, 10 * u64::from(MIB), 10));
        assert_eq!((error, directory_name.as_str()), (&None, "docs"));
    }

    #[test]
    fn a_seek_a_failure_and_another_file_are_events_apart() {
        let mut audit = shared();
        let now = Instant::now();
        audit.requested(&read(1, "a", 0));
        audit.answered(&data(1, 100), now);
        // A read elsewhere in the same file ends the run.
        audit.requested(&read(2, "a", 5000));
        let ended = audit.answered(&data(2, 100), now);
        assert!(matches!(&ended[..], [DirectoryEvent::Access { offset: 0, length: 100, .. }]), "{ended:?}");
        // A failed read is its own run, and another file its own.
        audit.requested(&read(3, "a", 5100));
        let failed = pb::SharedDirectoryResponse { completion_id: 3, error_code: pb::SharedDirectoryErrorCode::DoesNotExist as i32, result: None };
        assert!(audit.answered(&failed, now).is_empty());
        audit.requested(&read(4, "b", 0));
        audit.answered(&data(4, 10), now);
        let mut rest = audit.finish();
        rest.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(rest.len(), 3, "{rest:?}");
        assert!(rest.iter().any(|e| matches!(e, DirectoryEvent::Access { error: Some(code), .. } if code == "SHARED_DIRECTORY_ERROR_CODE_DOES_NOT_EXIST")));
    }

    #[test]
    fn runs_end_when_old_and_when_too_many_are_open() {
        let mut audit = shared();
        let start = Instant::now();
        // Busy for 40 s without a pause: written at 30 s.
        let mut offset = 0;
        let mut written = Vec::new();
        for i in 0..400u32 {
            audit.requested(&read(i, "stream", offset));
            written.extend(audit.answered(&data(i, 10), start + Duration::from_millis(u64::from(i) * 100)));
            offset += 10;
        }
        assert_eq!(written.len(), 1, "one event at 30 s: {written:?}");
        // Many files at once: the oldest run goes first.
        let mut audit = shared();
        let mut out = Vec::new();
        for i in 0..(MAX_RUNS as u32 + 10) {
            audit.requested(&read(i, &format!("f{i}"), 0));
            out.extend(audit.answered(&data(i, 1), start));
        }
        assert_eq!(out.len(), 10);
        assert_eq!(audit.finish().len(), MAX_RUNS);
    }

    #[test]
    fn answers_to_nothing_and_floods_are_bounded() {
        let mut audit = DirectoryAudit::default();
        assert!(audit.answered(&data(99, 10), Instant::now()).is_empty(), "no such request");
        for i in 0..(MAX_PENDING as u32 * 2) {
            audit.requested(&read(i, "x", 0));
        }
        assert_eq!(audit.pending.len(), MAX_PENDING);
        for i in 0..(MAX_DIRECTORIES as u32 * 2) {
            audit.announced(&pb::SharedDirectoryAnnounce { directory_id: i, name: "n".into() });
        }
        assert_eq!(audit.names.len(), MAX_DIRECTORIES);
        assert_eq!(audit.acknowledged(&pb::SharedDirectoryAcknowledge { directory_id: u32::MAX, error_code: 0 }), None, "never announced");
    }
}
