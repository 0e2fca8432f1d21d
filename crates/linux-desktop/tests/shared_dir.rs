//! Directory sharing through a real FUSE mount: a test "browser" answers
//! the service's requests from a real temporary directory (with the same
//! rules as the web client), and the test works on the mount with std::fs
//! as any desktop program would, then checks the directory it shared.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use oriel_linux_desktop::shared_dir::{Owner, SharedDirectories, local};
use oriel_tdpb::pb::{self, SharedDirectoryErrorCode as Code};
use oriel_tdpb::{Limits, Payload, decode_frame};
use tokio::sync::mpsc;

fn owner() -> Owner {
    Owner { uid: rustix::process::geteuid().as_raw(), gid: rustix::process::getegid().as_raw() }
}

fn decode(frame: &[u8]) -> Payload {
    decode_frame(frame, Limits::FROM_SERVER).unwrap().unwrap()
}

/// Whether `path` (a mount point, or the home's link to one) is mounted.
fn is_mounted(path: &Path) -> bool {
    let path = fs::read_link(path).unwrap_or_else(|_| path.to_owned());
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let wanted = path.to_str().unwrap().replace(' ', "\\040");
    mounts.lines().any(|line| line.split(' ').nth(4) == Some(wanted.as_str()))
}

/// How the test browser answers.
#[derive(Clone, Copy)]
enum Browser {
    /// From the directory, like the web client.
    Honest,
    /// A listing with hostile entries and reads with too much data.
    Hostile,
    /// Never.
    Silent,
}

/// Plays the browser until the service lets go of its channel.
async fn browser(mut frames: mpsc::Receiver<Vec<u8>>, root: PathBuf, shared: Weak<SharedDirectories>, kind: Browser) {
    while let Some(frame) = frames.recv().await {
        let Payload::SharedDirectoryRequest(request) = decode(&frame) else { continue };
        let mut response = local::answer(&root, &request);
        match kind {
            Browser::Honest => {}
            Browser::Silent => continue,
            Browser::Hostile => match &mut response.result {
                Some(pb::shared_directory_response::Result::List(list)) => {
                    for path in ["../escape", "/etc", "a/../../b", "sub/deeper"] {
                        list.fso_list.push(pb::FileSystemObject { path: path.into(), ..Default::default() });
                    }
                }
                Some(pb::shared_directory_response::Result::Read(read)) => {
                    let Some(pb::shared_directory_request::Operation::Read(asked)) = &request.operation else { continue };
                    read.data.resize(asked.length as usize + 1, b'!');
                }
                _ => {}
            },
        }
        if let Some(shared) = shared.upgrade() {
            shared.response(response);
        }
    }
}

struct Share {
    shared: Arc<SharedDirectories>,
    mount: PathBuf,
    browser: tokio::task::JoinHandle<()>,
}

async fn share(home: &Path, picked: &Path, name: &str, kind: Browser, timeout: Duration) -> Share {
    let (out, mut frames) = mpsc::channel(16);
    let mut shared = SharedDirectories::with_timeout(home.to_owned(), owner(), out, timeout);
    let mount = shared.announce(pb::SharedDirectoryAnnounce { directory_id: 7, name: name.into() }).await.unwrap();
    let ack = decode(&frames.recv().await.unwrap());
    assert_eq!(ack, Payload::SharedDirectoryAcknowledge(pb::SharedDirectoryAcknowledge { directory_id: 7, error_code: Code::None as i32 }));
    let shared = Arc::new(shared);
    let browser = tokio::spawn(browser(frames, picked.to_owned(), Arc::downgrade(&shared), kind));
    Share { shared, mount, browser }
}

impl Share {
    /// Unmounts (dropping the last reference) and waits until the browser's channel closes.
    async fn end(self) -> PathBuf {
        let target = fs::read_link(&self.mount).expect("the home holds a link to the mount point");
        assert!(target.starts_with(oriel_linux_desktop::shared_dir::mounts_root()), "mounted outside the home: {}", target.display());
        drop(self.shared);
        tokio::time::timeout(Duration::from_secs(30), self.browser).await.expect("the FUSE threads let go").unwrap();
        assert!(!is_mounted(&target) && !target.exists(), "the mount point {} is gone", target.display());
        assert!(fs::symlink_metadata(&self.mount).is_err(), "the link {} is gone", self.mount.display());
        self.mount
    }
}

/// std::fs on the mount, off the runtime: the FUSE threads need the runtime
/// to deliver the browser's answers.
async fn on_mount<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_made_through_the_mount_land_in_the_shared_directory() {
    let home = tempfile::tempdir().unwrap();
    let picked = tempfile::tempdir().unwrap();
    fs::write(picked.path().join("already.txt"), b"there before").unwrap();
    let share = share(home.path(), picked.path(), "Project files", Browser::Honest, Duration::from_secs(15)).await;
    let mount = share.mount.clone();
    assert_eq!(mount, home.path().canonicalize().unwrap().join("Project files"));
    assert!(is_mounted(&mount));

    let m = mount.clone();
    let (listing, meta, dir_meta, already) = on_mount(move || {
        let mut names: Vec<String> = fs::read_dir(&m).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        (names, fs::metadata(m.join("already.txt")).unwrap(), fs::metadata(&m).unwrap(), fs::read(m.join("already.txt")).unwrap())
    })
    .await;
    assert_eq!(listing, ["already.txt"]);
    assert_eq!(already, b"there before");
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777, meta.len()), (owner().uid, owner().gid, 0o600, 12));
    assert_eq!(dir_meta.mode() & 0o7777, 0o700);

    // Create and write, then read back: through the mount and in the picked directory.
    let m = mount.clone();
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
    let expected = big.clone();
    let read_back = on_mount(move || {
        fs::write(m.join("notes.txt"), b"hello from the desktop").unwrap();
        fs::write(m.join("big.bin"), &big).unwrap();
        let mut file = fs::OpenOptions::new().read(true).write(true).open(m.join("notes.txt")).unwrap();
        file.seek(SeekFrom::Start(6)).unwrap();
        file.write_all(b"FROM").unwrap();
        let mut text = String::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_string(&mut text).unwrap();
        (text, fs::read(m.join("big.bin")).unwrap())
    })
    .await;
    assert_eq!(read_back.0, "hello FROM the desktop");
    assert!(read_back.1 == expected, "3 MiB read back through the mount differs");
    assert_eq!(fs::read(picked.path().join("notes.txt")).unwrap(), b"hello FROM the desktop");
    assert!(fs::read(picked.path().join("big.bin")).unwrap() == expected, "3 MiB in the picked directory differs");

    // Directories, rename (into one, replacing a file), truncate.
    let m = mount.clone();
    on_mount(move || {
        fs::create_dir(m.join("sub")).unwrap();
        fs::write(m.join("sub/old.txt"), b"to be replaced").unwrap();
        fs::rename(m.join("notes.txt"), m.join("sub/old.txt")).unwrap();
        fs::OpenOptions::new().write(true).open(m.join("big.bin")).unwrap().set_len(5).unwrap();
        fs::rename(m.join("sub"), m.join("renamed")).unwrap();
    })
    .await;
    assert!(!picked.path().join("notes.txt").exists());
    assert!(!picked.path().join("sub").exists());
    assert_eq!(fs::read(picked.path().join("renamed/old.txt")).unwrap(), b"hello FROM the desktop");
    assert_eq!(fs::read(picked.path().join("big.bin")).unwrap(), &expected[..5]);

    // The renamed directory's file is reachable under its new name; a
    // non-empty directory is not removed; then delete everything.
    let m = mount.clone();
    let (content, not_empty) = on_mount(move || {
        let content = fs::read(m.join("renamed/old.txt")).unwrap();
        let not_empty = fs::remove_dir(m.join("renamed")).unwrap_err();
        fs::remove_file(m.join("renamed/old.txt")).unwrap();
        fs::remove_dir(m.join("renamed")).unwrap();
        fs::remove_file(m.join("big.bin")).unwrap();
        (content, not_empty)
    })
    .await;
    assert_eq!(content, b"hello FROM the desktop");
    assert_eq!(not_empty.kind(), std::io::ErrorKind::DirectoryNotEmpty);
    let mut left: Vec<_> = fs::read_dir(picked.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["already.txt"]);

    // Made outside, seen inside; a missing file is ENOENT.
    fs::write(picked.path().join("from-browser.txt"), b"x").unwrap();
    let m = mount.clone();
    let (seen, missing) = on_mount(move || (fs::read(m.join("from-browser.txt")).unwrap(), fs::metadata(m.join("nope")).unwrap_err())).await;
    assert_eq!(seen, b"x");
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);

    let mount = share.end().await;
    assert!(!is_mounted(&mount), "still mounted after the share was dropped");
    assert!(!mount.exists(), "the mount point it created is left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_name_gets_a_numbered_folder_and_what_was_there_stays() {
    let home = tempfile::tempdir().unwrap();
    let picked = tempfile::tempdir().unwrap();
    fs::create_dir(home.path().join("docs")).unwrap();
    fs::write(home.path().join("docs/mine.txt"), b"the user's own").unwrap();
    fs::create_dir(home.path().join("docs (2)")).unwrap();
    // A link the user planted towards a root-owned place is a taken name too.
    std::os::unix::fs::symlink("/etc", home.path().join("docs (3)")).unwrap();
    let share = share(home.path(), picked.path(), "docs", Browser::Honest, Duration::from_secs(15)).await;
    assert_eq!(share.mount.file_name().unwrap(), "docs (4)");
    share.end().await;
    assert_eq!(fs::read(home.path().join("docs/mine.txt")).unwrap(), b"the user's own");
    assert!(home.path().join("docs (2)").is_dir());
    assert_eq!(fs::read_link(home.path().join("docs (3)")).unwrap(), Path::new("/etc"));
    assert!(!is_mounted(Path::new("/etc")), "nothing was mounted through the user's link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_and_browser_answers_touch_nothing_outside() {
    let home = tempfile::tempdir().unwrap();
    let (out, mut frames) = mpsc::channel(16);
    let mut shared = SharedDirectories::new(home.path().to_owned(), owner(), out);
    for name in ["..", ".", "/", "a/b", "a\0b", ""] {
        let announce = pb::SharedDirectoryAnnounce { directory_id: 1, name: name.into() };
        let error = shared.announce(announce).await.unwrap_err();
        assert!(error.to_string().starts_with("the directory could not be shared: the directory name cannot be used"), "{name:?}: {error}");
        let ack = decode(&frames.recv().await.unwrap());
        assert_eq!(ack, Payload::SharedDirectoryAcknowledge(pb::SharedDirectoryAcknowledge { directory_id: 1, error_code: Code::Failed as i32 }));
        let Payload::Alert(alert) = decode(&frames.recv().await.unwrap()) else { panic!("no alert for {name:?}") };
        assert_eq!(alert.severity, pb::AlertSeverity::Warning as i32);
    }
    assert_eq!(fs::read_dir(home.path()).unwrap().count(), 0);
    drop(shared);

    // A browser that lists entries outside the directory and returns more
    // than it was asked for: the entries are skipped, the read fails.
    let picked = tempfile::tempdir().unwrap();
    fs::create_dir(picked.path().join("sub")).unwrap();
    fs::write(picked.path().join("file"), b"abc").unwrap();
    let share = share(home.path(), picked.path(), "hostile", Browser::Hostile, Duration::from_secs(15)).await;
    let m = share.mount.clone();
    let (names, read) = on_mount(move || {
        let mut names: Vec<String> = fs::read_dir(&m).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        (names, fs::read(m.join("file")))
    })
    .await;
    assert_eq!(names, ["file", "sub"]);
    assert_eq!(read.unwrap_err().raw_os_error(), Some(rustix::io::Errno::IO.raw_os_error()));
    share.end().await;

    // What the browser side refuses: hostile paths and oversized chunks,
    // with nothing touched.
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), b"keep").unwrap();
    let escape = format!("../{}/secret", outside.path().file_name().unwrap().to_str().unwrap());
    use pb::shared_directory_request::{Delete, Operation, Read, Write};
    let operations = [
        Operation::Delete(Delete { path: escape.clone() }),
        Operation::Delete(Delete { path: outside.path().join("secret").to_str().unwrap().into() }),
        Operation::Write(Write { path: "file\0".into(), offset: 0, data: b"x".to_vec() }),
        Operation::Read(Read { path: "a/".repeat(5121), offset: 0, length: 1 }),
        Operation::Read(Read { path: "file".into(), offset: 0, length: (1 << 20) + 1 }),
        Operation::Write(Write { path: "file".into(), offset: 0, data: vec![0; (1 << 20) + 1] }),
    ];
    for operation in operations {
        let request = pb::SharedDirectoryRequest { directory_id: 1, completion_id: 1, operation: Some(operation.clone()) };
        let response = local::answer(picked.path(), &request);
        assert_eq!(response.error_code, Code::Refused as i32, "{operation:?}");
    }
    assert_eq!(fs::read(outside.path().join("secret")).unwrap(), b"keep");
    assert_eq!(fs::read(picked.path().join("file")).unwrap(), b"abc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_stops_answering_gives_errors_not_a_hung_mount() {
    let home = tempfile::tempdir().unwrap();
    let picked = tempfile::tempdir().unwrap();
    let share = share(home.path(), picked.path(), "silent", Browser::Silent, Duration::from_millis(300)).await;
    let m = share.mount.clone();
    let error = on_mount(move || fs::metadata(m.join("anything")).unwrap_err()).await;
    assert_eq!(error.raw_os_error(), Some(rustix::io::Errno::IO.raw_os_error()));
    let mount = share.end().await;
    assert!(!is_mounted(&mount));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_mount_is_detached_when_the_share_ends() {
    let home = tempfile::tempdir().unwrap();
    let picked = tempfile::tempdir().unwrap();
    fs::write(picked.path().join("open.txt"), b"held open").unwrap();
    let share = share(home.path(), picked.path(), "busy", Browser::Honest, Duration::from_secs(15)).await;
    let m = share.mount.clone();
    let open = on_mount(move || fs::File::open(m.join("open.txt")).unwrap()).await;
    let Share { shared, mount, browser } = share;
    tokio::task::spawn_blocking(move || drop(shared)).await.unwrap();
    assert!(!is_mounted(&mount), "a busy mount is not detached");
    // The FUSE threads go once the last file in the detached mount closes.
    drop(open);
    tokio::time::timeout(Duration::from_secs(30), browser).await.expect("the FUSE threads let go").unwrap();
}
