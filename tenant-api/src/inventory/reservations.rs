//! Stock reservations of checkout: hold, commit, release, return to stock.
//!
//! **Invariant:** every change to `inventory_level` here is one conditional
//! `UPDATE` — never a read followed by a write, except under the row locks of
//! [`lock_available`], held until the transaction ends — and rows are locked
//! in variant order, so concurrent checkouts of overlapping carts cannot
//! deadlock. Held units move to `reserved`; paying moves them out of both
//! `on_hand` and `reserved`; failure, cancellation or expiry give them back.
//! A checkout charged in the same transaction holds nothing: it locks the
//! rows, and the paid order's insert sells the units straight from `on_hand`
//! (`orders::repo::insert_order`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use platform::db::TenantTx;
use uuid::Uuid;

use crate::catalog::model::VariantId;

/// Holds `quantity` units of every line for `order`, all or nothing: returns the
/// variants that lacked stock (empty when everything is held). On a non-empty
/// answer the caller must roll back, which undoes the lines that were held.
#[tracing::instrument(skip_all, fields(order_id = %order, lines = lines.len()))]
pub async fn reserve(
    tx: &mut TenantTx,
    order: Uuid,
    lines: &[(VariantId, i32)],
    expires_at: DateTime<Utc>,
) -> anyhow::Result<Vec<VariantId>> {
    let variants: Vec<VariantId> = lines.iter().map(|(v, _)| *v).collect();
    let quantities: Vec<i32> = lines.iter().map(|(_, q)| *q).collect();
    let held: Vec<VariantId> = sqlx::query_scalar(
        "with req as (select * from unnest($2::uuid[], $3::int[]) as r(variant_id, quantity)), \
         locked as materialized ( \
             select l.variant_id from inventory_level l \
             where l.tenant_id = $1 and l.variant_id in (select variant_id from req) \
             order by l.variant_id for update), \
         held as ( \
             update inventory_level l set reserved = l.reserved + req.quantity, updated_at = now() \
             from req \
             where l.tenant_id = $1 and l.variant_id = req.variant_id \
               and l.variant_id in (select variant_id from locked) \
               and l.on_hand - l.reserved >= req.quantity \
             returning l.variant_id, req.quantity) \
         insert into stock_reservation (tenant_id, order_id, variant_id, quantity, expires_at) \
         select $1, $4, variant_id, quantity, $5 from held returning variant_id",
    )
    .bind(tx.tenant_id())
    .bind(&variants)
    .bind(&quantities)
    .bind(order)
    .bind(expires_at)
    .fetch_all(&mut **tx)
    .await?;
    Ok(variants.into_iter().filter(|v| !held.contains(v)).collect())
}

/// Locks the stock rows of `lines` in variant order (`for update`, held
/// until the transaction ends) and writes nothing: the variants that have
/// fewer than their quantity free (or no stock row). With an empty answer the
/// units stay free for this transaction whatever it does next, so it may sell
/// them without holding them first.
#[tracing::instrument(skip_all, fields(lines = lines.len()))]
pub async fn lock_available(tx: &mut TenantTx, lines: &[(VariantId, i32)]) -> anyhow::Result<Vec<VariantId>> {
    let variants: Vec<VariantId> = lines.iter().map(|(v, _)| *v).collect();
    let free: Vec<(VariantId, i32)> = sqlx::query_as(
        "select variant_id, on_hand - reserved from inventory_level \
         where tenant_id = $1 and variant_id = any($2) order by variant_id for update",
    )
    .bind(tx.tenant_id())
    .bind(&variants)
    .fetch_all(&mut **tx)
    .await?;
    let free: HashMap<VariantId, i32> = free.into_iter().collect();
    Ok(lines.iter().filter(|(v, q)| free.get(v).is_none_or(|f| f < q)).map(|(v, _)| *v).collect())
}

/// What happens to an order's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// Paid: held units leave `on_hand` and `reserved`.
    Commit,
    /// Failed, cancelled before payment, expired: held units leave `reserved`.
    Release,
    /// Cancelled after payment: committed units come back to `on_hand`.
    Restock,
}

/// Payment failed, the order was cancelled before payment, or the hold expired:
/// the held units are available again. Returns the units moved.
pub async fn release(tx: &mut TenantTx, order: Uuid) -> anyhow::Result<i64> {
    apply(tx, order, Move::Release).await
}

/// The common table expressions that make `step` for the order `$2` of the
/// tenant `$1`, for a statement of their own ([`release`]) or to follow the
/// order's own change in one statement (`orders::repo::transition` and
/// `insert_order`: the order's row and its stock change together).
///
/// The reservation rows change state in the same statement that moves the
/// counters, so a second commit or release of one order finds nothing to
/// move; `gate` is a condition every reservation row must also meet (an
/// `exists` on an earlier expression: the units move only when the order's
/// row changed). Stock rows are locked in variant order. The last
/// expression, `moved`, returns the quantities moved.
pub fn move_ctes(step: Move, gate: &str) -> String {
    let (from, to, change) = match step {
        Move::Commit => ("held", "committed", "on_hand = l.on_hand - r.quantity, reserved = l.reserved - r.quantity"),
        Move::Release => ("held", "released", "reserved = l.reserved - r.quantity"),
        Move::Restock => ("committed", "released", "on_hand = l.on_hand + r.quantity"),
    };
    format!(
        "r as ( \
             update stock_reservation set status = '{to}', updated_at = now() \
             where tenant_id = $1 and order_id = $2 and status = '{from}' and {gate} \
             returning variant_id, quantity), \
         locked as materialized ( \
             select l.variant_id from inventory_level l \
             where l.tenant_id = $1 and l.variant_id in (select variant_id from r) \
             order by l.variant_id for update), \
         moved as ( \
             update inventory_level l set {change}, updated_at = now() \
             from r \
             where l.tenant_id = $1 and l.variant_id = r.variant_id \
               and l.variant_id in (select variant_id from locked) \
             returning r.quantity)"
    )
}

#[tracing::instrument(skip_all, fields(order_id = %order, ?step))]
async fn apply(tx: &mut TenantTx, order: Uuid, step: Move) -> anyhow::Result<i64> {
    let moved: Option<i64> =
        sqlx::query_scalar(&format!("with {} select sum(quantity)::bigint from moved", move_ctes(step, "true")))
            .bind(tx.tenant_id())
            .bind(order)
            .fetch_one(&mut **tx)
            .await?;
    Ok(moved.unwrap_or(0))
}

/// Units available (`on_hand - reserved`) per variant; variants without a
/// stock level are absent.
pub async fn available(tx: &mut TenantTx, variants: &[VariantId]) -> anyhow::Result<HashMap<VariantId, i32>> {
    let rows: Vec<(VariantId, i32)> = sqlx::query_as(
        "select variant_id, on_hand - reserved from inventory_level where tenant_id = $1 and variant_id = any($2)",
    )
    .bind(tx.tenant_id())
    .bind(variants)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Worker: orders, across every store of a cell, holding stock past its
/// expiry — the source of the expiry job's scan (`worker::attempts::due`).
pub const EXPIRED_HOLDS: &str = "select distinct tenant_id, order_id as subject from stock_reservation \
                                 where status = 'held' and expires_at < now()";

/// Whether an order's hold has expired (checked again inside the tenant's own
/// transaction before anything is released).
pub async fn hold_expired(tx: &mut TenantTx, order: Uuid) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists(select 1 from stock_reservation \
                       where tenant_id = $1 and order_id = $2 and status = 'held' and expires_at < now())",
    )
    .bind(tx.tenant_id())
    .bind(order)
    .fetch_one(&mut **tx)
    .await?)
}
