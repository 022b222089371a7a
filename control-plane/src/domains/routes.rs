//! Custom-domain HTTP.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
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
    model::{Domain, Host},
    service::{self, Error},
};
use crate::{audit::Actor, identity::Principal, startup::AppState};

mod openapi;

pub(crate) use openapi::doc;

/// Domain routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tenants/{id}/domains", post(add).get(list))
        .route("/v1/tenants/{id}/domains/{host}/verify", post(verify))
        .route("/v1/tenants/{id}/domains/{host}", delete(remove))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AddDomainRequest {
    host: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct VerificationResponse {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    value: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DomainResponse {
    host: String,
    verified: bool,
    verified_at: Option<String>,
    created_at: String,
    verification: VerificationResponse,
}

impl From<Domain> for DomainResponse {
    fn from(domain: Domain) -> Self {
        let rfc3339 = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        Self {
            verification: VerificationResponse {
                kind: "TXT",
                name: domain.txt_name(),
                value: domain.verification_token.clone(),
            },
            verified: domain.verified_at.is_some(),
            verified_at: domain.verified_at.map(rfc3339),
            created_at: rfc3339(domain.created_at),
            host: domain.host,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ListResponse {
    items: Vec<DomainResponse>,
    next_cursor: Option<String>,
}

fn tenant_id(raw: &str) -> Result<TenantId, Problem> {
    TenantId::parse(raw).ok_or_else(|| Error::StoreNotFound.into())
}

/// A host in a path names a claim; one that cannot be a host names none.
fn path_host(state: &AppState, raw: &str) -> Result<Host, Problem> {
    Host::parse(raw, &state.settings.platform_domain).map_err(|_| Error::NotFound.into())
}

/// `POST /v1/tenants/{id}/domains`: claims a host and answers with the TXT record
/// that proves it (201; 200 when the store had already claimed it).
async fn add(
    State(state): State<AppState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<AddDomainRequest>,
) -> Result<Response, Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Admin)?;
    let host = Host::parse(&request.host, &state.settings.platform_domain)
        .map_err(|e| Problem::validation(vec![FieldError::new("host", e)]))?;
    let (domain, created) = service::add(&state, tenant, &host, &Actor::of(&principal, request_id)).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(DomainResponse::from(domain))).into_response())
}

/// `GET /v1/tenants/{id}/domains`: every claim of the store, verified or not.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ListResponse>, Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Staff)?;
    let domains = service::list(&state, tenant).await?;
    Ok(Json(ListResponse { items: domains.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// `POST /v1/tenants/{id}/domains/{host}/verify`: 200 once the TXT record holds
/// the token; 422 with the record to publish until then.
async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    Path((id, host)): Path<(String, String)>,
) -> Result<Json<DomainResponse>, Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Admin)?;
    let host = path_host(&state, &host)?;
    let domain = service::verify(&state, tenant, &host, &Actor::of(&principal, request_id)).await?;
    Ok(Json(domain.into()))
}

/// `DELETE /v1/tenants/{id}/domains/{host}`: 204; the host stops serving the store.
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    Path((id, host)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let tenant = tenant_id(&id)?;
    principal.require_store(tenant, Role::Admin)?;
    let host = path_host(&state, &host)?;
    service::remove(&state, tenant, &host, &Actor::of(&principal, request_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
