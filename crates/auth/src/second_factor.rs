//! TOTP (RFC 6238) second factors: 6 digits, 30-second steps, SHA-1 (what
//! every authenticator app supports), one step of clock skew either way.
//! A code is accepted once: the step it matched is remembered and any code
//! of that step or an earlier one is refused afterwards (RFC 6238 §5.2).

use totp_rs::{Algorithm, Builder as TotpBuilder, Totp};

/// Bytes of a TOTP secret (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;
const DIGITS: u8 = 6;
const STEP_SECONDS: u64 = 30;
const SKEW_STEPS: u16 = 1;

/// Why a code was refused. Deliberately few cases: a caller must not tell an
/// attacker more than "wrong code".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecondFactorError {
    /// Not the current code (nor one step off).
    #[error("the code is wrong or has expired")]
    Wrong,
    /// The code was right but already used.
    #[error("the code was already used; wait for the next one")]
    Replayed,
    /// The stored secret is unusable.
    #[error("the second factor is misconfigured: {0}")]
    Setup(String),
}

/// A user's enrolled TOTP device: the secret and the last step accepted.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpDevice {
    secret: Vec<u8>,
    last_step: Option<u64>,
}

impl std::fmt::Debug for TotpDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpDevice").field("secret", &"..").field("last_step", &self.last_step).finish()
    }
}

impl TotpDevice {
    /// A new device with a random secret.
    pub fn generate() -> Result<Self, SecondFactorError> {
        let mut secret = vec![0u8; SECRET_LEN];
        getrandom::fill(&mut secret).map_err(|e| SecondFactorError::Setup(e.to_string()))?;
        Ok(Self { secret, last_step: None })
    }

    /// A device from the base32 secret an authenticator app was given (how
    /// tools and tests compute the codes a person would type).
    pub fn from_base32(secret: &str) -> Result<Self, SecondFactorError> {
        let secret = totp_rs::Secret::try_from_base32(secret).map_err(|e| SecondFactorError::Setup(e.to_string()))?;
        Ok(Self { secret: secret.to_vec(), last_step: None })
    }

    /// A device from storage.
    pub fn from_parts(secret: Vec<u8>, last_step: Option<u64>) -> Self {
        Self { secret, last_step }
    }

    /// The raw secret, for storage.
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The last step a code was accepted for, for storage.
    pub fn last_step(&self) -> Option<u64> {
        self.last_step
    }

    /// The secret in base32, as people type it into an authenticator app.
    pub fn secret_base32(&self) -> Result<String, SecondFactorError> {
        Ok(self.totp("x")?.secret().to_base32())
    }

    /// The `otpauth://` URL an authenticator app scans from a QR code.
    pub fn url(&self, issuer: &str, account: &str) -> Result<String, SecondFactorError> {
        let totp = TotpBuilder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.secret.clone())
            .with_issuer(Some(issuer.replace(':', " ")))
            .with_account_name(account.replace(':', " "))
            .build()
            .map_err(|e| SecondFactorError::Setup(e.to_string()))?;
        totp.to_url().map_err(|e| SecondFactorError::Setup(e.to_string()))
    }

    /// The code for `unix_seconds` (for tests and enrollment checks).
    pub fn code_at(&self, unix_seconds: u64) -> Result<String, SecondFactorError> {
        Ok(self.totp("x")?.generate(unix_seconds).to_string())
    }

    /// Accepts `code` at `unix_seconds` once. On success the device's
    /// `last_step` moves on: the caller must store it (with compare-and-swap,
    /// so two logins racing with one code cannot both win).
    pub fn verify(&mut self, code: &str, unix_seconds: u64) -> Result<(), SecondFactorError> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SecondFactorError::Wrong);
        }
        let step = self.totp("x")?.check(code, unix_seconds).ok_or(SecondFactorError::Wrong)?;
        if self.last_step.is_some_and(|last| step <= last) {
            return Err(SecondFactorError::Replayed);
        }
        self.last_step = Some(step);
        Ok(())
    }

    fn totp(&self, account: &str) -> Result<Totp, SecondFactorError> {
        TotpBuilder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.secret.clone())
            .with_account_name(account)
            .build()
            .map_err(|e| SecondFactorError::Setup(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_790_000_000;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59 s: 94287082 (8 digits);
        // its last 6 digits are the 6-digit code.
        let device = TotpDevice::from_parts(b"12345678901234567890".to_vec(), None);
        assert_eq!(device.code_at(59).unwrap(), "287082");
    }

    #[test]
    fn a_code_is_accepted_once_and_skew_is_one_step() {
        let mut device = TotpDevice::generate().unwrap();
        let code = device.code_at(T).unwrap();
        assert_eq!(device.verify(&code, T + 29), Ok(()), "same step or the next");
        assert_eq!(device.verify(&code, T + 1), Err(SecondFactorError::Replayed));
        let next = device.code_at(T + 30).unwrap();
        assert_eq!(device.verify(&next, T + 30), Ok(()));
        let old = device.code_at(T - 60).unwrap();
        assert_eq!(device.verify(&old, T + 30), Err(SecondFactorError::Wrong));
    }

    #[test]
    fn the_base32_secret_gives_the_same_codes() {
        let device = TotpDevice::generate().unwrap();
        let typed = TotpDevice::from_base32(&device.secret_base32().unwrap()).unwrap();
        assert_eq!(typed.code_at(T).unwrap(), device.code_at(T).unwrap());
        assert!(TotpDevice::from_base32("not base32!").is_err());
    }

    #[test]
    fn malformed_codes_are_wrong() {
        let mut device = TotpDevice::generate().unwrap();
        for code in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert_eq!(device.verify(code, T), Err(SecondFactorError::Wrong), "{code:?}");
        }
    }

    #[test]
    fn the_url_names_issuer_and_account() {
        let device = TotpDevice::generate().unwrap();
        let url = device.url("Oriel", "alice").unwrap();
        assert!(url.starts_with("otpauth://totp/Oriel:alice?"), "{url}");
        assert!(url.contains(&format!("secret={}", device.secret_base32().unwrap())));
        assert!(!format!("{device:?}").contains(&device.secret_base32().unwrap()));
    }
}
