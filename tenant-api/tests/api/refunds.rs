//! Refunds as records: booked only when the provider accepted, once per
//! `Idempotency-Key`, through the provider that took the payment, settled by
//! the worker when the provider gave no answer; late charges given back.

use axum::extract::FromRef;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tenant_api::payments::breaker::{BreakerConfig, Breakers};

use crate::{
    fake_stripe::FakeStripe,
    helpers::{checkout_body, spawn_app, TestApp, TestStore},
    stripe::{
        checkout_with_3ds, deliver, intent_event, now, order_of, stripe_app, stripe_body, use_stripe, webhook_secret,
    },
};

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

/// A paid order of `quantity` × 10.00 through the test provider; its id.
async fn paid_order(app: &TestApp, store: &TestStore, quantity: i64) -> String {
    let variant = app.product_with_stock(store, "Lamp", 1000, 10).await;
    let cart = app.cart_with(store, None, &variant, quantity).await;
    let (status, order) =
        app.checkout(store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

/// `POST /admin/orders/{id}/refunds` with an optional key: status and body.
async fn refund(
    app: &TestApp,
    store: &TestStore,
    token: &str,
    order: &str,
    key: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
    let path = format!("/admin/orders/{order}/refunds");
    let (status, _, body) = app.send(Method::POST, &store.host, &path, Some(token), &headers, Some(&body)).await;
    (status, body)
}

/// What the test provider paid back for an order (its own ledger) and how many refunds it made.
async fn test_provider_refunds(app: &TestApp, store: &TestStore, order: &str) -> (i64, i64) {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_as(
        "select coalesce(sum(amount), 0)::bigint, count(*) from test_provider_refund where order_id = $1::uuid",
    )
    .bind(order)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

/// A store on Stripe (the fake) with a 15.00 product in stock, and its owner's token.
async fn stripe_shop() -> (TestApp, FakeStripe, TestStore, String, String) {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let staff = app.owner_token(&store).await;
    let variant = app.product_with_stock(&store, "Hat", 1500, 10).await;
    (app, fake, store, staff, variant)
}

/// An order of `quantity` of `variant` paid through Stripe; its id.
async fn paid_by_stripe(app: &TestApp, store: &TestStore, variant: &str, quantity: i64) -> String {
    let cart = app.cart_with(store, None, variant, quantity).await;
    let (status, order) = app.checkout(store, &cart, None, None, &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

/// Makes every pending refund of the store due now, as if its backoff had passed.
async fn make_due(app: &TestApp, store: &TestStore) {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query("update refund set next_attempt_at = now() where status = 'pending'").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn settle_due(app: &TestApp) -> usize {
    tenant_api::orders::refunds::settle_due(&app.state).await.unwrap()
}

#[tokio::test]
async fn a_refund_replayed_with_its_idempotency_key_refunds_once() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let order = paid_order(&app, &store, 3).await;
    let body = json!({"amount": usd(1000), "reason": "scratched"});

    // Sent twice one after the other, then eight times at once: one refund.
    for _ in 0..2 {
        let (status, answer) = refund(&app, &store, &staff, &order, Some("refund-1"), body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(
            (answer["status"].as_str(), answer["refunded_total"].clone()),
            (Some("partially_refunded"), usd(1000))
        );
    }
    let replays = (0..8).map(|_| refund(&app, &store, &staff, &order, Some("refund-1"), body.clone()));
    for (status, answer) in futures_util::future::join_all(replays).await {
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["refunded_total"], usd(1000));
    }
    assert_eq!(test_provider_refunds(&app, &store, &order).await, (1000, 1), "the provider refunded once");
    let answer = order_of(&app, &store, &order).await;
    assert_eq!(answer["refunds"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["refunds"][0]["status"], "succeeded");
    assert_eq!(answer["payments"][0]["refunded"], usd(1000));

    // The same key with another amount is refused; a new key refunds again.
    let (status, problem) = refund(&app, &store, &staff, &order, Some("refund-1"), json!({"amount": usd(500)})).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("/problems/idempotency-key-reused"))
    );
    let (status, answer) = refund(&app, &store, &staff, &order, Some("refund-2"), json!({"amount": usd(500)})).await;
    assert_eq!((status, answer["refunded_total"].clone()), (StatusCode::OK, usd(1500)));
    assert_eq!(test_provider_refunds(&app, &store, &order).await, (1500, 2));
}

#[tokio::test]
async fn concurrent_refunds_never_pass_what_was_paid() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let order = paid_order(&app, &store, 3).await;
    let keys: Vec<String> = (0..10).map(|i| format!("k{i}")).collect();
    let attempts = keys.iter().map(|k| refund(&app, &store, &staff, &order, Some(k), json!({"amount": usd(1000)})));
    let answers = futures_util::future::join_all(attempts).await;
    let ok = answers.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    for (status, answer) in &answers {
        assert!(
            matches!(*status, StatusCode::OK | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT),
            "{status} {answer}"
        );
    }
    assert_eq!(ok, 3, "three refunds of 10.00 fit a 30.00 order");
    let answer = order_of(&app, &store, &order).await;
    assert_eq!((answer["status"].as_str(), answer["refunded_total"].clone()), (Some("refunded"), usd(3000)));
    assert_eq!(test_provider_refunds(&app, &store, &order).await, (3000, 3));
}

#[tokio::test]
async fn a_refund_while_stripe_is_down_stays_pending_and_the_worker_settles_it_once() {
    let (app, fake, store, staff, variant) = stripe_shop().await;
    let order = paid_by_stripe(&app, &store, &variant, 2).await;

    fake.fail_next_refunds(2);
    let (status, answer) = refund(&app, &store, &staff, &order, Some("r1"), json!({"amount": usd(500)})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!((answer["status"].as_str(), answer["refunded_total"].clone()), (Some("paid"), usd(0)));
    assert_eq!(answer["refunds"][0]["status"], "pending");
    assert_eq!(answer["refunds"][0]["attempts"], 1);
    assert!(answer["refunds"][0]["last_error"].as_str().unwrap().contains("500"), "{answer}");
    assert_eq!(answer["payments"][0]["refunded"], usd(0), "nothing booked before Stripe accepts");
    let pending = app.get_as(&store.host, "/admin/refunds?status=pending", Some(&staff), StatusCode::OK).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);

    // Not due yet: the worker leaves it alone.
    assert_eq!(settle_due(&app).await, 0);
    // Due, Stripe still down: one more failed attempt, still pending.
    make_due(&app, &store).await;
    assert_eq!(settle_due(&app).await, 0);
    assert_eq!(order_of(&app, &store, &order).await["refunds"][0]["attempts"], 2);
    // Due, Stripe back: settled, booked, once.
    make_due(&app, &store).await;
    assert_eq!(settle_due(&app).await, 1);
    let answer = order_of(&app, &store, &order).await;
    assert_eq!((answer["status"].as_str(), answer["refunded_total"].clone()), (Some("partially_refunded"), usd(500)));
    assert_eq!(answer["refunds"][0]["status"], "succeeded");
    assert!(answer["refunds"][0]["provider_refund_id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(fake.refunds().len(), 1);
    // A replay of the request and another worker run change nothing.
    let (status, answer) = refund(&app, &store, &staff, &order, Some("r1"), json!({"amount": usd(500)})).await;
    assert_eq!((status, answer["refunded_total"].clone()), (StatusCode::OK, usd(500)));
    make_due(&app, &store).await;
    assert_eq!(settle_due(&app).await, 0);
    assert_eq!(fake.refunds().len(), 1, "exactly one refund at Stripe");
}

#[tokio::test]
async fn a_refund_whose_attempts_run_out_needs_attention_and_an_admin_can_retry_it() {
    let (app, fake, store, staff, variant) = stripe_shop().await;
    let order = paid_by_stripe(&app, &store, &variant, 1).await;

    let attempts = tenant_api::orders::refunds::MAX_ATTEMPTS as usize;
    fake.fail_next_refunds(attempts);
    let (status, _) = refund(&app, &store, &staff, &order, None, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // A worker whose circuit never opens: this test counts attempts (an
    // open circuit asks nobody, so it would count none).
    let worker = tenant_api::payments::PaymentsState {
        breakers: Breakers::new(BreakerConfig { failures: u32::MAX, ..BreakerConfig::default() }),
        ..tenant_api::payments::PaymentsState::from_ref(&app.state)
    };
    for _ in 1..attempts {
        make_due(&app, &store).await;
        tenant_api::orders::refunds::settle_due(&worker).await.unwrap();
    }
    let flagged = app.get_as(&store.host, "/admin/refunds?needs_attention=true", Some(&staff), StatusCode::OK).await;
    let items = flagged["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{flagged}");
    assert_eq!((items[0]["status"].as_str(), items[0]["attempts"].as_i64()), (Some("pending"), Some(attempts as i64)));
    // Flagged: the worker no longer asks, even when due.
    make_due(&app, &store).await;
    assert_eq!(settle_due(&app).await, 0);

    let id = items[0]["id"].as_str().unwrap();
    let retried =
        app.post(&store.host, &format!("/admin/refunds/{id}/retry"), Some(&staff), json!({}), StatusCode::OK).await;
    assert_eq!(retried["status"], "succeeded", "{retried}");
    let answer = order_of(&app, &store, &order).await;
    assert_eq!((answer["status"].as_str(), answer["refunded_total"].clone()), (Some("refunded"), usd(1500)));
    assert_eq!(fake.refunds().len(), 1);
}

#[tokio::test]
async fn a_store_that_moved_from_stripe_to_test_refunds_its_stripe_charges_at_stripe() {
    let (app, fake, store, staff, variant) = stripe_shop().await;
    let order = paid_by_stripe(&app, &store, &variant, 1).await;
    sqlx::query("update control.tenant_payment_settings set provider = 'test' where tenant_id = $1")
        .bind(store.id())
        .execute(app.state.db.control())
        .await
        .unwrap();
    app.state.payment_settings.forget(store.id());

    let (status, answer) = refund(&app, &store, &staff, &order, None, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["refunds"][0]["provider"], "stripe");
    assert_eq!(fake.refunds().len(), 1, "refunded where the money was taken");
    assert_eq!(test_provider_refunds(&app, &store, &order).await, (0, 0));
}

#[tokio::test]
async fn cancelling_a_paid_order_without_restocking_refunds_it_and_keeps_the_items_sold() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let variant = app.product_with_stock(&store, "Vase", 1000, 10).await;
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let (_, order) = app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    let id = order["id"].as_str().unwrap();
    let body = json!({"reason": "damaged in transit", "restock": false});
    let order = app.post(&store.host, &format!("/admin/orders/{id}/cancel"), Some(&staff), body, StatusCode::OK).await;
    assert_eq!((order["status"].as_str(), order["refunded_total"].clone()), (Some("cancelled"), usd(2000)));
    assert_eq!(order["refunds"][0]["kind"], "cancellation");
    assert_eq!(app.stock(&store, &variant).await, (8, 0), "not put back on hand");
    assert_eq!(test_provider_refunds(&app, &store, id).await, (2000, 1));
}

#[tokio::test]
async fn a_cancel_while_stripe_is_down_cancels_now_and_refunds_when_stripe_is_back() {
    let (app, fake, store, staff, variant) = stripe_shop().await;
    let id = paid_by_stripe(&app, &store, &variant, 2).await;

    fake.fail_next_refunds(1);
    let order =
        app.post(&store.host, &format!("/admin/orders/{id}/cancel"), Some(&staff), json!({}), StatusCode::OK).await;
    assert_eq!((order["status"].as_str(), order["refunded_total"].clone()), (Some("cancelled"), usd(0)));
    assert_eq!(order["refunds"][0]["status"], "pending");
    assert_eq!(app.stock(&store, &variant).await, (10, 0));
    make_due(&app, &store).await;
    assert_eq!(settle_due(&app).await, 1);
    let order = order_of(&app, &store, &id).await;
    assert_eq!((order["status"].as_str(), order["refunded_total"].clone()), (Some("cancelled"), usd(3000)));
    assert_eq!(fake.refunds().len(), 1);
}

#[tokio::test]
async fn a_3ds_payment_finished_after_staff_cancelled_the_order_is_given_back() {
    let (app, fake, store, staff, variant) = stripe_shop().await;
    // The checkout waits on 3-D Secure, holding its stock.
    let (_, order) = checkout_with_3ds(&app, &store, &variant, "k3ds").await;
    let id = order["id"].as_str().unwrap().to_owned();
    // Staff call it off meanwhile: the hold is released.
    let cancelled =
        app.post(&store.host, &format!("/admin/orders/{id}/cancel"), Some(&staff), json!({}), StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(app.stock(&store, &variant).await, (10, 0));

    // Then the shopper finishes 3-D Secure after all, and Stripe says so.
    let intent = fake.authenticate(fake.intents()[0]["id"].as_str().unwrap());
    let event = intent_event("evt_late", "payment_intent.succeeded", &intent);
    let (status, _) = deliver(&app, &store.host, &webhook_secret(&store), &event, now()).await;
    assert_eq!(status, StatusCode::OK);
    let answer = order_of(&app, &store, &id).await;
    assert_eq!(answer["status"], "cancelled", "a released order is not revived");
    assert_eq!(answer["refunds"][0]["kind"], "late_charge", "{answer}");
    assert_eq!(answer["refunds"][0]["status"], "pending");

    // The worker gives the money back, once.
    make_due(&app, &store).await;
    assert_eq!(settle_due(&app).await, 1);
    let answer = order_of(&app, &store, &id).await;
    assert_eq!(answer["refunded_total"], usd(3000), "the late charge was given back: {answer}");
    assert_eq!(answer["payments"][0]["refunded"], usd(3000));
    assert_eq!(fake.refunds().len(), 1);
    assert_eq!(app.stock(&store, &variant).await, (10, 0), "stock not taken twice");
    // The same event again changes nothing.
    let (status, _) = deliver(&app, &store.host, &webhook_secret(&store), &event, now()).await;
    assert_eq!(status, StatusCode::OK);
    make_due(&app, &store).await;
    assert_eq!(settle_due(&app).await, 0);
    assert_eq!(fake.refunds().len(), 1);
}

#[tokio::test]
async fn one_store_cannot_see_refund_or_retry_another_stores_refunds() {
    let app = spawn_app().await;
    let alpha = app.create_store("alpha").await;
    let beta = app.create_store("beta").await;
    let alpha_staff = app.owner_token(&alpha).await;
    let beta_staff = app.owner_token(&beta).await;
    let order = paid_order(&app, &alpha, 1).await;
    let (status, answer) = refund(&app, &alpha, &alpha_staff, &order, Some("x"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let refund_id = answer["refunds"][0]["id"].as_str().unwrap().to_owned();

    // Beta's token on beta's host: alpha's order and refund do not exist there.
    let (status, _) = refund(&app, &beta, &beta_staff, &order, Some("x"), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.get_as(&beta.host, &format!("/admin/orders/{order}/refunds"), Some(&beta_staff), StatusCode::NOT_FOUND).await;
    let listed = app.get_as(&beta.host, "/admin/refunds", Some(&beta_staff), StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]));
    app.post(
        &beta.host,
        &format!("/admin/refunds/{refund_id}/retry"),
        Some(&beta_staff),
        json!({}),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Beta's token on alpha's host is refused outright.
    let (status, _) = refund(&app, &alpha, &beta_staff, &order, Some("y"), json!({})).await;
    assert!(matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN), "{status}");
    assert_eq!(test_provider_refunds(&app, &alpha, &order).await, (1000, 1));
}

/// Staff cancel, a full refund, a partial refund and a replay of one key, all
/// at once on one paid order, for many rounds: the order ends with exactly
/// what the provider paid back booked, never more than was paid, and a
/// cancelled order always has everything back.
#[tokio::test]
async fn refunds_racing_each_other_and_a_cancel_book_exactly_what_the_provider_paid_back() {
    use tenant_api::orders::{
        model::OrderId,
        refunds::{self, RefundAsk},
        service, OrdersState,
    };

    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10_000).await;
    let state = OrdersState::from_ref(&app.state);
    let mut seen = [0usize; 2];
    for round in 0..60 {
        let order = crate::helpers::crashed_checkout(&app, &store, &variant, 3, Some("succeeded"), false).await;
        let id = OrderId::from_uuid(order);
        let mut tx = app.tenant_tx(&store).await;
        service::mark_paid(&mut tx, id).await.unwrap().expect("paid");
        tx.commit().await.unwrap();

        let ask = |amount: Option<i64>, key: &str| RefundAsk {
            amount,
            reason: None,
            idempotency_key: Some(format!("{key}-{round}")),
        };
        let (payments, tenant) = (&state.payments, &store.tenant);
        let (cancel, full, part, replay) = tokio::join!(
            // The cancel starts 0–15 ms after the refunds, so rounds cover it
            // landing before, between and after their bookings.
            async {
                tokio::time::sleep(std::time::Duration::from_millis(round % 6 * 3)).await;
                service::cancel(&state, tenant, id, None, true).await
            },
            async {
                tokio::time::sleep(std::time::Duration::from_millis(round / 4 % 4)).await;
                refunds::refund(payments, tenant, id, ask(None, "full")).await
            },
            refunds::refund(payments, tenant, id, ask(Some(1000), "part")),
            refunds::refund(payments, tenant, id, ask(Some(1000), "part")),
        );
        // Each did its part or was refused (nothing left, or the status no
        // longer allows it): a refusal is a problem a client handles, never an internal error.
        for (what, result) in
            [("full", full.as_ref().err()), ("part", part.as_ref().err()), ("replay", replay.as_ref().err())]
        {
            assert!(
                !matches!(result, Some(tenant_api::orders::Error::Internal(_))),
                "round {round}: {what} failed: {result:?}"
            );
        }
        assert!(
            !matches!(cancel, Err(tenant_api::orders::Error::Internal(_))),
            "round {round}: cancel failed: {:?}",
            cancel.err()
        );
        if let (Ok(a), Ok(b)) = (&part, &replay) {
            assert_eq!(a.id, b.id, "round {round}: one key, one refund");
        }

        // A refund whose answer was lost (a timeout on a loaded machine) is
        // pending: the worker settles it, and only then must the books agree.
        for _ in 0..10 {
            let mut tx = app.tenant_tx(&store).await;
            let pending: i64 = sqlx::query_scalar("select count(*) from refund where status = 'pending'")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            drop(tx);
            if pending == 0 {
                break;
            }
            make_due(&app, &store).await;
            settle_due(&app).await;
        }
        let mut tx = app.tenant_tx(&store).await;
        let (status, total, refunded, booked, paid_back, refunds_made): (String, i64, i64, i64, i64, i64) =
            sqlx::query_as(
                "select o.status, o.total, o.refunded_total, p.refunded_amount, \
                        (select coalesce(sum(amount), 0)::bigint from test_provider_refund t where t.order_id = o.order_id), \
                        (select count(*) from test_provider_refund t where t.order_id = o.order_id) \
                 from sales_order o join payment p using (tenant_id, order_id) where o.order_id = $1",
            )
            .bind(order)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let attempts: Vec<(String, i64, Option<String>)> =
            sqlx::query_as("select status, amount, last_error from refund where order_id = $1 order by created_at")
                .bind(order)
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        drop(tx);
        assert_eq!(
            (refunded, booked),
            (paid_back, paid_back),
            "round {round}: books match the provider ({status}; refunds {attempts:?})"
        );
        assert!(paid_back <= total, "round {round}: refunded {paid_back} of {total}");
        assert!(refunds_made <= 3, "round {round}: {refunds_made} refunds");
        match status.as_str() {
            "cancelled" => {
                assert_eq!(paid_back, total, "round {round}: a cancelled paid order has everything back");
                seen[0] += 1;
            }
            "refunded" => {
                assert_eq!(paid_back, total, "round {round}");
                seen[1] += 1;
            }
            other => panic!("round {round}: {other} with {paid_back} of {total} refunded"),
        }
    }
    assert!(seen[0] > 0 && seen[1] > 0, "cancelled / refunded: {seen:?}");
}

/// A pending refund of `store` written as the worker finds it, due `secs`
/// from now (negative: overdue); its id.
async fn pending_refund(app: &TestApp, store: &TestStore, secs: f64, flagged: bool) -> String {
    let id = uuid::Uuid::now_v7();
    let mut tx = app.tenant_tx(store).await;
    sqlx::query(
        "insert into refund (tenant_id, refund_id, order_id, amount, currency, status, provider, \
             next_attempt_at, needs_attention) \
         values ($1, $2, $3, 100, 'USD', 'pending', 'stripe', now() + make_interval(secs => $4), $5)",
    )
    .bind(store.id())
    .bind(id)
    .bind(uuid::Uuid::now_v7())
    .bind(secs)
    .bind(flagged)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id.to_string()
}

#[tokio::test]
async fn the_settling_job_takes_each_stores_longest_due_refunds_first_and_leaves_flagged_and_later_ones() {
    use tenant_api::orders::refunds::repo::due;
    let app = spawn_app().await;
    let (big, small) = (app.create_store("backlog").await, app.create_store("few").await);
    let mut backlog = Vec::new();
    for n in 0..6 {
        backlog.push(pending_refund(&app, &big, -100.0 + f64::from(n), false).await);
    }
    let few = pending_refund(&app, &small, -10.0, false).await;
    pending_refund(&app, &small, -500.0, true).await; // flagged: an admin's, not the job's
    pending_refund(&app, &small, 60.0, false).await; // not due yet

    let due_ids = |limit: i64, per_store: i64| {
        let db = app.state.db.clone();
        async move {
            let mut tx = db.system_tx(platform::db::DEFAULT_CELL).await.unwrap();
            due(&mut tx, limit, per_store).await.unwrap().into_iter().map(|(_, id)| id.to_string()).collect::<Vec<_>>()
        }
    };
    // Every store's longest-due before any store's second, oldest first
    // within a round; at most `per_store` of one store.
    assert_eq!(due_ids(100, 3).await, [&backlog[0], &few, &backlog[1], &backlog[2]].map(String::clone));
    assert_eq!(due_ids(2, 3).await, [&backlog[0], &few].map(String::clone), "a short batch takes every store's first");
    assert_eq!(due_ids(100, 10).await.len(), 7, "the flagged and the not-yet-due are left out");
}
