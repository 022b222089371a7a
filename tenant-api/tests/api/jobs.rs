//! The worker's jobs isolate failures: one store's provider error is recorded
//! against that order (backoff, then `needs_attention`, listed for its staff)
//! and never stops another store's work.

use axum::extract::FromRef;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tenant_api::{
    orders::jobs::{expire_reservations, EXPIRY},
    payments::{
        breaker::{BreakerConfig, Breakers},
        PaymentsState,
    },
    worker::{
        attempts::{self, Policy},
        WorkerState,
    },
};
use uuid::Uuid;

use crate::{
    fake_stripe::{FakeStripe, Fault},
    helpers::{checkout_body, crashed_checkout, spawn_app, Auth, TestApp, TestStore},
    stripe::{secret_key, stripe_app, stripe_body, use_stripe},
};

/// A Stripe checkout whose confirmation fails with `fault` (the order stays
/// `pending_payment` with its intent recorded), its hold then past expiry.
async fn expired_stripe_order(app: &TestApp, fake: &FakeStripe, store: &TestStore, variant: &str) -> Uuid {
    let cart = app.cart_with(store, None, variant, 1).await;
    fake.fail_next_confirm(Fault::After);
    let (status, _) = app.checkout(store, &cart, None, None, &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "the charge's outcome is unknown");
    let mut tx = app.tenant_tx(store).await;
    let order: Uuid = sqlx::query_scalar(
        "update stock_reservation set expires_at = now() - interval '1 minute' \
         where tenant_id = $1 and status = 'held' and expires_at > now() returning order_id",
    )
    .bind(store.id())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    order
}

async fn status_of(app: &TestApp, store: &TestStore, order: Uuid) -> String {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar("select status from sales_order where tenant_id = $1 and order_id = $2")
        .bind(store.id())
        .bind(order)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

/// `(attempts, needs_attention)` of the order's row for `job`, if any.
async fn attempt_of(app: &TestApp, store: &TestStore, job: &str, order: Uuid) -> Option<(i32, bool)> {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_as(
        "select attempts, needs_attention from job_attempt where tenant_id = $1 and job = $2 and subject = $3",
    )
    .bind(store.id())
    .bind(job)
    .bind(order)
    .fetch_optional(&mut *tx)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_revoked_stripe_key_does_not_stop_another_stores_expired_holds_from_being_released() {
    let (app, fake) = stripe_app().await;
    let revoked = app.create_store("revoked").await;
    let healthy = app.create_store("healthy").await;
    let plain = app.create_store("plain").await;
    use_stripe(&app, &revoked).await;
    use_stripe(&app, &healthy).await;
    let on_revoked = app.product_with_stock(&revoked, "Hat", 1000, 10).await;
    let on_healthy = app.product_with_stock(&healthy, "Hat", 1000, 10).await;
    let on_plain = app.product_with_stock(&plain, "Hat", 1000, 10).await;

    // Several expired holds whose charges Stripe must be asked about, at a store
    // whose key is then revoked; a healthy Stripe store and a test-provider
    // store each have one abandoned checkout.
    let mut stuck = Vec::new();
    for _ in 0..4 {
        stuck.push(expired_stripe_order(&app, &fake, &revoked, &on_revoked).await);
    }
    let cart = app.cart_with(&healthy, None, &on_healthy, 1).await;
    fake.fail_next_confirm(Fault::Before);
    let (status, _) = app.checkout(&healthy, &cart, None, None, &stripe_body("pm_card_visa")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let mut tx = app.tenant_tx(&healthy).await;
    let abandoned: Uuid = sqlx::query_scalar(
        "update stock_reservation set expires_at = now() - interval '1 minute' where tenant_id = $1 \
         returning order_id",
    )
    .bind(healthy.id())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let plain_order = crashed_checkout(&app, &plain, &on_plain, 2, None, true).await;
    fake.revoke(&secret_key(&revoked));

    let settled = expire_reservations(&app.state).await.expect("one store's error is not the run's");

    assert_eq!(settled, 2, "the healthy store's and the plain store's holds");
    assert_eq!(status_of(&app, &healthy, abandoned).await, "cancelled");
    assert_eq!(app.stock(&healthy, &on_healthy).await, (10, 0), "the healthy store's hold released");
    assert_eq!(status_of(&app, &plain, plain_order).await, "cancelled");
    assert_eq!(app.stock(&plain, &on_plain).await, (10, 0));
    // The revoked store keeps its holds (the charges may have happened). Each
    // failure is recorded against its order, until the account's circuit
    // opens (the checkouts' lost answers counted too): the orders after that
    // were not tried, and stay due.
    assert_eq!(app.stock(&revoked, &on_revoked).await, (10, 4));
    let mut recorded = 0;
    for order in &stuck {
        assert_eq!(status_of(&app, &revoked, *order).await, "pending_payment");
        if let Some(attempt) = attempt_of(&app, &revoked, EXPIRY, *order).await {
            assert_eq!(attempt, (1, false));
            recorded += 1;
        }
    }
    assert!(recorded >= 1, "the revoked key's failure is recorded");

    // The next run backs off: Stripe is not asked again right away.
    let asked = fake.requests().len();
    assert_eq!(expire_reservations(&app.state).await.unwrap(), 0);
    assert_eq!(fake.requests().len(), asked, "failed orders wait for their next attempt");
}

/// The worker's own state over the app's, with a circuit that never opens:
/// the tests using it are about attempts, not the breaker.
fn worker_without_breaker(app: &TestApp) -> WorkerState {
    let payments = PaymentsState {
        breakers: Breakers::new(BreakerConfig { failures: u32::MAX, ..BreakerConfig::default() }),
        ..PaymentsState::from_ref(&app.state)
    };
    WorkerState { payments, ..WorkerState::from_ref(&app.state) }
}

/// Seconds from the record's last failure to its next attempt.
async fn wait_of(app: &TestApp, store: &TestStore, order: Uuid) -> f64 {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar(
        "select extract(epoch from next_attempt_at - updated_at)::float8 from job_attempt \
         where tenant_id = $1 and subject = $2",
    )
    .bind(store.id())
    .bind(order)
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

/// The backoff has passed (what waiting would do, without a clock in the test).
async fn make_due(app: &TestApp, store: &TestStore, order: Uuid) {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query("update job_attempt set next_attempt_at = now() where tenant_id = $1 and subject = $2")
        .bind(store.id())
        .bind(order)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn retry_path(job: &str, order: Uuid) -> String {
    format!("/admin/attention/{job}/{order}/retry")
}

#[tokio::test]
async fn an_order_that_keeps_failing_backs_off_then_needs_attention_and_is_listed_for_its_staff() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let order = expired_stripe_order(&app, &fake, &store, &variant).await;
    fake.revoke(&secret_key(&store));
    let worker = worker_without_breaker(&app);
    let max = Policy::from(&*worker.commerce).max_attempts;
    assert_eq!(max, 8, "the default");

    for attempt in 1..=max {
        assert_eq!(expire_reservations(&worker).await.unwrap(), 0);
        let recorded = attempt_of(&app, &store, EXPIRY, order).await;
        assert_eq!(recorded, Some((attempt, attempt == max)), "attempt {attempt}");
        let wait = wait_of(&app, &store, order).await;
        let (shortest, longest) = (attempts::backoff(attempt, 0.0), attempts::backoff(attempt, 1.0));
        assert!(
            wait >= shortest.as_secs_f64() - 0.001 && wait <= longest.as_secs_f64() + 0.001,
            "attempt {attempt}: waits {wait} s, not within {shortest:?}..{longest:?}"
        );
        // Until then, runs leave it alone.
        let asked = fake.requests().len();
        expire_reservations(&worker).await.unwrap();
        assert_eq!(fake.requests().len(), asked, "attempt {attempt}: tried again before its backoff");
        make_due(&app, &store, order).await;
    }
    // Needing attention, it is not tried again even when due.
    let asked = fake.requests().len();
    expire_reservations(&worker).await.unwrap();
    assert_eq!(fake.requests().len(), asked);
    assert_eq!(attempt_of(&app, &store, EXPIRY, order).await, Some((max, true)));
    assert_eq!(status_of(&app, &store, order).await, "pending_payment");
    assert_eq!(app.stock(&store, &variant).await, (10, 1), "still held: the charge may have happened");

    // Its staff see it (staff role, read).
    let staff = app.staff(&store).await;
    let listed = app.admin("GET", &store, "/admin/attention", &staff, None, StatusCode::OK).await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["job"], EXPIRY);
    assert_eq!(items[0]["subject"], order.to_string());
    assert_eq!(items[0]["attempts"], max);
    assert_eq!(items[0]["needs_attention"], true);
    assert!(items[0]["last_error"].as_str().unwrap().contains("401"), "{listed}");
    assert!(items[0]["next_attempt_at"].is_string());
    assert_eq!(listed["next_cursor"], Value::Null);
    let filtered =
        app.admin("GET", &store, "/admin/attention?needs_attention=false", &staff, None, StatusCode::OK).await;
    assert_eq!(filtered["items"], json!([]));

    // Retrying is an admin's: a staff member is refused and nothing changes.
    app.admin("POST", &store, &retry_path(EXPIRY, order), &staff, None, StatusCode::FORBIDDEN).await;
    assert_eq!(attempt_of(&app, &store, EXPIRY, order).await, Some((max, true)));

    // The merchant fixes the key; an admin retries; the next run settles it.
    fake.restore(&secret_key(&store));
    let owner = Auth::Staff(app.owner_token(&store).await);
    let retried = app.admin("POST", &store, &retry_path(EXPIRY, order), &owner, None, StatusCode::OK).await;
    assert_eq!(retried["needs_attention"], false);
    assert_eq!(retried["attempts"], max);
    assert_eq!(expire_reservations(&worker).await.unwrap(), 1);
    assert_eq!(status_of(&app, &store, order).await, "paid", "Stripe had charged it");
    assert_eq!(app.stock(&store, &variant).await, (9, 0));
    assert_eq!(attempt_of(&app, &store, EXPIRY, order).await, None, "a success clears the record");
    let listed = app.admin("GET", &store, "/admin/attention", &staff, None, StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn another_store_can_neither_list_nor_retry_a_stores_attention_entries() {
    let app = spawn_app().await;
    let alpha = app.create_store("alpha").await;
    let bravo = app.create_store("bravo").await;
    let order = Uuid::now_v7();
    let mut tx = app.tenant_tx(&alpha).await;
    let policy = Policy { max_attempts: 1 };
    let error = anyhow::anyhow!("the provider did not answer");
    attempts::record_failure(&mut tx, policy, EXPIRY, order, &error).await.unwrap();
    tx.commit().await.unwrap();

    let alpha_owner = Auth::Staff(app.owner_token(&alpha).await);
    let bravo_owner = Auth::Staff(app.owner_token(&bravo).await);
    let listed = app.admin("GET", &alpha, "/admin/attention", &alpha_owner, None, StatusCode::OK).await;
    assert_eq!(listed["items"][0]["subject"], order.to_string());
    assert_eq!(listed["items"][0]["needs_attention"], true);

    let seen = app.admin("GET", &bravo, "/admin/attention", &bravo_owner, None, StatusCode::OK).await;
    assert_eq!(seen["items"], json!([]), "bravo sees none of alpha's entries");
    app.admin("POST", &bravo, &retry_path(EXPIRY, order), &bravo_owner, None, StatusCode::NOT_FOUND).await;
    // Alpha's token on bravo's host is no credential there.
    app.admin("GET", &bravo, "/admin/attention", &alpha_owner, None, StatusCode::UNAUTHORIZED).await;
    app.admin("POST", &bravo, &retry_path(EXPIRY, order), &alpha_owner, None, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        app.admin("GET", &alpha, "/admin/attention", &alpha_owner, None, StatusCode::OK).await["items"][0]
            ["needs_attention"],
        true,
        "alpha's entry untouched"
    );

    // Paths that name nothing of the store are 404s; a bad query a 400.
    app.admin("POST", &alpha, &retry_path("no-such-job", order), &alpha_owner, None, StatusCode::NOT_FOUND).await;
    app.admin(
        "POST",
        &alpha,
        "/admin/attention/reservation-expiry/nope/retry",
        &alpha_owner,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    app.admin("GET", &alpha, "/admin/attention?needs_attention=maybe", &alpha_owner, None, StatusCode::BAD_REQUEST)
        .await;
    app.admin("GET", &alpha, "/admin/attention?limit=0", &alpha_owner, None, StatusCode::BAD_REQUEST).await;
    let retried = app.admin("POST", &alpha, &retry_path(EXPIRY, order), &alpha_owner, None, StatusCode::OK).await;
    assert_eq!(retried["needs_attention"], false);
}

#[tokio::test]
async fn attention_entries_are_paged_newest_first() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let mut tx = app.tenant_tx(&store).await;
    let orders: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    for order in &orders {
        let error = anyhow::anyhow!("down");
        attempts::record_failure(&mut tx, Policy::default(), EXPIRY, *order, &error).await.unwrap();
    }
    tx.commit().await.unwrap();
    let owner = Auth::Staff(app.owner_token(&store).await);
    let first = app.admin("GET", &store, "/admin/attention?limit=2", &owner, None, StatusCode::OK).await;
    let cursor = first["next_cursor"].as_str().expect("a full page has a cursor");
    let rest = app
        .admin("GET", &store, &format!("/admin/attention?limit=2&cursor={cursor}"), &owner, None, StatusCode::OK)
        .await;
    let subjects: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|i| i["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), 3);
    assert_eq!(rest["next_cursor"], Value::Null);
    let mut all: Vec<String> = orders.iter().map(Uuid::to_string).collect();
    all.sort();
    all.reverse();
    let mut seen: Vec<String> = subjects.iter().map(|s| s.to_string()).collect();
    seen.sort();
    seen.reverse();
    assert_eq!(seen, all, "every entry once");
}

#[tokio::test]
async fn checkouts_fail_fast_with_503_and_retry_after_once_a_stores_stripe_account_keeps_failing() {
    let (app, fake) = stripe_app().await;
    let store = app.create_store("alpha").await;
    let plain = app.create_store("bravo").await;
    use_stripe(&app, &store).await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let failures = i32::try_from(app.state.commerce.breaker_failures).unwrap();

    fake.set_outage(true);
    for n in 0..failures {
        let cart = app.cart_with(&store, None, &variant, 1).await;
        let (status, _) = app.checkout(&store, &cart, None, None, &stripe_body("pm_card_visa")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "checkout {n}: an unknown outcome");
    }
    // Those orders hold their stock: whether Stripe charged them is unknown.
    assert_eq!(app.stock(&store, &variant).await, (10, failures));
    let asked = fake.requests().len();

    let cart = app.cart_with(&store, None, &variant, 1).await;
    let response = app
        .client
        .post(format!("{}/store/carts/{cart}/checkout", app.address))
        .header("host", &store.host)
        .json(&stripe_body("pm_card_visa"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=app.state.commerce.breaker_cool_down_secs).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    assert!(problem["type"].as_str().unwrap().ends_with("payment-provider-unavailable"), "{problem}");
    assert_eq!(problem["status"], 503);

    assert_eq!(fake.requests().len(), asked, "Stripe was not called");
    assert_eq!(app.stock(&store, &variant).await, (10, failures), "this checkout holds nothing");
    let mut tx = app.tenant_tx(&store).await;
    let orders: i64 = sqlx::query_scalar("select count(*) from sales_order where tenant_id = $1")
        .bind(store.id())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(orders, i64::from(failures), "no order was placed");

    // Other stores are not refused.
    let on_plain = app.product_with_stock(&plain, "Hat", 1000, 10).await;
    let cart = app.cart_with(&plain, None, &on_plain, 1).await;
    let (status, _) = app.checkout(&plain, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_record_whose_order_was_settled_elsewhere_leaves_the_listing_at_the_next_run() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Hat", 1000, 10).await;
    let stuck = crashed_checkout(&app, &store, &variant, 1, None, true).await;
    let settled = Uuid::now_v7();
    let mut tx = app.tenant_tx(&store).await;
    for order in [stuck, settled] {
        let error = anyhow::anyhow!("down");
        attempts::record_failure(&mut tx, Policy { max_attempts: 1 }, EXPIRY, order, &error).await.unwrap();
    }
    tx.commit().await.unwrap();

    assert_eq!(expire_reservations(&app.state).await.unwrap(), 0, "the stuck order waits for staff");
    assert_eq!(attempt_of(&app, &store, EXPIRY, stuck).await, Some((1, true)));
    assert_eq!(attempt_of(&app, &store, EXPIRY, settled).await, None, "no longer an expired hold: dropped");
}

#[tokio::test]
async fn a_store_with_hundreds_of_stuck_holds_costs_a_run_a_few_provider_calls_and_delays_no_one() {
    let (app, fake) = stripe_app().await;
    let stuck = app.create_store("stuck").await;
    let plain = app.create_store("plain").await;
    use_stripe(&app, &stuck).await;
    fake.revoke(&secret_key(&stuck));
    let on_stuck = app.product_with_stock(&stuck, "Hat", 1000, 1000).await;
    let on_plain = app.product_with_stock(&plain, "Hat", 1000, 10).await;
    // 500 expired holds whose Stripe charges are pending, written as step 1
    // and the intent's creation leave them.
    let mut tx = app.tenant_tx(&stuck).await;
    for sql in [
        "update inventory_level set reserved = 500 where tenant_id = $1 and variant_id = $2",
        "insert into sales_order (tenant_id, order_id, number, status, email, currency, subtotal, total, \
                                  shipping_address, created_at) \
         select $1, gen_random_uuid(), 1000 + g, 'pending_payment', 'ann@example.com', 'USD', 1000, 1000, \
                '{\"name\": \"Ann\", \"line1\": \"1 Main St\", \"city\": \"X\", \"postal_code\": \"1\", \"country\": \"US\"}', \
                now() - interval '1 hour' from generate_series(1, 500) g",
        "insert into stock_reservation (tenant_id, order_id, variant_id, quantity, expires_at) \
         select $1, order_id, $2, 1, now() - interval '1 minute' from sales_order where tenant_id = $1",
        "insert into payment (tenant_id, order_id, payment_id, provider, provider_payment_id, status, amount, currency) \
         select $1, order_id, gen_random_uuid(), 'stripe', 'pi_stuck_' || number, 'pending', 1000, 'USD' \
         from sales_order where tenant_id = $1",
    ] {
        sqlx::query(&format!("with _ as (select $1::uuid, $2::uuid) {sql}"))
            .bind(stuck.id())
            .bind(Uuid::parse_str(&on_stuck).unwrap())
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    tx.commit().await.unwrap();
    let abandoned = crashed_checkout(&app, &plain, &on_plain, 1, None, true).await;

    let started = std::time::Instant::now();
    assert_eq!(expire_reservations(&app.state).await.unwrap(), 1);
    eprintln!("one expiry run beside 500 stuck holds: {:?}, {} Stripe calls", started.elapsed(), fake.requests().len());
    assert_eq!(status_of(&app, &plain, abandoned).await, "cancelled", "released in the same run");
    let calls = fake.requests().len();
    assert!(calls <= app.state.commerce.breaker_failures as usize, "{calls} calls: the circuit stops them");
    let mut tx = app.tenant_tx(&stuck).await;
    let recorded: i64 = sqlx::query_scalar("select count(*) from job_attempt where tenant_id = $1")
        .bind(stuck.id())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    drop(tx);
    assert_eq!(recorded, calls as i64, "each failed call is one order's attempt; the others stay due");
    assert_eq!(app.stock(&stuck, &on_stuck).await, (1000, 500), "every stuck hold kept");
}
