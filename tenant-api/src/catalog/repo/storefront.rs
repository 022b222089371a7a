//! Storefront reads: active products by filter and sort (keyset pages),
//! facet counts, autocomplete, and one active product.

use platform::{
    db::{Db, SystemTx, TenantCall, TenantRead, TenantTx},
    ids::TenantId,
    tenancy::Tenant,
};
use sqlx::{types::Json, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::products::{ProductRow, PRODUCT_COLUMNS};
use crate::catalog::model::{
    Category, CategoryId, CollectionId, Facets, IdOrHandle, Keyset, Page, Product, ProductFilter, ProductId,
    SearchLanguage, Sort, Suggestion,
};

/// Word similarity from which a title matches a misspelt phrase. pg_trgm's
/// default (0.6) misses single-letter typos in short words ("beenie" → "beanie"
/// scores 0.4).
const TRIGRAM_THRESHOLD: &str = "0.4";

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
    categories: Option<&[CategoryId]>,
    collection: Option<CollectionId>,
) {
    qb.push(" from product p where p.tenant_id = ").push_bind(tx.tenant_id()).push(" and p.status = 'active'");
    if let Some(query) = &filter.query {
        // Words first; trigram similarity (misspellings) only when the words match
        // no active product of the store. That keeps a correct query precise, and
        // the uncorrelated `not exists` runs once and, placed first, spares the
        // per-row similarity when the words do match.
        qb.push(" and (p.search_vector @@ ");
        push_tsquery(qb, language, query);
        qb.push(" or (not exists (select 1 from product x where x.tenant_id = ")
            .push_bind(tx.tenant_id())
            .push(" and x.status = 'active' and x.search_vector @@ ");
        push_tsquery(qb, language, query);
        qb.push(") and ").push_bind(query.clone()).push(" <% p.title))");
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

/// `websearch_to_tsquery(<language>, <query>)`.
fn push_tsquery(qb: &mut QueryBuilder<'_, Postgres>, language: SearchLanguage, query: &str) {
    qb.push("websearch_to_tsquery(")
        .push_bind(language.as_str())
        .push("::regconfig, ")
        .push_bind(query.to_owned())
        .push(")");
}

fn push_relevance(qb: &mut QueryBuilder<'_, Postgres>, language: SearchLanguage, query: &str) {
    qb.push("(ts_rank_cd(p.search_vector, ");
    push_tsquery(qb, language, query);
    qb.push(") + word_similarity(").push_bind(query.to_owned()).push(", p.title))::float8");
}

/// Filtered category ids: the category named by id or handle and its descendants.
/// `None` when no such category exists.
pub async fn category_subtree(
    tx: &mut TenantTx,
    category: &IdOrHandle<CategoryId>,
) -> anyhow::Result<Option<Vec<CategoryId>>> {
    let ids: Vec<CategoryId> = sqlx::query_scalar(
        "with recursive tree as ( \
             select category_id from category \
             where tenant_id = $1 and (category_id = $2 or ($2 is null and handle = $3)) \
           union \
             select c.category_id from category c join tree t on c.parent_id = t.category_id \
             where c.tenant_id = $1) \
         select category_id from tree",
    )
    .bind(tx.tenant_id())
    .bind(category.id())
    .bind(category.handle())
    .fetch_all(&mut **tx)
    .await?;
    Ok((!ids.is_empty()).then_some(ids))
}

pub async fn collection_id(
    tx: &mut TenantTx,
    collection: &IdOrHandle<CollectionId>,
) -> anyhow::Result<Option<CollectionId>> {
    Ok(sqlx::query_scalar(
        "select collection_id from collection where tenant_id = $1 and (collection_id = $2 or ($2 is null and handle = $3))",
    )
    .bind(tx.tenant_id())
    .bind(collection.id())
    .bind(collection.handle())
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
    categories: Option<&[CategoryId]>,
    collection: Option<CollectionId>,
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
    categories: Option<&[CategoryId]>,
    collection: Option<CollectionId>,
) -> anyhow::Result<Facets> {
    if filter.query.is_some() {
        set_trigram_threshold(tx).await?;
    }
    let mut qb = QueryBuilder::new("with f as (select p.product_id, p.attributes, p.price_min");
    push_filtered(&mut qb, tx, language, filter, categories, collection);
    // `push_filtered` binds the store first: `$1` is its id.
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
                     on pc.tenant_id = $1 and pc.product_id = f.product_id group by 1) x \
               join category c on c.tenant_id = $1 and c.category_id = x.category_id), '[]'), \
           'collections', coalesce((select json_agg(json_build_array(c.collection_id, c.handle, c.title, x.n) \
                   order by x.n desc, c.title) \
               from (select cp.collection_id, count(*) as n from f join collection_product cp \
                     on cp.tenant_id = $1 and cp.product_id = f.product_id group by 1) x \
               join collection c on c.tenant_id = $1 and c.collection_id = x.collection_id), '[]'))",
    );
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
    let sql = "select product_id, handle, title from product p \
               where p.tenant_id = $1 and p.status = 'active' and ($2 <% p.title or p.title ilike $3) \
               order by (p.title ilike $3) desc, word_similarity($2, p.title) desc, p.title, p.product_id \
               limit $4";
    let rows: Vec<(ProductId, String, String)> = crate::statements::fetch_all(tx, sql, (prefix, like, limit)).await?;
    Ok(rows.into_iter().map(|(id, handle, title)| Suggestion { id, handle, title }).collect())
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

// ---------------------------------------------------------------- read model

/// Read-model rows as PostgreSQL sent them (see `doc_columns`): a page of
/// products, or the one product a detail asks for, in order. Their JSON is
/// read where it arrived, never copied out per product: a cold apparel list
/// spent ~10,000 instructions per page on twenty `Vec`s (allocation,
/// copy and free) before it reached the answer's buffer.
pub struct StoredPage {
    rows: Vec<sqlx::postgres::PgRow>,
}

/// A product of a [`StoredPage`].
pub enum StoredDoc<'a> {
    /// Its stored JSON's bytes, as PostgreSQL sends them: UTF-8 (the
    /// connection's client encoding, which sqlx sets).
    Current(&'a [u8]),
    /// Its JSON is missing or another renderer version's: the caller
    /// renders it from the tables.
    Stale(ProductId),
}

impl StoredPage {
    /// The products in order. The columns are ours (uuid, bigint, text,
    /// text: the functions' and the statements'), so they are decoded
    /// without sqlx's per-column type check, the document as its bytes (text
    /// in either format, so its value is the text's bytes), and the id only
    /// where it is needed.
    pub fn docs(&self) -> impl Iterator<Item = anyhow::Result<StoredDoc<'_>>> + '_ {
        self.rows.iter().map(|row| {
            use sqlx::ValueRef;
            let value = row.try_get_raw(3)?;
            if value.is_null() {
                return Ok(StoredDoc::Stale(ProductId::from_uuid(row.try_get_unchecked::<Uuid, _>(0)?)));
            }
            Ok(StoredDoc::Current(value.as_bytes().map_err(|e| anyhow::anyhow!("{e}"))?))
        })
    }
}

/// `<id column> = <id>` or `handle = <handle>`.
fn push_id_or_handle(
    read: &mut TenantRead,
    column: &'static str,
    id: Option<Uuid>,
    handle: Option<&str>,
) -> anyhow::Result<()> {
    match (id, handle) {
        (Some(id), _) => {
            read.sql(column).sql(" = ").uuid(id);
        }
        (None, Some(handle)) => {
            read.sql("handle = ").text(handle)?;
        }
        (None, None) => {
            read.sql("false");
        }
    }
    Ok(())
}

/// `select <id>, <price key>, <title>, <json if current>` for the read model.
fn select_docs(version: i32) -> TenantRead {
    let mut read = TenantRead::new(
        "select p.product_id, coalesce(p.price_min, 0) as price_key, p.title, \
         case when p.storefront_version = ",
    );
    read.int(i64::from(version)).sql(
        " then p.storefront_json end as doc from product p where p.tenant_id = current_setting('app.tenant_id')::uuid",
    );
    read
}

/// One page of active products' stored storefront JSON matching a filter
/// without a search phrase, in one round trip (context and statement
/// together: a prepared call, see [`Db::tenant_call`], or for attribute
/// filters a statement, see [`Db::tenant_read`]). Category and collection
/// are resolved inside it; one that names nothing matches nothing.
#[tracing::instrument(skip_all, fields(limit = page.limit, sort = sort.as_str()))]
pub async fn list_storefront_docs(
    db: &Db,
    tenant: &Tenant,
    version: i32,
    filter: &ProductFilter,
    sort: Sort,
    page: &Page,
) -> anyhow::Result<(StoredPage, Option<Keyset>)> {
    anyhow::ensure!(filter.query.is_none() && sort != Sort::Relevance, "a search is not a read-model list");
    let rows = match list_call(version, filter, sort, page)? {
        // A prepared call (see `Db::tenant_call`).
        Some(call) => db.tenant_call(tenant, call).await?,
        None => db.tenant_read(tenant, list_read(version, filter, sort, page)?).await?,
    };
    // The sort keys are decoded only from the last row, the one a cursor
    // names (unchecked, as `StoredPage::docs` decodes: the columns are ours).
    let next = match rows.last() {
        Some(row) if rows.len() as i64 == page.limit => {
            let last = ProductId::from_uuid(row.try_get_unchecked::<Uuid, _>(0)?);
            Some(match sort {
                Sort::Newest | Sort::Relevance => Keyset::Newest(last),
                Sort::PriceAsc | Sort::PriceDesc => Keyset::Price(row.try_get_unchecked::<i64, _>(1)?, last),
                Sort::Title => Keyset::Title(row.try_get_unchecked::<String, _>(2)?, last),
            })
        }
        _ => None,
    };
    Ok((StoredPage { rows }, next))
}

/// The read model's columns (of `product p`) for [`TenantCall::statement`]s,
/// whose `$1` is the renderer version: id, price key, title, and the stored
/// JSON if it is that version's (what `list_storefront_docs` decodes). A
/// statement sends only the keys its cursor takes (`id`: none; `price`; or
/// `title`) and a typed NULL for the others: a key costs PostgreSQL a send
/// function per row, and a cursor reads it from the last row only.
macro_rules! doc_columns {
    (id) => {
        doc_columns!("null::int8", "null::text")
    };
    (price) => {
        doc_columns!("coalesce(p.price_min, 0)", "null::text")
    };
    (title) => {
        doc_columns!("null::int8", "p.title")
    };
    ($price:literal, $title:literal) => {
        concat!(
            "select p.product_id, ",
            $price,
            " as price_key, ",
            $title,
            " as title, case when p.storefront_version = $1 then p.storefront_json end as doc "
        )
    };
}

/// The read model's columns with `$keys` (see [`doc_columns`]) of the
/// store's active products, then `$rest`.
macro_rules! docs_of_tenant {
    ($keys:ident, $($rest:literal),*) => {
        concat!(
            doc_columns!($keys),
            "from product p where p.tenant_id = ctx.tenant_id and p.status = 'active'",
            $($rest),*
        )
    };
}

/// Active products newest first (the storefront's default list): version, limit.
const NEWEST: &str = docs_of_tenant!(id, " order by p.product_id desc limit $2");
/// The same after the cursor's product: version, limit, cursor.
const NEWEST_AFTER: &str = docs_of_tenant!(id, " and p.product_id < $3 order by p.product_id desc limit $2");
/// By lowest price, then id: version, limit.
const PRICE_ASC: &str = docs_of_tenant!(price, " order by coalesce(p.price_min, 0) asc, p.product_id asc limit $2");
/// The same after the cursor's price and product: version, limit, price, cursor.
const PRICE_ASC_AFTER: &str = docs_of_tenant!(
    price,
    " and (coalesce(p.price_min, 0), p.product_id) > ($3, $4) \
     order by coalesce(p.price_min, 0) asc, p.product_id asc limit $2"
);
/// By highest price, then id descending: version, limit.
const PRICE_DESC: &str = docs_of_tenant!(price, " order by coalesce(p.price_min, 0) desc, p.product_id desc limit $2");
/// The same after the cursor's price and product: version, limit, price, cursor.
const PRICE_DESC_AFTER: &str = docs_of_tenant!(
    price,
    " and (coalesce(p.price_min, 0), p.product_id) < ($3, $4) \
     order by coalesce(p.price_min, 0) desc, p.product_id desc limit $2"
);
/// By title, then id: version, limit.
const TITLE: &str = docs_of_tenant!(title, " order by p.title asc, p.product_id asc limit $2");
/// The same after the cursor's title and product: version, limit, title, cursor.
const TITLE_AFTER: &str =
    docs_of_tenant!(title, " and (p.title, p.product_id) > ($3, $4) order by p.title asc, p.product_id asc limit $2");
/// One active product by id: version, id.
const BY_ID: &str = docs_of_tenant!(id, " and p.product_id = $2");
/// One active product by handle: version, handle.
const BY_HANDLE: &str = docs_of_tenant!(id, " and p.handle = $2");

/// A category page, newest first (as a shopper first sees it), for the
/// category `$3` names by `$category` (`c.handle` or `c.category_id`):
/// version, limit, category, cursor (the newest page's sentinel above every
/// id when there is none). Two branches, one taken per call: a category
/// without subcategories reads its members from `product_category`'s index
/// in id order, so a page fetches its own products and no others; one with
/// subcategories scans the store's active products in order and tests
/// membership in its subtree (a product filed under two of them is listed
/// once). A category that names nothing lists nothing.
macro_rules! category_newest {
    ($category:literal) => {
        concat!(
            "with cat as materialized ( \
                 select c.category_id, exists (select 1 from category k \
                                               where k.tenant_id = ctx.tenant_id and k.parent_id = c.category_id) as parent \
                 from category c where c.tenant_id = ctx.tenant_id and ",
            $category,
            " = $3) \
             (",
            doc_columns!(id),
            "from product_category pc \
              join product p on p.tenant_id = pc.tenant_id and p.product_id = pc.product_id \
              where pc.tenant_id = ctx.tenant_id and pc.category_id = (select category_id from cat where not parent) \
                and pc.product_id < $4 and p.status = 'active' \
              order by pc.product_id desc limit $2) \
             union all \
             (",
            doc_columns!(id),
            "from product p \
              where p.tenant_id = ctx.tenant_id and p.status = 'active' and p.product_id < $4 \
                and (select parent from cat) \
                and exists (select 1 from product_category pc \
                            where pc.tenant_id = ctx.tenant_id and pc.product_id = p.product_id \
                              and pc.category_id in ( \
                                  with recursive tree as ( \
                                      select category_id from cat \
                                    union \
                                      select c.category_id from category c join tree t on c.parent_id = t.category_id \
                                      where c.tenant_id = ctx.tenant_id) \
                                  select category_id from tree)) \
              order by p.product_id desc limit $2)"
        )
    };
}

/// A category page by the category's handle, newest first (see [`category_newest`]).
const CATEGORY_NEWEST_BY_HANDLE: &str = category_newest!("c.handle");
/// A category page by the category's id, newest first (see [`category_newest`]).
const CATEGORY_NEWEST_BY_ID: &str = category_newest!("c.category_id");
/// The newest page's cursor: above every product id.
const ABOVE_EVERY_ID: Uuid = Uuid::max();

/// The prepared call that answers a list without a search phrase or an
/// attribute filter, with its cursor: a statement for each order and
/// cursor (see [`unfiltered_call`]), a statement for a category page newest
/// first (see [`category_newest`]), and `storefront_docs_filtered` for the
/// other lists by category, collection or price range (in any order).
/// `None` when an attribute filter applies (the statement serves it).
fn list_call(version: i32, filter: &ProductFilter, sort: Sort, page: &Page) -> anyhow::Result<Option<TenantCall>> {
    if !filter.attributes.is_empty() {
        return Ok(None);
    }
    // A cursor is decoded for its sort (the API refuses any other), so the
    // pairs below are every list there is; anything else takes the statement.
    let (after, after_price, after_title) = match (sort, &page.after) {
        (Sort::Relevance, _) => return Ok(None),
        (_, None) => (None, None, None),
        (Sort::Newest, Some(Keyset::Newest(id))) => (Some(id.as_uuid()), None, None),
        (Sort::PriceAsc | Sort::PriceDesc, Some(Keyset::Price(price, id))) => (Some(id.as_uuid()), Some(*price), None),
        (Sort::Title, Some(Keyset::Title(title, id))) => (Some(id.as_uuid()), None, Some(title.clone())),
        _ => return Ok(None),
    };
    let unfiltered = filter.category.is_none()
        && filter.collection.is_none()
        && filter.price_min.is_none()
        && filter.price_max.is_none();
    if unfiltered {
        return Ok(Some(unfiltered_call(version, sort, page.limit, after, after_price, after_title)?));
    }
    let category_only = filter.collection.is_none() && filter.price_min.is_none() && filter.price_max.is_none();
    if let (true, Sort::Newest, Some(category)) = (category_only, sort, &filter.category) {
        let call = match category {
            IdOrHandle::Id(id) => {
                TenantCall::statement(CATEGORY_NEWEST_BY_ID).arg(version)?.arg(page.limit)?.arg(id.as_uuid())?
            }
            IdOrHandle::Handle(handle) => {
                TenantCall::statement(CATEGORY_NEWEST_BY_HANDLE).arg(version)?.arg(page.limit)?.arg(handle.clone())?
            }
        };
        return Ok(Some(call.arg(after.unwrap_or(ABOVE_EVERY_ID))?));
    }
    Ok(Some({
        let category = filter.category.as_ref();
        let collection = filter.collection.as_ref();
        TenantCall::function("storefront_docs_filtered")
            .arg(version)?
            .arg(sort.as_str())?
            .arg(after)?
            .arg(after_price)?
            .arg(after_title)?
            .arg(page.limit)?
            .arg(category.and_then(|c| c.id()).map(|id| id.as_uuid()))?
            .arg(category.and_then(|c| c.handle()).map(str::to_owned))?
            .arg(collection.and_then(|c| c.id()).map(|id| id.as_uuid()))?
            .arg(collection.and_then(|c| c.handle()).map(str::to_owned))?
            .arg(filter.price_min)?
            .arg(filter.price_max)?
    }))
}

/// The statement of an unfiltered list in `sort` after its cursor's keys
/// (none on the first page): version, limit, then the keys it compares.
fn unfiltered_call(
    version: i32,
    sort: Sort,
    limit: i64,
    after: Option<Uuid>,
    after_price: Option<i64>,
    after_title: Option<String>,
) -> anyhow::Result<TenantCall> {
    let call = |statement| TenantCall::statement(statement).arg(version)?.arg(limit);
    Ok(match (sort, after, after_price, after_title) {
        (Sort::Newest | Sort::Relevance, None, ..) => call(NEWEST)?,
        (Sort::Newest | Sort::Relevance, Some(after), ..) => call(NEWEST_AFTER)?.arg(after)?,
        (Sort::PriceAsc, Some(after), Some(price), _) => call(PRICE_ASC_AFTER)?.arg(price)?.arg(after)?,
        (Sort::PriceAsc, ..) => call(PRICE_ASC)?,
        (Sort::PriceDesc, Some(after), Some(price), _) => call(PRICE_DESC_AFTER)?.arg(price)?.arg(after)?,
        (Sort::PriceDesc, ..) => call(PRICE_DESC)?,
        (Sort::Title, Some(after), _, Some(title)) => call(TITLE_AFTER)?.arg(title)?.arg(after)?,
        (Sort::Title, ..) => call(TITLE)?,
    })
}

/// A list with an attribute filter as one statement with its values inlined
/// (see `Db::tenant_read`). The category's subtree is not correlated with
/// the scanned product, so PostgreSQL resolves it once per statement.
fn list_read(version: i32, filter: &ProductFilter, sort: Sort, page: &Page) -> anyhow::Result<TenantRead> {
    let mut read = select_docs(version);
    read.sql(" and p.status = 'active'");
    if let Some(category) = &filter.category {
        read.sql(
            " and exists (select 1 from product_category pc where pc.tenant_id = p.tenant_id \
             and pc.product_id = p.product_id and pc.category_id = any(array(\
             with recursive tree as ( \
               select category_id from category where tenant_id = current_setting('app.tenant_id')::uuid and ",
        );
        push_id_or_handle(&mut read, "category_id", category.id().map(|id| id.as_uuid()), category.handle())?;
        read.sql(
            " union select c.category_id from category c join tree t on c.parent_id = t.category_id \
               where c.tenant_id = current_setting('app.tenant_id')::uuid) \
             select category_id from tree)))",
        );
    }
    if let Some(collection) = &filter.collection {
        read.sql(
            " and exists (select 1 from collection_product cp join collection c \
             on c.tenant_id = cp.tenant_id and c.collection_id = cp.collection_id \
             where cp.tenant_id = p.tenant_id and cp.product_id = p.product_id and c.",
        );
        push_id_or_handle(&mut read, "collection_id", collection.id().map(|id| id.as_uuid()), collection.handle())?;
        read.sql(")");
    }
    if let Some(min) = filter.price_min {
        read.sql(" and p.price_min >= ").int(min);
    }
    if let Some(max) = filter.price_max {
        read.sql(" and p.price_min <= ").int(max);
    }
    for values in filter.attributes.iter().map(|(name, values)| values.iter().map(move |v| (name, v))) {
        read.sql(" and (");
        for (n, (name, value)) in values.enumerate() {
            if n > 0 {
                read.sql(" or ");
            }
            read.sql("p.attributes @> ").text(&serde_json::json!({ name: value }).to_string())?.sql("::jsonb");
        }
        read.sql(")");
    }
    match &page.after {
        None => {}
        Some(Keyset::Newest(id)) => {
            read.sql(" and p.product_id < ").uuid(id.as_uuid());
        }
        Some(Keyset::Price(price, id)) => {
            read.sql(if sort == Sort::PriceDesc {
                " and (coalesce(p.price_min, 0), p.product_id) < ("
            } else {
                " and (coalesce(p.price_min, 0), p.product_id) > ("
            })
            .int(*price)
            .sql(", ")
            .uuid(id.as_uuid())
            .sql(")");
        }
        Some(Keyset::Title(title, id)) => {
            read.sql(" and (p.title, p.product_id) > (").text(title)?.sql(", ").uuid(id.as_uuid()).sql(")");
        }
        Some(Keyset::Relevance(..)) => anyhow::bail!("a relevance cursor is not a read-model list's"),
    }
    read.sql(match sort {
        Sort::Newest | Sort::Relevance => " order by p.product_id desc",
        Sort::PriceAsc => " order by price_key asc, p.product_id asc",
        Sort::PriceDesc => " order by price_key desc, p.product_id desc",
        Sort::Title => " order by p.title asc, p.product_id asc",
    });
    read.sql(" limit ").int(page.limit);
    Ok(read)
}

/// An active product's stored storefront JSON by id or handle, in one round
/// trip: a page of that product, or of none.
#[tracing::instrument(skip_all)]
pub async fn find_storefront_doc(
    db: &Db,
    tenant: &Tenant,
    version: i32,
    product: &IdOrHandle<ProductId>,
) -> anyhow::Result<StoredPage> {
    let call = match (product.id(), product.handle()) {
        (Some(id), _) => TenantCall::statement(BY_ID).arg(version)?.arg(id.as_uuid())?,
        (None, Some(handle)) => TenantCall::statement(BY_HANDLE).arg(version)?.arg(handle.to_owned())?,
        (None, None) => return Ok(StoredPage { rows: Vec::new() }),
    };
    Ok(StoredPage { rows: db.tenant_call(tenant, call).await? })
}

/// Up to `limit` products, of any store in the cell, whose read model is not
/// `version`'s: the start-up backfill's work list. Cross-tenant by design.
pub async fn stale_storefront_products(
    tx: &mut SystemTx,
    version: i32,
    limit: i64,
) -> anyhow::Result<Vec<(TenantId, ProductId)>> {
    Ok(sqlx::query_as(
        "select tenant_id, product_id from product \
         where storefront_version is distinct from $1 order by tenant_id limit $2",
    )
    .bind(version)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}
