//! Checkout configuration's endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, post, Endpoint};
use utoipa::openapi::OpenApi;

use super::{DiscountRequest, DiscountResponse, ShippingRequest, ShippingResponse, TaxRequest, TaxResponse};

const NOT_FOUND: (u16, &str) = (404, "Not found in this store.");
const INVALID: (u16, &str) = (422, "A field breaks a rule; `errors` names each.");

fn admin(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("checkout").staff().problems(&[(401, "No staff token or API key of this store.")])
}

/// Checkout configuration's operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        admin(get("/admin/shipping-methods", "List shipping methods")).page::<ShippingResponse>(),
        admin(post("/admin/shipping-methods", "Create a shipping method"))
            .body::<ShippingRequest>()
            .json::<ShippingResponse>(201, "Created.")
            .problems(&[INVALID]),
        admin(delete("/admin/shipping-methods/{id}", "Delete a shipping method"))
            .empty(204, "Deleted.")
            .problems(&[NOT_FOUND]),
        admin(get("/admin/tax-rates", "List tax rates")).page::<TaxResponse>(),
        admin(post("/admin/tax-rates", "Create a tax rate"))
            .body::<TaxRequest>()
            .json::<TaxResponse>(201, "Created.")
            .problems(&[INVALID, (409, "A rate for that country and region exists.")]),
        admin(delete("/admin/tax-rates/{id}", "Delete a tax rate")).empty(204, "Deleted.").problems(&[NOT_FOUND]),
        admin(get("/admin/discount-codes", "List discount codes")).page::<DiscountResponse>(),
        admin(post("/admin/discount-codes", "Create a discount code"))
            .body::<DiscountRequest>()
            .json::<DiscountResponse>(201, "Created.")
            .problems(&[INVALID, (409, "The code exists.")]),
        admin(get("/admin/discount-codes/{id}", "Read a discount code"))
            .json::<DiscountResponse>(200, "The code with its use count.")
            .problems(&[NOT_FOUND]),
        admin(delete("/admin/discount-codes/{id}", "Deactivate a discount code"))
            .empty(204, "Deactivated.")
            .problems(&[NOT_FOUND]),
    ])
}
