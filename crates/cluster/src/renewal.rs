//! Keeping a joined host's certificate fresh: renewed through the auth
//! service when a third of its life is left, kept in the data dir, and used
//! for every connection made after.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::join::HOST_CERT_TTL;

use crate::credentials::HostCredentials;
use crate::remote_auth::RemoteAuth;
use crate::tls::LiveIdentity;

/// How long to wait before trying a failed renewal again.
const RETRY: Duration = Duration::from_secs(60);

/// How long to wait before renewing a certificate expiring at `expires`.
pub fn renew_in(expires: SystemTime, now: SystemTime) -> Duration {
    expires.duration_since(now).unwrap_or_default().saturating_sub(HOST_CERT_TTL / 3)
}

/// Renews `credentials` for as long as the task runs.
pub async fn keep_renewed(auth: RemoteAuth, identity: Arc<LiveIdentity>, mut credentials: HostCredentials, data_dir: PathBuf) {
    loop {
        let Some(expires) = credentials.expires() else {
            tracing::error!("the host certificate has no expiry date; not renewing it");
            return;
        };
        tokio::time::sleep(renew_in(expires, SystemTime::now())).await;
        let renewed = match auth.renew().await {
            Ok(renewed) => renewed,
            Err(error) => {
                tracing::warn!(%error, "cannot renew the host certificate yet; retrying in a minute");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        if let Err(error) = renewed.save(&data_dir) {
            tracing::error!(%error, "cannot keep the renewed host certificate in the data dir; using it until the next start");
        }
        if let Err(error) = identity.replace(&renewed).and_then(|()| auth.reconnect()) {
            tracing::error!(%error, "the renewed host certificate cannot be used");
            tokio::time::sleep(RETRY).await;
            continue;
        }
        tracing::info!(expires = ?renewed.expires(), "host certificate renewed");
        credentials = renewed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_when_a_third_of_the_life_is_left() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(renew_in(now + HOST_CERT_TTL, now), HOST_CERT_TTL * 2 / 3);
        assert_eq!(renew_in(now + HOST_CERT_TTL / 4, now), Duration::ZERO);
        assert_eq!(renew_in(now - Duration::from_secs(5), now), Duration::ZERO);
    }
}
