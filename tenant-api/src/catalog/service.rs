//! Catalog rules that are more than a query. Every function works in the
//! caller's transaction; the caller commits (one transaction per write).

use platform::{
    db::{Db, TenantTx},
    problem::FieldError,
    tenancy::Tenant,
};

use super::{
    model::{
        Category, CategoryId, CategoryPatch, Collection, CollectionId, Facets, IdOrHandle, Keyset, Media, MediaId,
        NewCategory, NewCollection, NewProduct, NewVariant, Page, Product, ProductFilter, ProductId, ProductOption,
        ProductPage, ProductPatch, SearchLanguage, Sort, Suggestion, VariantId, VariantPatch,
    },
    repo, Error, Result,
};
use crate::inventory;

pub use super::repo::count_products;

/// How many more products the plan allows (`None`: no limit), holding the
/// store's product-count lock until the caller's transaction ends.
pub async fn product_capacity(tx: &mut TenantTx, max_products: Option<u32>) -> Result<Option<u64>> {
    let Some(max) = max_products else { return Ok(None) };
    repo::lock_product_count(tx).await?;
    let count = u64::try_from(repo::count_products(tx).await?).unwrap_or(0);
    Ok(Some(u64::from(max).saturating_sub(count)))
}

/// Creates a product with its options, variants, stock and categories, within
/// the plan's product quota (`max_products`, `None` for no limit).
#[tracing::instrument(skip_all, fields(tenant_id = %tx.tenant_id()))]
pub async fn create_product(
    tx: &mut TenantTx,
    language: SearchLanguage,
    max_products: Option<u32>,
    product: NewProduct,
) -> Result<Product> {
    check_variant_options(&product.options, product.variants.iter().map(|v| &v.options), "variants")?;
    if let (Some(max), Some(0)) = (max_products, product_capacity(tx, max_products).await?) {
        return Err(Error::QuotaExceeded { max_products: max });
    }
    let id = ProductId::new();
    repo::insert_product(tx, id, &product, language).await?;
    repo::replace_options(tx, id, &product.options).await?;
    let mut levels = Vec::with_capacity(product.variants.len());
    for (position, variant) in product.variants.iter().enumerate() {
        let variant_id = VariantId::new();
        repo::insert_variant(tx, id, variant_id, i32::try_from(position).unwrap_or(i32::MAX), variant).await?;
        levels.push((variant_id, variant.stock));
    }
    inventory::service::create_levels(tx, &levels).await.map_err(inventory_error)?;
    repo::replace_product_categories(tx, id, &product.category_ids).await?;
    repo::touch_product(tx, id).await?;
    // Read back through the same query the storefront uses, so both see one shape.
    let created = product_any_status(tx, id).await?;
    render_storefront(tx, std::slice::from_ref(&created)).await?;
    announce(tx, "product.created", &created).await?;
    Ok(created)
}

/// Writes a product event (merchant webhooks) in the change's transaction.
async fn announce(tx: &mut TenantTx, topic: &str, product: &Product) -> Result<()> {
    let payload = serde_json::json!({
        "handle": product.handle, "title": product.title, "status": product.status.as_str(),
    });
    crate::outbox::insert(tx, topic, product.id, payload).await?;
    Ok(())
}

/// A product in any status (staff).
pub async fn product_any_status(tx: &mut TenantTx, id: ProductId) -> Result<Product> {
    repo::find_product_any_status(tx, id).await?.ok_or(Error::ProductNotFound)
}

/// Changes a product's own fields, options or categories.
#[tracing::instrument(skip_all, fields(product_id = %id))]
pub async fn update_product(
    tx: &mut TenantTx,
    language: SearchLanguage,
    id: ProductId,
    patch: ProductPatch,
) -> Result<Product> {
    if !repo::update_product(tx, id, &patch, language).await? {
        return Err(Error::ProductNotFound);
    }
    if let Some(options) = &patch.options {
        let current = repo::find_product_any_status(tx, id).await?.ok_or(Error::ProductNotFound)?;
        check_variant_options(options, current.variants.iter().map(|v| &v.options), "options")?;
        repo::replace_options(tx, id, options).await?;
    }
    if let Some(categories) = &patch.category_ids {
        repo::replace_product_categories(tx, id, categories).await?;
    }
    let updated = product_any_status(tx, id).await?;
    render_storefront(tx, std::slice::from_ref(&updated)).await?;
    announce(tx, "product.updated", &updated).await?;
    Ok(updated)
}

/// Deletes a product with its variants, stock levels and media rows.
pub async fn delete_product(tx: &mut TenantTx, id: ProductId) -> Result<()> {
    repo::delete_product(tx, id).await?.then_some(()).ok_or(Error::ProductNotFound)?;
    crate::outbox::insert(tx, "product.deleted", id, serde_json::json!({})).await?;
    Ok(())
}

/// Adds a variant to a product.
pub async fn add_variant(tx: &mut TenantTx, product: ProductId, variant: NewVariant) -> Result<Product> {
    if !repo::product_exists(tx, product).await? {
        return Err(Error::ProductNotFound);
    }
    let options = repo::options_of(tx, product).await?;
    check_variant_options(&options, std::iter::once(&variant.options), "variant")?;
    let id = VariantId::new();
    let position = repo::next_variant_position(tx, product).await?;
    repo::insert_variant(tx, product, id, position, &variant).await?;
    inventory::service::create_levels(tx, &[(id, variant.stock)]).await.map_err(inventory_error)?;
    repo::touch_product(tx, product).await?;
    rendered(tx, product).await
}

/// Changes a variant; the compare-at price stays at or above the price.
pub async fn update_variant(
    tx: &mut TenantTx,
    product: ProductId,
    id: VariantId,
    patch: VariantPatch,
) -> Result<Product> {
    let (price, compare_at) = repo::variant_prices(tx, product, id).await?.ok_or(Error::VariantNotFound)?;
    let price = patch.price.map_or(price, |m| m.amount);
    let compare_at = match patch.compare_at_price {
        Some(new) => new.map(|m| m.amount),
        None => compare_at,
    };
    if compare_at.is_some_and(|c| c < price) {
        return Err(Error::Invalid(vec![FieldError::new("compare_at_price.amount", "must not be below the price")]));
    }
    if let Some(values) = &patch.options {
        let options = repo::options_of(tx, product).await?;
        check_variant_options(&options, std::iter::once(values), "variant")?;
    }
    repo::update_variant(tx, product, id, &patch).await?;
    repo::touch_product(tx, product).await?;
    rendered(tx, product).await
}

/// Deletes a variant; a product keeps at least one.
pub async fn delete_variant(tx: &mut TenantTx, product: ProductId, id: VariantId) -> Result<()> {
    if !repo::delete_variant(tx, product, id).await? {
        return Err(Error::VariantNotFound);
    }
    if repo::count_variants(tx, product).await? == 0 {
        return Err(Error::LastVariant);
    }
    repo::touch_product(tx, product).await?;
    rendered(tx, product).await.map(drop)
}

/// Every variant's option values must name the product's options, with allowed values.
fn check_variant_options<'a>(
    options: &[ProductOption],
    variants: impl Iterator<Item = &'a std::collections::BTreeMap<String, String>>,
    field: &str,
) -> Result<()> {
    let mut errors = Vec::new();
    for (n, values) in variants.enumerate() {
        let path = if field == "variants" { format!("variants[{n}].options") } else { format!("{field}.options") };
        for (name, value) in values {
            match options.iter().find(|o| &o.name == name) {
                None => errors.push(FieldError::new(format!("{path}.{name}"), "is not an option of this product")),
                Some(option) if !option.values.contains(value) => errors
                    .push(FieldError::new(format!("{path}.{name}"), format!("must be one of {:?}", option.values))),
                Some(_) => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

fn inventory_error(error: inventory::Error) -> Error {
    Error::Internal(anyhow::anyhow!("creating stock levels: {error}"))
}

// ---------------------------------------------------------------- storefront

/// A page of active products matching the filter. An unknown category or
/// collection matches nothing.
pub async fn search_products(
    tx: &mut TenantTx,
    language: SearchLanguage,
    filter: &ProductFilter,
    sort: Sort,
    page: &Page,
) -> Result<ProductPage> {
    let Some((categories, collection)) = resolve_filter(tx, filter).await? else {
        return Ok(ProductPage { items: Vec::new(), next: None });
    };
    let (items, next) =
        repo::list_active_products(tx, language, filter, categories.as_deref(), collection, sort, page).await?;
    Ok(ProductPage { items, next })
}

/// One collection with its active products' ids.
pub async fn active_collection(tx: &mut TenantTx, collection: &IdOrHandle<CollectionId>) -> Result<Collection> {
    repo::find_collection(tx, collection, true).await?.ok_or(Error::CollectionNotFound)
}

/// The first `limit` collections, with their active products' ids.
pub async fn active_collections(tx: &mut TenantTx, limit: i64) -> Result<Vec<Collection>> {
    Ok(repo::list_collections(tx, true, limit, None).await?)
}

/// Autocomplete over active products' titles: prefix first, then trigram
/// similarity (typos still suggest).
pub async fn suggest(tx: &mut TenantTx, prefix: &str, limit: i64) -> Result<Vec<Suggestion>> {
    Ok(repo::suggest(tx, prefix, limit).await?)
}

/// Facet counts of the active products matching the filter.
pub async fn facets(tx: &mut TenantTx, language: SearchLanguage, filter: &ProductFilter) -> Result<Facets> {
    let Some((categories, collection)) = resolve_filter(tx, filter).await? else {
        return Ok(Facets::default());
    };
    Ok(repo::facets(tx, language, filter, categories.as_deref(), collection).await?)
}

/// An active product by id or handle (storefront pages that need the model,
/// not the JSON).
pub async fn active_product(tx: &mut TenantTx, product: &IdOrHandle<ProductId>) -> Result<Product> {
    let found = match product {
        IdOrHandle::Id(id) => repo::find_active_product_by_id(tx, *id).await?,
        IdOrHandle::Handle(handle) => repo::find_active_product_by_handle(tx, handle).await?,
    };
    found.ok_or(Error::ProductNotFound)
}

type Resolved = (Option<Vec<CategoryId>>, Option<CollectionId>);

/// The filter's category (with descendants) and collection as ids; `None` when
/// either names nothing in this store.
async fn resolve_filter(tx: &mut TenantTx, filter: &ProductFilter) -> Result<Option<Resolved>> {
    let categories = match &filter.category {
        None => None,
        Some(category) => match repo::category_subtree(tx, category).await? {
            Some(ids) => Some(ids),
            None => return Ok(None),
        },
    };
    let collection = match &filter.collection {
        None => None,
        Some(collection) => match repo::collection_id(tx, collection).await? {
            Some(id) => Some(id),
            None => return Ok(None),
        },
    };
    Ok(Some((categories, collection)))
}

// ---------------------------------------------------------------- categories

/// Creates a category under an existing parent of this store (or as a root).
pub async fn create_category(tx: &mut TenantTx, category: NewCategory) -> Result<Category> {
    let id = CategoryId::new();
    repo::insert_category(tx, id, &category).await?;
    repo::find_category(tx, id).await?.ok_or_else(|| Error::Internal(anyhow::anyhow!("category vanished")))
}

/// Changes a category; moving it under itself or a descendant is refused.
pub async fn update_category(tx: &mut TenantTx, id: CategoryId, patch: CategoryPatch) -> Result<Category> {
    if repo::find_category(tx, id).await?.is_none() {
        return Err(Error::CategoryNotFound);
    }
    if let Some(Some(parent)) = patch.parent_id {
        if repo::is_ancestor_or_self(tx, id, parent).await? {
            return Err(Error::Invalid(vec![FieldError::new(
                "parent_id",
                "cannot be the category itself or one of its descendants",
            )]));
        }
    }
    repo::update_category(tx, id, &patch).await?;
    repo::find_category(tx, id).await?.ok_or(Error::CategoryNotFound)
}

/// Deletes a category without children; products filed under it lose it.
pub async fn delete_category(tx: &mut TenantTx, id: CategoryId) -> Result<()> {
    // Its products' JSON lists its id: render them again once it is gone.
    let filed = repo::products_in_category(tx, id).await?;
    match repo::delete_category(tx, id).await {
        Ok(true) => refresh_storefront(tx, &filed).await,
        Ok(false) => Err(Error::CategoryNotFound),
        // Deleting a parent violates its children's foreign key.
        Err(e) if e.as_database_error().and_then(|d| d.constraint()) == Some("category_parent_fkey") => {
            Err(Error::CategoryHasChildren)
        }
        Err(e) => Err(e.into()),
    }
}

/// Every category of the store.
pub async fn categories(tx: &mut TenantTx) -> Result<Vec<Category>> {
    Ok(repo::list_categories(tx).await?)
}

// ---------------------------------------------------------------- collections

/// Creates a collection, optionally with its products.
pub async fn create_collection(tx: &mut TenantTx, collection: NewCollection) -> Result<Collection> {
    let id = CollectionId::new();
    repo::insert_collection(tx, id, &collection).await?;
    if let Some(products) = &collection.product_ids {
        repo::replace_collection_products(tx, id, products).await?;
    }
    repo::find_collection(tx, &IdOrHandle::Id(id), false).await?.ok_or(Error::CollectionNotFound)
}

/// Replaces a collection's fields, and its products when given.
pub async fn update_collection(tx: &mut TenantTx, id: CollectionId, collection: NewCollection) -> Result<Collection> {
    if !repo::update_collection(tx, id, &collection).await? {
        return Err(Error::CollectionNotFound);
    }
    if let Some(products) = &collection.product_ids {
        repo::replace_collection_products(tx, id, products).await?;
    }
    repo::find_collection(tx, &IdOrHandle::Id(id), false).await?.ok_or(Error::CollectionNotFound)
}

/// Deletes a collection (its products stay).
pub async fn delete_collection(tx: &mut TenantTx, id: CollectionId) -> Result<()> {
    repo::delete_collection(tx, id).await?.then_some(()).ok_or(Error::CollectionNotFound)
}

// ---------------------------------------------------------------- media

/// Records a pending media object of a product under `key`.
pub async fn add_media(
    tx: &mut TenantTx,
    product: ProductId,
    id: MediaId,
    key: &str,
    content_type: &str,
    byte_size: i64,
    alt: Option<&str>,
) -> Result<Media> {
    if !repo::product_exists(tx, product).await? {
        return Err(Error::ProductNotFound);
    }
    repo::insert_media(tx, id, product, key, content_type, byte_size, alt).await?;
    repo::touch_product(tx, product).await?;
    rendered(tx, product).await?;
    repo::find_media(tx, product, id).await?.ok_or(Error::MediaNotFound)
}

/// A media object of a product.
pub async fn media(tx: &mut TenantTx, product: ProductId, id: MediaId) -> Result<Media> {
    repo::find_media(tx, product, id).await?.ok_or(Error::MediaNotFound)
}

/// Marks a media object uploaded, so shoppers see it.
pub async fn mark_media_ready(tx: &mut TenantTx, product: ProductId, id: MediaId) -> Result<Media> {
    if !repo::mark_media_ready(tx, product, id).await? {
        return Err(Error::MediaNotFound);
    }
    repo::touch_product(tx, product).await?;
    rendered(tx, product).await?;
    media(tx, product, id).await
}

/// Marks the media object stored under `key` uploaded (local backend uploads).
pub async fn mark_media_ready_by_key(tx: &mut TenantTx, key: &str) -> Result<bool> {
    let Some(product) = repo::mark_media_ready_by_key(tx, key).await? else { return Ok(false) };
    repo::touch_product(tx, product).await?;
    rendered(tx, product).await?;
    Ok(true)
}

/// Deletes a media object's record. The stored object is left to the bucket's
/// lifecycle rules (this process does not call the backend's delete).
pub async fn delete_media(tx: &mut TenantTx, product: ProductId, id: MediaId) -> Result<()> {
    if !repo::delete_media(tx, product, id).await? {
        return Err(Error::MediaNotFound);
    }
    repo::touch_product(tx, product).await?;
    rendered(tx, product).await.map(drop)
}

// ---------------------------------------------------------------- storefront read model

/// A product as re-read after a write, with its storefront JSON rendered.
async fn rendered(tx: &mut TenantTx, id: ProductId) -> Result<Product> {
    let product = product_any_status(tx, id).await?;
    render_storefront(tx, std::slice::from_ref(&product)).await?;
    Ok(product)
}

/// Renders products' shopper JSON and stores it beside them, in the write's
/// transaction: the read model never lags a committed write.
async fn render_storefront(tx: &mut TenantTx, products: &[Product]) -> Result<()> {
    store_rendered(tx, products, false).await
}

async fn store_rendered(tx: &mut TenantTx, products: &[Product], only_stale: bool) -> Result<()> {
    let docs: Vec<_> = products.iter().map(|p| (p.id, super::routes::storefront_doc(p.clone()))).collect();
    repo::store_storefront_docs(tx, super::routes::STOREFRONT_VERSION, &docs, only_stale).await?;
    Ok(())
}

/// Re-reads products and renders their storefront JSON (after writes that
/// change many: a category's deletion, an import).
pub async fn refresh_storefront(tx: &mut TenantTx, ids: &[ProductId]) -> Result<()> {
    for chunk in ids.chunks(500) {
        let products = repo::find_products_any_status(tx, chunk).await?;
        render_storefront(tx, &products).await?;
    }
    Ok(())
}

/// Products as the read model holds them: the stored rows as read, and the
/// products among them without current JSON, read from their tables.
pub struct StorefrontPage {
    stored: repo::StoredPage,
    live: Vec<Product>,
    stored_bytes: usize,
}

/// A product of a [`StorefrontPage`].
pub enum StorefrontDoc<'a> {
    /// The stored JSON's bytes (media URLs marked; see the routes' `push_with_media_base`).
    Stored(&'a [u8]),
    /// Not rendered by this version yet: the product, to render now.
    Live(&'a Product),
}

impl StorefrontPage {
    /// The products in order. One without current JSON that its tables no
    /// longer hold was deleted between the two reads: it is left out, as if
    /// deleted before the first.
    pub fn docs(&self) -> impl Iterator<Item = Result<StorefrontDoc<'_>>> + '_ {
        self.stored.docs().filter_map(|doc| match doc {
            Err(e) => Some(Err(e.into())),
            Ok(repo::StoredDoc::Current(json)) => Some(Ok(StorefrontDoc::Stored(json))),
            Ok(repo::StoredDoc::Stale(id)) => self.live.iter().find(|p| p.id == id).map(|p| Ok(StorefrontDoc::Live(p))),
        })
    }

    /// How many bytes of stored JSON the page holds, and how many products
    /// it renders from their tables.
    pub fn size(&self) -> (usize, usize) {
        (self.stored_bytes, self.live.len())
    }
}

/// A page of active products (no search phrase) from the read model: one
/// round trip when every product on it is rendered, which after the
/// start-up backfill is always.
pub async fn storefront_page(
    db: &Db,
    tenant: &Tenant,
    filter: &ProductFilter,
    sort: Sort,
    page: &Page,
) -> Result<(StorefrontPage, Option<Keyset>)> {
    let version = super::routes::STOREFRONT_VERSION;
    let (stored, next) = repo::list_storefront_docs(db, tenant, version, filter, sort, page).await?;
    Ok((with_live(db, tenant, stored).await?, next))
}

/// An active product from the read model, by id or handle: a page of one.
pub async fn storefront_product(db: &Db, tenant: &Tenant, product: &IdOrHandle<ProductId>) -> Result<StorefrontPage> {
    let version = super::routes::STOREFRONT_VERSION;
    let stored = repo::find_storefront_doc(db, tenant, version, product).await?;
    let page = with_live(db, tenant, stored).await?;
    match page.size() {
        (0, 0) => Err(Error::ProductNotFound),
        _ => Ok(page),
    }
}

/// Stored JSON as is; products without it read from their tables.
async fn with_live(db: &Db, tenant: &Tenant, stored: repo::StoredPage) -> Result<StorefrontPage> {
    let (mut missing, mut stored_bytes) = (Vec::new(), 0);
    for doc in stored.docs() {
        match doc? {
            repo::StoredDoc::Current(json) => stored_bytes += json.len(),
            repo::StoredDoc::Stale(id) => missing.push(id),
        }
    }
    let live = if missing.is_empty() {
        Vec::new()
    } else {
        let mut tx = db.tenant_tx(tenant).await?;
        repo::find_products_any_status(&mut tx, &missing).await?
    };
    Ok(StorefrontPage { stored, live, stored_bytes })
}

/// Renders every product of the cells open so far whose read model is
/// missing or another version's; returns how many. Run by `serve` at start
/// (the migration that added the model leaves existing products to it), by
/// every replica at once harmlessly: a render is idempotent.
pub async fn backfill_storefront(db: &Db) -> anyhow::Result<u64> {
    let version = super::routes::STOREFRONT_VERSION;
    let mut done = 0;
    for (_, pool) in db.open_cells() {
        loop {
            let mut system = platform::db::SystemTx::begin(&pool).await?;
            let stale = repo::stale_storefront_products(&mut system, version, 1000).await?;
            drop(system);
            if stale.is_empty() {
                break;
            }
            let mut by_store: std::collections::BTreeMap<_, Vec<ProductId>> = std::collections::BTreeMap::new();
            for (tenant, product) in stale {
                by_store.entry(tenant).or_default().push(product);
            }
            for (tenant, ids) in by_store {
                let mut tx = TenantTx::begin(&pool, tenant).await?;
                let products = repo::find_products_any_status(&mut tx, &ids).await?;
                store_rendered(&mut tx, &products, true).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                tx.commit().await?;
                done += u64::try_from(products.len())?;
            }
        }
    }
    Ok(done)
}
