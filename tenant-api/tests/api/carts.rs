//! Carts: guest and customer carts in Redis, priced from the catalog.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

fn usd(amount: i64) -> serde_json::Value {
    json!({"amount": amount, "currency": "USD"})
}

#[tokio::test]
async fn a_new_guest_cart_is_empty_with_money_totals() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let cart = app.post(&store.host, "/store/carts", None, json!({}), StatusCode::CREATED).await;
    assert_eq!(cart["items"], json!([]));
    assert_eq!(cart["subtotal"], usd(0));
    assert_eq!(cart["total"], usd(0));
    assert!(cart["id"].as_str().unwrap().len() >= 32, "a guest cart id is its capability: long and random");
    let with_email =
        app.post(&store.host, "/store/carts", None, json!({"email": "ann@example.com"}), StatusCode::CREATED).await;
    assert_eq!(with_email["email"], "ann@example.com");
    let bad =
        app.post(&store.host, "/store/carts", None, json!({"email": "nope"}), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(bad["errors"][0]["field"], "email");
}

#[tokio::test]
async fn items_are_priced_from_the_catalog_and_the_same_variant_merges_into_one_line() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Blue Shirt", 1999, 10).await;
    let id = app.cart_with(&store, None, &variant, 2).await;
    let path = format!("/store/carts/{id}/items");
    // A client-sent price is ignored: only variant_id and quantity count.
    let cart = app
        .post(
            &store.host,
            &path,
            None,
            json!({"variant_id": variant, "quantity": 1, "unit_price": usd(1)}),
            StatusCode::OK,
        )
        .await;
    let items = cart["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{cart}");
    assert_eq!(items[0]["variant_id"], variant.as_str());
    assert_eq!(items[0]["quantity"], 3);
    assert_eq!(items[0]["unit_price"], usd(1999));
    assert_eq!(items[0]["total"], usd(5997));
    assert_eq!(cart["subtotal"], usd(5997));
    assert_eq!(cart["total"], usd(5997));
}

#[tokio::test]
async fn adding_more_than_is_available_is_a_409_and_changes_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Rare Hat", 900, 3).await;
    let id = app.cart_with(&store, None, &variant, 2).await;
    let path = format!("/store/carts/{id}/items");
    let body =
        app.post(&store.host, &path, None, json!({"variant_id": variant, "quantity": 2}), StatusCode::CONFLICT).await;
    assert_eq!(body["type"], "/problems/insufficient-stock");
    assert_eq!(body["available"], 3);
    let cart = app.get_as(&store.host, &format!("/store/carts/{id}"), None, StatusCode::OK).await;
    assert_eq!(cart["items"][0]["quantity"], 2);
}

#[tokio::test]
async fn quantities_outside_1_to_99_are_a_422_naming_quantity() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Sock", 300, 500).await;
    let id = app.cart_with(&store, None, &variant, 98).await;
    let path = format!("/store/carts/{id}/items");
    for quantity in [json!(0), json!(-1), json!(100), json!("two")] {
        let body = app
            .post(
                &store.host,
                &path,
                None,
                json!({"variant_id": variant, "quantity": quantity}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(body["errors"][0]["field"], "quantity", "{quantity}: {body}");
    }
    // 98 + 2 passes the per-line limit.
    let body = app
        .post(&store.host, &path, None, json!({"variant_id": variant, "quantity": 2}), StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(body["errors"][0]["field"], "quantity");
}

#[tokio::test]
async fn unknown_or_unsold_variants_are_a_422_naming_variant_id() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let draft = app.seed_product(&store, "Draft", tenant_api::catalog::model::ProductStatus::Draft, 100).await;
    let cart = app.post(&store.host, "/store/carts", None, json!({}), StatusCode::CREATED).await;
    let path = format!("/store/carts/{}/items", cart["id"].as_str().unwrap());
    for variant in [uuid::Uuid::now_v7().to_string(), draft["variant_id"].as_str().unwrap().to_owned(), "x".into()] {
        let body = app
            .post(
                &store.host,
                &path,
                None,
                json!({"variant_id": variant, "quantity": 1}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(body["errors"][0]["field"], "variant_id");
    }
}

#[tokio::test]
async fn items_are_updated_and_removed_by_item_id() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let shirt = app.product_with_stock(&store, "Shirt", 1000, 10).await;
    let hat = app.product_with_stock(&store, "Hat", 500, 10).await;
    let id = app.cart_with(&store, None, &shirt, 1).await;
    let cart = app
        .post(
            &store.host,
            &format!("/store/carts/{id}/items"),
            None,
            json!({"variant_id": hat, "quantity": 1}),
            StatusCode::OK,
        )
        .await;
    let item = cart["items"].as_array().unwrap().iter().find(|i| i["variant_id"] == hat.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/store/carts/{id}/items/{item}");
    let cart = app.call(Method::PATCH, &store.host, &path, None, Some(json!({"quantity": 4})), StatusCode::OK).await;
    assert_eq!(cart["subtotal"], usd(1000 + 4 * 500));
    let too_many =
        app.call(Method::PATCH, &store.host, &path, None, Some(json!({"quantity": 11})), StatusCode::CONFLICT).await;
    assert_eq!(too_many["type"], "/problems/insufficient-stock");
    let cart = app.call(Method::DELETE, &store.host, &path, None, None, StatusCode::OK).await;
    assert_eq!(cart["items"].as_array().unwrap().len(), 1);
    app.call(Method::DELETE, &store.host, &path, None, None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_price_change_in_the_catalog_shows_on_the_next_read() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Mug", 1200, 10).await;
    let id = app.cart_with(&store, None, &variant, 1).await;
    let mut tx = app.tenant_tx(&store).await;
    sqlx::query("update product_variant set price_amount = 1500 where variant_id = $1")
        .bind(uuid::Uuid::parse_str(&variant).unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let cart = app.get_as(&store.host, &format!("/store/carts/{id}"), None, StatusCode::OK).await;
    assert_eq!(cart["items"][0]["unit_price"], usd(1500));
    assert_eq!(cart["total"], usd(1500));
}

#[tokio::test]
async fn a_customer_cart_needs_the_customers_token() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Mug", 1200, 10).await;
    let ann = app.customer(&store, "ann@example.com").await;
    let bob = app.customer(&store, "bob@example.com").await;
    let id = app.cart_with(&store, ann["access_token"].as_str(), &variant, 1).await;
    let path = format!("/store/carts/{id}");
    let cart = app.get_as(&store.host, &path, ann["access_token"].as_str(), StatusCode::OK).await;
    assert_eq!(cart["customer_id"], ann["customer_id"]);
    for token in [None, bob["access_token"].as_str()] {
        let body = app.get_as(&store.host, &path, token, StatusCode::NOT_FOUND).await;
        assert_eq!(body["type"], "/problems/cart-not-found");
    }
    app.get_as(&store.host, &path, Some("not-a-token"), StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn signing_in_with_a_guest_cart_merges_it_into_the_customers_cart() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let shirt = app.product_with_stock(&store, "Shirt", 1000, 10).await;
    let hat = app.product_with_stock(&store, "Hat", 500, 10).await;
    let ann = app.customer(&store, "ann@example.com").await;
    let mine = app.cart_with(&store, ann["access_token"].as_str(), &shirt, 1).await;
    let guest = app.cart_with(&store, None, &hat, 2).await;
    app.post(
        &store.host,
        &format!("/store/carts/{guest}/items"),
        None,
        json!({"variant_id": shirt, "quantity": 1}),
        StatusCode::OK,
    )
    .await;

    let signed_in = app
        .post(
            &store.host,
            "/store/auth/token",
            None,
            json!({"email": "ann@example.com", "password": "correct horse", "cart_id": guest}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(signed_in["cart_id"], mine.as_str());
    let cart = app
        .get_as(&store.host, &format!("/store/carts/{mine}"), signed_in["access_token"].as_str(), StatusCode::OK)
        .await;
    let quantities: Vec<(String, i64)> = cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["variant_id"].as_str().unwrap().to_owned(), i["quantity"].as_i64().unwrap()))
        .collect();
    assert!(quantities.contains(&(shirt.clone(), 2)), "{quantities:?}");
    assert!(quantities.contains(&(hat.clone(), 2)), "{quantities:?}");
    // The guest cart is gone.
    app.get_as(&store.host, &format!("/store/carts/{guest}"), None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_cart_lives_under_its_stores_hash_tag_and_every_use_renews_its_ttl() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let cart = app.post(&store.host, "/store/carts", None, json!({}), StatusCode::CREATED).await;
    let key = format!("t:{{{}}}:cart:{}", store.id(), cart["id"].as_str().unwrap());
    let mut redis = app.state.redis.clone();
    redis::cmd("EXPIRE").arg(&key).arg(100).query_async::<i64>(&mut redis).await.unwrap();
    app.get_as(&store.host, &format!("/store/carts/{}", cart["id"].as_str().unwrap()), None, StatusCode::OK).await;
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut redis).await.unwrap();
    assert!(ttl > 100, "ttl {ttl} was not renewed");
}

#[tokio::test]
async fn a_discount_code_on_the_cart_shows_in_its_totals_and_applies_at_checkout() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    app.post(
        &store.host,
        "/admin/discount-codes",
        Some(&staff),
        json!({"code": "TAKE5", "kind": "fixed", "amount_off": usd(500)}),
        StatusCode::CREATED,
    )
    .await;
    app.post(
        &store.host,
        "/admin/shipping-methods",
        Some(&staff),
        json!({"name": "Post", "price": usd(300)}),
        StatusCode::CREATED,
    )
    .await;
    let variant = app.product_with_stock(&store, "Mug", 2000, 10).await;
    let id = app.cart_with(&store, None, &variant, 1).await;
    let path = format!("/store/carts/{id}");
    let bad = app
        .call(
            Method::PATCH,
            &store.host,
            &path,
            None,
            Some(json!({"discount_code": "NOPE"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(bad["errors"][0]["field"], "discount_code");
    let cart = app
        .call(Method::PATCH, &store.host, &path, None, Some(json!({"discount_code": "take5"})), StatusCode::OK)
        .await;
    assert_eq!(cart["discount_code"], "TAKE5");
    assert_eq!(
        [&cart["subtotal"], &cart["discount_total"], &cart["shipping_total"], &cart["total"]],
        [&usd(2000), &usd(500), &usd(300), &usd(1800)]
    );
    let (status, order) =
        app.checkout(&store, &id, None, None, &crate::helpers::checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!((order["discount_total"].clone(), order["total"].clone()), (usd(500), usd(1800)));
}
