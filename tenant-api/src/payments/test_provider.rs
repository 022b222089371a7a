//! The built-in test provider: decides by token, keeps its ledger in the
//! store's `payment` and `refund` tables.
//!
//! Tokens: `tok_success` succeeds; `tok_decline` is declined (`card_declined`);
//! anything else is declined as `invalid_token`.

use platform::{db::TenantTx, money::Money};
use uuid::Uuid;

use super::{
    model::{ChargeOutcome, RefundRefusal},
    provider::{BoxFuture, Merchant, PaymentProvider},
    repo,
};

/// The test provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestProvider;

impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    fn ledger_in_cell(&self) -> bool {
        true
    }

    fn charge<'a>(
        &'a self,
        merchant: &'a Merchant,
        order: Uuid,
        amount: Money,
        token: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<ChargeOutcome>> {
        Box::pin(async move {
            let decision = match token {
                "tok_success" => None,
                "tok_decline" => Some("card_declined"),
                _ => Some("invalid_token"),
            };
            // The settling transaction that follows every charge commits
            // synchronously and flushes this one with it (see `ledger_in_cell`).
            let mut tx = TenantTx::begin_deferred(&merchant.cell, merchant.tenant_id).await?;
            let outcome = repo::record_charge(&mut tx, order, Uuid::now_v7(), self.name(), amount, decision).await?;
            tx.commit().await?;
            Ok(outcome)
        })
    }

    fn lookup<'a>(
        &'a self,
        merchant: &'a Merchant,
        order: Uuid,
    ) -> BoxFuture<'a, anyhow::Result<Option<ChargeOutcome>>> {
        Box::pin(async move {
            let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
            repo::find_charge(&mut tx, order).await
        })
    }

    fn refund<'a>(
        &'a self,
        merchant: &'a Merchant,
        order: Uuid,
        refund: Uuid,
        amount: Money,
        reason: Option<&'a str>,
    ) -> BoxFuture<'a, anyhow::Result<Result<(), RefundRefusal>>> {
        Box::pin(async move {
            let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
            let result = repo::record_refund(&mut tx, order, refund, amount, reason).await?;
            tx.commit().await?;
            Ok(result)
        })
    }
}
