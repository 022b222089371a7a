//! Store registry endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, patch, post, Endpoint};
use utoipa::openapi::OpenApi;

use super::{CreateTenantRequest, PatchRequest, PlanResponse, TenantResponse};
use crate::identity::TokenResponse;

/// What `POST /v1/tenants` answers: the store, its owner and the owner's first tokens.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema only: the handler writes this body as JSON
struct CreatedTenant {
    #[serde(flatten)]
    tenant: TenantResponse,
    owner: Owner,
    credentials: TokenResponse,
}

/// The owner account of a new store.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct Owner {
    account_id: String,
    email: String,
}

/// What a purge removed.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct Purged {
    id: String,
    /// Where the store's rows were written as JSON lines.
    export_path: String,
    rows: u64,
    redis_keys: u64,
}

const NOT_FOUND: (u16, &str) = (404, "No such store (or another store's, for staff); deleted stores too.");
const UNAUTHORIZED: (u16, &str) = (401, "No valid token.");

fn tenants(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("tenants")
}

/// Store registry operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        tenants(post("/v1/tenants", "Open a store (self-service sign-up, or a platform admin)"))
            .describe(
                "One idempotent operation: registry row, cell placement, default settings and templates, owner \
                 account and first tokens. An existing owner email must prove its password (a wrong one is a \
                 422 on `owner_password` that does not say whether the email has an account). Self-service \
                 stores start on `starter`; only a platform admin may name another `plan`.",
            )
            .optional_bearer()
            .idempotent()
            .body::<CreateTenantRequest>()
            .json::<CreatedTenant>(201, "The store, `active`, with its owner and the owner's tokens.")
            .problems(&[
                (403, "Self-service sign-up is disabled."),
                (409, "The slug is taken, or the same `Idempotency-Key` is still in flight."),
                (413, "The body is too large."),
                (
                    422,
                    "Invalid or reserved slug, bad fields, a plan other than `starter` without a platform admin's \
                     token, owner credentials that cannot be used, or the same `Idempotency-Key` with another body.",
                ),
                (503, "Password hashing is saturated; retry after `Retry-After` seconds."),
            ]),
        tenants(get("/v1/tenants", "List stores (platform admins: all; staff: their own)"))
            .bearer()
            .query("status", "provisioning | active | suspended | deleted.")
            .query("plan", "A plan id.")
            .query("q", "Only stores whose slug or name contains this text (any case).")
            .paged()
            .page::<TenantResponse>()
            .problems(&[(400, "A query parameter does not parse."), UNAUTHORIZED]),
        tenants(get("/v1/tenants/{id}", "Read a store"))
            .bearer()
            .json::<TenantResponse>(200, "The store.")
            .problems(&[UNAUTHORIZED, NOT_FOUND]),
        tenants(patch(
            "/v1/tenants/{id}",
            "Change a store's name, branding (store admins, owners) or plan (platform admins only; audited)",
        ))
        .bearer()
        .body::<PatchRequest>()
        .json::<TenantResponse>(200, "The store.")
        .problems(&[
            UNAUTHORIZED,
            (403, "Too low a role (changing `plan` takes a platform admin)."),
            NOT_FOUND,
            (422, "A field breaks a rule."),
        ]),
        tenants(delete("/v1/tenants/{id}", "Delete a store (soft; the owner or a platform admin)"))
            .bearer()
            .json::<TenantResponse>(200, "The store, `deleted`; it stops answering at once.")
            .problems(&[UNAUTHORIZED, (403, "Not the owner."), NOT_FOUND]),
        tenants(post("/v1/tenants/{id}/suspend", "Suspend a store (platform admins)"))
            .bearer()
            .describe("A suspended store answers every `/store` and `/admin` request with a 423 problem.")
            .json::<TenantResponse>(200, "The store, `suspended`.")
            .problems(&[UNAUTHORIZED, (403, "Not a platform admin."), NOT_FOUND, (409, "Not active.")]),
        tenants(post("/v1/tenants/{id}/resume", "Resume a suspended store (platform admins)"))
            .bearer()
            .json::<TenantResponse>(200, "The store, `active`.")
            .problems(&[UNAUTHORIZED, (403, "Not a platform admin."), NOT_FOUND, (409, "Not suspended.")]),
        tenants(post("/v1/tenants/{id}/purge", "Export and remove a deleted store's data (platform admins)"))
            .bearer()
            .json::<Purged>(200, "What was removed; the registry row stays.")
            .problems(&[UNAUTHORIZED, (403, "Not a platform admin."), NOT_FOUND, (409, "The store is not deleted.")]),
        tenants(get("/v1/plans", "List plans (public, for sign-up forms)")).page::<PlanResponse>(),
    ])
}
