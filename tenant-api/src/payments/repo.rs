//! The test provider's ledger and the payment views of orders.

use chrono::{DateTime, Utc};
use platform::{
    db::TenantTx,
    money::{Currency, Money},
};
use uuid::Uuid;

use super::model::{ChargeOutcome, Payment, RefundRefusal};

fn outcome(payment_id: Uuid, status: &str, failure_code: Option<String>) -> ChargeOutcome {
    if status == "succeeded" {
        ChargeOutcome::Succeeded { payment_id }
    } else {
        ChargeOutcome::Declined { code: failure_code.unwrap_or_else(|| "declined".into()) }
    }
}

/// Records a charge for `order` unless one exists, and returns the charge that
/// stands (the first one): one statement, so concurrent retries agree.
pub async fn record_charge(
    tx: &mut TenantTx,
    order: Uuid,
    payment_id: Uuid,
    provider: &str,
    amount: Money,
    declined: Option<&str>,
) -> anyhow::Result<ChargeOutcome> {
    let row: Option<(Uuid, String, Option<String>)> = sqlx::query_as(
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
    .bind(order)
    .bind(payment_id)
    .bind(provider)
    .bind(if declined.is_some() { "failed" } else { "succeeded" })
    .bind(amount.amount)
    .bind(amount.currency.as_str())
    .bind(declined)
    .fetch_optional(&mut **tx)
    .await?;
    let (id, status, code) =
        row.ok_or_else(|| anyhow::anyhow!("a concurrent charge of this order is not visible yet"))?;
    Ok(outcome(id, &status, code))
}

/// The charge of `order`, if one was made.
pub async fn find_charge(tx: &mut TenantTx, order: Uuid) -> anyhow::Result<Option<ChargeOutcome>> {
    let row: Option<(Uuid, String, Option<String>)> =
        sqlx::query_as("select payment_id, status, failure_code from payment where tenant_id = $1 and order_id = $2")
            .bind(tx.tenant_id())
            .bind(order)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(id, status, code)| outcome(id, &status, code)))
}

/// Records a refund of part of a successful charge, at most once per refund id;
/// the conditional update keeps the refunded sum within the charge.
pub async fn record_refund(
    tx: &mut TenantTx,
    order: Uuid,
    refund: Uuid,
    amount: Money,
    reason: Option<&str>,
) -> anyhow::Result<Result<(), RefundRefusal>> {
    let done: Option<i64> = sqlx::query_scalar(
        "with prior as (select 1 from refund where tenant_id = $1 and refund_id = $3), \
         p as ( \
             update payment set refunded_amount = refunded_amount + $4 \
             where tenant_id = $1 and order_id = $2 and status = 'succeeded' \
               and refunded_amount + $4 <= amount and not exists (select 1 from prior) \
             returning currency), \
         r as ( \
             insert into refund (tenant_id, refund_id, order_id, amount, currency, reason) \
             select $1, $3, $2, $4, currency, $5 from p returning 1) \
         select (select count(*) from r) + (select count(*) from prior)",
    )
    .bind(tx.tenant_id())
    .bind(order)
    .bind(refund)
    .bind(amount.amount)
    .bind(reason)
    .fetch_optional(&mut **tx)
    .await?;
    if done.unwrap_or(0) > 0 {
        return Ok(Ok(()));
    }
    let charged: Option<bool> =
        sqlx::query_scalar("select status = 'succeeded' from payment where tenant_id = $1 and order_id = $2")
            .bind(tx.tenant_id())
            .bind(order)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(Err(if charged == Some(true) { RefundRefusal::ExceedsCharge } else { RefundRefusal::NotCharged }))
}

/// Every charge recorded for an order (zero or one with the test provider).
pub async fn payments_for_order(tx: &mut TenantTx, order: Uuid) -> anyhow::Result<Vec<Payment>> {
    type Row = (Uuid, String, String, i64, String, i64, Option<String>, DateTime<Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "select payment_id, provider, status, amount, currency, refunded_amount, failure_code, created_at \
         from payment where tenant_id = $1 and order_id = $2 order by created_at",
    )
    .bind(tx.tenant_id())
    .bind(order)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(id, provider, status, amount, currency, refunded, failure_code, created_at)| {
            let currency = Currency::parse(currency.trim()).ok_or_else(|| anyhow::anyhow!("bad stored currency"))?;
            Ok(Payment {
                id,
                provider,
                status,
                amount: Money::new(amount, currency),
                refunded: Money::new(refunded, currency),
                failure_code,
                created_at,
            })
        })
        .collect()
}
