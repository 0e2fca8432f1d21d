//! The accounts Windows desktops are signed in to with (`ad: false` hosts):
//! `windows_desktop_service.credentials_file`, a YAML file only its owner
//! may read, mapping each host and RBAC login to an account there:
//!
//! ```yaml
//! hosts:
//!   dev-win:              # a static_hosts name
//!     Administrator:      # a login of windows_desktop_logins
//!       username: Administrator
//!       password: "…"
//!       domain: EXAMPLE   # optional
//! discovered:             # every host LDAP discovery finds (domain accounts)
//!   alice:
//!     username: alice
//!     password: "…"
//!     domain: EXAMPLE
//! ```
//!
//! Passwords are read here and go only to the session process that signs
//! in; they are never logged, never in an error, never sent to a browser.

use std::collections::BTreeMap;
use std::path::Path;

use oriel_linux_desktop::RdpAccount;
use oriel_rbac::ParseError;

use super::fields::{At, mapping, string};
use super::mapping_any;

/// The accounts of the file.
#[derive(Debug, Default)]
pub struct Credentials {
    /// Per static host's name, per login: the account.
    pub hosts: BTreeMap<String, BTreeMap<String, RdpAccount>>,
    /// Per login: the account on every host discovery finds.
    pub discovered: BTreeMap<String, RdpAccount>,
}

/// Why the file cannot be used; never quotes a password.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// It cannot be read.
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    /// Others may read it.
    #[error("{0} may be read by others (mode {1:o}): it holds passwords; chmod 600 it")]
    Open(String, u32),
    /// Someone else owns it, who could change it.
    #[error("{0} belongs to user {1}, not to this service's user or root: whoever owns it can change the passwords")]
    Owner(String, u32),
    /// It says something this does not take.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// A password exactly as written: YAML reads `007` as 7 and `yes` as
/// true, so anything but a string is refused rather than changed.
fn password_text(at: &At, node: &oriel_rbac::document::Node) -> Result<String, ParseError> {
    match &node.value {
        oriel_rbac::document::Value::Str(text) if !text.is_empty() => Ok(text.clone()),
        _ => Err(at.error("write the password as a quoted string (\"…\"): YAML would read it as something else")),
    }
}

/// Reads the credentials file at `path`.
pub fn read(path: &Path) -> Result<Credentials, CredentialsError> {
    let text = read_private(path)?;
    Ok(parse(&path.display().to_string(), &text)?)
}

/// A secret kept alone in a file only its owner may read (the LDAP bind
/// password), without its trailing newline.
pub fn read_secret(path: &Path) -> Result<String, CredentialsError> {
    let text = read_private(path)?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// The text of `path`, refused when others may read it.
fn read_private(path: &Path) -> Result<String, CredentialsError> {
    use std::os::unix::fs::MetadataExt as _;
    let shown = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|e| CredentialsError::Read(shown.clone(), e))?;
    if metadata.mode() & 0o077 != 0 {
        return Err(CredentialsError::Open(shown, metadata.mode() & 0o777));
    }
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me && metadata.uid() != 0 {
        return Err(CredentialsError::Owner(shown, metadata.uid()));
    }
    std::fs::read_to_string(path).map_err(|e| CredentialsError::Read(shown, e))
}

/// The file's text as credentials; `source` names it in errors.
pub fn parse(source: &str, text: &str) -> Result<Credentials, ParseError> {
    let documents = oriel_rbac::document::load_documents(source, text)?;
    let Some(root) = documents.first() else { return Ok(Credentials::default()) };
    let at = At::root(source, root);
    let mut credentials = Credentials::default();
    for entry in mapping(&at, root, &["hosts", "discovered"])? {
        let at = at.key(entry);
        match entry.key.as_str() {
            "hosts" => {
                for host in mapping_any(&at, &entry.value)? {
                    let logins = accounts(&at.key(host), &host.value)?;
                    credentials.hosts.insert(host.key.clone(), logins);
                }
            }
            "discovered" => credentials.discovered = accounts(&at, &entry.value)?,
            _ => unreachable!("mapping refuses unknown keys"),
        }
    }
    Ok(credentials)
}

/// Per login, an account: `username`, `password`, `domain`.
fn accounts(at: &At, node: &oriel_rbac::document::Node) -> Result<BTreeMap<String, RdpAccount>, ParseError> {
    let mut logins = BTreeMap::new();
    for login in mapping_any(at, node)? {
        let at = at.key(login);
        let (mut username, mut password, mut domain) = (None, None, String::new());
        for field in mapping(&at, &login.value, &["username", "password", "domain"])? {
            let at = at.key(field);
            match field.key.as_str() {
                "username" => username = Some(string(&at, &field.value)?),
                "password" => password = Some(password_text(&at, &field.value)?),
                "domain" => domain = string(&at, &field.value)?,
                _ => unreachable!("mapping refuses unknown keys"),
            }
        }
        let Some(username) = username else { return Err(at.error("username is missing")) };
        let Some(password) = password else { return Err(at.error("password is missing")) };
        logins.insert(login.key.clone(), RdpAccount { username, password, domain });
    }
    Ok(logins)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_per_host_and_login_and_mistakes_named_without_the_password() {
        let text = "hosts:\n  dev-win:\n    Administrator:\n      username: admin\n      password: s3cret pass\n      domain: EX\n";
        let credentials = parse("creds.yaml", text).unwrap();
        let account = &credentials.hosts["dev-win"]["Administrator"];
        assert_eq!((account.username.as_str(), account.password.as_str(), account.domain.as_str()), ("admin", "s3cret pass", "EX"));
        assert!(!format!("{account:?}").contains("s3cret"));
        let missing = parse("creds.yaml", "hosts:\n  dev-win:\n    alice:\n      password: hunter2\n").unwrap_err().to_string();
        assert!(missing.starts_with("creds.yaml:4:7") && missing.contains("username is missing") && !missing.contains("hunter2"), "{missing}");
        let number = parse("creds.yaml", "hosts:\n  w:\n    a:\n      username: u\n      password: 007\n").unwrap_err().to_string();
        assert!(number.contains("quoted string"), "{number}");
        assert_eq!(parse("creds.yaml", "hosts:\n  w:\n    a:\n      username: u\n      password: \"007\"\n").unwrap().hosts["w"]["a"].password, "007");
        let typo = parse("creds.yaml", "hosts:\n  w:\n    a:\n      username: u\n      pasword: hunter2\n").unwrap_err().to_string();
        assert!(typo.contains("unknown key") && !typo.contains("hunter2"), "{typo}");
        let domain = "discovered:\n  alice:\n    username: alice\n    password: \"p w\"\n    domain: EXAMPLE\n";
        let discovered = parse("creds.yaml", domain).unwrap().discovered;
        assert_eq!((discovered["alice"].username.as_str(), discovered["alice"].domain.as_str()), ("alice", "EXAMPLE"));
    }

    #[test]
    fn a_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.yaml");
        std::fs::write(&path, "hosts: {}\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read(&path).unwrap().hosts.is_empty());
    }
}
