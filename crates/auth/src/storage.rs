//! Where the control plane's store lives: the embedded SQLite file in the
//! data dir (the default), or a PostgreSQL database for clusters that outgrow
//! one machine. `oriel start` records its choice in the data dir so that
//! `orielctl` on the auth host opens the same store without being told.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oriel_backend::postgres::{Target, TargetError};
use oriel_backend::{Backend, BackendError, Options, PostgresBackend, SqliteBackend};

/// The file in the data dir that names a PostgreSQL store. It may hold a
/// password, so it is written owner-only.
pub const STORAGE_FILE: &str = "storage";

/// A store the control plane can open.
#[derive(Clone)]
pub enum StorageLocation {
    /// The embedded SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, through a unix socket on this machine (peer
    /// authentication) or over TCP with verified TLS and SCRAM. Its URL is
    /// kept whole for the record and never logged: it may carry a password.
    Postgres(Box<Target>),
}

impl std::fmt::Debug for StorageLocation {
    // The URL can hold a password: only the kind, hosts and database are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(target) => write!(f, "postgres on {target}"),
        }
    }
}

impl std::fmt::Display for StorageLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// Why the store cannot be chosen or opened.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The `--storage` value is neither `sqlite` nor a PostgreSQL URL.
    #[error("storage {0:?} is not understood: use `sqlite`, or a postgres:// URL (`postgres:///DBNAME` for the unix socket on this machine)")]
    Unknown(String),
    /// The PostgreSQL URL is refused: it does not parse, or it would reach
    /// the server without verified TLS (the message says what to write).
    #[error(transparent)]
    Postgres(#[from] TargetError),
    /// No data dir with a store in it.
    #[error("no Oriel data in {0} (start Oriel there first, or pass --data-dir)")]
    NoData(PathBuf),
    /// Reading or writing the storage file failed.
    #[error("{0}: {1}")]
    File(PathBuf, #[source] std::io::Error),
    /// The backend refused to open.
    #[error("cannot open the control plane's store ({location}): {source}")]
    Open {
        /// What was being opened.
        location: String,
        /// Why.
        #[source]
        source: BackendError,
    },
}

impl StorageLocation {
    /// The store named by `--storage` (`None` or `sqlite` is the data dir's
    /// SQLite file). A PostgreSQL URL must name a unix socket (no host at
    /// all is `/run/postgresql`) or a TCP host with
    /// `sslmode=verify-full&sslrootcert=/path/to/ca.pem`.
    pub fn parse(storage: Option<&str>, data_dir: &Path) -> Result<Self, StorageError> {
        match storage {
            None | Some("sqlite") => Ok(Self::Sqlite(crate::data_dir::database(data_dir))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(Self::Postgres(Box::new(Target::parse(url)?))),
            Some(other) => Err(StorageError::Unknown(other.to_owned())),
        }
    }

    /// The store `oriel start` uses: the one named, else the one recorded
    /// in `data_dir` by an earlier start, else SQLite.
    pub fn choose(storage: Option<&str>, data_dir: &Path) -> Result<Self, StorageError> {
        match storage {
            Some(_) => Self::parse(storage, data_dir),
            None if data_dir.join(STORAGE_FILE).exists() => Self::recorded(data_dir),
            None => Self::parse(None, data_dir),
        }
    }

    /// The store `oriel start` recorded in `data_dir`, for `orielctl`.
    pub fn recorded(data_dir: &Path) -> Result<Self, StorageError> {
        let file = data_dir.join(STORAGE_FILE);
        match std::fs::read_to_string(&file) {
            Ok(url) => Self::parse(Some(url.trim()), data_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let database = crate::data_dir::database(data_dir);
                if database.exists() { Ok(Self::Sqlite(database)) } else { Err(StorageError::NoData(data_dir.to_owned())) }
            }
            Err(e) => Err(StorageError::File(file, e)),
        }
    }

    /// Records this choice in `data_dir` (owner-only), or removes a stale
    /// record when the choice is SQLite.
    pub fn record(&self, data_dir: &Path) -> Result<(), StorageError> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = data_dir.join(STORAGE_FILE);
        match self {
            Self::Sqlite(_) => match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StorageError::File(file, e)),
                _ => Ok(()),
            },
            Self::Postgres(target) => {
                let temp = data_dir.join(format!("{STORAGE_FILE}.tmp"));
                let write = || -> std::io::Result<()> {
                    let mut out = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)?;
                    out.write_all(target.url().as_bytes())?;
                    out.sync_all()?;
                    std::fs::rename(&temp, &file)
                };
                write().map_err(|e| StorageError::File(file.clone(), e))
            }
        }
    }

    /// Opens the store.
    pub async fn open(&self) -> Result<Arc<dyn Backend>, StorageError> {
        let failed = |source| StorageError::Open { location: self.to_string(), source };
        match self {
            Self::Sqlite(path) => Ok(Arc::new(SqliteBackend::open(path, Options::default()).await.map_err(failed)?)),
            Self::Postgres(target) => Ok(Arc::new(PostgresBackend::open(target, Options::default()).await.map_err(failed)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_is_the_default() {
        let dir = Path::new("/data");
        assert!(matches!(StorageLocation::parse(None, dir).unwrap(), StorageLocation::Sqlite(p) if p == Path::new("/data/oriel.db")));
        assert!(matches!(StorageLocation::parse(Some("sqlite"), dir).unwrap(), StorageLocation::Sqlite(_)));
    }

    #[test]
    fn postgres_on_a_socket_or_over_verified_tls_is_accepted() {
        for url in [
            "postgres:///oriel",
            "postgresql:///oriel?host=/var/run/postgresql",
            "postgres://oriel@%2Frun%2Fpostgresql/oriel",
            "postgres://oriel:secret@db.example.com:5432/oriel?sslmode=verify-full&sslrootcert=/etc/oriel/db-ca.pem",
        ] {
            assert!(matches!(StorageLocation::parse(Some(url), Path::new("/d")), Ok(StorageLocation::Postgres(_))), "{url}");
        }
    }

    #[test]
    fn tcp_without_verified_tls_is_refused_with_what_to_do() {
        for url in ["postgres://oriel:hunter2@db.example.com/oriel", "postgres://oriel:hunter2@127.0.0.1:5432/oriel"] {
            let error = StorageLocation::parse(Some(url), Path::new("/d")).unwrap_err();
            let message = error.to_string();
            assert!(matches!(&error, StorageError::Postgres(TargetError::Unverified { .. })), "{message}");
            assert!(message.contains("sslmode=verify-full&sslrootcert=") && !message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn nonsense_is_a_clear_error() {
        assert!(matches!(StorageLocation::parse(Some("mysql://x"), Path::new("/d")), Err(StorageError::Unknown(_))));
        assert!(matches!(StorageLocation::parse(Some("postgres://a:b@%2Fs:notaport/x"), Path::new("/d")), Err(StorageError::Postgres(TargetError::BadUrl(_)))));
    }

    #[test]
    fn the_password_is_never_shown() {
        let url = "postgres://oriel:hunter2@db.example.com/oriel?sslmode=verify-full&sslrootcert=/ca.pem";
        let location = StorageLocation::parse(Some(url), Path::new("/d")).unwrap();
        let shown = format!("{location} {location:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.example.com/oriel"), "{shown}");
    }

    #[test]
    fn the_choice_is_recorded_owner_only_and_read_back() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(StorageLocation::recorded(dir.path()), Err(StorageError::NoData(_))));
        let postgres = StorageLocation::parse(Some("postgres://o:pw@%2Frun%2Fpostgresql/o"), dir.path()).unwrap();
        postgres.record(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(STORAGE_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(StorageLocation::recorded(dir.path()).unwrap(), StorageLocation::Postgres(target) if target.url().ends_with("/o")));
        StorageLocation::Sqlite(crate::data_dir::database(dir.path())).record(dir.path()).unwrap();
        assert!(!dir.path().join(STORAGE_FILE).exists());
    }
}
