//! A desktop service's reverse tunnels: one outbound connection to each
//! proxy, kept up with backoff, over which the service serves
//! [`crate::agent::Agent`]. The proxy never has to reach the host, so a
//! desktop behind NAT is reachable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oriel_auth::ca::{HostRole, PROXY_SERVER_NAME};
use rustls::ClientConfig;
use tokio::sync::watch;

use crate::agent::Agent;

/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two dials of one proxy.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A tunnel up this long counts as healthy: the next failure starts over
/// from [`FIRST_BACKOFF`].
const HEALTHY: Duration = Duration::from_secs(30);

/// Keeps a tunnel to each of `proxies` (`HOST:PORT`), on tasks of their
/// own that run as long as the runtime: a desktop service keeps its tunnels
/// for its whole life. The receiver counts the tunnels up now.
pub fn start(agent: Agent, proxies: Vec<String>, config: Arc<ClientConfig>, host_ca_pem: String) -> watch::Receiver<usize> {
    let (up, count) = watch::channel(0usize);
    let up = Arc::new(up);
    for proxy in proxies {
        tokio::spawn(keep_tunnel(agent.clone(), proxy, config.clone(), host_ca_pem.clone(), up.clone()));
    }
    count
}

async fn keep_tunnel(agent: Agent, proxy: String, config: Arc<ClientConfig>, host_ca_pem: String, up: Arc<watch::Sender<usize>>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match crate::connect::dial_tls(&proxy, config.clone(), PROXY_SERVER_NAME, &host_ca_pem, HostRole::Proxy).await {
            Ok(tls) => {
                let since = Instant::now();
                tracing::info!(%proxy, "reverse tunnel up");
                up.send_modify(|n| *n += 1);
                let ended = agent.serve_connection(tls).await;
                up.send_modify(|n| *n -= 1);
                match ended {
                    Ok(()) => tracing::warn!(%proxy, "reverse tunnel closed (the proxy closed it or stopped); dialling again"),
                    Err(error) => tracing::warn!(%proxy, %error, "reverse tunnel lost; dialling again"),
                }
                if since.elapsed() >= HEALTHY {
                    backoff = FIRST_BACKOFF;
                }
            }
            Err(error) => tracing::warn!(%proxy, error = %crate::join::error_chain(error.as_ref()), retry_in = ?backoff, "cannot open the reverse tunnel"),
        }
        tokio::time::sleep(jitter(backoff)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// `wait` plus up to a quarter more, so agents that lost one proxy at the
/// same moment do not all dial it back at the same moment.
fn jitter(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    wait + wait / 4 * (nanos % 1000) / 1000
}
