//! A product's variants.

use platform::db::TenantTx;
use sqlx::types::Json;

use crate::catalog::model::{NewVariant, ProductId, VariantId, VariantPatch};
use crate::statements::{fetch_optional, one_row, scalar, write_one};

/// Inserts a variant.
#[tracing::instrument(skip_all, fields(variant_id = %id))]
pub async fn insert_variant(
    tx: &mut TenantTx,
    product: ProductId,
    id: VariantId,
    position: i32,
    variant: &NewVariant,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into product_variant (tenant_id, variant_id, product_id, sku, title, price_amount, currency, \
                                      compare_at_amount, weight_grams, barcode, options, position) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(product)
    .bind(variant.sku.as_ref())
    .bind(&variant.title)
    .bind(variant.price.amount)
    .bind(variant.price.currency.as_str())
    .bind(variant.compare_at_price.map(|m| m.amount))
    .bind(variant.weight_grams)
    .bind(&variant.barcode)
    .bind(Json(&variant.options))
    .bind(position)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The next free variant position of a product.
pub async fn next_variant_position(tx: &mut TenantTx, product: ProductId) -> anyhow::Result<i32> {
    let sql = "select coalesce(max(position) + 1, 0) from product_variant where tenant_id = $1 and product_id = $2";
    Ok(scalar(tx, sql, (product,)).await?)
}

/// Applies a patch to a variant of a product; false when there is none.
#[tracing::instrument(skip_all, fields(variant_id = %id))]
pub async fn update_variant(
    tx: &mut TenantTx,
    product: ProductId,
    id: VariantId,
    patch: &VariantPatch,
) -> Result<bool, sqlx::Error> {
    let query = sqlx::query(
        "update product_variant set \
           sku = coalesce($4, sku), title = coalesce($5, title), price_amount = coalesce($6, price_amount), \
           compare_at_amount = case when $7 then $8 else compare_at_amount end, \
           weight_grams = case when $9 then $10 else weight_grams end, \
           barcode = case when $11 then $12 else barcode end, \
           options = coalesce($13, options), updated_at = now() \
         where tenant_id = $1 and product_id = $2 and variant_id = $3",
    )
    .bind(tx.tenant_id())
    .bind(product)
    .bind(id)
    .bind(patch.sku.as_ref().map(AsRef::as_ref))
    .bind(&patch.title)
    .bind(patch.price.map(|m| m.amount))
    .bind(patch.compare_at_price.is_some())
    .bind(patch.compare_at_price.flatten().map(|m| m.amount))
    .bind(patch.weight_grams.is_some())
    .bind(patch.weight_grams.flatten())
    .bind(patch.barcode.is_some())
    .bind(patch.barcode.clone().flatten())
    .bind(patch.options.as_ref().map(Json));
    one_row(tx, query).await
}

/// The current price and compare-at price of a variant of a product.
pub async fn variant_prices(
    tx: &mut TenantTx,
    product: ProductId,
    id: VariantId,
) -> anyhow::Result<Option<(i64, Option<i64>)>> {
    let sql = "select price_amount, compare_at_amount from product_variant \
               where tenant_id = $1 and product_id = $2 and variant_id = $3";
    Ok(fetch_optional(tx, sql, (product, id)).await?)
}

/// Deletes a variant of a product; false when there is none.
pub async fn delete_variant(tx: &mut TenantTx, product: ProductId, id: VariantId) -> Result<bool, sqlx::Error> {
    let sql = "delete from product_variant where tenant_id = $1 and product_id = $2 and variant_id = $3";
    write_one(tx, sql, (product, id)).await
}

/// How many variants a product has.
pub async fn count_variants(tx: &mut TenantTx, product: ProductId) -> anyhow::Result<i64> {
    Ok(scalar(tx, "select count(*) from product_variant where tenant_id = $1 and product_id = $2", (product,)).await?)
}
