//! Custom domain endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, post};
use utoipa::openapi::OpenApi;

use super::{AddDomainRequest, DomainResponse};
use crate::caller::StoreCaller;

/// Custom domain operations.
pub(crate) fn doc() -> OpenApi {
    let domains =
        StoreCaller::documenter("domains", "Too low a role.", "No such store (or another store's), or no such claim.");
    fragment([
        domains(post("/v1/tenants/{id}/domains", "Claim a custom host"))
            .body::<AddDomainRequest>()
            .json::<DomainResponse>(201, "The claim, with the TXT record to publish (200 when it existed).")
            .problems(&[(409, "`domain-taken`: another store verified it."), (422, "Not a host name.")]),
        domains(get("/v1/tenants/{id}/domains", "List the store's host claims")).page::<DomainResponse>(),
        domains(post("/v1/tenants/{id}/domains/{host}/verify", "Verify a claim by its DNS TXT record"))
            .json::<DomainResponse>(200, "Verified; the host serves the store.")
            .problems(&[(409, "`domain-taken`."), (422, "The TXT record is not there yet.")]),
        domains(delete("/v1/tenants/{id}/domains/{host}", "Remove a host"))
            .empty(204, "Removed; the host stops serving the store."),
    ])
}
