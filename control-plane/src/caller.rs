//! Who calls a route under `/v1/tenants/{id}/…`: the principal, the store the
//! path names, and the request id the audit log keeps.

use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
    response::{IntoResponse, Response},
};
use platform::{auth::Role, http::RequestIdHeader, ids::TenantId, openapi::Endpoint, problem::Problem};
use serde::Deserialize;

use crate::{
    audit::Actor,
    identity::{principal::store_not_found, Principal},
};

/// The caller of a store's route. The store is checked in the handler, not
/// here, so a body that does not parse is still named before the store is.
pub struct StoreCaller {
    pub principal: Principal,
    /// `{id}` as the path gave it.
    store: String,
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct StorePath {
    id: String,
}

impl StoreCaller {
    /// The store the path names, when the caller may act on it with at least
    /// `min` (see [`Principal::require_store`]); a path id that is no store id
    /// answers 404 like another store's.
    pub fn store(&self, min: Role) -> Result<TenantId, Problem> {
        let tenant = self.store_id()?;
        self.principal.require_store(tenant, min)?;
        Ok(tenant)
    }

    /// The store the path names, for platform admins only: anyone else gets 403
    /// whatever the path says.
    pub fn store_as_platform_admin(&self) -> Result<TenantId, Problem> {
        self.principal.require_platform_admin()?;
        self.store_id()
    }

    fn store_id(&self) -> Result<TenantId, Problem> {
        TenantId::parse(&self.store).ok_or_else(store_not_found)
    }

    /// Documents `endpoint` as a store's route under `tag`: a bearer token, and
    /// the problems of a caller without one (401), with too low a role
    /// (`forbidden`, 403) or without the store or the thing it names (`not_found`, 404).
    pub fn document(endpoint: Endpoint, tag: &str, forbidden: &str, not_found: &str) -> Endpoint {
        endpoint.tag(tag).bearer().problems(&[(401, "No valid token."), (403, forbidden), (404, not_found)])
    }

    /// The caller as the audit log names it.
    pub fn actor(&self) -> Actor {
        Actor::of(&self.principal, self.request_id.clone())
    }
}

impl<S> FromRequestParts<S> for StoreCaller
where
    Principal: FromRequestParts<S, Rejection = Problem>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let principal = Principal::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Ok(RequestIdHeader(request_id)) = RequestIdHeader::from_request_parts(parts, state).await;
        let Path(StorePath { id }) =
            Path::<StorePath>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        Ok(Self { principal, store: id, request_id })
    }
}
