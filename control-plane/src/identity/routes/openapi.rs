//! Sign-in endpoints in the OpenAPI document; keep in step with [`super::router`]
//! (which also mounts `identity::oidc`'s routes).

use platform::openapi::{delete, fragment, get, post};
use utoipa::openapi::OpenApi;

use super::{CreatePlatformTokenRequest, PlatformTokenResponse, TokenRequest, TokenResponse};

/// Sign-in operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        post("/v1/auth/token", "Sign in as staff or platform admin (password or refresh grant)")
            .tag("auth")
            .describe(
                "`{\"grant_type\": \"password\", \"email\", \"password\", \"tenant_id\"?}` or \
                 `{\"grant_type\": \"refresh_token\", \"refresh_token\"}`. A staff token carries `tid` (its store) \
                 and `role`; a platform admin's carries `role: \"platform_admin\"`. Refresh tokens are single use.",
            )
            .body::<TokenRequest>()
            .json::<TokenResponse>(200, "An EdDSA access token (`token_type` `Bearer`) and a refresh token.")
            .problems(&[
                (400, "The body does not parse."),
                (401, "Wrong email, password or refresh token."),
                (422, "A field breaks a rule; `errors` names each."),
                (503, "Password hashing is saturated; retry after `Retry-After` seconds."),
            ]),
        get("/.well-known/jwks.json", "Public signing keys (JWKS)").tag("auth").other(
            200,
            "`{\"keys\": [...]}`: every active key's public half (Ed25519, with `kid`).",
            "application/json",
        ),
        get("/v1/auth/oidc/login", "Start platform-admin sign-in with OpenID Connect")
            .tag("auth")
            .empty(303, "Redirect to the identity provider (code flow with PKCE).")
            .problems(&[(404, "OpenID Connect is not configured.")]),
        get("/v1/auth/oidc/callback", "Finish OpenID Connect sign-in")
            .tag("auth")
            .query("code", "Authorization code from the provider.")
            .query("state", "The `state` the login step issued (single use).")
            .query("error", "An error the provider reports instead of a code.")
            .json::<TokenResponse>(200, "Platform-admin tokens.")
            .problems(&[
                (400, "Missing, unknown or reused `state`, or a refused code."),
                (401, "The ID token does not verify or names no platform admin."),
            ]),
        post("/v1/admin/platform-tokens", "Mint a platform API token (for automation such as Terraform)")
            .tag("auth")
            .bearer()
            .describe(
                "The token (`cpt_…`) acts with the platform-admin rights of the admin who minted it, until it is \
                 revoked, expires (`expires_in_days`) or its minter stops being a platform admin. Send it as \
                 `Authorization: Bearer cpt_…`. A platform token cannot mint another.",
            )
            .body::<CreatePlatformTokenRequest>()
            .json::<PlatformTokenResponse>(201, "The token in `token`, shown this once.")
            .problems(&[
                (401, "No valid token."),
                (403, "Not a platform admin, or the caller is itself a platform token."),
                (422, "A field breaks a rule."),
            ]),
        get("/v1/admin/platform-tokens", "List platform API tokens (never the tokens themselves)")
            .tag("auth")
            .bearer()
            .page::<PlatformTokenResponse>()
            .problems(&[(401, "No valid token."), (403, "Not a platform admin.")]),
        delete("/v1/admin/platform-tokens/{token_id}", "Revoke a platform API token")
            .tag("auth")
            .bearer()
            .empty(204, "Revoked; it stops working at once.")
            .problems(&[(401, "No valid token."), (403, "Not a platform admin."), (404, "No such token.")]),
    ])
}
