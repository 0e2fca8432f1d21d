//! The PAM account and session stages for a desktop session (service name
//! `oriel`, `/etc/pam.d/oriel`; PAM falls back to `other` without it).
//! There is no authentication stage: the user proved who they are with the
//! certificate, as with Teleport.

use pam_client2::{Context, Flag, SessionToken, conv_null::Conversation};

use super::LoginError;

/// The PAM service name.
pub const SERVICE: &str = "oriel";

/// An open PAM session, closed (pam_close_session, then the credentials
/// deleted) when dropped.
pub struct PamSession {
    // The session borrows the context; the token lets it be kept beside it.
    context: Context<Conversation>,
    token: Option<SessionToken>,
    login: String,
}

impl PamSession {
    /// Checks the account (expired, locked by pam_access or pam_time, …) and
    /// opens a session for `login` on X display `display`.
    pub fn open(login: &str, display: &str) -> Result<Self, LoginError> {
        let refused = |stage, error: pam_client2::Error| LoginError::Pam { login: login.to_owned(), stage, reason: error.to_string() };
        let mut context = Context::new(SERVICE, Some(login), Conversation::new()).map_err(|e| refused("start", e))?;
        // pam_systemd and pam_lastlog read the tty; for X it is the display.
        context.set_tty(Some(display)).map_err(|e| refused("start", e))?;
        context.acct_mgmt(Flag::SILENT).map_err(|e| refused("account", e))?;
        let token = context.open_session(Flag::SILENT).map_err(|e| refused("session", e))?.leak();
        tracing::debug!(login, "PAM session open");
        Ok(Self { context, token: Some(token), login: login.to_owned() })
    }

    /// The variables PAM's modules set for the session.
    pub fn environment(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        self.context.envlist().iter_tuples().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }
}

impl Drop for PamSession {
    fn drop(&mut self) {
        if let Some(token) = self.token.take() {
            let session = self.context.unleak_session(token);
            if let Err(error) = session.close(Flag::SILENT) {
                tracing::warn!(login = %self.login, error = %error.to_string(), "closing the PAM session failed");
            }
        }
    }
}
