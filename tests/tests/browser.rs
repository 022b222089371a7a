//! Journeys in a real headless Chromium (Debian's `chromium` + `chromium-driver`,
//! driven over WebDriver): a shopper, a merchant, a platform admin and a second
//! store, each on its own `<slug>.localhost` host. Screenshots of every step are
//! saved under the target directory (`browser/<test>/NN-<step>.png`), never in
//! the repository.

use std::path::PathBuf;

use serde_json::{json, Value};
use tests::{browser::Browser, Platform};

fn artifacts(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser").join(test)
}

/// Signs a store up through the control plane; its id and owner's access token.
async fn open_store(platform: &Platform, slug: &str, name: &str) -> (String, String) {
    let (status, store) = platform
        .control_call(
            "POST",
            "/v1/tenants",
            None,
            Some(json!({"slug": slug, "name": name, "currency": "USD",
                        "owner_email": format!("owner@{slug}.test"), "owner_password": "owner-password"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{store}");
    let id = store["id"].as_str().unwrap().to_owned();
    let (status, token) = platform
        .control_call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": format!("owner@{slug}.test"),
                        "password": "owner-password", "tenant_id": id})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{token}");
    (id, token["access_token"].as_str().unwrap().to_owned())
}

/// Creates an active product with one variant and stock through the admin JSON API.
async fn add_product(platform: &Platform, host: &str, token: &str, title: &str, sku: &str, cents: i64) -> Value {
    let response = platform
        .client
        .post(format!("{}/admin/products", platform.tenant_api))
        .header("host", host)
        .bearer_auth(token)
        .json(&json!({"title": title, "status": "active",
                      "variants": [{"sku": sku, "price": {"amount": cents, "currency": "USD"}, "stock": 10}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

fn port_of(base: &str) -> &str {
    base.rsplit(':').next().unwrap()
}

#[tokio::test]
async fn chromium_opens_a_stores_host_on_localhost_and_sees_only_that_stores_catalog() {
    let platform = Platform::start().await.unwrap();
    let (_, token) = open_store(&platform, "lamps", "Lamp Shop").await;
    add_product(&platform, "lamps.localhost", &token, "Brass Lantern", "LANTERN-1", 4_500).await;
    let (_, other) = open_store(&platform, "rugs", "Rug Shop").await;
    add_product(&platform, "rugs.localhost", &other, "Wool Rug", "RUG-1", 12_000).await;

    let browser = Browser::start(&artifacts("harness")).await.unwrap();
    let port = port_of(&platform.tenant_api);
    browser.goto(&format!("http://lamps.localhost:{port}/store/products")).await.unwrap();
    let text = browser.wait_for_text("Brass Lantern").await.unwrap();
    assert!(!text.contains("Wool Rug"), "{text}");
    browser.shot("lamps-catalog").await.unwrap();
    browser.goto(&format!("http://rugs.localhost:{port}/store/products")).await.unwrap();
    let text = browser.wait_for_text("Wool Rug").await.unwrap();
    assert!(!text.contains("Brass Lantern"), "{text}");
    browser.close().await.unwrap();
}
