//! The feed: one connection per process that LISTENs for commits and reads
//! the event log after each. Across a reconnect the cursor stays, so the log
//! fills the gap and watchers see nothing but a delay.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, interval};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Client, Config, Socket};

use super::{CHANNEL, Fail, Shared, ops};
use crate::BackendError;
use crate::journal::Feed;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const LAST_BACKOFF: Duration = Duration::from_secs(5);

enum Ended {
    Stopped,
    Lost(BackendError),
}

pub(super) async fn run<T>(
    config: Config,
    tls: T,
    shared: Arc<Shared>,
    mut feed: Feed,
    mut stop: watch::Receiver<bool>,
) where
    T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
    T::Stream: Sync + Send,
    T::TlsConnect: Sync + Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        match listen(&config, tls.clone()).await {
            Ok((mut client, mut notified)) => {
                backoff = FIRST_BACKOFF;
                match serve(&mut client, &mut notified, &shared, &mut feed, &mut stop).await {
                    Ended::Stopped => return,
                    Ended::Lost(error) => {
                        tracing::warn!(%error, "lost the PostgreSQL watch connection; reconnecting")
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot open the PostgreSQL watch connection; retrying")
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(LAST_BACKOFF);
    }
}

/// Connects and listens; the receiver gets a message after each notification
/// and ends when the connection does.
async fn listen<T>(config: &Config, tls: T) -> Result<(Client, mpsc::Receiver<()>), BackendError>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, mut connection) = config.connect(tls).await.map_err(Fail::from)?;
    let (wake, notified) = mpsc::channel(1);
    tokio::spawn(async move {
        // Polling the connection also carries the client's queries.
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                // Full means a wake-up is already pending.
                Ok(AsyncMessage::Notification(_)) => _ = wake.try_send(()),
                Ok(_) => {}
                Err(error) => {
                    tracing::debug!(%error, "the PostgreSQL watch connection failed");
                    break;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(Fail::from)?;
    Ok((client, notified))
}

async fn serve(
    client: &mut Client,
    notified: &mut mpsc::Receiver<()>,
    shared: &Shared,
    feed: &mut Feed,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    // Notifications can be lost only while disconnected, and the first read
    // below covers that; the poll is a safety net.
    let mut poll = interval(shared.options.poll_interval);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        if let Err(error) = pump(client, shared, feed).await {
            if client.is_closed() {
                return Ended::Lost(error);
            }
            tracing::warn!(%error, "cannot read the event log");
        }
        tokio::select! {
            _ = stop.changed() => return Ended::Stopped,
            woke = notified.recv() => if woke.is_none() {
                return Ended::Lost(BackendError::Unavailable("connection closed".into()));
            },
            _ = poll.tick() => {}
        }
    }
}

async fn pump(client: &mut Client, shared: &Shared, feed: &mut Feed) -> Result<(), BackendError> {
    loop {
        let batch = ops::read_events(client, feed.cursor()).await?;
        if !feed.apply(batch, &shared.hub) {
            return Ok(());
        }
    }
}
