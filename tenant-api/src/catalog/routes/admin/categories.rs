//! `/admin/categories`: the store's category tree, flat.

use axum::{extract::Path, http::StatusCode, Json};
use platform::{
    extract::ListResponse,
    problem::{ApiJson, Problem},
};
use serde::Deserialize;

use super::{checks::Checks, Staff, READ, WRITE};
use crate::{
    catalog::{
        model::{CategoryId, CategoryPatch, NewCategory},
        routes::CategoryResponse,
        service, Error,
    },
    wire::nullable,
};

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateCategoryRequest {
    name: String,
    handle: Option<String>,
    parent_id: Option<String>,
    description: Option<String>,
    position: Option<i32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateCategoryRequest {
    name: Option<String>,
    handle: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    parent_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    position: Option<i32>,
}

impl Checks {
    fn parent(&mut self, raw: &str) -> Option<CategoryId> {
        CategoryId::parse(raw).or_else(|| {
            self.fail("parent_id", "is not a category id");
            None
        })
    }
}

/// `POST /admin/categories`: a root, or a child of `parent_id`.
pub(crate) async fn create_category(
    staff: Staff,
    ApiJson(body): ApiJson<CreateCategoryRequest>,
) -> Result<(StatusCode, Json<CategoryResponse>), Problem> {
    staff.allow(WRITE)?;
    let mut checks = Checks::default();
    let name = checks.text("name", &body.name, 200);
    let handle = checks.handle_or_derived(body.handle.as_deref(), &name, "name");
    let parent_id = body.parent_id.as_deref().and_then(|p| checks.parent(p));
    let description = checks.optional_text("description", body.description.as_deref(), 10_000);
    let handle = checks.finish_parsed(handle)?;
    let category = NewCategory { parent_id, handle, name, description, position: body.position.unwrap_or(0) };
    let category = staff.write(async |tx| service::create_category(tx, category).await).await?;
    Ok((StatusCode::CREATED, Json(category.into())))
}

/// `GET /admin/categories`: every category, flat (each names its parent).
pub(crate) async fn list_categories(staff: Staff) -> Result<Json<ListResponse<CategoryResponse>>, Problem> {
    staff.allow(READ)?;
    Ok(Json(ListResponse::all(service::categories(&mut staff.begin().await?).await?)))
}

/// `PATCH /admin/categories/{id}`: rename, re-handle or move (`parent_id: null` = root).
pub(crate) async fn update_category(
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateCategoryRequest>,
) -> Result<Json<CategoryResponse>, Problem> {
    staff.allow(WRITE)?;
    let id = CategoryId::parse(&id).ok_or(Error::CategoryNotFound)?;
    let mut checks = Checks::default();
    let patch = CategoryPatch {
        parent_id: body.parent_id.map(|p| p.and_then(|p| checks.parent(&p))),
        handle: body.handle.as_deref().and_then(|h| checks.handle("handle", h)),
        name: body.name.as_deref().map(|n| checks.text("name", n, 200)),
        description: body.description.map(|d| checks.optional_text("description", d.as_deref(), 10_000)),
        position: body.position,
    };
    let patch = checks.finish(patch)?;
    Ok(Json(staff.write(async |tx| service::update_category(tx, id, patch).await).await?.into()))
}

/// `DELETE /admin/categories/{id}`: only a category without children.
pub(crate) async fn delete_category(staff: Staff, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    staff.allow(WRITE)?;
    let id = CategoryId::parse(&id).ok_or(Error::CategoryNotFound)?;
    staff.delete(async |tx| service::delete_category(tx, id).await).await
}
