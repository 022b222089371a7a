//! The test provider's ledger and the payment views of orders.

use chrono::{DateTime, Utc};
use platform::{
    db::TenantTx,
    money::{Currency, Money},
};

use super::{
    model::{ChargeOutcome, Payment, PaymentId, PaymentStatus, StripeEvent},
    provider::{Charge, Refund, RefundOutcome},
    ProviderKind,
};
use crate::{
    orders::model::OrderId,
    statements::{fetch_all, fetch_optional, write_one},
};

fn status(stored: &str) -> anyhow::Result<PaymentStatus> {
    PaymentStatus::parse(stored).ok_or_else(|| anyhow::anyhow!("stored payment status {stored:?} is unknown"))
}

fn outcome(payment_id: PaymentId, status: PaymentStatus, failure_code: Option<String>) -> ChargeOutcome {
    if status == PaymentStatus::Succeeded {
        ChargeOutcome::Succeeded { payment_id }
    } else {
        ChargeOutcome::Declined { code: failure_code.unwrap_or_else(|| "declined".into()) }
    }
}

type OutcomeRow = (PaymentId, String, Option<String>);

fn outcome_of((id, stored, code): OutcomeRow) -> anyhow::Result<ChargeOutcome> {
    Ok(outcome(id, status(&stored)?, code))
}

/// Records a charge unless one exists for its order, and returns the charge
/// that stands (the first one): one statement, so concurrent retries agree.
pub async fn record_charge(
    tx: &mut TenantTx,
    charge: &Charge<'_>,
    payment_id: PaymentId,
    provider: ProviderKind,
    declined: Option<&str>,
) -> anyhow::Result<ChargeOutcome> {
    let stored = if declined.is_some() { PaymentStatus::Failed } else { PaymentStatus::Succeeded };
    let row: Option<OutcomeRow> = sqlx::query_as(
        "with ins as ( \
             insert into payment (tenant_id, order_id, payment_id, provider, status, amount, currency, failure_code) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (tenant_id, order_id) do nothing \
             returning payment_id, status, failure_code) \
         select payment_id, status, failure_code from ins \
         union all \
         select payment_id, status, failure_code from payment \
         where tenant_id = $1 and order_id = $2 and not exists (select 1 from ins)",
    )
    .bind(tx.tenant_id())
    .bind(charge.order)
    .bind(payment_id)
    .bind(provider.as_str())
    .bind(stored.as_str())
    .bind(charge.amount.amount)
    .bind(charge.amount.currency.as_str())
    .bind(declined)
    .fetch_optional(&mut **tx)
    .await?;
    outcome_of(row.ok_or_else(|| anyhow::anyhow!("a concurrent charge of this order is not visible yet"))?)
}

/// The test provider's charge of `order`, if one was made (a Stripe charge,
/// maybe still pending, is Stripe's to answer for).
pub async fn find_charge(tx: &mut TenantTx, order: OrderId) -> anyhow::Result<Option<ChargeOutcome>> {
    let row: Option<OutcomeRow> = sqlx::query_as(
        "select payment_id, status, failure_code from payment \
         where tenant_id = $1 and order_id = $2 and provider = 'test'",
    )
    .bind(tx.tenant_id())
    .bind(order)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(outcome_of).transpose()
}

/// The test provider pays back part of its charge of `refund.order`, once
/// per refund id: the charge's row is locked, so concurrent refunds of one
/// charge are decided one after the other and never pass its amount.
pub async fn test_provider_refund(tx: &mut TenantTx, refund: &Refund<'_>) -> anyhow::Result<RefundOutcome> {
    let reference = Some(format!("test_re_{}", refund.id));
    // The charge's row is locked first, so the look-up of this refund id
    // below sees a concurrent ask of the same id that committed meanwhile.
    let sql = "select amount - coalesce((select sum(r.amount) from test_provider_refund r \
                                         where r.tenant_id = p.tenant_id and r.order_id = p.order_id), 0)::bigint \
               from payment p where tenant_id = $1 and order_id = $2 and provider = 'test' and status = 'succeeded' \
               for update";
    let charge: Option<(i64,)> = fetch_optional(tx, sql, (refund.order,)).await?;
    let sql = "select 1 from test_provider_refund where tenant_id = $1 and refund_id = $2";
    if fetch_optional::<(i32,)>(tx, sql, (refund.id,)).await?.is_some() {
        return Ok(RefundOutcome::Succeeded { reference });
    }
    let Some((left,)) = charge else {
        return Ok(RefundOutcome::Failed { code: "not_charged".into() });
    };
    if refund.amount.amount > left {
        return Ok(RefundOutcome::Failed { code: "amount_too_large".into() });
    }
    let sql = "insert into test_provider_refund (tenant_id, refund_id, order_id, amount) values ($1, $2, $3, $4)";
    write_one(tx, sql, (refund.id, refund.order, refund.amount.amount)).await?;
    Ok(RefundOutcome::Succeeded { reference })
}

/// The charge of an order money can be refunded from: its id and the
/// provider that took it (a refund goes back through that provider, whatever
/// the store uses today). `None` when nothing was charged.
pub async fn succeeded_payment(tx: &mut TenantTx, order: OrderId) -> anyhow::Result<Option<(PaymentId, ProviderKind)>> {
    let sql =
        "select payment_id, provider from payment where tenant_id = $1 and order_id = $2 and status = 'succeeded'";
    let row: Option<(PaymentId, String)> = fetch_optional(tx, sql, (order,)).await?;
    row.map(|(id, provider)| {
        let kind =
            ProviderKind::parse(&provider).ok_or_else(|| anyhow::anyhow!("stored provider {provider:?} is unknown"))?;
        Ok((id, kind))
    })
    .transpose()
}

/// Books a refund the provider accepted on the charge it came from.
pub async fn add_refunded(tx: &mut TenantTx, order: OrderId, amount: i64) -> anyhow::Result<()> {
    let sql = "update payment set refunded_amount = refunded_amount + $3 \
               where tenant_id = $1 and order_id = $2 and status = 'succeeded'";
    anyhow::ensure!(write_one(tx, sql, (order, amount)).await?, "no succeeded payment of order {order} to refund");
    Ok(())
}

/// Every charge recorded for an order (zero or one with the test provider).
pub async fn payments_for_order(tx: &mut TenantTx, order: OrderId) -> anyhow::Result<Vec<Payment>> {
    type Row = (PaymentId, String, String, i64, String, i64, Option<String>, DateTime<Utc>);
    let sql = "select payment_id, provider, status, amount, currency, refunded_amount, failure_code, created_at \
               from payment where tenant_id = $1 and order_id = $2 order by created_at";
    let rows: Vec<Row> = fetch_all(tx, sql, (order,)).await?;
    rows.into_iter()
        .map(|(id, provider, stored, amount, currency, refunded, failure_code, created_at)| {
            let currency = Currency::parse(currency.trim()).ok_or_else(|| anyhow::anyhow!("bad stored currency"))?;
            Ok(Payment {
                id,
                provider: ProviderKind::parse(&provider)
                    .ok_or_else(|| anyhow::anyhow!("stored provider {provider:?} is unknown"))?,
                status: status(&stored)?,
                amount: Money::new(amount, currency),
                refunded: Money::new(refunded, currency),
                failure_code,
                created_at,
            })
        })
        .collect()
}

/// A Stripe charge as recorded for an order.
pub struct StripeCharge {
    pub payment_id: PaymentId,
    /// The PaymentIntent (`pi_…`); none when Stripe refused to create one.
    pub intent_id: Option<String>,
    pub status: PaymentStatus,
    pub failure_code: Option<String>,
}

impl StripeCharge {
    /// The outcome of a settled charge (a pending one reads as declined: ask Stripe first).
    pub fn outcome(&self) -> ChargeOutcome {
        outcome(self.payment_id, self.status, self.failure_code.clone())
    }
}

type StripeRow = (PaymentId, Option<String>, String, Option<String>);

fn stripe_charge((payment_id, intent_id, stored, failure_code): StripeRow) -> anyhow::Result<StripeCharge> {
    Ok(StripeCharge { payment_id, intent_id, status: status(&stored)?, failure_code })
}

/// The Stripe charge of `order`, if one was started.
pub async fn find_stripe_charge(tx: &mut TenantTx, order: OrderId) -> anyhow::Result<Option<StripeCharge>> {
    let row: Option<StripeRow> = sqlx::query_as(
        "select payment_id, provider_payment_id, status, failure_code \
         from payment where tenant_id = $1 and order_id = $2 and provider = 'stripe'",
    )
    .bind(tx.tenant_id())
    .bind(order)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(stripe_charge).transpose()
}

/// Records a created, not yet confirmed intent for `order` unless a charge is
/// recorded already, and returns the charge that stands (one statement, as
/// `record_charge`).
pub async fn insert_pending_charge(
    tx: &mut TenantTx,
    order: OrderId,
    intent: &str,
    amount: Money,
) -> anyhow::Result<StripeCharge> {
    let row: Option<StripeRow> = sqlx::query_as(
        "with ins as ( \
             insert into payment (tenant_id, order_id, payment_id, provider, provider_payment_id, status, amount, currency) \
             values ($1, $2, $3, 'stripe', $4, 'pending', $5, $6) on conflict (tenant_id, order_id) do nothing \
             returning payment_id, provider_payment_id, status, failure_code) \
         select * from ins \
         union all \
         select payment_id, provider_payment_id, status, failure_code from payment \
         where tenant_id = $1 and order_id = $2 and not exists (select 1 from ins)",
    )
    .bind(tx.tenant_id())
    .bind(order)
    .bind(PaymentId::new())
    .bind(intent)
    .bind(amount.amount)
    .bind(amount.currency.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    stripe_charge(row.ok_or_else(|| anyhow::anyhow!("a concurrent charge of this order is not visible yet"))?)
}

/// Settles the pending Stripe charge of `order` with `outcome` and returns the
/// outcome that stands: the first settlement wins (the saga, the worker and a
/// webhook may race to it). An outcome that is not final only notes where the
/// intent waits (`requires_action`, or `pending` while it is processing).
pub async fn settle_stripe_charge(
    tx: &mut TenantTx,
    order: OrderId,
    settled: &ChargeOutcome,
) -> anyhow::Result<ChargeOutcome> {
    let (status, code) = match settled {
        ChargeOutcome::Succeeded { .. } => (PaymentStatus::Succeeded, None),
        ChargeOutcome::Declined { code } => (PaymentStatus::Failed, Some(code.as_str())),
        ChargeOutcome::RequiresAction { .. } => (PaymentStatus::RequiresAction, None),
        ChargeOutcome::Processing => (PaymentStatus::Pending, None),
    };
    sqlx::query(
        "update payment set status = $3, failure_code = $4 \
         where tenant_id = $1 and order_id = $2 and provider = 'stripe' and status in ('pending', 'requires_action')",
    )
    .bind(tx.tenant_id())
    .bind(order)
    .bind(status.as_str())
    .bind(code)
    .execute(&mut **tx)
    .await?;
    let charge = find_stripe_charge(tx, order).await?.ok_or_else(|| anyhow::anyhow!("no Stripe charge to settle"))?;
    Ok(if charge.status.is_settled() { charge.outcome() } else { settled.clone() })
}

/// The order whose Stripe charge is `intent`, in this store only.
pub async fn order_of_intent(tx: &mut TenantTx, intent: &str) -> anyhow::Result<Option<OrderId>> {
    let sql = "select order_id from payment where tenant_id = $1 and provider = 'stripe' and provider_payment_id = $2";
    Ok(fetch_optional(tx, sql, (intent,)).await?.map(|(order,)| order))
}

/// Records a webhook event as processed; `false` when it was already (a duplicate delivery).
pub async fn record_stripe_event(tx: &mut TenantTx, event: &StripeEvent) -> anyhow::Result<bool> {
    let sql = "insert into stripe_event (tenant_id, event_id, event_type, object_id) values ($1, $2, $3, $4) \
               on conflict (tenant_id, event_id) do nothing";
    Ok(write_one(tx, sql, (&event.id, &event.kind, event.object_id.as_deref())).await?)
}

/// Records what a provider that keeps its own books said of the charge of
/// `order` (see `PaymentProvider::records_payments`): a new row in the
/// outcome's status, or a waiting row (`pending`, `requires_action`) settled
/// by a final outcome. A settled row never changes: the first settlement wins.
pub async fn record_outcome(
    tx: &mut TenantTx,
    order: OrderId,
    provider: ProviderKind,
    amount: Money,
    outcome: &ChargeOutcome,
) -> anyhow::Result<()> {
    let (stored, code) = match outcome {
        ChargeOutcome::Succeeded { .. } => (PaymentStatus::Succeeded, None),
        ChargeOutcome::Declined { code } => (PaymentStatus::Failed, Some(code.as_str())),
        ChargeOutcome::RequiresAction { .. } => (PaymentStatus::RequiresAction, None),
        ChargeOutcome::Processing => (PaymentStatus::Pending, None),
    };
    let sql =
        "insert into payment (tenant_id, order_id, payment_id, provider, status, amount, currency, failure_code) \
               values ($1, $2, $3, $4, $5, $6, $7, $8) \
               on conflict (tenant_id, order_id) do update set status = excluded.status, \
                   failure_code = excluded.failure_code \
               where payment.status in ('pending', 'requires_action') \
                 and excluded.status in ('succeeded', 'failed')";
    let params =
        (order, PaymentId::new(), provider.as_str(), stored.as_str(), amount.amount, amount.currency.as_str(), code);
    crate::statements::execute(tx, sql, params).await?;
    Ok(())
}
