//! Money bounds: no amount above 10^12 minor units is accepted or computed,
//! and arithmetic past it is a 422 problem, never a wrap or a 500.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{checkout_body, spawn_app};

const MAX: i64 = 1_000_000_000_000;

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_price_above_ten_to_the_twelve_minor_units_is_422_naming_the_price() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let body = json!({"title": "Yacht", "status": "active", "variants": [
        {"sku": "Y-1", "price": usd(MAX + 1), "compare_at_price": usd(MAX + 2)},
    ]});
    let problem =
        app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&problem), ["variants[0].price.amount", "variants[0].compare_at_price.amount"]);

    let body = json!({"title": "Yacht", "status": "active", "variants": [{"sku": "Y-1", "price": usd(MAX)}]});
    let product = app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::CREATED).await;
    assert_eq!(product["variants"][0]["price"], usd(MAX));

    let token = app.owner_token(&store).await;
    let problem = app
        .post(
            &store.host,
            "/admin/shipping-methods",
            Some(&token),
            json!({"name": "Barge", "price": usd(MAX + 1), "free_over": usd(i64::MAX)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&problem), ["price.amount", "free_over.amount"]);
}

#[tokio::test]
async fn a_cart_line_past_the_bound_is_422_at_add_to_cart_not_500() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Yacht", MAX, 20).await;
    let cart = app.post(&store.host, "/store/carts", None, json!({}), StatusCode::CREATED).await;
    let items = format!("/store/carts/{}/items", cart["id"].as_str().unwrap());
    let problem = app
        .post(
            &store.host,
            &items,
            None,
            json!({"variant_id": variant, "quantity": 10}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&problem), ["quantity"]);
    let cart = app.post(&store.host, &items, None, json!({"variant_id": variant, "quantity": 1}), StatusCode::OK).await;
    assert_eq!(cart["subtotal"], usd(MAX), "exactly the bound is accepted");
}

#[tokio::test]
async fn a_price_raised_past_the_bound_after_adding_is_422_at_checkout_and_holds_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Yacht", MAX / 10, 20).await;
    let cart = app.cart_with(&store, None, &variant, 10).await;
    // The catalog changes under the cart: 10 × 10^12 is past the bound.
    let mut tx = app.tenant_tx(&store).await;
    sqlx::query("update product_variant set price_amount = $2 where variant_id = $1")
        .bind(uuid::Uuid::parse_str(&variant).unwrap())
        .bind(MAX)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (status, problem) =
        app.checkout(&store, &cart, None, Some("k1"), &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), ["quantity"]);
    assert_eq!(app.stock(&store, &variant).await, (20, 0), "nothing held");
    let problem = app.get_json(&store.host, &format!("/store/carts/{cart}"), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&problem), ["quantity"]);
}
