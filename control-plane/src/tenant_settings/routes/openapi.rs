//! Store settings endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{fragment, get, put, Endpoint};
use utoipa::{openapi::OpenApi, ToSchema};

use super::{
    NotificationSettingsRequest, NotificationSettingsResponse, PaymentSettingsRequest, PaymentSettingsResponse,
};
use crate::caller::StoreCaller;

const MERGE: &str = "Fields left out keep their value (secrets need not be re-sent), `null` clears, unknown fields \
                     are refused. Secrets are sealed at rest and shown as `{\"last4\"}`.";

/// Settings operations.
pub(crate) fn doc() -> OpenApi {
    let payment = read_and_change::<PaymentSettingsRequest, PaymentSettingsResponse>("payment");
    let notification = read_and_change::<NotificationSettingsRequest, NotificationSettingsResponse>("notification");
    fragment(payment.into_iter().chain(notification))
}

/// `GET` and `PUT /v1/tenants/{id}/<kind>-settings`.
fn read_and_change<Request: ToSchema, Response: ToSchema>(kind: &str) -> [Endpoint; 2] {
    let settings = StoreCaller::documenter(
        "settings",
        "Too low a role (owners and admins).",
        "No such store (or another store's).",
    );
    let path = format!("/v1/tenants/{{id}}/{kind}-settings");
    [
        settings(get(&path, &format!("Read {kind} settings")))
            .json::<Response>(200, "Secrets as their last four characters."),
        settings(put(&path, &format!("Change {kind} settings")))
            .describe(MERGE)
            .body::<Request>()
            .json::<Response>(200, "The settings, as `GET` shows them.")
            .problems(&[(422, "A field breaks a rule.")]),
    ]
}
