//! Where a PostgreSQL store is, and the only two ways Oriel reaches it:
//!
//! - a unix socket on this machine, where the server can authenticate the
//!   connecting process by its operating-system user (peer authentication),
//!   so no password exists to leak; a URL with no host at all means the
//!   default socket directory, [`DEFAULT_SOCKET_DIR`];
//! - TCP with TLS that checks the server's certificate against a CA file and
//!   its name against the host (libpq's `sslmode=verify-full` with
//!   `sslrootcert=FILE`), and SCRAM with channel binding
//!   (`SCRAM-SHA-256-PLUS`), so the password never crosses the network and
//!   an authentication cannot be relayed through another server.
//!
//! Anything else (TCP in the clear, TLS that checks nothing, a password sent
//! as it is or as MD5) is refused before a connection is made, with a
//! sentence saying what to write instead. No error or `Debug` output repeats
//! the URL: it may hold a password.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use tokio_postgres::Config;
use tokio_postgres::config::{ChannelBinding, Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::BackendError;

/// The socket directory used when a URL names no host: Debian's (and most
/// distributions') `unix_socket_directories`.
pub const DEFAULT_SOCKET_DIR: &str = "/run/postgresql";

/// How a [`Target`] is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A unix socket on this machine, no TLS (the server sees who connects).
    UnixSocket,
    /// TCP with TLS checked against this CA file (PEM) and the host's name,
    /// and SCRAM with channel binding.
    VerifiedTls {
        /// The CA certificates the server's certificate must chain to.
        ca_file: PathBuf,
    },
}

/// A PostgreSQL database and a safe way to reach it, from a
/// `postgres://` or `postgresql://` URL.
#[derive(Clone)]
pub struct Target {
    url: String,
    config: Config,
    transport: Transport,
}

/// Why a PostgreSQL URL is refused. The messages never repeat the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a `postgres://` or `postgresql://` URL.
    #[error("a PostgreSQL store is named by a postgres:// or postgresql:// URL")]
    NotAUrl,
    /// The URL does not parse.
    #[error("the PostgreSQL URL does not parse: {0}")]
    BadUrl(String),
    /// A TCP host without TLS that checks the server.
    #[error(
        "PostgreSQL at {host} would be reached over TCP {how}: add `sslmode=verify-full&sslrootcert=/path/to/ca.pem` to the URL \
         (the CA that signed the server's certificate, which must name {host}), \
         or use a unix socket on this machine with peer authentication (`postgres:///DBNAME`, or `?host=/path/to/socket/dir`)"
    )]
    Unverified {
        /// The host as the URL names it.
        host: String,
        /// What the URL asked for instead.
        how: String,
    },
    /// `sslmode=verify-full` without a CA file.
    #[error(
        "PostgreSQL at {0}: sslmode=verify-full needs the CA that signed the server's certificate: add `sslrootcert=/path/to/ca.pem` (an absolute path)"
    )]
    NoRootCert(String),
    /// The CA file is given as a relative path.
    #[error(
        "sslrootcert must be an absolute path ({0} is relative), since orielctl may run from another directory"
    )]
    RelativeRootCert(PathBuf),
    /// TLS settings on a unix socket.
    #[error(
        "sslmode and sslrootcert apply to TCP hosts only: a unix socket on this machine is used without TLS, so leave them out"
    )]
    TlsOnSocket,
    /// Both unix sockets and TCP hosts.
    #[error("the PostgreSQL URL names both unix sockets and TCP hosts: name one kind")]
    Mixed,
}

impl Target {
    /// Reads a URL. A host that is a path (`host=/run/postgresql`, or a
    /// percent-encoded `%2Frun%2Fpostgresql`) is a unix socket; no host is
    /// [`DEFAULT_SOCKET_DIR`]; any other host needs `sslmode=verify-full`
    /// and `sslrootcert=/absolute/ca.pem`.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(TargetError::NotAUrl);
        }
        // tokio-postgres knows neither verify-full nor sslrootcert, so they
        // are taken out here and the rest is left to its parser. A `?` in
        // the user or password is percent-encoded, so the first one starts
        // the query.
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut ssl_mode = None;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = || {
                percent_decode_str(value)
                    .decode_utf8()
                    .map(|v| v.into_owned())
                    .map_err(|_| TargetError::BadUrl(format!("the value of `{key}` is not UTF-8")))
            };
            match key {
                "sslmode" => ssl_mode = Some(decoded()?),
                "sslrootcert" => root_cert = Some(PathBuf::from(decoded()?)),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: Config = rest
            .parse()
            .map_err(|e: tokio_postgres::Error| TargetError::BadUrl(e.to_string()))?;
        if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
            config.host_path(DEFAULT_SOCKET_DIR);
        }

        let sockets = config
            .get_hosts()
            .iter()
            .filter(|h| matches!(h, Host::Unix(_)))
            .count();
        let tcp_host = config
            .get_hosts()
            .iter()
            .find_map(|h| match h {
                Host::Tcp(name) => Some(name.clone()),
                Host::Unix(_) => None,
            })
            .or_else(|| config.get_hostaddrs().first().map(|ip| ip.to_string()));

        let transport = match tcp_host {
            None => {
                if ssl_mode.is_some() || root_cert.is_some() {
                    return Err(TargetError::TlsOnSocket);
                }
                config.ssl_mode(SslMode::Disable);
                Transport::UnixSocket
            }
            Some(_) if sockets > 0 => return Err(TargetError::Mixed),
            Some(host) => {
                match ssl_mode.as_deref() {
                    Some("verify-full") => {}
                    other => {
                        let how = match other {
                            None => "without TLS".to_owned(),
                            Some(mode) => format!(
                                "with sslmode={mode}, which does not check both the server's certificate and its name"
                            ),
                        };
                        return Err(TargetError::Unverified { host, how });
                    }
                }
                let ca_file = root_cert.ok_or_else(|| TargetError::NoRootCert(host.clone()))?;
                if !ca_file.is_absolute() {
                    return Err(TargetError::RelativeRootCert(ca_file));
                }
                config.ssl_mode(SslMode::Require);
                // Channel binding can only be done by SCRAM-SHA-256-PLUS:
                // a server asking for a cleartext or MD5 password, or for
                // none, is refused.
                config.channel_binding(ChannelBinding::Require);
                Transport::VerifiedTls { ca_file }
            }
        };
        Ok(Self {
            url: url.to_owned(),
            config,
            transport,
        })
    }

    /// The URL as given. It may hold a password: store it owner-only and
    /// never log or show it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The same server, reached the same way, but database `name` (a
    /// database made next to this one: tests, benchmarks).
    pub fn with_database(&self, name: &str) -> Result<Self, TargetError> {
        let (base, query) = self
            .url
            .split_once('?')
            .map_or((self.url.as_str(), None), |(base, query)| {
                (base, Some(query))
            });
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        match query {
            Some(query) => Self::parse(&format!("{server}/{name}?{query}")),
            None => Self::parse(&format!("{server}/{name}")),
        }
    }

    /// The connection settings, with TLS and channel binding set as the
    /// transport needs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How the database is reached.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The rustls connector for [`Transport::VerifiedTls`]: only the CA
    /// file's certificates are trusted (rustls checks the chain, the dates
    /// and the host name).
    pub(crate) fn tls(ca_file: &Path) -> Result<MakeRustlsConnect, BackendError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let failed = |detail: String| {
            BackendError::internal(format!(
                "cannot use the CA file {} (sslrootcert): {detail}",
                ca_file.display()
            ))
        };
        let pem = std::fs::read(ca_file).map_err(|e| failed(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| failed(e.to_string()))?;
            roots.add(cert).map_err(|e| failed(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(failed("it holds no PEM certificate".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| failed(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

impl fmt::Display for Target {
    // Hosts, port and database; never the user or the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        if hosts.is_empty() {
            hosts = self
                .config
                .get_hostaddrs()
                .iter()
                .map(|ip| ip.to_string())
                .collect();
        }
        let database = self.config.get_dbname().unwrap_or("(default database)");
        match &self.transport {
            Transport::UnixSocket => write!(f, "{}/{database} (unix socket)", hosts.join(",")),
            Transport::VerifiedTls { .. } => {
                write!(f, "{}/{database} (TLS, verify-full)", hosts.join(","))
            }
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("at", &self.to_string())
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> TargetError {
        Target::parse(url).expect_err(url)
    }

    #[test]
    fn a_socket_is_used_without_tls() {
        for (url, at) in [
            ("postgres:///oriel", "/run/postgresql/oriel"),
            (
                "postgresql:///oriel?host=/var/run/postgresql",
                "/var/run/postgresql/oriel",
            ),
            ("postgres://%2Ftmp%2Fpg:5433/oriel", "/tmp/pg/oriel"),
            (
                "postgres://oriel@%2Ftmp%2Fpg/oriel?application_name=x",
                "/tmp/pg/oriel",
            ),
        ] {
            let target = Target::parse(url).unwrap();
            assert_eq!(target.transport(), &Transport::UnixSocket, "{url}");
            assert_eq!(target.config().get_ssl_mode(), SslMode::Disable);
            assert_eq!(target.to_string(), format!("{at} (unix socket)"));
        }
    }

    #[test]
    fn tcp_needs_verify_full_with_a_ca_and_channel_binding() {
        let target = Target::parse(
            "postgres://oriel:pw@db.example.com:5432/oriel?sslmode=verify-full&sslrootcert=%2Fetc%2Foriel%2Fdb-ca.pem&application_name=oriel",
        )
        .unwrap();
        assert_eq!(
            target.transport(),
            &Transport::VerifiedTls {
                ca_file: "/etc/oriel/db-ca.pem".into()
            }
        );
        assert_eq!(target.config().get_ssl_mode(), SslMode::Require);
        assert_eq!(
            target.config().get_channel_binding(),
            ChannelBinding::Require
        );
        assert_eq!(target.config().get_application_name(), Some("oriel"));
        assert_eq!(
            target.to_string(),
            "db.example.com/oriel (TLS, verify-full)"
        );
    }

    #[test]
    fn tcp_without_verified_tls_is_refused_with_what_to_do() {
        // Loopback too: a password in the clear is refused wherever it goes.
        for url in [
            "postgres://oriel:hunter2@127.0.0.1:5432/oriel",
            "postgres://oriel:hunter2@localhost/oriel",
            "postgres://oriel:hunter2@db.example.com/oriel?sslmode=disable",
            "postgres://oriel:hunter2@db.example.com/oriel?sslmode=require&sslrootcert=/ca.pem",
            "postgres://oriel:hunter2@db.example.com/oriel?sslmode=verify-ca&sslrootcert=/ca.pem",
            "postgresql:///oriel?hostaddr=10.0.0.1&password=hunter2",
        ] {
            let error = refused(url);
            let message = error.to_string();
            assert!(
                matches!(error, TargetError::Unverified { .. }),
                "{url}: {message}"
            );
            assert!(
                message.contains("sslmode=verify-full&sslrootcert="),
                "{message}"
            );
            assert!(message.contains("unix socket"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn other_mistakes_are_named() {
        assert_eq!(
            refused("postgres://o:hunter2@db/o?sslmode=verify-full"),
            TargetError::NoRootCert("db".into())
        );
        assert_eq!(
            refused("postgres://o@db/o?sslmode=verify-full&sslrootcert=ca.pem"),
            TargetError::RelativeRootCert("ca.pem".into())
        );
        assert_eq!(
            refused("postgres:///o?sslmode=verify-full"),
            TargetError::TlsOnSocket
        );
        assert_eq!(refused("postgres://db,%2Ftmp/o"), TargetError::Mixed);
        assert_eq!(refused("mysql://x"), TargetError::NotAUrl);
        let bad = refused("postgres://a:hunter2@h:notaport/x");
        assert!(
            matches!(bad, TargetError::BadUrl(_)) && !bad.to_string().contains("hunter2"),
            "{bad}"
        );
    }

    #[test]
    fn another_database_on_the_same_server_keeps_how_it_is_reached() {
        let socket = Target::parse("postgresql://%2Ftmp%2Fpg:5432/oriel?user=me")
            .unwrap()
            .with_database("other")
            .unwrap();
        assert_eq!(socket.url(), "postgresql://%2Ftmp%2Fpg:5432/other?user=me");
        assert_eq!(socket.config().get_dbname(), Some("other"));
        let plain = Target::parse("postgres:///oriel")
            .unwrap()
            .with_database("bench")
            .unwrap();
        assert_eq!(plain.config().get_dbname(), Some("bench"));
    }

    #[test]
    fn the_password_is_never_shown() {
        let target = Target::parse(
            "postgres://oriel:hunter2@db.example.com/oriel?sslmode=verify-full&sslrootcert=/ca.pem",
        )
        .unwrap();
        let shown = format!("{target} {target:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("oriel:"),
            "{shown}"
        );
        assert!(shown.contains("db.example.com/oriel"), "{shown}");
        assert!(
            target.url().contains("hunter2"),
            "the URL is kept whole, to be recorded"
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("ca.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let message = Target::tls(&empty).err().unwrap().to_string();
        assert!(
            message.contains("no PEM certificate") && message.contains("ca.pem"),
            "{message}"
        );
        let missing = Target::tls(&dir.path().join("missing.pem"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            message.contains("sslrootcert") && missing.contains("missing.pem"),
            "{missing}"
        );
    }
}
