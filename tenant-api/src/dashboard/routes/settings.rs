//! Settings the control plane owns (staff, API keys, domains, payment and
//! notification settings), read and changed through the control plane's API
//! with the staff member's own token: its roles decide (a `staff` member sees
//! "only admins" where the API answers 403).

use axum::{
    extract::Path,
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use minijinja::context;
use platform::web::{self, Form};
use platform::{loopback::encode, templates::data};
use serde_json::json;

use super::{form, invalid};
use crate::dashboard::{control::Unavailable, forms::Errors, session::Desk};

/// The scopes an API key may be given from the dashboard (`platform::auth::scopes`).
const SCOPES: &[&str] = &[
    "*",
    "catalog:read",
    "catalog:write",
    "inventory:read",
    "inventory:write",
    "orders:read",
    "orders:write",
    "customers:read",
    "customers:write",
    "checkout:read",
    "checkout:write",
    "webhooks:read",
    "webhooks:write",
];

/// `GET /dashboard/settings`.
pub(super) async fn settings(desk: Desk) -> Response {
    page(&desk, StatusCode::OK, None).await
}

/// The settings page; `created` is an API key just issued (its secret shown once).
async fn page(desk: &Desk, status: StatusCode, created: Option<serde_json::Value>) -> Response {
    let base = format!("/v1/tenants/{}", desk.tenant.id);
    let mut sections = serde_json::Map::new();
    for (name, path) in [
        ("staff", "staff"),
        ("api_keys", "api-keys"),
        ("domains", "domains"),
        ("payments", "payment-settings"),
        ("notifications", "notification-settings"),
    ] {
        let answer = desk.state.control.call(Method::GET, &format!("{base}/{path}"), Some(desk.token()), None).await;
        let section = match answer {
            Err(Unavailable) => return desk.unavailable(),
            Ok(answer) if answer.status == StatusCode::UNAUTHORIZED => return desk.failure(&answer),
            Ok(answer) if answer.is_success() => json!({"ok": true, "data": answer.body}),
            Ok(answer) => json!({"ok": false, "message": answer.detail()}),
        };
        sections.insert(name.to_owned(), section);
    }
    desk.render(
        status,
        "settings.html",
        context! { nav => "settings", sections => data(&sections), scopes => data(SCOPES),
        created => data(&created) },
    )
}

/// `POST /dashboard/settings/staff` with `email`, `password`, `role`.
pub(super) async fn add_staff(desk: Desk, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let password = fields.0.iter().find(|(n, _)| n == "password").map(|(_, v)| v.as_str()).unwrap_or_default();
    let body = json!({"email": fields.get("email").unwrap_or_default(), "password": password,
                      "role": fields.get("role").unwrap_or("staff")});
    let path = format!("/v1/tenants/{}/staff", desk.tenant.id);
    match desk.control(Method::POST, &path, Some(&body)).await {
        Ok(_) => back(),
        Err(page) => page,
    }
}

/// `POST /dashboard/settings/api-keys` with `name`, `scopes` (checkboxes):
/// the key is shown once, on the page this answers with.
pub(super) async fn create_api_key(desk: Desk, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let scopes = fields.all("scopes");
    if scopes.is_empty() {
        let mut errors = Errors::default();
        errors.fail("scopes", "choose at least one");
        return invalid(&desk, errors);
    }
    let body = json!({"name": fields.get("name").unwrap_or_default(), "scopes": scopes});
    let path = format!("/v1/tenants/{}/api-keys", desk.tenant.id);
    match desk.control(Method::POST, &path, Some(&body)).await {
        Ok(created) => page(&desk, StatusCode::CREATED, Some(created)).await,
        Err(page) => page,
    }
}

/// `POST /dashboard/settings/api-keys/{id}/revoke`.
pub(super) async fn revoke_api_key(desk: Desk, Path(id): Path<String>, fields: Form) -> Response {
    if let Err(refused) = form(&desk, fields) {
        return refused.into_response();
    }
    let path = format!("/v1/tenants/{}/api-keys/{}", desk.tenant.id, encode(&id));
    match desk.control(Method::DELETE, &path, None).await {
        Ok(_) => back(),
        Err(page) => page,
    }
}

/// `POST /dashboard/settings/domains` with `host`.
pub(super) async fn add_domain(desk: Desk, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let path = format!("/v1/tenants/{}/domains", desk.tenant.id);
    match desk.control(Method::POST, &path, Some(&json!({"host": fields.get("host").unwrap_or_default()}))).await {
        Ok(_) => back(),
        Err(page) => page,
    }
}

/// `POST /dashboard/settings/domains/{host}/verify`.
pub(super) async fn verify_domain(desk: Desk, Path(host): Path<String>, fields: Form) -> Response {
    if let Err(refused) = form(&desk, fields) {
        return refused.into_response();
    }
    let path = format!("/v1/tenants/{}/domains/{}/verify", desk.tenant.id, encode(&host));
    match desk.control(Method::POST, &path, None).await {
        Ok(_) => back(),
        Err(page) => page,
    }
}

/// `POST /dashboard/settings/payments` with `provider`, the Stripe values
/// shown on the page (`stripe_publishable_key`, `stripe_account_id`: blank
/// clears them) and the secrets (`stripe_secret_key`,
/// `stripe_webhook_secret`: blank keeps what is stored, a ticked
/// `clear_<name>` removes it). The control plane checks every value and the
/// rules between them; its 422 is the page's.
pub(super) async fn update_payments(desk: Desk, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let mut body = json!({
        "provider": fields.get("provider").unwrap_or_default(),
        "stripe_publishable_key": fields.get("stripe_publishable_key"),
        "stripe_account_id": fields.get("stripe_account_id"),
    });
    for secret in ["stripe_secret_key", "stripe_webhook_secret"] {
        // Secrets are never shown, so a blank field means "keep it".
        if fields.get(&format!("clear_{secret}")).is_some() {
            body[secret] = serde_json::Value::Null;
        } else if let Some(value) = fields.get(secret) {
            body[secret] = value.into();
        }
    }
    let path = format!("/v1/tenants/{}/payment-settings", desk.tenant.id);
    match desk.control(Method::PUT, &path, Some(&body)).await {
        Ok(_) => back(),
        Err(page) => page,
    }
}

fn back() -> Response {
    web::see_other("/dashboard/settings")
}
