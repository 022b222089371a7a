//! The audit log endpoint in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{fragment, get};
use utoipa::openapi::OpenApi;

use super::EntryResponse;

/// Audit operations.
pub(crate) fn doc() -> OpenApi {
    fragment([get("/v1/audit-log", "Read the audit log, newest first")
        .tag("audit")
        .bearer()
        .describe("Platform admins see every entry (optionally filtered); store admins and owners their own store's.")
        .query("tenant_id", "Entries of this store.")
        .query("actor_id", "Entries by this account.")
        .paged()
        .page::<EntryResponse>()
        .problems(&[(400, "A query parameter does not parse."), (401, "No valid token."), (403, "Too low a role.")])])
}
