//! What the senders work with: the events that send messages, templates, and
//! the outcome of one send as the delivery queue records it.

use std::fmt;

/// An event a shopper is told about. Its key is the outbox topic it follows
/// and the `{event}` of the template endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// `order.paid`: the order confirmation.
    OrderConfirmation,
    /// `order.payment_failed`.
    PaymentFailed,
    /// `order.fulfilled`, with the tracking number.
    OrderFulfilled,
    /// `order.refunded` (also sent for `order.partially_refunded`).
    RefundIssued,
    /// `order.cancelled`.
    OrderCancelled,
    /// `customer.password_reset`: the reset link.
    PasswordReset,
    /// `customer.registered`: the welcome.
    Welcome,
}

impl Event {
    /// Every event, in the order the template list shows them.
    pub const ALL: [Self; 7] = [
        Self::OrderConfirmation,
        Self::PaymentFailed,
        Self::OrderFulfilled,
        Self::RefundIssued,
        Self::OrderCancelled,
        Self::PasswordReset,
        Self::Welcome,
    ];

    /// The template key (an outbox topic).
    pub fn key(self) -> &'static str {
        match self {
            Self::OrderConfirmation => "order.paid",
            Self::PaymentFailed => "order.payment_failed",
            Self::OrderFulfilled => "order.fulfilled",
            Self::RefundIssued => "order.refunded",
            Self::OrderCancelled => "order.cancelled",
            Self::PasswordReset => "customer.password_reset",
            Self::Welcome => "customer.registered",
        }
    }

    /// Parses a template key; `None` for any other.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.key() == key)
    }

    /// The event an outbox topic sends, if any.
    pub fn for_topic(topic: &str) -> Option<Self> {
        match topic {
            "order.partially_refunded" => Some(Self::RefundIssued),
            _ => Self::parse(topic),
        }
    }

    /// Whether the event is about an order (its payload has `order_id`).
    pub fn is_order(self) -> bool {
        !matches!(self, Self::PasswordReset | Self::Welcome)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// An email template: Jinja source of the subject and both parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailTemplate {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A store's template of an event, as the admin endpoints show it.
#[derive(Clone, Debug)]
pub struct StoreTemplate {
    pub event: Event,
    pub template: EmailTemplate,
    /// Whether the store overrides the default.
    pub customized: bool,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What the provider said about a message it accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentInfo {
    /// The `Message-ID` (email) or the provider's id (Twilio's `SM…`).
    pub message_id: Option<String>,
    /// The provider's status code (SMTP `250`, HTTP `201`); `None` for the
    /// file transport.
    pub code: Option<u16>,
    /// How it went: `smtp` (the store's relay), `relay` (the platform's),
    /// `file`, `twilio`.
    pub transport: &'static str,
}

/// Why a message was not sent, and whether trying again can help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendFailure {
    /// `true`: a timeout, a refused or dropped connection, an SMTP `4xx` or an
    /// HTTP `429`/`5xx`; the queue retries with backoff. `false`: an SMTP
    /// `5xx`, an HTTP `4xx`, a broken template, no relay; retrying sends the
    /// same thing to the same answer, so the queue dead-letters it.
    pub retryable: bool,
    /// The SMTP reply code or HTTP status, when the provider answered.
    pub code: Option<u16>,
    /// What went wrong, for the delivery record: never a message body, a
    /// token or a credential.
    pub reason: String,
    /// Nothing reached the provider: one of the platform's own dependencies
    /// (the database, Redis) did not answer while the message was prepared.
    /// Not an attempt: the queue tries again without counting it.
    pub unsent: bool,
}

impl SendFailure {
    /// A failure worth retrying.
    pub fn transient(code: Option<u16>, reason: impl Into<String>) -> Self {
        Self { retryable: true, code, reason: reason.into(), unsent: false }
    }

    /// A failure no retry will fix.
    pub fn permanent(code: Option<u16>, reason: impl Into<String>) -> Self {
        Self { retryable: false, code, reason: reason.into(), unsent: false }
    }
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.retryable { "transient" } else { "permanent" };
        match self.code {
            Some(code) => write!(f, "{kind} failure ({code}): {}", self.reason),
            None => write!(f, "{kind} failure: {}", self.reason),
        }
    }
}

impl std::error::Error for SendFailure {}

/// Anything internal (a database down, a setting unreadable) is worth a
/// retry; a dependency that did not answer sent nothing (`unsent`).
impl From<anyhow::Error> for SendFailure {
    fn from(error: anyhow::Error) -> Self {
        let unsent = platform::problem::unavailable_dependency(&error).is_some();
        Self { unsent, ..Self::transient(None, format!("{error:#}")) }
    }
}
