//! Catalog SQL. Every function takes the tenant-scoped transaction and still
//! filters on `tenant_id` so the `(tenant_id, …)` indexes are used.

use chrono::{DateTime, Utc};
use platform::{
    db::TenantTx,
    money::{Currency, Money},
};
use sqlx::types::Json;
use uuid::Uuid;

use super::model::{NewProduct, NewVariant, Page, Product, ProductId, ProductStatus, Variant, VariantId};

/// A product row with its variants aggregated in the same query, so a page of
/// products with variants costs one round trip.
#[derive(sqlx::FromRow)]
struct ProductRow {
    product_id: Uuid,
    handle: String,
    title: String,
    description: Option<String>,
    status: String,
    attributes: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    variants: Json<Vec<VariantRow>>,
}

#[derive(serde::Deserialize)]
struct VariantRow {
    id: Uuid,
    sku: String,
    title: String,
    amount: i64,
    currency: String,
}

const PRODUCT_COLUMNS: &str = "p.product_id, p.handle, p.title, p.description, p.status, p.attributes, \
     p.created_at, p.updated_at, \
     coalesce((select json_agg(json_build_object('id', v.variant_id, 'sku', v.sku, 'title', v.title, \
                                                 'amount', v.price_amount, 'currency', v.currency) \
                               order by v.position, v.variant_id) \
               from product_variant v \
               where v.tenant_id = p.tenant_id and v.product_id = p.product_id), '[]') as variants";

impl TryFrom<ProductRow> for Product {
    type Error = anyhow::Error;

    fn try_from(row: ProductRow) -> anyhow::Result<Self> {
        let variants = row
            .variants
            .0
            .into_iter()
            .map(|v| {
                let currency = Currency::parse(v.currency.trim())
                    .ok_or_else(|| anyhow::anyhow!("stored currency {:?} is not ISO 4217", v.currency))?;
                Ok(Variant {
                    id: VariantId::from_uuid(v.id),
                    sku: v.sku,
                    title: v.title,
                    price: Money::new(v.amount, currency),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Product {
            id: ProductId::from_uuid(row.product_id),
            handle: row.handle,
            title: row.title,
            description: row.description,
            status: ProductStatus::parse(&row.status)
                .ok_or_else(|| anyhow::anyhow!("stored status {:?} is unknown", row.status))?,
            attributes: row.attributes,
            variants,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Active products, newest first, optionally matching a search phrase.
#[tracing::instrument(skip_all, fields(limit = page.limit))]
pub async fn list_active_products(tx: &mut TenantTx, page: Page, query: Option<&str>) -> anyhow::Result<Vec<Product>> {
    let sql = format!(
        "select {PRODUCT_COLUMNS} from product p \
         where p.tenant_id = $1 and p.status = 'active' \
           and ($2::uuid is null or p.product_id < $2) \
           and ($3::text is null or to_tsvector('simple', p.title || ' ' || coalesce(p.description, '')) \
                                    @@ websearch_to_tsquery('simple', $3)) \
         order by p.product_id desc limit $4"
    );
    let rows: Vec<ProductRow> = sqlx::query_as(&sql)
        .bind(tx.tenant_id())
        .bind(page.after)
        .bind(query)
        .bind(page.limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(Product::try_from).collect()
}

/// An active product by id.
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn find_active_product_by_id(tx: &mut TenantTx, id: ProductId) -> anyhow::Result<Option<Product>> {
    let sql = format!(
        "select {PRODUCT_COLUMNS} from product p \
         where p.tenant_id = $1 and p.product_id = $2 and p.status = 'active'"
    );
    let row: Option<ProductRow> = sqlx::query_as(&sql).bind(tx.tenant_id()).bind(id).fetch_optional(&mut **tx).await?;
    row.map(Product::try_from).transpose()
}

/// An active product by handle.
#[tracing::instrument(skip_all)]
pub async fn find_active_product_by_handle(tx: &mut TenantTx, handle: &str) -> anyhow::Result<Option<Product>> {
    let sql = format!(
        "select {PRODUCT_COLUMNS} from product p \
         where p.tenant_id = $1 and p.handle = $2 and p.status = 'active'"
    );
    let row: Option<ProductRow> =
        sqlx::query_as(&sql).bind(tx.tenant_id()).bind(handle).fetch_optional(&mut **tx).await?;
    row.map(Product::try_from).transpose()
}

/// A product by id in any status (staff views).
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn find_product_any_status(tx: &mut TenantTx, id: ProductId) -> anyhow::Result<Option<Product>> {
    let sql = format!("select {PRODUCT_COLUMNS} from product p where p.tenant_id = $1 and p.product_id = $2");
    let row: Option<ProductRow> = sqlx::query_as(&sql).bind(tx.tenant_id()).bind(id).fetch_optional(&mut **tx).await?;
    row.map(Product::try_from).transpose()
}

/// Inserts a product row.
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn insert_product(tx: &mut TenantTx, id: ProductId, product: &NewProduct) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into product (tenant_id, product_id, handle, title, description, status) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(product.handle.as_ref())
    .bind(&product.title)
    .bind(&product.description)
    .bind(product.status.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a variant and its stock level.
#[tracing::instrument(skip_all, fields(variant_id = %id))]
pub async fn insert_variant(
    tx: &mut TenantTx,
    product: ProductId,
    id: VariantId,
    position: i32,
    variant: &NewVariant,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with v as ( \
             insert into product_variant (tenant_id, variant_id, product_id, sku, title, price_amount, currency, position) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) returning tenant_id, variant_id) \
         insert into inventory_level (tenant_id, variant_id, on_hand) select tenant_id, variant_id, $9 from v",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(product)
    .bind(&variant.sku)
    .bind(&variant.title)
    .bind(variant.price.amount)
    .bind(variant.price.currency.as_str())
    .bind(position)
    .bind(variant.stock)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How many products the store has, in any status.
pub async fn count_products(tx: &mut TenantTx) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("select count(*) from product where tenant_id = $1")
        .bind(tx.tenant_id())
        .fetch_one(&mut **tx)
        .await?)
}
