//! Bearer secrets (invite links, web session cookies): 32 random bytes shown
//! once as hex; only their SHA-256 is stored, so reading the store does not
//! let anyone log in.

use sha2::{Digest, Sha256};

/// A freshly made secret: the text for the holder, and the hash to store.
pub struct BearerSecret {
    /// Goes to the holder (a link, a cookie) and nowhere else; never logged.
    pub plain: String,
    /// Hex SHA-256 of `plain`: the storage key.
    pub hash: String,
}

impl std::fmt::Debug for BearerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerSecret").field("hash", &self.hash).finish_non_exhaustive()
    }
}

impl BearerSecret {
    /// 256 random bits.
    pub fn generate() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        let plain = hex::encode(bytes);
        let hash = hash(&plain);
        Ok(Self { plain, hash })
    }
}

/// The storage key for a presented secret. Presented text that is not 64
/// hex digits hashes to a key no stored secret has, so a lookup fails
/// without revealing why.
pub fn hash(plain: &str) -> String {
    hex::encode(Sha256::digest(plain.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_hash_is_not_the_secret_and_is_reproducible() {
        let secret = BearerSecret::generate().unwrap();
        assert_eq!(secret.plain.len(), 64);
        assert_ne!(secret.plain, secret.hash);
        assert_eq!(hash(&secret.plain), secret.hash);
        assert!(!format!("{secret:?}").contains(&secret.plain));
        assert_ne!(BearerSecret::generate().unwrap().plain, secret.plain);
    }
}
