//! The delivery job: claims due deliveries, sends them outside any
//! transaction and records each outcome.
//!
//! **Invariant:** a delivery is sent by one worker at a time. A run claims
//! rows with `for update skip locked` and leases them (`leased_until`) in a
//! transaction it commits before sending; an outcome is recorded only while
//! the row still carries that lease. A worker killed mid-send leaves its
//! leased rows to whichever worker claims them after the lease expires:
//! delivery is at least once, and receivers de-duplicate by `webhook-id`
//! (the delivery's id, stable over retries).
//!
//! **Invariant:** a store whose endpoint hangs delays only itself. A run does
//! not wait for its sends: each is a task of this [`Deliverer`], at most
//! `notification_store_in_flight` per store (a semaphore per store; the claim
//! takes no more of a store than it has room for) and [`MAX_IN_FLIGHT`] in
//! all, each bounded by the webhook timeout.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use platform::{crypto::MasterKeys, db::Db, ids::TenantId};
use rand_core::RngCore;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::{sync::Semaphore, task::JoinSet};

use super::{
    guard,
    model::{Channel, Claimed, WebhookId, WebhookUrl},
    repo::{self, Room},
    signature,
};
use crate::{settings::CommerceSettings, worker::sweep};

/// Deliveries in flight at once in one process, every store together.
pub const MAX_IN_FLIGHT: usize = 256;
/// Deliveries one run claims from one cell, at most.
const BATCH: usize = 200;

/// How deliveries are sent and retried.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// The most one webhook request may take, connecting included.
    pub timeout: Duration,
    /// The wait before each retry; the delivery is dead after the last.
    pub schedule: Vec<Duration>,
    /// How long a claim holds a delivery.
    pub lease: Duration,
    /// Deliveries of one store in flight at once in this process.
    pub store_in_flight: u32,
    /// Webhooks may target internal addresses (`WEBHOOK_ALLOW_PRIVATE_TARGETS`).
    pub allow_private_targets: bool,
}

impl DeliverySettings {
    /// The settings of the environment.
    pub fn new(commerce: &CommerceSettings, allow_private_targets: bool) -> Self {
        Self {
            timeout: Duration::from_secs(commerce.webhook_timeout_secs),
            schedule: commerce.webhook_retry_schedule_secs.iter().map(|s| Duration::from_secs(*s)).collect(),
            lease: Duration::from_secs(commerce.notification_lease_secs),
            store_in_flight: commerce.notification_store_in_flight.max(1),
            allow_private_targets,
        }
    }

    /// The wait before the next attempt of a delivery that has now failed
    /// `attempts` times, with up to a tenth more as jitter (so one outage's
    /// failures do not all come back in the same second); `None` once the
    /// schedule is over (dead).
    pub fn retry_in(&self, attempts: i32, jitter: f64) -> Option<Duration> {
        let index = usize::try_from(attempts.max(1) - 1).ok()?;
        self.schedule.get(index).map(|wait| wait.mul_f64(1.0 + 0.1 * jitter.clamp(0.0, 1.0)))
    }
}

/// The worker's sender of deliveries; its sends are tasks it owns, so
/// dropping it (a stopped or killed worker) ends them where they are.
pub struct Deliverer {
    sender: Arc<Sender>,
    /// Room of each store with deliveries in flight.
    stores: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
    tasks: Mutex<JoinSet<()>>,
}

/// What a send task needs (not the tasks themselves).
struct Sender {
    db: Db,
    master: Arc<MasterKeys>,
    settings: DeliverySettings,
    client: OnceLock<reqwest::Client>,
    /// Email and SMS senders; `None`: those deliveries are undeliverable
    /// (a deliverer built for webhooks alone, as in tests).
    messages: Option<super::NotificationsState>,
}

/// What one attempt came to.
#[derive(Debug)]
enum Outcome {
    /// The target accepted it (a 2xx).
    Delivered { status: Option<i32> },
    /// Worth another attempt later.
    Failed { status: Option<i32>, error: String },
    /// No later attempt can succeed (the webhook was deleted): dead now.
    Undeliverable { error: String },
    /// Nothing reached the target: the platform's own database or cache did
    /// not answer first. Not an attempt (an outage of ours must not bring a
    /// shopper's email closer to dead): due again after the schedule's first
    /// wait, attempts unchanged.
    Unsent { error: String },
}

impl Deliverer {
    /// A deliverer over the cells of `db`, opening webhook secrets with `master`.
    pub fn new(db: Db, master: Arc<MasterKeys>, settings: DeliverySettings) -> Self {
        Self::sending(db, master, settings, None)
    }

    /// [`Self::new`] that sends email and SMS too, through `messages`' senders.
    pub fn with_messages(settings: DeliverySettings, messages: super::NotificationsState) -> Self {
        Self::sending(messages.db.clone(), messages.master.clone(), settings, Some(messages))
    }

    fn sending(
        db: Db,
        master: Arc<MasterKeys>,
        settings: DeliverySettings,
        messages: Option<super::NotificationsState>,
    ) -> Self {
        Self {
            sender: Arc::new(Sender { db, master, settings, client: OnceLock::new(), messages }),
            stores: Mutex::new(HashMap::new()),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// One run: claims the due deliveries of every cell there is room for and
    /// starts sending them; does not wait for the sends. How many it claimed.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        self.sender.client()?;
        let mut claimed = 0;
        for cell in sweep::cells(&self.sender.db).await? {
            let room = MAX_IN_FLIGHT.saturating_sub(self.reap());
            if room == 0 {
                break;
            }
            let pool = self.sender.db.cell(&cell).await?;
            let tx = self.sender.db.system_tx(&cell).await?;
            let settings = &self.sender.settings;
            let due = repo::claim(
                tx,
                i32::try_from(settings.store_in_flight).unwrap_or(i32::MAX),
                &self.busy(),
                i64::try_from(room.min(BATCH)).unwrap_or(0),
                settings.lease,
            )
            .await?;
            claimed += due.len();
            for delivery in due {
                self.start(pool.clone(), delivery);
            }
        }
        Ok(claimed)
    }

    /// Waits for every send started so far (a graceful stop; tests).
    pub async fn drain(&self) {
        let mut tasks = match self.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => return,
        };
        while tasks.join_next().await.is_some() {}
    }

    /// Forgets finished sends; how many are still in flight.
    fn reap(&self) -> usize {
        let Ok(mut tasks) = self.tasks.lock() else { return MAX_IN_FLIGHT };
        while let Some(done) = tasks.try_join_next() {
            if let Err(e) = done {
                if e.is_panic() {
                    tracing::error!(error = %e, "a delivery task panicked");
                }
            }
        }
        tasks.len()
    }

    /// The stores with deliveries in flight and the room each has left; a
    /// store with none in flight is forgotten.
    fn busy(&self) -> Vec<Room> {
        let Ok(mut stores) = self.stores.lock() else { return Vec::new() };
        let cap = self.sender.settings.store_in_flight as usize;
        stores.retain(|_, room| room.available_permits() < cap);
        stores
            .iter()
            .map(|(tenant_id, room)| Room {
                tenant_id: *tenant_id,
                free: i32::try_from(room.available_permits()).unwrap_or(0),
            })
            .collect()
    }

    /// Starts sending one claimed delivery under its store's room.
    fn start(&self, pool: PgPool, delivery: Claimed) {
        let cap = self.sender.settings.store_in_flight as usize;
        let room = match self.stores.lock() {
            Ok(mut stores) => stores.entry(delivery.tenant_id).or_insert_with(|| Arc::new(Semaphore::new(cap))).clone(),
            Err(_) => Arc::new(Semaphore::new(cap)),
        };
        let sender = self.sender.clone();
        let task = async move {
            // The claim took no more than the room left, so this waits only
            // when a run raced a finishing send.
            let Ok(_permit) = room.acquire_owned().await else { return };
            sender.deliver(&pool, delivery).await;
        };
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.spawn(task);
        }
    }
}

impl Sender {
    /// The webhook client: no redirects, the timeout, connecting only to
    /// addresses the guard checked.
    fn client(&self) -> anyhow::Result<reqwest::Client> {
        if let Some(client) = self.client.get() {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.settings.timeout)
            .connect_timeout(self.settings.timeout)
            .dns_resolver(Arc::new(guard::GuardedResolver { allow_private: self.settings.allow_private_targets }))
            .user_agent("commerce-webhooks/1")
            .build()?;
        Ok(self.client.get_or_init(|| client).clone())
    }

    /// Sends one delivery and records the outcome.
    async fn deliver(&self, pool: &PgPool, delivery: Claimed) {
        let channel = delivery.channel.as_str();
        // Whatever fails before a request is sent is ours: a dependency that
        // did not answer sent nothing.
        let outcome = match self.send(pool, &delivery).await {
            Ok(outcome) => outcome,
            Err(e) if platform::problem::unavailable_dependency(&e).is_some() => {
                Outcome::Unsent { error: format!("{e:#}") }
            }
            Err(e) => Outcome::Failed { status: None, error: format!("{e:#}") },
        };
        let label = match &outcome {
            Outcome::Delivered { .. } => "delivered",
            Outcome::Failed { .. } => "failed",
            Outcome::Undeliverable { .. } => "undeliverable",
            Outcome::Unsent { .. } => "unsent",
        };
        metrics::counter!("notification_attempts_total", "channel" => channel, "outcome" => label).increment(1);
        if let Err(e) = self.record(pool, &delivery, outcome).await {
            // The lease runs out and another run tries again: at least once.
            tracing::error!(tenant_id = %delivery.tenant_id, delivery_id = %delivery.id, error = %format!("{e:#}"),
                "cannot record a delivery's outcome");
        }
    }

    /// One attempt on the delivery's channel: the one place a channel says
    /// how it sends.
    async fn send(&self, pool: &PgPool, delivery: &Claimed) -> anyhow::Result<Outcome> {
        match delivery.channel {
            Channel::Webhook => self.send_webhook(pool, delivery).await,
            Channel::Email | Channel::Sms => Ok(self.send_message(delivery).await),
        }
    }

    /// An email or a text message, through the store's own settings or the
    /// platform's relay ([`super::messages`]).
    async fn send_message(&self, delivery: &Claimed) -> Outcome {
        let Some(state) = &self.messages else {
            return Outcome::Undeliverable {
                error: format!("no {} sender in this process", delivery.channel.as_str()),
            };
        };
        let (tenant, topic, payload, to) = (delivery.tenant_id, &delivery.topic, &delivery.payload, &delivery.target);
        let sent = match delivery.channel {
            Channel::Sms => super::sms::send(state, tenant, topic, payload, to).await,
            _ => super::email::send(state, tenant, topic, payload, to).await,
        };
        match sent {
            Ok(info) => Outcome::Delivered { status: info.code.map(i32::from) },
            Err(failure) if failure.unsent => Outcome::Unsent { error: failure.reason },
            Err(failure) if failure.retryable => {
                Outcome::Failed { status: failure.code.map(i32::from), error: failure.reason }
            }
            Err(failure) => Outcome::Undeliverable { error: failure.reason },
        }
    }

    async fn send_webhook(&self, pool: &PgPool, delivery: &Claimed) -> anyhow::Result<Outcome> {
        let Some(webhook) = WebhookId::parse(&delivery.target) else {
            return Ok(Outcome::Undeliverable { error: "the target is not a webhook id".into() });
        };
        let endpoint = {
            // Read, then dropped before the request: nothing is held open while sending.
            let mut tx = platform::db::TenantTx::begin(pool, delivery.tenant_id).await?;
            repo::webhook_endpoint(&mut tx, webhook).await?
        };
        let Some((url, sealed)) = endpoint else {
            return Ok(Outcome::Undeliverable { error: "the webhook was deleted".into() });
        };
        let url = WebhookUrl::parse(&url).map_err(|e| anyhow::anyhow!("stored webhook URL {e}"))?;
        if let Some(ip) = guard::literal_ip(url.url()) {
            if !self.settings.allow_private_targets && guard::is_internal(ip) {
                return Ok(Outcome::Failed { status: None, error: format!("refused: {ip} is an internal address") });
            }
        }
        let secret = self.master.open(&sealed)?;
        let body = serde_json::to_string(&delivery.payload)?;
        let id = delivery.id.to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let signed = signature::sign(secret.expose_secret(), &id, timestamp, &body)?;
        let sent = self
            .client()?
            .post(url.url().clone())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(body)
            .send()
            .await;
        Ok(match sent {
            Ok(response) if response.status().is_success() => {
                Outcome::Delivered { status: Some(i32::from(response.status().as_u16())) }
            }
            Ok(response) => Outcome::Failed {
                status: Some(i32::from(response.status().as_u16())),
                error: format!("the endpoint answered {}", response.status()),
            },
            Err(e) if e.is_timeout() => Outcome::Failed {
                status: None,
                error: format!("no answer within {} s", self.settings.timeout.as_secs_f64()),
            },
            Err(e) => Outcome::Failed { status: None, error: error_chain(&e) },
        })
    }

    async fn record(&self, pool: &PgPool, delivery: &Claimed, outcome: Outcome) -> anyhow::Result<()> {
        let mut tx = platform::db::TenantTx::begin(pool, delivery.tenant_id).await?;
        let attempts = delivery.attempts + 1;
        let jitter = f64::from(rand_core::OsRng.next_u32()) / (f64::from(u32::MAX) + 1.0);
        let held = match &outcome {
            Outcome::Delivered { status } => repo::record_success(&mut tx, delivery, *status).await?,
            Outcome::Unsent { error } => {
                let retry_in = self.settings.retry_in(1, jitter).unwrap_or(Duration::from_secs(5));
                repo::record_unsent(&mut tx, delivery, error, retry_in).await?
            }
            Outcome::Failed { status, error } => {
                let retry_in = self.settings.retry_in(attempts, jitter);
                if retry_in.is_none() {
                    metrics::counter!("notification_dead_letters_total", "channel" => delivery.channel.as_str())
                        .increment(1);
                }
                repo::record_failure(&mut tx, delivery, *status, error, retry_in).await?
            }
            Outcome::Undeliverable { error } => repo::record_failure(&mut tx, delivery, None, error, None).await?,
        };
        tx.commit().await?;
        if !held {
            tracing::warn!(tenant_id = %delivery.tenant_id, delivery_id = %delivery.id,
                "a delivery's lease ran out before its outcome was recorded; another run has it");
        } else if let Outcome::Unsent { error } = &outcome {
            tracing::warn!(tenant_id = %delivery.tenant_id, delivery_id = %delivery.id, error,
                "a delivery was not sent (a dependency of ours did not answer); not counted as an attempt");
        } else if let Outcome::Failed { error, .. } | Outcome::Undeliverable { error } = &outcome {
            tracing::warn!(tenant_id = %delivery.tenant_id, delivery_id = %delivery.id, attempts, error,
                "a delivery attempt failed");
        }
        Ok(())
    }
}

/// An error with its causes, one line (reqwest hides the cause of a refused
/// connection behind "error sending request").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_retries_after_each_wait_then_ends() {
        let settings = DeliverySettings::new(&CommerceSettings::default(), false);
        assert_eq!(settings.retry_in(1, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(settings.retry_in(2, 0.0), Some(Duration::from_secs(300)));
        assert_eq!(settings.retry_in(7, 0.0), Some(Duration::from_secs(36_000)));
        assert_eq!(settings.retry_in(8, 0.0), None, "the eighth failure is the last");
        assert!(settings.retry_in(1, 0.999).is_some_and(|d| d < Duration::from_secs_f64(5.5)));
    }
}
