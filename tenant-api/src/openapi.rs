//! The data plane's OpenAPI document, served at `/openapi.json`: the health
//! endpoints and the endpoints of every mounted context, each listed by the
//! context beside its router (`<context>/routes/openapi.rs`).

use utoipa::openapi::OpenApi;

use crate::contexts::Context;

const DESCRIPTION: &str = "The data plane: storefront (`/store`) and merchant (`/admin`) APIs of every store. \
    A request names its store by `Host` (`<slug>.<platform domain>` or a verified custom domain); an unknown host \
    is a 404, a suspended store a 423. Money is `{\"amount\": <minor units>, \"currency\": \"<ISO 4217>\"}`; lists \
    are `{\"items\", \"next_cursor\"}` with `?limit=&cursor=`; errors are `application/problem+json` (RFC 9457).";

/// The document of a replica that mounts `contexts`.
pub fn document(contexts: &[Context]) -> OpenApi {
    platform::openapi::document("tenant-api", DESCRIPTION, contexts.iter().map(|context| context.doc()))
}
