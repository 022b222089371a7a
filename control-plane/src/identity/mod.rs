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

use axum::Router;

pub use principal::Principal;
pub(crate) use routes::openapi::doc;
pub use routes::TokenResponse;
pub use service::{IdentityState, Tokens};

/// Sign-in: the token endpoint, the JWKS and OIDC.
pub fn router() -> Router<IdentityState> {
    routes::router().merge(oidc::router())
}
