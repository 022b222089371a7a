//! Crashes between saga steps, recovered by the worker's jobs. The crash
//! states are written directly, then one run of the job function settles them.

use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{checkout_body, crashed_checkout, spawn_app, TestApp, TestStore};

async fn status_of(app: &TestApp, store: &TestStore, order: Uuid) -> (String, i64) {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_as(
        "select status, (select count(*) from payment p where p.tenant_id = o.tenant_id and p.order_id = o.order_id) \
         from sales_order o where order_id = $1",
    )
    .bind(order)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_crash_after_a_successful_charge_is_finished_as_paid_without_charging_again() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let order = crashed_checkout(&app, &store, &variant, 2, Some("succeeded"), false).await;
    assert_eq!(app.stock(&store, &variant).await, (10, 2));

    let finished = tenant_api::orders::jobs::recover_pending_payments(&app.state, Duration::ZERO).await.unwrap();
    assert_eq!(finished, 1);
    assert_eq!(status_of(&app, &store, order).await, ("paid".into(), 1), "one charge, still");
    assert_eq!(app.stock(&store, &variant).await, (8, 0), "the held units were sold");
    // A second run finds nothing to do.
    assert_eq!(tenant_api::orders::jobs::recover_pending_payments(&app.state, Duration::ZERO).await.unwrap(), 0);
}

#[tokio::test]
async fn a_crash_after_a_declined_charge_is_finished_as_failed_and_releases_the_stock() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let order = crashed_checkout(&app, &store, &variant, 3, Some("failed"), false).await;
    tenant_api::orders::jobs::recover_pending_payments(&app.state, Duration::ZERO).await.unwrap();
    assert_eq!(status_of(&app, &store, order).await, ("payment_failed".into(), 1));
    assert_eq!(app.stock(&store, &variant).await, (10, 0));
}

#[tokio::test]
async fn recovery_leaves_young_and_uncharged_orders_to_their_checkout() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let uncharged = crashed_checkout(&app, &store, &variant, 1, None, false).await;
    let charged = crashed_checkout(&app, &store, &variant, 1, Some("succeeded"), false).await;
    // A grace longer than the orders' age: they may still be in their checkout.
    tenant_api::orders::jobs::recover_pending_payments(&app.state, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(status_of(&app, &store, charged).await.0, "pending_payment");
    tenant_api::orders::jobs::recover_pending_payments(&app.state, Duration::ZERO).await.unwrap();
    assert_eq!(status_of(&app, &store, uncharged).await, ("pending_payment".into(), 0), "never charged by the worker");
    assert_eq!(status_of(&app, &store, charged).await.0, "paid");
}

#[tokio::test]
async fn an_abandoned_checkout_gives_its_stock_back_when_the_hold_expires() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let live = crashed_checkout(&app, &store, &variant, 1, None, false).await;
    let abandoned = crashed_checkout(&app, &store, &variant, 4, None, true).await;
    assert_eq!(app.stock(&store, &variant).await, (10, 5));

    let settled = tenant_api::orders::jobs::expire_reservations(&app.state).await.unwrap();
    assert_eq!(settled, 1);
    assert_eq!(status_of(&app, &store, abandoned).await, ("cancelled".into(), 0));
    assert_eq!(status_of(&app, &store, live).await.0, "pending_payment");
    assert_eq!(app.stock(&store, &variant).await, (10, 1), "only the expired hold came back");
}

#[tokio::test]
async fn an_expired_hold_whose_charge_went_through_is_sold_not_released() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let order = crashed_checkout(&app, &store, &variant, 2, Some("succeeded"), true).await;
    tenant_api::orders::jobs::expire_reservations(&app.state).await.unwrap();
    assert_eq!(status_of(&app, &store, order).await.0, "paid");
    assert_eq!(app.stock(&store, &variant).await, (8, 0));
}

#[tokio::test]
async fn a_retry_after_a_crash_resumes_the_same_order_and_charges_once() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let body = checkout_body("ann@example.com", "tok_success");
    // The first attempt claimed the key, placed its order and charged it, then died.
    let order = crashed_checkout(&app, &store, &variant, 2, Some("succeeded"), false).await;
    let key = tenant_api::orders::idempotency::record_key(
        store.id(),
        &format!("POST /store/carts/{cart}/checkout"),
        "guest",
        "crash-key",
    );
    let mut redis = app.state.redis.clone();
    let hash = tenant_api::orders::idempotency::request_hash(&body);
    tenant_api::orders::idempotency::claim(&mut redis, &key, &hash, order, 30).await.unwrap();
    tenant_api::orders::idempotency::abandon(&mut redis, &key, &hash, order).await.unwrap();

    let (status, resumed) = app.checkout(&store, &cart, None, Some("crash-key"), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{resumed}");
    assert_eq!(resumed["id"], order.to_string(), "the same order, not a new one");
    assert_eq!(resumed["status"], "paid");
    assert_eq!(status_of(&app, &store, order).await, ("paid".into(), 1));
    assert_eq!(app.stock(&store, &variant).await, (8, 0));
    // And the retry's answer is now the replayed one.
    let (status, replayed) = app.checkout(&store, &cart, None, Some("crash-key"), &body).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, resumed));
}

/// The built-in provider's charge is written in the transaction that settles
/// the order. An order cancelled while that transaction waits for its lock is
/// not charged at all: the charge rolls back with it, so no money moved and no
/// refund is owed.
#[tokio::test]
async fn a_charge_racing_a_cancellation_is_rolled_back_with_it_and_no_money_moves() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let body = checkout_body("ann@example.com", "tok_success");
    // An earlier attempt placed the order and died before charging.
    let order = crashed_checkout(&app, &store, &variant, 2, None, false).await;
    let key = tenant_api::orders::idempotency::record_key(
        store.id(),
        &format!("POST /store/carts/{cart}/checkout"),
        "guest",
        "race-key",
    );
    let mut redis = app.state.redis.clone();
    let hash = tenant_api::orders::idempotency::request_hash(&body);
    tenant_api::orders::idempotency::claim(&mut redis, &key, &hash, order, 30).await.unwrap();
    tenant_api::orders::idempotency::abandon(&mut redis, &key, &hash, order).await.unwrap();

    // Staff hold the order's row lock; the retry's settling transaction queues behind it.
    let mut staff = app.tenant_tx(&store).await;
    sqlx::query("select 1 from sales_order where order_id = $1 for update")
        .bind(order)
        .execute(&mut *staff)
        .await
        .unwrap();
    let retry = app.checkout(&store, &cart, None, Some("race-key"), &body);
    let cancel = async {
        let mut waited = 0;
        loop {
            let waiting: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_activity \
                 where datname = current_database() and wait_event_type = 'Lock'",
            )
            .fetch_one(app.state.db.control())
            .await
            .unwrap();
            if waiting > 0 {
                break;
            }
            waited += 1;
            assert!(waited < 200, "the retry never waited for the order's lock");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        // The order is cancelled (its hold released) and that commits first.
        sqlx::query("update sales_order set status = 'cancelled', cancelled_at = now() where order_id = $1")
            .bind(order)
            .execute(&mut *staff)
            .await
            .unwrap();
        tenant_api::inventory::reservations::release(&mut staff, order).await.unwrap();
        staff.commit().await.unwrap();
    };
    let ((status, answer), ()) = tokio::join!(retry, cancel);
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(status_of(&app, &store, order).await, ("cancelled".into(), 0), "no charge stands");
    let refunds: i64 = {
        let mut tx = app.tenant_tx(&store).await;
        sqlx::query_scalar("select count(*) from refund where order_id = $1")
            .bind(order)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(refunds, 0, "nothing was charged, so nothing goes back");
    assert_eq!(app.stock(&store, &variant).await, (10, 0), "the hold came back once");
}
