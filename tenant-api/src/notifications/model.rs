//! Notification and webhook types: channels, delivery states, the events a
//! merchant may subscribe to, and a webhook URL that passed its checks.

use chrono::{DateTime, Utc};
use platform::ids::TenantId;

platform::id_type!(
    /// A merchant's webhook endpoint (subscription).
    WebhookId
);
platform::id_type!(
    /// One delivery of one event on one channel to one target: the
    /// `webhook-id` header, stable over every retry.
    DeliveryId
);

/// How a notification reaches its target. Every per-channel step (who the
/// targets of an event are, how one delivery is sent) is a `match` on this in
/// one place: `fanout::targets` and `delivery::send`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A merchant's endpoint (target: its [`WebhookId`]).
    Webhook,
    /// An email (target: the address).
    Email,
    /// A text message (target: the phone number).
    Sms,
}

impl Channel {
    /// Every channel, in fan-out order.
    pub const ALL: [Self; 3] = [Self::Webhook, Self::Email, Self::Sms];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    /// The channel a name spells exactly.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == value)
    }
}

/// Where a delivery is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not delivered yet: due at `next_attempt_at`.
    Pending,
    /// The target accepted it.
    Succeeded,
    /// Every attempt of the schedule failed: a dead letter, until replayed.
    Dead,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Pending, Self::Succeeded, Self::Dead];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
        }
    }

    /// The status a name spells exactly.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// The events a merchant may subscribe a webhook to (the contract's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    OrderPaid,
    OrderPaymentFailed,
    OrderFulfilled,
    OrderDelivered,
    OrderCancelled,
    OrderRefunded,
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    InventoryLow,
}

impl WebhookEvent {
    /// Every event, in the order error messages list them.
    pub const ALL: [Self; 10] = [
        Self::OrderPaid,
        Self::OrderPaymentFailed,
        Self::OrderFulfilled,
        Self::OrderDelivered,
        Self::OrderCancelled,
        Self::OrderRefunded,
        Self::ProductCreated,
        Self::ProductUpdated,
        Self::ProductDeleted,
        Self::InventoryLow,
    ];

    /// The event's name (the body's `type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderPaid => "order.paid",
            Self::OrderPaymentFailed => "order.payment_failed",
            Self::OrderFulfilled => "order.fulfilled",
            Self::OrderDelivered => "order.delivered",
            Self::OrderCancelled => "order.cancelled",
            Self::OrderRefunded => "order.refunded",
            Self::ProductCreated => "product.created",
            Self::ProductUpdated => "product.updated",
            Self::ProductDeleted => "product.deleted",
            Self::InventoryLow => "inventory.low",
        }
    }

    /// The event a name spells exactly.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == value)
    }

    /// The webhook event an outbox topic is, if merchants can subscribe to
    /// it. A partial refund is an `order.refunded` too (the body's
    /// `refunded_total` says how much); `order.created`, `customer.*` and
    /// `refund.*` are not webhook events.
    pub fn from_topic(topic: &str) -> Option<Self> {
        match topic {
            "order.partially_refunded" => Some(Self::OrderRefunded),
            other => Self::parse(other),
        }
    }
}

/// A webhook URL: `http` or `https`, with a host, no user info, at most
/// 2048 bytes. Whether its host may be reached is checked apart
/// (`guard::check_url`), since that needs DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(reqwest::Url);

impl WebhookUrl {
    /// Parses the URL's shape.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        const SHAPE: &str = "must be an absolute http or https URL with a host";
        if raw.len() > 2048 {
            return Err("must be at most 2048 characters");
        }
        let url = reqwest::Url::parse(raw.trim()).map_err(|_| SHAPE)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(SHAPE);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password");
        }
        Ok(Self(url))
    }

    /// The parsed URL.
    pub fn url(&self) -> &reqwest::Url {
        &self.0
    }
}

impl AsRef<str> for WebhookUrl {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

/// A webhook to create: its checked URL and events.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    pub url: WebhookUrl,
    pub events: Vec<WebhookEvent>,
}

/// A store's webhook endpoint.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// One delivery as staff see it in the notification log.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: DeliveryId,
    pub event_id: uuid::Uuid,
    pub channel: Channel,
    pub target: String,
    pub topic: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub last_status: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What the notification log is filtered by.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub channel: Option<Channel>,
}

/// A delivery the worker claimed: what sending it needs.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub tenant_id: TenantId,
    pub id: DeliveryId,
    pub channel: Channel,
    pub target: String,
    /// The event's topic (webhooks: the contract's event name).
    pub topic: String,
    pub payload: serde_json::Value,
    /// Attempts before this one.
    pub attempts: i32,
    /// The lease this worker holds; the outcome is recorded only while the
    /// row still carries it (another worker may have taken an expired one).
    pub leased_until: DateTime<Utc>,
}
