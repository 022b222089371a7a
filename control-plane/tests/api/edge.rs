//! The control plane's edge: plans are granted, never self-chosen; sign-up
//! does not say whether an email has an account; password hashing is bounded;
//! an oversized body is a problem; sign-in and sign-up are limited per client
//! address, and `X-Forwarded-For` names the client only from a trusted proxy.

use std::net::IpAddr;

use control_plane::settings::ControlSettings;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_configured, spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

fn signup(slug: &str, email: &str, password: &str) -> Value {
    json!({"slug": slug, "name": "Shop", "currency": "USD", "owner_email": email, "owner_password": password})
}

async fn tenant_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from control.tenant").fetch_one(app.state.db.control()).await.unwrap()
}

#[tokio::test]
async fn self_service_sign_up_gets_the_default_plan_and_cannot_choose_another() {
    let app = spawn_app().await;
    for plan in ["enterprise", "growth"] {
        let mut body = signup("alpha", "owner@alpha.test", "owner-password");
        body["plan"] = plan.into();
        let refused = app.expect("POST", "/v1/tenants", None, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(refused["errors"][0]["field"], "plan", "{refused}");
    }
    assert_eq!(tenant_count(&app).await, 0, "a refused sign-up opens nothing");

    // Naming the default plan is what a sign-up form may do.
    let mut body = signup("alpha", "owner@alpha.test", "owner-password");
    body["plan"] = "starter".into();
    let created = app.expect("POST", "/v1/tenants", None, Some(body), StatusCode::CREATED).await;
    assert_eq!(created["plan"], "starter");

    // A signed-in owner opening another store is still self-service.
    let owner = created["credentials"]["access_token"].as_str().unwrap().to_owned();
    let mut body = signup("bravo", "owner@alpha.test", "owner-password");
    body["plan"] = "enterprise".into();
    let refused = app.expect("POST", "/v1/tenants", Some(&owner), Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(refused["errors"][0]["field"], "plan");

    // A platform admin opens a store on any plan.
    let admin = app.admin_token().await;
    let mut body = signup("charlie", "owner@charlie.test", "owner-password");
    body["plan"] = "enterprise".into();
    let created = app.expect("POST", "/v1/tenants", Some(&admin), Some(body), StatusCode::CREATED).await;
    assert_eq!(created["plan"], "enterprise");
}

#[tokio::test]
async fn only_platform_admins_change_a_plan_and_the_audit_log_shows_before_and_after() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let path = format!("/v1/tenants/{}", store.id);
    for plan in ["enterprise", "starter"] {
        let refused = app
            .expect("PATCH", &path, Some(&store.owner_token), Some(json!({"plan": plan})), StatusCode::FORBIDDEN)
            .await;
        assert_eq!(refused["type"], "/problems/forbidden");
    }
    // Name and plan together: refused whole, the name unchanged too.
    app.expect(
        "PATCH",
        &path,
        Some(&store.owner_token),
        Some(json!({"name": "Renamed", "plan": "growth"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    let read = app.expect("GET", &path, Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!((read["plan"].as_str(), read["name"].as_str()), (Some("starter"), Some("Store alpha")));

    // Staff of another store learn nothing about this one: 404, not 403.
    let other = app.create_store("bravo").await;
    app.expect("PATCH", &path, Some(&other.owner_token), Some(json!({"plan": "growth"})), StatusCode::NOT_FOUND).await;

    let admin = app.admin_token().await;
    let changed = app.expect("PATCH", &path, Some(&admin), Some(json!({"plan": "growth"})), StatusCode::OK).await;
    assert_eq!(changed["plan"], "growth");
    let log =
        app.expect("GET", &format!("/v1/audit-log?tenant_id={}", store.id), Some(&admin), None, StatusCode::OK).await;
    let entry = &log["items"][0];
    assert_eq!(entry["action"], "tenant.update", "{log}");
    assert_eq!((entry["before"]["plan"].as_str(), entry["after"]["plan"].as_str()), (Some("starter"), Some("growth")));
}

#[tokio::test]
async fn sign_up_with_a_taken_email_answers_like_a_bad_password_and_names_no_account() {
    let app = spawn_app().await;
    app.create_store("alpha").await;
    let taken = app
        .expect(
            "POST",
            "/v1/tenants",
            None,
            Some(signup("bravo", "owner@alpha.test", "another-password")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    // The same answer as a password that breaks the rules on a fresh email.
    let weak = app
        .expect(
            "POST",
            "/v1/tenants",
            None,
            Some(signup("bravo", "new@bravo.test", "short")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    for body in [&taken, &weak] {
        assert_eq!(body["type"], "/problems/validation", "{body}");
        assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
        assert_eq!(body["errors"][0]["field"], "owner_password", "{body}");
    }
    let text = taken.to_string().to_lowercase();
    assert!(!text.contains("exist") && !text.contains("account"), "the answer names the account: {taken}");
    assert_eq!(tenant_count(&app).await, 1);
    // The account's own password still opens a second store with it.
    app.expect(
        "POST",
        "/v1/tenants",
        None,
        Some(signup("bravo", "owner@alpha.test", "owner-password")),
        StatusCode::CREATED,
    )
    .await;
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = app.client.post(format!("{}{path}", app.address)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn assert_overloaded(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/overloaded", "{body}");
}

#[tokio::test]
async fn password_hashing_past_its_bound_answers_503_with_retry_after_and_recovers() {
    let mut control = control_plane::settings::ControlSettings::for_tests();
    control.password_hash_permits = Some(1);
    control.password_hash_wait_ms = 50;
    let app = spawn_app_with(control).await;
    let store = app.create_store("alpha").await;
    let grant = json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});

    // Every permit taken, as by hashes in flight: each hashing path sheds load.
    let busy = app.state.hasher.saturate().await;
    assert_overloaded(post(&app, "/v1/auth/token", None, grant.clone()).await).await;
    let unknown = json!({"grant_type": "password", "email": "nobody@x.test", "password": "whatever-password"});
    assert_overloaded(post(&app, "/v1/auth/token", None, unknown).await).await;
    assert_overloaded(post(&app, "/v1/tenants", None, signup("bravo", "owner@bravo.test", "owner-password")).await)
        .await;
    let member = json!({"email": "clerk@alpha.test", "password": "member-password", "role": "staff"});
    let staff = format!("/v1/tenants/{}/staff", store.id);
    assert_overloaded(post(&app, &staff, Some(&store.owner_token), member.clone()).await).await;
    assert_eq!(tenant_count(&app).await, 1, "a shed sign-up opens nothing");

    // Permits back: normal service.
    drop(busy);
    assert_eq!(post(&app, "/v1/auth/token", None, grant).await.status(), StatusCode::OK);
    assert_eq!(
        post(&app, "/v1/tenants", None, signup("bravo", "owner@bravo.test", "owner-password")).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(post(&app, &staff, Some(&store.owner_token), member).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let huge = "x".repeat(3 * 1024 * 1024);
    let cases = [
        ("/v1/tenants", None, "POST"),
        ("/v1/auth/token", None, "POST"),
        (&*format!("/v1/tenants/{}", store.id), Some(store.owner_token.as_str()), "PATCH"),
    ];
    for (path, token, method) in cases {
        let mut request = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.address))
            .header("content-type", "application/json")
            .body(format!("{{\"name\": \"{huge}\"}}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{method} {path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "/problems/payload-too-large", "{method} {path}: {body}");
        assert_eq!(body["status"], 413);
    }
}

/// The control plane with sign-in and sign-up held to 10 per minute per
/// client address, and `trusted` as its proxies.
async fn spawn_limited_app(trusted: &str) -> TestApp {
    let control = ControlSettings { edge_auth_per_minute: 10, ..ControlSettings::for_tests() };
    spawn_app_configured(control, |settings| settings.trusted_proxies = trusted.into()).await
}

/// A client whose connections come from `local` (any 127.0.0.0/8 address
/// reaches the server on 127.0.0.1).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(local.parse::<IpAddr>().unwrap()).build().unwrap()
}

/// A refresh grant with a token that does not exist: a cheap 401.
async fn sign_in(app: &TestApp, client: &reqwest::Client, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = client
        .post(format!("{}/v1/auth/token", app.address))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": "not-a-token"}));
    if let Some(forwarded_for) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded_for);
    }
    request.send().await.unwrap()
}

async fn assert_rate_limited(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After: {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/rate-limited", "{body}");
    assert_eq!(body["status"], 429);
}

#[tokio::test]
async fn the_eleventh_sign_in_from_one_address_in_a_minute_is_a_429_problem_and_other_addresses_are_served() {
    let app = spawn_limited_app("").await;
    let here = client_from("127.0.0.1");
    for attempt in 1..=10 {
        assert_eq!(sign_in(&app, &here, None).await.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    assert_rate_limited(sign_in(&app, &here, None).await).await;

    // One allowance per address for every anonymous entry: sign-up and OIDC's start too.
    let sign_up =
        here.post(format!("{}/v1/tenants", app.address)).json(&signup("alpha", "owner@alpha.test", "owner-password"));
    assert_rate_limited(sign_up.send().await.unwrap()).await;
    assert_rate_limited(here.get(format!("{}/v1/auth/oidc/login", app.address)).send().await.unwrap()).await;
    assert_eq!(tenant_count(&app).await, 0, "a refused sign-up opens nothing");
    // Routes that hash nothing for anonymous callers are not limited.
    let list = here.get(format!("{}/v1/tenants", app.address)).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(here.get(format!("{}/healthz", app.address)).send().await.unwrap().status(), StatusCode::OK);

    // Another address has its own allowance.
    let elsewhere = client_from("127.0.0.2");
    let grant = json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let response = elsewhere.post(format!("{}/v1/auth/token", app.address)).json(&grant).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let sign_up = elsewhere.post(format!("{}/v1/tenants", app.address)).json(&signup(
        "alpha",
        "owner@alpha.test",
        "owner-password",
    ));
    assert_eq!(sign_up.send().await.unwrap().status(), StatusCode::CREATED);
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_when_a_trusted_proxy_sends_it() {
    let app = spawn_limited_app("127.0.0.3/32").await;

    // An untrusted peer rotating the header gets no fresh allowance.
    let direct = client_from("127.0.0.1");
    for attempt in 1..=10 {
        let spoofed = format!("198.51.100.{attempt}");
        assert_eq!(sign_in(&app, &direct, Some(&spoofed)).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(sign_in(&app, &direct, Some("198.51.100.99")).await).await;

    // Through the trusted proxy, each client it names has its own allowance.
    let proxy = client_from("127.0.0.3");
    for attempt in 1..=10 {
        let status = sign_in(&app, &proxy, Some("203.0.113.1")).await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    assert_rate_limited(sign_in(&app, &proxy, Some("203.0.113.1")).await).await;
    // What the client wrote left of the proxy's entry changes nothing.
    assert_rate_limited(sign_in(&app, &proxy, Some("192.0.2.50, 203.0.113.1")).await).await;
    assert_eq!(sign_in(&app, &proxy, Some("203.0.113.2")).await.status(), StatusCode::UNAUTHORIZED);
    // The proxy's own requests, naming nobody, are the proxy's.
    assert_eq!(sign_in(&app, &proxy, None).await.status(), StatusCode::UNAUTHORIZED);
}
