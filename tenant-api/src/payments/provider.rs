//! The provider strategy.

use std::{future::Future, pin::Pin};

use platform::{db::TenantTx, ids::TenantId, money::Money};
use sqlx::PgPool;

use super::{
    model::{ChargeOutcome, RefundId},
    ProviderKind,
};
use crate::orders::model::OrderId;

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A provider's answer: `Err` when the outcome is unknown (no answer, a 5xx).
pub type Answer<'a, T> = BoxFuture<'a, anyhow::Result<T>>;

/// The store being charged for: its id and the cell holding its rows (the test
/// provider keeps its ledger there; Stripe will read the store's keys by id).
#[derive(Clone)]
pub struct Merchant {
    pub tenant_id: TenantId,
    /// Its cell's pool.
    pub cell: PgPool,
}

/// A charge to make: `amount` for `order` with the shopper's payment `token`.
#[derive(Clone, Copy, Debug)]
pub struct Charge<'a> {
    pub order: OrderId,
    pub amount: Money,
    pub token: &'a str,
}

/// A refund to make of part of the charge of `order`; `id` is its idempotency key.
#[derive(Clone, Copy, Debug)]
pub struct Refund<'a> {
    pub order: OrderId,
    pub id: RefundId,
    pub amount: Money,
    pub reason: Option<&'a str>,
}

/// What a provider said of a refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Accepted: the money goes back. `reference` is the provider's id for it (Stripe's `re_…`).
    Succeeded { reference: Option<String> },
    /// Accepted but not final yet (Stripe `pending` / `requires_action`): ask again later with the same refund id.
    Pending { reference: Option<String> },
    /// Refused: no money moved. `code` says why.
    Failed { code: String },
}

/// A payment provider. Implementations must be idempotent by order id for
/// charges and by refund id for refunds.
pub trait PaymentProvider: Send + Sync {
    /// Which provider this is, as stores and requests name it.
    fn kind(&self) -> ProviderKind;

    /// Whether the provider keeps its ledger in the store's own cell, in WAL
    /// order with the orders. Then the order placed before a charge need not be
    /// flushed before charging: the synchronous commit that settles the order
    /// flushes the order and the charge together, and a crash before it loses
    /// both. A provider outside the database (Stripe) must answer false, so the
    /// order is durable before any money moves.
    fn ledger_in_cell(&self) -> bool {
        false
    }

    /// Whether the provider writes the store's `payment` row of each charge
    /// itself (the built-in test provider and Stripe do, to keep what they
    /// need between calls). Any other provider keeps its own books, and the
    /// orders context records the `payment` row from each outcome it reports.
    fn records_payments(&self) -> bool {
        false
    }

    /// Makes a charge. A second call for the same order returns the first
    /// outcome, never a new charge.
    fn charge<'a>(&'a self, merchant: &'a Merchant, charge: Charge<'a>) -> Answer<'a, ChargeOutcome>;

    /// Makes a charge inside the store's settling transaction `tx`, for a
    /// provider whose ledger is in the cell (`ledger_in_cell`): the charge
    /// commits with the order's new state, or neither does. The same
    /// idempotency as [`PaymentProvider::charge`]. Any other provider refuses.
    fn charge_in<'a>(&'a self, tx: &'a mut TenantTx, charge: Charge<'a>) -> Answer<'a, ChargeOutcome> {
        let _ = (tx, charge);
        Box::pin(async move { anyhow::bail!("{} keeps no ledger in the store's cell", self.kind().as_str()) })
    }

    /// The outcome of the charge made for `order`, if any (crash recovery).
    fn lookup<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>>;

    /// Makes a refund, or re-asks about one: at most one refund per refund id
    /// (its idempotency key). `Err` when the outcome is unknown (no answer,
    /// 5xx, timeout). The provider books nothing of ours: the orders context
    /// records the refund from this answer.
    fn refund<'a>(&'a self, merchant: &'a Merchant, refund: Refund<'a>) -> Answer<'a, RefundOutcome>;

    /// Cancels the charge of `order` if it has not settled (an expired hold): `Ok(None)` when there was no charge
    /// or it is now cancelled; `Ok(Some(outcome))` when it had settled after all (e.g. succeeded: a late payment).
    fn cancel<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>>;
}
