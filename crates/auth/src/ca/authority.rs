//! One certificate authority: its self-signed certificate and the key that
//! signs with it, made once and then loaded from storage.

use std::time::{Duration, SystemTime};

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{CaError, CaKind};
use crate::store::CertAuthorityRecord;

/// How long a CA certificate is valid. Long, like Teleport's CAs: rotating
/// one means re-issuing every certificate in the cluster (not built yet).
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Clock skew tolerated between the host that issues a certificate and the
/// host that checks it: certificates start this long before they are made.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// A loaded CA, ready to sign and to check signatures.
pub(crate) struct Authority {
    pub(crate) kind: CaKind,
    pub(crate) cert_pem: String,
    pub(crate) cert_der: Vec<u8>,
    pub(crate) issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    // The key stays out of every log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl Authority {
    /// A new CA of `kind`, valid from `now`, and its record for storage.
    pub(crate) fn generate(kind: CaKind, now: SystemTime) -> Result<(Self, CertAuthorityRecord), CaError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = ca_name(kind)?;
        params.serial_number = Some(super::random_serial()?);
        params.not_before = super::x509_time(now - CLOCK_SKEW);
        params.not_after = super::x509_time(now + CA_VALIDITY);
        // pathlen 0: the CA signs leaf certificates only, never another CA.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key)?;
        let record = CertAuthorityRecord { kind, cert_pem: cert.pem(), key_pem: key.serialize_pem() };
        // Loaded back like any stored CA, so a new CA and a loaded one sign alike.
        Ok((Self::from_record(&record)?, record))
    }

    /// The CA a stored record holds.
    pub(crate) fn from_record(record: &CertAuthorityRecord) -> Result<Self, CaError> {
        let corrupt = |detail: String| CaError::Corrupt { kind: record.kind, detail };
        let key = KeyPair::from_pem(&record.key_pem).map_err(|e| corrupt(format!("key: {e}")))?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(record.cert_pem.as_bytes()).map_err(|e| corrupt(format!("certificate: {e}")))?;
        let cert_der = pem.contents;
        let (_, cert) = X509Certificate::from_der(&cert_der).map_err(|e| corrupt(format!("certificate: {e}")))?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(corrupt("the key does not match the certificate".into()));
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der.as_slice().into(), key).map_err(|e| corrupt(format!("certificate: {e}")))?;
        Ok(Self { kind: record.kind, cert_pem: record.cert_pem.clone(), cert_der, issuer })
    }

    /// The CA's certificate, parsed (borrowing `self`).
    pub(crate) fn certificate(&self) -> X509Certificate<'_> {
        X509Certificate::from_der(&self.cert_der).expect("checked when loaded").1
    }
}

/// `CN=Oriel <kind> CA, OU=<random id>`: the random part tells two
/// clusters' CAs apart in an error message ("signed by another authority").
fn ca_name(kind: CaKind) -> Result<DistinguishedName, CaError> {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| CaError::Random(std::io::Error::other(e)))?;
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "Oriel");
    name.push(DnType::OrganizationalUnitName, hex::encode(id));
    name.push(DnType::CommonName, format!("Oriel {} CA", kind.as_str()));
    Ok(name)
}
