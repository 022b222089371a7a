//! The built-in test provider: decides by token, keeps its ledger in the
//! store's cell: charges in `payment`, the refunds it made in
//! `test_provider_refund` (its side, apart from our books in `refund`).
//!
//! Tokens: `tok_success` succeeds; `tok_decline` is declined (`card_declined`);
//! anything else is declined as `invalid_token`.

use platform::db::TenantTx;

use super::{
    model::{ChargeOutcome, PaymentId},
    provider::{Answer, Charge, Merchant, PaymentProvider, Refund, RefundOutcome},
    repo, ProviderKind,
};
use crate::orders::model::OrderId;

#[derive(Clone, Copy, Debug, Default)]
pub struct TestProvider;

impl PaymentProvider for TestProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Test
    }

    fn ledger_in_cell(&self) -> bool {
        true
    }

    fn records_payments(&self) -> bool {
        true
    }

    fn charge<'a>(&'a self, merchant: &'a Merchant, charge: Charge<'a>) -> Answer<'a, ChargeOutcome> {
        Box::pin(async move {
            // The settling transaction that follows every charge commits
            // synchronously and flushes this one with it (see `ledger_in_cell`).
            let mut tx = TenantTx::begin_deferred(&merchant.cell, merchant.tenant_id).await?;
            let outcome = self.charge_in(&mut tx, charge).await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }

    fn charge_in<'a>(&'a self, tx: &'a mut TenantTx, charge: Charge<'a>) -> Answer<'a, ChargeOutcome> {
        Box::pin(async move {
            let decision = match charge.token {
                "tok_success" => None,
                "tok_decline" => Some("card_declined"),
                _ => Some("invalid_token"),
            };
            repo::record_charge(tx, &charge, PaymentId::new(), self.kind(), decision).await
        })
    }

    fn lookup<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        Box::pin(async move {
            let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
            repo::find_charge(&mut tx, order).await
        })
    }

    fn refund<'a>(&'a self, merchant: &'a Merchant, refund: Refund<'a>) -> Answer<'a, RefundOutcome> {
        Box::pin(async move {
            let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
            let outcome = repo::test_provider_refund(&mut tx, &refund).await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }

    fn cancel<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        // Charges here are final at once: nothing is ever left to cancel.
        self.lookup(merchant, order)
    }
}
