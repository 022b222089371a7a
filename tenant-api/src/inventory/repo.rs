//! Inventory SQL.

use platform::db::TenantTx;

use super::model::StockLevel;
use crate::{
    catalog::model::VariantId,
    statements::{execute, fetch_optional},
};

/// Creates stock levels for new variants (one statement for any number).
pub async fn insert_levels(tx: &mut TenantTx, variants: &[VariantId], on_hand: &[i32]) -> Result<(), sqlx::Error> {
    let sql = "insert into inventory_level (tenant_id, variant_id, on_hand) \
               select $1, v, n from unnest($2::uuid[], $3::int[]) as u(v, n)";
    execute(tx, sql, (variants, on_hand)).await?;
    Ok(())
}

pub async fn find_level(tx: &mut TenantTx, variant: VariantId) -> anyhow::Result<Option<StockLevel>> {
    let sql = "select on_hand, reserved from inventory_level where tenant_id = $1 and variant_id = $2";
    let row: Option<(i32, i32)> = fetch_optional(tx, sql, (variant,)).await?;
    Ok(row.map(|(on_hand, reserved)| StockLevel { variant_id: variant, on_hand, reserved }))
}

/// Sets on_hand; `None` when the variant has no level in this store.
pub async fn set_on_hand(
    tx: &mut TenantTx,
    variant: VariantId,
    on_hand: i32,
) -> Result<Option<StockLevel>, sqlx::Error> {
    let sql = "update inventory_level set on_hand = $3, updated_at = now() \
               where tenant_id = $1 and variant_id = $2 returning on_hand, reserved";
    let row: Option<(i32, i32)> = fetch_optional(tx, sql, (variant, on_hand)).await?;
    Ok(row.map(|(on_hand, reserved)| StockLevel { variant_id: variant, on_hand, reserved }))
}
