//! Signed-in shoppers calling a store's `/store` routes.

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};

use super::{Authenticator, Role, STOREFRONT_AUDIENCE};
use crate::{ids::TenantId, problem::Problem};

/// A signed-in shopper of the resolved store (`/store` routes).
///
/// Accepts only [`STOREFRONT_AUDIENCE`] tokens with role `customer` whose `tid`
/// is the store the host resolved to; anything else is 401 with one message.
/// As an `Option<CustomerPrincipal>` extractor, a request without
/// `Authorization` is a guest (`None`).
#[derive(Clone, Debug)]
pub struct CustomerPrincipal {
    /// The store; always the resolved one.
    pub tenant_id: TenantId,
    /// The customer (the token's `sub`).
    pub customer_id: uuid::Uuid,
}

impl CustomerPrincipal {
    /// The detail of every 401: one message, so a client learns nothing about other stores.
    pub(super) const REFUSED: &str = "A valid customer token of this store is required.";

    /// The shopper of `tenant` whose storefront token the request carries;
    /// `None` for every refusal alike. Fails (503) only when the signing keys
    /// cannot be read.
    pub(super) async fn authenticate(
        auth: &Authenticator,
        parts: &Parts,
        tenant: TenantId,
    ) -> Result<Option<Self>, Problem> {
        match super::authenticator::bearer(parts) {
            Some(token) => Self::from_token(auth, token, tenant).await,
            None => Ok(None),
        }
    }
}

impl CustomerPrincipal {
    /// The shopper of `tenant` whose storefront token is `token` (a page's
    /// session cookie rather than an `Authorization` header); `None` for
    /// every refusal alike. Fails (503) only when the signing keys cannot be read.
    pub async fn from_token(auth: &Authenticator, token: &str, tenant: TenantId) -> Result<Option<Self>, Problem> {
        let Some(claims) = auth.store_token_value(token, STOREFRONT_AUDIENCE, tenant).await? else { return Ok(None) };
        if Role::parse(&claims.role) != Some(Role::Customer) {
            return Ok(None);
        }
        let customer_id = uuid::Uuid::parse_str(&claims.sub).ok();
        Ok(customer_id.map(|customer_id| Self { tenant_id: tenant, customer_id }))
    }
}

impl<S> OptionalFromRequestParts<S> for CustomerPrincipal
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    /// No `Authorization` header → `None` (a guest); a header that does not hold → 401.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Problem> {
        if parts.headers.contains_key(http::header::AUTHORIZATION) {
            <Self as FromRequestParts<S>>::from_request_parts(parts, state).await.map(Some)
        } else {
            Ok(None)
        }
    }
}
