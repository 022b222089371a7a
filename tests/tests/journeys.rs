//! Journeys that cross both services over HTTP.

use std::time::{Duration, Instant};

use platform::ids::TenantId;
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

/// Polls `check` until it holds (at most one second); whether it did, and when.
async fn within_a_second<F, Fut>(mut check: F) -> (bool, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return (true, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(1) {
            return (false, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_custom_domain_serves_its_store_on_the_data_plane_once_verified_and_stops_when_removed() {
    let platform = Platform::start().await.unwrap();
    let store = sign_up(&platform, "brand").await;
    let (id, owner) = (store["id"].as_str().unwrap(), store["credentials"]["access_token"].as_str().unwrap());
    assert!(tenant_api::seed::seed_demo(&platform.data, "brand").await.unwrap() > 0);
    let host = "shop.brand-goods.test";
    // Unknown, and cached as unknown by the data plane.
    assert_eq!(platform.store_get(host, "/store/products").await.unwrap().status(), 404);

    let (status, claim) = platform
        .control_call("POST", &format!("/v1/tenants/{id}/domains"), Some(owner), Some(json!({"host": host})))
        .await
        .unwrap();
    assert_eq!(status, 201, "{claim}");
    // A claim alone, even with the record published, serves nothing.
    platform
        .dns
        .publish(claim["verification"]["name"].as_str().unwrap(), claim["verification"]["value"].as_str().unwrap());
    assert_eq!(platform.store_get(host, "/store/products").await.unwrap().status(), 404);

    let verify = format!("/v1/tenants/{id}/domains/{host}/verify");
    let (status, verified) = platform.control_call("POST", &verify, Some(owner), None).await.unwrap();
    assert_eq!((status, verified["verified"].as_bool()), (200, Some(true)), "{verified}");
    // The announcement drops the cached miss at once.
    let (status, took) = status_within_a_second(&platform, &format!("{host}:8000"), 200).await;
    assert_eq!(status, 200, "after {took:?}");
    let on_domain: Value = platform.store_get(host, "/store/products").await.unwrap().json().await.unwrap();
    let on_slug: Value = platform.store_get("brand.localhost", "/store/products").await.unwrap().json().await.unwrap();
    assert!(!on_domain["items"].as_array().unwrap().is_empty());
    assert_eq!(on_domain, on_slug, "the custom host serves the same store as its slug");

    let (status, _) =
        platform.control_call("DELETE", &format!("/v1/tenants/{id}/domains/{host}"), Some(owner), None).await.unwrap();
    assert_eq!(status, 204);
    let (status, took) = status_within_a_second(&platform, host, 404).await;
    assert_eq!(status, 404, "after {took:?}");
    assert_eq!(status_within_a_second(&platform, "brand.localhost", 200).await.0, 200);
}

#[tokio::test]
async fn an_api_key_from_the_control_plane_authenticates_on_the_data_plane_until_revoked() {
    let platform = Platform::start().await.unwrap();
    let store = sign_up(&platform, "keys").await;
    let other = sign_up(&platform, "other").await;
    let (id, owner) = (store["id"].as_str().unwrap(), store["credentials"]["access_token"].as_str().unwrap());
    let other_owner = other["credentials"]["access_token"].as_str().unwrap();
    let create = |name: &'static str| json!({"name": name, "scopes": ["catalog:*"]});
    let (status, key) = platform
        .control_call("POST", &format!("/v1/tenants/{id}/api-keys"), Some(owner), Some(create("erp")))
        .await
        .unwrap();
    assert_eq!(status, 201, "{key}");
    let other_path = format!("/v1/tenants/{}/api-keys", other["id"].as_str().unwrap());
    let (_, other_key) =
        platform.control_call("POST", &other_path, Some(other_owner), Some(create("pos"))).await.unwrap();
    let (secret, other_secret) = (key["key"].as_str().unwrap(), other_key["key"].as_str().unwrap());

    // No /admin route exists on this branch yet: ask the data plane's own
    // authenticator, whose cache (30 s) only an announcement can clear sooner.
    let record = platform.data.auth.api_key(secret).await.unwrap().expect("the new key authenticates");
    assert_eq!(record.tenant_id.to_string(), id);
    assert_eq!(record.scopes, vec!["catalog:*"]);
    assert!(platform.data.auth.api_key(other_secret).await.unwrap().is_some());

    let revoke = format!("/v1/tenants/{id}/api-keys/{}", key["id"].as_str().unwrap());
    let (status, _) = platform.control_call("DELETE", &revoke, Some(owner), None).await.unwrap();
    assert_eq!(status, 204);
    let (revoked, took) =
        within_a_second(|| async { platform.data.auth.api_key(secret).await.unwrap().is_none() }).await;
    assert!(revoked, "the revoked key still works after {took:?}");
    // Another store's key is untouched.
    assert!(platform.data.auth.api_key(other_secret).await.unwrap().is_some());
}

#[tokio::test]
async fn a_plan_change_reaches_the_data_planes_quota_cache_within_a_second() {
    let platform = Platform::start().await.unwrap();
    let store = sign_up(&platform, "grower").await;
    let id = store["id"].as_str().unwrap();
    let tenant = TenantId::parse(id).unwrap();
    let starter = platform.data.quotas.get(tenant).await.unwrap().unwrap();
    assert_eq!((starter.plan.as_str(), starter.max_staff), ("starter", 3));

    // Plans are granted by a platform admin, never by the store's owner.
    let (_, token) = platform
        .control_call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": "admin@platform.test", "password": "bootstrap-password"})),
        )
        .await
        .unwrap();
    let admin = token["access_token"].as_str().unwrap();
    let (status, _) = platform
        .control_call("PATCH", &format!("/v1/tenants/{id}"), Some(admin), Some(json!({"plan": "growth"})))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (changed, took) = within_a_second(|| async {
        platform.data.quotas.get(tenant).await.unwrap().is_some_and(|q| q.plan == "growth" && q.max_staff == 15)
    })
    .await;
    assert!(changed, "still the old quotas after {took:?}");
}
