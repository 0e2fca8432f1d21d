//! Sequential read and write throughput through a shared directory's real
//! FUSE mount. The "browser" runs in-process: it decodes each request frame,
//! answers from a temporary directory with the same rules as the web client
//! (`shared_dir::local`), and its answer is encoded and decoded again as it
//! would be on the wire. What is left out is the network and the browser's
//! own file API; what is measured is the kernel, FUSE, the service's
//! request table and TDPB framing.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Weak};
use std::time::Instant;

use oriel_linux_desktop::shared_dir::{Owner, SharedDirectories, local};
use oriel_tdpb::pb;
use oriel_tdpb::{Limits, Payload, decode_frame, encode_frame};
use tokio::sync::mpsc;

const MIB: usize = 1 << 20;

/// Writes then reads `mib` MiB through the mount, in 1 MiB and 128 KiB calls.
pub async fn run(mib: usize) -> anyhow::Result<String> {
    let home = tempfile::tempdir()?;
    let picked = tempfile::tempdir()?;
    let (out, frames) = mpsc::channel(16);
    let owner = Owner { uid: rustix::process::geteuid().as_raw(), gid: rustix::process::getegid().as_raw() };
    let mut shared = SharedDirectories::new(home.path().to_owned(), owner, out, std::sync::Arc::new(oriel_linux_desktop::shared_dir::DirectMounter), 16);
    let mount = shared.announce(pb::SharedDirectoryAnnounce { directory_id: 1, name: "bench".into() }).await?;
    let shared = Arc::new(shared);
    let browser = tokio::spawn(browser(frames, picked.path().to_owned(), Arc::downgrade(&shared)));

    let mut table = String::from("| operation | call size | MiB | MiB/s |\n|---|---|---|---|\n");
    for call in [MIB, 128 << 10] {
        let path = mount.join(format!("file-{call}"));
        let (write, read) = tokio::task::spawn_blocking(move || -> std::io::Result<(f64, f64)> {
            let chunk: Vec<u8> = (0..call).map(|i| (i % 251) as u8).collect();
            let start = Instant::now();
            let mut file = std::fs::File::create(&path)?;
            for _ in 0..(mib * MIB / call) {
                file.write_all(&chunk)?;
            }
            file.sync_all()?;
            drop(file);
            let write = start.elapsed().as_secs_f64();
            // A fresh open drops the page cache of the file (no keep_cache),
            // so every byte comes from the browser again.
            let start = Instant::now();
            let mut file = std::fs::File::open(&path)?;
            let mut buf = vec![0; call];
            let mut total = 0;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                total += n;
            }
            let read = start.elapsed().as_secs_f64();
            assert_eq!(total, mib * MIB, "read back a different length");
            Ok((write, read))
        })
        .await??;
        let size = if call == MIB { "1 MiB".to_owned() } else { format!("{} KiB", call >> 10) };
        writeln!(table, "| sequential write | {size} | {mib} | {:.0} |", mib as f64 / write)?;
        writeln!(table, "| sequential read | {size} | {mib} | {:.0} |", mib as f64 / read)?;
    }
    drop(shared);
    browser.await?;
    Ok(format!("## Shared directory throughput\n\nThrough the real FUSE mount, the browser in-process answering from a temporary directory.\n\n{table}"))
}

async fn browser(mut frames: mpsc::Receiver<Vec<u8>>, root: std::path::PathBuf, shared: Weak<SharedDirectories>) {
    while let Some(frame) = frames.recv().await {
        let Ok(Some(Payload::SharedDirectoryRequest(request))) = decode_frame(&frame, Limits::FROM_SERVER) else { continue };
        let response = local::answer(&root, &request);
        // Over the wire and back, as the service would receive it.
        let wire = encode_frame(Payload::SharedDirectoryResponse(response));
        let Ok(Some(Payload::SharedDirectoryResponse(response))) = decode_frame(&wire, Limits::FROM_CLIENT) else { continue };
        if let Some(shared) = shared.upgrade() {
            shared.response(response);
        }
    }
}
