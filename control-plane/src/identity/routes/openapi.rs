//! Sign-in endpoints in the OpenAPI document; keep in step with [`super::router`]
//! (which also mounts `identity::oidc`'s routes).

use platform::openapi::{fragment, get, post};
use utoipa::openapi::OpenApi;

use super::{TokenRequest, TokenResponse};

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
    ])
}
