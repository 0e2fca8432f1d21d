//! Invites: the one-time link on which a new user sets a password and
//! enrolls a second factor.

use std::time::SystemTime;

/// An invite as stored (by the hash of its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// Hex SHA-256 of the secret in the link.
    pub secret_hash: String,
    /// The invited user.
    pub user: String,
    /// The invited user's id ([`crate::resources::user::User::id`]): an
    /// invite of a user removed since does not enroll one made again under
    /// the same name.
    pub user_id: String,
    /// When the link stops working.
    pub expires: SystemTime,
    /// The TOTP secret shown on the invite page, kept so that reloading the
    /// page shows the same QR code until enrollment completes.
    pub totp_secret: Option<Vec<u8>>,
}
