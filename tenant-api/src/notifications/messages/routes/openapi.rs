//! The template endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{delete, fragment, get, put, Endpoint};
use utoipa::openapi::OpenApi;

use super::{TemplateRequest, TemplateResponse};

const PATH: &str = "/admin/notifications/templates/{event}";
const UNKNOWN: (u16, &str) = (404, "No email is sent for this event.");
const ADMINS_ONLY: (u16, &str) =
    (403, "A `staff` token (admins and owners only), or an API key without `webhooks:write`.");

fn admin(endpoint: Endpoint) -> Endpoint {
    endpoint
        .tag("notifications")
        .staff()
        .problems(&[(401, "No staff token or API key of this store."), (403, "An API key without `webhooks:read`.")])
}

/// The template endpoints' operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        admin(get("/admin/notifications/templates", "List the email template of every event"))
            .page::<TemplateResponse>(),
        admin(get(PATH, "Read an event's email template"))
            .json::<TemplateResponse>(200, "The store's override, or the default.")
            .problems(&[UNKNOWN]),
        admin(put(PATH, "Override an event's email template"))
            .body::<TemplateRequest>()
            .json::<TemplateResponse>(200, "Stored; used for the store's next email of this event.")
            .problems(&[UNKNOWN, ADMINS_ONLY, (422, "A part does not parse or render; `errors` names each.")]),
        admin(delete(PATH, "Revert an event's email template to the default"))
            .json::<TemplateResponse>(200, "The default, which applies again.")
            .problems(&[(404, "No email is sent for this event, or the store does not override it."), ADMINS_ONLY]),
    ])
}
