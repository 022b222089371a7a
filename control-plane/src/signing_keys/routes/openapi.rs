//! Signing-key endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{fragment, get, post};
use utoipa::openapi::OpenApi;

use super::{RotateRequest, RotateResponse, SigningKeyResponse};

/// Signing-key operations.
pub(crate) fn doc() -> OpenApi {
    let problems: &[(u16, &str)] = &[(401, "No valid token."), (403, "Not a platform admin.")];
    fragment([
        get("/v1/admin/signing-keys", "List the JWT signing keys (never their private halves)")
            .tag("signing-keys")
            .bearer()
            .describe("Platform admins only. Newest first; both audiences.")
            .page::<SigningKeyResponse>()
            .problems(problems),
        post("/v1/admin/signing-keys/rotate", "Rotate the JWT signing keys")
            .tag("signing-keys")
            .bearer()
            .describe(
                "Platform admins only; audited. A new key signs at once; the keys it replaces verify until every \
                 token they signed has expired (access-token lifetime plus five minutes), then retire.",
            )
            .optional_body::<RotateRequest>()
            .json::<RotateResponse>(200, "The new keys, per audience.")
            .problems(&[(401, "No valid token."), (403, "Not a platform admin."), (422, "Unknown audience.")]),
    ])
}
