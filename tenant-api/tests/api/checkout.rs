//! The checkout saga over HTTP: the shopper journey, declines, stock,
//! options and totals, Idempotency-Key, outbox.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{checkout_body, spawn_app, TestApp, TestStore};

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

async fn orders_in(app: &TestApp, store: &TestStore, status: &str) -> i64 {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar("select count(*) from sales_order where status = $1")
        .bind(status)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_whole_shopper_journey_on_a_stores_host() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.product_with_stock(&store, "Blue Shirt", 1999, 5).await;

    // Browse as a guest and fill a cart.
    let list = app.get_json(&store.host, "/store/products", StatusCode::OK).await;
    let variant = list["items"][0]["variants"][0]["id"].as_str().unwrap().to_owned();
    let product = app.get_json(&store.host, "/store/products/blue-shirt", StatusCode::OK).await;
    assert_eq!(product["variants"][0]["id"], variant.as_str());
    let guest_cart = app.cart_with(&store, None, &variant, 2).await;

    // Sign up, sign in with the guest cart: it becomes the customer's cart.
    app.post(
        &store.host,
        "/store/customers",
        None,
        json!({"email": "ann@example.com", "password": "correct horse"}),
        StatusCode::CREATED,
    )
    .await;
    let session = app
        .post(
            &store.host,
            "/store/auth/token",
            None,
            json!({"email": "ann@example.com", "password": "correct horse", "cart_id": guest_cart}),
            StatusCode::OK,
        )
        .await;
    let token = session["access_token"].as_str();
    let cart_id = session["cart_id"].as_str().unwrap().to_owned();
    let cart = app.get_as(&store.host, &format!("/store/carts/{cart_id}"), token, StatusCode::OK).await;
    assert_eq!(cart["items"][0]["quantity"], 2);
    // Now that it is hers, the id alone no longer opens it.
    app.get_as(&store.host, &format!("/store/carts/{cart_id}"), None, StatusCode::NOT_FOUND).await;

    // Check out.
    let (status, order) = app
        .checkout(&store, &cart_id, token, Some("journey-1"), &checkout_body("ann@example.com", "tok_success"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "paid");
    for field in ["subtotal", "shipping_total", "tax_total", "discount_total", "total"] {
        assert_eq!(order[field]["currency"], "USD", "{field}");
    }
    assert_eq!(order["subtotal"], usd(3998));
    assert_eq!(order["total"], usd(3998));
    assert_eq!(order["items"][0]["variant_id"], variant.as_str());
    assert_eq!(order["items"][0]["quantity"], 2);
    assert_eq!(order["customer_id"], session["customer_id"]);
    assert_eq!(app.stock(&store, &variant).await, (3, 0), "paid: on_hand and reserved both dropped");
    // The cart is gone once bought.
    app.get_as(&store.host, &format!("/store/carts/{cart_id}"), token, StatusCode::NOT_FOUND).await;

    // The order is in her history.
    let history = app.get_as(&store.host, "/store/orders", token, StatusCode::OK).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    assert_eq!(history["items"][0]["id"], order["id"]);
    assert_eq!(history["next_cursor"], Value::Null);
    let one = app
        .get_as(&store.host, &format!("/store/orders/{}", order["id"].as_str().unwrap()), token, StatusCode::OK)
        .await;
    assert_eq!(one["status"], "paid");
    app.get_as(&store.host, "/store/orders", None, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_declined_payment_is_a_402_carrying_the_order_id_and_releases_the_stock() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 4).await;
    let cart = app.cart_with(&store, None, &variant, 3).await;
    let (status, body) =
        app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_decline")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(body["type"], "/problems/payment-declined");
    let order_id = body["order_id"].as_str().unwrap();
    assert_eq!(app.stock(&store, &variant).await, (4, 0));
    let staff = app.owner_token(&store).await;
    let order = app.get_as(&store.host, &format!("/admin/orders/{order_id}"), Some(&staff), StatusCode::OK).await;
    assert_eq!(order["status"], "payment_failed");
    assert_eq!(order["payments"][0]["status"], "failed");
    // The cart is kept: the shopper may pay another way.
    let (status, _) = app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn checking_out_more_than_is_in_stock_is_a_409_that_holds_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let plenty = app.product_with_stock(&store, "Plenty", 100, 50).await;
    let scarce = app.product_with_stock(&store, "Scarce", 100, 2).await;
    let cart = app.cart_with(&store, None, &plenty, 5).await;
    app.post(
        &store.host,
        &format!("/store/carts/{cart}/items"),
        None,
        json!({"variant_id": scarce, "quantity": 2}),
        StatusCode::OK,
    )
    .await;
    app.set_stock(&store, &scarce, 1).await;
    let (status, body) =
        app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["type"], "/problems/out-of-stock");
    assert_eq!(body["variant_ids"], json!([scarce]));
    // All or nothing: the plentiful line was not held either, and no order exists.
    assert_eq!(app.stock(&store, &plenty).await, (50, 0));
    assert_eq!(orders_in(&app, &store, "pending_payment").await, 0);
}

#[tokio::test]
async fn bad_checkout_input_is_a_422_naming_the_fields_and_writes_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 4).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let mut body = checkout_body("not-an-email", "tok_success");
    body["shipping_address"]["country"] = json!("Nowhere");
    body["payment"]["provider"] = json!("paypal");
    let (status, problem) = app.checkout(&store, &cart, None, Some("k1"), &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "shipping_address.country", "payment.provider"]);
    let (status, problem) = app.checkout(&store, &cart, None, None, &json!({"email": "a@b.co"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "shipping_address");
    assert_eq!(app.stock(&store, &variant).await, (4, 0));
    // An empty cart cannot be bought.
    let empty = app.post(&store.host, "/store/carts", None, json!({}), StatusCode::CREATED).await;
    let (status, problem) =
        app.checkout(&store, empty["id"].as_str().unwrap(), None, None, &checkout_body("a@b.co", "tok_success")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "items");
}

async fn set_up_options(app: &TestApp, store: &TestStore, staff: &str) {
    app.post(
        &store.host,
        "/admin/shipping-methods",
        Some(staff),
        json!({"name": "Standard", "price": usd(500), "free_over": usd(10_000)}),
        StatusCode::CREATED,
    )
    .await;
    app.post(
        &store.host,
        "/admin/shipping-methods",
        Some(staff),
        json!({"name": "Express", "price": usd(1500)}),
        StatusCode::CREATED,
    )
    .await;
    app.post(
        &store.host,
        "/admin/tax-rates",
        Some(staff),
        json!({"country": "US", "rate_bps": 500}),
        StatusCode::CREATED,
    )
    .await;
    app.post(
        &store.host,
        "/admin/tax-rates",
        Some(staff),
        json!({"country": "US", "region": "CA", "rate_bps": 825}),
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn shipping_tax_and_a_discount_make_the_totals() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    set_up_options(&app, &store, &staff).await;
    app.post(
        &store.host,
        "/admin/discount-codes",
        Some(&staff),
        json!({"code": "save10", "kind": "percentage", "percent_off": 10, "min_subtotal": usd(5000)}),
        StatusCode::CREATED,
    )
    .await;
    let variant = app.product_with_stock(&store, "Coat", 3000, 10).await;

    // 2 × 30.00 = 60.00; −10 % = 54.00; Standard 5.00 (not free under 100.00);
    // CA 8.25 % of 54.00 = 4.455 → 4.46 (half up); total 63.46.
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let mut body = checkout_body("ann@example.com", "tok_success");
    body["shipping_address"]["region"] = json!("CA");
    body["discount_code"] = json!("SAVE10");
    let (status, order) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["subtotal"], usd(6000));
    assert_eq!(order["discount_total"], usd(600));
    assert_eq!(order["shipping_total"], usd(500));
    assert_eq!(order["tax_total"], usd(446));
    assert_eq!(order["total"], usd(6346));
    assert_eq!(order["shipping_method"], "Standard");
    assert_eq!(order["discount_code"], "SAVE10");

    // Over the threshold shipping is free; another state falls back to the country rate.
    let cart = app.cart_with(&store, None, &variant, 4).await;
    let mut body = checkout_body("ann@example.com", "tok_success");
    body["shipping_address"]["region"] = json!("NY");
    let (status, order) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!((order["shipping_total"].clone(), order["tax_total"].clone()), (usd(0), usd(600)));
    assert_eq!(order["total"], usd(12_600));
}

#[tokio::test]
async fn inclusive_tax_is_reported_but_not_added() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    app.post(
        &store.host,
        "/admin/tax-rates",
        Some(&staff),
        json!({"country": "DE", "rate_bps": 1900, "inclusive": true}),
        StatusCode::CREATED,
    )
    .await;
    let variant = app.product_with_stock(&store, "Lamp", 11_900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let mut body = checkout_body("ann@example.com", "tok_success");
    body["shipping_address"]["country"] = json!("DE");
    let (status, order) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["tax_total"], usd(1900));
    assert_eq!(order["total"], usd(11_900));
    assert_eq!(order["tax_inclusive"], true);
}

#[tokio::test]
async fn expired_unknown_and_too_small_discounts_are_refused_and_give_nothing_back_wrong() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    for body in [
        json!({"code": "OLD", "kind": "fixed", "amount_off": usd(500), "expires_at": "2020-01-01T00:00:00Z"}),
        json!({"code": "BIG", "kind": "fixed", "amount_off": usd(500), "min_subtotal": usd(100_000)}),
    ] {
        app.post(&store.host, "/admin/discount-codes", Some(&staff), body, StatusCode::CREATED).await;
    }
    let bad = app
        .post(
            &store.host,
            "/admin/discount-codes",
            Some(&staff),
            json!({"code": "X Y", "kind": "percentage"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["code", "percent_off"]);
    let variant = app.product_with_stock(&store, "Lamp", 1000, 10).await;
    for (code, status, kind) in [
        ("OLD", StatusCode::CONFLICT, "/problems/discount-unavailable"),
        ("BIG", StatusCode::UNPROCESSABLE_ENTITY, "/problems/validation"),
        ("NOPE", StatusCode::UNPROCESSABLE_ENTITY, "/problems/validation"),
    ] {
        let cart = app.cart_with(&store, None, &variant, 1).await;
        let mut body = checkout_body("ann@example.com", "tok_success");
        body["discount_code"] = json!(code);
        let (got, problem) = app.checkout(&store, &cart, None, None, &body).await;
        assert_eq!((got, problem["type"].as_str().unwrap()), (status, kind), "{code}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "discount_code");
    }
    assert_eq!(app.stock(&store, &variant).await, (10, 0), "refused checkouts hold no stock");
}

#[tokio::test]
async fn a_replayed_key_returns_the_first_status_and_body_exactly() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    for (token, expected) in [("tok_success", StatusCode::CREATED), ("tok_decline", StatusCode::PAYMENT_REQUIRED)] {
        let cart = app.cart_with(&store, None, &variant, 1).await;
        let body = checkout_body("ann@example.com", token);
        let key = format!("replay-{token}");
        let first = app.checkout(&store, &cart, None, Some(&key), &body).await;
        assert_eq!(first.0, expected, "{}", first.1);
        // Key order and spacing do not make another body.
        let reordered: Value = serde_json::from_str(&serde_json::to_string_pretty(&body).unwrap()).unwrap();
        let second = app.checkout(&store, &cart, None, Some(&key), &reordered).await;
        assert_eq!(second, first);
    }
    assert_eq!(orders_in(&app, &store, "paid").await, 1);
    assert_eq!(orders_in(&app, &store, "payment_failed").await, 1);
    assert_eq!(app.stock(&store, &variant).await, (9, 0));
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_422() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let (status, _) =
        app.checkout(&store, &cart, None, Some("k"), &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) =
        app.checkout(&store, &cart, None, Some("k"), &checkout_body("bob@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["type"], "/problems/idempotency-key-reused");
    assert_eq!(orders_in(&app, &store, "paid").await, 1);
}

#[tokio::test]
async fn the_same_key_while_the_first_request_is_in_flight_is_a_409() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let body = checkout_body("ann@example.com", "tok_success");
    // The state a first request is in while it runs: claimed, with a live lease.
    let key = tenant_api::orders::idempotency::record_key(
        store.id(),
        &format!("POST /store/carts/{cart}/checkout"),
        "guest",
        "in-flight",
    );
    let mut redis = app.state.redis.clone();
    let claim = tenant_api::orders::idempotency::claim(
        &mut redis,
        &key,
        &tenant_api::orders::idempotency::request_hash(&body),
        uuid::Uuid::now_v7(),
        30,
    )
    .await
    .unwrap();
    assert!(matches!(claim, tenant_api::orders::idempotency::Claim::New));
    let (status, problem) = app.checkout(&store, &cart, None, Some("in-flight"), &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["type"], "/problems/idempotency-in-flight");
    assert_eq!(app.stock(&store, &variant).await, (10, 0));
}

#[tokio::test]
async fn concurrent_duplicates_of_one_key_make_one_order_and_agree_on_it() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let body = checkout_body("ann@example.com", "tok_success");
    let attempts = (0..8).map(|_| app.checkout(&store, &cart, None, Some("race"), &body));
    let results = futures_util::future::join_all(attempts).await;
    let created: Vec<&Value> = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).map(|(_, b)| b).collect();
    assert!(!created.is_empty());
    assert!(created.iter().all(|b| b["id"] == created[0]["id"]), "replays name the one order");
    for (status, body) in &results {
        assert!(
            *status == StatusCode::CREATED || body["type"] == "/problems/idempotency-in-flight",
            "{status}: {body}"
        );
    }
    assert_eq!(orders_in(&app, &store, "paid").await, 1);
    assert_eq!(app.stock(&store, &variant).await, (9, 0));
}

async fn payments_in(app: &TestApp, store: &TestStore, status: &str) -> i64 {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar("select count(*) from payment where status = $1").bind(status).fetch_one(&mut *tx).await.unwrap()
}

#[tokio::test]
async fn a_keyless_checkout_while_the_cart_is_being_checked_out_is_a_409() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let body = checkout_body("ann@example.com", "tok_success");
    // The state a first key-less attempt is in while it runs: the cart claimed, with a live lease.
    let key = tenant_api::orders::idempotency::cart_record_key(
        store.id(),
        &format!("POST /store/carts/{cart}/checkout"),
        "guest",
        &cart,
    );
    let mut redis = app.state.redis.clone();
    let claim =
        tenant_api::orders::idempotency::claim_cart(&mut redis, &key, "first", uuid::Uuid::now_v7(), 30).await.unwrap();
    assert!(matches!(claim, tenant_api::orders::idempotency::Claim::New));

    // Another body too: the cart is locked, whatever the retry says.
    for token in ["tok_success", "tok_decline"] {
        let (status, problem) = app.checkout(&store, &cart, None, None, &checkout_body("bob@example.com", token)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert_eq!(problem["type"], "/problems/checkout-in-progress");
    }
    let (status, _) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.stock(&store, &variant).await, (10, 0), "nothing held");
    assert_eq!(orders_in(&app, &store, "pending_payment").await + orders_in(&app, &store, "paid").await, 0);
}

#[tokio::test]
async fn a_keyless_retry_after_success_replays_the_order_without_charging_again() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let body = checkout_body("ann@example.com", "tok_success");
    let first = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);

    let retry = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(retry, first, "the first status and body exactly");
    // A bought cart is not bought again, whatever the retry's body says.
    let (status, other) =
        app.checkout(&store, &cart, None, None, &checkout_body("bob@example.com", "tok_success")).await;
    assert_eq!((status, &other["id"]), (StatusCode::CREATED, &first.1["id"]));
    let (status, declined) =
        app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_decline")).await;
    assert_eq!((status, &declined["id"]), (StatusCode::CREATED, &first.1["id"]));

    assert_eq!(orders_in(&app, &store, "paid").await, 1);
    assert_eq!(payments_in(&app, &store, "succeeded").await, 1);
    assert_eq!(app.stock(&store, &variant).await, (8, 0));
    // A client key is a request of its own: the cart is gone, nothing to buy.
    let (status, _) = app.checkout(&store, &cart, None, Some("later"), &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_keyless_retry_after_a_decline_may_pay_with_another_card() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let declined = checkout_body("ann@example.com", "tok_decline");

    let (status, first) = app.checkout(&store, &cart, None, None, &declined).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{first}");
    // A decline blocks nothing: the same card again is a new attempt (a card
    // may be topped up), declined again on an order of its own.
    let (status, second) = app.checkout(&store, &cart, None, None, &declined).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{second}");
    assert_ne!(second["order_id"], first["order_id"]);
    assert_eq!(app.stock(&store, &variant).await, (10, 0), "declines hold nothing");

    let (status, paid) =
        app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    assert_eq!(paid["status"], "paid");
    // And once paid, a retry of the declined request replays the payment.
    let (status, replay) = app.checkout(&store, &cart, None, None, &declined).await;
    assert_eq!((status, &replay["id"]), (StatusCode::CREATED, &paid["id"]));

    assert_eq!(payments_in(&app, &store, "failed").await, 2);
    assert_eq!(payments_in(&app, &store, "succeeded").await, 1);
    assert_eq!(app.stock(&store, &variant).await, (9, 0));
}

#[tokio::test]
async fn a_cart_changed_after_a_decline_is_checked_out_as_it_is_now() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let (status, _) = app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_decline")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);

    app.post(
        &store.host,
        &format!("/store/carts/{cart}/items"),
        None,
        json!({"variant_id": variant, "quantity": 2}),
        StatusCode::OK,
    )
    .await;
    let (status, order) =
        app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["items"][0]["quantity"], 3);
    assert_eq!(order["total"], usd(2700));
    assert_eq!(app.stock(&store, &variant).await, (7, 0));
}

#[tokio::test]
async fn every_step_writes_an_outbox_event_and_the_relay_publishes_them_in_order() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let (_, order) = app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    let staff = app.owner_token(&store).await;
    let id = order["id"].as_str().unwrap();
    app.post(
        &store.host,
        &format!("/admin/orders/{id}/fulfil"),
        Some(&staff),
        json!({"tracking_number": "1Z999"}),
        StatusCode::OK,
    )
    .await;

    let topics = |published: bool| {
        let app = &app;
        let store = &store;
        async move {
            let mut tx = app.tenant_tx(store).await;
            sqlx::query_scalar::<_, String>(
                "select topic from outbox_event where aggregate_id = $1::uuid and (published_at is not null) = $2 \
                 order by event_id",
            )
            .bind(id)
            .bind(published)
            .fetch_all(&mut *tx)
            .await
            .unwrap()
        }
    };
    assert_eq!(topics(false).await, ["order.created", "order.paid", "order.fulfilled"]);
    let published = tenant_api::outbox::relay_once(&app.state, 100).await.unwrap();
    assert!(published >= 3);
    assert_eq!(topics(true).await, ["order.created", "order.paid", "order.fulfilled"]);
    assert!(topics(false).await.is_empty());
}

#[tokio::test]
async fn a_store_is_charged_only_through_its_own_provider() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 900, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let mut body = checkout_body("ann@example.com", "tok_success");
    body["payment"]["provider"] = json!("stripe");
    let (status, problem) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "payment.provider");

    // A store set to Stripe is never charged through the test provider instead.
    sqlx::query("insert into control.tenant_payment_settings (tenant_id, provider) values ($1, 'stripe')")
        .bind(store.id())
        .execute(app.state.db.control())
        .await
        .unwrap();
    app.state.payment_settings.forget(store.id());
    let (status, problem) =
        app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["type"], "/problems/payment-provider-unavailable");
    assert_eq!(app.stock(&store, &variant).await, (10, 0));
    assert_eq!(orders_in(&app, &store, "pending_payment").await, 0);
}

#[tokio::test]
async fn in_production_the_test_provider_takes_no_payment_and_holds_no_stock() {
    let app = crate::helpers::spawn_app_configured(|settings| {
        settings.platform_env = platform::config::PlatformEnv::Production
    })
    .await;
    let store = app.create_store("live").await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 3).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;

    let (status, problem) =
        app.checkout(&store, &cart, None, Some("k1"), &checkout_body("ann@example.com", "tok_success")).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["type"], "/problems/payment-provider-unavailable");
    assert!(problem["detail"].as_str().unwrap().contains("refused in production"), "{problem}");
    assert_eq!(app.stock(&store, &variant).await, (3, 0), "nothing held");
    assert_eq!(orders_in(&app, &store, "paid").await + orders_in(&app, &store, "pending_payment").await, 0);
}
