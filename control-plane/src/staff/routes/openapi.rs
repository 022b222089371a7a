//! Staff membership endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, post};
use utoipa::openapi::OpenApi;

use super::{AddStaffRequest, MemberResponse};
use crate::caller::StoreCaller;

/// Staff operations.
pub(crate) fn doc() -> OpenApi {
    let staff = StoreCaller::documenter(
        "staff",
        "Too low a role (adding or removing an admin or owner takes an owner).",
        "No such store (or another store's), or no such member.",
    );
    fragment([
        staff(post("/v1/tenants/{id}/staff", "Add a member (a new email creates the account)"))
            .body::<AddStaffRequest>()
            .json::<MemberResponse>(201, "The member.")
            .problems(&[
                (409, "Already a member, or the plan's seats are used up."),
                (422, "A field breaks a rule."),
                (503, "Password hashing is saturated; retry after `Retry-After` seconds."),
            ]),
        staff(get("/v1/tenants/{id}/staff", "List the store's members")).paged().page::<MemberResponse>(),
        staff(delete("/v1/tenants/{id}/staff/{account_id}", "Remove a member"))
            .empty(204, "Removed; the account's refresh tokens for the store are revoked.")
            .problems(&[(409, "The last owner stays.")]),
    ])
}
