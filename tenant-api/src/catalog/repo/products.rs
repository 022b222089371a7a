//! Products: the one read shape (a product with everything that hangs off it,
//! in one query), staff reads, and writes of a product's own rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use platform::{
    db::TenantTx,
    money::{Currency, Money},
};
use sqlx::types::Json;
use uuid::Uuid;

use crate::catalog::model::{
    CategoryId, Media, MediaId, MediaStatus, NewProduct, Product, ProductId, ProductOption, ProductPatch,
    ProductStatus, SearchLanguage, Variant, VariantId,
};
use crate::statements::{one_row, relink, scalar, write_one};

/// A product row with its variants, options, categories and media aggregated in
/// the same query, so a page of products costs one round trip.
#[derive(sqlx::FromRow)]
pub(super) struct ProductRow {
    pub(super) product_id: Uuid,
    handle: String,
    pub(super) title: String,
    description: Option<String>,
    status: String,
    attributes: Json<BTreeMap<String, String>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    variants: Json<Vec<VariantRow>>,
    options: Json<Vec<OptionRow>>,
    category_ids: Vec<Uuid>,
    media: Json<Vec<MediaRow>>,
}

#[derive(serde::Deserialize)]
struct VariantRow {
    id: Uuid,
    sku: String,
    title: String,
    amount: i64,
    currency: String,
    compare_at: Option<i64>,
    weight_grams: Option<i32>,
    barcode: Option<String>,
    options: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct OptionRow {
    name: String,
    values: Vec<String>,
}

#[derive(serde::Deserialize)]
struct MediaRow {
    id: Uuid,
    key: String,
    content_type: String,
    byte_size: i64,
    alt: Option<String>,
    position: i32,
    status: String,
}

pub(super) const PRODUCT_COLUMNS: &str = "p.product_id, p.handle, p.title, p.description, p.status, p.attributes, \
     p.created_at, p.updated_at, \
     coalesce((select json_agg(json_build_object('id', v.variant_id, 'sku', v.sku, 'title', v.title, \
                                                 'amount', v.price_amount, 'currency', v.currency, \
                                                 'compare_at', v.compare_at_amount, 'weight_grams', v.weight_grams, \
                                                 'barcode', v.barcode, 'options', v.options) \
                               order by v.position, v.variant_id) \
               from product_variant v \
               where v.tenant_id = p.tenant_id and v.product_id = p.product_id), '[]') as variants, \
     coalesce((select json_agg(json_build_object('name', o.name, 'values', o.\"values\") order by o.position) \
               from product_option o \
               where o.tenant_id = p.tenant_id and o.product_id = p.product_id), '[]') as options, \
     array(select pc.category_id from product_category pc \
           where pc.tenant_id = p.tenant_id and pc.product_id = p.product_id order by pc.category_id) as category_ids, \
     coalesce((select json_agg(json_build_object('id', m.media_id, 'key', m.storage_key, \
                                                 'content_type', m.content_type, 'byte_size', m.byte_size, \
                                                 'alt', m.alt, 'position', m.position, 'status', m.status) \
                               order by m.position, m.media_id) \
               from product_media m \
               where m.tenant_id = p.tenant_id and m.product_id = p.product_id), '[]') as media";

fn currency(code: &str) -> anyhow::Result<Currency> {
    Currency::parse(code.trim()).ok_or_else(|| anyhow::anyhow!("stored currency {code:?} is not ISO 4217"))
}

impl TryFrom<ProductRow> for Product {
    type Error = anyhow::Error;

    fn try_from(row: ProductRow) -> anyhow::Result<Self> {
        let variants = row
            .variants
            .0
            .into_iter()
            .map(|v| {
                let currency = currency(&v.currency)?;
                Ok(Variant {
                    id: VariantId::from_uuid(v.id),
                    sku: v.sku,
                    title: v.title,
                    price: Money::new(v.amount, currency),
                    compare_at_price: v.compare_at.map(|amount| Money::new(amount, currency)),
                    weight_grams: v.weight_grams,
                    barcode: v.barcode,
                    options: v.options,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let media = row
            .media
            .0
            .into_iter()
            .map(|m| {
                Ok(Media {
                    id: MediaId::from_uuid(m.id),
                    storage_key: m.key,
                    content_type: m.content_type,
                    byte_size: m.byte_size,
                    alt: m.alt,
                    position: m.position,
                    status: MediaStatus::parse(&m.status)
                        .ok_or_else(|| anyhow::anyhow!("stored media status {:?} is unknown", m.status))?,
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
            attributes: row.attributes.0,
            options: row.options.0.into_iter().map(|o| ProductOption { name: o.name, values: o.values }).collect(),
            variants,
            category_ids: row.category_ids.into_iter().map(CategoryId::from_uuid).collect(),
            media,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A product by id in any status (staff views).
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn find_product_any_status(tx: &mut TenantTx, id: ProductId) -> anyhow::Result<Option<Product>> {
    let sql = format!("select {PRODUCT_COLUMNS} from product p where p.tenant_id = $1 and p.product_id = $2");
    let row: Option<ProductRow> = sqlx::query_as(&sql).bind(tx.tenant_id()).bind(id).fetch_optional(&mut **tx).await?;
    row.map(Product::try_from).transpose()
}

/// Products by id in any status, in no particular order (missing ids are skipped).
pub async fn find_products_any_status(tx: &mut TenantTx, ids: &[ProductId]) -> anyhow::Result<Vec<Product>> {
    let sql = format!("select {PRODUCT_COLUMNS} from product p where p.tenant_id = $1 and p.product_id = any($2)");
    let ids: Vec<Uuid> = ids.iter().map(ProductId::as_uuid).collect();
    let rows: Vec<ProductRow> = sqlx::query_as(&sql).bind(tx.tenant_id()).bind(ids).fetch_all(&mut **tx).await?;
    rows.into_iter().map(Product::try_from).collect()
}

/// Stores products' rendered storefront JSON (the read model) as `version`'s
/// (`None`: the product cannot be stored rendered; reads render it).
/// `only_stale`: leave a product alone whose model became current since it
/// was read (a backfill must not overwrite a concurrent write's render).
pub async fn store_storefront_docs(
    tx: &mut TenantTx,
    version: i32,
    docs: &[(ProductId, Option<String>)],
    only_stale: bool,
) -> Result<(), sqlx::Error> {
    if docs.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = docs.iter().map(|(id, _)| id.as_uuid()).collect();
    let json: Vec<Option<&str>> = docs.iter().map(|(_, doc)| doc.as_deref()).collect();
    sqlx::query(
        "update product p set storefront_json = d.json, storefront_version = $2 \
         from unnest($3::uuid[], $4::text[]) as d(id, json) \
         where p.tenant_id = $1 and p.product_id = d.id \
           and (not $5 or p.storefront_version is distinct from $2)",
    )
    .bind(tx.tenant_id())
    .bind(version)
    .bind(ids)
    .bind(json)
    .bind(only_stale)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Products in any status (optionally one status), newest first.
#[tracing::instrument(skip_all)]
pub async fn list_products_any_status(
    tx: &mut TenantTx,
    status: Option<ProductStatus>,
    limit: i64,
    after: Option<ProductId>,
) -> anyhow::Result<Vec<Product>> {
    let sql = format!(
        "select {PRODUCT_COLUMNS} from product p \
         where p.tenant_id = $1 and ($2::text is null or p.status = $2) and ($3::uuid is null or p.product_id < $3) \
         order by p.product_id desc limit $4"
    );
    let rows: Vec<ProductRow> = sqlx::query_as(&sql)
        .bind(tx.tenant_id())
        .bind(status.map(ProductStatus::as_str))
        .bind(after)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.into_iter().map(Product::try_from).collect()
}

/// Whether the product exists (any status).
pub async fn product_exists(tx: &mut TenantTx, id: ProductId) -> anyhow::Result<bool> {
    Ok(scalar(tx, "select exists(select 1 from product where tenant_id = $1 and product_id = $2)", (id,)).await?)
}

/// Serializes the store's product-creating transactions until commit, so two
/// concurrent creates cannot both pass the plan's product quota.
pub async fn lock_product_count(tx: &mut TenantTx) -> anyhow::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('product-quota:' || $1::text, 0))")
        .bind(tx.tenant_id())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// How many products the store has, in any status.
pub async fn count_products(tx: &mut TenantTx) -> anyhow::Result<i64> {
    Ok(scalar(tx, "select count(*) from product where tenant_id = $1", ()).await?)
}

/// Inserts a product row.
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn insert_product(
    tx: &mut TenantTx,
    id: ProductId,
    product: &NewProduct,
    language: SearchLanguage,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into product (tenant_id, product_id, handle, title, description, status, attributes, search_config) \
         values ($1, $2, $3, $4, $5, $6, $7, $8::regconfig)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(product.handle.as_ref())
    .bind(&product.title)
    .bind(&product.description)
    .bind(product.status.as_str())
    .bind(Json(&product.attributes))
    .bind(language.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Applies a patch to a product's own columns; false when there is no such product.
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn update_product(
    tx: &mut TenantTx,
    id: ProductId,
    patch: &ProductPatch,
    language: SearchLanguage,
) -> Result<bool, sqlx::Error> {
    let query = sqlx::query(
        "update product set \
           title = coalesce($3, title), handle = coalesce($4, handle), \
           description = case when $5 then $6 else description end, \
           status = coalesce($7, status), attributes = coalesce($8, attributes), \
           search_config = $9::regconfig, updated_at = now(), storefront_version = null \
         where tenant_id = $1 and product_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(&patch.title)
    .bind(patch.handle.as_ref().map(AsRef::as_ref))
    .bind(patch.description.is_some())
    .bind(patch.description.clone().flatten())
    .bind(patch.status.map(ProductStatus::as_str))
    .bind(patch.attributes.as_ref().map(Json))
    .bind(language.as_str());
    one_row(tx, query).await
}

/// Marks a product changed (for changes to its variants, options, media).
pub async fn touch_product(tx: &mut TenantTx, id: ProductId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update product set updated_at = now(), storefront_version = null, \
           price_min = (select min(price_amount) from product_variant v \
                        where v.tenant_id = product.tenant_id and v.product_id = product.product_id) \
         where tenant_id = $1 and product_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes a product and everything that hangs off it; false when there is none.
pub async fn delete_product(tx: &mut TenantTx, id: ProductId) -> Result<bool, sqlx::Error> {
    write_one(tx, "delete from product where tenant_id = $1 and product_id = $2", (id,)).await
}

/// Replaces a product's options.
pub async fn replace_options(tx: &mut TenantTx, id: ProductId, options: &[ProductOption]) -> Result<(), sqlx::Error> {
    sqlx::query("delete from product_option where tenant_id = $1 and product_id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    for (position, option) in options.iter().enumerate() {
        sqlx::query(
            "insert into product_option (tenant_id, product_id, position, name, \"values\") values ($1, $2, $3, $4, $5)",
        )
        .bind(tx.tenant_id())
        .bind(id)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .bind(&option.name)
        .bind(&option.values)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The options of a product.
pub async fn options_of(tx: &mut TenantTx, id: ProductId) -> anyhow::Result<Vec<ProductOption>> {
    let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
        "select name, \"values\" from product_option where tenant_id = $1 and product_id = $2 order by position",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(name, values)| ProductOption { name, values }).collect())
}

/// Replaces the categories a product is filed under. An id that is not one of
/// this store's categories violates `product_category_category_fkey`.
pub async fn replace_product_categories(
    tx: &mut TenantTx,
    id: ProductId,
    categories: &[CategoryId],
) -> Result<(), sqlx::Error> {
    relink(
        tx,
        "delete from product_category where tenant_id = $1 and product_id = $2",
        "insert into product_category (tenant_id, product_id, category_id) \
         select $1, $2, c from unnest($3::uuid[]) as c on conflict do nothing",
        id.as_uuid(),
        categories.iter().map(CategoryId::as_uuid).collect(),
    )
    .await
}
