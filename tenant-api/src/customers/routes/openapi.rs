//! Shopper accounts' endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, patch, post, Endpoint};
use utoipa::openapi::OpenApi;

use super::{
    AddressRequest, AddressResponse, ConfirmResetRequest, CustomerResponse, RegisterRequest, ResetRequest,
    TokenRequest, TokenResponse, UpdateMeRequest,
};

const INVALID: (u16, &str) = (422, "A field breaks a rule; `errors` names each.");
const NO_SHOPPER: (u16, &str) = (401, "No shopper token of this store.");

fn admin(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("customers").staff().problems(&[(401, "No staff token or API key of this store.")])
}

fn me(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("customers").bearer().problems(&[NO_SHOPPER])
}

/// Shopper accounts' operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        post("/store/customers", "Sign up as a shopper")
            .tag("customers")
            .body::<RegisterRequest>()
            .json::<CustomerResponse>(201, "The new customer.")
            .problems(&[INVALID, (409, "The email already has an account in this store.")]),
        post("/store/auth/token", "Sign in (password or refresh grant)")
            .tag("customers")
            .describe(
                "`{\"email\", \"password\"}` (grant `password`, the default) or `{\"grant_type\": \"refresh_token\", \
                 \"refresh_token\"}`. With `cart_id`, the guest cart merges into the customer's cart.",
            )
            .body::<TokenRequest>()
            .json::<TokenResponse>(200, "A shopper access token and a single-use refresh token.")
            .problems(&[(401, "Wrong email, password or refresh token."), INVALID]),
        me(get("/store/customers/me", "Read the signed-in customer with addresses"))
            .json::<CustomerResponse>(200, "The customer."),
        me(patch("/store/customers/me", "Change the signed-in customer's names"))
            .body::<UpdateMeRequest>()
            .json::<CustomerResponse>(200, "The customer.")
            .problems(&[INVALID]),
        me(get("/store/customers/me/addresses", "List the signed-in customer's addresses")).page::<AddressResponse>(),
        me(post("/store/customers/me/addresses", "Add an address"))
            .body::<AddressRequest>()
            .json::<AddressResponse>(201, "The saved address.")
            .problems(&[INVALID]),
        me(delete("/store/customers/me/addresses/{id}", "Delete an address"))
            .empty(204, "Deleted.")
            .problems(&[(404, "No such address of this customer.")]),
        post("/store/customers/password-reset", "Ask for a password reset email")
            .tag("customers")
            .body::<ResetRequest>()
            .other(202, "Always, whether or not the email has an account.", "application/json"),
        post("/store/customers/password-reset/confirm", "Set a new password with a reset token")
            .tag("customers")
            .body::<ConfirmResetRequest>()
            .empty(204, "Changed; every refresh token of the customer is revoked.")
            .problems(&[(400, "The token is unknown, used or expired."), INVALID]),
        admin(get("/admin/customers", "List customers"))
            .query("q", "Email or name contains.")
            .paged()
            .page::<CustomerResponse>()
            .problems(&[(400, "A query parameter does not parse.")]),
        admin(get("/admin/customers/{id}", "Read a customer with addresses"))
            .json::<CustomerResponse>(200, "The customer.")
            .problems(&[(404, "No such customer in this store.")]),
    ])
}
