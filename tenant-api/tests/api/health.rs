//! Health, readiness, metrics, request ids and the shape of errors.

use reqwest::StatusCode;
use tenant_api::contexts::Context;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_store() {
    let app = spawn_app().await;
    let body = app.get_json("anything", "/healthz", StatusCode::OK).await;
    assert_eq!(body["status"], "ok");
    let body = app.get_json("anything", "/readyz", StatusCode::OK).await;
    assert_eq!(body["checks"]["postgres:default"], "ok");
    assert_eq!(body["checks"]["redis"], "ok");
}

#[tokio::test]
async fn metrics_count_requests_by_route_in_prometheus_text() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.get_json(&store.host, "/store/products", StatusCode::OK).await;
    let response = app.get("x", "/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total{") && l.contains("path=\"/store/products\"")),
        "{text}"
    );
    assert!(text.contains("tenant_cache_misses_total"), "{text}");
}

#[tokio::test]
async fn each_request_is_counted_once_and_unknown_methods_share_one_label() {
    let app = spawn_app().await;
    // No other test sends such methods, so the count moves by these requests alone.
    let labels = r#"method="OTHER",path="/healthz",status="405""#;
    let before = app.requests_total(labels).await;
    for method in ["PURGE", "PURGE", "MKCOL"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app.client.request(method, format!("{}/healthz", app.address)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    assert_eq!(app.requests_total(labels).await - before, 3.0);
    let text = app.get("x", "/metrics").await.text().await.unwrap();
    assert!(!text.contains("method=\"PURGE\""), "a client's method must not become a label: {text}");
}

#[tokio::test]
async fn a_request_id_is_returned_and_a_given_one_is_kept() {
    let app = spawn_app().await;
    let response = app.get("x", "/healthz").await;
    assert!(response.headers().get("x-request-id").is_some());
    let response =
        app.client.get(format!("{}/healthz", app.address)).header("x-request-id", "req-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-123");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problems() {
    let app = spawn_app().await;
    let body = app.get_json("x", "/nope", StatusCode::NOT_FOUND).await;
    assert_eq!(body["type"], "/problems/route-not-found");
    let response = app.client.delete(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn serve_mounts_only_the_requested_contexts() {
    let app = spawn_app_with(&[]).await;
    let store = app.create_store("alpha").await;
    let body = app.get_json(&store.host, "/store/products", StatusCode::NOT_FOUND).await;
    assert_eq!(body["type"], "/problems/route-not-found");
    app.get_json("x", "/healthz", StatusCode::OK).await;

    let app = spawn_app_with(&[Context::Catalog]).await;
    let store = app.create_store("alpha").await;
    app.get_json(&store.host, "/store/products", StatusCode::OK).await;
}

#[tokio::test]
async fn serve_contexts_cart_mounts_carts_but_leaves_checkout_to_the_orders_replicas() {
    let app = spawn_app_with(&[Context::Cart]).await;
    let store = app.create_store("alpha").await;
    let cart = app.post(&store.host, "/store/carts", None, serde_json::json!({}), StatusCode::CREATED).await;
    let id = cart["id"].as_str().unwrap();
    app.get_as(&store.host, &format!("/store/carts/{id}"), None, StatusCode::OK).await;
    let body = app
        .post(&store.host, &format!("/store/carts/{id}/checkout"), None, serde_json::json!({}), StatusCode::NOT_FOUND)
        .await;
    assert_eq!(body["type"], "/problems/route-not-found");
    app.get_json(&store.host, "/store/products", StatusCode::NOT_FOUND).await;
}

#[test]
fn context_names_parse_and_unknown_ones_are_refused() {
    assert_eq!("catalog".parse::<Context>(), Ok(Context::Catalog));
    assert_eq!("cart".parse::<Context>(), Ok(Context::Cart));
    assert_eq!("orders".parse::<Context>(), Ok(Context::Orders));
    assert!("payroll".parse::<Context>().unwrap_err().contains("known: catalog"));
}

#[tokio::test]
async fn the_worker_serves_probes_and_its_job_metrics_on_its_own_listener_until_stopped() {
    let app = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(tenant_api::startup::run_worker(app.state.clone(), listener, async {
        stop_rx.await.ok();
    }));

    let health: serde_json::Value =
        app.client.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = app.client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["redis"], "ok");
    // The jobs run at once on start; their durations reach this listener's /metrics.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = app.client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        if text
            .lines()
            .any(|l| l.starts_with("worker_job_duration_seconds_count{") && l.contains("job=\"reservation-expiry\""))
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no job metrics on the worker's listener: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Not a store endpoint: the listener serves probes and metrics only.
    let store = app.create_store("alpha").await;
    let response = app.client.get(format!("{base}/store/products")).header("host", &store.host).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    stop_tx.send(()).unwrap();
    worker.await.unwrap().unwrap();
    assert!(app.client.get(format!("{base}/healthz")).send().await.is_err(), "still listening after the stop");
}
