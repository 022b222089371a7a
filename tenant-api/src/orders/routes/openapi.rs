//! Checkout and orders' endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{fragment, get, post, Endpoint};
use utoipa::openapi::OpenApi;

use super::{
    attention::AttentionResponse, CancelRequest, CheckoutRequest, FulfilRequest, OrderResponse, RefundRequest,
    RefundResponse,
};

const NOT_FOUND: (u16, &str) = (404, "No such order in this store.");
const INVALID: (u16, &str) = (422, "A field breaks a rule; `errors` names each.");
const CONFLICT: (u16, &str) = (409, "The order's status does not allow this.");
const ADMINS_ONLY: (u16, &str) =
    (403, "A `staff` token (admins and owners only), or an API key without `orders:write`.");

fn admin(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("orders").staff().problems(&[
        (401, "No staff token or API key of this store."),
        (403, "An API key without the `orders:` scope this needs."),
        NOT_FOUND,
    ])
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
    action(path, summary, "The order with the refund, booked: the provider accepted it.")
        .problems(&[ADMINS_ONLY])
        .idempotent()
        .optional_body::<RefundRequest>()
        .json::<OrderResponse>(
            202,
            "The order with the refund `pending`: the provider gave no answer yet; the worker settles it.",
        )
        .problems(&[
            INVALID,
            (409, "The order's status does not allow a refund, or the provider refused it (`refund-refused`)."),
            (422, "`amount` is more than what is left, or the same `Idempotency-Key` came with another amount."),
        ])
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
            .json::<OrderResponse>(
                202,
                "The order awaits its payment, stock held: `status: requires_action` with `payment` \
                 (`client_secret`, `next_action`) when the shopper must authenticate (3-D Secure), \
                 `pending_payment` while the provider processes it. A webhook settles it.",
            )
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
        .optional_body::<CancelRequest>()
        .problems(&[ADMINS_ONLY]),
        refund("/admin/orders/{id}/refund", "Refund all or part of a paid order")
            .describe("Without `amount`, everything not yet refunded."),
        refund("/admin/orders/{id}/refunds", "Refund all or part of a paid order (alias of `…/refund`)"),
        admin(get("/admin/orders/{id}/refunds", "List an order's refunds, oldest first"))
            .describe("Every refund attempt: `pending`, `succeeded` or `failed`; never paged.")
            .page::<RefundResponse>(),
        admin(get("/admin/refunds", "List the store's refunds, newest first"))
            .query("status", "`pending`, `succeeded` or `failed`.")
            .query("needs_attention", "`true`: pending refunds whose attempts ran out, for an admin to look at.")
            .paged()
            .page::<RefundResponse>()
            .problems(&[(400, "A query parameter does not parse.")]),
        admin(post("/admin/refunds/{id}/retry", "Ask the provider about a pending refund again now"))
            .describe("Its attempts start over; a settled refund is returned as it is.")
            .json::<RefundResponse>(200, "The refund as it stands after asking.")
            .problems(&[ADMINS_ONLY]),
        get("/admin/attention", "List what the worker's jobs failed to do for this store, newest first")
            .tag("orders")
            .staff()
            .describe(
                "An order whose provider errs is retried with backoff; after the worker's maximum attempts it \
                 `needs_attention` and is left alone until an admin retries it.",
            )
            .query("needs_attention", "`true` or `false`: only those records.")
            .paged()
            .page::<AttentionResponse>()
            .problems(&[
                (400, "A query parameter does not parse."),
                (401, "No staff token or API key of this store."),
                (403, "An API key without `orders:read`."),
            ]),
        post("/admin/attention/{job}/{subject}/retry", "Have the job try a subject again at its next run (admins)")
            .tag("orders")
            .staff()
            .json::<AttentionResponse>(200, "The record, due now and no longer needing attention.")
            .problems(&[
                (401, "No staff token or API key of this store."),
                ADMINS_ONLY,
                (404, "The store has no such record."),
            ]),
    ]);
    // Mounted by this context's router (see `super::router`).
    doc.merge(crate::payments::doc());
    doc
}
