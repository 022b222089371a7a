//! Journeys in a real headless Chromium (Debian's `chromium` + `chromium-driver`,
//! driven over WebDriver): a shopper, a merchant, a platform admin and a second
//! store, each on its own `<slug>.localhost` host. Screenshots of every step are
//! saved under the target directory (`browser/<test>/NN-<step>.png`), never in
//! the repository.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

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

/// The store's orders through the admin JSON API (the pages' effects, checked
/// beside what the pages show).
async fn orders(platform: &Platform, host: &str, token: &str) -> Vec<Value> {
    let response = platform
        .client
        .get(format!("{}/admin/orders", platform.tenant_api))
        .header("host", host)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_shopper_buys_through_the_pages_and_the_merchant_fulfils_the_order_in_the_dashboard() {
    let platform = Platform::start().await.unwrap();
    let (_, token) = open_store(&platform, "lamps", "Lamp Shop").await;
    add_product(&platform, "lamps.localhost", &token, "Brass Lantern", "LANTERN-1", 4_500).await;
    add_product(&platform, "lamps.localhost", &token, "Paper Shade", "SHADE-1", 1_500).await;
    let store = format!("http://lamps.localhost:{}", port_of(&platform.tenant_api));

    // The shopper: an account, a search, the product, the cart, the checkout, the history.
    let shopper = Browser::start(&artifacts("shopper")).await.unwrap();
    shopper.goto(&format!("{store}/")).await.unwrap();
    let home = shopper.wait_for_text("Brass Lantern").await.unwrap();
    assert!(home.contains("Lamp Shop"), "{home}");
    shopper.shot("home").await.unwrap();

    shopper.goto(&format!("{store}/sign-up")).await.unwrap();
    shopper.fill("#email", "ann@example.com").await.unwrap();
    shopper.fill("#password", "ann-password-1").await.unwrap();
    shopper.shot("sign-up").await.unwrap();
    shopper.click("form[action='/sign-up'] button[type=submit]").await.unwrap();
    shopper.wait_for_text("Sign out").await.unwrap();

    shopper.fill("#q", "lantern").await.unwrap();
    shopper.click("form[role=search] button[type=submit]").await.unwrap();
    let results = shopper.wait_for_text("Brass Lantern").await.unwrap();
    assert!(!results.contains("Paper Shade"), "the search for 'lantern' lists the shade:\n{results}");
    assert_eq!(shopper.url().await.unwrap().path(), "/search");
    shopper.shot("search").await.unwrap();

    shopper.click("main a[href^='/products/']").await.unwrap();
    let product = shopper.wait_for_text("$45.00").await.unwrap();
    assert!(product.contains("Brass Lantern"), "{product}");
    shopper.shot("product").await.unwrap();
    shopper.fill("#quantity", "2").await.unwrap();
    shopper.click("form[action='/cart/items'] button[type=submit]").await.unwrap();
    assert_eq!(shopper.url().await.unwrap().path(), "/cart");
    let cart = shopper.wait_for_text("Brass Lantern").await.unwrap();
    assert!(cart.contains("$90.00"), "two lanterns in the cart:\n{cart}");
    shopper.shot("cart").await.unwrap();

    shopper.goto(&format!("{store}/checkout")).await.unwrap();
    shopper.fill("#email", "ann@example.com").await.unwrap();
    shopper.fill("#name", "Ann Example").await.unwrap();
    shopper.fill("#line1", "1 Main St").await.unwrap();
    shopper.fill("#city", "Springfield").await.unwrap();
    shopper.fill("#postal_code", "12345").await.unwrap();
    shopper.fill("#country", "US").await.unwrap();
    shopper.shot("checkout").await.unwrap();
    shopper.click("#checkout-form button[type=submit]").await.unwrap();
    let confirmation_url = shopper.url().await.unwrap();
    assert!(confirmation_url.path().starts_with("/orders/"), "{confirmation_url}");
    assert!(confirmation_url.query_pairs().any(|(k, v)| k == "key" && !v.is_empty()), "{confirmation_url}");
    let placed = orders(&platform, "lamps.localhost", &token).await;
    assert_eq!(placed.len(), 1, "one order placed: {placed:?}");
    let order = &placed[0];
    let number = order["number"].to_string();
    assert!(confirmation_url.path().ends_with(order["id"].as_str().unwrap()));
    let confirmation = shopper.wait_for_text(&number).await.unwrap();
    assert!(confirmation.contains("$90.00"), "{confirmation}");
    shopper.shot("confirmation").await.unwrap();

    shopper.goto(&format!("{store}/account")).await.unwrap();
    let account = shopper.wait_for_text(&number).await.unwrap();
    assert!(account.contains("ann@example.com"), "{account}");
    shopper.shot("order-history").await.unwrap();
    shopper.close().await.unwrap();

    // The merchant: signs in, creates a product with an image, fulfils the shopper's order.
    let merchant = Browser::start(&artifacts("merchant")).await.unwrap();
    merchant.goto(&format!("{store}/dashboard")).await.unwrap();
    assert_eq!(merchant.url().await.unwrap().path(), "/dashboard/sign-in", "signed out, the dashboard asks to sign in");
    merchant.fill("#email", "owner@lamps.test").await.unwrap();
    merchant.fill("#password", "owner-password").await.unwrap();
    merchant.shot("sign-in").await.unwrap();
    merchant.click("form[action='/dashboard/sign-in'] button[type=submit]").await.unwrap();
    merchant.wait_for_text("Sign out").await.unwrap();

    merchant.goto(&format!("{store}/dashboard/products/new")).await.unwrap();
    merchant.fill("#title", "Copper Kettle").await.unwrap();
    merchant.fill("#sku", "KETTLE-1").await.unwrap();
    merchant.fill("#price", "32.50").await.unwrap();
    merchant.fill("#stock", "5").await.unwrap();
    merchant.find("#status").await.unwrap().select_by_value("active").await.unwrap();
    merchant.shot("new-product").await.unwrap();
    merchant.click("form[action='/dashboard/products'] button[type=submit]").await.unwrap();
    merchant.wait_for_text("Copper Kettle").await.unwrap();
    let product_path = merchant.url().await.unwrap().path().to_owned();
    assert!(product_path.starts_with("/dashboard/products/"), "{product_path}");
    // The image: a PNG the browser itself just took of this page.
    let image = merchant.shot("product-created").await.unwrap();
    merchant.find("#image").await.unwrap().send_keys(image.to_str().unwrap()).await.unwrap();
    merchant.fill("#alt", "A copper kettle").await.unwrap();
    merchant.click("form[enctype='multipart/form-data'] button[type=submit]").await.unwrap();
    merchant.find("img[alt='A copper kettle']").await.unwrap();
    merchant.shot("image-uploaded").await.unwrap();
    let kettle: Value =
        platform.store_get("lamps.localhost", "/store/products/copper-kettle").await.unwrap().json().await.unwrap();
    assert_eq!(kettle["title"], "Copper Kettle", "{kettle}");
    assert_eq!(kettle["variants"][0]["price"]["amount"], 3_250, "{kettle}");
    assert_eq!(kettle["media"].as_array().map(Vec::len), Some(1), "{kettle}");

    merchant.goto(&format!("{store}/dashboard/orders")).await.unwrap();
    merchant.wait_for_text(&number).await.unwrap();
    merchant.shot("orders").await.unwrap();
    merchant.click(&format!("a[href='/dashboard/orders/{}']", order["id"].as_str().unwrap())).await.unwrap();
    merchant.fill("#tracking_number", "1Z999").await.unwrap();
    merchant
        .click(&format!(
            "form[action='/dashboard/orders/{}/fulfil'] button[type=submit]",
            order["id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    merchant.wait_for_text("1Z999").await.unwrap();
    merchant.shot("fulfilled").await.unwrap();
    let after = orders(&platform, "lamps.localhost", &token).await;
    assert_eq!(after[0]["status"], "fulfilled", "{after:?}");
    merchant.close().await.unwrap();
}

#[tokio::test]
async fn a_platform_admin_suspends_a_store_in_the_admin_pages_and_its_pages_answer_423() {
    let platform = Platform::start().await.unwrap();
    let (id, token) = open_store(&platform, "paused", "Paused Shop").await;
    add_product(&platform, "paused.localhost", &token, "Brass Lantern", "LANTERN-1", 4_500).await;
    let store = format!("http://paused.localhost:{}", port_of(&platform.tenant_api));

    let admin = Browser::start(&artifacts("admin")).await.unwrap();
    admin.goto(&format!("{store}/")).await.unwrap();
    admin.wait_for_text("Brass Lantern").await.unwrap();

    admin.goto(&format!("{}/admin", platform.control_plane)).await.unwrap();
    assert_eq!(admin.url().await.unwrap().path(), "/admin/sign-in");
    admin.fill("#email", "admin@platform.test").await.unwrap();
    admin.fill("#password", "bootstrap-password").await.unwrap();
    admin.click("form[action='/admin/sign-in'] button[type=submit]").await.unwrap();
    admin.fill("#q", "paus").await.unwrap();
    admin.click("form[role=search] button[type=submit]").await.unwrap();
    admin.wait_for_text("Paused Shop").await.unwrap();
    admin.shot("stores").await.unwrap();
    admin.click(&format!("a[href='/admin/stores/{id}']")).await.unwrap();
    admin.click(&format!("form[action='/admin/stores/{id}/suspend'] button[type=submit]")).await.unwrap();
    admin.wait_for_text("Resume store").await.unwrap();
    admin.shot("suspended").await.unwrap();

    // The data plane hears of it within a second: every page answers 423.
    let started = Instant::now();
    let mut status = 0;
    while started.elapsed() < Duration::from_secs(2) {
        status = platform.store_get("paused.localhost", "/").await.unwrap().status().as_u16();
        if status == 423 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 423);
    for path in ["/", "/products/brass-lantern", "/cart", "/checkout"] {
        assert_eq!(platform.store_get("paused.localhost", path).await.unwrap().status(), 423, "{path}");
    }
    admin.goto(&format!("{store}/")).await.unwrap();
    let page = admin.text().await.unwrap();
    assert!(!page.contains("Brass Lantern"), "a suspended store still shows its catalog:\n{page}");
    admin.shot("store-page-suspended").await.unwrap();

    // The audit log shows who did it.
    admin.goto(&format!("{}/admin/audit", platform.control_plane)).await.unwrap();
    admin.wait_for_text("suspend").await.unwrap();
    admin.shot("audit").await.unwrap();
    admin.close().await.unwrap();
}

#[tokio::test]
async fn a_second_stores_pages_never_show_the_first_stores_catalog_cart_or_account() {
    let platform = Platform::start().await.unwrap();
    let (_, lamps) = open_store(&platform, "lamps", "Lamp Shop").await;
    let lantern = add_product(&platform, "lamps.localhost", &lamps, "Brass Lantern", "LANTERN-1", 4_500).await;
    let (_, rugs) = open_store(&platform, "rugs", "Rug Shop").await;
    add_product(&platform, "rugs.localhost", &rugs, "Wool Rug", "RUG-1", 12_000).await;
    let port = port_of(&platform.tenant_api);
    let (lamp_store, rug_store) = (format!("http://lamps.localhost:{port}"), format!("http://rugs.localhost:{port}"));

    let browser = Browser::start(&artifacts("two-stores")).await.unwrap();
    // A cart and an account at the lamp store.
    browser.goto(&format!("{lamp_store}/sign-up")).await.unwrap();
    browser.fill("#email", "ann@example.com").await.unwrap();
    browser.fill("#password", "ann-password-1").await.unwrap();
    browser.click("form[action='/sign-up'] button[type=submit]").await.unwrap();
    browser.goto(&format!("{lamp_store}/products/{}", lantern["handle"].as_str().unwrap())).await.unwrap();
    browser.click("form[action='/cart/items'] button[type=submit]").await.unwrap();
    browser.wait_for_text("Brass Lantern").await.unwrap();
    browser.shot("lamp-cart").await.unwrap();

    // The rug store, in the same browser: none of it.
    for path in ["/", "/search?q=lantern", "/cart", "/account"] {
        browser.goto(&format!("{rug_store}{path}")).await.unwrap();
        let text = browser.text().await.unwrap();
        assert!(!text.contains("Brass Lantern") && !text.contains("Lamp Shop"), "{path} on the rug store:\n{text}");
        assert!(!text.contains("ann@example.com"), "{path} on the rug store knows the lamp store's shopper:\n{text}");
    }
    browser.goto(&format!("{rug_store}/")).await.unwrap();
    browser.wait_for_text("Wool Rug").await.unwrap();
    browser.shot("rug-home").await.unwrap();
    browser.goto(&format!("{rug_store}/products/{}", lantern["handle"].as_str().unwrap())).await.unwrap();
    let text = browser.text().await.unwrap();
    assert!(!text.contains("Brass Lantern"), "{text}");
    assert_eq!(
        platform
            .store_get("rugs.localhost", &format!("/products/{}", lantern["handle"].as_str().unwrap()))
            .await
            .unwrap()
            .status(),
        404
    );
    browser.shot("rug-store-has-no-lantern").await.unwrap();
    browser.close().await.unwrap();
}
