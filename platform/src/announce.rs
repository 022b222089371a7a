//! Announcements between replicas over Redis pub/sub.
//!
//! A replica that changes shared state publishes a message on a channel; every
//! replica that caches that state follows the channel and drops what the message
//! names. Pub/sub is fire-and-forget: a message sent while a follower is
//! disconnected is lost, so a follower drops *everything* each time it
//! (re)subscribes. Caches built on this are therefore never stale for longer than
//! a Redis round trip while connected, and are cleared after any gap.

use std::{future::Future, time::Duration};

use anyhow::Context;
use futures_util::StreamExt;
use tokio::sync::watch;

/// What a follower of a channel does with its messages.
///
/// Implemented by the tenant resolver and by the storefront cache: each drops
/// the entries a message names, and everything on [`Follower::reset`].
pub trait Follower: Clone + Send + Sync + 'static {
    /// Applies one message. A message the follower cannot read should reset it.
    fn apply(&self, payload: String) -> impl Future<Output = ()> + Send;
    /// Drops everything: called on every (re)subscription, since messages sent
    /// while disconnected were missed.
    fn reset(&self);
}

/// Publishes a message to every follower of `channel`.
pub async fn publish(redis: &mut redis::aio::ConnectionManager, channel: &str, payload: &str) -> anyhow::Result<()> {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async::<i64>(redis)
        .await
        .with_context(|| format!("cannot publish on {channel}"))?;
    Ok(())
}

/// Follows `channel` for as long as the process runs, reconnecting after errors.
/// `subscribed` is true exactly while a subscription is live, so a service can
/// wait for it before serving (see [`wait_subscribed`]).
pub fn spawn_follower<F: Follower>(
    client: redis::Client,
    channel: &'static str,
    follower: F,
    subscribed: watch::Sender<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = follow(&client, channel, &follower, &subscribed).await {
                tracing::warn!(channel, error = %format!("{e:#}"), "announcement listener disconnected; retrying");
            }
            subscribed.send_replace(false);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}

async fn follow<F: Follower>(
    client: &redis::Client,
    channel: &'static str,
    follower: &F,
    subscribed: &watch::Sender<bool>,
) -> anyhow::Result<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    follower.reset();
    subscribed.send_replace(true);
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        match message.get_payload::<String>() {
            Ok(payload) => follower.apply(payload).await,
            Err(e) => {
                tracing::warn!(channel, error = %e, "unreadable announcement; resetting");
                follower.reset();
            }
        }
    }
    anyhow::bail!("subscription to {channel} closed")
}

/// Waits until `subscribed` turns true or `timeout` passes; true when subscribed.
pub async fn wait_subscribed(subscribed: &watch::Sender<bool>, timeout: Duration) -> bool {
    let mut rx = subscribed.subscribe();
    let ready = tokio::time::timeout(timeout, rx.wait_for(|ready| *ready)).await;
    ready.is_ok_and(|r| r.is_ok())
}
