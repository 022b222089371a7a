//! Catalog HTTP: storefront reads under `/store`.

use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    routing::get,
    Json, Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use platform::{money::Money, problem::Problem, tenancy::TenantCtx};
use serde::{Deserialize, Serialize};

use super::{
    model::{Page, Product, ProductId, Variant},
    repo, Error,
};
use crate::startup::AppState;

/// The catalog's routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/store/products", get(list_products)).route("/store/products/{id_or_handle}", get(get_product))
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
    q: Option<String>,
}

#[derive(Serialize)]
struct ListResponse<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct MoneyDto {
    amount: i64,
    currency: String,
}

impl From<Money> for MoneyDto {
    fn from(money: Money) -> Self {
        Self { amount: money.amount, currency: money.currency.to_string() }
    }
}

#[derive(Serialize)]
struct VariantResponse {
    id: String,
    sku: String,
    title: String,
    price: MoneyDto,
}

#[derive(Serialize)]
struct ProductResponse {
    id: String,
    handle: String,
    title: String,
    description: Option<String>,
    status: &'static str,
    attributes: serde_json::Value,
    variants: Vec<VariantResponse>,
    created_at: String,
    updated_at: String,
}

impl From<Variant> for VariantResponse {
    fn from(v: Variant) -> Self {
        Self { id: v.id.to_string(), sku: v.sku, title: v.title, price: v.price.into() }
    }
}

impl From<Product> for ProductResponse {
    fn from(p: Product) -> Self {
        Self {
            id: p.id.to_string(),
            handle: p.handle,
            title: p.title,
            description: p.description,
            status: p.status.as_str(),
            attributes: p.attributes,
            variants: p.variants.into_iter().map(Into::into).collect(),
            created_at: p.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            updated_at: p.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

/// `GET /store/products?q=&limit=&cursor=`: active products, newest first.
async fn list_products(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ListResponse<ProductResponse>>, Problem> {
    let Query(params) = params.map_err(|e| Problem::bad_request(e.body_text()))?;
    let page = parse_page(&params)?;
    let query = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());

    let mut tx = state.db.tenant_tx(&tenant).await?;
    let products = repo::list_active_products(&mut tx, page, query).await?;
    // Read-only: dropping the transaction rolls it back with the connection's next use.
    drop(tx);

    let next_cursor =
        (products.len() as i64 == page.limit).then(|| products.last().map(|p| encode_cursor(p.id))).flatten();
    Ok(Json(ListResponse { items: products.into_iter().map(Into::into).collect(), next_cursor }))
}

/// `GET /store/products/{id-or-handle}`: one active product.
async fn get_product(
    State(state): State<AppState>,
    TenantCtx(tenant): TenantCtx,
    Path(id_or_handle): Path<String>,
) -> Result<Json<ProductResponse>, Problem> {
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let product = match ProductId::parse(&id_or_handle) {
        Some(id) => repo::find_active_product_by_id(&mut tx, id).await?,
        None => repo::find_active_product_by_handle(&mut tx, &id_or_handle).await?,
    };
    drop(tx);
    product.map(|p| Json(p.into())).ok_or_else(|| Error::ProductNotFound.into())
}

fn parse_page(params: &ListParams) -> Result<Page, Problem> {
    let limit = match params.limit.as_deref() {
        None => 20,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| Problem::invalid_parameter("limit", "must be an integer from 1 to 100"))?,
    };
    let after = match params.cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(
            decode_cursor(raw)
                .ok_or_else(|| Problem::invalid_parameter("cursor", "is not a cursor this API issued"))?,
        ),
    };
    Ok(Page { limit, after })
}

/// Cursors are the last item's id, opaque to clients (base64url of its 16 bytes).
fn encode_cursor(id: ProductId) -> String {
    URL_SAFE_NO_PAD.encode(id.as_uuid().as_bytes())
}

fn decode_cursor(raw: &str) -> Option<ProductId> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let uuid = uuid::Uuid::from_slice(&bytes).ok()?;
    Some(ProductId::from_uuid(uuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = ProductId::new();
        assert_eq!(decode_cursor(&encode_cursor(id)), Some(id));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor("AAAA"), None);
    }
}
