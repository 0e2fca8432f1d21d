//! Where recordings are kept: one object per recording, `<id>.orec`,
//! through `object_store`, in a directory (the default: the auth service's
//! data dir) or an S3-compatible bucket (for clusters that outgrow one
//! machine, and where the data dir's disk is short).

use std::path::Path as FsPath;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{Certificate, ClientOptions, ObjectStore, ObjectStoreExt, WriteMultipart};

use super::{RecordingError, RecordingId};

/// The store recordings go to (`auth_service.audit_sessions_uri`).
#[derive(Debug, Clone)]
pub struct RecordingStorage {
    objects: Arc<dyn ObjectStore>,
    prefix: Path,
    /// Where, for messages: never holds a secret.
    location: String,
}

/// The file in the data dir where `oriel start` notes its
/// `audit_sessions_uri`, so `orielctl` on the auth host reads recordings
/// where the auth service keeps them.
pub const SESSIONS_URI_FILE: &str = "audit_sessions_uri";

/// An `audit_sessions_uri` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("audit_sessions_uri: {0}")]
pub struct StorageUriError(String);

impl RecordingStorage {
    /// Recordings as files in `dir` (made owner-only if missing).
    pub fn in_directory(dir: &FsPath) -> Result<RecordingStorage, StorageUriError> {
        make_private_dir(dir).map_err(|e| StorageUriError(format!("cannot create {}: {e}", dir.display())))?;
        let objects = LocalFileSystem::new_with_prefix(dir).map_err(|e| StorageUriError(e.to_string()))?;
        Ok(RecordingStorage { objects: Arc::new(objects), prefix: Path::default(), location: dir.display().to_string() })
    }

    /// The storage `uri` names: `file:///path` (or a plain absolute path),
    /// or `s3://bucket/prefix` with optional `endpoint` (an S3-compatible
    /// server's URL), `region` (default us-east-1), `ca` (a PEM file of the
    /// CAs to trust for it) and `insecure=true` (only then may `endpoint`
    /// be `http://`). S3 credentials come from the environment, as AWS
    /// tools read them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …),
    /// never from the URI, which is logged.
    pub fn from_uri(uri: &str) -> Result<RecordingStorage, StorageUriError> {
        if let Some(path) = uri.strip_prefix("file://") {
            return Self::in_directory(FsPath::new(path));
        }
        if uri.starts_with('/') {
            return Self::in_directory(FsPath::new(uri));
        }
        if uri.starts_with("s3://") {
            return Self::in_bucket(uri);
        }
        let scheme = uri.split_once("://").map_or(uri, |(scheme, _)| scheme);
        Err(StorageUriError(format!("{scheme:?} is not a storage Oriel knows; use file:///path or s3://bucket/prefix")))
    }

    fn in_bucket(uri: &str) -> Result<RecordingStorage, StorageUriError> {
        let bad = |why: String| StorageUriError(format!("{why} (in {uri:?})"));
        let url = url::Url::parse(uri).map_err(|e| bad(e.to_string()))?;
        let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| bad("no bucket: write s3://bucket/prefix".into()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("credentials do not belong in the URI: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket).with_region("us-east-1");
        let mut client = ClientOptions::new();
        let mut insecure = false;
        let mut endpoint = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "endpoint" => endpoint = Some(value.into_owned()),
                "region" => builder = builder.with_region(value.as_ref()),
                "ca" => {
                    let pem = std::fs::read(value.as_ref()).map_err(|e| bad(format!("cannot read the CA file {value}: {e}")))?;
                    for certificate in Certificate::from_pem_bundle(&pem).map_err(|e| bad(format!("the CA file {value}: {e}")))? {
                        client = client.with_root_certificate(certificate);
                    }
                }
                "insecure" => insecure = value == "true",
                other => return Err(bad(format!("unknown parameter {other:?}; expected endpoint, region, ca or insecure"))),
            }
        }
        if let Some(endpoint) = &endpoint {
            if endpoint.starts_with("http://") && !insecure {
                return Err(bad("the endpoint is http://: recordings would cross the network in the clear; use https, or add insecure=true".into()));
            }
            // S3-compatible servers are addressed by path, not by a bucket subdomain.
            builder = builder.with_endpoint(endpoint.as_str()).with_virtual_hosted_style_request(false).with_allow_http(insecure);
        }
        let objects = builder.with_client_options(client).build().map_err(|e| bad(e.to_string()))?;
        let prefix = Path::from(url.path().trim_matches('/'));
        let location = match &endpoint {
            Some(endpoint) => format!("s3://{bucket}/{prefix} at {endpoint}"),
            None => format!("s3://{bucket}/{prefix}"),
        };
        Ok(RecordingStorage { objects: Arc::new(objects), prefix, location })
    }

    /// The storage of the auth service whose data dir is `data_dir`: the
    /// `audit_sessions_uri` it noted ([`Self::note`]), else its
    /// `recordings` directory.
    pub fn noted(data_dir: &FsPath) -> Result<RecordingStorage, StorageUriError> {
        let file = data_dir.join(SESSIONS_URI_FILE);
        match std::fs::read_to_string(&file) {
            Ok(uri) => Self::from_uri(uri.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::in_directory(&data_dir.join("recordings")),
            Err(e) => Err(StorageUriError(format!("cannot read {}: {e}", file.display()))),
        }
    }

    /// Notes `uri` (`None`: the default directory) in `data_dir` for
    /// [`Self::noted`]. Owner-only: it names where recordings are, though
    /// never a secret.
    pub fn note(uri: Option<&str>, data_dir: &FsPath) -> std::io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = data_dir.join(SESSIONS_URI_FILE);
        let Some(uri) = uri else {
            return match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        };
        let temp = data_dir.join(format!("{SESSIONS_URI_FILE}.tmp"));
        let mut out = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)?;
        out.write_all(uri.as_bytes())?;
        out.sync_all()?;
        std::fs::rename(&temp, &file)
    }

    /// Where recordings go, for logs and errors.
    pub fn location(&self) -> &str {
        &self.location
    }

    fn path(&self, id: &RecordingId) -> Path {
        self.prefix.clone().join(format!("{id}.orec"))
    }

    /// The recording's size in bytes.
    pub async fn size(&self, id: &RecordingId) -> Result<u64, RecordingError> {
        Ok(self.objects.head(&self.path(id)).await?.size)
    }

    /// Bytes `range` of the recording.
    pub async fn read(&self, id: &RecordingId, range: std::ops::Range<u64>) -> Result<bytes::Bytes, RecordingError> {
        Ok(self.objects.get_range(&self.path(id), range).await?)
    }

    /// A writer for the recording: nothing is visible under its name until
    /// it is finished, and an aborted one leaves nothing.
    pub(crate) async fn writer(&self, id: &RecordingId) -> Result<WriteMultipart, RecordingError> {
        let upload = self.objects.put_multipart(&self.path(id)).await?;
        Ok(WriteMultipart::new(upload))
    }
}

fn make_private_dir(dir: &FsPath) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_uris_are_checked_before_use() {
        let refused = |uri: &str| RecordingStorage::from_uri(uri).unwrap_err().to_string();
        assert!(refused("s3://b/p?endpoint=http://127.0.0.1:9000").contains("in the clear"));
        assert!(refused("s3://key:secret@b/p").contains("credentials do not belong"));
        assert!(refused("s3://b/p?colour=blue").contains("unknown parameter \"colour\""));
        assert!(refused("s3:///p").contains("no bucket"));
        assert!(refused("gs://b/p").contains("\"gs\" is not a storage"));
        assert!(refused("s3://b/p?ca=/nonexistent.pem").contains("cannot read the CA file"));
        let storage = RecordingStorage::from_uri("s3://b/some/prefix/?endpoint=http://127.0.0.1:9000&insecure=true&region=eu-west-1").unwrap();
        assert_eq!(storage.location(), "s3://b/some/prefix at http://127.0.0.1:9000");
    }
}
