//! Journeys that cross both services over HTTP.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tests::Platform;

async fn sign_up(platform: &Platform, slug: &str) -> Value {
    let response = platform
        .client
        .post(format!("{}/v1/tenants", platform.control_plane))
        .json(&json!({"slug": slug, "name": "Fresh", "currency": "USD",
                      "owner_email": format!("owner@{slug}.test"), "owner_password": "owner-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Polls the store's product list until it answers `expected` (at most one second).
async fn status_within_a_second(platform: &Platform, host: &str, expected: u16) -> (u16, Duration) {
    let started = Instant::now();
    loop {
        let status = platform.store_get(host, "/store/products").await.unwrap().status().as_u16();
        if status == expected || started.elapsed() > Duration::from_secs(1) {
            return (status, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_store_signed_up_on_the_control_plane_answers_on_its_host_at_once() {
    let platform = Platform::start().await.unwrap();
    // The data plane has cached "no such store" for this host.
    let response = platform.store_get("fresh.localhost", "/store/products").await.unwrap();
    assert_eq!(response.status(), 404);

    sign_up(&platform, "fresh").await;
    // The announcement drops the cached miss; no waiting for its expiry.
    let (status, _) = status_within_a_second(&platform, "fresh.localhost", 200).await;
    assert_eq!(status, 200);
    let body: Value = platform.store_get("fresh.localhost", "/store/products").await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn a_suspension_by_a_platform_admin_reaches_the_data_plane_within_a_second() {
    let platform = Platform::start().await.unwrap();
    let store = sign_up(&platform, "paused").await;
    assert_eq!(status_within_a_second(&platform, "paused.localhost", 200).await.0, 200);

    let token: Value = platform
        .client
        .post(format!("{}/v1/auth/token", platform.control_plane))
        .json(&json!({"grant_type": "password", "email": "admin@platform.test", "password": "bootstrap-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = token["access_token"].as_str().unwrap();
    for (action, expected) in [("suspend", 423), ("resume", 200)] {
        let response = platform
            .client
            .post(format!("{}/v1/tenants/{}/{action}", platform.control_plane, store["id"].as_str().unwrap()))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{action}");
        let (status, took) = status_within_a_second(&platform, "paused.localhost", expected).await;
        assert_eq!(status, expected, "after {action}, {took:?}");
    }
}

#[tokio::test]
async fn both_services_serve_health_on_their_own_ports() {
    let platform = Platform::start().await.unwrap();
    for base in [&platform.control_plane, &platform.tenant_api] {
        let response = platform.client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{base}");
    }
}
