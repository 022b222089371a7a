//! The control plane's OpenAPI document, served at `/openapi.json`: the health
//! endpoints and every context's endpoints, each listed by the context beside
//! its router (`<context>/routes/openapi.rs`).

use utoipa::openapi::OpenApi;

const DESCRIPTION: &str = "The control plane: stores (tenants), their domains, staff, API keys and settings, sign-in \
    and the audit log. Routes under `/v1/tenants/{id}/…` take a bearer token; staff of another store get 404 as if \
    it did not exist. Errors are `application/problem+json` (RFC 9457); lists are `{\"items\", \"next_cursor\"}` \
    with `?limit=&cursor=`.";

/// The whole document; [`crate::startup::router`] mounts the same contexts.
pub fn document() -> OpenApi {
    platform::openapi::document(
        "control-plane",
        DESCRIPTION,
        [
            crate::identity::doc(),
            crate::tenants::doc(),
            crate::domains::doc(),
            crate::staff::doc(),
            crate::api_keys::doc(),
            crate::tenant_settings::doc(),
            crate::audit::doc(),
            crate::signing_keys::doc(),
        ],
    )
}
