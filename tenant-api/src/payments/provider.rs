//! The provider strategy.

use std::{future::Future, pin::Pin};

use platform::{ids::TenantId, money::Money};
use sqlx::PgPool;
use uuid::Uuid;

use super::model::{ChargeOutcome, RefundRefusal};

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The store being charged for: its id and the cell holding its rows (the test
/// provider keeps its ledger there; Stripe will read the store's keys by id).
#[derive(Clone)]
pub struct Merchant {
    /// The store.
    pub tenant_id: TenantId,
    /// Its cell's pool.
    pub cell: PgPool,
}

/// A payment provider. Implementations must be idempotent by order id for
/// charges and by refund id for refunds.
pub trait PaymentProvider: Send + Sync {
    /// The name stores and requests use (`test`, `stripe`).
    fn name(&self) -> &'static str;

    /// Whether the provider keeps its ledger in the store's own cell, in WAL
    /// order with the orders. Then the order placed before a charge need not be
    /// flushed before charging: the synchronous commit that settles the order
    /// flushes the order and the charge together, and a crash before it loses
    /// both. A provider outside the database (Stripe) must answer false, so the
    /// order is durable before any money moves.
    fn ledger_in_cell(&self) -> bool {
        false
    }

    /// Charges `amount` for `order` with the shopper's payment `token`. A
    /// second call for the same order returns the first outcome, never a new charge.
    fn charge<'a>(
        &'a self,
        merchant: &'a Merchant,
        order: Uuid,
        amount: Money,
        token: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<ChargeOutcome>>;

    /// The outcome of the charge made for `order`, if any (crash recovery).
    fn lookup<'a>(
        &'a self,
        merchant: &'a Merchant,
        order: Uuid,
    ) -> BoxFuture<'a, anyhow::Result<Option<ChargeOutcome>>>;

    /// Refunds `amount` of the charge of `order`; `refund` is the idempotency key.
    fn refund<'a>(
        &'a self,
        merchant: &'a Merchant,
        order: Uuid,
        refund: Uuid,
        amount: Money,
        reason: Option<&'a str>,
    ) -> BoxFuture<'a, anyhow::Result<Result<(), RefundRefusal>>>;
}
