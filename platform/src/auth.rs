//! TEMPORARY stand-in for `platform::auth`, which is being written on main.
//! Same interface as the coming module (`StaffPrincipal`, `Authenticator`);
//! it refuses every request (fail closed) and is replaced wholesale when main
//! is merged.

use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};

use crate::{ids::TenantId, problem::Problem};

/// Checks staff tokens and API keys (stand-in: knows none).
#[derive(Clone, Default)]
pub struct Authenticator;

/// Who is calling an `/admin` route of the resolved store.
#[derive(Clone, Debug)]
pub struct StaffPrincipal {
    /// The store; always the resolved one.
    pub tenant_id: TenantId,
}

impl StaffPrincipal {
    /// Refuses with 403 unless the caller holds `scope`.
    pub fn require(&self, _scope: &str) -> Result<(), Problem> {
        Ok(())
    }
}

impl<S> FromRequestParts<S> for StaffPrincipal
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        Err(Problem::unauthorized("A valid staff token or API key of this store is required."))
    }
}
