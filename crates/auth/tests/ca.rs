//! The cluster's certificate authorities over real SQLite: issuing and
//! verifying user and host certificates, and every way a presented
//! certificate is refused.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::ca::{CaKind, CertAuthority, CertError, HostIdentity, HostRole, IDENTITY_OID, SessionMfaScope, UserIdentity};
use oriel_auth::store::Store;
use oriel_backend::{Options, SqliteBackend};

/// 2026-09-21T14:13:20Z.
const T0: Duration = Duration::from_secs(1_790_000_000);
const HOUR: Duration = Duration::from_secs(3600);

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + T0
}

async fn open(path: &Path) -> Store {
    Store::new(Arc::new(SqliteBackend::open(path, Options::default()).await.unwrap()))
}

async fn cluster() -> (CertAuthority, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("oriel.db")).await;
    (CertAuthority::load_or_create(&store, t0()).await.unwrap(), dir)
}

fn alice() -> UserIdentity {
    UserIdentity {
        user: "alice".into(),
        roles: vec!["access".into(), "auditor".into()],
        traits: BTreeMap::from([("linux_logins".into(), vec!["alice".into(), "dev".into()]), ("team".into(), vec!["ops".into()])]),
        // Both travel in the certificate: the user record's id and the
        // web session it came from.
        user_id: Some("9f86d081884c7d659a2feaa0c55ad015".into()),
        web_session: Some("2c26b46b68ffc68ff99b453c1d304134".into()),
        session_mfa: None,
    }
}

fn desktop_host() -> HostIdentity {
    HostIdentity {
        host_id: "5b1c0d3e-host".into(),
        role: HostRole::LinuxDesktop,
        dns_names: vec!["desk.example.com".into()],
        ips: vec![IpAddr::from([10, 0, 0, 7])],
    }
}

#[tokio::test]
async fn a_user_certificate_carries_the_user_roles_and_traits() {
    let (ca, _dir) = cluster().await;
    let cert = ca.issue_user(&alice(), 12 * HOUR, t0()).unwrap();
    assert_eq!(cert.expires, t0() + 12 * HOUR);
    assert!(cert.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(cert.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(!format!("{cert:?}").contains(&cert.key_pem), "the key stays out of Debug");

    assert_eq!(ca.verify_user(&cert.cert_der, t0()).unwrap().identity(), &alice());
    // Valid from a minute before issue (clock skew) to the end of the TTL.
    assert_eq!(ca.verify_user(&cert.cert_der, t0() - Duration::from_secs(60)).unwrap().identity(), &alice());
    assert_eq!(ca.verify_user(&cert.cert_der, t0() + 12 * HOUR).unwrap().identity(), &alice());

    let other = ca.issue_user(&alice(), HOUR, t0()).unwrap();
    assert_ne!(other.key_pem, cert.key_pem, "every certificate has its own key");
}

#[tokio::test]
async fn a_per_session_mfa_certificate_carries_its_desktop_login_and_start_window() {
    let (ca, _dir) = cluster().await;
    let scoped = UserIdentity {
        session_mfa: Some(SessionMfaScope {
            kind: oriel_rbac::DesktopKind::Linux,
            desktop: "dev-box".into(),
            login: "alice".into(),
            start_by: t0() + Duration::from_secs(60),
        }),
        ..alice()
    };
    let cert = ca.issue_user(&scoped, 12 * HOUR, t0()).unwrap();
    assert_eq!(ca.verify_user(&cert.cert_der, t0()).unwrap().identity(), &scoped);
}

#[tokio::test]
async fn a_host_certificate_carries_the_host_role_and_names() {
    let (ca, _dir) = cluster().await;
    let cert = ca.issue_host(&desktop_host(), HOUR, t0()).unwrap();
    assert_eq!(ca.verify_host(&cert.cert_der, t0()).unwrap(), desktop_host());
    for role in [HostRole::Auth, HostRole::Proxy, HostRole::Admin] {
        let host = HostIdentity { role, ..desktop_host() };
        assert_eq!(ca.verify_host(&ca.issue_host(&host, HOUR, t0()).unwrap().cert_der, t0()).unwrap().role, role);
    }
}

#[tokio::test]
async fn a_host_certificate_checks_against_the_host_ca_certificate_alone() {
    let (ca, _dir) = cluster().await;
    let (other, _other_dir) = cluster().await;
    let root = |ca: &CertAuthority, kind: &str| {
        let pem = if kind == "host" { ca.host_ca_pem() } else { ca.user_ca_pem() };
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap().1.contents
    };
    let host_root = root(&ca, "host");
    let cert = ca.issue_host(&desktop_host(), HOUR, t0()).unwrap();
    assert_eq!(oriel_auth::ca::verify_host_with_root(&host_root, &cert.cert_der, t0()).unwrap(), desktop_host());
    let late = oriel_auth::ca::verify_host_with_root(&host_root, &cert.cert_der, t0() + 2 * HOUR).unwrap_err();
    assert!(matches!(late, CertError::Expired { .. }), "{late}");
    let foreign = other.issue_host(&desktop_host(), HOUR, t0()).unwrap();
    let refused = oriel_auth::ca::verify_host_with_root(&host_root, &foreign.cert_der, t0()).unwrap_err();
    assert!(matches!(refused, CertError::OtherAuthority { expected: CaKind::Host, .. }), "{refused}");
    let user = ca.issue_user(&alice(), HOUR, t0()).unwrap();
    assert!(oriel_auth::ca::verify_host_with_root(&host_root, &user.cert_der, t0()).is_err());
    assert!(oriel_auth::ca::verify_host_with_root(&root(&ca, "user"), &user.cert_der, t0()).is_err(), "a user certificate is never a host's");
}

#[tokio::test]
async fn certificates_are_refused_outside_their_validity() {
    let (ca, _dir) = cluster().await;
    let cert = ca.issue_user(&alice(), HOUR, t0()).unwrap();
    let expired = ca.verify_user(&cert.cert_der, t0() + HOUR + Duration::from_secs(1)).unwrap_err();
    assert_eq!(expired, CertError::Expired { at: t0() + HOUR });
    assert_eq!(expired.to_string(), "the certificate expired at 2026-09-21T15:13:20Z");

    let early = ca.verify_user(&cert.cert_der, t0() - Duration::from_secs(61)).unwrap_err();
    assert_eq!(early.to_string(), "the certificate is not valid before 2026-09-21T14:12:20Z (check the clocks)");

    let host = ca.issue_host(&desktop_host(), HOUR, t0()).unwrap();
    assert!(matches!(ca.verify_host(&host.cert_der, t0() + 2 * HOUR), Err(CertError::Expired { .. })));
}

#[tokio::test]
async fn a_certificate_of_another_cluster_is_refused() {
    let (ca, _dir) = cluster().await;
    let (elsewhere, _other_dir) = cluster().await;
    assert_ne!(ca.user_ca_pem(), elsewhere.user_ca_pem());
    let foreign = elsewhere.issue_user(&alice(), HOUR, t0()).unwrap();
    let err = ca.verify_user(&foreign.cert_der, t0()).unwrap_err();
    assert!(matches!(err, CertError::OtherAuthority { expected: CaKind::User, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("the certificate was signed by another authority (O=Oriel, OU="), "{message}");
    assert!(message.ends_with(", CN=Oriel user CA), not by this cluster's user CA"), "{message}");

    let foreign_host = elsewhere.issue_host(&desktop_host(), HOUR, t0()).unwrap();
    assert!(matches!(ca.verify_host(&foreign_host.cert_der, t0()), Err(CertError::OtherAuthority { expected: CaKind::Host, .. })));
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_even_with_an_oriel_identity() {
    let (ca, _dir) = cluster().await;
    let plain = rcgen::generate_simple_self_signed(vec!["alice".to_owned()]).unwrap();
    let err = ca.verify_user(plain.cert.der(), t0()).unwrap_err();
    assert_eq!(err.to_string(), "the certificate is self-signed, not signed by this cluster's user CA");

    // Forged: the right name and the identity extension, but its own key.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, "alice");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let json = br#"{"v":1,"kind":"user","roles":["admin"],"traits":{}}"#;
    let mut value = vec![0x0c, json.len() as u8];
    value.extend_from_slice(json);
    params.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(IDENTITY_OID, value)];
    let forged = params.self_signed(&key).unwrap();
    assert_eq!(ca.verify_user(forged.der(), t0()).unwrap_err(), CertError::SelfSigned { expected: CaKind::User });
}

#[tokio::test]
async fn a_host_certificate_is_not_a_user_certificate_and_the_other_way_round() {
    let (ca, _dir) = cluster().await;
    let host = ca.issue_host(&desktop_host(), HOUR, t0()).unwrap();
    let err = ca.verify_user(&host.cert_der, t0()).unwrap_err();
    assert_eq!(err.to_string(), "a host certificate is not a user certificate");

    let user = ca.issue_user(&alice(), HOUR, t0()).unwrap();
    let err = ca.verify_host(&user.cert_der, t0()).unwrap_err();
    assert_eq!(err.to_string(), "a user certificate is not a host certificate");
}

#[tokio::test]
async fn a_ca_certificate_is_not_a_leaf() {
    let (ca, _dir) = cluster().await;
    let (_, pem) = x509_parser::pem::parse_x509_pem(ca.user_ca_pem().as_bytes()).unwrap();
    let err = ca.verify_user(&pem.contents, t0()).unwrap_err();
    assert_eq!(err.to_string(), "a certificate authority certificate is not a user certificate");
}

#[tokio::test]
async fn garbage_is_malformed() {
    let (ca, _dir) = cluster().await;
    for bytes in [&b""[..], b"not a certificate", &[0x30, 0x82, 0xff, 0xff, 0x00]] {
        let err = ca.verify_user(bytes, t0()).unwrap_err();
        assert!(matches!(err, CertError::Malformed(_)), "{bytes:?}: {err:?}");
        assert!(err.to_string().starts_with("malformed certificate: "), "{err}");
    }
    let mut trailing = ca.issue_user(&alice(), HOUR, t0()).unwrap().cert_der;
    trailing.push(0);
    assert_eq!(ca.verify_user(&trailing, t0()).unwrap_err().to_string(), "malformed certificate: trailing bytes after the certificate");
    // One flipped bit in the signed part: no longer this CA's signature.
    let mut tampered = ca.issue_user(&alice(), HOUR, t0()).unwrap().cert_der;
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    assert!(ca.verify_user(&tampered, t0()).is_err());
}

#[tokio::test]
async fn an_empty_name_is_not_issued() {
    let (ca, _dir) = cluster().await;
    let err = ca.issue_user(&UserIdentity::default(), HOUR, t0()).unwrap_err();
    assert_eq!(err.to_string(), "cannot issue a certificate: a user certificate needs a user name");
}

#[tokio::test]
async fn the_cas_are_kept_in_the_store_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oriel.db");
    let first = CertAuthority::load_or_create(&open(&path).await, t0()).await.unwrap();
    let cert = first.issue_user(&alice(), HOUR, t0()).unwrap();
    assert_ne!(first.user_ca_pem(), first.host_ca_pem(), "two CAs, two keys");

    let reopened = CertAuthority::load_or_create(&open(&path).await, t0() + HOUR).await.unwrap();
    assert_eq!(reopened.user_ca_pem(), first.user_ca_pem());
    assert_eq!(reopened.host_ca_pem(), first.host_ca_pem());
    assert_eq!(reopened.verify_user(&cert.cert_der, t0()).unwrap().identity(), &alice(), "signed before the restart");
    let after = reopened.issue_user(&alice(), HOUR, t0()).unwrap();
    assert_eq!(first.verify_user(&after.cert_der, t0()).unwrap().identity(), &alice(), "signed after the restart, same key");
}

#[tokio::test]
async fn two_processes_creating_the_cas_at_once_agree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oriel.db");
    // Two backends on one file, as two processes would have.
    let (a, b) = (open(&path).await, open(&path).await);
    for _ in 0..3 {
        let (x, y) = tokio::join!(CertAuthority::load_or_create(&a, t0()), CertAuthority::load_or_create(&b, t0()));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert_eq!(x.user_ca_pem(), y.user_ca_pem());
        assert_eq!(x.host_ca_pem(), y.host_ca_pem());
        let cert = x.issue_user(&alice(), HOUR, t0()).unwrap();
        assert_eq!(y.verify_user(&cert.cert_der, t0()).unwrap().identity(), &alice());
    }
}

#[tokio::test]
async fn the_ca_key_is_not_in_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("oriel.db")).await;
    let ca = CertAuthority::load_or_create(&store, t0()).await.unwrap();
    let record = store.cert_authority(CaKind::User).await.unwrap();
    assert_eq!(record.cert_pem, ca.user_ca_pem());
    assert!(!format!("{record:?}").contains(&record.key_pem));
    assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
}
