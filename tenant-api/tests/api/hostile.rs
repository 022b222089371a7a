//! Hostile bytes: a NUL in a JSON string, a path or a query is a `400`
//! problem naming where it was, before anything is stored or looked up.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{checkout_body, spawn_app};

#[tokio::test]
async fn a_nul_in_a_body_path_or_query_is_a_400_problem_and_nothing_is_written() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;

    let body =
        json!({"title": "Hat\u{0}less", "variants": [{"sku": "H-1", "price": {"amount": 100, "currency": "USD"}}]});
    let problem = app.post(&store.host, "/admin/products", Some(&staff), body, StatusCode::BAD_REQUEST).await;
    assert_eq!(problem["errors"][0]["field"], "title", "{problem}");
    let listed = app.get_as(&store.host, "/admin/products", Some(&staff), StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]), "nothing was written");

    // A tracking number, deep in a staff action.
    let variant = app.product_with_stock(&store, "Lamp", 1000, 5).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let (_, order) = app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    let path = format!("/admin/orders/{}/fulfil", order["id"].as_str().unwrap());
    let problem = app
        .post(&store.host, &path, Some(&staff), json!({"tracking_number": "1Z\u{0}9"}), StatusCode::BAD_REQUEST)
        .await;
    assert_eq!(problem["errors"][0]["field"], "tracking_number");

    for path in ["/store/products/%00", "/store/products?q=a%00b", "/store/search?q=%00", "/admin/orders/%00/cancel"] {
        let (status, content_type, problem) = app.send(Method::GET, &store.host, path, Some(&staff), &[], None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
        assert_eq!(content_type, "application/problem+json", "{path}");
    }
    let order = app
        .get_as(&store.host, &format!("/admin/orders/{}", order["id"].as_str().unwrap()), Some(&staff), StatusCode::OK)
        .await;
    assert_eq!(order["status"], "paid");
}

#[tokio::test]
async fn a_body_that_is_a_json_array_is_a_422_naming_the_body_and_changes_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    // serde would read a struct from an array, field by field in order.
    let body = json!(["Hat", "hat", null, "active"]);
    let problem = app.post(&store.host, "/admin/products", Some(&staff), body, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "body", "{problem}");
    let listed = app.get_as(&store.host, "/admin/products", Some(&staff), StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]), "nothing was written");
    let cart = app.post(&store.host, "/store/carts", None, json!([]), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(cart["errors"][0]["field"], "body", "{cart}");
}
