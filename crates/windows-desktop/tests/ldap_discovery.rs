//! LDAP discovery against a real directory: a private OpenLDAP slapd
//! (Debian's slapd) on loopback, over LDAPS and StartTLS with a test CA
//! (`scripts/test-ca`), holding computers with the Active Directory
//! attributes discovery reads (loaded as a small schema: slapd has no AD
//! schema of its own).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oriel_windows_desktop::discovery::{DesktopRules, Directory, DiscoveryError, Search, discover};

const SUFFIX: &str = "dc=example,dc=com";
const ADMIN: &str = "cn=admin,dc=example,dc=com";
const ADMIN_PASSWORD: &str = "directory secret";

/// The AD attributes and classes discovery reads (slapd has none).
const AD_SCHEMA: &str = include_str!("ldap/ad.schema");

/// The directory's entries (the web e2e test loads the same).
const DIRECTORY: &str = include_str!("ldap/directory.ldif");

/// A private slapd on two loopback ports: ldap:// (StartTLS) and ldaps://.
struct Slapd {
    child: Child,
    dir: tempfile::TempDir,
    ldap: u16,
    ldaps: u16,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require(program: &str) -> PathBuf {
    let path = ["/usr/sbin", "/usr/bin"].iter().map(|dir| Path::new(dir).join(program)).find(|p| p.is_file());
    path.unwrap_or_else(|| panic!("{program} is missing: install slapd and ldap-utils (scripts/install-deps)"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Slapd {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-ca")).arg(d.join("tls")).status().unwrap();
        assert!(ca.success(), "scripts/test-ca failed");
        std::fs::write(d.join("ad.schema"), AD_SCHEMA).unwrap();
        std::fs::create_dir(d.join("db")).unwrap();
        let config = format!(
            "include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\ninclude {schema}\n\
             pidfile {dir}/slapd.pid\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             TLSCACertificateFile {dir}/tls/ca.crt\nTLSCertificateFile {dir}/tls/server.crt\nTLSCertificateKeyFile {dir}/tls/server.key\n\
             database mdb\nmaxsize 10485760\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN}\"\nrootpw \"{ADMIN_PASSWORD}\"\ndirectory {dir}/db\n",
            schema = d.join("ad.schema").display(),
            dir = d.display(),
        );
        std::fs::write(d.join("slapd.conf"), config).unwrap();
        std::fs::write(d.join("directory.ldif"), DIRECTORY).unwrap();
        let loaded = Command::new(require("slapadd")).arg("-f").arg(d.join("slapd.conf")).arg("-l").arg(d.join("directory.ldif")).output().unwrap();
        assert!(loaded.status.success(), "slapadd: {}", String::from_utf8_lossy(&loaded.stderr));
        for attempt in 1.. {
            let (ldap, ldaps) = (free_port(), free_port());
            let mut child = Command::new(require("slapd"))
                .arg("-f")
                .arg(d.join("slapd.conf"))
                .args(["-h", &format!("ldap://127.0.0.1:{ldap}/ ldaps://127.0.0.1:{ldaps}/"), "-d", "0"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            let up = loop {
                if [ldap, ldaps].iter().all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok()) {
                    break true;
                }
                if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(50));
            };
            if up {
                return Self { child, dir, ldap, ldaps };
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(attempt < 5, "slapd did not listen");
        }
        unreachable!()
    }

    fn ca(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("tls").join(name)).unwrap()
    }

    fn ldaps(&self) -> Directory {
        Directory {
            url: format!("ldaps://127.0.0.1:{}", self.ldaps),
            start_tls: false,
            ca_pem: self.ca("ca.crt"),
            bind_dn: ADMIN.into(),
            password: ADMIN_PASSWORD.into(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Removes `dn` from the directory, as an administrator would.
    fn delete(&self, dn: &str) {
        let url = format!("ldap://127.0.0.1:{}", self.ldap);
        let out = Command::new(require("ldapdelete")).args(["-x", "-H", &url, "-D", ADMIN, "-w", ADMIN_PASSWORD, dn]).output().unwrap();
        assert!(out.status.success(), "ldapdelete: {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn search(filters: &[&str]) -> Search {
    Search {
        base_dn: SUFFIX.into(),
        filters: filters.iter().map(|f| (*f).to_owned()).collect(),
        rules: DesktopRules { rdp_port: 3389, domain: "example.com".into(), label_attributes: vec!["location".into()], base_labels: Default::default() },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn computers_appear_with_teleports_labels_a_filter_excludes_some_and_a_removed_one_leaves() {
    let slapd = Slapd::start();
    let mut found = discover(&slapd.ldaps(), &search(&[])).await.unwrap();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = found.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["dc1-example-com-01020304", "ws1-example-com-deadbeef"], "no Linux member, no entry without a DNS name, no gMSA");
    let ws1 = &found[1];
    assert_eq!(ws1.addr, "ws1.example.com:3389");
    let label = |key: &str| ws1.labels.get(key).map(String::as_str);
    assert_eq!(label("teleport.dev/origin"), Some("dynamic"));
    assert_eq!(label("teleport.dev/computer_name"), Some("WS1"));
    assert_eq!(label("teleport.dev/os"), Some("Windows 11 Enterprise"));
    assert_eq!(label("teleport.dev/os_version"), Some("10.0 (22631)"));
    assert_eq!(label("teleport.dev/ou"), Some("ou=Desktops,dc=example,dc=com"));
    assert_eq!(label("teleport.dev/windows_domain"), Some("example.com"));
    assert_eq!(label("ldap/location"), Some("Berlin"));
    assert_eq!(label("teleport.dev/is_domain_controller"), None);
    assert_eq!(found[0].labels.get("teleport.dev/is_domain_controller").map(String::as_str), Some("true"));

    // A filter of the configuration's own.
    let servers = discover(&slapd.ldaps(), &search(&["operatingSystem=Windows Server*"])).await.unwrap();
    assert_eq!(servers.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["dc1-example-com-01020304"]);

    // StartTLS on the plain port finds the same.
    let start_tls = Directory { url: format!("ldap://127.0.0.1:{}", slapd.ldap), start_tls: true, ..slapd.ldaps() };
    assert_eq!(discover(&start_tls, &search(&[])).await.unwrap().len(), 2);

    // The directory drops a computer: the next search no longer has it.
    slapd.delete("cn=WS1,ou=Desktops,dc=example,dc=com");
    let after = discover(&slapd.ldaps(), &search(&[])).await.unwrap();
    assert_eq!(after.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["dc1-example-com-01020304"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_that_is_down_untrusted_in_the_clear_or_refusing_the_bind_is_a_clear_error() {
    let slapd = Slapd::start();
    let wrong = Directory { password: "not the password".into(), ..slapd.ldaps() };
    let error = discover(&wrong, &search(&[])).await.unwrap_err();
    assert!(matches!(error, DiscoveryError::Bind { .. }), "{error}");
    assert!(!error.to_string().contains("not the password"), "{error}");

    let untrusted = Directory { ca_pem: slapd.ca("other-ca.crt"), ..slapd.ldaps() };
    let error = discover(&untrusted, &search(&[])).await.unwrap_err();
    assert!(matches!(error, DiscoveryError::Unreachable { .. }) && error.to_string().to_lowercase().contains("certificate"), "{error}");

    let clear = Directory { url: format!("ldap://127.0.0.1:{}", slapd.ldap), start_tls: false, ..slapd.ldaps() };
    let error = discover(&clear, &search(&[])).await.unwrap_err();
    assert!(error.to_string().contains("in the clear"), "{error}");

    let down = Directory { url: format!("ldaps://127.0.0.1:{}", free_port()), ..slapd.ldaps() };
    let error = discover(&down, &search(&[])).await.unwrap_err();
    assert!(error.to_string().starts_with("cannot reach the LDAP server at ldaps://127.0.0.1:"), "{error}");

    let bad_filter = discover(&slapd.ldaps(), &search(&["(broken"])).await.unwrap_err();
    assert!(matches!(bad_filter, DiscoveryError::Search { .. }), "{bad_filter}");
}
