//! Identity: accounts, memberships, passwords, tokens (password and refresh
//! grants, JWKS), platform-admin sign-in through OIDC, and the `Principal`
//! every other control-plane route authorizes with.

pub mod model;
pub mod oidc;
pub mod password;
pub mod principal;
mod repo;
mod routes;
pub mod service;

use axum::{extract::FromRef, Router};

pub use principal::Principal;
pub(crate) use routes::openapi::doc;
pub use routes::TokenResponse;
pub use service::{IdentityState, Tokens};

/// Sign-in: the token endpoint, the JWKS and OIDC.
pub fn router<S>() -> Router<S>
where
    IdentityState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    routes::router().merge(oidc::router())
}
