//! API-key HTTP.

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
    model::{ApiKey, ApiKeyId, KeyName, Scope},
    service::{self, Error},
};
use crate::{audit::Actor, identity::Principal, startup::AppState};

mod openapi;

pub(crate) use openapi::doc;

/// API-key routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tenants/{id}/api-keys", post(create).get(list))
        .route("/v1/tenants/{id}/api-keys/{key_id}", delete(revoke))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CreateKeyRequest {
    name: String,
    scopes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CreatedKeyResponse {
    id: String,
    name: String,
    key: String,
    prefix: String,
    scopes: Vec<String>,
    created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct KeyResponse {
    id: String,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl From<ApiKey> for KeyResponse {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id.to_string(),
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes,
            created_at: rfc3339(key.created_at),
            last_used_at: key.last_used_at.map(rfc3339),
            revoked_at: key.revoked_at.map(rfc3339),
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
    items: Vec<KeyResponse>,
    next_cursor: Option<String>,
}

fn tenant_id(raw: &str) -> Result<TenantId, Problem> {
    TenantId::parse(raw).ok_or_else(|| Error::StoreNotFound.into())
}

const MAX_SCOPES: usize = 32;

fn validate(request: CreateKeyRequest) -> Result<(KeyName, Vec<Scope>), Problem> {
    let mut errors = Vec::new();
    let name = KeyName::parse(&request.name).map_err(|e| errors.push(FieldError::new("name", e))).ok();
    if request.scopes.is_empty() || request.scopes.len() > MAX_SCOPES {
        errors.push(FieldError::new("scopes", format!("must list 1 to {MAX_SCOPES} scopes")));
    }
    let mut scopes: Vec<Scope> = Vec::new();
    for (i, raw) in request.scopes.iter().enumerate() {
        match Scope::parse(raw) {
            Ok(scope) if !scopes.contains(&scope) => scopes.push(scope),
            Ok(_) => {}
            Err(e) => errors.push(FieldError::new(format!("scopes[{i}]"), e)),
        }
    }
    match name {
        Some(name) if errors.is_empty() => Ok((name, scopes)),
        _ => Err(Problem::validation(errors)),
    }
}

/// `POST /v1/tenants/{id}/api-keys`: 201 with the key, the only time it is shown.
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<CreateKeyRequest>,
) -> Result<(StatusCode, Json<CreatedKeyResponse>), Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Admin)?;
    let (name, scopes) = validate(request)?;
    let issued = service::create(&state, tenant, &name, &scopes, &Actor::of(&principal, request_id)).await?;
    let key = issued.key;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyResponse {
            id: key.id.to_string(),
            name: key.name,
            key: issued.secret,
            prefix: key.prefix,
            scopes: key.scopes,
            created_at: rfc3339(key.created_at),
        }),
    ))
}

/// `GET /v1/tenants/{id}/api-keys`: newest first, never the keys themselves.
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
    let keys = service::list(&state, tenant, after, limit).await?;
    let next_cursor =
        (keys.len() as i64 == limit).then(|| keys.last().map(|k| crate::pagination::encode(k.id.as_uuid()))).flatten();
    Ok(Json(ListResponse { items: keys.into_iter().map(Into::into).collect(), next_cursor }))
}

/// `DELETE /v1/tenants/{id}/api-keys/{key_id}`: 204; the key stops working on
/// every data-plane replica within the time an announcement takes.
async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Admin)?;
    let key = ApiKeyId::parse(&key_id).ok_or_else(|| Problem::from(Error::NotFound))?;
    service::revoke(&state, tenant, key, &Actor::of(&principal, request_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
