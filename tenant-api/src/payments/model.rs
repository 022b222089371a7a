//! Payment domain types.

use chrono::{DateTime, Utc};
use platform::money::Money;

use super::ProviderKind;

platform::id_type!(
    /// A charge, ours (the provider's own id, e.g. Stripe's `pi_…`, is kept beside it).
    PaymentId
);
platform::id_type!(
    /// A refund; also the provider's idempotency key for it.
    RefundId
);

/// What a charge came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The money was taken.
    Succeeded { payment_id: PaymentId },
    /// The provider refused; `code` says why (`card_declined`, …).
    Declined {
        /// Stable reason code.
        code: String,
    },
    /// Not final: the shopper must authenticate (Stripe `requires_action`,
    /// 3-D Secure) with what the client needs for it. The order keeps
    /// waiting with its hold; a webhook (or the worker) settles it.
    RequiresAction {
        /// The intent's `client_secret`, for Stripe.js on the shopper's side.
        client_secret: String,
        /// Stripe's `next_action`, as Stripe sent it (`type`, and its details).
        next_action: serde_json::Value,
    },
    /// Not final, nothing for the shopper to do (Stripe `processing`): a
    /// webhook or the worker settles it.
    Processing,
}

impl ChargeOutcome {
    /// Whether this outcome is final (the money was taken or refused).
    pub fn is_final(&self) -> bool {
        matches!(self, ChargeOutcome::Succeeded { .. } | ChargeOutcome::Declined { .. })
    }

    /// A success whose payment id is not known here: settling the recorded
    /// charge reads it back from the charge's row.
    pub fn succeeded_unrecorded() -> Self {
        ChargeOutcome::Succeeded { payment_id: PaymentId::from_uuid(uuid::Uuid::nil()) }
    }
}

/// A charge as recorded for an order.
#[derive(Clone, Debug)]
pub struct Payment {
    pub id: PaymentId,
    pub provider: ProviderKind,
    pub status: PaymentStatus,
    pub amount: Money,
    /// Amount refunded so far.
    pub refunded: Money,
    /// Why it failed.
    pub failure_code: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Where a recorded charge is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// A Stripe intent created, its outcome not known yet.
    Pending,
    /// A Stripe intent waiting for the shopper to authenticate (3-D Secure).
    RequiresAction,
    Succeeded,
    Failed,
}

impl PaymentStatus {
    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::RequiresAction, Self::Succeeded, Self::Failed].into_iter().find(|s| s.as_str() == value)
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::RequiresAction => "requires_action",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Whether the charge has its final outcome (succeeded or failed).
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// A Stripe event, as far as we act on it (already verified).
#[derive(Clone, Debug)]
pub struct StripeEvent {
    /// `evt_…`: deliveries of one event share it.
    pub id: String,
    /// `payment_intent.succeeded`, …
    pub kind: String,
    /// `data.object.id`: the intent (`pi_…`), charge (`ch_…`), ….
    pub object_id: Option<String>,
    /// `data.object.payment_intent` of a charge event.
    pub payment_intent: Option<String>,
    /// Why a payment failed (`last_payment_error.code` or `decline_code`).
    pub failure_code: Option<String>,
}

/// What a webhook delivery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventHandling {
    /// First delivery: handled (whether or not it changed an order).
    Processed,
    /// Seen before: nothing done.
    Duplicate,
}
