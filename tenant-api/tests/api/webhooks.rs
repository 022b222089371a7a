//! Merchant webhooks: creation (secret shown once, events and URLs checked,
//! internal targets refused), roles, other stores, and delivery signed per
//! Standard Webhooks to a receiver this test runs.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{extract::State, http::HeaderMap, routing::post, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use tenant_api::notifications::delivery::{Deliverer, DeliverySettings};

use crate::helpers::{checkout_body, spawn_app, spawn_app_configured, Auth, TestApp, TestStore};

/// One request the receiver answered.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct Behaviour {
    answered: Mutex<Vec<Received>>,
    arrivals: AtomicUsize,
    /// Answer this many requests with a 500 before answering 200.
    failures: AtomicUsize,
    /// While true, requests wait (an endpoint that hangs).
    hang: Option<tokio::sync::watch::Receiver<bool>>,
}

/// A webhook endpoint: a tiny HTTP server on 127.0.0.1 recording what it
/// answered.
pub struct Receiver {
    pub url: String,
    state: Arc<Behaviour>,
    hang: tokio::sync::watch::Sender<bool>,
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn start() -> Self {
        Self::start_with(0, false).await
    }

    /// Answers the first `failures` requests with 500; hangs while `hanging`.
    pub async fn start_with(failures: usize, hanging: bool) -> Self {
        let (hang, watch) = tokio::sync::watch::channel(hanging);
        let state =
            Arc::new(Behaviour { failures: AtomicUsize::new(failures), hang: Some(watch), ..Default::default() });
        let router = Router::new().route("/hook", post(receive)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, state, hang }
    }

    /// Every answered request, in order.
    pub fn answered(&self) -> Vec<Received> {
        self.state.answered.lock().unwrap().clone()
    }

    /// The `webhook-id`s answered with a 2xx, de-duplicated as a consumer
    /// does, with how often each came.
    pub fn accepted(&self) -> std::collections::BTreeMap<String, usize> {
        let mut ids = std::collections::BTreeMap::new();
        for r in self.answered().into_iter().filter(|r| r.status == 200) {
            *ids.entry(r.id).or_insert(0) += 1;
        }
        ids
    }

    /// Requests that arrived, answered or not.
    pub fn arrivals(&self) -> usize {
        self.state.arrivals.load(Ordering::SeqCst)
    }

    /// From now on, answer every request with 500 (`true`) or 200.
    pub fn fail_all(&self, fail: bool) {
        self.state.failures.store(if fail { usize::MAX } else { 0 }, Ordering::SeqCst);
    }

    /// Stops hanging: waiting requests are answered.
    pub fn release(&self) {
        self.hang.send_replace(false);
    }
}

async fn receive(State(state): State<Arc<Behaviour>>, headers: HeaderMap, body: String) -> StatusCode {
    state.arrivals.fetch_add(1, Ordering::SeqCst);
    if let Some(mut hang) = state.hang.clone() {
        let _ = hang.wait_for(|hanging| !*hanging).await;
    }
    let failing = state.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let status = if failing { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    state.answered.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        status: status.as_u16(),
    });
    status
}

/// Checks a request's signature as a Standard Webhooks consumer does, with
/// the secret shown at creation.
pub fn verify(secret: &str, received: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("whsec_ prefix")).expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", received.id, received.timestamp, received.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received.signature.split(' ').any(|s| s == expected)
}

/// An app whose webhooks may target this machine (the receivers run here).
pub async fn app_with_local_targets() -> TestApp {
    spawn_app_configured(|s| s.webhook_allow_private_targets = true).await
}

/// An owner's credentials of the store.
pub async fn owner(app: &TestApp, store: &TestStore) -> Auth {
    Auth::Staff(app.owner_token(store).await)
}

/// Creates a webhook of the store to `url` for `events`; returns the answer.
pub async fn subscribe(app: &TestApp, store: &TestStore, url: &str, events: &[&str]) -> Value {
    let auth = owner(app, store).await;
    app.admin("POST", store, "/admin/webhooks", &auth, Some(json!({"url": url, "events": events})), StatusCode::CREATED)
        .await
}

/// A deliverer over the app's database whose retries come at once and whose
/// leases are short; `configure` changes more.
pub fn deliverer(app: &TestApp, configure: impl FnOnce(&mut DeliverySettings)) -> Deliverer {
    let mut settings = DeliverySettings::new(&app.state.commerce, true);
    settings.schedule = vec![Duration::ZERO, Duration::ZERO];
    settings.lease = Duration::from_secs(2);
    configure(&mut settings);
    Deliverer::new(app.state.db.clone(), app.state.master.clone(), settings)
}

/// Relays the outbox and runs `deliverer` until `done` holds (at most 30 s).
pub async fn pump(app: &TestApp, deliverer: &Deliverer, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
        deliverer.run_once().await.unwrap();
        if done() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes `count` events `topic` of new orders to the store's outbox; returns the orders' ids.
pub async fn emit(app: &TestApp, store: &TestStore, topic: &str, count: usize) -> Vec<String> {
    let mut tx = app.tenant_tx(store).await;
    let mut ids = Vec::new();
    for _ in 0..count {
        let order = tenant_api::orders::model::OrderId::new();
        tenant_api::outbox::insert(&mut tx, topic, order, json!({"status": "paid"})).await.unwrap();
        ids.push(order.to_string());
    }
    tx.commit().await.unwrap();
    ids
}

/// A paid order of the store through the storefront; returns its id.
async fn paid_order(app: &TestApp, store: &TestStore) -> String {
    let variant = app.product_with_stock(store, "Mug", 1999, 5).await;
    let cart = app.cart_with(store, None, &variant, 1).await;
    let (status, order) =
        app.checkout(store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_webhook_shows_its_secret_once_and_receives_paid_orders_signed_with_it() {
    let app = app_with_local_targets().await;
    let store = app.create_store("hooked").await;
    let receiver = Receiver::start().await;
    let created = subscribe(&app, &store, &receiver.url, &["order.paid", "order.fulfilled"]).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    assert_eq!(created["url"], receiver.url.as_str());
    assert_eq!(created["events"], json!(["order.paid", "order.fulfilled"]));
    let auth = owner(&app, &store).await;
    let listed = app.admin("GET", &store, "/admin/webhooks", &auth, None, StatusCode::OK).await;
    assert_eq!(listed["items"][0]["id"], created["id"]);
    assert!(listed["items"][0].get("secret").is_none(), "the secret is shown only at creation: {listed}");
    let stored: String = sqlx::query_scalar("select secret_sealed from commerce.webhook_subscription")
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert!(!stored.contains(secret.trim_start_matches("whsec_")), "stored sealed");

    let order = paid_order(&app, &store).await;
    let deliverer = deliverer(&app, |_| {});
    pump(&app, &deliverer, "the paid order delivered", || !receiver.answered().is_empty()).await;

    let received = receiver.answered();
    assert_eq!(received.len(), 1, "order.created is no webhook event; order.paid is: {received:?}");
    assert!(verify(&secret, &received[0]), "the signature verifies with the shown secret: {:?}", received[0]);
    let body: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(body["type"], "order.paid");
    assert_eq!(body["data"]["id"], order.as_str());
    assert!(body["timestamp"].is_string());
    let log = app
        .admin(
            "GET",
            &store,
            &format!("/admin/webhooks/{}/deliveries", created["id"].as_str().unwrap()),
            &auth,
            None,
            StatusCode::OK,
        )
        .await;
    let delivery = &log["items"][0];
    assert_eq!(delivery["id"], received[0].id.as_str(), "webhook-id is the delivery's id");
    assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_i64()), (Some("succeeded"), Some(1)));
    assert_eq!(delivery["last_status"], 200);
    assert_eq!(delivery["type"], "order.paid");
}

#[tokio::test]
async fn unknown_events_and_malformed_urls_are_422_naming_the_field() {
    let app = app_with_local_targets().await;
    let store = app.create_store("picky").await;
    let auth = owner(&app, &store).await;
    for (body, field) in [
        (json!({"url": "http://127.0.0.1:9/hook", "events": ["order.exploded"]}), "events"),
        (json!({"url": "http://127.0.0.1:9/hook", "events": []}), "events"),
        (json!({"url": "ftp://127.0.0.1/hook", "events": ["order.paid"]}), "url"),
        (json!({"url": "not a url", "events": ["order.paid"]}), "url"),
        (json!({"url": "http://user:pw@127.0.0.1/hook", "events": ["order.paid"]}), "url"),
    ] {
        let problem = app
            .admin("POST", &store, "/admin/webhooks", &auth, Some(body.clone()), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let listed = app.admin("GET", &store, "/admin/webhooks", &auth, None, StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn internal_targets_are_refused_on_creation_and_again_when_sent() {
    let app = spawn_app().await;
    let store = app.create_store("guarded").await;
    let auth = owner(&app, &store).await;
    for url in [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ] {
        let problem = app
            .admin(
                "POST",
                &store,
                "/admin/webhooks",
                &auth,
                Some(json!({"url": url, "events": ["order.paid"]})),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }

    // A webhook stored while its host looked public and now resolving to
    // this machine (DNS rebinding): the send is refused, nothing arrives.
    let receiver = Receiver::start().await;
    let port = receiver.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
    let sealed = app.state.master.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let mut tx = app.tenant_tx(&store).await;
    sqlx::query(
        "insert into webhook_subscription (tenant_id, webhook_id, url, events, secret_sealed) \
         values ($1, $2, $3, '{order.paid}', $4)",
    )
    .bind(store.id())
    .bind(uuid::Uuid::now_v7())
    .bind(format!("http://localhost:{port}/hook"))
    .bind(sealed)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    emit(&app, &store, "order.paid", 1).await;
    let guarded = deliverer(&app, |s| s.allow_private_targets = false);
    let failed = || async {
        let log = app.admin("GET", &store, "/admin/notifications/deliveries", &auth, None, StatusCode::OK).await;
        log["items"][0]["attempts"].as_i64().unwrap_or(0) >= 1
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !failed().await {
        assert!(tokio::time::Instant::now() < deadline, "the refused send was never recorded");
        tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
        guarded.run_once().await.unwrap();
        guarded.drain().await;
    }
    let log = app.admin("GET", &store, "/admin/notifications/deliveries", &auth, None, StatusCode::OK).await;
    assert!(log["items"][0]["last_error"].as_str().unwrap().contains("internal address"), "{log}");
    assert_eq!(receiver.arrivals(), 0, "nothing reached the internal address");
}

#[tokio::test]
async fn staff_read_webhooks_but_only_admins_and_write_keys_create_or_delete_them() {
    let app = app_with_local_targets().await;
    let store = app.create_store("roles-hooks").await;
    let body = json!({"url": "http://127.0.0.1:9/hook", "events": ["order.paid"]});
    let staff = app.staff(&store).await;
    app.admin("POST", &store, "/admin/webhooks", &staff, Some(body.clone()), StatusCode::FORBIDDEN).await;
    app.admin("GET", &store, "/admin/webhooks", &staff, None, StatusCode::OK).await;
    app.admin("GET", &store, "/admin/notifications/deliveries", &staff, None, StatusCode::OK).await;
    let admin = Auth::Staff(
        platform::testkit::staff_token(app.state.db.control(), store.id(), platform::auth::Role::Admin).await,
    );
    let created = app.admin("POST", &store, "/admin/webhooks", &admin, Some(body.clone()), StatusCode::CREATED).await;
    let path = format!("/admin/webhooks/{}", created["id"].as_str().unwrap());
    app.admin("DELETE", &store, &path, &staff, None, StatusCode::FORBIDDEN).await;

    let catalog = Auth::Key(platform::testkit::api_key(app.state.db.control(), store.id(), &["catalog:*"]).await);
    app.admin("GET", &store, "/admin/webhooks", &catalog, None, StatusCode::FORBIDDEN).await;
    let read = Auth::Key(platform::testkit::api_key(app.state.db.control(), store.id(), &["webhooks:read"]).await);
    app.admin("GET", &store, "/admin/webhooks", &read, None, StatusCode::OK).await;
    app.admin("POST", &store, "/admin/webhooks", &read, Some(body.clone()), StatusCode::FORBIDDEN).await;
    let write = Auth::Key(platform::testkit::api_key(app.state.db.control(), store.id(), &["webhooks:write"]).await);
    app.admin("POST", &store, "/admin/webhooks", &write, Some(body), StatusCode::CREATED).await;

    app.admin("DELETE", &store, &path, &admin, None, StatusCode::NO_CONTENT).await;
    app.admin("DELETE", &store, &path, &admin, None, StatusCode::NOT_FOUND).await;
    let listed = app.admin("GET", &store, "/admin/webhooks", &admin, None, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "the deleted one is gone: {listed}");
}

#[tokio::test]
async fn another_store_gets_404_on_a_stores_webhooks_and_deliveries() {
    let app = app_with_local_targets().await;
    let a = app.create_store("hooks-a").await;
    let b = app.create_store("hooks-b").await;
    let receiver = Receiver::start_with(usize::MAX, false).await;
    let created = subscribe(&app, &a, &receiver.url, &["order.paid"]).await;
    let webhook = created["id"].as_str().unwrap();
    emit(&app, &a, "order.paid", 1).await;
    let deliverer = deliverer(&app, |s| s.schedule.clear());
    pump(&app, &deliverer, "a dead letter", || !receiver.answered().is_empty()).await;
    deliverer.drain().await;
    let owner_a = owner(&app, &a).await;
    let dead = app.admin("GET", &a, "/admin/notifications/dead-letters", &owner_a, None, StatusCode::OK).await;
    let delivery = dead["items"][0]["id"].as_str().expect("a dead letter").to_owned();

    let owner_b = owner(&app, &b).await;
    let key_b = Auth::Key(platform::testkit::api_key(app.state.db.control(), b.id(), &["webhooks:*"]).await);
    for auth in [&owner_b, &key_b] {
        app.admin("DELETE", &b, &format!("/admin/webhooks/{webhook}"), auth, None, StatusCode::NOT_FOUND).await;
        app.admin("GET", &b, &format!("/admin/webhooks/{webhook}/deliveries"), auth, None, StatusCode::NOT_FOUND).await;
        let replay = format!("/admin/notifications/dead-letters/{delivery}/replay");
        app.admin("POST", &b, &replay, auth, None, StatusCode::NOT_FOUND).await;
        for list in ["/admin/webhooks", "/admin/notifications/deliveries", "/admin/notifications/dead-letters"] {
            let listed = app.admin("GET", &b, list, auth, None, StatusCode::OK).await;
            assert_eq!(listed["items"], json!([]), "{list}");
        }
    }
    // Store A's credentials on B's host are not B's: 401.
    app.admin("GET", &b, "/admin/webhooks", &owner_a, None, StatusCode::UNAUTHORIZED).await;
    let still = app.admin("GET", &a, "/admin/notifications/dead-letters", &owner_a, None, StatusCode::OK).await;
    assert_eq!(still["items"][0]["status"], "dead", "nothing of A changed");
}

#[tokio::test]
async fn a_stores_webhook_never_receives_another_stores_events() {
    let app = app_with_local_targets().await;
    let a = app.create_store("events-a").await;
    let b = app.create_store("events-b").await;
    let (to_a, to_b) = (Receiver::start().await, Receiver::start().await);
    subscribe(&app, &a, &to_a.url, &["order.paid"]).await;
    subscribe(&app, &b, &to_b.url, &["order.paid", "order.refunded"]).await;
    let orders = emit(&app, &a, "order.paid", 3).await;
    emit(&app, &a, "order.partially_refunded", 1).await;
    emit(&app, &b, "order.cancelled", 1).await;
    let deliverer = deliverer(&app, |_| {});
    pump(&app, &deliverer, "A's three events", || to_a.accepted().len() == 3).await;
    // B's own unsubscribed event and A's refund were fanned out to no one of B.
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    deliverer.run_once().await.unwrap();
    deliverer.drain().await;
    assert!(to_b.answered().is_empty(), "B heard of A's events: {:?}", to_b.answered());
    let ids: Vec<String> = to_a
        .answered()
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    for order in orders {
        assert!(ids.contains(&order), "{order} delivered to A");
    }
}

#[tokio::test]
async fn product_changes_reach_a_webhook_subscribed_to_them() {
    let app = app_with_local_targets().await;
    let store = app.create_store("products-hooked").await;
    let receiver = Receiver::start().await;
    subscribe(&app, &store, &receiver.url, &["product.created", "product.updated", "product.deleted"]).await;
    let auth = owner(&app, &store).await;
    let product = app.create_product(&store, &auth, "Kettle", "KET-1", 2500).await;
    let path = format!("/admin/products/{}", product["id"].as_str().unwrap());
    app.admin("PATCH", &store, &path, &auth, Some(json!({"title": "Steel kettle"})), StatusCode::OK).await;
    app.admin("DELETE", &store, &path, &auth, None, StatusCode::NO_CONTENT).await;
    let deliverer = deliverer(&app, |_| {});
    pump(&app, &deliverer, "three product events", || receiver.accepted().len() == 3).await;

    let bodies: Vec<Value> = receiver.answered().iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect();
    let of = |kind: &str| bodies.iter().find(|b| b["type"] == kind).unwrap_or_else(|| panic!("no {kind}: {bodies:?}"));
    assert_eq!(of("product.created")["data"]["title"], "Kettle");
    assert_eq!(of("product.updated")["data"]["title"], "Steel kettle");
    assert_eq!(of("product.deleted")["data"]["id"], product["id"]);
    assert!(bodies.iter().all(|b| b["data"]["id"] == product["id"]), "{bodies:?}");
}
