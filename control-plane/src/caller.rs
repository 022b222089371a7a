//! Who calls a route under `/v1/tenants/{id}/…`: the principal, the store the
//! path names (and the thing in it, `{key_id}`, `{host}`, …), and the request
//! id the audit log keeps.

use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
    response::{IntoResponse, Response},
};
use platform::{auth::Role, http::RequestIdHeader, ids::TenantId, openapi::Endpoint, problem::Problem};

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
    /// The path's other parameter, if it has one, as it gave it.
    item: Option<String>,
    request_id: Option<String>,
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

    /// The store, as [`store`](Self::store) checks it, and then the thing the
    /// path names in it, read by `parse`: an item that does not parse is as
    /// missing (`missing`) as one that does not exist.
    pub fn store_item<T>(
        &self,
        min: Role,
        parse: impl FnOnce(&str) -> Option<T>,
        missing: impl Into<Problem>,
    ) -> Result<(TenantId, T), Problem> {
        let tenant = self.store(min)?;
        let item = self.item.as_deref().and_then(parse).ok_or_else(|| missing.into())?;
        Ok((tenant, item))
    }

    fn store_id(&self) -> Result<TenantId, Problem> {
        TenantId::parse(&self.store).ok_or_else(store_not_found)
    }

    /// How a context documents its store routes: each endpoint under `tag`,
    /// with a bearer token and the problems of a caller without one (401),
    /// with too low a role (`forbidden`, 403) or without the store or the
    /// thing it names (`not_found`, 404).
    pub fn documenter<'a>(tag: &'a str, forbidden: &'a str, not_found: &'a str) -> impl Fn(Endpoint) -> Endpoint + 'a {
        move |endpoint| {
            endpoint.tag(tag).bearer().problems(&[(401, "No valid token."), (403, forbidden), (404, not_found)])
        }
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
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (mut store, mut item) = (String::new(), None);
        for (name, value) in params {
            if name == "id" {
                store = value;
            } else {
                item = Some(value);
            }
        }
        Ok(Self { principal, store, item, request_id })
    }
}
