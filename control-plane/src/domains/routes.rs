//! Custom-domain HTTP.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, post},
    Json, Router,
};
use platform::{
    auth::Role,
    extract::ListResponse,
    ids::TenantId,
    problem::{ApiJson, FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    error::Error,
    model::{Domain, Host},
    service, DomainsState,
};
use crate::{caller::StoreCaller, wire::rfc3339};

pub(super) mod openapi;

/// Claim, verify and remove a store's custom hosts.
pub fn router() -> Router<DomainsState> {
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

/// The store (for admins) and the host its path names; one that cannot be a
/// host names no claim.
fn path_host(state: &DomainsState, caller: &StoreCaller) -> Result<(TenantId, Host), Problem> {
    let parse = |raw: &str| Host::parse(raw, &state.settings.platform_domain).ok();
    caller.store_item(Role::Admin, parse, Error::NotFound)
}

/// `POST /v1/tenants/{id}/domains`: claims a host and answers with the TXT record
/// that proves it (201; 200 when the store had already claimed it).
async fn add(
    State(state): State<DomainsState>,
    caller: StoreCaller,
    ApiJson(request): ApiJson<AddDomainRequest>,
) -> Result<Response, Problem> {
    let tenant = caller.store(Role::Admin)?;
    let host = Host::parse(&request.host, &state.settings.platform_domain)
        .map_err(|e| Problem::validation(vec![FieldError::new("host", e)]))?;
    let (domain, created) = service::add(&state, tenant, &host, &caller.actor()).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(DomainResponse::from(domain))).into_response())
}

/// `GET /v1/tenants/{id}/domains`: every claim of the store, verified or not.
async fn list(
    State(state): State<DomainsState>,
    caller: StoreCaller,
) -> Result<Json<ListResponse<DomainResponse>>, Problem> {
    let tenant = caller.store(Role::Staff)?;
    Ok(Json(ListResponse::all(service::list(&state, tenant).await?)))
}

/// `POST /v1/tenants/{id}/domains/{host}/verify`: 200 once the TXT record holds
/// the token; 422 with the record to publish until then.
async fn verify(State(state): State<DomainsState>, caller: StoreCaller) -> Result<Json<DomainResponse>, Problem> {
    let (tenant, host) = path_host(&state, &caller)?;
    let domain = service::verify(&state, tenant, &host, &caller.actor()).await?;
    Ok(Json(domain.into()))
}

/// `DELETE /v1/tenants/{id}/domains/{host}`: 204; the host stops serving the store.
async fn remove(State(state): State<DomainsState>, caller: StoreCaller) -> Result<StatusCode, Problem> {
    let (tenant, host) = path_host(&state, &caller)?;
    service::remove(&state, tenant, &host, &caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
