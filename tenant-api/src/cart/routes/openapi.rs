//! The cart's endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, patch, post, Endpoint};
use utoipa::openapi::OpenApi;

use super::{AddItemRequest, CartResponse, CreateCartRequest, UpdateCartRequest, UpdateItemRequest};

const NOT_FOUND: (u16, &str) =
    (404, "No such cart, item or variant in this store (or a customer's cart without that customer's token).");
const INVALID: (u16, &str) = (422, "A field breaks a rule; `errors` names each.");

fn cart(endpoint: Endpoint) -> Endpoint {
    endpoint
        .tag("carts")
        .optional_bearer()
        .describe("A guest cart's id is its capability; a customer's cart also needs that customer's token.")
}

/// The cart's operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        cart(post("/store/carts", "Create a cart"))
            .optional_body::<CreateCartRequest>()
            .json::<CartResponse>(201, "A new cart; with a shopper token, the customer's cart.")
            .problems(&[INVALID]),
        cart(get("/store/carts/{id}", "Read a cart, priced now"))
            .json::<CartResponse>(200, "The cart.")
            .problems(&[NOT_FOUND]),
        cart(patch("/store/carts/{id}", "Set or clear the cart's email and discount code"))
            .body::<UpdateCartRequest>()
            .json::<CartResponse>(200, "The cart.")
            .problems(&[NOT_FOUND, INVALID]),
        cart(post("/store/carts/{id}/items", "Add a variant to the cart"))
            .body::<AddItemRequest>()
            .json::<CartResponse>(200, "The cart.")
            .problems(&[NOT_FOUND, INVALID, (409, "More than is available.")]),
        cart(patch("/store/carts/{id}/items/{item_id}", "Change an item's quantity"))
            .body::<UpdateItemRequest>()
            .json::<CartResponse>(200, "The cart.")
            .problems(&[NOT_FOUND, INVALID, (409, "More than is available.")]),
        cart(delete("/store/carts/{id}/items/{item_id}", "Remove an item"))
            .json::<CartResponse>(200, "The cart without the item.")
            .problems(&[NOT_FOUND]),
    ])
}
