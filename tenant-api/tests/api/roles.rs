//! Roles and scopes on `/admin`: a `staff` token runs the store day to day
//! (catalog, inventory, fulfilment) but never moves money or changes what
//! checkout charges; `admin` and `owner` do both. API keys are limited by
//! their scopes only.

use platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{checkout_body, spawn_app, Auth, TestApp, TestStore};

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

async fn token(app: &TestApp, store: &TestStore, role: Role) -> Auth {
    Auth::Staff(platform::testkit::staff_token(app.state.db.control(), store.id(), role).await)
}

async fn key(app: &TestApp, store: &TestStore, scopes: &[&str]) -> Auth {
    Auth::Key(platform::testkit::api_key(app.state.db.control(), store.id(), scopes).await)
}

/// A paid order of `quantity` × 10.00 through the test provider: its id and variant.
async fn paid_order(app: &TestApp, store: &TestStore, quantity: i64) -> (String, String) {
    let variant = app.product_with_stock(store, "Lamp", 1000, 10).await;
    let cart = app.cart_with(store, None, &variant, quantity).await;
    let (status, order) =
        app.checkout(store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    (order["id"].as_str().unwrap().to_owned(), variant)
}

/// What the test provider paid back for the store (its own ledger).
async fn provider_refunds(app: &TestApp, store: &TestStore) -> i64 {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar("select count(*) from test_provider_refund").fetch_one(&mut *tx).await.unwrap()
}

async fn order_status(app: &TestApp, store: &TestStore, order: &str) -> String {
    let owner = token(app, store, Role::Owner).await;
    let body = app.admin("GET", store, &format!("/admin/orders/{order}"), &owner, None, StatusCode::OK).await;
    body["status"].as_str().unwrap().to_owned()
}

async fn count(app: &TestApp, store: &TestStore, path: &str) -> usize {
    let owner = token(app, store, Role::Owner).await;
    app.admin("GET", store, path, &owner, None, StatusCode::OK).await["items"].as_array().unwrap().len()
}

fn shipping() -> Value {
    json!({"name": "Standard", "price": usd(500)})
}

fn tax_rate() -> Value {
    json!({"country": "US", "rate_bps": 500})
}

fn discount() -> Value {
    json!({"code": "SAVE10", "kind": "percentage", "percent_off": 10})
}

/// Every admin-only write of checkout: path and a valid body.
fn checkout_writes() -> [(&'static str, Value); 3] {
    [("/admin/shipping-methods", shipping()), ("/admin/tax-rates", tax_rate()), ("/admin/discount-codes", discount())]
}

fn assert_forbidden(problem: &Value) {
    assert_eq!(problem["type"], "/problems/forbidden", "{problem}");
    assert_eq!(problem["status"], 403, "{problem}");
}

#[tokio::test]
async fn a_staff_token_cannot_refund_or_cancel_an_order_and_nothing_changes() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let (order, variant) = paid_order(&app, &store, 2).await;
    let stock = app.stock(&store, &variant).await;

    for path in [format!("/admin/orders/{order}/refunds"), format!("/admin/orders/{order}/refund")] {
        let body = json!({"amount": usd(1000), "reason": "scratched"});
        assert_forbidden(&app.admin("POST", &store, &path, &staff, Some(body), StatusCode::FORBIDDEN).await);
    }
    let cancel = format!("/admin/orders/{order}/cancel");
    assert_forbidden(&app.admin("POST", &store, &cancel, &staff, Some(json!({})), StatusCode::FORBIDDEN).await);

    assert_eq!(order_status(&app, &store, &order).await, "paid");
    assert_eq!(provider_refunds(&app, &store).await, 0, "the provider paid money back");
    assert_eq!(count(&app, &store, &format!("/admin/orders/{order}/refunds")).await, 0);
    assert_eq!(app.stock(&store, &variant).await, stock, "the stock moved");
}

#[tokio::test]
async fn admins_and_owners_refund_and_cancel_orders() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let admin = token(&app, &store, Role::Admin).await;
    let owner = token(&app, &store, Role::Owner).await;
    let (order, _) = paid_order(&app, &store, 2).await;

    let refunds = format!("/admin/orders/{order}/refunds");
    let refunded = app.admin("POST", &store, &refunds, &admin, Some(json!({"amount": usd(500)})), StatusCode::OK).await;
    assert_eq!(refunded["status"], "partially_refunded", "{refunded}");
    let cancel = format!("/admin/orders/{order}/cancel");
    let cancelled = app.admin("POST", &store, &cancel, &owner, Some(json!({})), StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(cancelled["refunded_total"], cancelled["total"], "{cancelled}");
}

#[tokio::test]
async fn a_staff_token_cannot_create_or_remove_shipping_methods_tax_rates_or_discount_codes() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let owner = token(&app, &store, Role::Owner).await;

    for (path, body) in checkout_writes() {
        assert_forbidden(&app.admin("POST", &store, path, &staff, Some(body), StatusCode::FORBIDDEN).await);
        assert_eq!(count(&app, &store, path).await, 0, "{path}: a staff token created one");
    }
    // Removing is the same action: the owner's items stay.
    for (path, body) in checkout_writes() {
        let created = app.admin("POST", &store, path, &owner, Some(body), StatusCode::CREATED).await;
        let item = format!("{path}/{}", created["id"].as_str().unwrap());
        assert_forbidden(&app.admin("DELETE", &store, &item, &staff, None, StatusCode::FORBIDDEN).await);
        // Staff still read everything under /admin.
        let listed = app.admin("GET", &store, path, &staff, None, StatusCode::OK).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{path}: {listed}");
    }
    let code = app.admin("GET", &store, "/admin/discount-codes", &owner, None, StatusCode::OK).await;
    assert_eq!(code["items"][0]["active"], true, "{code}");
}

#[tokio::test]
async fn admins_and_owners_create_shipping_methods_tax_rates_and_discount_codes() {
    let app = spawn_app().await;
    for role in [Role::Admin, Role::Owner] {
        let store = app.create_store(&format!("store-{}", role.as_str())).await;
        let auth = token(&app, &store, role).await;
        for (path, body) in checkout_writes() {
            let created = app.admin("POST", &store, path, &auth, Some(body), StatusCode::CREATED).await;
            let item = format!("{path}/{}", created["id"].as_str().unwrap());
            app.admin("DELETE", &store, &item, &auth, None, StatusCode::NO_CONTENT).await;
        }
    }
}

/// Makes a pending refund of `order` that ran out of attempts, as the worker leaves it.
async fn refund_needing_attention(app: &TestApp, store: &TestStore, order: &str) -> uuid::Uuid {
    let refund = uuid::Uuid::now_v7();
    let mut tx = app.tenant_tx(store).await;
    sqlx::query(
        "insert into refund (tenant_id, refund_id, order_id, amount, currency, status, provider, attempts, \
                             needs_attention, next_attempt_at) \
         values ($1, $2, $3::uuid, 500, 'USD', 'pending', 'test', 5, true, now() + interval '1 hour')",
    )
    .bind(store.id())
    .bind(refund)
    .bind(order)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    refund
}

async fn refund_attempts(app: &TestApp, store: &TestStore, refund: uuid::Uuid) -> (i32, bool) {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_as("select attempts, needs_attention from refund where refund_id = $1")
        .bind(refund)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_staff_token_cannot_retry_a_refund_but_an_admin_can() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let (order, _) = paid_order(&app, &store, 1).await;
    let refund = refund_needing_attention(&app, &store, &order).await;
    let retry = format!("/admin/refunds/{refund}/retry");

    let staff = app.staff(&store).await;
    assert_forbidden(&app.admin("POST", &store, &retry, &staff, None, StatusCode::FORBIDDEN).await);
    assert_eq!(refund_attempts(&app, &store, refund).await, (5, true), "a staff token retried it");
    // Staff still see it.
    let listed = app.admin("GET", &store, "/admin/refunds?needs_attention=true", &staff, None, StatusCode::OK).await;
    assert_eq!(listed["items"][0]["id"], refund.to_string(), "{listed}");

    let admin = token(&app, &store, Role::Admin).await;
    app.admin("POST", &store, &retry, &admin, None, StatusCode::OK).await;
    assert_eq!(refund_attempts(&app, &store, refund).await, (0, false), "the retry started its attempts over");
}

#[tokio::test]
async fn a_staff_token_writes_products_and_inventory_and_fulfils_and_delivers_orders() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;

    let product = app.create_product(&store, &staff, "Mug", "MUG-1", 1200).await;
    let variant = product["variants"][0]["id"].as_str().unwrap();
    let level = app
        .admin(
            "PUT",
            &store,
            &format!("/admin/inventory/{variant}"),
            &staff,
            Some(json!({"on_hand": 7})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(level["on_hand"], 7);

    let (order, _) = paid_order(&app, &store, 1).await;
    let fulfil = format!("/admin/orders/{order}/fulfil");
    let body = json!({"tracking_number": "TRACK-1", "carrier": "UPS"});
    let fulfilled = app.admin("POST", &store, &fulfil, &staff, Some(body), StatusCode::OK).await;
    assert_eq!(fulfilled["status"], "fulfilled", "{fulfilled}");
    let deliver = format!("/admin/orders/{order}/deliver");
    let delivered = app.admin("POST", &store, &deliver, &staff, None, StatusCode::OK).await;
    assert_eq!(delivered["status"], "delivered", "{delivered}");
}

#[tokio::test]
async fn an_api_key_is_limited_by_its_scopes_only() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let (order, _) = paid_order(&app, &store, 2).await;

    // `checkout:write` creates a shipping method (an admin-only action for staff tokens).
    let checkout = key(&app, &store, &["checkout:write"]).await;
    app.admin("POST", &store, "/admin/shipping-methods", &checkout, Some(shipping()), StatusCode::CREATED).await;
    // ...but reads nothing it was not given, and refunds nothing.
    app.admin("GET", &store, "/admin/orders", &checkout, None, StatusCode::FORBIDDEN).await;

    // `orders:read` reads orders but does not refund.
    let reader = key(&app, &store, &["orders:read"]).await;
    app.admin("GET", &store, &format!("/admin/orders/{order}"), &reader, None, StatusCode::OK).await;
    let refunds = format!("/admin/orders/{order}/refunds");
    let problem = app.admin("POST", &store, &refunds, &reader, Some(json!({})), StatusCode::FORBIDDEN).await;
    assert_forbidden(&problem);
    assert!(problem["detail"].as_str().unwrap().contains("orders:write"), "{problem}");
    assert_eq!(provider_refunds(&app, &store).await, 0);

    // `orders:write` refunds (API keys: the write scope of the area covers its admin actions).
    let writer = key(&app, &store, &["orders:write"]).await;
    let refunded =
        app.admin("POST", &store, &refunds, &writer, Some(json!({"amount": usd(500)})), StatusCode::OK).await;
    assert_eq!(refunded["status"], "partially_refunded", "{refunded}");

    // `*` and `<area>:*` hold every scope of their reach.
    let all = key(&app, &store, &["*"]).await;
    app.admin("POST", &store, "/admin/tax-rates", &all, Some(tax_rate()), StatusCode::CREATED).await;
    let area = key(&app, &store, &["checkout:*"]).await;
    app.admin("POST", &store, "/admin/discount-codes", &area, Some(discount()), StatusCode::CREATED).await;
    app.admin("GET", &store, "/admin/discount-codes", &area, None, StatusCode::OK).await;
    app.admin("GET", &store, "/admin/customers", &area, None, StatusCode::FORBIDDEN).await;
}
