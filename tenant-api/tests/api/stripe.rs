//! Stores paying through Stripe, against a local server speaking Stripe's
//! protocol (`fake_stripe`), and Stripe's webhooks.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tenant_api::payments::webhook;
use uuid::Uuid;

use axum::extract::FromRef;
use platform::money::Money;
use tenant_api::{
    orders::model::OrderId,
    payments::{
        model::RefundId,
        provider::{Merchant, Refund, RefundOutcome},
        PaymentsState,
    },
};

use crate::{
    fake_stripe::{FakeStripe, Fault, RefundMode},
    helpers::{checkout_body, spawn_app_configured, TestApp, TestStore},
};

pub(crate) async fn stripe_app() -> (TestApp, FakeStripe) {
    let fake = FakeStripe::start().await;
    let url = fake.url.clone();
    let app = spawn_app_configured(move |settings| settings.stripe_api_base = url).await;
    (app, fake)
}

/// Sets the store's payment settings to Stripe as the control plane does (secrets sealed).
pub(crate) async fn use_stripe(app: &TestApp, store: &TestStore) {
    sqlx::query(
        "insert into control.tenant_payment_settings (tenant_id, provider, stripe_secret_key, stripe_webhook_secret) \
         values ($1, 'stripe', $2, $3)",
    )
    .bind(store.id())
    .bind(app.state.master.seal(&secret_key(store)).unwrap())
    .bind(app.state.master.seal(&webhook_secret(store)).unwrap())
    .execute(app.state.db.control())
    .await
    .unwrap();
    // What the control plane's announcement of the change does.
    app.state.payment_settings.forget(store.id());
}

pub(crate) fn secret_key(store: &TestStore) -> String {
    format!("sk_test_{}", store.tenant.slug)
}

pub(crate) fn webhook_secret(store: &TestStore) -> String {
    format!("whsec_{}", store.tenant.slug)
}

pub(crate) fn stripe_body(token: &str) -> Value {
    let mut body = checkout_body("ann@example.com", token);
    body["payment"]["provider"] = "stripe".into();
    body
}

pub(crate) async fn order_of(app: &TestApp, store: &TestStore, order: &str) -> Value {
    let token = app.owner_token(store).await;
    app.get_as(&store.host, &format!("/admin/orders/{order}"), Some(&token), StatusCode::OK).await
}

/// The one order of the store, read behind the API (a 500 names none).
async fn only_order(app: &TestApp, store: &TestStore) -> (String, String) {
    let mut tx = app.tenant_tx(store).await;
    let (id, status): (Uuid, String) = sqlx::query_as("select order_id, status from sales_order where tenant_id = $1")
        .bind(store.id())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    (id.to_string(), status)
}

pub(crate) fn intent_event(event_id: &str, kind: &str, intent: &Value) -> Value {
    json!({"id": event_id, "object": "event", "type": kind, "data": {"object": intent}})
}

/// Posts `event` to the store's webhook, signed with `secret` at `timestamp`.
pub(crate) async fn deliver(
    app: &TestApp,
    host: &str,
    secret: &str,
    event: &Value,
    timestamp: i64,
) -> (StatusCode, Value) {
    let payload = serde_json::to_vec(event).unwrap();
    let signature = webhook::sign(secret.as_bytes(), &payload, timestamp);
    let (status, body) = deliver_raw(app, host, Some(&signature), payload).await;
    (status, body)
}

async fn deliver_raw(app: &TestApp, host: &str, signature: Option<&str>, payload: Vec<u8>) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(format!("{}/webhooks/stripe", app.address))
        .header("host", host)
        .header("content-type", "application/json")
        .body(payload);
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn processed_events(app: &TestApp, store: &TestStore) -> i64 {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar("select count(*) from stripe_event where tenant_id = $1")
        .bind(store.id())
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stripe_store_checks_out_paid_through_one_confirmed_payment_intent() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;

    let (status, order) = app.checkout(&store, &cart, None, Some("k1"), &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "paid");
    assert_eq!(app.stock(&store, &variant).await, (8, 0));

    let intents = fake.intents();
    assert_eq!(intents.len(), 1);
    let intent = &intents[0];
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["amount"], order["total"]["amount"]);
    assert_eq!(intent["currency"], "usd");
    assert_eq!(intent["payment_method"], "pm_card_visa");
    assert_eq!(intent["metadata"]["order_id"], order["id"]);
    assert_eq!(intent["metadata"]["tenant_id"], store.id().to_string());
    assert_eq!(intent["secret_key"], secret_key(&store), "charged with the store's own key");

    let admin = order_of(&app, &store, order["id"].as_str().unwrap()).await;
    assert_eq!(admin["payments"][0]["provider"], "stripe");
    assert_eq!(admin["payments"][0]["status"], "succeeded");
}

#[tokio::test]
async fn a_stripe_store_refuses_the_test_provider_and_a_test_store_still_pays_with_it() {
    let (app, _fake) = stripe_app().await;
    let stripe = app.create_store("alpha").await;
    use_stripe(&app, &stripe).await;
    let plain = app.create_store("bravo").await;
    let on_stripe = app.product_with_stock(&stripe, "Hat", 1500, 10).await;
    let on_test = app.product_with_stock(&plain, "Hat", 1500, 10).await;

    let cart = app.cart_with(&stripe, None, &on_stripe, 1).await;
    let (status, _) = app.checkout(&stripe, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let cart = app.cart_with(&plain, None, &on_test, 1).await;
    let (status, order) =
        app.checkout(&plain, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
}

#[tokio::test]
async fn a_declined_card_answers_402_with_the_order_and_releases_the_stock() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 3).await;

    let (status, problem) = app.checkout(&store, &cart, None, Some("k1"), &stripe_body("pm_card_chargeDeclined")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{problem}");
    assert_eq!(problem["decline_code"], "card_declined");
    let order = problem["order_id"].as_str().unwrap();
    assert_eq!(order_of(&app, &store, order).await["status"], "payment_failed");
    assert_eq!(app.stock(&store, &variant).await, (10, 0), "stock released");
    assert_eq!(fake.intents()[0]["status"], "requires_payment_method");

    // A payment method Stripe does not know is declined too, before any intent exists.
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let (status, problem) = app.checkout(&store, &cart, None, None, &stripe_body("pm_nonsense")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{problem}");
    assert_eq!(problem["decline_code"], "invalid_token");
    assert_eq!(app.stock(&store, &variant).await, (10, 0));
    assert_eq!(fake.intents().len(), 1);
}

#[tokio::test]
async fn concurrent_keyless_checkouts_of_one_stripe_cart_create_one_payment_intent() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 100).await;
    let body = stripe_body("pm_card_visa");
    let rounds = 5;
    for round in 0..rounds {
        let cart = app.cart_with(&store, None, &variant, 1).await;
        let results =
            futures_util::future::join_all((0..8).map(|_| app.checkout(&store, &cart, None, None, &body))).await;
        let created: Vec<&Value> = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).map(|(_, b)| b).collect();
        assert!(!created.is_empty(), "round {round}: {results:?}");
        assert!(created.iter().all(|b| b["id"] == created[0]["id"]), "round {round}: {results:?}");
        for (status, problem) in &results {
            assert!(
                *status == StatusCode::CREATED
                    || (*status == StatusCode::CONFLICT && problem["type"] == "/problems/checkout-in-progress"),
                "round {round}: {status}: {problem}"
            );
        }
        assert_eq!(fake.intents().len(), round + 1, "round {round}: one PaymentIntent per cart");
    }
    assert!(fake.intents().iter().all(|i| i["status"] == "succeeded"));
    assert_eq!(app.stock(&store, &variant).await, (100 - rounds as i32, 0));
}

#[tokio::test]
async fn a_checkout_retried_with_its_idempotency_key_after_an_outage_creates_one_payment_intent() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let body = stripe_body("pm_card_visa");

    fake.fail_next_confirm(Fault::Before);
    let (status, problem) = app.checkout(&store, &cart, None, Some("retry-me"), &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "Stripe's outage is an unknown outcome: {problem}");
    assert_eq!(problem["type"], "/problems/payment-outcome-unknown");
    assert!(problem["order_id"].is_string());
    assert_eq!(only_order(&app, &store).await.1, "pending_payment");

    let (status, order) = app.checkout(&store, &cart, None, Some("retry-me"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "paid");
    let (status, replay) = app.checkout(&store, &cart, None, Some("retry-me"), &body).await;
    assert_eq!((status, &replay), (StatusCode::CREATED, &order));

    assert_eq!(fake.intents().len(), 1, "one PaymentIntent for the order");
    let creates = fake.requests().iter().filter(|r| *r == "POST /v1/payment_intents").count();
    assert_eq!(creates, 1, "the resumed saga found its intent and did not create another");
    assert_eq!(app.stock(&store, &variant).await, (9, 0));
}

#[tokio::test]
async fn a_keyless_checkout_retried_after_an_outage_resumes_its_order_and_creates_one_payment_intent() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let body = stripe_body("pm_card_visa");

    fake.fail_next_confirm(Fault::After);
    let (status, _) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "Stripe's outage is an unknown outcome");
    let (pending, _) = only_order(&app, &store).await;

    // Charged already, though nobody heard: the retry settles that order, not a new one.
    let (status, order) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!((order["id"].as_str().unwrap(), order["status"].as_str().unwrap()), (pending.as_str(), "paid"));
    let (status, replay) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!((status, &replay), (StatusCode::CREATED, &order));

    assert_eq!(fake.intents().len(), 1, "one PaymentIntent for the cart");
    assert_eq!(app.stock(&store, &variant).await, (9, 0));
}

#[tokio::test]
async fn the_worker_settles_a_charge_whose_answer_was_lost_by_retrieving_the_intent() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;

    fake.fail_next_confirm(Fault::After);
    let (status, _) = app.checkout(&store, &cart, None, Some("k1"), &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (order, state) = only_order(&app, &store).await;
    assert_eq!(state, "pending_payment");
    assert_eq!(app.stock(&store, &variant).await, (10, 2), "held while the outcome is unknown");

    let finished = tenant_api::orders::jobs::recover_pending_payments(&app.state, Duration::ZERO).await.unwrap();
    assert_eq!(finished, 1);
    assert_eq!(order_of(&app, &store, &order).await["status"], "paid");
    assert_eq!(app.stock(&store, &variant).await, (8, 0));
    let confirms = fake.requests().iter().filter(|r| r.ends_with("/confirm")).count();
    assert_eq!(confirms, 1, "recovery retrieves, never confirms");
    assert!(fake.requests().iter().any(|r| r.starts_with("GET /v1/payment_intents/")));
}

#[tokio::test]
async fn a_cart_whose_order_was_charged_is_not_checked_out_again_under_another_key_or_none() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let body = stripe_body("pm_card_visa");
    fake.fail_next_confirm(Fault::After);
    let (status, _) = app.checkout(&store, &cart, None, Some("k1"), &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (order, _) = only_order(&app, &store).await;

    // Charged, though nobody heard yet: the shopper gives up on the key.
    for key in [None, Some("k2")] {
        let (status, problem) = app.checkout(&store, &cart, None, key, &body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{key:?}: {problem}");
        assert_eq!(problem["type"], "/problems/checkout-in-progress");
    }
    // The worker settles it, where the cart is not at hand.
    let finished = tenant_api::orders::jobs::recover_pending_payments(&app.state, Duration::ZERO).await.unwrap();
    assert_eq!(finished, 1);
    let (status, problem) = app.checkout(&store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["type"], "/problems/cart-checked-out");
    assert_eq!(problem["order_id"], order.as_str());
    // Bought: the cart is gone, as after a checkout that saw its payment.
    let (status, _) = app.checkout(&store, &cart, None, Some("k3"), &body).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(fake.intents().len(), 1, "one PaymentIntent for the cart");
    assert_eq!(app.stock(&store, &variant).await, (8, 0));
    app.get_as(&store.host, &format!("/store/carts/{cart}"), None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_signed_webhook_settles_a_pending_order_and_a_duplicate_delivery_does_nothing() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    fake.fail_next_confirm(Fault::After);
    let (status, _) = app.checkout(&store, &cart, None, Some("k1"), &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (order, _) = only_order(&app, &store).await;
    let intent = fake.intents().remove(0);

    let event = intent_event("evt_1", "payment_intent.succeeded", &intent);
    let (status, body) = deliver(&app, &store.host, &webhook_secret(&store), &event, now()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"received": true, "duplicate": false}));
    assert_eq!(order_of(&app, &store, &order).await["status"], "paid");
    assert_eq!(app.stock(&store, &variant).await, (8, 0));

    // Stripe delivers at least once: the same event again changes nothing.
    let (status, body) = deliver(&app, &store.host, &webhook_secret(&store), &event, now()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["duplicate"], true);
    assert_eq!(app.stock(&store, &variant).await, (8, 0));
    assert_eq!(processed_events(&app, &store).await, 1);

    // An event we do not act on is acknowledged and recorded.
    let other = json!({"id": "evt_2", "type": "customer.created", "data": {"object": {"id": "cus_1"}}});
    let (status, _) = deliver(&app, &store.host, &webhook_secret(&store), &other, now()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_payment_failed_webhook_fails_the_order_and_releases_its_stock() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    fake.fail_next_confirm(Fault::After);
    let (status, _) = app.checkout(&store, &cart, None, None, &stripe_body("pm_card_chargeDeclined")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (order, _) = only_order(&app, &store).await;
    let intent = fake.intents().remove(0);

    let event = intent_event("evt_f", "payment_intent.payment_failed", &intent);
    let (status, _) = deliver(&app, &store.host, &webhook_secret(&store), &event, now()).await;
    assert_eq!(status, StatusCode::OK);
    let read = order_of(&app, &store, &order).await;
    assert_eq!(read["status"], "payment_failed");
    assert_eq!(read["payments"][0]["failure_code"], "card_declined");
    assert_eq!(app.stock(&store, &variant).await, (10, 0));
}

#[tokio::test]
async fn a_webhook_without_a_valid_signature_is_refused_with_400() {
    let (app, _fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let unconfigured = app.create_store("bravo").await;
    let event = json!({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_x"}}});
    let payload = serde_json::to_vec(&event).unwrap();
    let secret = webhook_secret(&store);

    let wrong_secret = webhook::sign(b"whsec_other", &payload, now());
    let stale = webhook::sign(secret.as_bytes(), &payload, now() - 301);
    let signed = webhook::sign(secret.as_bytes(), &payload, now());
    for (signature, body) in [
        (None, payload.clone()),
        (Some(wrong_secret.as_str()), payload.clone()),
        (Some(stale.as_str()), payload.clone()),
        (Some("t=abc,v1=zz"), payload.clone()),
        (
            Some(signed.as_str()),
            serde_json::to_vec(&json!({"id": "evt_2", "type": "x", "data": {"object": {}}})).unwrap(),
        ),
    ] {
        let (status, problem) = deliver_raw(&app, &store.host, signature, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{signature:?}: {problem}");
        assert_eq!(problem["status"], 400);
    }
    // A store without a webhook secret accepts nothing.
    let (status, _) = deliver_raw(&app, &unconfigured.host, Some(&signed), payload.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(processed_events(&app, &store).await, 0);

    // Signed but not an event: 400 too.
    let junk = b"not json".to_vec();
    let signature = webhook::sign(secret.as_bytes(), &junk, now());
    let (status, _) = deliver_raw(&app, &store.host, Some(&signature), junk).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_webhook_of_one_store_cannot_settle_another_stores_order() {
    let (app, fake) = stripe_app().await;
    let alpha = app.create_store("alpha").await;
    let bravo = app.create_store("bravo").await;
    use_stripe(&app, &alpha).await;
    use_stripe(&app, &bravo).await;
    let variant = app.product_with_stock(&bravo, "Hat", 1500, 10).await;
    let cart = app.cart_with(&bravo, None, &variant, 2).await;
    fake.fail_next_confirm(Fault::After);
    let (status, _) = app.checkout(&bravo, &cart, None, None, &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (order, _) = only_order(&app, &bravo).await;
    let intent = fake.intents().remove(0);
    assert_eq!(intent["metadata"]["order_id"], order.as_str());

    // Bravo's intent (its metadata names bravo's order), correctly signed for alpha, sent to alpha.
    let event = intent_event("evt_x", "payment_intent.succeeded", &intent);
    let (status, body) = deliver(&app, &alpha.host, &webhook_secret(&alpha), &event, now()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Alpha's secret on bravo's host.
    let (status, _) = deliver(&app, &bravo.host, &webhook_secret(&alpha), &event, now()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert_eq!(order_of(&app, &bravo, &order).await["status"], "pending_payment");
    assert_eq!(app.stock(&bravo, &variant).await, (10, 2), "bravo's hold untouched");
    assert_eq!(processed_events(&app, &bravo).await, 0);

    // Bravo's own delivery of the same event id still counts: ids are per store.
    let (status, body) = deliver(&app, &bravo.host, &webhook_secret(&bravo), &event, now()).await;
    assert_eq!((status, body["duplicate"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(order_of(&app, &bravo, &order).await["status"], "paid");
}

#[tokio::test]
async fn a_refund_of_a_stripe_order_is_made_at_stripe() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let (status, order) = app.checkout(&store, &cart, None, None, &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let id = order["id"].as_str().unwrap();

    let token = app.owner_token(&store).await;
    let refunded = app
        .post(
            &store.host,
            &format!("/admin/orders/{id}/refund"),
            Some(&token),
            json!({"amount": {"amount": 500, "currency": "USD"}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(refunded["status"], "partially_refunded");
    let refunds = fake.refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["amount"], 500);
    assert_eq!(refunds[0]["payment_intent"], fake.intents()[0]["id"]);
    assert_eq!(refunds[0]["metadata"]["order_id"], id);
    assert_eq!(order_of(&app, &store, id).await["payments"][0]["refunded"]["amount"], 500);
}

/// Ends every hold of the store now, as time would.
async fn expire_holds(app: &TestApp, store: &TestStore) {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query("update stock_reservation set expires_at = now() - interval '1 second' where tenant_id = $1")
        .bind(store.id())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A signed-in shopper's checkout with a card that needs 3-D Secure; returns
/// the shopper's token and the 202 answer.
pub(crate) async fn checkout_with_3ds(app: &TestApp, store: &TestStore, variant: &str, key: &str) -> (String, Value) {
    let token = app.customer(store, "ann@example.com").await["access_token"].as_str().unwrap().to_owned();
    let cart = app.cart_with(store, Some(&token), variant, 2).await;
    let body = stripe_body("pm_card_threeDSecure2Required");
    let (status, order) = app.checkout(store, &cart, Some(&token), Some(key), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{order}");
    (token, order)
}

#[tokio::test]
async fn a_3ds_checkout_answers_202_requires_action_and_the_succeeded_webhook_pays_it() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;

    let (token, order) = checkout_with_3ds(&app, &store, &variant, "k3ds").await;
    let intent = fake.intents().remove(0);
    assert_eq!(intent["status"], "requires_action");
    assert_eq!(order["status"], "requires_action");
    assert_eq!(order["payment"]["client_secret"], intent["client_secret"]);
    assert_eq!(order["payment"]["next_action"]["type"], "use_stripe_sdk");
    assert_eq!(order["payment"]["next_action"]["use_stripe_sdk"]["type"], "three_d_secure_redirect");
    assert_eq!(app.stock(&store, &variant).await, (10, 2), "held while the shopper authenticates");
    let id = order["id"].as_str().unwrap();

    let mine = app.get_as(&store.host, &format!("/store/orders/{id}"), Some(&token), StatusCode::OK).await;
    assert_eq!(mine["status"], "requires_action");
    let admin = order_of(&app, &store, id).await;
    assert_eq!(admin["status"], "pending_payment");
    assert_eq!(admin["payments"][0]["status"], "requires_action");

    // The shopper's browser finishes 3-D Secure with Stripe; Stripe says so by webhook.
    let intent = fake.authenticate(intent["id"].as_str().unwrap());
    let event = intent_event("evt_3ds", "payment_intent.succeeded", &intent);
    let (status, body) = deliver(&app, &store.host, &webhook_secret(&store), &event, now()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(order_of(&app, &store, id).await["status"], "paid");
    assert_eq!(app.stock(&store, &variant).await, (8, 0), "stock committed");
    let mine = app.get_as(&store.host, &format!("/store/orders/{id}"), Some(&token), StatusCode::OK).await;
    assert_eq!(mine["status"], "paid");
    let confirms = fake.requests().iter().filter(|r| r.ends_with("/confirm")).count();
    assert_eq!(confirms, 1);
}

#[tokio::test]
async fn a_3ds_checkout_replayed_with_its_key_answers_the_same_202() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let body = stripe_body("pm_card_threeDSecure2Required");

    let (status, first) = app.checkout(&store, &cart, None, Some("k1"), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, replay) = app.checkout(&store, &cart, None, Some("k1"), &body).await;
    assert_eq!((status, &replay), (StatusCode::ACCEPTED, &first));
    assert_eq!(fake.intents().len(), 1);
    assert_eq!(app.stock(&store, &variant).await, (10, 1));
}

#[tokio::test]
async fn a_3ds_order_whose_hold_expires_is_cancelled_at_stripe_and_its_stock_released() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let (_, order) = checkout_with_3ds(&app, &store, &variant, "k1").await;
    let id = order["id"].as_str().unwrap();
    let intent = fake.intents().remove(0)["id"].as_str().unwrap().to_owned();

    expire_holds(&app, &store).await;
    let settled = tenant_api::orders::jobs::expire_reservations(&app.state).await.unwrap();
    assert_eq!(settled, 1);
    assert!(fake.requests().contains(&format!("POST /v1/payment_intents/{intent}/cancel")), "{:?}", fake.requests());
    assert_eq!(fake.intents()[0]["status"], "canceled", "no payment can land after the release");
    let read = order_of(&app, &store, id).await;
    assert_eq!(read["status"], "cancelled");
    assert_eq!(read["cancel_reason"], "expired");
    assert_eq!(read["payments"][0]["status"], "failed");
    assert_eq!(app.stock(&store, &variant).await, (10, 0), "stock back");
}

#[tokio::test]
async fn a_3ds_payment_finished_before_the_expiry_but_not_yet_told_is_paid_not_released() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let (_, order) = checkout_with_3ds(&app, &store, &variant, "k1").await;
    let id = order["id"].as_str().unwrap();
    // The shopper authenticated; the webhook has not arrived when the hold expires.
    fake.authenticate(fake.intents()[0]["id"].as_str().unwrap());

    expire_holds(&app, &store).await;
    tenant_api::orders::jobs::expire_reservations(&app.state).await.unwrap();
    assert_eq!(order_of(&app, &store, id).await["status"], "paid", "Stripe refused the cancel: it succeeded");
    assert_eq!(app.stock(&store, &variant).await, (8, 0));
    assert_eq!(fake.intents()[0]["status"], "succeeded");
}

#[tokio::test]
async fn a_hung_stripe_leaves_the_checkout_unknown_and_the_order_holding_its_stock() {
    let fake = FakeStripe::start().await;
    let url = fake.url.clone();
    let app = spawn_app_configured(move |settings| {
        settings.stripe_api_base = url;
        settings.stripe_timeout_secs = 1;
    })
    .await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;

    fake.hang_confirms();
    let (status, _) = app.checkout(&store, &cart, None, Some("k1"), &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "no answer is an unknown outcome");
    assert_eq!(only_order(&app, &store).await.1, "pending_payment");
    assert_eq!(app.stock(&store, &variant).await, (10, 2), "held until the outcome is known");
}

#[tokio::test]
async fn stripe_refund_answers_become_succeeded_pending_failed_or_unknown() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let (status, order) = app.checkout(&store, &cart, None, None, &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let total = order["total"]["amount"].as_i64().unwrap();

    let payments = PaymentsState::from_ref(&app.state);
    let provider = payments.for_tenant(store.id()).await.unwrap().unwrap();
    let merchant =
        Merchant { tenant_id: store.tenant.id, cell: app.state.db.cell(&store.tenant.cell_id).await.unwrap() };
    let order = OrderId::parse(order["id"].as_str().unwrap()).unwrap();
    let refund = |id, amount| Refund { order, id, amount: Money::new(amount, store.tenant.currency), reason: None };
    let first = RefundId::new();

    fake.answer_refunds(RefundMode::Outage);
    assert!(provider.refund(&merchant, refund(first, 500)).await.is_err(), "a 500 is no answer");
    assert!(fake.refunds().is_empty());

    fake.answer_refunds(RefundMode::Pending);
    let pending = provider.refund(&merchant, refund(first, 500)).await.unwrap();
    assert_eq!(pending, RefundOutcome::Pending { reference: Some("re_fake_1".into()) });
    // Asked again with the same refund id: the same refund, never a second one.
    fake.answer_refunds(RefundMode::Succeed);
    assert_eq!(provider.refund(&merchant, refund(first, 500)).await.unwrap(), pending);
    assert_eq!(fake.refunds().len(), 1);

    let done = provider.refund(&merchant, refund(RefundId::new(), 700)).await.unwrap();
    assert_eq!(done, RefundOutcome::Succeeded { reference: Some("re_fake_2".into()) });
    let refused = provider.refund(&merchant, refund(RefundId::new(), total)).await.unwrap();
    assert_eq!(refused, RefundOutcome::Failed { code: "amount_too_large".into() });
    assert_eq!(fake.refunds().len(), 2);
}
