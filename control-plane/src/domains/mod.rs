//! Custom domains of stores, verified by a DNS TXT record.

pub mod dns;

use axum::Router;

use crate::startup::AppState;

/// Domain routes.
pub fn router() -> Router<AppState> {
    Router::new()
}
