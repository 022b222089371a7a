//! Payment domain types.

use chrono::{DateTime, Utc};
use platform::money::Money;
use uuid::Uuid;

/// What a charge came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The money was taken.
    Succeeded {
        /// The provider's payment id.
        payment_id: Uuid,
    },
    /// The provider refused; `code` says why (`card_declined`, …).
    Declined {
        /// Stable reason code.
        code: String,
    },
}

/// A charge as recorded for an order.
#[derive(Clone, Debug)]
pub struct Payment {
    /// Provider's id.
    pub id: Uuid,
    /// `test` or `stripe`.
    pub provider: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// Amount charged.
    pub amount: Money,
    /// Amount refunded so far.
    pub refunded: Money,
    /// Why it failed.
    pub failure_code: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Why a refund was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefusal {
    /// No successful charge for the order.
    #[error("nothing was charged for this order")]
    NotCharged,
    /// More than what is left of the charge.
    #[error("the refund exceeds what is left of the charge")]
    ExceedsCharge,
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
