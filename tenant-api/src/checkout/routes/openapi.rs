//! Checkout configuration's endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, post, Endpoint};
use utoipa::{openapi::OpenApi, ToSchema};

use super::{DiscountRequest, DiscountResponse, ShippingRequest, ShippingResponse, TaxRequest, TaxResponse};

const NOT_FOUND: (u16, &str) = (404, "Not found in this store.");
const INVALID: (u16, &str) = (422, "A field breaks a rule; `errors` names each.");
const ADMINS_ONLY: (u16, &str) =
    (403, "A `staff` token (admins and owners only), or an API key without `checkout:write`.");

fn admin(endpoint: Endpoint) -> Endpoint {
    endpoint
        .tag("checkout")
        .staff()
        .problems(&[(401, "No staff token or API key of this store."), (403, "An API key without `checkout:read`.")])
}

/// Creating one option: 201 with it, or the fields at fault.
fn create<Request: ToSchema, Response: ToSchema>(path: &str, summary: &str) -> Endpoint {
    admin(post(path, summary)).body::<Request>().json::<Response>(201, "Created.").problems(&[INVALID, ADMINS_ONLY])
}

/// Deleting (or switching off) one option by id.
fn remove(path: &str, summary: &str, done: &str) -> Endpoint {
    admin(delete(path, summary)).empty(204, done).problems(&[NOT_FOUND, ADMINS_ONLY])
}

/// Checkout configuration's operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        admin(get("/admin/shipping-methods", "List shipping methods")).page::<ShippingResponse>(),
        create::<ShippingRequest, ShippingResponse>("/admin/shipping-methods", "Create a shipping method"),
        remove("/admin/shipping-methods/{id}", "Delete a shipping method", "Deleted."),
        admin(get("/admin/tax-rates", "List tax rates")).page::<TaxResponse>(),
        create::<TaxRequest, TaxResponse>("/admin/tax-rates", "Create a tax rate")
            .problems(&[(409, "A rate for that country and region exists.")]),
        remove("/admin/tax-rates/{id}", "Delete a tax rate", "Deleted."),
        admin(get("/admin/discount-codes", "List discount codes")).page::<DiscountResponse>(),
        create::<DiscountRequest, DiscountResponse>("/admin/discount-codes", "Create a discount code")
            .problems(&[(409, "The code exists.")]),
        admin(get("/admin/discount-codes/{id}", "Read a discount code"))
            .json::<DiscountResponse>(200, "The code with its use count.")
            .problems(&[NOT_FOUND]),
        remove("/admin/discount-codes/{id}", "Deactivate a discount code", "Deactivated."),
    ])
}
