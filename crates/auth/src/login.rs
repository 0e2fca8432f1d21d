//! Logging in: invites (set a password, enroll TOTP) and password + code
//! logins, both ending in a web session that holds a user certificate for
//! as long as the session lasts. Failures say as little as possible to the
//! client and are throttled (`throttle.rs`: reserved before any hashing,
//! per client network and per user and network, and per user only for
//! wrong codes); argon2 runs a few at a time (`hashing.rs`).

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::audit::{AuditEvent, EventType};
use crate::bearer::{self, BearerSecret};
use crate::ca::{CaError, CertAuthority, UserIdentity};
use crate::control_plane::ControlPlane;
use crate::hashing::{Busy, Lane};
use crate::password::PasswordError;
use crate::resources::invite::Invite;
use crate::resources::user::{Credentials, User};
use crate::second_factor::{SecondFactorError, TotpDevice};
use crate::store::{StoreError, WebSession};
use crate::throttle::{Attempt, LoginThrottle, Outcome, Throttled};

/// How long a web session lasts.
pub const WEB_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The issuer authenticator apps show.
pub const TOTP_ISSUER: &str = "Oriel";

/// Why a login or enrollment was refused. `Display` is what the client sees.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong user, password or second factor; deliberately one message for all.
    #[error("wrong user name, password or second factor")]
    Rejected,
    /// Too many failures.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// Too many password checks at once; the client may retry soon.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The invite link is unknown, used or expired.
    #[error("this invite link is invalid, used or expired")]
    BadInvite,
    /// The new password is not acceptable.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The enrollment code is wrong.
    #[error(transparent)]
    Code(#[from] SecondFactorError),
    /// The security key challenge answered is unknown, used or expired:
    /// nothing was checked, so it says so (it reveals nothing).
    #[error("this security key challenge is unknown, used or expired; start again")]
    StaleChallenge,
    /// The cluster's `cluster_auth_preference` does not take this second
    /// factor (`second_factor: otp` or `webauthn`).
    #[error("this cluster's logins need {0}")]
    MethodNotAllowed(&'static str),
    /// `cluster_auth_preference.allow_local_auth: false`.
    #[error("logins with a password are turned off in this cluster; sign in with single sign-on")]
    LocalLoginsOff,
    /// Storage failed; the client may retry.
    #[error("the login service is unavailable, try again")]
    Unavailable(#[source] StoreError),
    /// The user certificate could not be issued; the client may retry.
    #[error("the login service cannot issue a certificate, try again")]
    Certificate(#[source] CaError),
}

/// A kind of second factor, as `cluster_auth_preference` allows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Factor {
    /// A TOTP code.
    Totp,
    /// A security key or passkey.
    Webauthn,
}

/// What the invite page shows.
#[derive(Debug)]
pub struct Enrollment {
    /// The invited user.
    pub user: String,
    /// `otpauth://` URL for the QR code.
    pub totp_url: String,
    /// The same secret in base32, for typing.
    pub totp_secret: String,
}

/// A live web session and its user, as the proxy sees a cookie.
#[derive(Debug)]
pub struct SessionUser {
    /// The user, as stored now.
    pub user: User,
    /// The session, with the user certificate issued at login.
    pub session: WebSession,
}

/// A new web session's cookie secret, shown once to the browser.
#[derive(Debug)]
pub struct SessionCookie {
    /// Who is logged in.
    pub user: String,
    /// The cookie's value; never stored, never logged.
    pub secret: String,
    /// When it stops working.
    pub expires: SystemTime,
}

fn unavailable(error: StoreError) -> LoginError {
    LoginError::Unavailable(error)
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl ControlPlane {
    /// The invite page's contents. The TOTP secret is made on the first
    /// visit and kept with the invite, so a reload shows the same QR code.
    pub async fn enrollment(&self, invite_secret: &str) -> Result<Enrollment, LoginError> {
        let hash = bearer::hash(invite_secret);
        let mut invite = match self.store.invite(&hash).await {
            Ok(invite) => invite,
            Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => return Err(LoginError::BadInvite),
            Err(e) => return Err(unavailable(e)),
        };
        // An invite of a user removed since is no invite at all.
        match self.store.user(&invite.value.user).await {
            Ok(user) if user.value.id == invite.value.user_id => {}
            Ok(_) | Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => return Err(LoginError::BadInvite),
            Err(e) => return Err(unavailable(e)),
        }
        let device = match &invite.value.totp_secret {
            Some(secret) => TotpDevice::from_parts(secret.clone(), None),
            None => {
                let device = TotpDevice::generate()?;
                invite.value.totp_secret = Some(device.secret().to_vec());
                match self.store.swap_invite(&invite.value, invite.revision).await {
                    Ok(()) => device,
                    // Another tab made one first: show that one.
                    Err(StoreError::Conflict { .. }) => return Box::pin(self.enrollment(invite_secret)).await,
                    Err(e) => return Err(unavailable(e)),
                }
            }
        };
        Ok(Enrollment { user: invite.value.user.clone(), totp_url: device.url(TOTP_ISSUER, &invite.value.user)?, totp_secret: device.secret_base32()? })
    }

    /// Sets the invited user's password and TOTP device (proved by a code),
    /// uses up the invite, and logs the user in.
    pub async fn accept_invite(&self, invite_secret: &str, password: &str, code: &str) -> Result<SessionCookie, LoginError> {
        self.require_second_factor(Factor::Totp).await?;
        let hash = bearer::hash(invite_secret);
        let invite = match self.store.invite(&hash).await {
            Ok(invite) => invite.value,
            Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => return Err(LoginError::BadInvite),
            Err(e) => return Err(unavailable(e)),
        };
        // Before the invite is used up: without a CA no session can follow.
        let ca = self.cert_authority().await.map_err(LoginError::Certificate)?;
        let Some(secret) = invite.totp_secret.clone() else {
            // The page was never shown, so no authenticator can hold this secret.
            return Err(LoginError::Code(SecondFactorError::Wrong));
        };
        let password = self.hashing.hash(Lane::Anyone, password).await??;
        let mut totp = TotpDevice::from_parts(secret, None);
        totp.verify(code, unix_seconds(self.clock.now()))?;
        self.complete_invite(&hash, &invite, &ca, Credentials::with_totp(password, totp)).await
    }

    /// Uses up the invite `invite` (stored under `hash`), gives its user
    /// `credentials`, and logs them in. The caller checked the second
    /// factor and hashed the password.
    pub(crate) async fn complete_invite(&self, hash: &str, invite: &Invite, ca: &CertAuthority, credentials: Credentials) -> Result<SessionCookie, LoginError> {
        // Use the invite up first: of two racing acceptances, one wins.
        match self.store.delete_invite(hash).await {
            Ok(()) => {}
            Err(StoreError::NotFound { .. }) => return Err(LoginError::BadInvite),
            Err(e) => return Err(unavailable(e)),
        }
        let mut user = self.store.user(&invite.user).await.map_err(|_| LoginError::BadInvite)?;
        if user.value.id != invite.user_id {
            return Err(LoginError::BadInvite);
        }
        user.value.credentials = Some(credentials);
        self.store.swap_user(&user.value, user.revision).await.map_err(unavailable)?;
        self.emit(AuditEvent::new(EventType::UserLogin, true, user.value.name.as_str(), self.clock.now()).with("method", "invite")).await;
        self.start_web_session(ca, &user.value).await
    }

    /// Password and TOTP code login from `address`.
    pub async fn login(&self, user: &str, password: &str, code: &str, address: IpAddr) -> Result<SessionCookie, LoginError> {
        self.require_second_factor(Factor::Totp).await?;
        self.throttled_login(user, "local", address, async |plane: &Self, attempt: &mut Attempt| plane.check_credentials(attempt, user, password, code).await)
            .await
    }

    /// One login attempt of `user` from `address` by `method`: reserved
    /// with the throttle before `check` hashes anything (if this future is
    /// dropped before it is settled, the reservation stays as a failure),
    /// settled with its outcome, recorded, and a web session on success.
    pub(crate) async fn throttled_login(
        &self,
        user: &str,
        method: &str,
        address: IpAddr,
        check: impl AsyncFnOnce(&Self, &mut Attempt) -> Result<User, LoginError>,
    ) -> Result<SessionCookie, LoginError> {
        let mut attempt = self.throttle().begin(user, address, Instant::now())?;
        let result = check(self, &mut attempt).await;
        let outcome = match &result {
            Ok(_) => Outcome::Succeeded,
            Err(LoginError::Rejected) => Outcome::Failed,
            Err(_) => Outcome::NotChecked,
        };
        self.throttle().settle(attempt, outcome);
        // Refusals the throttle or a busy service answered checked nothing:
        // a flood of them would be a flood of events, so they are only logged.
        if outcome != Outcome::NotChecked {
            self.record_login(user, method, address, result.as_ref().err()).await;
        }
        let user = result?;
        let ca = self.cert_authority().await.map_err(LoginError::Certificate)?;
        self.start_web_session(&ca, &user).await
    }

    /// Refuses `factor` when the cluster's `second_factor` rules it out.
    pub(crate) async fn require_second_factor(&self, factor: Factor) -> Result<(), LoginError> {
        let preference = self.store.auth_preference().await.map_err(unavailable)?;
        // Every caller is a path of Oriel's own users (logins, invites,
        // their keys): with local logins off, none is open.
        if !preference.allow_local_auth {
            return Err(LoginError::LocalLoginsOff);
        }
        match factor {
            Factor::Totp if !preference.second_factor.allows_totp() => Err(LoginError::MethodNotAllowed("a security key or passkey")),
            Factor::Webauthn if !preference.second_factor.allows_webauthn() => Err(LoginError::MethodNotAllowed("a TOTP code")),
            _ => Ok(()),
        }
    }

    /// The `user.login` event of a checked login by `method` from `address`.
    pub(crate) async fn record_login(&self, user: &str, method: &str, address: IpAddr, error: Option<&LoginError>) {
        let event =
            AuditEvent::new(EventType::UserLogin, error.is_none(), user, self.clock.now()).with("method", method).with("remote_addr", address.to_string());
        let event = match error {
            Some(error) => event.with("error", error.to_string()),
            None => event,
        };
        self.emit(event).await;
    }

    /// The throttle, for a moment: the guard must never live across an await.
    fn throttle(&self) -> std::sync::MutexGuard<'_, LoginThrottle> {
        self.throttle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user, with the code's step remembered, if the credentials are right.
    async fn check_credentials(&self, attempt: &mut Attempt, name: &str, password: &str, code: &str) -> Result<User, LoginError> {
        let user = self.check_password(attempt, name, password).await?;
        let Some(mut credentials) = user.value.credentials.clone() else { return Err(LoginError::Rejected) };
        // A user with security keys only logs in with one (`webauthn/`).
        let Some(totp) = credentials.totp.as_mut() else { return Err(LoginError::Rejected) };
        totp.verify(code, unix_seconds(self.clock.now())).map_err(|_| LoginError::Rejected)?;
        // Remember the step used, so the same code cannot log in twice; of two
        // logins racing with one code, the compare-and-swap lets one through.
        let mut updated = user.value.clone();
        updated.credentials = Some(credentials);
        match self.store.swap_user(&updated, user.revision).await {
            Ok(_) => Ok(updated),
            Err(StoreError::Conflict { .. }) => Err(LoginError::Rejected),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The user, as stored, if `password` is theirs; the attempt then holds
    /// the user's second-factor slot. An unknown name costs a hash too.
    pub(crate) async fn check_password(&self, attempt: &mut Attempt, name: &str, password: &str) -> Result<crate::store::Versioned<User>, LoginError> {
        let lane = if attempt.from_known_network() { Lane::Known } else { Lane::Anyone };
        let user = match self.store.user(name).await {
            Ok(user) => user,
            Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => {
                // Hash anyway, so an unknown name takes as long as a wrong password.
                let _ = self.hashing.hash(lane, "not a real password, only for timing").await?;
                return Err(LoginError::Rejected);
            }
            Err(e) => return Err(unavailable(e)),
        };
        let Some(credentials) = user.value.credentials.as_ref() else { return Err(LoginError::Rejected) };
        if !self.hashing.verify(lane, &credentials.password, password).await? {
            return Err(LoginError::Rejected);
        }
        self.throttle().password_verified(attempt, Instant::now())?;
        Ok(user)
    }

    /// A web session for `user` with a user certificate of the user's
    /// current roles and traits, valid exactly as long as the session.
    pub(crate) async fn start_web_session(&self, ca: &CertAuthority, user: &User) -> Result<SessionCookie, LoginError> {
        let secret = BearerSecret::generate().map_err(|e| unavailable(StoreError::Backend(oriel_backend::BackendError::Unavailable(Box::new(e)))))?;
        let now = self.clock.now();
        // The id names this web session in its certificate; it is not the
        // cookie's hash, which stays in the store alone.
        let id = BearerSecret::generate().map_err(|e| unavailable(StoreError::Backend(oriel_backend::BackendError::Unavailable(Box::new(e)))))?.hash;
        let identity = UserIdentity { web_session: Some(id.clone()), ..UserIdentity::from(user) };
        let certificate = ca.issue_user(&identity, WEB_SESSION_TTL, now).map_err(LoginError::Certificate)?;
        // The cookie lasts as long as the certificate (X.509 keeps whole seconds).
        let expires = certificate.expires;
        let name = user.name.as_str().to_owned();
        let session = WebSession { secret_hash: secret.hash, user: name.clone(), id, user_id: user.id.clone(), expires, certificate: Some(certificate) };
        self.store.create_web_session(&session).await.map_err(unavailable)?;
        // A reset or a removal that came between the credentials check and
        // the write above ended every session but this one: look again, and
        // take the session back if the credentials it was made on are gone.
        let password = user.credentials.as_ref().map(|c| &c.password);
        let still = match self.store.user(&name).await {
            Ok(now) => now.value.id == user.id && now.value.credentials.as_ref().map(|c| &c.password) == password,
            Err(StoreError::NotFound { .. }) => false,
            Err(e) => return Err(self.take_back(&session, unavailable(e)).await),
        };
        if !still {
            return Err(self.take_back(&session, LoginError::Rejected).await);
        }
        Ok(SessionCookie { user: name, secret: secret.plain, expires })
    }

    /// Deletes a web session just made, then gives `error`.
    async fn take_back(&self, session: &WebSession, error: LoginError) -> LoginError {
        if let Err(delete) = self.store.delete_web_session(&session.secret_hash).await {
            tracing::warn!(user = %session.user, error = %delete, "cannot take back a web session made during a reset or removal");
        }
        error
    }

    /// The session a cookie belongs to and its user, if it is a live
    /// session of an existing user.
    pub async fn session_user(&self, cookie_secret: &str) -> Option<SessionUser> {
        let session = self.store.web_session(&bearer::hash(cookie_secret)).await.ok()?;
        let user = self.store.user(&session.user).await.ok()?.value;
        // A session of a removed user is not one of a user made again
        // under the same name. A session from before web sessions had ids
        // gave a certificate that logging out cannot reach: it is asked to
        // log in again.
        if session.user_id != user.id || session.id.is_empty() {
            return None;
        }
        Some(SessionUser { user, session })
    }

    /// Ends the session of a cookie, and with it every desktop session
    /// started from it. `Err` when the store failed: the session may still
    /// be live, and the caller must say so rather than report a logout.
    pub async fn logout(&self, cookie_secret: &str) -> Result<(), StoreError> {
        match self.store.delete_web_session(&bearer::hash(cookie_secret)).await {
            Ok(()) | Err(StoreError::NotFound { .. } | StoreError::InvalidName { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod send_check {
    /// Compiles only if login's future may move between threads (axum needs it).
    #[allow(dead_code)]
    fn futures_are_send(plane: crate::control_plane::ControlPlane) {
        fn is_send<T: Send>(_: T) {}
        is_send(async move { plane.login("a", "b", "c", std::net::IpAddr::from([127, 0, 0, 1])).await });
    }
}
