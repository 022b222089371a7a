//! Webhooks' and the notification log's endpoints in the OpenAPI document;
//! keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, post, Endpoint};
use utoipa::openapi::OpenApi;

use super::{DeliveryResponse, WebhookRequest, WebhookResponse};

const NOT_FOUND: (u16, &str) = (404, "Not found in this store.");
const ADMINS_ONLY: (u16, &str) =
    (403, "A `staff` token (admins and owners only), or an API key without `webhooks:write`.");

fn admin(endpoint: Endpoint) -> Endpoint {
    endpoint
        .tag("webhooks")
        .staff()
        .problems(&[(401, "No staff token or API key of this store."), (403, "An API key without `webhooks:read`.")])
}

/// Webhooks' and notifications' operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        admin(post("/admin/webhooks", "Create a webhook"))
            .body::<WebhookRequest>()
            .json::<WebhookResponse>(201, "Created; `secret` (`whsec_…`) is shown only here.")
            .problems(&[
                (422, "An unknown event (`events`), or a URL that is not http(s) or points at an internal address (`url`)."),
                ADMINS_ONLY,
            ]),
        admin(get("/admin/webhooks", "List webhooks")).page::<WebhookResponse>(),
        admin(delete("/admin/webhooks/{id}", "Delete a webhook"))
            .empty(204, "Deleted; nothing more is sent to it.")
            .problems(&[NOT_FOUND, ADMINS_ONLY]),
        admin(get("/admin/webhooks/{id}/deliveries", "List a webhook's deliveries"))
            .paged()
            .page::<DeliveryResponse>()
            .problems(&[NOT_FOUND]),
        admin(get("/admin/notifications/deliveries", "List notification deliveries"))
            .query("status", "`pending`, `succeeded` or `dead`.")
            .query("channel", "`webhook`, `email` or `sms`.")
            .paged()
            .page::<DeliveryResponse>()
            .problems(&[(400, "`status` or `channel` is not one of its values.")]),
        admin(get("/admin/notifications/dead-letters", "List dead letters")).paged().page::<DeliveryResponse>(),
        admin(post("/admin/notifications/dead-letters/{id}/replay", "Replay a dead letter"))
            .json::<DeliveryResponse>(200, "Pending again, attempts reset, due now.")
            .problems(&[NOT_FOUND, (409, "The delivery is not a dead letter."), ADMINS_ONLY]),
    ])
}
