//! Refund records.

use chrono::{DateTime, Utc};
use platform::money::Money;

use crate::{
    orders::model::OrderId,
    payments::{model::RefundId, ProviderKind},
};

/// Where a refund is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    /// Recorded; the provider has not (yet) said it moved the money.
    Pending,
    /// The provider accepted: booked on the order.
    Succeeded,
    /// The provider refused: nothing moved.
    Failed,
}

impl RefundStatus {
    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed].into_iter().find(|s| s.as_str() == value)
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// Why money goes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundKind {
    /// Staff refunded part or all of an order.
    Refund,
    /// Staff cancelled a paid order: what was left is refunded.
    Cancellation,
    /// A charge landed on an order that had stopped waiting for it (expired).
    LateCharge,
}

impl RefundKind {
    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Refund, Self::Cancellation, Self::LateCharge].into_iter().find(|k| k.as_str() == value)
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refund => "refund",
            Self::Cancellation => "cancellation",
            Self::LateCharge => "late_charge",
        }
    }
}

/// One refund attempt of an order, as recorded.
#[derive(Clone, Debug)]
pub struct RefundRecord {
    /// Also the provider's idempotency key for it.
    pub id: RefundId,
    pub order: OrderId,
    pub amount: Money,
    pub status: RefundStatus,
    pub kind: RefundKind,
    /// The provider of the payment it goes back through (`None` on records
    /// from before refunds were recorded per attempt).
    pub provider: Option<ProviderKind>,
    /// The provider's id of it (Stripe's `re_…`).
    pub provider_refund_id: Option<String>,
    /// Why the provider refused it.
    pub failure_code: Option<String>,
    pub reason: Option<String>,
    /// The `Idempotency-Key` it was asked with.
    pub idempotency_key: Option<String>,
    /// Attempts that got no answer.
    pub attempts: i32,
    /// What the last of them ran into.
    pub last_error: Option<String>,
    /// Attempts ran out: an admin should look (it stays pending).
    pub needs_attention: bool,
    /// When the worker asks the provider again.
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// When it succeeded or failed.
    pub settled_at: Option<DateTime<Utc>>,
}

/// Filters of refund lists.
#[derive(Clone, Copy, Debug, Default)]
pub struct RefundFilter {
    /// Only in this status.
    pub status: Option<RefundStatus>,
    /// Only those (not) flagged for an admin.
    pub needs_attention: Option<bool>,
}
