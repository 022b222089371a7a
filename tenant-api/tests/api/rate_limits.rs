//! Per-store rate limits from the plan's quota.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use platform::config::RateLimitMode;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_configured, TestApp};

/// `n` concurrent GETs of `path` on `host`.
async fn burst(app: &TestApp, host: &str, path: &str, n: usize) -> Vec<reqwest::Response> {
    join_all((0..n).map(|_| app.get(host, path))).await
}

fn count(responses: &[reqwest::Response], status: StatusCode) -> usize {
    responses.iter().filter(|r| r.status() == status).count()
}

#[tokio::test]
async fn a_store_over_its_rate_gets_429_with_retry_after_while_another_store_is_served() {
    let app = spawn_app().await;
    let noisy = app.create_store("noisy").await;
    let quiet = app.create_store("quiet").await;
    app.set_rate(&noisy, 5).await;

    let (flood, calm) =
        tokio::join!(burst(&app, &noisy.host, "/store/products", 20), burst(&app, &quiet.host, "/store/products", 5));

    // One second's worth passes at once; the rest is refused (a few may pass
    // as the allowance refills, one every 200 ms).
    let passed = count(&flood, StatusCode::OK);
    assert!((5..=8).contains(&passed), "{passed} of 20 passed");
    assert_eq!(count(&flood, StatusCode::TOO_MANY_REQUESTS), 20 - passed);
    assert_eq!(count(&calm, StatusCode::OK), 5, "the other store was limited too");

    let refused = flood.into_iter().find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).unwrap();
    let headers = refused.headers().clone();
    assert_eq!(headers["content-type"], "application/problem+json");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(headers["ratelimit-limit"], "5");
    assert_eq!(headers["ratelimit-remaining"], "0");
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/rate-limited");
    assert_eq!(problem["status"], 429);
}

#[tokio::test]
async fn an_announced_plan_change_raises_the_stores_limit() {
    let app = spawn_app().await;
    let store = app.create_store("grower").await;
    app.set_rate(&store, 2).await;
    let before = burst(&app, &store.host, "/store/products", 20).await;
    assert!(count(&before, StatusCode::TOO_MANY_REQUESTS) >= 10);

    app.set_rate(&store, 1000).await;
    app.announce(&store).await;
    // The announcement travels through Redis: poll until it has dropped the old limiter.
    let started = Instant::now();
    loop {
        let after = burst(&app, &store.host, "/store/products", 20).await;
        if count(&after, StatusCode::OK) == 20 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "still limited after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_unknown_host_is_404_not_429() {
    let app = spawn_app().await;
    let responses = burst(&app, "nobody.localhost", "/store/products", 20).await;
    assert_eq!(count(&responses, StatusCode::NOT_FOUND), 20);
}

#[tokio::test]
async fn health_endpoints_are_never_limited() {
    let app = spawn_app().await;
    let store = app.create_store("tiny").await;
    app.set_rate(&store, 1).await;
    assert_eq!(count(&burst(&app, &store.host, "/healthz", 20).await, StatusCode::OK), 20);
    assert_eq!(count(&burst(&app, &store.host, "/metrics", 5).await, StatusCode::OK), 5);
    // The same host on a store route is limited.
    assert!(count(&burst(&app, &store.host, "/store/products", 20).await, StatusCode::TOO_MANY_REQUESTS) >= 10);
}

#[tokio::test]
async fn rate_limits_off_serves_every_request() {
    let app = spawn_app_configured(|settings| settings.rate_limits = RateLimitMode::Off).await;
    let store = app.create_store("tiny").await;
    app.set_rate(&store, 1).await;
    assert_eq!(count(&burst(&app, &store.host, "/store/products", 20).await, StatusCode::OK), 20);
}

#[tokio::test]
async fn each_replica_enforces_its_share_of_the_plans_rate() {
    let app = spawn_app_configured(|settings| settings.rate_limit_replicas = 4).await;
    let store = app.create_store("shared").await;
    app.set_rate(&store, 20).await;
    let responses = burst(&app, &store.host, "/store/products", 20).await;
    let passed = count(&responses, StatusCode::OK);
    assert!((5..=8).contains(&passed), "{passed} of 20 passed");
    let refused = responses.iter().find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).unwrap();
    assert_eq!(refused.headers()["ratelimit-limit"], "5");
}
