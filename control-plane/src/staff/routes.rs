//! Staff HTTP.

use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    http::StatusCode,
    routing::{delete, post},
    Json, Router,
};
use platform::{
    auth::Role,
    http::RequestIdHeader,
    ids::TenantId,
    problem::{ApiJson, FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    model::parse_role,
    service::{self, Error},
};
use crate::{
    audit::Actor,
    identity::{
        model::{AccountId, Email, Member, Password},
        Principal,
    },
    startup::AppState,
};

mod openapi;

pub(crate) use openapi::doc;

/// Staff routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tenants/{id}/staff", post(add).get(list))
        .route("/v1/tenants/{id}/staff/{account_id}", delete(remove))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AddStaffRequest {
    email: String,
    password: String,
    role: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MemberResponse {
    account_id: String,
    email: String,
    role: &'static str,
    created_at: String,
}

impl From<Member> for MemberResponse {
    fn from(member: Member) -> Self {
        Self {
            account_id: member.account_id.to_string(),
            email: member.email,
            role: member.role.as_str(),
            created_at: member.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ListResponse {
    items: Vec<MemberResponse>,
    next_cursor: Option<String>,
}

fn tenant_id(raw: &str) -> Result<TenantId, Problem> {
    TenantId::parse(raw).ok_or_else(|| Error::StoreNotFound.into())
}

/// `POST /v1/tenants/{id}/staff`: adds a member (201). A new email creates the
/// account with `password`; an existing one must give its own password.
async fn add(
    State(state): State<AppState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AddStaffRequest>,
) -> Result<(StatusCode, Json<MemberResponse>), Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Admin)?;
    let mut errors = Vec::new();
    let email = Email::parse(&request.email).map_err(|e| errors.push(FieldError::new("email", e))).ok();
    let password = Password::parse(&request.password).map_err(|e| errors.push(FieldError::new("password", e))).ok();
    let role = parse_role(&request.role).map_err(|e| errors.push(FieldError::new("role", e))).ok();
    let (Some(email), Some(password), Some(role)) = (email, password, role) else {
        return Err(Problem::validation(errors));
    };
    let actor = Actor::of(&principal, request_id);
    let member = service::add(&state, tenant, &email, &password, role, principal.role, &actor).await?;
    Ok((StatusCode::CREATED, Json(member.into())))
}

/// `GET /v1/tenants/{id}/staff`: the store's members (admins and owners only).
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ListResponse>, Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Admin)?;
    let Query(params) = params.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = crate::pagination::limit(params.limit.as_deref())?;
    let after = crate::pagination::cursor(params.cursor.as_deref())?;
    let members = service::list(&state, tenant, after, limit).await?;
    let next_cursor = (members.len() as i64 == limit)
        .then(|| members.last().map(|m| crate::pagination::encode(m.account_id.as_uuid())))
        .flatten();
    Ok(Json(ListResponse { items: members.into_iter().map(Into::into).collect(), next_cursor }))
}

/// `DELETE /v1/tenants/{id}/staff/{account_id}`: 204; the account keeps existing.
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    Path((id, account)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Admin)?;
    let account = AccountId::parse(&account).ok_or_else(|| Problem::from(Error::MemberNotFound))?;
    service::remove(&state, tenant, account, principal.role, &Actor::of(&principal, request_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
