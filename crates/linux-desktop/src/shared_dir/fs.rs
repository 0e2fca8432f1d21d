//! The FUSE file system of one shared directory: each kernel operation
//! becomes one request to the browser (see [`super::link`]), on a FUSE
//! thread, never on the async runtime. Files show as owned by the desktop
//! user, 0600 and directories 0700 (see [`SharedFs::attr`]).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, FopenFlags, Generation, INodeNo, KernelConfig, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use oriel_tdpb::limits::MAX_SHARED_CHUNK;
use oriel_tdpb::pb::shared_directory_request as op;
use oriel_tdpb::pb::shared_directory_response::Result as Answer;
use oriel_tdpb::pb::{self, SharedDirectoryErrorCode};

use super::inodes::{Inodes, ROOT};
use super::link::{CallError, Link};
use super::path::{PathError, SharedPath};

/// How long the kernel may cache attributes and names: short, because the
/// browser's directory can change behind our back.
const TTL: Duration = Duration::from_secs(1);

/// The desktop user the files belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// One directory entry as readdir gives it: inode, kind, name.
type DirEntry = (u64, FileType, String);

/// One shared directory as a FUSE file system.
pub struct SharedFs {
    link: Link,
    owner: Owner,
    inodes: Mutex<Inodes>,
    /// Listings taken at opendir, served by readdir, dropped at releasedir.
    listings: Mutex<HashMap<u64, Vec<DirEntry>>>,
    next_handle: AtomicU64,
}

fn errno(raw: rustix::io::Errno) -> Errno {
    Errno::from_i32(raw.raw_os_error())
}

impl From<CallError> for Errno {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Browser(SharedDirectoryErrorCode::DoesNotExist) => Errno::ENOENT,
            CallError::Browser(SharedDirectoryErrorCode::AlreadyExists) => Errno::EEXIST,
            CallError::Browser(SharedDirectoryErrorCode::NotEmpty) => errno(rustix::io::Errno::NOTEMPTY),
            CallError::Browser(SharedDirectoryErrorCode::Refused) => Errno::EACCES,
            CallError::Busy => Errno::EAGAIN,
            CallError::Browser(_) | CallError::Timeout | CallError::Closed | CallError::Mismatch => Errno::EIO,
        }
    }
}

impl From<PathError> for Errno {
    fn from(error: PathError) -> Self {
        match error {
            PathError::TooLong(_) => Errno::ENAMETOOLONG,
            _ => Errno::EINVAL,
        }
    }
}

fn file_type(fso: &pb::FileSystemObject) -> FileType {
    if fso.file_type == pb::FileType::Directory as i32 { FileType::Directory } else { FileType::RegularFile }
}

impl SharedFs {
    /// A file system that asks the browser through `link`, owned by `owner`.
    pub fn new(link: Link, owner: Owner) -> Self {
        Self { link, owner, inodes: Mutex::default(), listings: Mutex::default(), next_handle: AtomicU64::new(1) }
    }

    fn inodes(&self) -> std::sync::MutexGuard<'_, Inodes> {
        self.inodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn path(&self, ino: INodeNo) -> Result<SharedPath, Errno> {
        self.inodes().path(ino.0).ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<SharedPath, Errno> {
        Ok(self.path(parent)?.join(name)?)
    }

    /// Attributes from the browser's answer. 0600/0700 and the desktop
    /// user as owner: with `default_permissions` the kernel then lets only
    /// that user (and root) in, though the mount has `allow_other`; the
    /// picked directory is the person's own, not for other local users.
    fn attr(&self, ino: u64, fso: &pb::FileSystemObject) -> FileAttr {
        let kind = file_type(fso);
        let dir = kind == FileType::Directory;
        let mtime = UNIX_EPOCH.checked_add(Duration::from_millis(fso.last_modified)).unwrap_or(UNIX_EPOCH);
        let size = if dir { 0 } else { fso.size };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: mtime,
            mtime,
            ctime: mtime,
            crtime: mtime,
            kind,
            perm: if dir { 0o700 } else { 0o600 },
            nlink: if dir { 2 } else { 1 },
            uid: self.owner.uid,
            gid: self.owner.gid,
            rdev: 0,
            // Tools size their buffers by this: one request's worth.
            blksize: MAX_SHARED_CHUNK as u32,
            flags: 0,
        }
    }

    fn info(&self, path: &SharedPath) -> Result<pb::FileSystemObject, Errno> {
        match self.link.call(op::Operation::Info(op::Info { path: path.as_str().into() }))? {
            Some(Answer::Info(pb::shared_directory_response::Info { fso: Some(fso) })) => Ok(fso),
            _ => Err(CallError::Mismatch.into()),
        }
    }

    fn entry(&self, path: &SharedPath) -> Result<FileAttr, Errno> {
        let fso = self.info(path)?;
        let ino = self.inodes().ino(path);
        Ok(self.attr(ino, &fso))
    }

    fn create_entry(&self, path: &SharedPath, kind: pb::FileType) -> Result<FileAttr, Errno> {
        let answer = self.link.call(op::Operation::Create(op::Create { path: path.as_str().into(), file_type: kind as i32 }))?;
        let ino = self.inodes().ino(path);
        match answer {
            Some(Answer::Create(pb::shared_directory_response::Create { fso: Some(fso) })) => Ok(self.attr(ino, &fso)),
            // An answer without the object: ask for it.
            _ => self.entry(path),
        }
    }

    fn delete(&self, parent: INodeNo, name: &OsStr) -> Result<(), Errno> {
        let path = self.child(parent, name)?;
        self.link.call(op::Operation::Delete(op::Delete { path: path.as_str().into() }))?;
        self.inodes().remove(&path);
        Ok(())
    }

    fn list(&self, ino: INodeNo) -> Result<Vec<DirEntry>, Errno> {
        let path = self.path(ino)?;
        let list = match self.link.call(op::Operation::List(op::List { path: path.as_str().into() }))? {
            Some(Answer::List(list)) => list.fso_list,
            None => Vec::new(),
            _ => return Err(CallError::Mismatch.into()),
        };
        let parent_ino = path.parent().map_or(ROOT, |p| self.inodes().ino(&p));
        let mut entries = vec![(ino.0, FileType::Directory, ".".to_owned()), (parent_ino, FileType::Directory, "..".to_owned())];
        for fso in list {
            // Only direct children by a plain name; anything else the
            // browser says is skipped, never followed.
            let child = match SharedPath::parse(&fso.path) {
                Ok(child) if child.parent().as_ref() == Some(&path) => child,
                _ => {
                    tracing::warn!(path = %path, entry = %fso.path.escape_debug(), "listing entry outside the directory ignored");
                    continue;
                }
            };
            let ino = self.inodes().ino(&child);
            entries.push((ino, file_type(&fso), child.file_name().to_owned()));
        }
        Ok(entries)
    }
}

impl fuser::Filesystem for SharedFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // One write or read request carries at most one browser chunk.
        let _ = config.set_max_write(MAX_SHARED_CHUNK as u32);
        let _ = config.set_max_readahead(MAX_SHARED_CHUNK as u32);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.child(parent, name).and_then(|path| self.entry(&path)) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(error) => reply.error(error),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let attr = self.path(ino).and_then(|path| self.info(&path)).map(|fso| self.attr(ino.0, &fso));
        match attr {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(error) => reply.error(error),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // Only the size can change in the browser; modes, owners and times
        // are ours to show, so changing them succeeds without effect (as on
        // a vfat stick), which keeps `touch` and `cp -p` working.
        let result = self.path(ino).and_then(|path| {
            if let Some(size) = size {
                self.link.call(op::Operation::Truncate(op::Truncate { path: path.as_str().into(), end_of_file: size }))?;
            }
            Ok(self.attr(ino.0, &self.info(&path)?))
        });
        match result {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(error) => reply.error(error),
        }
    }

    fn mkdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, _mode: u32, _umask: u32, reply: ReplyEntry) {
        match self.child(parent, name).and_then(|path| self.create_entry(&path, pb::FileType::Directory)) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(error) => reply.error(error),
        }
    }

    fn create(&self, _req: &Request, parent: INodeNo, name: &OsStr, _mode: u32, _umask: u32, _flags: i32, reply: ReplyCreate) {
        match self.child(parent, name).and_then(|path| self.create_entry(&path, pb::FileType::File)) {
            Ok(attr) => reply.created(&TTL, &attr, Generation(0), FileHandle(0), FopenFlags::empty()),
            Err(error) => reply.error(error),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.delete(parent, name) {
            Ok(()) => reply.ok(),
            Err(error) => reply.error(error),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.delete(parent, name) {
            Ok(()) => reply.ok(),
            Err(error) => reply.error(error),
        }
    }

    fn rename(&self, _req: &Request, parent: INodeNo, name: &OsStr, newparent: INodeNo, newname: &OsStr, flags: RenameFlags, reply: ReplyEmpty) {
        let result = (|| {
            let from = self.child(parent, name)?;
            let to = self.child(newparent, newname)?;
            if flags.contains(RenameFlags::RENAME_EXCHANGE) || flags.contains(RenameFlags::RENAME_WHITEOUT) {
                return Err(Errno::EINVAL);
            }
            if flags.contains(RenameFlags::RENAME_NOREPLACE) {
                match self.info(&to) {
                    Ok(_) => return Err(Errno::EEXIST),
                    Err(error) if error == Errno::ENOENT => {}
                    Err(error) => return Err(error),
                }
            }
            if to.is_within(&from) {
                // A directory into itself.
                return Err(Errno::EINVAL);
            }
            self.link.call(op::Operation::Move(op::Move { original_path: from.as_str().into(), new_path: to.as_str().into() }))?;
            self.inodes().rename(&from, &to);
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(error) => reply.error(error),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.path(ino) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(error) => reply.error(error),
        }
    }

    fn read(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, size: u32, _flags: OpenFlags, _lock_owner: Option<LockOwner>, reply: ReplyData) {
        let result = self.path(ino).and_then(|path| {
            let length = size.min(MAX_SHARED_CHUNK as u32);
            match self.link.call(op::Operation::Read(op::Read { path: path.as_str().into(), offset, length }))? {
                Some(Answer::Read(read)) if read.data.len() <= length as usize => Ok(read.data),
                None => Ok(Vec::new()),
                Some(Answer::Read(read)) => {
                    tracing::warn!(asked = length, got = read.data.len(), "the browser answered a read with more than asked");
                    Err(Errno::EIO)
                }
                Some(_) => Err(CallError::Mismatch.into()),
            }
        });
        match result {
            Ok(data) => reply.data(&data),
            Err(error) => reply.error(error),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let result = self.path(ino).and_then(|path| {
            // max_write keeps the kernel below this; refuse rather than split.
            if data.len() > MAX_SHARED_CHUNK {
                return Err(Errno::EFBIG);
            }
            let write = op::Write { path: path.as_str().into(), offset, data: data.to_vec() };
            match self.link.call(op::Operation::Write(write))? {
                Some(Answer::Write(written)) => Ok(written.bytes_written.min(data.len() as u32)),
                None => Ok(data.len() as u32),
                Some(_) => Err(CallError::Mismatch.into()),
            }
        });
        match result {
            Ok(written) => reply.written(written),
            Err(error) => reply.error(error),
        }
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
        // Every write went to the browser already.
        reply.ok();
    }

    fn fsync(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        reply.ok();
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.list(ino) {
            Ok(entries) => {
                let handle = self.next_handle.fetch_add(1, Ordering::Relaxed);
                self.listings.lock().unwrap_or_else(|p| p.into_inner()).insert(handle, entries);
                reply.opened(FileHandle(handle), FopenFlags::empty());
            }
            Err(error) => reply.error(error),
        }
    }

    fn readdir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let listings = self.listings.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entries) = listings.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            // The offset given is where the next call starts.
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: ReplyEmpty) {
        self.listings.lock().unwrap_or_else(|p| p.into_inner()).remove(&fh.0);
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        // The browser does not say how much room it has; tools that check
        // free space before writing must not see a full disk.
        let blocks = 1 << 32;
        reply.statfs(blocks, blocks, blocks, 1 << 20, 1 << 20, 4096, 255, 4096);
    }

    fn getxattr(&self, _req: &Request, _ino: INodeNo, _name: &OsStr, _size: u32, reply: fuser::ReplyXattr) {
        // The browser has no extended attributes; ENOSYS makes the kernel
        // stop asking (and a write stop checking security.capability).
        reply.error(Errno::ENOSYS);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, _size: u32, reply: fuser::ReplyXattr) {
        reply.error(Errno::ENOSYS);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        // default_permissions: the kernel has checked the modes already.
        reply.ok();
    }
}
