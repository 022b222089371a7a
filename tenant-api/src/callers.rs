//! Who calls a store's routes, as extractors every context's handlers take:
//! [`Staff`] on `/admin` routes, [`SignedIn`] on a shopper's own `/store`
//! routes, [`Shopper`] on those guests may use too. A handler then starts
//! with its own input.

use std::sync::Arc;

use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};
use platform::{
    auth::{CustomerPrincipal, Scope, StaffPrincipal},
    problem::Problem,
    tenancy::{Tenant, TenantCtx},
};

use crate::customers::model::CustomerId;

/// The context's state `St`, the resolved store and the caller `P`,
/// extracted in that order (so an unknown store is a 404 before any 401).
pub struct Caller<St, P> {
    pub state: St,
    pub tenant: Arc<Tenant>,
    pub principal: P,
}

/// A staff member (a staff token or an API key) of the store.
pub type Staff<St> = Caller<St, StaffPrincipal>;

/// A shopper: signed in to the store, or a guest.
pub type Shopper<St> = Caller<St, Option<CustomerPrincipal>>;

/// A shopper signed in to the store (a shopper token of it, else 401).
pub type SignedIn<St> = Caller<St, CustomerPrincipal>;

impl<St> Staff<St> {
    /// Allows an action of every store role (reads; products, media,
    /// inventory; fulfilling and delivering): refuses an API key without
    /// `scope` (403). Handlers check it before they read anything else of the
    /// request.
    pub fn allow(&self, scope: Scope) -> Result<(), Problem> {
        self.principal.require(scope)
    }

    /// Allows an action of the store's admins and owners only (refunds,
    /// cancellations, checkout options, retries): refuses a `staff` token,
    /// and an API key without `scope` (403), before anything else.
    pub fn allow_admin(&self, scope: Scope) -> Result<(), Problem> {
        self.principal.require_admin(scope)
    }
}

impl<St> Shopper<St> {
    /// The signed-in customer; `None` for a guest.
    pub fn customer(&self) -> Option<CustomerId> {
        self.principal.as_ref().map(|p| CustomerId::from_uuid(p.customer_id))
    }
}

impl<St> SignedIn<St> {
    /// The signed-in customer.
    pub fn customer(&self) -> CustomerId {
        CustomerId::from_uuid(self.principal.customer_id)
    }
}

impl<St, P, S> FromRequestParts<S> for Caller<St, P>
where
    St: FromRef<S>,
    P: FromRequestParts<S, Rejection = Problem>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let TenantCtx(tenant) = TenantCtx::from_request_parts(parts, state).await?;
        let principal = P::from_request_parts(parts, state).await?;
        Ok(Self { state: St::from_ref(state), tenant, principal })
    }
}
