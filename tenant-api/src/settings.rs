//! Settings of the data plane beyond the shared ones: token and cart lifetimes,
//! the checkout's reservation window, the worker's intervals, how
//! notifications are delivered, where email and SMS go, and the optional NATS
//! stream of domain events.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// Commerce settings, from the same environment as `platform::config::Settings`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CommerceSettings {
    /// Lifetime of a shopper's access token.
    pub customer_access_token_ttl_secs: u64,
    /// Lifetime of a shopper's refresh token.
    pub customer_refresh_token_ttl_secs: u64,
    /// A guest cart lives this long after its last use.
    pub guest_cart_ttl_secs: u64,
    /// A customer's cart lives this long after its last use.
    pub customer_cart_ttl_secs: u64,
    /// How long checkout holds stock for an order awaiting payment.
    pub reservation_ttl_secs: u64,
    /// A pending order younger than this may still be in its checkout; the
    /// recovery job leaves it alone.
    pub recovery_grace_secs: u64,
    /// How long an in-flight `Idempotency-Key` blocks duplicates before a retry
    /// may take the checkout over (the first attempt is presumed dead).
    pub idempotency_lease_secs: u64,
    /// Worker: pause between reservation expiry runs.
    pub worker_expiry_every_ms: u64,
    /// Worker: pause between recovery runs.
    pub worker_recovery_every_ms: u64,
    /// Worker: pause between outbox relay runs.
    pub worker_outbox_every_ms: u64,
    /// Worker: pause between runs of the notification delivery job.
    pub worker_delivery_every_ms: u64,
    /// The most one webhook request may take, connecting included; past it
    /// the attempt failed and is retried.
    pub webhook_timeout_secs: u64,
    /// Waits before each retry of a failed delivery, in seconds; after the
    /// last one fails the delivery is dead-lettered. Standard Webhooks'
    /// schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    pub webhook_retry_schedule_secs: Vec<u64>,
    /// How long a claimed delivery belongs to the worker that claimed it; a
    /// worker killed mid-send leaves it to another after this. Longer than
    /// `webhook_timeout_secs`, so a slow send is never sent twice at once.
    pub notification_lease_secs: u64,
    /// Deliveries of one store in flight at once in one worker process: a
    /// store whose endpoint hangs holds up only these.
    pub notification_store_in_flight: u32,
    /// Worker: failures of one job on one subject (an order) after which it
    /// waits for staff (`needs_attention`) instead of being retried.
    pub worker_max_attempts: i32,
    /// Consecutive unknown outcomes of a store's payment provider account
    /// that open its circuit (calls then fail at once).
    pub breaker_failures: u32,
    /// How long an open circuit refuses calls before one trial call.
    pub breaker_cool_down_secs: u64,
    /// Memory for cached storefront responses per replica; 0 turns the cache
    /// off, so every storefront read is a tenant transaction (the load suite's
    /// cold-read scenarios run that way).
    pub storefront_cache_bytes: u64,
    /// `PASSWORD_HASH_PERMITS`: argon2 hashes or verifications of shoppers'
    /// passwords (sign-up, sign-in, reset) that run at once (default two per
    /// core); the same setting bounds the control plane's.
    pub password_hash_permits: Option<usize>,
    /// `PASSWORD_HASH_WAIT_MS`: how long a shopper's sign-in waits for a
    /// permit before a `503 overloaded` with `Retry-After: 1`.
    pub password_hash_wait_ms: u64,
    /// The platform's mail relay for stores without SMTP settings of their
    /// own, in lettre's URL form: `smtp://host:port` (plain),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://host`
    /// (TLS), or `file:///dir` (each mail written as an `.eml` file: the dev
    /// stack's `.dev/mail`). Empty: no relay, so such stores' email fails
    /// permanently (and says so).
    pub smtp_url: String,
    /// Longest an SMTP exchange (connect, every command, the whole mail) may take.
    pub smtp_timeout_ms: u64,
    /// `From` of stores without an `email_from`; empty: `no-reply@<PLATFORM_DOMAIN>`.
    pub email_from: String,
    /// Where Twilio's REST API answers (tests point it at a local fake).
    pub twilio_api_url: String,
    /// Longest a call to the SMS provider may take.
    pub sms_timeout_ms: u64,
    /// A store's public address for links in messages, `{slug}` replaced (the
    /// control plane's setting of the same name); empty:
    /// `https://{slug}.<PLATFORM_DOMAIN>`.
    pub store_url_template: String,
    /// `NATS_URL`: the NATS server the worker streams domain events to
    /// (`nats://host:4222`, `tls://…`); empty (the default): no stream, and
    /// the `nats-publish` job does not run.
    pub nats_url: String,
    /// `NATS_SUBJECT_PREFIX`: events go to `<prefix>.<topic>`
    /// (`commerce.events.order.paid`); the stream takes `<prefix>.>`.
    pub nats_subject_prefix: String,
    /// `NATS_STREAM`: the JetStream stream, created if missing.
    pub nats_stream: String,
    /// `WORKER_ADDR`: where `tenant-api worker` answers `/healthz`, `/readyz`
    /// and `/metrics` (nothing else); port 0 picks a free one.
    pub worker_addr: SocketAddr,
    /// Worker: pause between runs of the `nats-publish` job.
    pub worker_nats_every_ms: u64,
    /// Longest a connection to NATS, a stream look-up or one publish
    /// acknowledgement may take.
    pub nats_timeout_ms: u64,
}

impl Default for CommerceSettings {
    fn default() -> Self {
        Self {
            customer_access_token_ttl_secs: 900,
            customer_refresh_token_ttl_secs: 30 * 24 * 3600,
            guest_cart_ttl_secs: 7 * 24 * 3600,
            customer_cart_ttl_secs: 30 * 24 * 3600,
            reservation_ttl_secs: 15 * 60,
            recovery_grace_secs: 60,
            idempotency_lease_secs: 30,
            worker_expiry_every_ms: 5_000,
            worker_recovery_every_ms: 5_000,
            worker_outbox_every_ms: 500,
            worker_delivery_every_ms: 500,
            webhook_timeout_secs: 15,
            webhook_retry_schedule_secs: vec![5, 300, 1800, 7200, 18_000, 36_000, 36_000],
            notification_lease_secs: 60,
            notification_store_in_flight: 4,
            worker_max_attempts: 8,
            breaker_failures: 5,
            breaker_cool_down_secs: 30,
            storefront_cache_bytes: 16 * 1024 * 1024,
            password_hash_permits: None,
            password_hash_wait_ms: 2000,
            smtp_url: String::new(),
            smtp_timeout_ms: 10_000,
            email_from: String::new(),
            twilio_api_url: "https://api.twilio.com".into(),
            sms_timeout_ms: 10_000,
            store_url_template: String::new(),
            nats_url: String::new(),
            nats_subject_prefix: "commerce.events".into(),
            nats_stream: "COMMERCE_EVENTS".into(),
            worker_nats_every_ms: 1_000,
            worker_addr: SocketAddr::from(([127, 0, 0, 1], 8001)),
            nats_timeout_ms: 2_000,
        }
    }
}

impl CommerceSettings {
    /// The bound on concurrent argon2 work of shoppers' passwords.
    pub fn hasher(&self) -> platform::password::Hasher {
        platform::password::Hasher::new(
            self.password_hash_permits.unwrap_or_else(platform::password::Hasher::default_permits),
            Duration::from_millis(self.password_hash_wait_ms),
        )
    }

    /// Reads the environment (`RESERVATION_TTL_SECS=…` and so on) over the defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let settings: Self = figment::Figment::from(figment::providers::Serialized::defaults(Self::default()))
            .merge(figment::providers::Env::raw())
            .extract()
            .context("invalid commerce settings in the environment")?;
        anyhow::ensure!(settings.reservation_ttl_secs > 0, "RESERVATION_TTL_SECS must be at least 1");
        anyhow::ensure!(settings.idempotency_lease_secs > 0, "IDEMPOTENCY_LEASE_SECS must be at least 1");
        anyhow::ensure!(settings.worker_max_attempts > 0, "WORKER_MAX_ATTEMPTS must be at least 1");
        anyhow::ensure!(settings.webhook_timeout_secs > 0, "WEBHOOK_TIMEOUT_SECS must be at least 1");
        anyhow::ensure!(
            settings.notification_lease_secs > settings.webhook_timeout_secs,
            "NOTIFICATION_LEASE_SECS must be longer than WEBHOOK_TIMEOUT_SECS"
        );
        anyhow::ensure!(settings.notification_store_in_flight > 0, "NOTIFICATION_STORE_IN_FLIGHT must be at least 1");
        anyhow::ensure!(settings.breaker_failures > 0, "BREAKER_FAILURES must be at least 1");
        anyhow::ensure!(settings.breaker_cool_down_secs > 0, "BREAKER_COOL_DOWN_SECS must be at least 1");
        anyhow::ensure!(settings.smtp_timeout_ms > 0, "SMTP_TIMEOUT_MS must be at least 1");
        anyhow::ensure!(settings.sms_timeout_ms > 0, "SMS_TIMEOUT_MS must be at least 1");
        anyhow::ensure!(settings.nats_timeout_ms > 0, "NATS_TIMEOUT_MS must be at least 1");
        anyhow::ensure!(
            !settings.nats_subject_prefix.is_empty()
                && settings.nats_subject_prefix.split('.').all(|token| {
                    !token.is_empty() && !token.contains(|c: char| c.is_whitespace() || c == '*' || c == '>')
                }),
            "NATS_SUBJECT_PREFIX must be dot-separated tokens without spaces or wildcards"
        );
        anyhow::ensure!(
            !settings.nats_stream.is_empty()
                && !settings
                    .nats_stream
                    .contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\')),
            "NATS_STREAM must be a name without spaces, '.', '*', '>' or slashes"
        );
        Ok(settings)
    }

    /// How long checkout holds stock.
    pub fn reservation_ttl(&self) -> Duration {
        Duration::from_secs(self.reservation_ttl_secs)
    }

    /// When a provider account's circuit opens and for how long.
    pub fn breaker(&self) -> crate::payments::breaker::BreakerConfig {
        crate::payments::breaker::BreakerConfig {
            failures: self.breaker_failures,
            cool_down: Duration::from_secs(self.breaker_cool_down_secs),
        }
    }
}
