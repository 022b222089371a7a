//! What the store sets up: shipping methods, tax rates, discount codes,
//! webhooks (one page shape, [`RESOURCES`]) and notification templates.

use axum::{
    extract::Path,
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use minijinja::context;
use platform::loopback::{encode, Call};
use platform::templates::data;
use platform::web::{self, Form};
use serde_json::json;

use super::{form, invalid, items};
use crate::dashboard::{
    forms::{Resource, RESOURCES},
    session::Desk,
};

fn resource(slug: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.slug == slug)
}

fn no_such_page(desk: &Desk) -> Response {
    desk.error(StatusCode::NOT_FOUND, "No such page.", Vec::new())
}

/// `GET /dashboard/setup/{resource}`.
pub(super) async fn list(desk: Desk, Path(slug): Path<String>) -> Response {
    let Some(resource) = resource(&slug) else { return no_such_page(&desk) };
    page(&desk, resource, None, StatusCode::OK).await
}

async fn page(desk: &Desk, resource: &Resource, created: Option<serde_json::Value>, status: StatusCode) -> Response {
    let list = match desk.get(&format!("{}?limit=100", resource.api)).await {
        Ok(list) => list,
        Err(page) => return page,
    };
    desk.render(
        status,
        "resources.html",
        context! { nav => resource.slug, title => resource.title, slug => resource.slug, rows => items(&list),
        columns => data(resource.column_list()),
        fields => data(resource.field_list()),
        delete_label => resource.delete_label, created => data(&created) },
    )
}

/// `POST /dashboard/setup/{resource}`: the create form. A webhook's secret is
/// shown once, on the page this answers with; other creations go back to the list.
pub(super) async fn create(desk: Desk, Path(slug): Path<String>, fields: Form) -> Response {
    let Some(resource) = resource(&slug) else { return no_such_page(&desk) };
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let body = match resource.body(&fields, desk.tenant.currency) {
        Ok(body) => body,
        Err(errors) => return invalid(&desk, errors),
    };
    match desk.post(resource.api, &body).await {
        Ok(created) if created.get("secret").is_some() => {
            page(&desk, resource, Some(created), StatusCode::CREATED).await
        }
        Ok(_) => web::see_other(&format!("/dashboard/setup/{slug}")),
        Err(page) => page,
    }
}

/// `POST /dashboard/setup/{resource}/{id}/delete`.
pub(super) async fn delete(desk: Desk, Path((slug, id)): Path<(String, String)>, fields: Form) -> Response {
    let Some(resource) = resource(&slug) else { return no_such_page(&desk) };
    if let Err(refused) = form(&desk, fields) {
        return refused.into_response();
    }
    match desk.fetch(Call::new(Method::DELETE, &format!("{}/{}", resource.api, encode(&id)))).await {
        Ok(_) => web::see_other(&format!("/dashboard/setup/{slug}")),
        Err(page) => page,
    }
}

/// `GET /dashboard/notifications`: the email templates, default or the store's.
pub(super) async fn templates(desk: Desk) -> Response {
    let list = match desk.get("/admin/notifications/templates").await {
        Ok(list) => list,
        Err(page) => return page,
    };
    desk.page("templates.html", context! { nav => "notifications", templates => items(&list) })
}

/// `GET /dashboard/notifications/{event}`: one template with its edit form.
pub(super) async fn template(desk: Desk, Path(event): Path<String>) -> Response {
    let template = match desk.get(&format!("/admin/notifications/templates/{}", encode(&event))).await {
        Ok(template) => template,
        Err(page) => return page,
    };
    desk.page("template.html", context! { nav => "notifications", template => data(&template) })
}

/// `POST /dashboard/notifications/{event}` with `subject`, `text`, `html`
/// (saves the store's version) or `revert` (back to the platform's default).
pub(super) async fn save_template(desk: Desk, Path(event): Path<String>, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let path = format!("/admin/notifications/templates/{}", encode(&event));
    let call = if fields.get("revert").is_some() {
        Call::new(Method::DELETE, &path)
    } else {
        let part = |name: &str| fields.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        Call::new(Method::PUT, &path)
            .json(&json!({"subject": part("subject"), "text": part("text"), "html": part("html")}))
    };
    match desk.fetch(call).await {
        Ok(_) => web::see_other(&format!("/dashboard/notifications/{}", encode(&event))),
        Err(page) => page,
    }
}
