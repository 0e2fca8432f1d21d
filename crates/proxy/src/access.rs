//! The random token that guards the websocket until the control plane
//! brings real logins.

/// A secret bearer token, compared in constant time and never logged.
#[derive(Clone)]
pub struct AccessToken(String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

impl AccessToken {
    /// 32 random bytes as hex.
    pub fn random() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
        Ok(Self(hex::encode(bytes)))
    }

    /// The token's text, for the URL printed at start.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this token, in time independent of where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::AccessToken;

    #[test]
    fn matches_only_itself() {
        let token = AccessToken::random().unwrap();
        assert!(token.matches(token.expose()));
        assert!(!token.matches(""));
        assert!(!token.matches(&token.expose()[1..]));
        assert_eq!(format!("{token:?}"), "AccessToken(..)");
    }
}
