//! Products, their variants and images, and stock levels.

use axum::{
    body::Bytes,
    extract::{multipart::Multipart, DefaultBodyLimit, Path, Query},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use minijinja::context;
use platform::loopback::{encode, path_with, Call};
use platform::templates::data;
use platform::web::{self, Form};
use serde_json::json;

use super::{form, invalid, items};
use crate::dashboard::{
    forms::{major_units, minor_units, Errors, Fields},
    session::Desk,
};

/// The largest image the dashboard forwards: the local backend's upload limit.
const IMAGE_LIMIT: usize = 20 * 1024 * 1024;

/// The upload form's body limit (the image plus its few fields).
pub(super) fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(IMAGE_LIMIT + 64 * 1024)
}

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    pub(super) cursor: Option<String>,
    pub(super) status: Option<String>,
}

/// The API path of a list page: `base` with the page's `cursor` and `status`.
pub(super) fn list_path(base: &str, query: &ListQuery) -> String {
    let mut params = vec![("limit", "50".to_owned())];
    for (name, value) in [("cursor", &query.cursor), ("status", &query.status)] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            params.push((name, value.to_owned()));
        }
    }
    path_with(base, &params)
}

/// `GET /dashboard/products`.
pub(super) async fn products(desk: Desk, Query(query): Query<ListQuery>) -> Response {
    let list = match desk.get(&list_path("/admin/products", &query)).await {
        Ok(list) => list,
        Err(page) => return page,
    };
    desk.page(
        "products.html",
        context! { nav => "products", products => items(&list), next_cursor => data(&list["next_cursor"]),
        status => query.status },
    )
}

/// `GET /dashboard/products/new`.
pub(super) async fn new_product(desk: Desk) -> Response {
    desk.page("product_new.html", context! { nav => "products" })
}

/// `POST /dashboard/products` with `title`, `handle`?, `status`,
/// `description`?, and the first variant's `sku`, `price`, `stock`.
pub(super) async fn create_product(desk: Desk, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let mut errors = Errors::default();
    let mut variant = json!({"sku": fields.get("sku").unwrap_or_default()});
    price(&desk, &fields, "price", "variants[0].price", &mut variant, &mut errors);
    if let Some(stock) = integer(&fields, "stock", "variants[0].stock", &mut errors) {
        variant["stock"] = json!(stock);
    }
    if !errors.is_empty() {
        return invalid(&desk, errors);
    }
    let mut body = json!({
        "title": fields.get("title").unwrap_or_default(),
        "status": fields.get("status").unwrap_or("draft"),
        "variants": [variant],
    });
    for key in ["handle", "description"] {
        if let Some(value) = fields.get(key) {
            body[key] = json!(value);
        }
    }
    match desk.post("/admin/products", &body).await {
        Ok(product) => web::see_other(&format!("/dashboard/products/{}", text(&product, "id"))),
        Err(page) => page,
    }
}

/// `GET /dashboard/products/{id}`: the product, its variants with their
/// stock, its images, and the forms that change them.
pub(super) async fn product(desk: Desk, Path(id): Path<String>) -> Response {
    let product = match desk.get(&format!("/admin/products/{}", encode(&id))).await {
        Ok(product) => product,
        Err(page) => return page,
    };
    let mut variants = Vec::new();
    for variant in product["variants"].as_array().into_iter().flatten() {
        let level = match desk.get(&format!("/admin/inventory/{}", text(variant, "id"))).await {
            Ok(level) => level,
            Err(page) => return page,
        };
        let amount = variant["price"]["amount"].as_i64().unwrap_or_default();
        let mut shown = variant.clone();
        shown["price_input"] = json!(major_units(amount, desk.tenant.currency));
        shown["stock"] = level;
        variants.push(shown);
    }
    desk.page("product.html", context! { nav => "products", product => data(&product), variants => data(&variants) })
}

/// `POST /dashboard/products/{id}` with `title`, `handle`, `status`, `description`.
pub(super) async fn update_product(desk: Desk, Path(id): Path<String>, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let mut body = json!({
        "title": fields.get("title").unwrap_or_default(),
        "status": fields.get("status").unwrap_or("draft"),
        "description": fields.get("description"),
    });
    if let Some(handle) = fields.get("handle") {
        body["handle"] = json!(handle);
    }
    let path = format!("/admin/products/{}", encode(&id));
    match desk.fetch(Call::new(Method::PATCH, &path).json(&body)).await {
        Ok(_) => back_to_product(&id),
        Err(page) => page,
    }
}

/// `POST /dashboard/products/{id}/variants` with `sku`, `title`?, `price`, `stock`?.
pub(super) async fn add_variant(desk: Desk, Path(id): Path<String>, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let mut errors = Errors::default();
    let mut body = json!({"sku": fields.get("sku").unwrap_or_default()});
    if let Some(title) = fields.get("title") {
        body["title"] = json!(title);
    }
    price(&desk, &fields, "price", "price", &mut body, &mut errors);
    if let Some(stock) = integer(&fields, "stock", "stock", &mut errors) {
        body["stock"] = json!(stock);
    }
    if !errors.is_empty() {
        return invalid(&desk, errors);
    }
    match desk.post(&format!("/admin/products/{}/variants", encode(&id)), &body).await {
        Ok(_) => back_to_product(&id),
        Err(page) => page,
    }
}

/// `POST /dashboard/products/{id}/variants/{variant_id}` with `price`.
pub(super) async fn update_variant(desk: Desk, Path((id, variant)): Path<(String, String)>, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let mut errors = Errors::default();
    let mut body = json!({});
    price(&desk, &fields, "price", "price", &mut body, &mut errors);
    if !errors.is_empty() {
        return invalid(&desk, errors);
    }
    let path = format!("/admin/products/{}/variants/{}", encode(&id), encode(&variant));
    match desk.fetch(Call::new(Method::PATCH, &path).json(&body)).await {
        Ok(_) => back_to_product(&id),
        Err(page) => page,
    }
}

/// `POST /dashboard/inventory/{variant_id}` with `on_hand` (and `back`, the
/// page to return to: a product's or the inventory list).
pub(super) async fn set_stock(desk: Desk, Path(variant): Path<String>, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let mut errors = Errors::default();
    let on_hand = integer(&fields, "on_hand", "on_hand", &mut errors);
    let Some(on_hand) = on_hand.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.fail("on_hand", "is required");
        }
        return invalid(&desk, errors);
    };
    let path = format!("/admin/inventory/{}", encode(&variant));
    match desk.fetch(Call::new(Method::PUT, &path).json(&json!({"on_hand": on_hand}))).await {
        Ok(_) => {
            // Only our own pages: never an open redirect.
            let back = fields.get("back").filter(|b| b.starts_with("/dashboard/") && !b.starts_with("//"));
            web::see_other(back.unwrap_or("/dashboard/inventory"))
        }
        Err(page) => page,
    }
}

/// `GET /dashboard/inventory`: every variant of a page of products with its stock.
pub(super) async fn inventory(desk: Desk, Query(query): Query<ListQuery>) -> Response {
    let list = match desk.get(&list_path("/admin/products", &query)).await {
        Ok(list) => list,
        Err(page) => return page,
    };
    let mut rows = Vec::new();
    for product in list["items"].as_array().into_iter().flatten() {
        for variant in product["variants"].as_array().into_iter().flatten() {
            let level = match desk.get(&format!("/admin/inventory/{}", text(variant, "id"))).await {
                Ok(level) => level,
                Err(page) => return page,
            };
            rows.push(json!({"product": product, "variant": variant, "stock": level}));
        }
    }
    desk.page(
        "inventory.html",
        context! { nav => "inventory", rows => data(&rows),
        next_cursor => data(&list["next_cursor"]) },
    )
}

/// `POST /dashboard/products/{id}/images`, a `multipart/form-data` form with
/// `csrf`, `alt`? and the file `image`: the media flow of the API, done for
/// the browser: ask for an upload URL, put the bytes there (the local backend's
/// URL in process, a presigned S3 URL over HTTP), confirm it.
pub(super) async fn upload_image(desk: Desk, Path(id): Path<String>, multipart: Multipart) -> Response {
    let upload = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(detail) => return desk.error(StatusCode::BAD_REQUEST, &detail, Vec::new()),
    };
    if let Err(refused) = desk.check_csrf(upload.fields.csrf()) {
        return refused.into_response();
    }
    let Some((content_type, bytes)) = upload.file else {
        let mut errors = Errors::default();
        errors.fail("image", "choose an image file");
        return invalid(&desk, errors);
    };
    let product = encode(&id);
    let mut body = json!({"content_type": content_type, "byte_size": bytes.len()});
    if let Some(alt) = upload.fields.get("alt") {
        body["alt"] = json!(alt);
    }
    let created = match desk.post(&format!("/admin/products/{product}/media"), &body).await {
        Ok(created) => created,
        Err(page) => return page,
    };
    let target = &created["upload"];
    let url = text(target, "url");
    let headers: Vec<(String, String)> = target["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let local = url.find("/media/uploads/").map(|at| &url[at..]);
    if let Some(path) = local.filter(|_| url.starts_with("http://") || url.starts_with("https://")) {
        // The local backend's URL is on this store's host: the API's own route.
        let mut call = Call::new(Method::PUT, path).bytes(&content_type, bytes);
        for (name, value) in &headers {
            if let Ok(name) = name.parse() {
                call = call.header(name, value);
            }
        }
        if let Err(page) = desk.fetch(call).await {
            return page;
        }
    } else {
        let mut request = desk.state.uploads.put(&url).body(bytes);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let stored = request.send().await.ok().filter(|r| r.status().is_success());
        if stored.is_none() {
            return desk.error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The media storage did not take the image; try again.",
                Vec::new(),
            );
        }
        let complete = format!("/admin/products/{product}/media/{}/complete", text(&created, "id"));
        if let Err(page) = desk.post(&complete, &json!({})).await {
            return page;
        }
    }
    back_to_product(&id)
}

struct Upload {
    fields: Fields,
    /// The image's content type and bytes.
    file: Option<(String, Bytes)>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, String> {
    let mut fields = Vec::new();
    let mut file = None;
    while let Some(part) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "image" {
            let content_type = part.content_type().unwrap_or("application/octet-stream").to_owned();
            let bytes = part.bytes().await.map_err(|e| e.body_text())?;
            if !bytes.is_empty() {
                file = Some((content_type, bytes));
            }
        } else {
            fields.push((name, part.text().await.map_err(|e| e.body_text())?));
        }
    }
    Ok(Upload { fields: Fields(fields), file })
}

fn back_to_product(id: &str) -> Response {
    web::see_other(&format!("/dashboard/products/{}", encode(id)))
}

/// A string member of an API answer.
pub(super) fn text(value: &serde_json::Value, key: &str) -> String {
    value.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned()
}

/// Reads the price field `name` into `body["price"]`-like `target[key]`,
/// naming `field` (the API's name) when it is not an amount.
fn price(desk: &Desk, fields: &Fields, name: &str, field: &str, target: &mut serde_json::Value, errors: &mut Errors) {
    let currency = desk.tenant.currency;
    match fields.get(name).map(|text| minor_units(text, currency)) {
        Some(Some(amount)) => target["price"] = json!({"amount": amount, "currency": currency.as_str()}),
        Some(None) => errors.fail(field, &format!("must be an amount like 19.99 ({currency})")),
        None => errors.fail(field, "is required"),
    }
}

/// An optional whole number.
fn integer(fields: &Fields, name: &str, field: &str, errors: &mut Errors) -> Option<i64> {
    let text = fields.get(name)?;
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.fail(field, "must be a whole number");
            None
        }
    }
}
