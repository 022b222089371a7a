//! Journeys that cross both services.

use std::time::{Duration, Instant};

use control_plane::tenants::{
    model::{NewTenant, Slug},
    service,
};
use platform::money::Currency;
use tests::Platform;

#[tokio::test]
async fn a_store_provisioned_by_the_control_plane_answers_on_its_host_at_once() {
    let platform = Platform::start().await.unwrap();
    // The data plane has cached "no such store" for this host.
    let response = platform.store_get("fresh.localhost", "/store/products").await.unwrap();
    assert_eq!(response.status(), 404);

    let mut redis = platform.control.redis.clone();
    let tenant = NewTenant {
        slug: Slug::parse("fresh").unwrap(),
        name: "Fresh".into(),
        plan: "starter".into(),
        currency: Currency::parse("USD").unwrap(),
    };
    service::provision(&platform.control.db, &mut redis, "localhost", tenant).await.unwrap();

    // The announcement drops the cached miss; no waiting for its expiry.
    let started = Instant::now();
    let status = loop {
        let status = platform.store_get("fresh.localhost", "/store/products").await.unwrap().status();
        if status == 200 || started.elapsed() > Duration::from_secs(1) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, 200);
    let body: serde_json::Value =
        platform.store_get("fresh.localhost", "/store/products").await.unwrap().json().await.unwrap();
    assert_eq!(body, serde_json::json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn both_services_serve_health_on_their_own_ports() {
    let platform = Platform::start().await.unwrap();
    for base in [&platform.control_plane, &platform.tenant_api] {
        let response = platform.client.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{base}");
    }
}
