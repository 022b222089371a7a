//! `/admin/categories`: the store's category tree, flat.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use platform::{
    auth::StaffPrincipal,
    extract::ListResponse,
    problem::{ApiJson, Problem},
    tenancy::TenantCtx,
};
use serde::Deserialize;

use super::{checks::Checks, nullable, write, READ, WRITE};
use crate::catalog::{
    model::{CategoryId, CategoryPatch, NewCategory},
    routes::CategoryResponse,
    service, CatalogState, Error,
};

#[derive(Deserialize, utoipa::ToSchema)]
pub(in crate::catalog::routes) struct CreateCategoryRequest {
    name: String,
    handle: Option<String>,
    parent_id: Option<String>,
    description: Option<String>,
    position: Option<i32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(in crate::catalog::routes) struct UpdateCategoryRequest {
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

fn category_id(raw: &str) -> Result<CategoryId, Error> {
    CategoryId::parse(raw).ok_or(Error::CategoryNotFound)
}

/// `POST /admin/categories`: a root, or a child of `parent_id`.
pub(in crate::catalog::routes) async fn create_category(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    ApiJson(body): ApiJson<CreateCategoryRequest>,
) -> Result<(StatusCode, Json<CategoryResponse>), Problem> {
    principal.require(WRITE)?;
    let mut checks = Checks::default();
    let name = checks.text("name", &body.name, 200);
    let handle = checks.handle_or_derived(body.handle.as_deref(), &name, "name");
    let parent_id = body.parent_id.as_deref().and_then(|p| checks.parent(p));
    let description = checks.optional_text("description", body.description.as_deref(), 10_000);
    let handle = checks.finish_parsed(handle)?;
    let category = NewCategory { parent_id, handle, name, description, position: body.position.unwrap_or(0) };
    let category = write(&state, &tenant, async |tx| service::create_category(tx, category).await).await?;
    Ok((StatusCode::CREATED, Json(category.into())))
}

/// `GET /admin/categories`: every category, flat (each names its parent).
pub(in crate::catalog::routes) async fn list_categories(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
) -> Result<Json<ListResponse<CategoryResponse>>, Problem> {
    principal.require(READ)?;
    let categories = service::categories(&mut state.db.tenant_tx(&tenant).await?).await?;
    Ok(Json(ListResponse::all(categories)))
}

/// `PATCH /admin/categories/{id}`: rename, re-handle or move (`parent_id: null` = root).
pub(in crate::catalog::routes) async fn update_category(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateCategoryRequest>,
) -> Result<Json<CategoryResponse>, Problem> {
    principal.require(WRITE)?;
    let id = category_id(&id)?;
    let mut checks = Checks::default();
    let patch = CategoryPatch {
        parent_id: body.parent_id.map(|p| p.and_then(|p| checks.parent(&p))),
        handle: body.handle.as_deref().and_then(|h| checks.handle("handle", h)),
        name: body.name.as_deref().map(|n| checks.text("name", n, 200)),
        description: body.description.map(|d| checks.optional_text("description", d.as_deref(), 10_000)),
        position: body.position,
    };
    let patch = checks.finish(patch)?;
    let category = write(&state, &tenant, async |tx| service::update_category(tx, id, patch).await).await?;
    Ok(Json(category.into()))
}

/// `DELETE /admin/categories/{id}`: only a category without children.
pub(in crate::catalog::routes) async fn delete_category(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    principal.require(WRITE)?;
    let id = category_id(&id)?;
    write(&state, &tenant, async |tx| service::delete_category(tx, id).await).await?;
    Ok(StatusCode::NO_CONTENT)
}
