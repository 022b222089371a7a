//! Merchant endpoints under `/admin`: a staff token or API key of the store.
//! Every write is one transaction; after it commits, the store's storefront
//! cache is dropped in every replica.

use std::collections::{BTreeMap, HashSet};

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    Json,
};
use platform::{
    auth::StaffPrincipal,
    db::TenantTx,
    money::{Currency, Money},
    problem::{ApiJson, FieldError, Problem},
    tenancy::{Tenant, TenantCtx},
};
use serde::{Deserialize, Deserializer, Serialize};

use super::{
    decode_id_cursor, encode_id_cursor, parse_limit, store::CollectionResponse, CategoryResponse, ListResponse,
    ProductResponse,
};
use crate::{
    catalog::{
        import,
        model::{
            check_attributes, CategoryId, CategoryPatch, CollectionId, Handle, NewCategory, NewCollection, NewProduct,
            NewVariant, ProductId, ProductOption, ProductPatch, ProductStatus, SearchLanguage, Sku, VariantId,
            VariantPatch,
        },
        repo, service, Error,
    },
    startup::AppState,
    wire::MoneyDto as MoneyIn,
};

const READ: &str = "catalog:read";
const WRITE: &str = "catalog:write";

/// Commits a catalog write and drops the store's cached storefront everywhere.
async fn commit(state: &AppState, tenant: &Tenant, tx: TenantTx) -> Result<(), Problem> {
    tx.commit().await?;
    state.storefront_cache.invalidate(tenant.id).await;
    Ok(())
}

/// `null` and absent differ for fields that can be cleared: absent → `None`,
/// `null` → `Some(None)`.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

// ---------------------------------------------------------------- input DTOs

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct OptionIn {
    name: String,
    values: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct VariantIn {
    sku: String,
    title: Option<String>,
    price: MoneyIn,
    compare_at_price: Option<MoneyIn>,
    weight_grams: Option<i64>,
    barcode: Option<String>,
    #[serde(default)]
    options: BTreeMap<String, String>,
    stock: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct CreateProductRequest {
    title: String,
    handle: Option<String>,
    status: Option<String>,
    description: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    options: Vec<OptionIn>,
    variants: Vec<VariantIn>,
    #[serde(default)]
    category_ids: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct UpdateProductRequest {
    title: Option<String>,
    handle: Option<String>,
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    attributes: Option<BTreeMap<String, String>>,
    options: Option<Vec<OptionIn>>,
    category_ids: Option<Vec<String>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct UpdateVariantRequest {
    sku: Option<String>,
    title: Option<String>,
    price: Option<MoneyIn>,
    #[serde(default, deserialize_with = "nullable")]
    compare_at_price: Option<Option<MoneyIn>>,
    #[serde(default, deserialize_with = "nullable")]
    weight_grams: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    barcode: Option<Option<String>>,
    options: Option<BTreeMap<String, String>>,
}

/// Collects field errors while parsing a request into domain values.
#[derive(Default)]
struct Checks(Vec<FieldError>);

impl Checks {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > max {
            self.fail(field, format!("must be 1 to {max} characters"));
        }
        value.to_owned()
    }

    fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        }
        Some(value.to_owned())
    }

    fn money(&mut self, field: &str, money: &MoneyIn, currency: Currency) -> Money {
        if money.amount < 0 {
            self.fail(format!("{field}.amount"), "must be 0 or more minor units");
        }
        if Currency::parse(&money.currency) != Some(currency) {
            self.fail(format!("{field}.currency"), format!("must be the store's currency, {currency}"));
        }
        Money::new(money.amount, currency)
    }

    fn count(&mut self, field: &str, value: i64) -> i32 {
        match i32::try_from(value) {
            Ok(n) if n >= 0 => n,
            _ => {
                self.fail(field, "must be a whole number from 0 to 2147483647");
                0
            }
        }
    }

    fn handle(&mut self, field: &str, value: &str) -> Option<Handle> {
        Handle::parse(value).map_err(|m| self.fail(field, m)).ok()
    }

    fn status(&mut self, value: &str) -> ProductStatus {
        ProductStatus::parse(value).unwrap_or_else(|| {
            self.fail("status", "must be draft, active or archived");
            ProductStatus::Draft
        })
    }

    fn attributes(&mut self, attributes: &BTreeMap<String, String>) {
        if let Err(message) = check_attributes(attributes) {
            self.fail("attributes", message);
        }
    }

    fn options(&mut self, options: Vec<OptionIn>) -> Vec<ProductOption> {
        let mut names = HashSet::new();
        if options.len() > 10 {
            self.fail("options", "at most 10 options");
        }
        options
            .into_iter()
            .enumerate()
            .map(|(n, o)| {
                let name = self.text(&format!("options[{n}].name"), &o.name, 100);
                if !names.insert(name.clone()) {
                    self.fail(format!("options[{n}].name"), "is used by another option");
                }
                let mut seen = HashSet::new();
                if o.values.is_empty() || o.values.len() > 100 {
                    self.fail(format!("options[{n}].values"), "must hold 1 to 100 values");
                }
                let values = o
                    .values
                    .iter()
                    .enumerate()
                    .map(|(m, v)| {
                        let v = self.text(&format!("options[{n}].values[{m}]"), v, 100);
                        if !seen.insert(v.clone()) {
                            self.fail(format!("options[{n}].values[{m}]"), "appears twice");
                        }
                        v
                    })
                    .collect();
                ProductOption { name, values }
            })
            .collect()
    }

    fn category_ids(&mut self, ids: &[String]) -> Vec<CategoryId> {
        ids.iter()
            .enumerate()
            .filter_map(|(n, id)| {
                CategoryId::parse(id).or_else(|| {
                    self.fail(format!("category_ids[{n}]"), "is not a category id");
                    None
                })
            })
            .collect()
    }

    fn variant(&mut self, path: &str, v: VariantIn, currency: Currency) -> Option<NewVariant> {
        let sku = Sku::parse(v.sku.trim()).map_err(|m| self.fail(format!("{path}.sku"), m)).ok();
        let price = self.money(&format!("{path}.price"), &v.price, currency);
        let compare_at_price =
            v.compare_at_price.map(|m| self.money(&format!("{path}.compare_at_price"), &m, currency));
        if compare_at_price.is_some_and(|c| c.amount < price.amount) {
            self.fail(format!("{path}.compare_at_price.amount"), "must not be below the price");
        }
        let weight_grams = v.weight_grams.map(|w| self.count(&format!("{path}.weight_grams"), w));
        let barcode = self.optional_text(&format!("{path}.barcode"), v.barcode.as_deref(), 64);
        let stock = self.count(&format!("{path}.stock"), v.stock.unwrap_or(0));
        let title = match v.title.as_deref() {
            Some(title) => self.text(&format!("{path}.title"), title, 200),
            None => "Default".to_owned(),
        };
        Some(NewVariant { sku: sku?, title, price, compare_at_price, weight_grams, barcode, options: v.options, stock })
    }

    fn finish<T>(self, value: T) -> Result<T, Problem> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::Invalid(self.0).into())
        }
    }
}

fn parse_new_product(body: CreateProductRequest, currency: Currency) -> Result<NewProduct, Problem> {
    let mut checks = Checks::default();
    let title = checks.text("title", &body.title, 500);
    let handle = match body.handle.as_deref() {
        Some(handle) => checks.handle("handle", handle),
        None => Handle::from_title(&title).or_else(|| {
            checks.fail("handle", "cannot be derived from the title; give one");
            None
        }),
    };
    let status = checks.status(body.status.as_deref().unwrap_or("draft"));
    let description = checks.optional_text("description", body.description.as_deref(), 50_000);
    checks.attributes(&body.attributes);
    let options = checks.options(body.options);
    if body.variants.is_empty() || body.variants.len() > 100 {
        checks.fail("variants", "must hold 1 to 100 variants");
    }
    let mut skus = HashSet::new();
    let mut variants = Vec::with_capacity(body.variants.len());
    for (n, variant) in body.variants.into_iter().enumerate() {
        if !skus.insert(variant.sku.trim().to_owned()) {
            checks.fail(format!("variants[{n}].sku"), "appears twice in this product");
        }
        if let Some(variant) = checks.variant(&format!("variants[{n}]"), variant, currency) {
            variants.push(variant);
        }
    }
    let category_ids = checks.category_ids(&body.category_ids);
    let product = handle.map(|handle| NewProduct {
        title,
        handle,
        description,
        status,
        attributes: body.attributes,
        options,
        variants,
        category_ids,
    });
    let product = checks.finish(product)?;
    product.ok_or_else(|| Problem::internal(anyhow::anyhow!("handle missing without a field error")))
}

fn product_id(raw: &str) -> Result<ProductId, Problem> {
    ProductId::parse(raw).ok_or_else(|| Error::ProductNotFound.into())
}

fn variant_id(raw: &str) -> Result<VariantId, Problem> {
    VariantId::parse(raw).ok_or_else(|| Error::VariantNotFound.into())
}

/// The plan's product quota of the store (`None` when the registry has no plan).
async fn max_products(state: &AppState, tenant: &Tenant) -> Result<Option<u32>, Problem> {
    Ok(state.quotas.get(tenant.id).await?.map(|q| q.max_products))
}

fn language(tenant: &Tenant) -> SearchLanguage {
    SearchLanguage::for_locale(&tenant.locale)
}

// ---------------------------------------------------------------- products

/// `POST /admin/products`.
pub(super) async fn create_product(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    ApiJson(body): ApiJson<CreateProductRequest>,
) -> Result<(StatusCode, Json<ProductResponse>), Problem> {
    principal.require(WRITE)?;
    let product = parse_new_product(body, tenant.currency)?;
    let max_products = max_products(&state, &tenant).await?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let product = service::create_product(&mut tx, language(&tenant), max_products, product).await?;
    commit(&state, &tenant, tx).await?;
    Ok((StatusCode::CREATED, Json(ProductResponse::new(product, &state.media, false))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct AdminListParams {
    limit: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
}

/// `GET /admin/products?status=&limit=&cursor=`: every status, newest first.
pub(super) async fn list_products(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    params: Result<Query<AdminListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListResponse<ProductResponse>>, Problem> {
    principal.require(READ)?;
    let Query(params) = params.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = parse_limit(params.limit.as_deref())?;
    let after = decode_id_cursor(params.cursor.as_deref())?.map(ProductId::from_uuid);
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(
            ProductStatus::parse(raw)
                .ok_or_else(|| Problem::invalid_parameter("status", "must be draft, active or archived"))?,
        ),
    };
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let products = repo::list_products_any_status(&mut tx, status, limit, after).await?;
    drop(tx);
    let next_cursor =
        (products.len() as i64 == limit).then(|| products.last().map(|p| encode_id_cursor(p.id.as_uuid()))).flatten();
    Ok(Json(ListResponse {
        items: products.into_iter().map(|p| ProductResponse::new(p, &state.media, false)).collect(),
        next_cursor,
    }))
}

/// `GET /admin/products/{id}`: any status.
pub(super) async fn get_product(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
) -> Result<Json<ProductResponse>, Problem> {
    principal.require(READ)?;
    let id = product_id(&id)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let product = service::product_any_status(&mut tx, id).await?;
    Ok(Json(ProductResponse::new(product, &state.media, false)))
}

/// `PATCH /admin/products/{id}`: changes the given fields only.
pub(super) async fn update_product(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateProductRequest>,
) -> Result<Json<ProductResponse>, Problem> {
    principal.require(WRITE)?;
    let id = product_id(&id)?;
    let mut checks = Checks::default();
    let patch = ProductPatch {
        title: body.title.as_deref().map(|t| checks.text("title", t, 500)),
        handle: body.handle.as_deref().and_then(|h| checks.handle("handle", h)),
        description: body.description.map(|d| checks.optional_text("description", d.as_deref(), 50_000)),
        status: body.status.as_deref().map(|s| checks.status(s)),
        attributes: body.attributes.inspect(|a| checks.attributes(a)),
        options: body.options.map(|o| checks.options(o)),
        category_ids: body.category_ids.map(|ids| checks.category_ids(&ids)),
    };
    let patch = checks.finish(patch)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let product = service::update_product(&mut tx, language(&tenant), id, patch).await?;
    commit(&state, &tenant, tx).await?;
    Ok(Json(ProductResponse::new(product, &state.media, false)))
}

/// `DELETE /admin/products/{id}`.
pub(super) async fn delete_product(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    principal.require(WRITE)?;
    let id = product_id(&id)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    service::delete_product(&mut tx, id).await?;
    commit(&state, &tenant, tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/products/{id}/variants`: adds a variant; answers with the product.
pub(super) async fn add_variant(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VariantIn>,
) -> Result<(StatusCode, Json<ProductResponse>), Problem> {
    principal.require(WRITE)?;
    let id = product_id(&id)?;
    let mut checks = Checks::default();
    let variant = checks.variant("variant", body, tenant.currency);
    let variant = checks.finish(variant)?.ok_or_else(|| Problem::internal(anyhow::anyhow!("variant unparsed")))?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let product = service::add_variant(&mut tx, id, variant).await?;
    commit(&state, &tenant, tx).await?;
    Ok((StatusCode::CREATED, Json(ProductResponse::new(product, &state.media, false))))
}

/// `PATCH /admin/products/{id}/variants/{variant_id}`.
pub(super) async fn update_variant(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path((id, variant)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateVariantRequest>,
) -> Result<Json<ProductResponse>, Problem> {
    principal.require(WRITE)?;
    let id = product_id(&id)?;
    let variant = variant_id(&variant)?;
    let mut checks = Checks::default();
    let currency = tenant.currency;
    let patch = VariantPatch {
        sku: body.sku.and_then(|s| Sku::parse(s.trim()).map_err(|m| checks.fail("sku", m)).ok()),
        title: body.title.as_deref().map(|t| checks.text("title", t, 200)),
        price: body.price.map(|m| checks.money("price", &m, currency)),
        compare_at_price: body.compare_at_price.map(|m| m.map(|m| checks.money("compare_at_price", &m, currency))),
        weight_grams: body.weight_grams.map(|w| w.map(|w| checks.count("weight_grams", w))),
        barcode: body.barcode.map(|b| checks.optional_text("barcode", b.as_deref(), 64)),
        options: body.options,
    };
    let patch = checks.finish(patch)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let product = service::update_variant(&mut tx, id, variant, patch).await?;
    commit(&state, &tenant, tx).await?;
    Ok(Json(ProductResponse::new(product, &state.media, false)))
}

/// `DELETE /admin/products/{id}/variants/{variant_id}`.
pub(super) async fn delete_variant(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path((id, variant)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    principal.require(WRITE)?;
    let id = product_id(&id)?;
    let variant = variant_id(&variant)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    service::delete_variant(&mut tx, id, variant).await?;
    commit(&state, &tenant, tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
struct ImportErrorDto {
    row: usize,
    field: String,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ImportResponse {
    imported: usize,
    variants: usize,
    errors: Vec<ImportErrorDto>,
}

/// `POST /admin/products/import` with `text/csv` or `application/x-ndjson`:
/// valid records are written, bad ones reported by row; see `catalog::import`.
pub(super) async fn import_products(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportResponse>, Problem> {
    principal.require(WRITE)?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (records, errors) = match content_type.as_str() {
        "text/csv" => import::parse_csv(&body),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => import::parse_ndjson(&body),
        _ => {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the file as text/csv or application/x-ndjson.",
            ))
        }
    };
    let max_products = max_products(&state, &tenant).await?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let report = import::import(&mut tx, language(&tenant), tenant.currency, max_products, records, errors).await?;
    commit(&state, &tenant, tx).await?;
    Ok(Json(ImportResponse {
        imported: report.imported,
        variants: report.variants,
        errors: report
            .errors
            .into_iter()
            .map(|e| ImportErrorDto { row: e.row, field: e.field, message: e.message })
            .collect(),
    }))
}

// ---------------------------------------------------------------- categories

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct CreateCategoryRequest {
    name: String,
    handle: Option<String>,
    parent_id: Option<String>,
    description: Option<String>,
    position: Option<i32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct UpdateCategoryRequest {
    name: Option<String>,
    handle: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    parent_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    position: Option<i32>,
}

fn parent(checks: &mut Checks, raw: &str) -> Option<CategoryId> {
    CategoryId::parse(raw).or_else(|| {
        checks.fail("parent_id", "is not a category id");
        None
    })
}

/// `POST /admin/categories`: a root, or a child of `parent_id`.
pub(super) async fn create_category(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    ApiJson(body): ApiJson<CreateCategoryRequest>,
) -> Result<(StatusCode, Json<CategoryResponse>), Problem> {
    principal.require(WRITE)?;
    let mut checks = Checks::default();
    let name = checks.text("name", &body.name, 200);
    let handle = match body.handle.as_deref() {
        Some(handle) => checks.handle("handle", handle),
        None => Handle::from_title(&name).or_else(|| {
            checks.fail("handle", "cannot be derived from the name; give one");
            None
        }),
    };
    let parent_id = body.parent_id.as_deref().and_then(|p| parent(&mut checks, p));
    let description = checks.optional_text("description", body.description.as_deref(), 10_000);
    let handle = checks.finish(handle)?.ok_or_else(|| Problem::internal(anyhow::anyhow!("handle unparsed")))?;
    let category = NewCategory { parent_id, handle, name, description, position: body.position.unwrap_or(0) };
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let category = service::create_category(&mut tx, category).await?;
    commit(&state, &tenant, tx).await?;
    Ok((StatusCode::CREATED, Json(category.into())))
}

/// `GET /admin/categories`: every category, flat (each names its parent).
pub(super) async fn list_categories(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
) -> Result<Json<ListResponse<CategoryResponse>>, Problem> {
    principal.require(READ)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let categories = service::categories(&mut tx).await?;
    Ok(Json(ListResponse { items: categories.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// `PATCH /admin/categories/{id}`: rename, re-handle or move (`parent_id: null` = root).
pub(super) async fn update_category(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateCategoryRequest>,
) -> Result<Json<CategoryResponse>, Problem> {
    principal.require(WRITE)?;
    let id = CategoryId::parse(&id).ok_or(Error::CategoryNotFound)?;
    let mut checks = Checks::default();
    let patch = CategoryPatch {
        parent_id: body.parent_id.map(|p| p.and_then(|p| parent(&mut checks, &p))),
        handle: body.handle.as_deref().and_then(|h| checks.handle("handle", h)),
        name: body.name.as_deref().map(|n| checks.text("name", n, 200)),
        description: body.description.map(|d| checks.optional_text("description", d.as_deref(), 10_000)),
        position: body.position,
    };
    let patch = checks.finish(patch)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let category = service::update_category(&mut tx, id, patch).await?;
    commit(&state, &tenant, tx).await?;
    Ok(Json(category.into()))
}

/// `DELETE /admin/categories/{id}`: only a category without children.
pub(super) async fn delete_category(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    principal.require(WRITE)?;
    let id = CategoryId::parse(&id).ok_or(Error::CategoryNotFound)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    service::delete_category(&mut tx, id).await?;
    commit(&state, &tenant, tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- collections

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct CollectionRequest {
    title: String,
    handle: Option<String>,
    description: Option<String>,
    product_ids: Option<Vec<String>>,
}

fn parse_collection(body: CollectionRequest) -> Result<NewCollection, Problem> {
    let mut checks = Checks::default();
    let title = checks.text("title", &body.title, 200);
    let handle = match body.handle.as_deref() {
        Some(handle) => checks.handle("handle", handle),
        None => Handle::from_title(&title).or_else(|| {
            checks.fail("handle", "cannot be derived from the title; give one");
            None
        }),
    };
    let description = checks.optional_text("description", body.description.as_deref(), 10_000);
    let product_ids = body.product_ids.map(|ids| {
        ids.iter()
            .enumerate()
            .filter_map(|(n, id)| {
                ProductId::parse(id).or_else(|| {
                    checks.fail(format!("product_ids[{n}]"), "is not a product id");
                    None
                })
            })
            .collect()
    });
    let handle = checks.finish(handle)?.ok_or_else(|| Problem::internal(anyhow::anyhow!("handle unparsed")))?;
    Ok(NewCollection { handle, title, description, product_ids })
}

/// `POST /admin/collections`.
pub(super) async fn create_collection(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    ApiJson(body): ApiJson<CollectionRequest>,
) -> Result<(StatusCode, Json<CollectionResponse>), Problem> {
    principal.require(WRITE)?;
    let collection = parse_collection(body)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let collection = service::create_collection(&mut tx, collection).await?;
    commit(&state, &tenant, tx).await?;
    Ok((StatusCode::CREATED, Json(collection.into())))
}

/// `GET /admin/collections?limit=&cursor=`.
pub(super) async fn list_collections(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    params: Result<Query<AdminListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListResponse<CollectionResponse>>, Problem> {
    principal.require(READ)?;
    let Query(params) = params.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = parse_limit(params.limit.as_deref())?;
    let after = decode_id_cursor(params.cursor.as_deref())?.map(CollectionId::from_uuid);
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let collections = repo::list_collections(&mut tx, false, limit, after).await?;
    drop(tx);
    let next_cursor = (collections.len() as i64 == limit)
        .then(|| collections.last().map(|c| encode_id_cursor(c.id.as_uuid())))
        .flatten();
    Ok(Json(ListResponse { items: collections.into_iter().map(Into::into).collect(), next_cursor }))
}

/// `GET /admin/collections/{id}`: with products in any status.
pub(super) async fn get_collection(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
) -> Result<Json<CollectionResponse>, Problem> {
    principal.require(READ)?;
    let id = CollectionId::parse(&id).ok_or(Error::CollectionNotFound)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let collection = repo::find_collection(&mut tx, &id.to_string(), false).await?.ok_or(Error::CollectionNotFound)?;
    Ok(Json(collection.into()))
}

/// `PUT /admin/collections/{id}`: replaces its fields (and products when given).
pub(super) async fn replace_collection(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CollectionRequest>,
) -> Result<Json<CollectionResponse>, Problem> {
    principal.require(WRITE)?;
    let id = CollectionId::parse(&id).ok_or(Error::CollectionNotFound)?;
    let collection = parse_collection(body)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let collection = service::update_collection(&mut tx, id, collection).await?;
    commit(&state, &tenant, tx).await?;
    Ok(Json(collection.into()))
}

/// `DELETE /admin/collections/{id}`.
pub(super) async fn delete_collection(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    principal.require(WRITE)?;
    let id = CollectionId::parse(&id).ok_or(Error::CollectionNotFound)?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    service::delete_collection(&mut tx, id).await?;
    commit(&state, &tenant, tx).await?;
    Ok(StatusCode::NO_CONTENT)
}
