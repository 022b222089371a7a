//! `GET /v1/audit-log`.

use axum::{
    extract::{FromRef, State},
    routing::get,
    Json, Router,
};
use chrono::{DateTime, Utc};
use platform::{
    auth::{KeyRing, Role},
    db::Db,
    extract::{ApiQuery, ListResponse, Page},
    ids::TenantId,
    problem::Problem,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::{model::AccountId, Principal};

pub(super) mod openapi;

/// What the audit log's reader needs.
#[derive(Clone, FromRef)]
pub struct AuditState {
    pub db: Db,
    /// Verifies the bearer tokens of its routes.
    pub keys: KeyRing,
}

/// The audit log endpoint.
pub fn router() -> Router<AuditState> {
    Router::new().route("/v1/audit-log", get(list))
}

#[derive(Deserialize)]
struct Filter {
    tenant_id: Option<String>,
    actor_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct EntryResponse {
    id: Uuid,
    occurred_at: DateTime<Utc>,
    actor: String,
    actor_id: Option<Uuid>,
    tenant_id: Option<Uuid>,
    action: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    request_id: Option<String>,
}

type Row = (
    Uuid,
    DateTime<Utc>,
    String,
    Option<Uuid>,
    Option<Uuid>,
    String,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<String>,
);

/// Newest first. Platform admins see everything (optionally filtered); store
/// admins and owners see their own store's entries only.
async fn list(
    State(state): State<AuditState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<Filter>,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<EntryResponse>>, Problem> {
    let requested = match filter.tenant_id.as_deref() {
        Some(raw) => {
            Some(TenantId::parse(raw).ok_or_else(|| Problem::invalid_parameter("tenant_id", "must be a store id"))?)
        }
        None => None,
    };
    let tenant = if principal.is_platform_admin() {
        requested
    } else {
        let own = principal.tenant_id.ok_or_else(|| Problem::forbidden("No store in this token."))?;
        let tenant = requested.unwrap_or(own);
        principal.require_store(tenant, Role::Admin)?;
        Some(tenant)
    };
    let actor = match filter.actor_id.as_deref() {
        Some(raw) => {
            Some(AccountId::parse(raw).ok_or_else(|| Problem::invalid_parameter("actor_id", "must be an account id"))?)
        }
        None => None,
    };
    // Read after the filters, so a bad filter is named before a bad page.
    let page = page?;
    let rows: Vec<Row> = sqlx::query_as(
        "select audit_id, occurred_at, actor, actor_id, tenant_id, action, before, after, request_id \
         from control.audit_log \
         where ($1::uuid is null or tenant_id = $1) and ($2::uuid is null or actor_id = $2) \
           and ($3::uuid is null or audit_id < $3) \
         order by audit_id desc limit $4",
    )
    .bind(tenant)
    .bind(actor)
    .bind(page.after)
    .bind(page.limit)
    .fetch_all(state.db.control())
    .await?;
    Ok(Json(page.respond(
        rows,
        |row| row.0,
        |(id, occurred_at, actor, actor_id, tenant_id, action, before, after, request_id)| EntryResponse {
            id,
            occurred_at,
            actor,
            actor_id,
            tenant_id,
            action,
            before,
            after,
            request_id,
        },
    )))
}
