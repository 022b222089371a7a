//! Orders (list, detail, fulfil, refund, cancel) and customers.

use axum::{
    extract::{Path, Query},
    http::{HeaderName, Method},
    response::{IntoResponse, Response},
};
use minijinja::context;
use platform::loopback::{encode, Call};
use platform::templates::data;
use platform::web::{self, Form};
use serde_json::json;

use super::{
    catalog::{list_path, ListQuery},
    form, invalid, items,
};
use crate::dashboard::{
    forms::{minor_units, Errors},
    session::Desk,
};

/// `GET /dashboard/orders?status=&cursor=`.
pub(super) async fn orders(desk: Desk, Query(query): Query<ListQuery>) -> Response {
    let list = match desk.get(&list_path("/admin/orders", &query)).await {
        Ok(list) => list,
        Err(page) => return page,
    };
    desk.page(
        "orders.html",
        context! { nav => "orders", orders => items(&list), next_cursor => data(&list["next_cursor"]),
        status => query.status },
    )
}

/// `GET /dashboard/orders/{id}`: the order with its lines, payments and the
/// fulfil, refund and cancel forms (the API decides who may use them). The
/// refund form carries a fresh `Idempotency-Key`, so submitting it twice
/// refunds once.
pub(super) async fn order(desk: Desk, Path(id): Path<String>) -> Response {
    let order = match desk.get(&format!("/admin/orders/{}", encode(&id))).await {
        Ok(order) => order,
        Err(page) => return page,
    };
    desk.page(
        "order.html",
        context! { nav => "orders", order => data(&order),
        refund_key => uuid::Uuid::now_v7().to_string() },
    )
}

/// `POST /dashboard/orders/{id}/fulfil` with `tracking_number`, `carrier`?.
pub(super) async fn fulfil(desk: Desk, Path(id): Path<String>, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let mut body = json!({"tracking_number": fields.get("tracking_number").unwrap_or_default()});
    if let Some(carrier) = fields.get("carrier") {
        body["carrier"] = json!(carrier);
    }
    answer(&desk, &id, Call::post(&format!("/admin/orders/{}/fulfil", encode(&id)), &body)).await
}

/// `POST /dashboard/orders/{id}/refund` with `amount`? (all that is left when
/// blank), `reason`?, and the form's `idempotency_key`.
pub(super) async fn refund(desk: Desk, Path(id): Path<String>, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let currency = desk.tenant.currency;
    let mut body = json!({});
    if let Some(amount) = fields.get("amount") {
        let Some(amount) = minor_units(amount, currency) else {
            let mut errors = Errors::default();
            errors.fail("amount", &format!("must be an amount like 19.99 ({currency})"));
            return invalid(&desk, errors);
        };
        body["amount"] = json!({"amount": amount, "currency": currency.as_str()});
    }
    if let Some(reason) = fields.get("reason") {
        body["reason"] = json!(reason);
    }
    let mut call = Call::post(&format!("/admin/orders/{}/refunds", encode(&id)), &body);
    if let Some(key) = fields.get("idempotency_key") {
        call = call.header(HeaderName::from_static("idempotency-key"), key);
    }
    answer(&desk, &id, call).await
}

/// `POST /dashboard/orders/{id}/cancel` with `reason`?, `restock` (checkbox).
pub(super) async fn cancel(desk: Desk, Path(id): Path<String>, fields: Form) -> Response {
    let fields = match form(&desk, fields) {
        Ok(fields) => fields,
        Err(refused) => return refused.into_response(),
    };
    let mut body = json!({"restock": fields.get("restock").is_some()});
    if let Some(reason) = fields.get("reason") {
        body["reason"] = json!(reason);
    }
    answer(&desk, &id, Call::new(Method::POST, &format!("/admin/orders/{}/cancel", encode(&id))).json(&body)).await
}

/// Back to the order after an action; its refusal as a page.
async fn answer(desk: &Desk, id: &str, call: Call) -> Response {
    match desk.fetch(call).await {
        Ok(_) => web::see_other(&format!("/dashboard/orders/{}", encode(id))),
        Err(page) => page,
    }
}

/// `GET /dashboard/customers?cursor=`.
pub(super) async fn customers(desk: Desk, Query(query): Query<ListQuery>) -> Response {
    let list = match desk.get(&list_path("/admin/customers", &ListQuery { status: None, ..query })).await {
        Ok(list) => list,
        Err(page) => return page,
    };
    desk.page(
        "customers.html",
        context! { nav => "customers", customers => items(&list),
        next_cursor => data(&list["next_cursor"]) },
    )
}
