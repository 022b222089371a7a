//! Store settings endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{fragment, get, put, Endpoint};
use utoipa::openapi::OpenApi;

use super::{
    NotificationSettingsRequest, NotificationSettingsResponse, PaymentSettingsRequest, PaymentSettingsResponse,
};

fn settings(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("settings").bearer().problems(&[
        (401, "No valid token."),
        (403, "Too low a role (owners and admins)."),
        (404, "No such store (or another store's)."),
    ])
}

const MERGE: &str = "Fields left out keep their value (secrets need not be re-sent), `null` clears, unknown fields \
                     are refused. Secrets are sealed at rest and shown as `{\"last4\"}`.";

/// Settings operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        settings(get("/v1/tenants/{id}/payment-settings", "Read payment settings"))
            .json::<PaymentSettingsResponse>(200, "Secrets as their last four characters."),
        settings(put("/v1/tenants/{id}/payment-settings", "Change payment settings"))
            .describe(MERGE)
            .body::<PaymentSettingsRequest>()
            .json::<PaymentSettingsResponse>(200, "The settings, as `GET` shows them.")
            .problems(&[(422, "A field breaks a rule.")]),
        settings(get("/v1/tenants/{id}/notification-settings", "Read notification settings"))
            .json::<NotificationSettingsResponse>(200, "Secrets as their last four characters."),
        settings(put("/v1/tenants/{id}/notification-settings", "Change notification settings"))
            .describe(MERGE)
            .body::<NotificationSettingsRequest>()
            .json::<NotificationSettingsResponse>(200, "The settings, as `GET` shows them.")
            .problems(&[(422, "A field breaks a rule.")]),
    ])
}
