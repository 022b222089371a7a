//! Payments' endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{fragment, post};
use utoipa::openapi::OpenApi;

use super::WebhookResponse;

/// Payments' operations.
pub(crate) fn doc() -> OpenApi {
    fragment([post("/webhooks/stripe", "Receive a Stripe event for this store")
        .tag("payments")
        .describe(
            "Signed by Stripe (`Stripe-Signature`: HMAC-SHA256 over `<t>.<body>` with the store's webhook secret, \
             at most 5 minutes old). Handles `payment_intent.succeeded` and `payment_intent.payment_failed` for the \
             store's own charges; other events are acknowledged. Each event id is processed once per store; a \
             repeated delivery answers `duplicate: true` and changes nothing.",
        )
        .raw_body(&["application/json"], "The Stripe event, exactly as sent (the signature covers its bytes).")
        .json::<WebhookResponse>(200, "Received.")
        .problems(&[(400, "Missing or invalid signature, or not a Stripe event; nothing changed.")])])
}
