//! Checkout and orders' endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{fragment, get, post, Endpoint};
use utoipa::openapi::OpenApi;

use super::{CancelRequest, CheckoutRequest, FulfilRequest, OrderResponse, RefundRequest};

const NOT_FOUND: (u16, &str) = (404, "No such order in this store.");
const INVALID: (u16, &str) = (422, "A field breaks a rule; `errors` names each.");
const CONFLICT: (u16, &str) = (409, "The order's status does not allow this.");

fn admin(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("orders").staff().problems(&[(401, "No staff token or API key of this store."), NOT_FOUND])
}

/// A staff action on one order: it answers with the order, or 409 when the
/// order's status does not allow it.
fn action(path: &str, summary: &str, answer: &str) -> Endpoint {
    admin(post(path, summary)).json::<OrderResponse>(200, answer).problems(&[CONFLICT])
}

/// `…/fulfil` and its US spelling.
fn fulfil(path: &str, summary: &str) -> Endpoint {
    action(path, summary, "The order, `fulfilled`.").body::<FulfilRequest>().problems(&[INVALID])
}

/// `…/refund` and its alias `…/refunds`.
fn refund(path: &str, summary: &str) -> Endpoint {
    action(path, summary, "The order with the refund.").optional_body::<RefundRequest>().problems(&[INVALID])
}

/// Checkout and orders' operations.
pub(crate) fn doc() -> OpenApi {
    let mut doc = fragment([
        post("/store/carts/{id}/checkout", "Check out a cart: reserve, create the order, charge")
            .tag("checkout")
            .optional_bearer()
            .idempotent()
            .body::<CheckoutRequest>()
            .json::<OrderResponse>(201, "The order, `paid`.")
            .problems(&[
                (402, "The payment was declined; the problem carries `order_id` (order `payment_failed`, stock released)."),
                (404, "No such cart."),
                (
                    409,
                    "Out of stock, a refused discount, the same `Idempotency-Key` still in flight, the cart being \
                     checked out by another request (`checkout-in-progress`), or bought already (`cart-checked-out`, \
                     carrying `order_id`).",
                ),
                (422, "Invalid fields, or the same `Idempotency-Key` with another body."),
            ]),
        get("/store/orders", "List the signed-in customer's orders, newest first")
            .tag("orders")
            .bearer()
            .paged()
            .page::<OrderResponse>()
            .problems(&[(400, "`limit` or `cursor` does not parse."), (401, "No shopper token of this store.")]),
        get("/store/orders/{id}", "Read one of the signed-in customer's orders")
            .tag("orders")
            .bearer()
            .json::<OrderResponse>(200, "The order.")
            .problems(&[(401, "No shopper token of this store."), NOT_FOUND]),
        admin(get("/admin/orders", "List orders"))
            .query("status", "An order status.")
            .query("q", "Order number or email.")
            .query("customer_id", "Orders of this customer.")
            .paged()
            .page::<OrderResponse>()
            .problems(&[(400, "A query parameter does not parse.")]),
        admin(get("/admin/orders/{id}", "Read an order with its payments")).json::<OrderResponse>(200, "The order."),
        fulfil("/admin/orders/{id}/fulfil", "Mark a paid order fulfilled"),
        fulfil("/admin/orders/{id}/fulfill", "Mark a paid order fulfilled (US spelling)"),
        action("/admin/orders/{id}/deliver", "Mark a fulfilled order delivered", "The order, `delivered`."),
        action(
            "/admin/orders/{id}/cancel",
            "Cancel an order (releases or restocks, refunds what was paid)",
            "The order, `cancelled`.",
        )
        .optional_body::<CancelRequest>(),
        refund("/admin/orders/{id}/refund", "Refund all or part of a paid order")
            .describe("Without `amount`, everything not yet refunded."),
        refund("/admin/orders/{id}/refunds", "Refund all or part of a paid order (alias of `…/refund`)"),
    ]);
    // Mounted by this context's router (see `super::router`).
    doc.merge(crate::payments::doc());
    doc
}
