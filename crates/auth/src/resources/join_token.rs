//! Join tokens: how a new desktop service proves it may join the cluster.
//! The secret itself is never stored, only its SHA-256, so a leaked store
//! does not leak usable tokens.

use std::time::SystemTime;

/// What a token lets a process join as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinRole {
    /// A Linux desktop service.
    LinuxDesktop,
    /// A Windows desktop service.
    WindowsDesktop,
    /// A proxy.
    Proxy,
}

impl JoinRole {
    /// The name used in `--type=` and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LinuxDesktop => "linux_desktop",
            Self::WindowsDesktop => "windows_desktop",
            Self::Proxy => "proxy",
        }
    }
}

impl std::str::FromStr for JoinRole {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "linux_desktop" => Ok(Self::LinuxDesktop),
            "windows_desktop" => Ok(Self::WindowsDesktop),
            "proxy" => Ok(Self::Proxy),
            other => Err(TokenError::UnknownType(other.to_owned())),
        }
    }
}

/// Why a token is refused. The messages are safe to show to the joining process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No such token: never made, removed, or expired and swept away.
    #[error("the join token is not valid: it is unknown, was removed, or has expired (make one with `orielctl tokens add`)")]
    Unknown,
    /// Past its expiry.
    #[error("the join token has expired")]
    Expired,
    /// A one-time token already used.
    #[error("the join token was already used")]
    Used,
    /// Issued for another kind of process.
    #[error("the join token is for {allowed}, not {wanted}")]
    WrongType {
        /// What the token allows.
        allowed: String,
        /// What was asked.
        wanted: &'static str,
    },
    /// A type name Oriel does not know.
    #[error("unknown token type {0:?} (expected linux_desktop, windows_desktop or proxy)")]
    UnknownType(String),
}

/// A join token as stored (by the hash of its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// Hex SHA-256 of the secret: the storage name.
    pub secret_hash: String,
    /// What it allows joining as.
    pub roles: Vec<JoinRole>,
    /// When it stops working.
    pub expires: SystemTime,
    /// One use only (the default for `tokens add`).
    pub one_time: bool,
    /// Whether a one-time token was used.
    pub used: bool,
}

impl JoinToken {
    /// Checks a join attempt as `wanted` at `now`. On success the caller marks
    /// a one-time token used, with compare-and-swap so two joins cannot share it.
    pub fn check(&self, wanted: JoinRole, now: SystemTime) -> Result<(), TokenError> {
        if self.expires <= now {
            return Err(TokenError::Expired);
        }
        if self.one_time && self.used {
            return Err(TokenError::Used);
        }
        if !self.roles.contains(&wanted) {
            let allowed = self.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
            return Err(TokenError::WrongType { allowed, wanted: wanted.as_str() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expired_used_and_mistyped_tokens_are_refused_with_their_reason() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let token =
            JoinToken { secret_hash: "ab".into(), roles: vec![JoinRole::LinuxDesktop], expires: now + Duration::from_secs(60), one_time: true, used: false };
        assert_eq!(token.check(JoinRole::LinuxDesktop, now), Ok(()));
        assert_eq!(token.check(JoinRole::Proxy, now).unwrap_err().to_string(), "the join token is for linux_desktop, not proxy");
        assert_eq!(token.check(JoinRole::LinuxDesktop, now + Duration::from_secs(60)), Err(TokenError::Expired));
        let used = JoinToken { used: true, ..token.clone() };
        assert_eq!(used.check(JoinRole::LinuxDesktop, now), Err(TokenError::Used));
        let reusable = JoinToken { used: true, one_time: false, ..token };
        assert_eq!(reusable.check(JoinRole::LinuxDesktop, now), Ok(()));
        assert_eq!("windows".parse::<JoinRole>(), Err(TokenError::UnknownType("windows".into())));
    }
}
