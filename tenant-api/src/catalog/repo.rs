//! Catalog SQL. Every function takes the tenant-scoped transaction and still
//! filters on `tenant_id` so the `(tenant_id, …)` indexes are used.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use platform::{
    db::TenantTx,
    money::{Currency, Money},
};
use sqlx::{types::Json, Postgres, QueryBuilder};
use uuid::Uuid;

use super::model::{
    Category, CategoryId, CategoryPatch, Collection, CollectionId, Facets, Keyset, Media, MediaId, MediaStatus,
    NewCategory, NewProduct, NewVariant, Page, Product, ProductFilter, ProductId, ProductOption, ProductPatch,
    ProductStatus, SearchLanguage, Sort, Suggestion, Variant, VariantId, VariantPatch,
};

/// Word similarity from which a title matches a misspelt phrase. pg_trgm's
/// default (0.6) misses single-letter typos in short words ("beenie" → "beanie"
/// scores 0.4).
const TRIGRAM_THRESHOLD: &str = "0.4";

/// A product row with its variants, options, categories and media aggregated in
/// the same query, so a page of products costs one round trip.
#[derive(sqlx::FromRow)]
struct ProductRow {
    product_id: Uuid,
    handle: String,
    title: String,
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

const PRODUCT_COLUMNS: &str = "p.product_id, p.handle, p.title, p.description, p.status, p.attributes, \
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

// ---------------------------------------------------------------- storefront reads

/// Makes `<%` match misspellings for the rest of the transaction.
async fn set_trigram_threshold(tx: &mut TenantTx) -> anyhow::Result<()> {
    sqlx::query("select set_config('pg_trgm.word_similarity_threshold', $1, true)")
        .bind(TRIGRAM_THRESHOLD)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `from product p where …` for active products matching the filter.
/// `categories`/`collection` are already resolved to ids (`None`: no filter).
fn push_filtered(
    qb: &mut QueryBuilder<'_, Postgres>,
    tx: &TenantTx,
    language: SearchLanguage,
    filter: &ProductFilter,
    categories: Option<&[Uuid]>,
    collection: Option<Uuid>,
) {
    qb.push(" from product p where p.tenant_id = ").push_bind(tx.tenant_id()).push(" and p.status = 'active'");
    if let Some(query) = &filter.query {
        // Words first; trigram similarity (misspellings) only when the words match
        // no active product of the store. That keeps a correct query precise, and
        // the uncorrelated `not exists` runs once and, placed first, spares the
        // per-row similarity when the words do match.
        qb.push(" and (p.search_vector @@ websearch_to_tsquery(")
            .push_bind(language.as_str())
            .push("::regconfig, ")
            .push_bind(query.clone())
            .push(") or (not exists (select 1 from product x where x.tenant_id = ")
            .push_bind(tx.tenant_id())
            .push(" and x.status = 'active' and x.search_vector @@ websearch_to_tsquery(")
            .push_bind(language.as_str())
            .push("::regconfig, ")
            .push_bind(query.clone())
            .push(")) and ")
            .push_bind(query.clone())
            .push(" <% p.title))");
    }
    if let Some(categories) = categories {
        qb.push(
            " and exists (select 1 from product_category pc where pc.tenant_id = p.tenant_id \
             and pc.product_id = p.product_id and pc.category_id = any(",
        )
        .push_bind(categories.to_vec())
        .push("))");
    }
    if let Some(collection) = collection {
        qb.push(
            " and exists (select 1 from collection_product cp where cp.tenant_id = p.tenant_id \
             and cp.product_id = p.product_id and cp.collection_id = ",
        )
        .push_bind(collection)
        .push(")");
    }
    if let Some(min) = filter.price_min {
        qb.push(" and p.price_min >= ").push_bind(min);
    }
    if let Some(max) = filter.price_max {
        qb.push(" and p.price_min <= ").push_bind(max);
    }
    for (name, values) in &filter.attributes {
        // Containment per value keeps the (tenant_id, attributes jsonb_path_ops) index usable.
        qb.push(" and (");
        for (n, value) in values.iter().enumerate() {
            if n > 0 {
                qb.push(" or ");
            }
            qb.push("p.attributes @> ").push_bind(serde_json::json!({ name: value }));
        }
        qb.push(")");
    }
}

fn push_relevance(qb: &mut QueryBuilder<'_, Postgres>, language: SearchLanguage, query: &str) {
    qb.push("(ts_rank_cd(p.search_vector, websearch_to_tsquery(")
        .push_bind(language.as_str())
        .push("::regconfig, ")
        .push_bind(query.to_owned())
        .push(")) + word_similarity(")
        .push_bind(query.to_owned())
        .push(", p.title))::float8");
}

/// Filtered category ids: the category named by id or handle and its descendants.
/// `None` when no such category exists.
pub async fn category_subtree(tx: &mut TenantTx, id_or_handle: &str) -> anyhow::Result<Option<Vec<Uuid>>> {
    let id = CategoryId::parse(id_or_handle);
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "with recursive tree as ( \
             select category_id from category \
             where tenant_id = $1 and (category_id = $2 or ($2 is null and handle = $3)) \
           union \
             select c.category_id from category c join tree t on c.parent_id = t.category_id \
             where c.tenant_id = $1) \
         select category_id from tree",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(id_or_handle)
    .fetch_all(&mut **tx)
    .await?;
    Ok((!ids.is_empty()).then_some(ids))
}

/// A collection's id from its id or handle.
pub async fn collection_id(tx: &mut TenantTx, id_or_handle: &str) -> anyhow::Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "select collection_id from collection where tenant_id = $1 and (collection_id = $2 or ($2 is null and handle = $3))",
    )
    .bind(tx.tenant_id())
    .bind(CollectionId::parse(id_or_handle))
    .bind(id_or_handle)
    .fetch_optional(&mut **tx)
    .await?)
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    product: ProductRow,
    price_key: i64,
    score: f64,
}

/// One page of active products matching the filter, in the given order.
#[tracing::instrument(skip_all, fields(limit = page.limit, sort = sort.as_str()))]
pub async fn list_active_products(
    tx: &mut TenantTx,
    language: SearchLanguage,
    filter: &ProductFilter,
    categories: Option<&[Uuid]>,
    collection: Option<Uuid>,
    sort: Sort,
    page: &Page,
) -> anyhow::Result<(Vec<Product>, Option<Keyset>)> {
    if filter.query.is_some() {
        set_trigram_threshold(tx).await?;
    }
    let mut qb = QueryBuilder::new(format!("select {PRODUCT_COLUMNS}, coalesce(p.price_min, 0) as price_key, "));
    match &filter.query {
        Some(query) => push_relevance(&mut qb, language, query),
        None => {
            qb.push("0::float8");
        }
    }
    qb.push(" as score");
    push_filtered(&mut qb, tx, language, filter, categories, collection);
    match &page.after {
        None => {}
        Some(Keyset::Newest(id)) => {
            qb.push(" and p.product_id < ").push_bind(*id);
        }
        Some(Keyset::Price(price, id)) => {
            let op = if sort == Sort::PriceDesc { "<" } else { ">" };
            qb.push(format!(" and (coalesce(p.price_min, 0), p.product_id) {op} ("))
                .push_bind(*price)
                .push(", ")
                .push_bind(*id)
                .push(")");
        }
        Some(Keyset::Title(title, id)) => {
            qb.push(" and (p.title, p.product_id) > (").push_bind(title.clone()).push(", ").push_bind(*id).push(")");
        }
        Some(Keyset::Relevance(score, id)) => {
            let query = filter.query.as_deref().unwrap_or_default();
            qb.push(" and (");
            push_relevance(&mut qb, language, query);
            qb.push(", p.product_id) < (").push_bind(*score).push(", ").push_bind(*id).push(")");
        }
    }
    qb.push(match sort {
        Sort::Newest => " order by p.product_id desc",
        Sort::PriceAsc => " order by price_key asc, p.product_id asc",
        Sort::PriceDesc => " order by price_key desc, p.product_id desc",
        Sort::Title => " order by p.title asc, p.product_id asc",
        Sort::Relevance => " order by score desc, p.product_id desc",
    });
    qb.push(" limit ").push_bind(page.limit);

    let rows: Vec<ListedRow> = qb.build_query_as().fetch_all(&mut **tx).await?;
    let next = if rows.len() as i64 == page.limit {
        rows.last().map(|row| {
            let id = ProductId::from_uuid(row.product.product_id);
            match sort {
                Sort::Newest => Keyset::Newest(id),
                Sort::PriceAsc | Sort::PriceDesc => Keyset::Price(row.price_key, id),
                Sort::Title => Keyset::Title(row.product.title.clone(), id),
                Sort::Relevance => Keyset::Relevance(row.score, id),
            }
        })
    } else {
        None
    };
    let products = rows.into_iter().map(|row| Product::try_from(row.product)).collect::<anyhow::Result<_>>()?;
    Ok((products, next))
}

#[derive(serde::Deserialize)]
struct FacetsRow {
    total: i64,
    attributes: Vec<(String, String, i64)>,
    categories: Vec<FacetCategoryRow>,
    collections: Vec<(Uuid, String, String, i64)>,
    price_min: Option<i64>,
    price_max: Option<i64>,
}

#[derive(serde::Deserialize)]
struct FacetCategoryRow {
    id: Uuid,
    parent_id: Option<Uuid>,
    handle: String,
    name: String,
    position: i32,
    count: i64,
}

/// Counts of the products matching the filter, by attribute value, category,
/// collection, and their price range: one query over the filtered set.
#[tracing::instrument(skip_all)]
pub async fn facets(
    tx: &mut TenantTx,
    language: SearchLanguage,
    filter: &ProductFilter,
    categories: Option<&[Uuid]>,
    collection: Option<Uuid>,
) -> anyhow::Result<Facets> {
    if filter.query.is_some() {
        set_trigram_threshold(tx).await?;
    }
    let mut qb = QueryBuilder::new("with f as (select p.product_id, p.attributes, p.price_min");
    push_filtered(&mut qb, tx, language, filter, categories, collection);
    qb.push(
        ") select json_build_object( \
           'total', (select count(*) from f), \
           'price_min', (select min(price_min) from f), \
           'price_max', (select max(price_min) from f), \
           'attributes', coalesce((select json_agg(json_build_array(k, v, n) order by k, n desc, v) from ( \
               select kv.key as k, kv.value as v, count(*) as n from f, jsonb_each_text(f.attributes) kv \
               group by 1, 2) a), '[]'), \
           'categories', coalesce((select json_agg(json_build_object('id', c.category_id, 'parent_id', c.parent_id, \
                   'handle', c.handle, 'name', c.name, 'position', c.position, 'count', x.n) order by x.n desc, c.name) \
               from (select pc.category_id, count(*) as n from f join product_category pc \
                     on pc.tenant_id = ",
    )
    .push_bind(tx.tenant_id())
    .push(
        " and pc.product_id = f.product_id group by 1) x \
               join category c on c.tenant_id = ",
    )
    .push_bind(tx.tenant_id())
    .push(
        " and c.category_id = x.category_id), '[]'), \
           'collections', coalesce((select json_agg(json_build_array(c.collection_id, c.handle, c.title, x.n) \
                   order by x.n desc, c.title) \
               from (select cp.collection_id, count(*) as n from f join collection_product cp \
                     on cp.tenant_id = ",
    )
    .push_bind(tx.tenant_id())
    .push(
        " and cp.product_id = f.product_id group by 1) x \
               join collection c on c.tenant_id = ",
    )
    .push_bind(tx.tenant_id())
    .push(" and c.collection_id = x.collection_id), '[]'))");
    let row: Json<FacetsRow> = qb.build_query_scalar().fetch_one(&mut **tx).await?;
    let row = row.0;
    Ok(Facets {
        total: row.total,
        attributes: row.attributes,
        categories: row
            .categories
            .into_iter()
            .map(|c| {
                (
                    Category {
                        id: CategoryId::from_uuid(c.id),
                        parent_id: c.parent_id.map(CategoryId::from_uuid),
                        handle: c.handle,
                        name: c.name,
                        description: None,
                        position: c.position,
                    },
                    c.count,
                )
            })
            .collect(),
        collections: row
            .collections
            .into_iter()
            .map(|(id, handle, title, n)| (CollectionId::from_uuid(id), handle, title, n))
            .collect(),
        price_range: row.price_min.zip(row.price_max),
    })
}

/// Active products whose title starts with or resembles `prefix`, best first.
#[tracing::instrument(skip_all)]
pub async fn suggest(tx: &mut TenantTx, prefix: &str, limit: i64) -> anyhow::Result<Vec<Suggestion>> {
    set_trigram_threshold(tx).await?;
    let like = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select product_id, handle, title from product p \
         where p.tenant_id = $1 and p.status = 'active' and ($2 <% p.title or p.title ilike $3) \
         order by (p.title ilike $3) desc, word_similarity($2, p.title) desc, p.title, p.product_id \
         limit $4",
    )
    .bind(tx.tenant_id())
    .bind(prefix)
    .bind(like)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(id, handle, title)| Suggestion { id: ProductId::from_uuid(id), handle, title }).collect())
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

// ---------------------------------------------------------------- staff reads

/// A product by id in any status (staff views).
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn find_product_any_status(tx: &mut TenantTx, id: ProductId) -> anyhow::Result<Option<Product>> {
    let sql = format!("select {PRODUCT_COLUMNS} from product p where p.tenant_id = $1 and p.product_id = $2");
    let row: Option<ProductRow> = sqlx::query_as(&sql).bind(tx.tenant_id()).bind(id).fetch_optional(&mut **tx).await?;
    row.map(Product::try_from).transpose()
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
    Ok(sqlx::query_scalar("select exists(select 1 from product where tenant_id = $1 and product_id = $2)")
        .bind(tx.tenant_id())
        .bind(id)
        .fetch_one(&mut **tx)
        .await?)
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
    Ok(sqlx::query_scalar("select count(*) from product where tenant_id = $1")
        .bind(tx.tenant_id())
        .fetch_one(&mut **tx)
        .await?)
}

// ---------------------------------------------------------------- product writes

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
    let result = sqlx::query(
        "update product set \
           title = coalesce($3, title), handle = coalesce($4, handle), \
           description = case when $5 then $6 else description end, \
           status = coalesce($7, status), attributes = coalesce($8, attributes), \
           search_config = $9::regconfig, updated_at = now() \
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
    .bind(language.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks a product changed (for changes to its variants, options, media).
pub async fn touch_product(tx: &mut TenantTx, id: ProductId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update product set updated_at = now(), \
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
    let result = sqlx::query("delete from product where tenant_id = $1 and product_id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() == 1)
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
    sqlx::query("delete from product_category where tenant_id = $1 and product_id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let ids: Vec<Uuid> = categories.iter().map(CategoryId::as_uuid).collect();
    sqlx::query(
        "insert into product_category (tenant_id, product_id, category_id) \
         select $1, $2, c from unnest($3::uuid[]) as c on conflict do nothing",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- variants

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
    Ok(sqlx::query_scalar(
        "select coalesce(max(position) + 1, 0) from product_variant where tenant_id = $1 and product_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(product)
    .fetch_one(&mut **tx)
    .await?)
}

/// Applies a patch to a variant of a product; false when there is none.
#[tracing::instrument(skip_all, fields(variant_id = %id))]
pub async fn update_variant(
    tx: &mut TenantTx,
    product: ProductId,
    id: VariantId,
    patch: &VariantPatch,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
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
    .bind(patch.options.as_ref().map(Json))
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The current price and compare-at price of a variant of a product.
pub async fn variant_prices(
    tx: &mut TenantTx,
    product: ProductId,
    id: VariantId,
) -> anyhow::Result<Option<(i64, Option<i64>)>> {
    Ok(sqlx::query_as(
        "select price_amount, compare_at_amount from product_variant \
         where tenant_id = $1 and product_id = $2 and variant_id = $3",
    )
    .bind(tx.tenant_id())
    .bind(product)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Deletes a variant of a product; false when there is none.
pub async fn delete_variant(tx: &mut TenantTx, product: ProductId, id: VariantId) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("delete from product_variant where tenant_id = $1 and product_id = $2 and variant_id = $3")
            .bind(tx.tenant_id())
            .bind(product)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// How many variants a product has.
pub async fn count_variants(tx: &mut TenantTx, product: ProductId) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("select count(*) from product_variant where tenant_id = $1 and product_id = $2")
        .bind(tx.tenant_id())
        .bind(product)
        .fetch_one(&mut **tx)
        .await?)
}

// ---------------------------------------------------------------- categories

#[derive(sqlx::FromRow)]
struct CategoryRow {
    category_id: Uuid,
    parent_id: Option<Uuid>,
    handle: String,
    name: String,
    description: Option<String>,
    position: i32,
}

impl From<CategoryRow> for Category {
    fn from(row: CategoryRow) -> Self {
        Self {
            id: CategoryId::from_uuid(row.category_id),
            parent_id: row.parent_id.map(CategoryId::from_uuid),
            handle: row.handle,
            name: row.name,
            description: row.description,
            position: row.position,
        }
    }
}

/// Every category of the store, parents before children is not guaranteed:
/// ordered by (position, name) for building the tree.
pub async fn list_categories(tx: &mut TenantTx) -> anyhow::Result<Vec<Category>> {
    let rows: Vec<CategoryRow> = sqlx::query_as(
        "select category_id, parent_id, handle, name, description, position from category \
         where tenant_id = $1 order by position, name, category_id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A category by id.
pub async fn find_category(tx: &mut TenantTx, id: CategoryId) -> anyhow::Result<Option<Category>> {
    let row: Option<CategoryRow> = sqlx::query_as(
        "select category_id, parent_id, handle, name, description, position from category \
         where tenant_id = $1 and category_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(Into::into))
}

/// Inserts a category. A parent that is not this store's violates `category_parent_fkey`.
pub async fn insert_category(tx: &mut TenantTx, id: CategoryId, category: &NewCategory) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into category (tenant_id, category_id, parent_id, handle, name, description, position) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(category.parent_id)
    .bind(category.handle.as_ref())
    .bind(&category.name)
    .bind(&category.description)
    .bind(category.position)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether `ancestor` is `id` or one of its ancestors (a move under it would make a cycle).
pub async fn is_ancestor_or_self(tx: &mut TenantTx, ancestor: CategoryId, id: CategoryId) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar(
        "with recursive up as ( \
             select category_id, parent_id from category where tenant_id = $1 and category_id = $2 \
           union \
             select c.category_id, c.parent_id from category c join up on c.category_id = up.parent_id \
             where c.tenant_id = $1) \
         select exists(select 1 from up where category_id = $3)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(ancestor)
    .fetch_one(&mut **tx)
    .await?)
}

/// Applies a patch to a category; false when there is none.
pub async fn update_category(tx: &mut TenantTx, id: CategoryId, patch: &CategoryPatch) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update category set \
           parent_id = case when $3 then $4 else parent_id end, handle = coalesce($5, handle), \
           name = coalesce($6, name), description = case when $7 then $8 else description end, \
           position = coalesce($9, position), updated_at = now() \
         where tenant_id = $1 and category_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(patch.parent_id.is_some())
    .bind(patch.parent_id.flatten())
    .bind(patch.handle.as_ref().map(AsRef::as_ref))
    .bind(&patch.name)
    .bind(patch.description.is_some())
    .bind(patch.description.clone().flatten())
    .bind(patch.position)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a category; false when there is none. One with children violates
/// `category_parent_fkey`.
pub async fn delete_category(tx: &mut TenantTx, id: CategoryId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("delete from category where tenant_id = $1 and category_id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() == 1)
}

// ---------------------------------------------------------------- collections

#[derive(sqlx::FromRow)]
struct CollectionRow {
    collection_id: Uuid,
    handle: String,
    title: String,
    description: Option<String>,
    product_ids: Vec<Uuid>,
}

impl From<CollectionRow> for Collection {
    fn from(row: CollectionRow) -> Self {
        Self {
            id: CollectionId::from_uuid(row.collection_id),
            handle: row.handle,
            title: row.title,
            description: row.description,
            product_ids: row.product_ids.into_iter().map(ProductId::from_uuid).collect(),
        }
    }
}

/// `active_only`: list only active products (storefront).
fn collection_columns(active_only: bool) -> String {
    let filter = if active_only {
        " and exists (select 1 from product p where p.tenant_id = cp.tenant_id \
          and p.product_id = cp.product_id and p.status = 'active')"
    } else {
        ""
    };
    format!(
        "c.collection_id, c.handle, c.title, c.description, \
         array(select cp.product_id from collection_product cp \
               where cp.tenant_id = c.tenant_id and cp.collection_id = c.collection_id{filter} \
               order by cp.position, cp.product_id) as product_ids"
    )
}

/// Collections of the store by title, after `after` (exclusive).
pub async fn list_collections(
    tx: &mut TenantTx,
    active_only: bool,
    limit: i64,
    after: Option<CollectionId>,
) -> anyhow::Result<Vec<Collection>> {
    let sql = format!(
        "select {} from collection c where c.tenant_id = $1 and ($2::uuid is null or c.collection_id > $2) \
         order by c.collection_id limit $3",
        collection_columns(active_only)
    );
    let rows: Vec<CollectionRow> =
        sqlx::query_as(&sql).bind(tx.tenant_id()).bind(after).bind(limit).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A collection by id or handle.
pub async fn find_collection(
    tx: &mut TenantTx,
    id_or_handle: &str,
    active_only: bool,
) -> anyhow::Result<Option<Collection>> {
    let sql = format!(
        "select {} from collection c where c.tenant_id = $1 \
         and (c.collection_id = $2 or ($2 is null and c.handle = $3))",
        collection_columns(active_only)
    );
    let row: Option<CollectionRow> = sqlx::query_as(&sql)
        .bind(tx.tenant_id())
        .bind(CollectionId::parse(id_or_handle))
        .bind(id_or_handle)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(Into::into))
}

/// Inserts a collection.
pub async fn insert_collection(
    tx: &mut TenantTx,
    id: CollectionId,
    handle: &str,
    title: &str,
    description: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into collection (tenant_id, collection_id, handle, title, description) values ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(handle)
    .bind(title)
    .bind(description)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces a collection's own columns; false when there is none.
pub async fn update_collection(
    tx: &mut TenantTx,
    id: CollectionId,
    handle: &str,
    title: &str,
    description: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update collection set handle = $3, title = $4, description = $5, updated_at = now() \
         where tenant_id = $1 and collection_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(handle)
    .bind(title)
    .bind(description)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Replaces a collection's products, in order. An id that is not one of this
/// store's products violates `collection_product_product_fkey`.
pub async fn replace_collection_products(
    tx: &mut TenantTx,
    id: CollectionId,
    products: &[ProductId],
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from collection_product where tenant_id = $1 and collection_id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let ids: Vec<Uuid> = products.iter().map(ProductId::as_uuid).collect();
    sqlx::query(
        "insert into collection_product (tenant_id, collection_id, product_id, position) \
         select $1, $2, p, (n - 1)::int from unnest($3::uuid[]) with ordinality as u(p, n) on conflict do nothing",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes a collection; false when there is none.
pub async fn delete_collection(tx: &mut TenantTx, id: CollectionId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("delete from collection where tenant_id = $1 and collection_id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() == 1)
}

// ---------------------------------------------------------------- media

/// Records a media object of a product, pending its upload.
#[allow(clippy::too_many_arguments)]
pub async fn insert_media(
    tx: &mut TenantTx,
    id: MediaId,
    product: ProductId,
    key: &str,
    content_type: &str,
    byte_size: i64,
    alt: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into product_media (tenant_id, media_id, product_id, storage_key, content_type, byte_size, alt, position) \
         values ($1, $2, $3, $4, $5, $6, $7, \
                 (select coalesce(max(position) + 1, 0) from product_media where tenant_id = $1 and product_id = $3))",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(product)
    .bind(key)
    .bind(content_type)
    .bind(byte_size)
    .bind(alt)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A media object of a product.
pub async fn find_media(tx: &mut TenantTx, product: ProductId, id: MediaId) -> anyhow::Result<Option<Media>> {
    let row: Option<(String, String, i64, Option<String>, i32, String)> = sqlx::query_as(
        "select storage_key, content_type, byte_size, alt, position, status from product_media \
         where tenant_id = $1 and product_id = $2 and media_id = $3",
    )
    .bind(tx.tenant_id())
    .bind(product)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|(storage_key, content_type, byte_size, alt, position, status)| {
        Ok(Media {
            id,
            storage_key,
            content_type,
            byte_size,
            alt,
            position,
            status: MediaStatus::parse(&status).ok_or_else(|| anyhow::anyhow!("unknown media status {status:?}"))?,
        })
    })
    .transpose()
}

/// Marks a media object ready by its storage key (local uploads know only the key).
pub async fn mark_media_ready_by_key(tx: &mut TenantTx, key: &str) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("update product_media set status = 'ready' where tenant_id = $1 and storage_key = $2")
        .bind(tx.tenant_id())
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Marks a media object ready.
pub async fn mark_media_ready(tx: &mut TenantTx, product: ProductId, id: MediaId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "update product_media set status = 'ready' where tenant_id = $1 and product_id = $2 and media_id = $3",
    )
    .bind(tx.tenant_id())
    .bind(product)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a media object's row; false when there is none.
pub async fn delete_media(tx: &mut TenantTx, product: ProductId, id: MediaId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("delete from product_media where tenant_id = $1 and product_id = $2 and media_id = $3")
        .bind(tx.tenant_id())
        .bind(product)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() == 1)
}
