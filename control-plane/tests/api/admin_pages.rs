//! The platform admin pages (`/admin`) through HTTP as a browser uses them:
//! forms, `303`s and cookies, over the same rules as the `/v1` API.

use platform::{config::Settings, testkit::Browser};
use reqwest::StatusCode;
use serde_json::Value;
use tenant_api::{contexts::Context, startup::Application};

use crate::helpers::{spawn_app, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

/// A browser on the control plane, signed in to the admin pages as `email`.
async fn signed_in(app: &TestApp, email: &str, password: &str) -> Browser {
    let browser = Browser::new(&app.address, None);
    let page = browser.get("/admin/sign-in").await;
    assert_eq!(page.status, StatusCode::OK);
    let answer = browser
        .post_form("/admin/sign-in", &[("csrf_token", &page.csrf()), ("email", email), ("password", password)])
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/admin/stores"));
    let session = answer.set_cookies.iter().find(|c| c.starts_with("admin_session=")).expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    browser
}

/// The data plane over the control plane's database; its address.
async fn spawn_data_plane(app: &TestApp) -> String {
    let settings = Settings::for_tests(&app._db.url()).expect("settings");
    let data_plane = Application::build(settings, Context::ALL).await.expect("data plane builds");
    let address = format!("http://127.0.0.1:{}", data_plane.port());
    tokio::spawn(data_plane.run_until(std::future::pending()));
    address
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    let admin = app.admin_token().await;
    app.expect("GET", &format!("/v1/tenants/{id}"), Some(&admin), None, StatusCode::OK).await
}

#[tokio::test]
async fn an_admin_finds_a_store_suspends_and_resumes_it_and_the_audit_log_shows_it() {
    let app = spawn_app().await;
    let data_plane = spawn_data_plane(&app).await;
    let store = app.create_store("alpha").await;
    app.create_store("bravo").await;
    let browser = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let found = browser.get("/admin/stores?q=ALP").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.body.contains(&format!("/admin/stores/{}", store.id)), "{}", found.body);
    assert!(!found.body.contains("bravo"), "{}", found.body);

    let page = browser.get(&format!("/admin/stores/{}", store.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    let suspended =
        browser.post_form(&format!("/admin/stores/{}/suspend", store.id), &[("csrf_token", &page.csrf())]).await;
    assert_eq!(suspended.status, StatusCode::SEE_OTHER, "{}", suspended.body);
    assert_eq!(status_of(&app, &store.id).await["status"], "suspended");

    // The store's storefront and dashboard answer 423 (the announcement drops
    // the data plane's cached host; retry briefly while it travels).
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..50 {
        statuses.clear();
        for path in ["/store/products", "/dashboard/sign-in"] {
            let response =
                client.get(format!("{data_plane}{path}")).header("host", "alpha.localhost").send().await.unwrap();
            statuses.push(response.status());
        }
        if statuses.iter().all(|s| *s == StatusCode::LOCKED) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(statuses, [StatusCode::LOCKED, StatusCode::LOCKED]);

    let audit = browser.get("/admin/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(audit.body.contains("tenant.suspend"), "{}", audit.body);

    let page = browser.get(&format!("/admin/stores/{}", store.id)).await;
    let resumed =
        browser.post_form(&format!("/admin/stores/{}/resume", store.id), &[("csrf_token", &page.csrf())]).await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.body);
    assert_eq!(status_of(&app, &store.id).await["status"], "active");
    let admin = app.admin_token().await;
    let log =
        app.expect("GET", &format!("/v1/audit-log?tenant_id={}", store.id), Some(&admin), None, StatusCode::OK).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"tenant.suspend") && actions.contains(&"tenant.resume"), "{actions:?}");
}

#[tokio::test]
async fn an_admin_changes_a_stores_plan_and_the_change_is_audited() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let browser = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let page = browser.get(&format!("/admin/stores/{}", store.id)).await;
    let changed = browser
        .post_form(&format!("/admin/stores/{}/plan", store.id), &[("csrf_token", &page.csrf()), ("plan", "growth")])
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(status_of(&app, &store.id).await["plan"], "growth");
    let page = browser.get(&format!("/admin/stores/{}", store.id)).await;
    assert!(page.body.contains("tenant.update"), "{}", page.body);
    // An unknown plan: the API's 422, as a page naming the field; nothing changed.
    let refused = browser
        .post_form(&format!("/admin/stores/{}/plan", store.id), &[("csrf_token", &page.csrf()), ("plan", "nope")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("<strong>plan</strong>"), "{}", refused.body);
    assert_eq!(status_of(&app, &store.id).await["plan"], "growth");
}

#[tokio::test]
async fn a_store_owner_on_the_admin_pages_gets_403() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let owner = signed_in(&app, "owner@alpha.test", "owner-password").await;
    let page = owner.get("/admin/stores").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!page.body.contains("alpha.localhost"), "{}", page.body);
    let suspend = owner.post_form(&format!("/admin/stores/{}/suspend", store.id), &[]).await;
    assert_eq!(suspend.status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, &store.id).await["status"], "active");
}

#[tokio::test]
async fn admin_forms_without_their_csrf_token_are_403_and_change_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let browser = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let answer = browser.post_form(&format!("/admin/stores/{}/suspend", store.id), &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = browser.post_form(&format!("/admin/stores/{}/suspend", store.id), &[("csrf_token", "x.y")]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, &store.id).await["status"], "active");
    let admin = app.admin_token().await;
    let log =
        app.expect("GET", &format!("/v1/audit-log?tenant_id={}", store.id), Some(&admin), None, StatusCode::OK).await;
    assert!(log["items"].as_array().unwrap().iter().all(|e| e["action"] != "tenant.suspend"));
}

#[tokio::test]
async fn a_wrong_password_or_no_session_never_reaches_the_pages() {
    let app = spawn_app().await;
    let browser = Browser::new(&app.address, None);
    let page = browser.get("/admin/sign-in").await;
    let answer = browser
        .post_form(
            "/admin/sign-in",
            &[("csrf_token", &page.csrf()), ("email", ADMIN_EMAIL), ("password", "wrong-password")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.set_cookies.iter().all(|c| !c.starts_with("admin_session")), "{:?}", answer.set_cookies);
    for path in ["/admin", "/admin/stores", "/admin/audit"] {
        let answer = browser.get(path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
    }
    assert_eq!(browser.get("/admin/stores").await.location.as_deref(), Some("/admin/sign-in"));
}

/// A token whose `exp` is long past (its signature is nothing: the renewal
/// reads `exp` only, and the API would refuse it).
fn expired_token() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    format!("e30.{}.x", URL_SAFE_NO_PAD.encode(r#"{"exp":1}"#))
}

#[tokio::test]
async fn an_expired_admin_session_is_renewed_with_the_refresh_cookie_and_a_used_one_signs_out() {
    let app = spawn_app().await;
    let browser = signed_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let first_refresh = browser.cookie("admin_refresh").expect("refresh cookie");

    browser.set_cookie("admin_session", &expired_token());
    let page = browser.get("/admin/stores").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for name in ["admin_session=", "admin_refresh="] {
        let set = page.set_cookies.iter().find(|c| c.starts_with(name)).expect("renewed cookie");
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    }
    assert_ne!(browser.cookie("admin_session").unwrap(), expired_token());
    assert_ne!(browser.cookie("admin_refresh").unwrap(), first_refresh);
    // The renewed session works without renewing again.
    let again = browser.get("/admin/audit").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.set_cookies.iter().all(|c| !c.starts_with("admin_session=")), "{:?}", again.set_cookies);

    // A refresh token already used is refused: signed out, both cookies dropped.
    browser.set_cookie("admin_session", &expired_token());
    browser.set_cookie("admin_refresh", &first_refresh);
    let page = browser.get("/admin/stores").await;
    assert_eq!(page.location.as_deref(), Some("/admin/sign-in"));
    assert_eq!((browser.cookie("admin_session"), browser.cookie("admin_refresh")), (None, None));
}
