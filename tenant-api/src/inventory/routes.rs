//! Inventory HTTP: stock levels under `/admin/inventory`.

use axum::{
    extract::{Path, State},
    routing::get,
    Json, Router,
};
use platform::{
    auth::{Area, Scope, StaffPrincipal},
    problem::{ApiJson, Problem},
    tenancy::TenantCtx,
};
use serde::{Deserialize, Serialize};

use super::{model::StockLevel, service, Error, InventoryState};
use crate::catalog::model::VariantId;

mod openapi;

pub(crate) use openapi::doc;

/// The inventory context's routes.
pub fn router() -> Router<InventoryState> {
    Router::new().route("/admin/inventory/{variant_id}", get(get_level).put(put_level))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SetStockRequest {
    on_hand: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct StockResponse {
    variant_id: String,
    on_hand: i32,
    reserved: i32,
    available: i32,
}

impl From<StockLevel> for StockResponse {
    fn from(level: StockLevel) -> Self {
        Self {
            variant_id: level.variant_id.to_string(),
            on_hand: level.on_hand,
            reserved: level.reserved,
            available: level.available(),
        }
    }
}

/// The variant a path names; one that is not an id is no variant of this store.
fn variant_id(raw: &str) -> Result<VariantId, Error> {
    VariantId::parse(raw).ok_or(Error::VariantNotFound)
}

/// `GET /admin/inventory/{variant_id}`.
async fn get_level(
    State(state): State<InventoryState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(variant): Path<String>,
) -> Result<Json<StockResponse>, Problem> {
    principal.require(Scope::read(Area::Inventory))?;
    let variant = variant_id(&variant)?;
    let level = service::level(&mut state.db.tenant_tx(&tenant).await?, variant).await?;
    Ok(Json(level.into()))
}

/// `PUT /admin/inventory/{variant_id}` with `{"on_hand": n}`.
async fn put_level(
    State(state): State<InventoryState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(variant): Path<String>,
    ApiJson(body): ApiJson<SetStockRequest>,
) -> Result<Json<StockResponse>, Problem> {
    principal.require(Scope::write(Area::Inventory))?;
    let variant = variant_id(&variant)?;
    let on_hand =
        i32::try_from(body.on_hand).ok().filter(|n| *n >= 0).ok_or(Error::InvalidOnHand("must be 0 to 2147483647"))?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let level = service::set_on_hand(&mut tx, variant, on_hand).await?;
    tx.commit().await?;
    Ok(Json(level.into()))
}
