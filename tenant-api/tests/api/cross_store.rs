//! A cart, customer or order of store A is not reachable from store B's host,
//! whatever token is presented.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{checkout_body, spawn_app};

#[tokio::test]
async fn a_cart_customer_or_order_of_store_a_is_not_reachable_from_store_b_with_any_token() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let variant = app.product_with_stock(&a, "Alpha Secret Hat", 900, 10).await;

    let ann_a = app.customer(&a, "ann@example.com").await;
    let ann_b = app.customer(&b, "ann@example.com").await;
    let token_a = ann_a["access_token"].as_str().unwrap().to_owned();
    let token_b = ann_b["access_token"].as_str().unwrap().to_owned();
    let staff_a = app.owner_token(&a).await;
    let staff_b = app.owner_token(&b).await;

    let guest_cart = app.cart_with(&a, None, &variant, 1).await;
    let customer_cart = app.cart_with(&a, Some(&token_a), &variant, 1).await;
    let (status, order) =
        app.checkout(&a, &customer_cart, Some(&token_a), None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    let customer_id = ann_a["customer_id"].as_str().unwrap().to_owned();

    // A's shopper token on B's host: the token's store is not this store.
    for path in ["/store/customers/me", "/store/orders", &format!("/store/orders/{order_id}")] {
        app.get_as(&b.host, path, Some(&token_a), StatusCode::UNAUTHORIZED).await;
    }
    app.get_as(&b.host, &format!("/store/carts/{guest_cart}"), Some(&token_a), StatusCode::UNAUTHORIZED).await;
    // A's staff token on B's host.
    for path in ["/admin/orders", &format!("/admin/orders/{order_id}"), &format!("/admin/customers/{customer_id}")] {
        app.get_as(&b.host, path, Some(&staff_a), StatusCode::UNAUTHORIZED).await;
    }
    // B's own tokens, naming A's ids: nothing there.
    let mut answers = Vec::new();
    answers.push(app.get_as(&b.host, &format!("/store/carts/{guest_cart}"), None, StatusCode::NOT_FOUND).await);
    answers
        .push(app.get_as(&b.host, &format!("/store/carts/{guest_cart}"), Some(&token_b), StatusCode::NOT_FOUND).await);
    answers
        .push(app.get_as(&b.host, &format!("/store/orders/{order_id}"), Some(&token_b), StatusCode::NOT_FOUND).await);
    answers
        .push(app.get_as(&b.host, &format!("/admin/orders/{order_id}"), Some(&staff_b), StatusCode::NOT_FOUND).await);
    answers.push(
        app.get_as(&b.host, &format!("/admin/customers/{customer_id}"), Some(&staff_b), StatusCode::NOT_FOUND).await,
    );
    answers.push(
        app.post(
            &b.host,
            &format!("/store/carts/{guest_cart}/items"),
            None,
            json!({"variant_id": variant, "quantity": 1}),
            StatusCode::NOT_FOUND,
        )
        .await,
    );
    answers.push(
        app.post(
            &b.host,
            &format!("/admin/orders/{order_id}/cancel"),
            Some(&staff_b),
            json!({}),
            StatusCode::NOT_FOUND,
        )
        .await,
    );
    answers.push(
        app.call(
            Method::GET,
            &b.host,
            &format!("/admin/inventory/{variant}"),
            Some(&staff_b),
            None,
            StatusCode::NOT_FOUND,
        )
        .await,
    );
    let (status, checkout) =
        app.checkout(&b, &guest_cart, None, Some("x"), &checkout_body("eve@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    answers.push(checkout);
    for body in &answers {
        let text = body.to_string();
        assert!(!text.contains("Alpha") && !text.contains(&order_id), "a 404 names A's data: {text}");
    }
    // B's lists are empty; A's data is intact and A still reaches it.
    let list = app.get_as(&b.host, "/admin/orders", Some(&staff_b), StatusCode::OK).await;
    assert_eq!(list["items"], json!([]));
    let history = app.get_as(&b.host, "/store/orders", Some(&token_b), StatusCode::OK).await;
    assert_eq!(history["items"], json!([]));
    app.get_as(&a.host, &format!("/store/carts/{guest_cart}"), None, StatusCode::OK).await;
    app.get_as(&a.host, &format!("/admin/orders/{order_id}"), Some(&staff_a), StatusCode::OK).await;
    assert_eq!(app.stock(&a, &variant).await, (9, 0));
}
