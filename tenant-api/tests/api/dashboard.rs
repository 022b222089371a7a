//! The merchant dashboard (`/dashboard`) through HTTP as a browser uses it:
//! forms, `303`s and cookies; staff sign in through the real control plane.

use std::sync::Arc;

use platform::{
    money::Currency,
    tenancy::{Tenant, TenantStatus},
    testkit::{Browser, TestDb},
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{checkout_body, spawn_app_on, spawn_control_plane, TestApp, TestStore};

const PASSWORD: &str = "dashboard-password-1";

/// Both planes over one database; the data plane's `CONTROL_PLANE_URL` is the control plane.
async fn spawn() -> (TestApp, String) {
    let db = Arc::new(TestDb::create().await.expect("test database"));
    let control_plane = spawn_control_plane(&db).await;
    let url = control_plane.clone();
    let app = spawn_app_on(db, move |settings| settings.control_plane_url = Some(url)).await;
    (app, control_plane)
}

/// A store opened through `POST /v1/tenants`, as a merchant signs up, with its owner's token.
async fn open_store(app: &TestApp, control_plane: &str, slug: &str) -> (TestStore, String) {
    let response = app
        .client
        .post(format!("{control_plane}/v1/tenants"))
        .json(&json!({"slug": slug, "name": format!("Store {slug}"), "owner_email": owner(slug),
                      "owner_password": PASSWORD, "currency": "USD"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let tenant = Tenant {
        id: platform::ids::TenantId::parse(body["id"].as_str().unwrap()).unwrap(),
        slug: slug.into(),
        status: TenantStatus::Active,
        cell_id: "default".into(),
        plan: body["plan"].as_str().unwrap().into(),
        currency: Currency::parse("USD").unwrap(),
        locale: "en-US".into(),
    };
    let token = body["credentials"]["access_token"].as_str().unwrap().to_owned();
    (TestStore { tenant, host: format!("{slug}.localhost") }, token)
}

fn owner(slug: &str) -> String {
    format!("owner@{slug}.test")
}

/// Adds a member through the control plane's API.
async fn add_member(app: &TestApp, control_plane: &str, store: &TestStore, owner: &str, email: &str, role: &str) {
    let response = app
        .client
        .post(format!("{control_plane}/v1/tenants/{}/staff", store.id()))
        .bearer_auth(owner)
        .json(&json!({"email": email, "password": PASSWORD, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// A browser on the store's host, signed in to its dashboard as `email`.
async fn signed_in(app: &TestApp, store: &TestStore, email: &str) -> Browser {
    let browser = Browser::new(&app.address, Some(&store.host));
    let page = browser.get("/dashboard/sign-in").await;
    assert_eq!(page.status, StatusCode::OK);
    let answer = browser
        .post_form("/dashboard/sign-in", &[("csrf_token", &page.csrf()), ("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/dashboard"));
    let session = answer.set_cookies.iter().find(|c| c.starts_with("dashboard_session=")).expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    browser
}

/// A paid order of one unit, placed through the JSON checkout; its id.
async fn paid_order(app: &TestApp, store: &TestStore, variant: &str) -> String {
    let cart = app.cart_with(store, None, variant, 1).await;
    let (status, order) =
        app.checkout(store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order["id"].as_str().unwrap().to_owned()
}

async fn order_json(app: &TestApp, store: &TestStore, owner: &str, id: &str) -> Value {
    app.get_as(&store.host, &format!("/admin/orders/{id}"), Some(owner), StatusCode::OK).await
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_an_error_and_no_session() {
    let (app, control_plane) = spawn().await;
    let (store, _) = open_store(&app, &control_plane, "alpha").await;
    let browser = Browser::new(&app.address, Some(&store.host));
    let page = browser.get("/dashboard/sign-in").await;
    let answer = browser
        .post_form(
            "/dashboard/sign-in",
            &[("csrf_token", &page.csrf()), ("email", &owner("alpha")), ("password", "not-the-password")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.body.contains("do not sign in to this store"), "{}", answer.body);
    assert!(answer.set_cookies.iter().all(|c| !c.starts_with("dashboard_session")), "{:?}", answer.set_cookies);
    assert_eq!(browser.get("/dashboard").await.location.as_deref(), Some("/dashboard/sign-in"));
}

#[tokio::test]
async fn without_a_session_every_page_redirects_to_sign_in() {
    let (app, control_plane) = spawn().await;
    let (store, _) = open_store(&app, &control_plane, "alpha").await;
    let browser = Browser::new(&app.address, Some(&store.host));
    for path in ["/dashboard", "/dashboard/products", "/dashboard/orders", "/dashboard/settings"] {
        let answer = browser.get(path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(answer.location.as_deref(), Some("/dashboard/sign-in"), "{path}");
    }
    // A forged cookie is the API's 401: signed out, cookie dropped.
    browser.set_cookie("dashboard_session", "not-a-token");
    let answer = browser.get("/dashboard/products").await;
    assert_eq!(answer.location.as_deref(), Some("/dashboard/sign-in"));
    assert_eq!(browser.cookie("dashboard_session"), None);
}

#[tokio::test]
async fn a_new_stores_owner_signs_in_and_creates_a_product_with_an_image() {
    let (app, control_plane) = spawn().await;
    let (store, owner_token) = open_store(&app, &control_plane, "alpha").await;
    let browser = signed_in(&app, &store, &owner("alpha")).await;

    let form = browser.get("/dashboard/products/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<label for=\"title\">"), "{}", form.body);
    let created = browser
        .post_form(
            "/dashboard/products",
            &[
                ("csrf_token", &form.csrf()),
                ("title", "Blue Mug"),
                ("status", "active"),
                ("sku", "MUG-BLUE"),
                ("price", "19.99"),
                ("stock", "7"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let product_page = created.location.unwrap();
    let id = product_page.rsplit('/').next().unwrap().to_owned();

    let page = browser.get(&product_page).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Blue Mug") && page.body.contains("19.99"), "{}", page.body);
    let png: &[u8] = b"\x89PNG\r\n\x1a\n0000IHDR fake image bytes";
    let uploaded = browser
        .post_multipart(
            &format!("/dashboard/products/{id}/images"),
            &[("csrf_token", &page.csrf()), ("alt", "A blue mug")],
            ("image", "mug.png", "image/png", png),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    assert_eq!(uploaded.location.as_deref(), Some(product_page.as_str()));

    let product = app.get_as(&store.host, &format!("/admin/products/{id}"), Some(&owner_token), StatusCode::OK).await;
    assert_eq!(product["status"], "active");
    assert_eq!(product["variants"][0]["price"], json!({"amount": 1999, "currency": "USD"}));
    let media = &product["media"][0];
    assert_eq!(media["status"], "ready", "{product}");
    assert_eq!(media["alt"], "A blue mug");
    let level = app
        .get_as(
            &store.host,
            &format!("/admin/inventory/{}", product["variants"][0]["id"].as_str().unwrap()),
            Some(&owner_token),
            StatusCode::OK,
        )
        .await;
    assert_eq!(level["on_hand"], 7);
    // The image is served, and the page shows it.
    let url = media["url"].as_str().unwrap();
    let image = app.get(&store.host, &url[url.find("/media/").unwrap()..]).await;
    assert_eq!(image.bytes().await.unwrap().as_ref(), png);
    assert!(browser.get(&product_page).await.body.contains("alt=\"A blue mug\""));
}

#[tokio::test]
async fn staff_fulfil_orders_but_only_admins_refund_and_cancel() {
    let (app, control_plane) = spawn().await;
    let (store, owner_token) = open_store(&app, &control_plane, "alpha").await;
    add_member(&app, &control_plane, &store, &owner_token, "staff@alpha.test", "staff").await;
    let variant = app.product_with_stock(&store, "Mug", 1500, 10).await;
    let (first, second) = (paid_order(&app, &store, &variant).await, paid_order(&app, &store, &variant).await);

    let staff = signed_in(&app, &store, "staff@alpha.test").await;
    let list = staff.get("/dashboard/orders").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&format!("/dashboard/orders/{first}")), "{}", list.body);
    let page = staff.get(&format!("/dashboard/orders/{first}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();

    // Refund and cancel are admin actions: a 403 page, nothing changed.
    let refund = staff
        .post_form(&format!("/dashboard/orders/{first}/refund"), &[("csrf_token", &csrf), ("idempotency_key", "k1")])
        .await;
    assert_eq!(refund.status, StatusCode::FORBIDDEN);
    assert!(refund.body.contains("admins and owners"), "{}", refund.body);
    let cancel = staff
        .post_form(&format!("/dashboard/orders/{first}/cancel"), &[("csrf_token", &csrf), ("restock", "true")])
        .await;
    assert_eq!(cancel.status, StatusCode::FORBIDDEN);
    let order = order_json(&app, &store, &owner_token, &first).await;
    assert_eq!((order["status"].as_str(), order["refunded_total"]["amount"].as_i64()), (Some("paid"), Some(0)));

    // Staff fulfil.
    let fulfil = staff
        .post_form(
            &format!("/dashboard/orders/{first}/fulfil"),
            &[("csrf_token", &csrf), ("tracking_number", "TRACK-1")],
        )
        .await;
    assert_eq!(fulfil.status, StatusCode::SEE_OTHER, "{}", fulfil.body);
    assert_eq!(order_json(&app, &store, &owner_token, &first).await["status"], "fulfilled");

    // The owner refunds part of the second order (twice with the form's key:
    // refunded once) and cancels the rest.
    let admin = signed_in(&app, &store, &owner("alpha")).await;
    let page = admin.get(&format!("/dashboard/orders/{second}")).await;
    let fields = [("csrf_token", page.csrf()), ("idempotency_key", "refund-form-1".into()), ("amount", "5.00".into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..2 {
        let refund = admin.post_form(&format!("/dashboard/orders/{second}/refund"), &fields).await;
        assert_eq!(refund.status, StatusCode::SEE_OTHER, "{}", refund.body);
    }
    let order = order_json(&app, &store, &owner_token, &second).await;
    assert_eq!(
        (order["status"].as_str(), order["refunded_total"]["amount"].as_i64()),
        (Some("partially_refunded"), Some(500))
    );
    let cancel = admin
        .post_form(&format!("/dashboard/orders/{second}/cancel"), &[("csrf_token", &page.csrf()), ("restock", "true")])
        .await;
    assert_eq!(cancel.status, StatusCode::SEE_OTHER, "{}", cancel.body);
    assert_eq!(order_json(&app, &store, &owner_token, &second).await["status"], "cancelled");
    // A fulfilled order cannot be cancelled: the API's 409, as a page.
    let refused = admin.post_form(&format!("/dashboard/orders/{first}/cancel"), &[("csrf_token", &page.csrf())]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_403_and_writes_nothing() {
    let (app, control_plane) = spawn().await;
    let (store, owner_token) = open_store(&app, &control_plane, "alpha").await;
    let browser = signed_in(&app, &store, &owner("alpha")).await;
    let fields = [("title", "Sneaky"), ("status", "active"), ("sku", "SNK"), ("price", "1.00")];
    let missing = browser.post_form("/dashboard/products", &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let mut forged = fields.to_vec();
    forged.push(("csrf_token", "forged.token"));
    assert_eq!(browser.post_form("/dashboard/products", &forged).await.status, StatusCode::FORBIDDEN);
    let products = app.get_as(&store.host, "/admin/products", Some(&owner_token), StatusCode::OK).await;
    assert_eq!(products["items"], json!([]));
}

#[tokio::test]
async fn bad_input_is_a_422_page_naming_the_field() {
    let (app, control_plane) = spawn().await;
    let (store, owner_token) = open_store(&app, &control_plane, "alpha").await;
    let browser = signed_in(&app, &store, &owner("alpha")).await;
    let csrf = browser.get("/dashboard/products/new").await.csrf();
    // A price that is not an amount: named by the dashboard.
    let answer = browser
        .post_form("/dashboard/products", &[("csrf_token", &csrf), ("title", "Mug"), ("sku", "M"), ("price", "abc")])
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("variants[0].price"), "{}", answer.body);
    // A rule of the API (a blank title): named by the API, shown by the page.
    let answer = browser
        .post_form("/dashboard/products", &[("csrf_token", &csrf), ("title", " "), ("sku", "M"), ("price", "1")])
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("<strong>title</strong>"), "{}", answer.body);
    let products = app.get_as(&store.host, "/admin/products", Some(&owner_token), StatusCode::OK).await;
    assert_eq!(products["items"], json!([]));
    // So are the setup forms'.
    let answer = browser
        .post_form("/dashboard/setup/taxes", &[("csrf_token", &csrf), ("country", "US"), ("rate_bps", "lots")])
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("<strong>rate_bps</strong>"), "{}", answer.body);
}

#[tokio::test]
async fn a_session_of_one_store_gets_nothing_on_another() {
    let (app, control_plane) = spawn().await;
    let (alpha, _) = open_store(&app, &control_plane, "alpha").await;
    let (beta, beta_owner) = open_store(&app, &control_plane, "beta").await;
    app.product_with_stock(&beta, "Beta Secret Mug", 1500, 10).await;
    let alpha_browser = signed_in(&app, &alpha, &owner("alpha")).await;
    // Alpha's cookies, sent to beta's host.
    let thief = Browser::new(&app.address, Some(&beta.host));
    for name in ["dashboard_session", "dashboard_refresh", "csrf"] {
        if let Some(value) = alpha_browser.cookie(name) {
            thief.set_cookie(name, &value);
        }
    }
    let answer = thief.get("/dashboard/products").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location.as_deref(), Some("/dashboard/sign-in"));
    assert!(!answer.body.contains("Beta Secret Mug"));
    // Nor can it sign in to beta with alpha's owner account.
    let page = thief.get("/dashboard/sign-in").await;
    let answer = thief
        .post_form(
            "/dashboard/sign-in",
            &[("csrf_token", &page.csrf()), ("email", &owner("alpha")), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let _ = beta_owner;
}

#[tokio::test]
async fn setup_pages_create_and_list_through_the_api() {
    let (app, control_plane) = spawn().await;
    let (store, owner_token) = open_store(&app, &control_plane, "alpha").await;
    let browser = signed_in(&app, &store, &owner("alpha")).await;
    let page = browser.get("/dashboard/setup/shipping").await;
    assert_eq!(page.status, StatusCode::OK);
    let created = browser
        .post_form("/dashboard/setup/shipping", &[("csrf_token", &page.csrf()), ("name", "Courier"), ("price", "4.50")])
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let list = browser.get("/dashboard/setup/shipping").await;
    assert!(list.body.contains("Courier") && list.body.contains("$4.50"), "{}", list.body);
    let methods = app.get_as(&store.host, "/admin/shipping-methods", Some(&owner_token), StatusCode::OK).await;
    assert_eq!(methods["items"][0]["price"]["amount"], 450);
    // Settings the control plane owns, read with the member's own token.
    let settings = browser.get("/dashboard/settings").await;
    assert_eq!(settings.status, StatusCode::OK);
    assert!(settings.body.contains(&owner("alpha")), "{}", settings.body);
}

#[tokio::test]
async fn sign_in_is_a_503_page_when_the_control_plane_does_not_answer() {
    let db = Arc::new(TestDb::create().await.expect("test database"));
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app = spawn_app_on(db, move |settings| {
        settings.control_plane_url = Some(format!("http://127.0.0.1:{closed}"));
    })
    .await;
    let store = app.create_store("alpha").await;
    let browser = Browser::new(&app.address, Some(&store.host));
    let page = browser.get("/dashboard/sign-in").await;
    let answer = browser
        .post_form("/dashboard/sign-in", &[("csrf_token", &page.csrf()), ("email", "a@b.test"), ("password", PASSWORD)])
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.set_cookies.iter().all(|c| !c.starts_with("dashboard_session")));
}

/// A token whose `exp` is long past (its signature is nothing: the renewal
/// reads `exp` only, and the API would refuse it).
fn expired_token() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    format!("e30.{}.x", URL_SAFE_NO_PAD.encode(r#"{"exp":1}"#))
}

#[tokio::test]
async fn an_expired_session_is_renewed_with_the_refresh_cookie() {
    let (app, control_plane) = spawn().await;
    let (store, _) = open_store(&app, &control_plane, "alpha").await;
    let browser = signed_in(&app, &store, &owner("alpha")).await;
    let first_refresh = browser.cookie("dashboard_refresh").expect("refresh cookie");

    browser.set_cookie("dashboard_session", &expired_token());
    let page = browser.get("/dashboard/products").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.set_cookies.iter().any(|c| c.starts_with("dashboard_session=")), "{:?}", page.set_cookies);
    assert_ne!(browser.cookie("dashboard_session").unwrap(), expired_token());
    assert_ne!(browser.cookie("dashboard_refresh").unwrap(), first_refresh);

    // A refresh token already used is refused: signed out.
    browser.set_cookie("dashboard_session", &expired_token());
    browser.set_cookie("dashboard_refresh", &first_refresh);
    let page = browser.get("/dashboard/products").await;
    assert_eq!(page.location.as_deref(), Some("/dashboard/sign-in"));
    assert_eq!(browser.cookie("dashboard_session"), None);
}

/// The store's payment settings as the control plane's API answers them.
async fn payment_settings(app: &TestApp, control_plane: &str, store: &TestStore, token: &str) -> Value {
    let response = app
        .client
        .get(format!("{control_plane}/v1/tenants/{}/payment-settings", store.id()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The publishable key the data plane's cached payment settings hold, once
/// it is `expected` (the control plane's announcement reached the cache), or
/// what it still holds after five seconds.
async fn cached_publishable_key(app: &TestApp, store: &TestStore, expected: &str) -> Option<String> {
    let tenant = store.id();
    let mut held = None;
    for _ in 0..100 {
        held = app.state.payment_settings.get(tenant).await.unwrap().stripe_publishable_key.clone();
        if held.as_deref() == Some(expected) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    held
}

#[tokio::test]
async fn admins_set_payment_settings_from_the_dashboard_and_secrets_are_kept_unless_changed() {
    let (app, control_plane) = spawn().await;
    let (store, owner_token) = open_store(&app, &control_plane, "alpha").await;
    let browser = signed_in(&app, &store, &owner("alpha")).await;
    // The data plane caches the settings it charges with (test provider so far).
    let tenant = store.id();
    assert_eq!(
        app.state.payment_settings.get(tenant).await.unwrap().provider,
        platform::settings::PaymentProvider::Test
    );
    let csrf = browser.get("/dashboard/settings").await.csrf();
    let stripe = [
        ("csrf_token", csrf.as_str()),
        ("provider", "stripe"),
        ("stripe_publishable_key", "pk_test_51DashAlpha"),
        ("stripe_secret_key", "sk_test_51DashAlphaSecret4242"),
        ("stripe_webhook_secret", "whsec_DashAlpha9876"),
        ("stripe_account_id", ""),
    ];
    let saved = browser.post_form("/dashboard/settings/payments", &stripe).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let settings = payment_settings(&app, &control_plane, &store, &owner_token).await;
    assert_eq!(settings["provider"], "stripe");
    assert_eq!(settings["stripe_publishable_key"], "pk_test_51DashAlpha");
    assert_eq!(settings["stripe_secret_key"]["last4"], "4242");
    assert_eq!(settings["stripe_webhook_secret"]["last4"], "9876");
    let page = browser.get("/dashboard/settings").await;
    assert!(page.body.contains("value=\"pk_test_51DashAlpha\""), "{}", page.body);
    assert!(page.body.contains("…4242") && !page.body.contains("sk_test_51DashAlphaSecret4242"), "{}", page.body);
    // The save was announced, and the data plane's cache let go of the test provider.
    assert_eq!(
        cached_publishable_key(&app, &store, "pk_test_51DashAlpha").await.as_deref(),
        Some("pk_test_51DashAlpha")
    );
    assert_eq!(
        app.state.payment_settings.get(tenant).await.unwrap().provider,
        platform::settings::PaymentProvider::Stripe
    );

    // Blank secrets keep what is stored; the shown values are sent back as they are.
    let csrf = page.csrf();
    let keep = [
        ("csrf_token", csrf.as_str()),
        ("provider", "stripe"),
        ("stripe_publishable_key", "pk_test_51DashAlphaTwo"),
        ("stripe_secret_key", ""),
        ("stripe_webhook_secret", ""),
    ];
    assert_eq!(browser.post_form("/dashboard/settings/payments", &keep).await.status, StatusCode::SEE_OTHER);
    let settings = payment_settings(&app, &control_plane, &store, &owner_token).await;
    assert_eq!(settings["stripe_publishable_key"], "pk_test_51DashAlphaTwo");
    assert_eq!(settings["stripe_secret_key"]["last4"], "4242");
    assert_eq!(
        cached_publishable_key(&app, &store, "pk_test_51DashAlphaTwo").await.as_deref(),
        Some("pk_test_51DashAlphaTwo")
    );

    // A live card form in front of a test-mode key: the API's 422, named, and nothing changes.
    let live = [("csrf_token", csrf.as_str()), ("provider", "stripe"), ("stripe_publishable_key", "pk_live_51X")];
    let refused = browser.post_form("/dashboard/settings/payments", &live).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("<strong>stripe_publishable_key</strong>"), "{}", refused.body);
    let settings = payment_settings(&app, &control_plane, &store, &owner_token).await;
    assert_eq!(settings["stripe_publishable_key"], "pk_test_51DashAlphaTwo");

    // A ticked box removes the webhook secret.
    let clear = [
        ("csrf_token", csrf.as_str()),
        ("provider", "stripe"),
        ("stripe_publishable_key", "pk_test_51DashAlphaTwo"),
        ("clear_stripe_webhook_secret", "1"),
    ];
    assert_eq!(browser.post_form("/dashboard/settings/payments", &clear).await.status, StatusCode::SEE_OTHER);
    let settings = payment_settings(&app, &control_plane, &store, &owner_token).await;
    assert_eq!(
        (settings["stripe_webhook_secret"].clone(), settings["stripe_secret_key"]["last4"].clone()),
        (Value::Null, json!("4242"))
    );

    // Without its form token: 403, nothing written.
    let forged = [("provider", "test")];
    assert_eq!(browser.post_form("/dashboard/settings/payments", &forged).await.status, StatusCode::FORBIDDEN);
    assert_eq!(payment_settings(&app, &control_plane, &store, &owner_token).await["provider"], "stripe");
}

#[tokio::test]
async fn staff_cannot_change_payment_settings_and_another_stores_session_reaches_nothing() {
    let (app, control_plane) = spawn().await;
    let (alpha, alpha_owner) = open_store(&app, &control_plane, "alpha").await;
    let (beta, beta_owner) = open_store(&app, &control_plane, "beta").await;
    add_member(&app, &control_plane, &alpha, &alpha_owner, "clerk@alpha.test", "staff").await;
    let clerk = signed_in(&app, &alpha, "clerk@alpha.test").await;
    let csrf = clerk.get("/dashboard/settings").await.csrf();
    let switch = [("csrf_token", csrf.as_str()), ("provider", "stripe"), ("stripe_secret_key", "sk_test_51Clerk0000")];
    let refused = clerk.post_form("/dashboard/settings/payments", &switch).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(payment_settings(&app, &control_plane, &alpha, &alpha_owner).await["provider"], "test");

    // Alpha's owner session, carried to beta's host, changes nothing there.
    let alpha_browser = signed_in(&app, &alpha, &owner("alpha")).await;
    let csrf = alpha_browser.get("/dashboard/settings").await.csrf();
    let thief = Browser::new(&app.address, Some(&beta.host));
    for name in ["dashboard_session", "dashboard_refresh", "csrf"] {
        if let Some(value) = alpha_browser.cookie(name) {
            thief.set_cookie(name, &value);
        }
    }
    let answer = thief
        .post_form(
            "/dashboard/settings/payments",
            &[("csrf_token", csrf.as_str()), ("provider", "stripe"), ("stripe_secret_key", "sk_test_51Thief0000")],
        )
        .await;
    let to_sign_in = answer.status == StatusCode::SEE_OTHER && answer.location.as_deref() == Some("/dashboard/sign-in");
    assert!(to_sign_in || answer.status == StatusCode::FORBIDDEN, "{} {:?}", answer.status, answer.location);
    assert_eq!(payment_settings(&app, &control_plane, &beta, &beta_owner).await["provider"], "test");
}
