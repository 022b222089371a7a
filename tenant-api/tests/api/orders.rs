//! Staff order management: fulfil, deliver, cancel, refund, lists; inventory.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{checkout_body, spawn_app, TestApp, TestStore};

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

/// A paid order of `quantity` × 10.00; returns (order id, variant id).
async fn paid_order(app: &TestApp, store: &TestStore, quantity: i64) -> (String, String) {
    let variant = app.product_with_stock(store, &format!("Item {}", uuid::Uuid::now_v7().simple()), 1000, 10).await;
    let cart = app.cart_with(store, None, &variant, quantity).await;
    let (status, order) =
        app.checkout(store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    (order["id"].as_str().unwrap().to_owned(), variant)
}

#[tokio::test]
async fn staff_see_an_order_with_its_payment_then_fulfil_and_deliver_it() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let (id, _) = paid_order(&app, &store, 2).await;
    let order = app.get_as(&store.host, &format!("/admin/orders/{id}"), Some(&staff), StatusCode::OK).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total"], usd(2000));
    assert_eq!(order["items"].as_array().unwrap().len(), 1);
    assert_eq!(order["payments"][0]["status"], "succeeded");
    assert_eq!(order["payments"][0]["amount"], usd(2000));

    let bad = app
        .post(
            &store.host,
            &format!("/admin/orders/{id}/fulfil"),
            Some(&staff),
            json!({"tracking_number": " "}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "tracking_number");
    let order = app
        .post(
            &store.host,
            &format!("/admin/orders/{id}/fulfil"),
            Some(&staff),
            json!({"tracking_number": "1Z999", "carrier": "UPS"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!((order["status"].as_str(), order["tracking_number"].as_str()), (Some("fulfilled"), Some("1Z999")));
    let order = app
        .call(Method::POST, &store.host, &format!("/admin/orders/{id}/deliver"), Some(&staff), None, StatusCode::OK)
        .await;
    assert_eq!(order["status"], "delivered");
    assert!(order["delivered_at"].is_string());
}

#[tokio::test]
async fn illegal_transitions_are_a_409_and_change_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let (id, _) = paid_order(&app, &store, 1).await;
    // Not shipped yet: cannot be delivered.
    let body = app
        .call(
            Method::POST,
            &store.host,
            &format!("/admin/orders/{id}/deliver"),
            Some(&staff),
            None,
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(body["type"], "/problems/illegal-transition");
    app.post(
        &store.host,
        &format!("/admin/orders/{id}/fulfil"),
        Some(&staff),
        json!({"tracking_number": "T1"}),
        StatusCode::OK,
    )
    .await;
    // Shipped: cannot be cancelled (refund it instead).
    let body = app
        .post(&store.host, &format!("/admin/orders/{id}/cancel"), Some(&staff), json!({}), StatusCode::CONFLICT)
        .await;
    assert_eq!(body["order_status"], "fulfilled");
    let order = app.get_as(&store.host, &format!("/admin/orders/{id}"), Some(&staff), StatusCode::OK).await;
    assert_eq!(order["status"], "fulfilled");
    // A declined order is final.
    let variant = app.product_with_stock(&store, "Other", 100, 5).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let (_, declined) = app.checkout(&store, &cart, None, None, &checkout_body("a@b.co", "tok_decline")).await;
    let failed = declined["order_id"].as_str().unwrap();
    for action in ["fulfil", "cancel", "refund"] {
        let body = json!({"tracking_number": "T"});
        app.post(&store.host, &format!("/admin/orders/{failed}/{action}"), Some(&staff), body, StatusCode::CONFLICT)
            .await;
    }
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_it_and_puts_the_stock_back() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let (id, variant) = paid_order(&app, &store, 3).await;
    assert_eq!(app.stock(&store, &variant).await, (7, 0));
    let order = app
        .post(
            &store.host,
            &format!("/admin/orders/{id}/cancel"),
            Some(&staff),
            json!({"reason": "customer asked"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(order["status"], "cancelled");
    assert_eq!(order["refunded_total"], usd(3000));
    assert_eq!(order["payments"][0]["refunded"], usd(3000));
    assert_eq!(app.stock(&store, &variant).await, (10, 0));
    app.post(&store.host, &format!("/admin/orders/{id}/cancel"), Some(&staff), json!({}), StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn partial_then_full_refunds_move_the_status_and_never_exceed_the_total() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let (id, _) = paid_order(&app, &store, 3).await;
    let path = format!("/admin/orders/{id}/refund");
    let order = app.post(&store.host, &path, Some(&staff), json!({"amount": usd(1000)}), StatusCode::OK).await;
    assert_eq!((order["status"].as_str(), order["refunded_total"].clone()), (Some("partially_refunded"), usd(1000)));
    for amount in [2001, 0, -5] {
        let body = app
            .post(&store.host, &path, Some(&staff), json!({"amount": usd(amount)}), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert!(body["errors"][0]["field"].as_str().unwrap().starts_with("amount"), "{body}");
    }
    let order = app.post(&store.host, &path, Some(&staff), json!({}), StatusCode::OK).await;
    assert_eq!((order["status"].as_str(), order["refunded_total"].clone()), (Some("refunded"), usd(3000)));
    assert_eq!(order["payments"][0]["refunded"], usd(3000));
    app.post(&store.host, &path, Some(&staff), json!({}), StatusCode::CONFLICT).await;

    let mut tx = app.tenant_tx(&store).await;
    let topics: Vec<String> =
        sqlx::query_scalar("select topic from outbox_event where aggregate_id = $1::uuid order by event_id")
            .bind(&id)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(
        topics,
        [
            "order.created",
            "order.paid",
            "order.partially_refunded",
            "refund.succeeded",
            "order.refunded",
            "refund.succeeded"
        ]
    );
}

#[tokio::test]
async fn staff_list_filter_and_search_orders() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let (first, _) = paid_order(&app, &store, 1).await;
    let (second, _) = paid_order(&app, &store, 1).await;
    app.post(
        &store.host,
        &format!("/admin/orders/{first}/fulfil"),
        Some(&staff),
        json!({"tracking_number": "T"}),
        StatusCode::OK,
    )
    .await;
    let all = app.get_as(&store.host, "/admin/orders?limit=1", Some(&staff), StatusCode::OK).await;
    assert_eq!(all["items"][0]["id"], second.as_str(), "newest first");
    let cursor = all["next_cursor"].as_str().unwrap();
    let next =
        app.get_as(&store.host, &format!("/admin/orders?limit=1&cursor={cursor}"), Some(&staff), StatusCode::OK).await;
    assert_eq!(next["items"][0]["id"], first.as_str());
    let fulfilled = app.get_as(&store.host, "/admin/orders?status=fulfilled", Some(&staff), StatusCode::OK).await;
    assert_eq!(fulfilled["items"].as_array().unwrap().len(), 1);
    let by_number = app.get_as(&store.host, "/admin/orders?q=1002", Some(&staff), StatusCode::OK).await;
    assert_eq!(by_number["items"][0]["id"], second.as_str());
    let by_email = app.get_as(&store.host, "/admin/orders?q=ANN@", Some(&staff), StatusCode::OK).await;
    assert_eq!(by_email["items"].as_array().unwrap().len(), 2);
    let bad = app.get_as(&store.host, "/admin/orders?status=shipped", Some(&staff), StatusCode::BAD_REQUEST).await;
    assert_eq!(bad["errors"][0]["field"], "status");
    app.get_as(&store.host, "/admin/orders?limit=0", Some(&staff), StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn api_keys_need_order_scopes() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let reader = platform::testkit::api_key(app.state.db.control(), store.id(), &["orders:read"]).await;
    let (status, _, _) =
        app.send(Method::GET, &store.host, "/admin/orders", None, &[("x-api-key", reader.as_str())], None).await;
    assert_eq!(status, StatusCode::OK);
    let (id, _) = paid_order(&app, &store, 1).await;
    let (status, _, _) = app
        .send(
            Method::POST,
            &store.host,
            &format!("/admin/orders/{id}/cancel"),
            None,
            &[("x-api-key", reader.as_str())],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn inventory_shows_reserved_and_available_and_refuses_going_below_reserved() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let variant = app.product_with_stock(&store, "Hat", 500, 10).await;
    let path = format!("/admin/inventory/{variant}");
    let level =
        app.call(Method::PUT, &store.host, &path, Some(&staff), Some(json!({"on_hand": 100})), StatusCode::OK).await;
    assert_eq!(level, json!({"variant_id": variant, "on_hand": 100, "reserved": 0, "available": 100}));
    // Hold 5 as an interrupted checkout would.
    let mut tx = app.tenant_tx(&store).await;
    sqlx::query("update inventory_level set reserved = 5 where variant_id = $1")
        .bind(uuid::Uuid::parse_str(&variant).unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let level = app.get_as(&store.host, &path, Some(&staff), StatusCode::OK).await;
    assert_eq!((level["reserved"].clone(), level["available"].clone()), (json!(5), json!(95)));
    let body = app
        .call(Method::PUT, &store.host, &path, Some(&staff), Some(json!({"on_hand": 4})), StatusCode::CONFLICT)
        .await;
    assert_eq!(body["errors"][0]["field"], "on_hand");
    app.call(
        Method::PUT,
        &store.host,
        &path,
        Some(&staff),
        Some(json!({"on_hand": -1})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}
