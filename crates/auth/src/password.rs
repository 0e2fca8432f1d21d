//! Passwords, stored only as argon2id hashes in PHC string form.
//!
//! argon2 works in ~19 MiB of memory (the default parameters). Allocated
//! afresh for each hash, glibc keeps such blocks in each thread's arena
//! after the first is freed, and a login flood on the blocking pool's
//! threads left hundreds of MiB resident. So the memory is the caller's
//! ([`HashMemory`]), and `hashing.rs` reuses one per hashing slot.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};

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

/// Whether `password` may be set: long enough, not absurdly long. Cheap,
/// so a form can be refused before anything slower (a hash, a key touch).
pub fn check_rules(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// The largest argon2 memory a stored hash may ask for: 16 times the
/// default. A hash needing more is refused rather than allocated.
const MAX_MEMORY_BLOCKS: usize = 16 * Params::DEFAULT_M_COST as usize;

/// Salt length, as the argon2 crate's own hashes have it.
const SALT_LEN: usize = 16;

/// The memory one argon2 computation works in, kept for the next one.
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl std::fmt::Debug for HashMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HashMemory({} KiB)", self.0.len())
    }
}

impl HashMemory {
    /// `count` blocks, grown to that size if needed (never shrunk).
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..count]
    }
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
        Self::new_in(password, &mut HashMemory::default())
    }

    /// As [`Self::new`], working in `memory`.
    pub fn new_in(password: &str, memory: &mut HashMemory) -> Result<Self, PasswordError> {
        check_rules(password)?;
        let hashing = |e: &dyn std::fmt::Display| PasswordError::Hashing(e.to_string());
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|e| hashing(&e))?;
        let params = Params::default();
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory.blocks(params.block_count()))
            .map_err(|e| hashing(&e))?;
        let phc = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| hashing(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| hashing(&e))?),
            hash: Some(Output::new(&out).map_err(|e| hashing(&e))?),
        };
        Ok(Self(phc.to_string()))
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
        self.verify_in(password, &mut HashMemory::default())
    }

    /// As [`Self::verify`], working in `memory`.
    pub fn verify_in(&self, password: &str, memory: &mut HashMemory) -> bool {
        if password.len() > MAX_LEN {
            return false;
        }
        let Ok(phc) = PasswordHash::new(&self.0) else { return false };
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else { return false };
        let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else { return false };
        let Ok(version) = phc.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
        let Ok(params) = Params::try_from(&phc) else { return false };
        if params.block_count() > MAX_MEMORY_BLOCKS {
            return false;
        }
        let mut out = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params.clone());
        if argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory.blocks(params.block_count())).is_err() {
            return false;
        }
        // Output's equality is constant-time.
        Output::new(&out).is_ok_and(|computed| &computed == expected)
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
    fn hashes_agree_with_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let mut memory = HashMemory::default();
        let ours = PasswordHashString::new_in("correct horse battery", &mut memory).unwrap();
        let parsed = PasswordHash::new(ours.as_str()).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok(), "the crate verifies ours");
        let theirs = Argon2::default().hash_password(b"correct horse battery").unwrap().to_string();
        let theirs = PasswordHashString::from_stored(theirs).unwrap();
        assert!(theirs.verify_in("correct horse battery", &mut memory), "we verify the crate's, in reused memory");
        assert!(!theirs.verify_in("correct horse batterY", &mut memory));
    }

    #[test]
    fn weak_or_huge_passwords_and_bad_hashes_are_refused() {
        assert_eq!(PasswordHashString::new("short"), Err(PasswordError::TooShort));
        assert_eq!(PasswordHashString::new(&"x".repeat(MAX_LEN + 1)), Err(PasswordError::TooLong));
        assert_eq!(PasswordHashString::from_stored("plaintext".into()), Err(PasswordError::BadHash));
    }
}
