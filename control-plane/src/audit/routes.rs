//! `GET /v1/audit-log`.

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    routing::get,
    Json, Router,
};
use chrono::{DateTime, Utc};
use platform::{auth::Role, ids::TenantId, problem::Problem};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{identity::Principal, startup::AppState};

mod openapi;

pub(crate) use openapi::doc;

/// Audit routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/audit-log", get(list))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Params {
    tenant_id: Option<String>,
    actor_id: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
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

#[derive(Serialize, utoipa::ToSchema)]
struct ListResponse {
    items: Vec<EntryResponse>,
    next_cursor: Option<String>,
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
    State(state): State<AppState>,
    principal: Principal,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Json<ListResponse>, Problem> {
    let Query(params) = params.map_err(|e| Problem::bad_request(e.body_text()))?;
    let requested = match params.tenant_id.as_deref() {
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
    let actor = match params.actor_id.as_deref() {
        Some(raw) => {
            Some(Uuid::parse_str(raw).map_err(|_| Problem::invalid_parameter("actor_id", "must be an account id"))?)
        }
        None => None,
    };
    let limit = crate::pagination::limit(params.limit.as_deref())?;
    let after = crate::pagination::cursor(params.cursor.as_deref())?;
    let rows: Vec<Row> = sqlx::query_as(
        "select audit_id, occurred_at, actor, actor_id, tenant_id, action, before, after, request_id \
         from control.audit_log \
         where ($1::uuid is null or tenant_id = $1) and ($2::uuid is null or actor_id = $2) \
           and ($3::uuid is null or audit_id < $3) \
         order by audit_id desc limit $4",
    )
    .bind(tenant)
    .bind(actor)
    .bind(after)
    .bind(limit)
    .fetch_all(state.db.control())
    .await?;
    let next_cursor =
        (rows.len() as i64 == limit).then(|| rows.last().map(|r| crate::pagination::encode(r.0))).flatten();
    let items = rows
        .into_iter()
        .map(|(id, occurred_at, actor, actor_id, tenant_id, action, before, after, request_id)| EntryResponse {
            id,
            occurred_at,
            actor,
            actor_id,
            tenant_id,
            action,
            before,
            after,
            request_id,
        })
        .collect();
    Ok(Json(ListResponse { items, next_cursor }))
}
