//! How a request becomes a principal of its store, for both kinds of caller.
//!
//! The store comes first (from [`TenantCtx`], resolved from `Host`); then the
//! principal type's own `authenticate` decides from the request's credentials.
//! Every refusal is the same 401 per type, so a client learns nothing about
//! other stores or about which check failed.

use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};

use super::{Authenticator, CustomerPrincipal, StaffPrincipal};
use crate::{problem::Problem, tenancy::TenantCtx};

/// Writes the same extractor for each principal type, which must have
/// `async fn authenticate(&Authenticator, &Parts, TenantId) -> Result<Option<Self>, Problem>`
/// and `const REFUSED: &str`. (A generic impl of axum's trait over our types is
/// not allowed by the orphan rule, hence a macro.)
macro_rules! principal_extractor {
    ($($principal:ty),+) => {$(
        impl<S> FromRequestParts<S> for $principal
        where
            Authenticator: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = Problem;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
                let TenantCtx(tenant) = TenantCtx::from_request_parts(parts, state).await?;
                let principal = Self::authenticate(&Authenticator::from_ref(state), parts, tenant.id).await?;
                principal.ok_or_else(|| Problem::unauthorized(Self::REFUSED))
            }
        }
    )+};
}

principal_extractor!(StaffPrincipal, CustomerPrincipal);
