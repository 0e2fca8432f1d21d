//! Passwords, stored only as argon2id hashes in PHC string form.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

/// Shortest password accepted, in characters.
pub const MIN_LEN: usize = 12;
/// Longest password accepted, in bytes: hashing is deliberately costly, so
/// an unbounded input is a denial-of-service lever.
pub const MAX_LEN: usize = 1024;

/// Why a password cannot be set or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short to resist guessing.
    #[error("the password must have at least {MIN_LEN} characters")]
    TooShort,
    /// Longer than anyone types.
    #[error("the password must have at most {MAX_LEN} bytes")]
    TooLong,
    /// The stored hash is not a PHC string this build understands.
    #[error("stored password hash is unreadable")]
    BadHash,
    /// Hashing failed (out of memory for the cost parameters).
    #[error("hashing the password failed: {0}")]
    Hashing(String),
}

/// An argon2id hash in PHC form (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hashes are secrets too: they can be attacked offline.
        f.write_str("PasswordHashString(..)")
    }
}

impl PasswordHashString {
    /// Hashes a new password with a fresh random salt after checking its length.
    pub fn new(password: &str) -> Result<Self, PasswordError> {
        if password.chars().count() < MIN_LEN {
            return Err(PasswordError::TooShort);
        }
        if password.len() > MAX_LEN {
            return Err(PasswordError::TooLong);
        }
        let hash = Argon2::default().hash_password(password.as_bytes()).map_err(|e| PasswordError::Hashing(e.to_string()))?;
        Ok(Self(hash.to_string()))
    }

    /// Wraps a stored PHC string, checking that it parses.
    pub fn from_stored(stored: String) -> Result<Self, PasswordError> {
        PasswordHash::new(&stored).map_err(|_| PasswordError::BadHash)?;
        Ok(Self(stored))
    }

    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `password` is the one this hash was made from. Runs in time
    /// independent of where a wrong password differs.
    pub fn verify(&self, password: &str) -> bool {
        if password.len() > MAX_LEN {
            return false;
        }
        match PasswordHash::new(&self.0) {
            Ok(hash) => Argon2::default().verify_password(password.as_bytes(), &hash).is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = PasswordHashString::new("correct horse battery").unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$"));
        assert!(hash.verify("correct horse battery"));
        assert!(!hash.verify("correct horse batterY"));
        assert!(!hash.verify(""));
        let again = PasswordHashString::new("correct horse battery").unwrap();
        assert_ne!(hash, again, "every hash has its own salt");
        let stored = PasswordHashString::from_stored(hash.as_str().to_owned()).unwrap();
        assert!(stored.verify("correct horse battery"));
        assert_eq!(format!("{hash:?}"), "PasswordHashString(..)");
    }

    #[test]
    fn weak_or_huge_passwords_and_bad_hashes_are_refused() {
        assert_eq!(PasswordHashString::new("short"), Err(PasswordError::TooShort));
        assert_eq!(PasswordHashString::new(&"x".repeat(MAX_LEN + 1)), Err(PasswordError::TooLong));
        assert_eq!(PasswordHashString::from_stored("plaintext".into()), Err(PasswordError::BadHash));
    }
}
