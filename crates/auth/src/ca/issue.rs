//! Issuing leaf certificates: short-lived, for one user or one host, each
//! with a fresh key.

use std::time::{Duration, SystemTime};

use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType};

use super::authority::{Authority, CLOCK_SKEW};
use super::extension::{self, Claims};
use super::identity::{HostIdentity, UserIdentity};
use super::{CaError, CertAuthority, IssuedCert, random_serial, whole_seconds, x509_time};

impl CertAuthority {
    /// A user certificate for `identity`, valid from `now` (less the clock
    /// skew) for `ttl`, signed by the user CA. It is for TLS clients only:
    /// a person never serves.
    pub fn issue_user(&self, identity: &UserIdentity, ttl: Duration, now: SystemTime) -> Result<IssuedCert, CaError> {
        if identity.user.is_empty() {
            return Err(CaError::InvalidIdentity("a user certificate needs a user name".into()));
        }
        let claims = Claims::User {
            roles: identity.roles.clone(),
            traits: identity.traits.clone(),
            user_id: identity.user_id.clone(),
            web_session: identity.web_session.clone(),
            session_mfa: identity.session_mfa.as_ref().map(|scope| extension::MfaClaim {
                kind: scope.kind.as_str().to_owned(),
                desktop: scope.desktop.clone(),
                login: scope.login.clone(),
                start_by: scope.start_by.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs(),
            }),
        };
        let params = leaf(&identity.user, &claims, ttl, now, vec![ExtendedKeyUsagePurpose::ClientAuth])?;
        sign(&self.user, params)
    }

    /// A host certificate for `identity`, signed by the host CA: a TLS
    /// server for its names and addresses, and a client when it dials other
    /// services.
    pub fn issue_host(&self, identity: &HostIdentity, ttl: Duration, now: SystemTime) -> Result<IssuedCert, CaError> {
        if identity.host_id.is_empty() {
            return Err(CaError::InvalidIdentity("a host certificate needs a host id".into()));
        }
        let claims = Claims::Host { role: identity.role };
        let eku = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let mut params = leaf(&identity.host_id, &claims, ttl, now, eku)?;
        for name in &identity.dns_names {
            let name = name.as_str().try_into().map_err(|_| CaError::InvalidIdentity(format!("{name:?} is not a DNS name")))?;
            params.subject_alt_names.push(SanType::DnsName(name));
        }
        params.subject_alt_names.extend(identity.ips.iter().copied().map(SanType::IpAddress));
        sign(&self.host, params)
    }
}

fn leaf(common_name: &str, claims: &Claims, ttl: Duration, now: SystemTime, eku: Vec<ExtendedKeyUsagePurpose>) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    params.serial_number = Some(random_serial()?);
    params.not_before = x509_time(now - CLOCK_SKEW);
    params.not_after = x509_time(now + ttl);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = eku;
    params.use_authority_key_identifier_extension = true;
    params.custom_extensions = vec![extension::encode(claims)];
    Ok(params)
}

fn sign(authority: &Authority, params: CertificateParams) -> Result<IssuedCert, CaError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let expires = whole_seconds(params.not_after.into());
    let cert = params.signed_by(&key, &authority.issuer)?;
    Ok(IssuedCert { cert_pem: cert.pem(), key_pem: key.serialize_pem(), cert_der: cert.der().to_vec(), expires })
}
