//! Staff HTTP.

use axum::{
    extract::State,
    http::StatusCode,
    routing::{delete, post},
    Json, Router,
};
use platform::{
    auth::Role,
    extract::{ListResponse, Page},
    problem::{ApiJson, FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{error::Error, model::parse_role, service, StaffState};
use crate::{
    caller::StoreCaller,
    identity::model::{AccountId, Email, Member, Password},
    wire::rfc3339,
};

pub(super) mod openapi;

/// Add, list and remove a store's members.
pub fn router() -> Router<StaffState> {
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
            created_at: rfc3339(member.created_at),
        }
    }
}

/// `POST /v1/tenants/{id}/staff`: adds a member (201). A new email creates the
/// account with `password`; an existing one must give its own password.
async fn add(
    State(state): State<StaffState>,
    caller: StoreCaller,
    ApiJson(request): ApiJson<AddStaffRequest>,
) -> Result<(StatusCode, Json<MemberResponse>), Problem> {
    let tenant = caller.store(Role::Admin)?;
    let mut errors = Vec::new();
    let email = Email::parse(&request.email).map_err(|e| errors.push(FieldError::new("email", e))).ok();
    let password = Password::parse(&request.password).map_err(|e| errors.push(FieldError::new("password", e))).ok();
    let role = parse_role(&request.role).map_err(|e| errors.push(FieldError::new("role", e))).ok();
    let (Some(email), Some(password), Some(role)) = (email, password, role) else {
        return Err(Problem::validation(errors));
    };
    let member = service::add(&state, tenant, &email, &password, role, caller.principal.role, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(member.into())))
}

/// `GET /v1/tenants/{id}/staff`: the store's members (admins and owners only).
async fn list(
    State(state): State<StaffState>,
    caller: StoreCaller,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<MemberResponse>>, Problem> {
    let tenant = caller.store(Role::Admin)?;
    let page = page?;
    let members = service::list(&state, tenant, page.after.map(AccountId::from_uuid), page.limit).await?;
    Ok(Json(page.respond(members, |m| m.account_id.as_uuid(), MemberResponse::from)))
}

/// `DELETE /v1/tenants/{id}/staff/{account_id}`: 204; the account keeps existing.
async fn remove(State(state): State<StaffState>, caller: StoreCaller) -> Result<StatusCode, Problem> {
    let (tenant, account) = caller.store_item(Role::Admin, AccountId::parse, Error::MemberNotFound)?;
    service::remove(&state, tenant, account, caller.principal.role, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
