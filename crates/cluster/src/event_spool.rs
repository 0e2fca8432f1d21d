//! A desktop service's audit events on disk until the auth service has
//! them: while the auth service is away (a restart, the network), events
//! are kept in order and sent when it is back, so none is lost, and a
//! service that restarts sends what its last run could not.
//!
//! The spool is a directory in the data dir with two files: `events.log`,
//! one batch per line (a JSON array of events), appended and fsync'd before
//! `append` returns; and `sent`, the byte offset in `events.log` up to which
//! the auth service has every batch, replaced whole (write, fsync, rename).
//! When everything is sent the log is emptied. A line cut short by a crash
//! is dropped when the spool opens (its events never reached the disk
//! whole); a line that is not a batch is logged and skipped.
//!
//! Sending the same batch twice (a crash after the auth service stored it
//! and before `sent` moved) stores it once: events are keyed by their time
//! and id there.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead as _, BufReader, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use oriel_auth::audit::AuditEvent;

const LOG: &str = "events.log";
const SENT: &str = "sent";

/// The spool's files, shared by whoever appends and the one task that sends.
#[derive(Debug, Clone)]
pub struct EventSpool {
    inner: Arc<Mutex<Files>>,
    /// Wakes the sender after an append.
    wake: Arc<tokio::sync::Notify>,
}

#[derive(Debug)]
struct Files {
    dir: PathBuf,
    log: File,
    /// Bytes of `events.log` the auth service has.
    sent: u64,
}

/// The next batch to send: its events and where the log is after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The batch, in the order it was appended.
    pub events: Vec<AuditEvent>,
    /// The offset after its line.
    pub end: u64,
}

impl EventSpool {
    /// Opens (or makes, owner-only) the spool in `dir`, dropping a line a
    /// crash cut short.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let mut log = OpenOptions::new().create(true).read(true).append(true).open(dir.join(LOG))?;
        let bytes = fs::read(dir.join(LOG))?;
        let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |at| at + 1);
        if whole < bytes.len() {
            tracing::warn!(bytes = bytes.len() - whole, "dropping the end of the audit spool that a crash cut short");
            log.set_len(whole as u64)?;
            log.sync_data()?;
        }
        let sent = match fs::read_to_string(dir.join(SENT)) {
            Ok(text) => text.trim().parse::<u64>().unwrap_or(0).min(whole as u64),
            Err(error) if error.kind() == io::ErrorKind::NotFound => 0,
            Err(error) => return Err(error),
        };
        log.seek(SeekFrom::End(0))?;
        Ok(Self { inner: Arc::new(Mutex::new(Files { dir: dir.to_owned(), log, sent })), wake: Arc::default() })
    }

    /// Appends `events` as one batch, on disk before it returns.
    pub fn append(&self, events: &[AuditEvent]) -> io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut line = serde_json::to_vec(events).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut files = self.lock();
        files.log.write_all(&line)?;
        files.log.sync_data()?;
        drop(files);
        self.wake.notify_one();
        Ok(())
    }

    /// The oldest batch not sent yet, if any. A line that is not a batch
    /// is logged and passed over.
    pub fn next(&self) -> io::Result<Option<Pending>> {
        let mut files = self.lock();
        loop {
            let mut reader = BufReader::new(File::open(files.dir.join(LOG))?);
            reader.seek(SeekFrom::Start(files.sent))?;
            let mut line = Vec::new();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 || line.last() != Some(&b'\n') {
                return Ok(None);
            }
            let end = files.sent + read as u64;
            match serde_json::from_slice::<Vec<AuditEvent>>(&line) {
                Ok(events) => return Ok(Some(Pending { events, end })),
                Err(error) => {
                    tracing::error!(%error, line = %String::from_utf8_lossy(&line), "skipping a damaged line of the audit spool");
                    Self::mark_sent(&mut files, end)?;
                }
            }
        }
    }

    /// The auth service has everything up to `end` (a [`Pending::end`]).
    pub fn sent(&self, end: u64) -> io::Result<()> {
        let mut files = self.lock();
        Self::mark_sent(&mut files, end)
    }

    fn mark_sent(files: &mut Files, end: u64) -> io::Result<()> {
        let length = files.log.metadata()?.len();
        if end >= length {
            // All sent: start the log again rather than let it grow.
            files.log.set_len(0)?;
            files.log.sync_data()?;
            files.sent = 0;
        } else {
            files.sent = end;
        }
        let temporary = files.dir.join("sent.new");
        let mut file = File::create(&temporary)?;
        file.write_all(files.sent.to_string().as_bytes())?;
        file.sync_data()?;
        fs::rename(&temporary, files.dir.join(SENT))?;
        File::open(&files.dir)?.sync_all()
    }

    /// Bytes waiting to be sent.
    pub fn backlog(&self) -> io::Result<u64> {
        let files = self.lock();
        Ok(files.log.metadata()?.len().saturating_sub(files.sent))
    }

    /// Waits for the next append.
    pub async fn appended(&self) {
        self.wake.notified().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Files> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use oriel_auth::audit::EventType;

    use super::*;

    fn event(n: u64) -> AuditEvent {
        AuditEvent::new(EventType::ClipboardSend, true, "alice", SystemTime::UNIX_EPOCH).with("n", n)
    }

    fn numbers(pending: &Pending) -> Vec<u64> {
        pending.events.iter().map(|e| e.fields["n"].as_u64().unwrap()).collect()
    }

    #[test]
    fn batches_come_out_in_order_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let spool = EventSpool::open(dir.path()).unwrap();
        assert_eq!(spool.next().unwrap(), None);
        spool.append(&[event(1), event(2)]).unwrap();
        spool.append(&[event(3)]).unwrap();
        let first = spool.next().unwrap().unwrap();
        assert_eq!(numbers(&first), [1, 2]);
        assert_eq!(spool.next().unwrap().unwrap(), first, "not sent yet: the same batch again");
        spool.sent(first.end).unwrap();
        drop(spool);

        // A restart resumes after what was sent.
        let spool = EventSpool::open(dir.path()).unwrap();
        let second = spool.next().unwrap().unwrap();
        assert_eq!(numbers(&second), [3]);
        spool.sent(second.end).unwrap();
        assert_eq!(spool.next().unwrap(), None);
        assert_eq!(fs::metadata(dir.path().join(LOG)).unwrap().len(), 0, "all sent: the log starts again");
        spool.append(&[event(4)]).unwrap();
        assert_eq!(numbers(&spool.next().unwrap().unwrap()), [4]);
    }

    #[test]
    fn a_line_cut_short_and_a_damaged_line_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let spool = EventSpool::open(dir.path()).unwrap();
        spool.append(&[event(1)]).unwrap();
        drop(spool);
        let mut log = OpenOptions::new().append(true).open(dir.path().join(LOG)).unwrap();
        log.write_all(b"not json at all\n[{\"uid\":\"cut").unwrap();
        drop(log);
        let spool = EventSpool::open(dir.path()).unwrap();
        spool.append(&[event(2)]).unwrap();
        let first = spool.next().unwrap().unwrap();
        assert_eq!(numbers(&first), [1]);
        spool.sent(first.end).unwrap();
        let second = spool.next().unwrap().unwrap();
        assert_eq!(numbers(&second), [2], "the damaged line is skipped, the cut one gone");
        spool.sent(second.end).unwrap();
        assert_eq!(spool.backlog().unwrap(), 0);
        let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(dir.path()).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o700);
    }
}
