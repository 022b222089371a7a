//! API-key HTTP.

use axum::{
    extract::State,
    http::StatusCode,
    routing::{delete, post},
    Json, Router,
};
use platform::{
    auth::{Grant, Role},
    extract::{ListResponse, Page},
    problem::{ApiJson, FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    error::Error,
    model::{ApiKey, ApiKeyId, KeyName},
    service, ApiKeysState,
};
use crate::{caller::StoreCaller, wire::rfc3339};

pub(super) mod openapi;

/// Issue, list and revoke a store's keys.
pub fn router() -> Router<ApiKeysState> {
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

const MAX_SCOPES: usize = 32;

fn validate(request: CreateKeyRequest) -> Result<(KeyName, Vec<Grant>), Problem> {
    let mut errors = Vec::new();
    let name = KeyName::parse(&request.name).map_err(|e| errors.push(FieldError::new("name", e))).ok();
    if request.scopes.is_empty() || request.scopes.len() > MAX_SCOPES {
        errors.push(FieldError::new("scopes", format!("must list 1 to {MAX_SCOPES} scopes")));
    }
    let mut scopes: Vec<Grant> = Vec::new();
    for (i, raw) in request.scopes.iter().enumerate() {
        match Grant::parse(raw) {
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
    State(state): State<ApiKeysState>,
    caller: StoreCaller,
    ApiJson(request): ApiJson<CreateKeyRequest>,
) -> Result<(StatusCode, Json<CreatedKeyResponse>), Problem> {
    let tenant = caller.store(Role::Admin)?;
    let (name, scopes) = validate(request)?;
    let issued = service::create(&state, tenant, &name, &scopes, &caller.actor()).await?;
    let key = issued.key;
    let created_at = rfc3339(key.created_at);
    let (id, name, prefix, scopes) = (key.id.to_string(), key.name, key.prefix, key.scopes);
    Ok((StatusCode::CREATED, Json(CreatedKeyResponse { id, name, key: issued.secret, prefix, scopes, created_at })))
}

/// `GET /v1/tenants/{id}/api-keys`: newest first, never the keys themselves.
async fn list(
    State(state): State<ApiKeysState>,
    caller: StoreCaller,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<KeyResponse>>, Problem> {
    let tenant = caller.store(Role::Admin)?;
    let page = page?;
    let keys = service::list(&state, tenant, page.after.map(ApiKeyId::from_uuid), page.limit).await?;
    Ok(Json(page.respond(keys, |k| k.id.as_uuid(), KeyResponse::from)))
}

/// `DELETE /v1/tenants/{id}/api-keys/{key_id}`: 204; the key stops working on
/// every data-plane replica within the time an announcement takes.
async fn revoke(State(state): State<ApiKeysState>, caller: StoreCaller) -> Result<StatusCode, Problem> {
    let (tenant, key) = caller.store_item(Role::Admin, ApiKeyId::parse, Error::NotFound)?;
    service::revoke(&state, tenant, key, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
