use axum::http::StatusCode;
use platform::problem::{FieldError, Problem};

use super::model::{OrderId, OrderStatus};
use crate::{catalog::model::VariantId, checkout::service::DiscountRefusal, payments::breaker::CircuitOpen};

/// Outcomes of checkout and order operations a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such order in this store (or not this caller's).
    #[error("order not found")]
    OrderNotFound,
    /// The cart is not there (or not this caller's).
    #[error(transparent)]
    Cart(#[from] crate::cart::Error),
    /// Nothing to buy.
    #[error("empty cart")]
    EmptyCart,
    /// Input breaks a rule.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Variants no longer sold.
    #[error("items unavailable")]
    ItemsUnavailable(Vec<VariantId>),
    /// Not enough stock for these variants; nothing was held.
    #[error("out of stock")]
    OutOfStock(Vec<VariantId>),
    /// The discount code does not apply.
    #[error("discount refused: {0}")]
    Discount(DiscountRefusal),
    /// The charge was declined; the order is `payment_failed`, its stock released.
    #[error("payment declined")]
    PaymentDeclined {
        /// The failed order.
        order_id: OrderId,
        /// The provider's reason.
        code: String,
    },
    /// The order cannot go from its status to the one asked for.
    #[error("illegal transition")]
    IllegalTransition {
        /// Where it is.
        from: OrderStatus,
        /// Where it was asked to go.
        to: OrderStatus,
    },
    /// The order stopped waiting for payment (expired or cancelled) before the
    /// charge came back; the charge was refunded.
    #[error("checkout expired")]
    CheckoutExpired { order_id: OrderId },
    /// The store's payment provider cannot be charged through by this service.
    #[error("payment provider unavailable")]
    PaymentUnavailable(String),
    /// No such refund in this store.
    #[error("refund not found")]
    RefundNotFound,
    /// The store's provider account keeps failing (its circuit is open): the
    /// provider was not called, nothing was charged, and a new order holds no
    /// stock. `retry_after` is in seconds.
    #[error("payment provider failing")]
    ProviderFailing { retry_after: u64 },
    /// The provider gave no answer to the charge (a timeout, a 5xx, no
    /// connection): the order waits, holding its stock, until a retry with the
    /// same `Idempotency-Key`, the worker's recovery or a webhook settles it.
    #[error("payment outcome unknown")]
    PaymentOutcomeUnknown {
        /// The waiting order.
        order_id: OrderId,
        /// What the provider's call ran into (logged, not shown).
        cause: anyhow::Error,
    },
    /// The provider refused a refund.
    #[error("refund refused: {0}")]
    RefundRefused(String),
    /// The same `Idempotency-Key` came with another request.
    #[error("idempotency key reused")]
    IdempotencyMismatch,
    /// The same `Idempotency-Key` is being processed.
    #[error("idempotency key in flight")]
    IdempotencyInFlight,
    /// Another checkout of this cart is running, or its order still waits
    /// for its charge to settle.
    #[error("checkout in progress")]
    CheckoutInProgress,
    /// The cart was bought already (its order is paid).
    #[error("cart checked out")]
    CartCheckedOut { order_id: OrderId },
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<CircuitOpen> for Error {
    fn from(open: CircuitOpen) -> Self {
        Error::ProviderFailing { retry_after: open.retry_after_secs() }
    }
}

impl Error {
    /// A provider's `Err` charging `order_id`: its circuit's refusal, or an
    /// unknown outcome (a dependency that failed: `503`, never `500`).
    pub(crate) fn from_provider(order_id: OrderId, error: anyhow::Error) -> Self {
        match CircuitOpen::of(&error) {
            Some(open) => (*open).into(),
            None => {
                tracing::warn!(%order_id, error = %format!("{error:#}"), "payment outcome unknown");
                Error::PaymentOutcomeUnknown { order_id, cause: error }
            }
        }
    }
}

fn variant_errors(variants: &[VariantId], message: &str) -> Vec<FieldError> {
    variants.iter().map(|v| FieldError::new(format!("items[variant_id={v}]"), message)).collect()
}

crate::error_problems! {
    Error,
    constraints: [],
    internal: [redis::RedisError],
    Error::OrderNotFound => Problem::not_found("order-not-found", "No such order in this store."),
    Error::RefundNotFound => Problem::not_found("refund-not-found", "No such refund in this store."),
    Error::Cart(e) => e.into(),
    Error::EmptyCart => Problem::validation(vec![FieldError::new("items", "the cart is empty")]),
    Error::Invalid(errors) => Problem::validation(errors),
    Error::ItemsUnavailable(variants) => {
        Problem::conflict("items-unavailable", "Some items of the cart are no longer sold.")
            .with("variant_ids", variants.iter().map(|v| v.to_string()).collect::<Vec<_>>())
            .with_errors(variant_errors(&variants, "is no longer sold"))
    },
    Error::OutOfStock(variants) => {
        Problem::conflict("out-of-stock", "Some items of the cart are not available in that quantity.")
            .with("variant_ids", variants.iter().map(|v| v.to_string()).collect::<Vec<_>>())
            .with_errors(variant_errors(&variants, "is not available in that quantity"))
    },
    Error::Discount(refusal) => {
        let errors = vec![FieldError::new("discount_code", refusal.to_string())];
        match refusal {
            DiscountRefusal::Exhausted | DiscountRefusal::Expired => {
                Problem::conflict("discount-unavailable", "The discount code can no longer be used.")
                    .with_errors(errors)
            }
            DiscountRefusal::Unknown | DiscountRefusal::BelowMinimum(_) => Problem::validation(errors),
        }
    },
    Error::PaymentDeclined { order_id, code } => Problem::new(
        StatusCode::PAYMENT_REQUIRED,
        "payment-declined",
        "Payment declined",
        "The payment was declined; nothing was charged and the items are available again.",
    )
    .with("order_id", order_id.to_string())
    .with("decline_code", code),
    Error::IllegalTransition { from, to } => Problem::conflict(
        "illegal-transition",
        format!("An order that is {} cannot become {}.", from.as_str(), to.as_str()),
    )
    .with("order_status", from.as_str()),
    Error::CheckoutExpired { order_id } => Problem::conflict(
        "checkout-expired",
        "The order stopped waiting for payment before the charge completed; the charge was refunded.",
    )
    .with("order_id", order_id.to_string()),
    Error::RefundRefused(reason) => Problem::conflict("refund-refused", reason),
    Error::PaymentUnavailable(provider) => Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "payment-provider-unavailable",
        "Payment provider unavailable",
        format!("This store takes payments through {provider}, which cannot be used yet; nothing was charged."),
    ),
    Error::ProviderFailing { retry_after } => Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "payment-provider-unavailable",
        "Payment provider unavailable",
        "This store's payment provider is not answering; nothing was charged and nothing is held. \
         Retry after the seconds in Retry-After.",
    )
    // `Retry-After` is set from this (`routes::respond`): the checkout's
    // answer is recorded as a status and a body.
    .with("retry_after", retry_after),
    Error::PaymentOutcomeUnknown { order_id, cause: _ } => Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "payment-outcome-unknown",
        "Payment outcome unknown",
        "The payment provider did not answer in time. The order waits with its items held: retry with the \
         same Idempotency-Key to learn the outcome (it is never charged twice), or read the order later.",
    )
    .with("order_id", order_id.to_string())
    .with("retry_after", 2),
    Error::IdempotencyMismatch => Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
        "Idempotency key reused",
        "This Idempotency-Key was used with a different request.",
    ),
    Error::CheckoutInProgress => Problem::conflict(
        "checkout-in-progress",
        "This cart is being checked out by another request; retry later to get its answer.",
    ),
    Error::CartCheckedOut { order_id } => {
        Problem::conflict("cart-checked-out", "This cart was bought already.").with("order_id", order_id.to_string())
    },
    Error::IdempotencyInFlight => Problem::conflict(
        "idempotency-in-flight",
        "A request with this Idempotency-Key is still being processed; retry later.",
    ),
}
