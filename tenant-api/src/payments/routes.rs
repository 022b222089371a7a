//! Payments HTTP: `POST /webhooks/stripe` on the store's host.

use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Json, Router};
use platform::{problem::Problem, tenancy::TenantCtx};
use serde::{Deserialize, Serialize};

use super::{
    model::{EventHandling, StripeEvent},
    service, Error, PaymentsState,
};

mod openapi;

pub(crate) use openapi::doc;

/// Payments' routes.
pub fn router() -> Router<PaymentsState> {
    Router::new().route("/webhooks/stripe", post(stripe_webhook))
}

/// A Stripe event as sent; only the fields we act on.
#[derive(Deserialize)]
struct EventPayload {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Deserialize)]
struct EventObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    last_payment_error: Option<PaymentError>,
}

#[derive(Deserialize)]
struct PaymentError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
}

/// The answer to a delivery Stripe accepted.
#[derive(Serialize, utoipa::ToSchema)]
struct WebhookResponse {
    /// Always true: Stripe stops retrying.
    received: bool,
    /// True when this event was processed before and nothing was done now.
    duplicate: bool,
}

async fn stripe_webhook(
    State(state): State<PaymentsState>,
    TenantCtx(tenant): TenantCtx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookResponse>, Problem> {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    // Verified before it is parsed: an unsigned body is never read.
    service::verify_stripe_signature(&state, &tenant, signature, &body).await?;
    let payload: EventPayload =
        serde_json::from_slice(&body).map_err(|e| Error::Malformed(e.to_string().chars().take(200).collect()))?;
    let event = StripeEvent {
        id: payload.id,
        kind: payload.kind,
        object_id: payload.data.object.id,
        payment_intent: payload.data.object.payment_intent,
        failure_code: payload.data.object.last_payment_error.and_then(|e| e.code.or(e.decline_code)),
    };
    if event.id.is_empty() || event.id.len() > 255 || event.kind.len() > 255 {
        return Err(Error::Malformed("event id or type out of bounds".into()).into());
    }
    let handled = service::handle_stripe_event(&state, &tenant, event).await?;
    Ok(Json(WebhookResponse { received: true, duplicate: handled == EventHandling::Duplicate }))
}
