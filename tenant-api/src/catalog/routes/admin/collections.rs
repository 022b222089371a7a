//! `/admin/collections`: hand-picked sets of products.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use platform::{
    auth::StaffPrincipal,
    extract::{ApiQuery, ListResponse},
    problem::{ApiJson, Problem},
    tenancy::TenantCtx,
};
use serde::Deserialize;

use super::{checks::Checks, write, AdminListParams, READ, WRITE};
use crate::catalog::{
    model::{CollectionId, IdOrHandle, NewCollection, ProductId},
    repo,
    routes::CollectionResponse,
    service, CatalogState, Error,
};

#[derive(Deserialize, utoipa::ToSchema)]
pub(in crate::catalog::routes) struct CollectionRequest {
    title: String,
    handle: Option<String>,
    description: Option<String>,
    product_ids: Option<Vec<String>>,
}

fn parse_collection(body: CollectionRequest) -> Result<NewCollection, Problem> {
    let mut checks = Checks::default();
    let title = checks.text("title", &body.title, 200);
    let handle = checks.handle_or_derived(body.handle.as_deref(), &title, "title");
    let description = checks.optional_text("description", body.description.as_deref(), 10_000);
    let product_ids =
        body.product_ids.map(|ids| checks.ids("product_ids", &ids, ProductId::parse, "is not a product id"));
    let handle = checks.finish_parsed(handle)?;
    Ok(NewCollection { handle, title, description, product_ids })
}

fn collection_id(raw: &str) -> Result<CollectionId, Error> {
    CollectionId::parse(raw).ok_or(Error::CollectionNotFound)
}

/// `POST /admin/collections`.
pub(in crate::catalog::routes) async fn create_collection(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    ApiJson(body): ApiJson<CollectionRequest>,
) -> Result<(StatusCode, Json<CollectionResponse>), Problem> {
    principal.require(WRITE)?;
    let collection = parse_collection(body)?;
    let collection = write(&state, &tenant, async |tx| service::create_collection(tx, collection).await).await?;
    Ok((StatusCode::CREATED, Json(collection.into())))
}

/// `GET /admin/collections?limit=&cursor=`.
pub(in crate::catalog::routes) async fn list_collections(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    params: Result<ApiQuery<AdminListParams>, Problem>,
) -> Result<Json<ListResponse<CollectionResponse>>, Problem> {
    principal.require(READ)?;
    let ApiQuery(params) = params?;
    let page = params.page()?;
    let after = page.after.map(CollectionId::from_uuid);
    let collections = repo::list_collections(&mut state.db.tenant_tx(&tenant).await?, false, page.limit, after).await?;
    Ok(Json(page.respond(collections, |c| c.id.as_uuid(), Into::into)))
}

/// `GET /admin/collections/{id}`: with products in any status.
pub(in crate::catalog::routes) async fn get_collection(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
) -> Result<Json<CollectionResponse>, Problem> {
    principal.require(READ)?;
    let id = IdOrHandle::Id(collection_id(&id)?);
    let collection = repo::find_collection(&mut state.db.tenant_tx(&tenant).await?, &id, false).await?;
    Ok(Json(collection.ok_or(Error::CollectionNotFound)?.into()))
}

/// `PUT /admin/collections/{id}`: replaces its fields (and products when given).
pub(in crate::catalog::routes) async fn replace_collection(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CollectionRequest>,
) -> Result<Json<CollectionResponse>, Problem> {
    principal.require(WRITE)?;
    let id = collection_id(&id)?;
    let collection = parse_collection(body)?;
    let collection = write(&state, &tenant, async |tx| service::update_collection(tx, id, collection).await).await?;
    Ok(Json(collection.into()))
}

/// `DELETE /admin/collections/{id}`.
pub(in crate::catalog::routes) async fn delete_collection(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    principal.require(WRITE)?;
    let id = collection_id(&id)?;
    write(&state, &tenant, async |tx| service::delete_collection(tx, id).await).await?;
    Ok(StatusCode::NO_CONTENT)
}
