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

pub use principal::Principal;
pub(crate) use routes::doc;
pub use routes::{router, TokenResponse};
