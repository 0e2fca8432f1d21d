//! Answering shared-directory requests from a directory on this machine,
//! the way the browser answers them from the directory a person picked
//! (web/src/shared-directory.ts). Tests and `oriel-bench shared-dir` play
//! the browser with it. It refuses what the browser refuses: paths that are
//! not plain relative paths, chunks over 1 MiB, and symbolic links (the
//! browser cannot follow one out of the picked directory either).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use oriel_tdpb::limits::MAX_SHARED_CHUNK;
use oriel_tdpb::pb::shared_directory_request::Operation;
use oriel_tdpb::pb::shared_directory_response as answer;
use oriel_tdpb::pb::{self, SharedDirectoryErrorCode as Code};

use super::path::SharedPath;

/// The answer to `request`, from the directory `root`.
pub fn answer(root: &Path, request: &pb::SharedDirectoryRequest) -> pb::SharedDirectoryResponse {
    let (error_code, result) = match request.operation.as_ref().map(|op| run(root, op)) {
        Some(Ok(result)) => (Code::None, result),
        Some(Err(code)) => (code, None),
        None => (Code::Failed, None),
    };
    pb::SharedDirectoryResponse { completion_id: request.completion_id, error_code: error_code as i32, result }
}

fn code(error: io::Error) -> Code {
    match error.kind() {
        io::ErrorKind::NotFound => Code::DoesNotExist,
        io::ErrorKind::AlreadyExists => Code::AlreadyExists,
        io::ErrorKind::DirectoryNotEmpty => Code::NotEmpty,
        _ => Code::Failed,
    }
}

/// `path` under `root`, refusing hostile paths and any symbolic link on the way.
fn resolve(root: &Path, path: &str) -> Result<(SharedPath, PathBuf), Code> {
    let checked = SharedPath::parse(path).map_err(|_| Code::Refused)?;
    let mut local = root.to_path_buf();
    for component in checked.as_str().split('/').filter(|c| !c.is_empty()) {
        local.push(component);
        match fs::symlink_metadata(&local) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(Code::Refused),
            _ => {}
        }
    }
    Ok((checked, local))
}

fn object(path: &SharedPath, local: &Path) -> Result<pb::FileSystemObject, Code> {
    let meta = fs::symlink_metadata(local).map_err(code)?;
    let dir = meta.is_dir();
    let last_modified = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_millis() as u64);
    Ok(pb::FileSystemObject {
        last_modified,
        size: if dir { 0 } else { meta.len() },
        file_type: if dir { pb::FileType::Directory } else { pb::FileType::File } as i32,
        is_empty: dir && fs::read_dir(local).map_err(code)?.next().is_none(),
        path: path.as_str().to_owned(),
    })
}

fn run(root: &Path, operation: &Operation) -> Result<Option<answer::Result>, Code> {
    Ok(Some(match operation {
        Operation::Info(op) => {
            let (path, local) = resolve(root, &op.path)?;
            answer::Result::Info(answer::Info { fso: Some(object(&path, &local)?) })
        }
        Operation::Create(op) => {
            let (path, local) = resolve(root, &op.path)?;
            if op.file_type == pb::FileType::Directory as i32 {
                fs::create_dir(&local).map_err(code)?;
            } else {
                OpenOptions::new().write(true).create_new(true).open(&local).map_err(code)?;
            }
            answer::Result::Create(answer::Create { fso: Some(object(&path, &local)?) })
        }
        Operation::Delete(op) => {
            let (path, local) = resolve(root, &op.path)?;
            if path == SharedPath::root() {
                return Err(Code::Refused);
            }
            if fs::symlink_metadata(&local).map_err(code)?.is_dir() {
                fs::remove_dir(&local).map_err(code)?;
            } else {
                fs::remove_file(&local).map_err(code)?;
            }
            answer::Result::Delete(answer::Delete {})
        }
        Operation::List(op) => {
            let (path, local) = resolve(root, &op.path)?;
            let mut fso_list = Vec::new();
            for entry in fs::read_dir(&local).map_err(code)? {
                let entry = entry.map_err(code)?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let Ok(child) = path.join(name.as_ref()) else {
                    continue;
                };
                if let Ok(fso) = object(&child, &entry.path()) {
                    fso_list.push(fso);
                }
            }
            answer::Result::List(answer::List { fso_list })
        }
        Operation::Read(op) => {
            if op.length as usize > MAX_SHARED_CHUNK {
                return Err(Code::Refused);
            }
            let (_, local) = resolve(root, &op.path)?;
            let mut file = File::open(&local).map_err(code)?;
            file.seek(SeekFrom::Start(op.offset)).map_err(code)?;
            let mut data = Vec::with_capacity(op.length as usize);
            file.take(u64::from(op.length)).read_to_end(&mut data).map_err(code)?;
            answer::Result::Read(answer::Read { data })
        }
        Operation::Write(op) => {
            if op.data.len() > MAX_SHARED_CHUNK {
                return Err(Code::Refused);
            }
            let (_, local) = resolve(root, &op.path)?;
            let mut file = OpenOptions::new().write(true).open(&local).map_err(code)?;
            file.seek(SeekFrom::Start(op.offset)).map_err(code)?;
            file.write_all(&op.data).map_err(code)?;
            answer::Result::Write(answer::Write { bytes_written: op.data.len() as u32 })
        }
        Operation::Move(op) => {
            let (from, from_local) = resolve(root, &op.original_path)?;
            let (to, to_local) = resolve(root, &op.new_path)?;
            if from == SharedPath::root() || to == SharedPath::root() {
                return Err(Code::Refused);
            }
            fs::rename(&from_local, &to_local).map_err(code)?;
            answer::Result::Move(answer::Move {})
        }
        Operation::Truncate(op) => {
            let (_, local) = resolve(root, &op.path)?;
            OpenOptions::new().write(true).open(&local).map_err(code)?.set_len(op.end_of_file).map_err(code)?;
            answer::Result::Truncate(answer::Truncate {})
        }
    }))
}
