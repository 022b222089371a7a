//! Domain events streamed to NATS JetStream by the worker's `nats-publish` job,
//! against the machine's NATS server (`NATS_TEST_URL`, else
//! `nats://127.0.0.1:4222`). Without one these tests say so and pass: the
//! project's scripts do not depend on NATS. Each test uses a stream and a
//! subject prefix of its own and deletes the stream at the end.

use std::{collections::HashSet, time::Duration};

use async_nats::jetstream::{self, message::StreamMessage};
use serde_json::Value;
use tenant_api::{
    outbox::nats::{publish_once, EventStream},
    settings::CommerceSettings,
    worker,
};
use uuid::Uuid;

use crate::helpers::{checkout_body, spawn_app, TestApp, TestStore};

/// The machine's NATS server, or `None` (and a line saying the test was skipped).
async fn nats(test: &str) -> Option<(String, jetstream::Context)> {
    let url = std::env::var("NATS_TEST_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let options = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(2));
    match tokio::time::timeout(Duration::from_secs(3), options.connect(url.as_str())).await {
        Ok(Ok(client)) => Some((url, jetstream::new(client))),
        _ => {
            println!("skipped {test}: no NATS server answers at {url} (set NATS_TEST_URL)");
            None
        }
    }
}

/// A stream and subject prefix no other run uses.
struct Names {
    stream: String,
    prefix: String,
}

impl Names {
    fn new() -> Self {
        let unique = Uuid::now_v7().simple().to_string();
        Self { stream: format!("TEST_{}", unique.to_uppercase()), prefix: format!("test{unique}.events") }
    }

    fn stream_to(&self, app: &TestApp, url: &str) -> EventStream {
        let settings = CommerceSettings {
            nats_url: url.to_owned(),
            nats_subject_prefix: self.prefix.clone(),
            nats_stream: self.stream.clone(),
            ..(*app.state.commerce).clone()
        };
        EventStream::new(&settings).expect("NATS_URL is set")
    }
}

/// Places and pays an order for a new product called `title`; the order's id.
async fn paid_order(app: &TestApp, store: &TestStore, title: &str) -> String {
    let variant = app.product_with_stock(store, title, 900, 10).await;
    let cart = app.cart_with(store, None, &variant, 1).await;
    let (status, order) =
        app.checkout(store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

/// Every message of the stream, in order.
async fn messages(js: &jetstream::Context, names: &Names) -> Vec<StreamMessage> {
    let mut stream = js.get_stream(&names.stream).await.expect("the job created the stream");
    let count = stream.info().await.unwrap().state.messages;
    let mut messages = Vec::new();
    for sequence in 1..=count {
        messages.push(stream.get_raw_message(sequence).await.unwrap());
    }
    messages
}

fn body(message: &StreamMessage) -> Value {
    serde_json::from_slice(&message.payload).unwrap()
}

fn msg_id(message: &StreamMessage) -> String {
    message.headers.get("Nats-Msg-Id").expect("Nats-Msg-Id").to_string()
}

async fn streamed(app: &TestApp, store: &TestStore) -> i64 {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar("select count(*) from outbox_event where streamed_at is not null")
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_paid_orders_events_reach_the_stream_once_under_their_subjects() {
    let Some((url, js)) = nats("a_paid_orders_events_reach_the_stream_once_under_their_subjects").await else {
        return;
    };
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let order = paid_order(&app, &store, "Hat").await;
    let names = Names::new();
    let stream = names.stream_to(&app, &url);

    assert_eq!(
        publish_once(&app.state, &stream, 500).await.unwrap(),
        0,
        "only events the relay published are streamed"
    );
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    let sent = publish_once(&app.state, &stream, 500).await.unwrap();

    let messages = messages(&js, &names).await;
    assert_eq!(messages.len() as u64, sent);
    let ours: Vec<&StreamMessage> =
        messages.iter().filter(|m| body(m)["aggregate_id"].as_str() == Some(order.as_str())).collect();
    let subjects: Vec<String> = ours.iter().map(|m| m.subject.to_string()).collect();
    assert_eq!(subjects, [format!("{}.order.created", names.prefix), format!("{}.order.paid", names.prefix)]);
    for message in &messages {
        let event = body(message);
        assert_eq!(msg_id(message), event["id"].as_str().unwrap(), "the event's id de-duplicates");
        assert_eq!(event["store_id"], store.id().to_string());
        assert_eq!(message.subject.to_string(), format!("{}.{}", names.prefix, event["type"].as_str().unwrap()));
        assert!(event["created_at"].is_string() && event["data"].is_object(), "{event}");
    }
    let mut tx = app.tenant_tx(&store).await;
    for message in &ours {
        let event = body(message);
        let payload: Value = sqlx::query_scalar("select payload from outbox_event where event_id = $1::uuid")
            .bind(event["id"].as_str().unwrap())
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(event["data"], payload, "the event's payload is the message's data");
    }
    drop(tx);
    assert_eq!(streamed(&app, &store).await, sent as i64);

    assert_eq!(publish_once(&app.state, &stream, 500).await.unwrap(), 0, "a second run has nothing to stream");
    // A worker that published but died before its commit: the events go again
    // with the same Nats-Msg-Id, and the stream drops them as duplicates.
    let mut tx = app.tenant_tx(&store).await;
    sqlx::query("update outbox_event set streamed_at = null").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(publish_once(&app.state, &stream, 500).await.unwrap(), sent);
    assert_eq!(self::messages(&js, &names).await.len(), messages.len(), "nothing is stored twice");

    js.delete_stream(&names.stream).await.unwrap();
}

#[tokio::test]
async fn each_stores_events_carry_their_own_store_id() {
    let Some((url, js)) = nats("each_stores_events_carry_their_own_store_id").await else {
        return;
    };
    let app = spawn_app().await;
    let (alpha, beta) = (app.create_store("alpha").await, app.create_store("beta").await);
    let orders =
        [(paid_order(&app, &alpha, "Hat").await, alpha.id()), (paid_order(&app, &beta, "Hat").await, beta.id())];
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    let names = Names::new();
    publish_once(&app.state, &names.stream_to(&app, &url), 500).await.unwrap();

    let messages = messages(&js, &names).await;
    let mut stores = HashSet::new();
    for message in &messages {
        let event = body(message);
        if let Some((_, store)) = orders.iter().find(|(order, _)| event["aggregate_id"].as_str() == Some(order)) {
            assert_eq!(event["store_id"], store.to_string(), "{event}");
            stores.insert(store.to_string());
        }
    }
    assert_eq!(stores.len(), 2, "both stores' orders were streamed");

    js.delete_stream(&names.stream).await.unwrap();
}

#[tokio::test]
async fn with_nats_unreachable_a_run_fails_marks_nothing_and_a_later_run_streams() {
    let Some((url, js)) = nats("with_nats_unreachable_a_run_fails_marks_nothing_and_a_later_run_streams").await else {
        return;
    };
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    paid_order(&app, &store, "Hat").await;
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    let names = Names::new();

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // A server that accepts and never says a word: the connect times out.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("nats://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    for unreachable in [format!("nats://{closed}"), silent_url] {
        let stream = names.stream_to(&app, &unreachable);
        let run = tokio::time::timeout(Duration::from_secs(30), publish_once(&app.state, &stream, 500))
            .await
            .expect("the run ends within NATS_TIMEOUT_MS");
        assert!(run.is_err(), "{unreachable}: {run:?}");
        assert_eq!(streamed(&app, &store).await, 0, "{unreachable}: nothing is marked");
    }

    let sent = publish_once(&app.state, &names.stream_to(&app, &url), 500).await.unwrap();
    assert!(sent >= 2, "{sent}");
    assert_eq!(streamed(&app, &store).await, sent as i64);
    assert_eq!(messages(&js, &names).await.len() as u64, sent);

    js.delete_stream(&names.stream).await.unwrap();
}

#[tokio::test]
async fn a_stream_deleted_under_the_job_is_created_again_by_a_later_run() {
    let Some((url, js)) = nats("a_stream_deleted_under_the_job_is_created_again_by_a_later_run").await else {
        return;
    };
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    paid_order(&app, &store, "Hat").await;
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    let names = Names::new();
    let stream = names.stream_to(&app, &url);
    let first = publish_once(&app.state, &stream, 500).await.unwrap();

    js.delete_stream(&names.stream).await.unwrap();
    paid_order(&app, &store, "Cap").await;
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    // The kept connection publishes into no stream: the run fails, marks nothing.
    let run = publish_once(&app.state, &stream, 500).await;
    assert!(run.is_err(), "{run:?}");
    assert_eq!(streamed(&app, &store).await, first as i64);
    // The next one connects again and makes the stream anew.
    let second = publish_once(&app.state, &stream, 500).await.unwrap();
    assert!(second >= 2, "{second}");
    assert_eq!(messages(&js, &names).await.len() as u64, second);
    assert_eq!(streamed(&app, &store).await, (first + second) as i64);

    js.delete_stream(&names.stream).await.unwrap();
}

#[tokio::test]
async fn the_worker_streams_only_when_nats_url_is_set() {
    let names = |settings: &CommerceSettings| worker::jobs(settings).iter().map(|job| job.name).collect::<Vec<_>>();
    let off = CommerceSettings::default();
    assert!(!names(&off).contains(&"nats-publish"), "off by default");
    let on = CommerceSettings { nats_url: "nats://127.0.0.1:4222".into(), ..CommerceSettings::default() };
    assert!(names(&on).contains(&"nats-publish"));
}
