//! The delivery queue: retries keep the `webhook-id`, workers side by side
//! or killed mid-batch deliver every event (at least once, exactly once
//! after de-duplication), a hanging store delays no other, and dead letters
//! are listed and replayed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tenant_api::worker::{self, WorkerState};

use crate::{
    helpers::Auth,
    webhooks::{app_with_local_targets, deliverer, emit, owner, pump, subscribe, verify, Receiver},
};

#[tokio::test]
async fn a_receiver_failing_once_gets_the_same_webhook_id_again() {
    let app = app_with_local_targets().await;
    let store = app.create_store("flaky").await;
    let receiver = Receiver::start_with(1, false).await;
    let secret = subscribe(&app, &store, &receiver.url, &["order.paid"]).await["secret"].as_str().unwrap().to_owned();
    emit(&app, &store, "order.paid", 1).await;
    let deliverer = deliverer(&app, |_| {});
    pump(&app, &deliverer, "the retry accepted", || receiver.accepted().len() == 1).await;
    deliverer.drain().await;

    let answered = receiver.answered();
    assert_eq!(answered.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 200], "{answered:?}");
    assert_eq!(answered[0].id, answered[1].id, "a retry keeps its webhook-id");
    assert_eq!(answered[0].body, answered[1].body, "and its body");
    assert!(answered.iter().all(|r| verify(&secret, r)));
    let auth = owner(&app, &store).await;
    let log = app.admin("GET", &store, "/admin/notifications/deliveries", &auth, None, StatusCode::OK).await;
    let delivery = &log["items"][0];
    assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_i64()), (Some("succeeded"), Some(2)), "{log}");
    assert_eq!(delivery["last_status"], 200);
}

#[tokio::test]
async fn two_workers_side_by_side_deliver_each_event_exactly_once() {
    let app = app_with_local_targets().await;
    let store = app.create_store("busy").await;
    let receiver = Receiver::start().await;
    subscribe(&app, &store, &receiver.url, &["order.paid"]).await;
    emit(&app, &store, "order.paid", 30).await;
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    // Many sends of the one store at once, so both workers claim from it.
    // Leases far longer than a send: a busy machine must not make one expire.
    let busy = |s: &mut tenant_api::notifications::delivery::DeliverySettings| {
        s.store_in_flight = 8;
        s.lease = Duration::from_secs(120);
    };
    let (one, two) = (deliverer(&app, busy), deliverer(&app, busy));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while receiver.accepted().len() < 30 {
        assert!(tokio::time::Instant::now() < deadline, "only {} delivered", receiver.accepted().len());
        let (a, b) = tokio::join!(one.run_once(), two.run_once());
        a.unwrap();
        b.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    one.drain().await;
    two.drain().await;
    let answered = receiver.answered();
    assert_eq!(
        answered.len(),
        30,
        "no event was sent twice: {:?}",
        receiver.accepted().values().filter(|n| **n > 1).count()
    );

    // The log pages through all thirty, newest first, each once.
    let auth = owner(&app, &store).await;
    let (mut seen, mut cursor) = (std::collections::BTreeSet::new(), None::<String>);
    loop {
        let query = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
        let path = format!("/admin/notifications/deliveries?status=succeeded&limit=12{query}");
        let page = app.admin("GET", &store, &path, &auth, None, StatusCode::OK).await;
        for item in page["items"].as_array().unwrap() {
            assert!(seen.insert(item["id"].as_str().unwrap().to_owned()), "listed twice: {item}");
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 30);
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing_and_another_delivers_every_event() {
    let app = app_with_local_targets().await;
    let store = app.create_store("killed").await;
    let receiver = Receiver::start_with(0, true).await;
    subscribe(&app, &store, &receiver.url, &["order.paid"]).await;
    emit(&app, &store, "order.paid", 6).await;

    // The first worker (every job, its sends its own) claims the six, sends
    // them to an endpoint that does not answer yet, and is killed.
    let first = WorkerState {
        deliverer: std::sync::Arc::new(deliverer(&app, |s| {
            s.store_in_flight = 8;
            s.timeout = Duration::from_secs(60);
        })),
        ..worker_state(&app)
    };
    let killed = tokio::spawn(worker::run(first, std::future::pending()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while receiver.arrivals() < 6 {
        assert!(tokio::time::Instant::now() < deadline, "the first worker never sent all six");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    killed.abort();
    assert!(killed.await.unwrap_err().is_cancelled());
    let leased: i64 = sqlx::query_scalar(
        "select count(*) from commerce.notification_delivery where status = 'pending' and leased_until is not null",
    )
    .fetch_one(app.state.db.control())
    .await
    .unwrap();
    assert_eq!(leased, 6, "the killed worker's claims stay in the queue");
    receiver.release();

    // Another worker takes them over once their leases run out.
    let second = deliverer(&app, |s| s.store_in_flight = 8);
    pump(&app, &second, "all six delivered", || receiver.accepted().len() == 6).await;
    second.drain().await;
    let auth = owner(&app, &store).await;
    let log = app.admin("GET", &store, "/admin/notifications/deliveries", &auth, None, StatusCode::OK).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert!(items.iter().all(|d| d["status"] == "succeeded"), "{log}");
    assert_eq!(receiver.accepted().len(), 6, "every event once after de-duplication by webhook-id");
}

#[tokio::test]
async fn a_store_whose_endpoint_hangs_does_not_delay_another_stores_delivery() {
    let app = app_with_local_targets().await;
    let slow = app.create_store("hangs").await;
    let fast = app.create_store("answers").await;
    let hanging = Receiver::start_with(0, true).await;
    let answering = Receiver::start().await;
    subscribe(&app, &slow, &hanging.url, &["order.paid"]).await;
    subscribe(&app, &fast, &answering.url, &["order.paid"]).await;
    // The hanging store's backlog is older and larger than a run's share of it.
    emit(&app, &slow, "order.paid", 12).await;
    emit(&app, &fast, "order.paid", 1).await;
    let deliverer = deliverer(&app, |s| {
        s.store_in_flight = 4;
        s.timeout = Duration::from_secs(120);
        s.lease = Duration::from_secs(180);
    });
    pump(&app, &deliverer, "the other store's event", || answering.accepted().len() == 1).await;
    assert!(hanging.answered().is_empty(), "the hanging store is still waiting");
    assert!(hanging.arrivals() <= 4, "no more of its sends in flight than its share: {}", hanging.arrivals());
    hanging.release();
    pump(&app, &deliverer, "the hanging store's backlog", || hanging.accepted().len() == 12).await;
    deliverer.drain().await;
}

#[tokio::test]
async fn a_delivery_is_dead_lettered_after_the_schedule_and_a_replay_delivers_it() {
    let app = app_with_local_targets().await;
    let store = app.create_store("dead").await;
    let receiver = Receiver::start_with(usize::MAX, false).await;
    subscribe(&app, &store, &receiver.url, &["order.paid"]).await;
    emit(&app, &store, "order.paid", 1).await;
    let deliverer = deliverer(&app, |_| {});
    pump(&app, &deliverer, "three failed attempts", || receiver.answered().len() == 3).await;
    deliverer.drain().await;

    let auth = owner(&app, &store).await;
    let dead = app.admin("GET", &store, "/admin/notifications/dead-letters", &auth, None, StatusCode::OK).await;
    let letter = &dead["items"][0];
    assert_eq!((letter["status"].as_str(), letter["attempts"].as_i64()), (Some("dead"), Some(3)), "{dead}");
    assert_eq!(letter["last_status"], 500);
    assert!(letter["last_error"].as_str().unwrap().contains("500"), "{letter}");
    let id = letter["id"].as_str().unwrap().to_owned();
    let filtered = app
        .admin(
            "GET",
            &store,
            "/admin/notifications/deliveries?status=dead&channel=webhook",
            &auth,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(filtered["items"][0]["id"], id.as_str());
    let none =
        app.admin("GET", &store, "/admin/notifications/deliveries?channel=email", &auth, None, StatusCode::OK).await;
    assert_eq!(none["items"], Value::Array(vec![]));
    app.admin("GET", &store, "/admin/notifications/deliveries?status=lost", &auth, None, StatusCode::BAD_REQUEST).await;
    // Nothing more is tried on its own.
    deliverer.run_once().await.unwrap();
    deliverer.drain().await;
    assert_eq!(receiver.answered().len(), 3);

    let replay = format!("/admin/notifications/dead-letters/{id}/replay");
    let staff = app.staff(&store).await;
    app.admin("POST", &store, &replay, &staff, None, StatusCode::FORBIDDEN).await;
    receiver.fail_all(false);
    let replayed = app.admin("POST", &store, &replay, &auth, None, StatusCode::OK).await;
    assert_eq!((replayed["status"].as_str(), replayed["attempts"].as_i64()), (Some("pending"), Some(0)));
    pump(&app, &deliverer, "the replay delivered", || receiver.accepted().len() == 1).await;
    deliverer.drain().await;
    assert_eq!(receiver.answered().last().unwrap().id, id, "the replay keeps the webhook-id");
    app.admin("POST", &store, &replay, &auth, None, StatusCode::CONFLICT).await;
    let key = Auth::Key(platform::testkit::api_key(app.state.db.control(), store.id(), &["webhooks:read"]).await);
    app.admin("POST", &store, &replay, &key, None, StatusCode::FORBIDDEN).await;
}

fn worker_state(app: &crate::helpers::TestApp) -> WorkerState {
    use axum::extract::FromRef;
    WorkerState::from_ref(&app.state)
}

/// Queues one pending webhook delivery of `store`, due `due_in_secs` from now
/// (negative: overdue), leased for `leased_secs` when given.
async fn queue(
    app: &crate::helpers::TestApp,
    store: &crate::helpers::TestStore,
    due_in_secs: f64,
    leased_secs: Option<f64>,
) -> String {
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "insert into commerce.notification_delivery \
             (tenant_id, delivery_id, event_id, channel, target, topic, payload, next_attempt_at, leased_until) \
         values ($1, $2, $3, 'webhook', 'x', 'order.paid', '{}', now() + make_interval(secs => $4), \
                 now() + make_interval(secs => $5))",
    )
    .bind(store.id())
    .bind(id)
    .bind(uuid::Uuid::now_v7())
    .bind(due_in_secs)
    .bind(leased_secs)
    .execute(app.state.db.control())
    .await
    .unwrap();
    id.to_string()
}

#[tokio::test]
async fn a_claim_takes_each_stores_longest_due_within_its_room_and_nothing_leased_or_not_yet_due() {
    use tenant_api::notifications::repo::{claim, Room};
    let app = app_with_local_targets().await;
    let (big, small, later) =
        (app.create_store("backlog").await, app.create_store("few").await, app.create_store("later").await);
    // The big store's backlog, oldest first; the small store's two, the
    // first of them leased by another worker; the third store's not due yet.
    let mut backlog = Vec::new();
    for n in 0..10 {
        backlog.push(queue(&app, &big, -100.0 + f64::from(n), None).await);
    }
    let leased = queue(&app, &small, -50.0, Some(60.0)).await;
    let (few_1, few_2) = (queue(&app, &small, -40.0, None).await, queue(&app, &small, -30.0, None).await);
    queue(&app, &later, 60.0, None).await;

    let claim_ids = |busy: Vec<Room>, batch: i64| {
        let db = app.state.db.clone();
        async move {
            let tx = db.system_tx(platform::db::DEFAULT_CELL).await.unwrap();
            let claimed = claim(tx, 4, &busy, batch, Duration::from_secs(60)).await.unwrap();
            claimed.iter().map(|c| c.id.to_string()).collect::<std::collections::BTreeSet<_>>()
        }
    };
    // Four at most of a store, one of the small store (it has one send in
    // flight here already), none leased or not yet due.
    let first = claim_ids(vec![Room { tenant_id: small.id(), free: 1 }], 200).await;
    let expected: std::collections::BTreeSet<_> = backlog[..4].iter().cloned().chain([few_1.clone()]).collect();
    assert_eq!(first, expected);
    // Within a round the longest-due goes first, whatever the store's id:
    // the newest store's long-overdue delivery before the oldest store's next.
    let overdue = queue(&app, &later, -500.0, None).await;
    assert_eq!(claim_ids(Vec::new(), 1).await, [overdue].into_iter().collect());
    // Round-robin before depth: every store's longest-due comes before any
    // store's second when the batch is short.
    let second = claim_ids(Vec::new(), 4).await;
    let expected: std::collections::BTreeSet<_> = backlog[4..7].iter().cloned().chain([few_2]).collect();
    assert_eq!(second, expected);
    // What another worker leased stays with it; the backlog's rest comes next, then nothing.
    let rest = claim_ids(Vec::new(), 200).await;
    assert_eq!(rest, backlog[7..].iter().cloned().collect(), "{leased} stays leased");
    assert!(claim_ids(Vec::new(), 200).await.is_empty());
}

#[tokio::test]
async fn a_delivery_our_database_could_not_prepare_is_not_an_attempt_and_goes_out_later() {
    use sqlx::Connection as _;
    let app = crate::helpers::spawn_app_configured(|s| {
        s.webhook_allow_private_targets = true;
        s.db_statement_timeout_ms = 300;
    })
    .await;
    let store = app.create_store("dbdown").await;
    let receiver = Receiver::start().await;
    subscribe(&app, &store, &receiver.url, &["order.paid"]).await;
    emit(&app, &store, "order.paid", 1).await;
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();

    // The webhook's endpoint cannot be read: its read is cancelled past the
    // statement timeout (the database's answer when it is swamped).
    let mut locker = sqlx::PgConnection::connect(&app.db.url()).await.unwrap();
    let mut lock = locker.begin().await.unwrap();
    sqlx::query("lock table commerce.webhook_subscription in access exclusive mode").execute(&mut *lock).await.unwrap();
    let deliverer = deliverer(&app, |s| s.schedule = vec![Duration::from_secs(5), Duration::ZERO]);
    assert_eq!(deliverer.run_once().await.unwrap(), 1);
    deliverer.drain().await;
    let row = || async {
        sqlx::query_as::<_, (String, i32, bool, bool, Option<String>)>(
            "select status, attempts, leased_until is null, next_attempt_at > now(), last_error \
             from commerce.notification_delivery where channel = 'webhook'",
        )
        .fetch_one(app.state.db.control())
        .await
        .unwrap()
    };
    let (status, attempts, released, later, error) = row().await;
    assert_eq!((status.as_str(), attempts, released, later), ("pending", 0, true, true), "{error:?}");
    assert!(error.as_deref().is_some_and(|e| e.contains("statement timeout")), "{error:?}");
    assert!(receiver.answered().is_empty(), "nothing was sent");
    lock.rollback().await.unwrap();

    // Due again after the schedule's first wait (5 s here), then sent as the first attempt.
    sqlx::query("update commerce.notification_delivery set next_attempt_at = now() where channel = 'webhook'")
        .execute(app.state.db.control())
        .await
        .unwrap();
    pump(&app, &deliverer, "the delivery sent", || receiver.accepted().len() == 1).await;
    deliverer.drain().await;
    let (status, attempts, ..) = row().await;
    assert_eq!((status.as_str(), attempts), ("succeeded", 1));
}
