//! Searching the directory for computers, through `ldap3` over LDAPS or
//! StartTLS (never in the clear: the bind sends a password), trusting only
//! the CAs configured for it, with a simple bind and paged results (Active
//! Directory returns at most 1000 entries a page).

use std::sync::Arc;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};

use super::computer::{ATTRIBUTES, DesktopRules, DirectoryEntry, DiscoveredDesktop, desktop, search_filter};

/// Entries per page of results.
const PAGE: i32 = 500;

/// How to reach and sign in to the directory.
#[derive(Clone)]
pub struct Directory {
    /// `ldaps://host:636`, or `ldap://host:389` with `start_tls`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS.
    pub start_tls: bool,
    /// The CAs (PEM) the directory's certificate must chain to.
    pub ca_pem: String,
    /// The account to bind as.
    pub bind_dn: String,
    /// Its password; never logged.
    pub password: String,
    /// Each connection and operation, at most.
    pub timeout: Duration,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").field("url", &self.url).field("start_tls", &self.start_tls).field("bind_dn", &self.bind_dn).finish_non_exhaustive()
    }
}

/// What to search for and how to make desktops of it.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Where in the directory.
    pub base_dn: String,
    /// LDAP filters every computer must match too.
    pub filters: Vec<String>,
    /// Names, labels and the RDP port.
    pub rules: DesktopRules,
}

/// Why the directory could not be searched. Never holds the password.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The settings cannot work.
    #[error("LDAP discovery is misconfigured: {0}")]
    Config(String),
    /// No connection (down, refused, TLS failed).
    #[error("cannot reach the LDAP server at {url}: {message}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        message: String,
    },
    /// The directory refused the bind.
    #[error("the LDAP server refused the bind as {bind_dn:?}: {message}")]
    Bind {
        /// As whom.
        bind_dn: String,
        /// Its answer.
        message: String,
    },
    /// The search failed.
    #[error("the LDAP search under {base_dn:?} failed: {message}")]
    Search {
        /// Where.
        base_dn: String,
        /// Why.
        message: String,
    },
}

/// Every computer under `search` in `directory` that makes a desktop, and
/// how many entries were skipped (logged with why).
pub async fn discover(directory: &Directory, search: &Search) -> Result<Vec<DiscoveredDesktop>, DiscoveryError> {
    let unreachable = |e: ldap3::LdapError| DiscoveryError::Unreachable { url: directory.url.clone(), message: e.to_string() };
    if !(directory.url.starts_with("ldaps://") || directory.start_tls) {
        return Err(DiscoveryError::Config(format!("{} would send the bind password in the clear: use ldaps://, or StartTLS", directory.url)));
    }
    let settings = LdapConnSettings::new().set_conn_timeout(directory.timeout).set_starttls(directory.start_tls).set_config(tls_config(&directory.ca_pem)?);
    let (connection, mut ldap) = LdapConnAsync::with_settings(settings, &directory.url).await.map_err(unreachable)?;
    ldap3::drive!(connection);
    ldap.with_timeout(directory.timeout);
    let bind = ldap.simple_bind(&directory.bind_dn, &directory.password).await.map_err(unreachable)?;
    bind.success().map_err(|e| DiscoveryError::Bind { bind_dn: directory.bind_dn.clone(), message: e.to_string() })?;

    let searched = |e: ldap3::LdapError| DiscoveryError::Search { base_dn: search.base_dn.clone(), message: e.to_string() };
    let mut attributes: Vec<String> = ATTRIBUTES.iter().map(|a| (*a).to_owned()).collect();
    attributes.extend(search.rules.label_attributes.iter().cloned());
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(PAGE))];
    ldap.with_timeout(directory.timeout);
    let mut stream =
        ldap.streaming_search_with(adapters, &search.base_dn, Scope::Subtree, &search_filter(&search.filters), attributes).await.map_err(searched)?;
    let mut desktops = Vec::new();
    while let Some(entry) = stream.next().await.map_err(searched)? {
        let SearchEntry { dn, attrs, bin_attrs } = SearchEntry::construct(entry);
        match desktop(&DirectoryEntry { dn, attrs, bin_attrs }, &search.rules) {
            Ok(found) => desktops.push(found),
            Err(skipped) => tracing::debug!(%skipped, "directory entry skipped"),
        }
    }
    stream.finish().await.success().map_err(searched)?;
    let _ = ldap.unbind().await;
    Ok(desktops)
}

/// TLS that trusts only `ca_pem`'s certificates.
fn tls_config(ca_pem: &str) -> Result<Arc<rustls::ClientConfig>, DiscoveryError> {
    let mut roots = rustls::RootCertStore::empty();
    for pem in x509_parser::pem::Pem::iter_from_buffer(ca_pem.as_bytes()) {
        let pem = pem.map_err(|e| DiscoveryError::Config(format!("the LDAP CA file is not PEM: {e}")))?;
        roots.add(pem.contents.into()).map_err(|e| DiscoveryError::Config(format!("the LDAP CA file: {e}")))?;
    }
    if roots.is_empty() {
        return Err(DiscoveryError::Config("the LDAP CA file holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DiscoveryError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
