//! API key endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, post};
use utoipa::openapi::OpenApi;

use super::{CreateKeyRequest, CreatedKeyResponse, KeyResponse};
use crate::caller::StoreCaller;

/// API key operations.
pub(crate) fn doc() -> OpenApi {
    let keys =
        StoreCaller::documenter("api-keys", "Too low a role.", "No such store (or another store's), or no such key.");
    fragment([
        keys(post("/v1/tenants/{id}/api-keys", "Issue a scoped API key for the store"))
            .body::<CreateKeyRequest>()
            .json::<CreatedKeyResponse>(201, "The key, shown this once; send it as `x-api-key`.")
            .problems(&[(422, "A field breaks a rule (unknown scope, say).")]),
        keys(get("/v1/tenants/{id}/api-keys", "List the store's keys (never the keys themselves)"))
            .paged()
            .page::<KeyResponse>(),
        keys(delete("/v1/tenants/{id}/api-keys/{key_id}", "Revoke a key"))
            .empty(204, "Revoked; the data plane stops accepting it at once."),
    ])
}
