//! Who calls a store's routes, as extractors every context's handlers take:
//! [`Staff`] on `/admin` routes, [`Shopper`] on `/store` routes that guests
//! may use too. A handler then starts with its own input.

use std::sync::Arc;

use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};
use platform::{
    auth::{Authenticator, CustomerPrincipal, StaffPrincipal},
    problem::Problem,
    tenancy::{Tenant, TenantCtx},
};

use crate::customers::model::CustomerId;

/// The context's state `St`, the resolved store and the staff member (a staff
/// token or an API key of that store), extracted in that order.
pub struct Staff<St> {
    pub state: St,
    pub tenant: Arc<Tenant>,
    pub principal: StaffPrincipal,
}

impl<St> Staff<St> {
    /// Refuses a caller without `scope` (403); handlers check it before
    /// they read anything else of the request.
    pub fn allow(&self, scope: &str) -> Result<(), Problem> {
        self.principal.require(scope)
    }
}

impl<St, S> FromRequestParts<S> for Staff<St>
where
    St: FromRef<S>,
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let TenantCtx(tenant) = TenantCtx::from_request_parts(parts, state).await?;
        let principal = StaffPrincipal::from_request_parts(parts, state).await?;
        Ok(Self { state: St::from_ref(state), tenant, principal })
    }
}

/// The context's state `St`, the resolved store and the signed-in shopper of
/// that store, if any (a token of another store or audience is a 401).
pub struct Shopper<St> {
    pub state: St,
    pub tenant: Arc<Tenant>,
    pub customer: Option<CustomerId>,
}

impl<St, S> FromRequestParts<S> for Shopper<St>
where
    St: FromRef<S>,
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let TenantCtx(tenant) = TenantCtx::from_request_parts(parts, state).await?;
        let principal = <Option<CustomerPrincipal>>::from_request_parts(parts, state).await?;
        let customer = principal.map(|p| CustomerId::from_uuid(p.customer_id));
        Ok(Self { state: St::from_ref(state), tenant, customer })
    }
}
