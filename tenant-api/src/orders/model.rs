//! Order domain types and the order state machine.

use chrono::{DateTime, Utc};
use platform::money::Money;

use crate::{
    catalog::model::{ProductId, VariantId},
    checkout::model::{DiscountCodeId, Totals},
    customers::model::{Address, CustomerId},
};

platform::id_type!(
    /// An order of one store.
    OrderId
);

/// Where an order is in its life.
///
/// ```text
/// pending_payment ─┬─> paid ─┬─> fulfilled ──> delivered
///                  │         │        └──────────┴──> refunded | partially_refunded
///                  │         ├─> refunded | partially_refunded ─> fulfilled
///                  │         └─> cancelled (refunds, restocks)
///                  ├─> payment_failed (releases stock)
///                  └─> cancelled (releases stock; also on expiry)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Stock held, waiting for the charge.
    PendingPayment,
    /// Charged; stock committed.
    Paid,
    /// Shipped, with a tracking number.
    Fulfilled,
    /// Arrived.
    Delivered,
    /// The charge was declined; stock released.
    PaymentFailed,
    /// Called off; stock released or restocked, money refunded.
    Cancelled,
    /// Entirely refunded.
    Refunded,
    /// Partly refunded.
    PartiallyRefunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Fulfilled,
        Self::Delivered,
        Self::PaymentFailed,
        Self::Cancelled,
        Self::Refunded,
        Self::PartiallyRefunded,
    ];

    /// Parses the stored spelling.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::Delivered => "delivered",
            Self::PaymentFailed => "payment_failed",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
            Self::PartiallyRefunded => "partially_refunded",
        }
    }

    /// The statuses an order may be in to become `to`. The one table of legal
    /// transitions: repos update with `status = any(sources)`, so an illegal
    /// transition changes nothing even under concurrency.
    pub fn sources(to: OrderStatus) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match to {
            PendingPayment => &[],
            Paid | PaymentFailed => &[PendingPayment],
            Cancelled => &[PendingPayment, Paid, PartiallyRefunded],
            Fulfilled => &[Paid, PartiallyRefunded],
            Delivered => &[Fulfilled],
            Refunded | PartiallyRefunded => &[Paid, PartiallyRefunded, Fulfilled, Delivered],
        }
    }

    /// Whether an order in this status may become `to`.
    pub fn can_become(self, to: OrderStatus) -> bool {
        Self::sources(to).contains(&self)
    }

    /// The outbox topic of entering this status.
    pub fn topic(self) -> &'static str {
        match self {
            Self::PendingPayment => "order.created",
            Self::Paid => "order.paid",
            Self::Fulfilled => "order.fulfilled",
            Self::Delivered => "order.delivered",
            Self::PaymentFailed => "order.payment_failed",
            Self::Cancelled => "order.cancelled",
            Self::Refunded => "order.refunded",
            Self::PartiallyRefunded => "order.partially_refunded",
        }
    }
}

/// A bought line, priced when the order was placed.
#[derive(Clone, Debug)]
pub struct OrderLine {
    /// Position in the order, from 0.
    pub line_no: i32,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    /// SKU when bought.
    pub sku: String,
    /// Title when bought.
    pub title: String,
    pub quantity: i32,
    /// Unit price when bought.
    pub unit_price: Money,
    pub total: Money,
}

/// What a checkout came to.
#[derive(Clone, Debug)]
pub enum Placed {
    /// Settled: paid (or as an earlier attempt left it).
    Done(Order),
    /// Still `pending_payment`, holding its stock: the shopper must finish
    /// paying (`Some`: 3-D Secure) or the provider is processing (`None`).
    /// A webhook or the worker settles it; the hold's expiry cancels it.
    Waiting(Order, Option<PaymentAction>),
}

/// What the shopper's browser needs to finish a payment (Stripe.js).
#[derive(Clone, Debug)]
pub struct PaymentAction {
    /// The intent's `client_secret`.
    pub client_secret: String,
    /// Stripe's `next_action`.
    pub next_action: serde_json::Value,
}

/// An order, with its lines.
#[derive(Clone, Debug)]
pub struct Order {
    pub id: OrderId,
    /// Per-store number (#1001, …).
    pub number: i64,
    pub status: OrderStatus,
    /// Buyer's account; `None` for a guest.
    pub customer_id: Option<CustomerId>,
    /// Buyer's email.
    pub email: String,
    pub totals: Totals,
    /// Refunded so far.
    pub refunded_total: i64,
    pub currency: platform::money::Currency,
    /// Discount code used, as typed.
    pub discount_code: Option<String>,
    /// The code's id, to give the use back.
    pub discount_code_id: Option<DiscountCodeId>,
    /// Shipping method name.
    pub shipping_method: Option<String>,
    pub shipping_address: Address,
    /// Carrier's tracking number.
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    pub lines: Vec<OrderLine>,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Order {
    /// Money in the order's currency.
    pub fn money(&self, amount: i64) -> Money {
        Money::new(amount, self.currency)
    }
}

/// What a transition also changes; each field given (`Some`) is set.
#[derive(Clone, Debug, Default)]
pub struct TransitionData {
    pub tracking_number: Option<String>,
    pub carrier: Option<String>,
    pub cancel_reason: Option<String>,
    /// Add to the refunded total (kept within the order total).
    pub refund: i64,
    /// Extra members of the outbox event.
    pub event: serde_json::Map<String, serde_json::Value>,
    /// The order's units to move in the same statement, only if the order's
    /// row changed (`inventory::reservations::move_ctes`).
    pub stock: Option<crate::inventory::reservations::Move>,
}

/// An order's row as read under its lock, before a transition.
#[derive(Clone, Copy, Debug)]
pub struct Locked {
    pub status: OrderStatus,
    pub total: i64,
    /// Refunded so far.
    pub refunded_total: i64,
    pub currency: platform::money::Currency,
}

/// An order row after a transition.
#[derive(Clone, Debug)]
pub struct Transitioned {
    /// The status it had.
    pub from: OrderStatus,
    pub total: i64,
    /// Refunded so far, after the transition.
    pub refunded_total: i64,
    /// The discount code it redeemed.
    pub discount_code_id: Option<DiscountCodeId>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Filters of order lists.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// Only this customer's.
    pub customer: Option<CustomerId>,
    /// Only in this status.
    pub status: Option<OrderStatus>,
    /// Email contains, or number equals.
    pub q: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, *};

    #[test]
    fn statuses_round_trip_through_their_spelling() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("shipped"), None);
    }

    #[test]
    fn the_happy_path_is_legal_and_terminal_states_stay_terminal() {
        assert!(PendingPayment.can_become(Paid));
        assert!(Paid.can_become(Fulfilled));
        assert!(Fulfilled.can_become(Delivered));
        for terminal in [PaymentFailed, Cancelled, Refunded] {
            for to in OrderStatus::ALL {
                assert!(!terminal.can_become(to), "{terminal:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn illegal_shortcuts_are_refused() {
        assert!(!PendingPayment.can_become(Fulfilled));
        assert!(!PendingPayment.can_become(Refunded));
        assert!(!Fulfilled.can_become(Cancelled));
        assert!(!Delivered.can_become(Fulfilled));
        assert!(!Paid.can_become(PaymentFailed));
    }
}
