//! `/admin/collections`: hand-picked sets of products.

use axum::{extract::Path, http::StatusCode, Json};
use platform::{
    extract::{ApiQuery, ListResponse},
    problem::{ApiJson, Problem},
};
use serde::Deserialize;

use super::{checks::Checks, AdminListParams, Staff, READ, WRITE};
use crate::catalog::{
    model::{CollectionId, IdOrHandle, NewCollection, ProductId},
    repo,
    routes::CollectionResponse,
    service, Error,
};

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CollectionRequest {
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

/// `POST /admin/collections`.
pub(crate) async fn create_collection(
    staff: Staff,
    ApiJson(body): ApiJson<CollectionRequest>,
) -> Result<(StatusCode, Json<CollectionResponse>), Problem> {
    staff.allow(WRITE)?;
    let collection = parse_collection(body)?;
    let collection = staff.write(async |tx| service::create_collection(tx, collection).await).await?;
    Ok((StatusCode::CREATED, Json(collection.into())))
}

/// `GET /admin/collections?limit=&cursor=`.
pub(crate) async fn list_collections(
    staff: Staff,
    params: Result<ApiQuery<AdminListParams>, Problem>,
) -> Result<Json<ListResponse<CollectionResponse>>, Problem> {
    staff.allow(READ)?;
    let page = params?.0.page()?;
    let after = page.after.map(CollectionId::from_uuid);
    let collections = repo::list_collections(&mut staff.begin().await?, false, page.limit, after).await?;
    Ok(Json(page.respond(collections, |c| c.id.as_uuid(), Into::into)))
}

/// `GET /admin/collections/{id}`: with products in any status.
pub(crate) async fn get_collection(staff: Staff, Path(id): Path<String>) -> Result<Json<CollectionResponse>, Problem> {
    staff.allow(READ)?;
    let id = IdOrHandle::Id(CollectionId::parse(&id).ok_or(Error::CollectionNotFound)?);
    let collection = repo::find_collection(&mut staff.begin().await?, &id, false).await?;
    Ok(Json(collection.ok_or(Error::CollectionNotFound)?.into()))
}

/// `PUT /admin/collections/{id}`: replaces its fields (and products when given).
pub(crate) async fn replace_collection(
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CollectionRequest>,
) -> Result<Json<CollectionResponse>, Problem> {
    staff.allow(WRITE)?;
    let id = CollectionId::parse(&id).ok_or(Error::CollectionNotFound)?;
    let collection = parse_collection(body)?;
    Ok(Json(staff.write(async |tx| service::update_collection(tx, id, collection).await).await?.into()))
}

/// `DELETE /admin/collections/{id}`.
pub(crate) async fn delete_collection(staff: Staff, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    staff.allow(WRITE)?;
    let id = CollectionId::parse(&id).ok_or(Error::CollectionNotFound)?;
    staff.delete(async |tx| service::delete_collection(tx, id).await).await
}
