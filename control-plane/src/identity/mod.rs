//! Identity: accounts, memberships, passwords, tokens (password and refresh
//! grants, JWKS), platform-admin sign-in through OIDC, and the `Principal`
//! every other control-plane route authorizes with.

pub mod model;
pub mod oidc;
pub mod password;
pub mod platform_tokens;
pub mod principal;
mod repo;
mod routes;
pub mod service;

use axum::Router;

pub use principal::Principal;
pub(crate) use routes::openapi::doc;
pub use routes::TokenResponse;
pub use service::{IdentityState, Tokens};

/// The JWKS.
pub fn router() -> Router<IdentityState> {
    routes::router()
}

/// Sign-in: the token endpoint and OIDC's start and callback. Apart from
/// [`router`] so that start-up can hold them to the per-client limit
/// (`EDGE_AUTH_PER_MINUTE`).
pub fn sign_in_router() -> Router<IdentityState> {
    routes::sign_in_router().merge(oidc::router())
}
