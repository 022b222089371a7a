//! The cart's endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, patch, post, Endpoint};
use utoipa::openapi::OpenApi;

use super::{AddItemRequest, CartResponse, CreateCartRequest, UpdateCartRequest, UpdateItemRequest};

const NOT_FOUND: (u16, &str) =
    (404, "No such cart, item or variant in this store (or a customer's cart without that customer's token).");
const INVALID: (u16, &str) = (422, "A field breaks a rule; `errors` names each.");
const OVER_STOCK: (u16, &str) = (409, "More than is available.");

/// Every cart route answers with the cart, as `status` says.
fn cart(endpoint: Endpoint, status: u16, answer: &str) -> Endpoint {
    endpoint
        .tag("carts")
        .optional_bearer()
        .describe("A guest cart's id is its capability; a customer's cart also needs that customer's token.")
        .json::<CartResponse>(status, answer)
}

/// The cart's operations.
pub(crate) fn doc() -> OpenApi {
    let items = "/store/carts/{id}/items/{item_id}";
    fragment([
        cart(post("/store/carts", "Create a cart"), 201, "A new cart; with a shopper token, the customer's cart.")
            .optional_body::<CreateCartRequest>()
            .problems(&[INVALID]),
        cart(get("/store/carts/{id}", "Read a cart, priced now"), 200, "The cart.").problems(&[NOT_FOUND]),
        cart(patch("/store/carts/{id}", "Set or clear the cart's email and discount code"), 200, "The cart.")
            .body::<UpdateCartRequest>()
            .problems(&[NOT_FOUND, INVALID]),
        cart(post("/store/carts/{id}/items", "Add a variant to the cart"), 200, "The cart.")
            .body::<AddItemRequest>()
            .problems(&[NOT_FOUND, INVALID, OVER_STOCK]),
        cart(patch(items, "Change an item's quantity"), 200, "The cart.")
            .body::<UpdateItemRequest>()
            .problems(&[NOT_FOUND, INVALID, OVER_STOCK]),
        cart(delete(items, "Remove an item"), 200, "The cart without the item.").problems(&[NOT_FOUND]),
    ])
}
