//! The data plane's keys: it signs shopper tokens only, and verifies staff
//! tokens with the control plane's JWKS when `JWKS_URL` is set.

use std::{sync::Arc, time::Duration};

use platform::{
    auth::{Claims, Role, AUDIENCE, STOREFRONT_AUDIENCE},
    testkit::{staff_token, TestDb},
};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_configured, spawn_app_on, spawn_control_plane, Auth, TestApp};

/// The `kid` of a JWT's header.
fn kid(token: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap();
    serde_json::from_slice::<serde_json::Value>(&header).unwrap()["kid"].as_str().unwrap().to_owned()
}

async fn platform_admin_token(client: &reqwest::Client, control_plane: &str) -> String {
    let body: serde_json::Value = client
        .post(format!("{control_plane}/v1/auth/token"))
        .json(&json!({"grant_type": "password", "email": "admin@platform.test", "password": "bootstrap-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().expect("admin signs in").to_owned()
}

async fn platform_keys(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from control.signing_key where audience = $1")
        .bind(AUDIENCE)
        .fetch_one(app.state.db.control())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_data_plane_holds_only_a_storefront_signing_key() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    assert_eq!(app.state.signer.audience(), STOREFRONT_AUDIENCE);
    assert_eq!(platform_keys(&app).await, 0, "starting the data plane creates no staff key");
    let staff = app.state.signer.issue("someone", Some(store.id()), Role::Owner, Duration::from_secs(60));
    assert!(staff.is_err(), "the data plane's signer issues no staff token");

    let shopper = app.customer(&store, "ann@example.com").await;
    let token = shopper["access_token"].as_str().unwrap();
    assert_eq!(kid(token), app.state.signer.kid(), "shopper tokens are signed with the storefront key");
    app.get_as(&store.host, "/store/customers/me", Some(token), StatusCode::OK).await;
}

#[tokio::test]
async fn a_staff_token_signed_with_the_storefront_key_is_refused_on_admin_routes() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let genuine = app.owner_token(&store).await;
    app.admin("GET", &store, "/admin/products", &Auth::Staff(genuine.clone()), None, StatusCode::OK).await;

    let claims: Claims = app.state.auth.keys.verify(&genuine).await.unwrap();
    assert_eq!(claims.aud, AUDIENCE);
    let forged = app.state.signer.sign(&claims).unwrap();
    app.admin("GET", &store, "/admin/products", &Auth::Staff(forged), None, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn the_data_plane_verifies_staff_tokens_with_the_control_planes_jwks() {
    let db = Arc::new(TestDb::create().await.expect("test database"));
    let control_plane = spawn_control_plane(&db).await;
    let jwks_url = format!("{control_plane}/.well-known/jwks.json");
    let app = spawn_app_on(db, |settings| settings.jwks_url = Some(jwks_url)).await;
    let store = app.create_store("alpha").await;

    let old = app.owner_token(&store).await;
    app.admin("GET", &store, "/admin/products", &Auth::Staff(old.clone()), None, StatusCode::OK).await;
    let shopper = app.customer(&store, "ann@example.com").await;
    let shopper = shopper["access_token"].as_str().unwrap();
    app.get_as(&store.host, "/store/customers/me", Some(shopper), StatusCode::OK).await;

    // A rotation on the control plane: the new kid is unknown to the data
    // plane until it fetches the JWKS again, which an unknown kid triggers.
    let admin = platform_admin_token(&app.client, &control_plane).await;
    let rotated = app
        .client
        .post(format!("{control_plane}/v1/admin/signing-keys/rotate"))
        .bearer_auth(admin)
        .json(&json!({"audience": AUDIENCE}))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let new = app.owner_token(&store).await;
    assert_ne!(kid(&new), kid(&old));
    app.admin("GET", &store, "/admin/products", &Auth::Staff(new), None, StatusCode::OK).await;
    app.admin("GET", &store, "/admin/products", &Auth::Staff(old), None, StatusCode::OK).await;
}

#[tokio::test]
async fn an_unreachable_jwks_answers_503_within_about_a_second() {
    // Accepts connections into its backlog and never answers: a hung control plane.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let jwks_url = format!("http://{}/.well-known/jwks.json", hung.local_addr().unwrap());
    let app = spawn_app_configured(|settings| settings.jwks_url = Some(jwks_url)).await;
    let store = app.create_store("alpha").await;
    let token = staff_token(app.state.db.control(), store.id(), Role::Owner).await;

    let started = std::time::Instant::now();
    let body =
        app.admin("GET", &store, "/admin/products", &Auth::Staff(token), None, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["status"], 503);
    // Not a timing assertion so much as "no hang": the fetch gives up after 1 s.
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    drop(hung);
}

#[tokio::test]
async fn after_a_storefront_rotation_the_signer_reloads_and_old_shopper_tokens_still_verify() {
    let db = Arc::new(TestDb::create().await.expect("test database"));
    let control_plane = spawn_control_plane(&db).await;
    let app = spawn_app_on(db, |_| {}).await;
    let store = app.create_store("alpha").await;
    let old = app.customer(&store, "ann@example.com").await["access_token"].as_str().unwrap().to_owned();
    let old_kid = app.state.signer.kid();
    assert_eq!(kid(&old), old_kid);

    let admin = platform_admin_token(&app.client, &control_plane).await;
    let rotated: serde_json::Value = app
        .client
        .post(format!("{control_plane}/v1/admin/signing-keys/rotate"))
        .bearer_auth(admin)
        .json(&json!({"audience": STOREFRONT_AUDIENCE}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rotated["rotated"][0]["retiring"], json!([old_kid]));
    // What the signer's periodic reload (every SIGNER_RELOAD_INTERVAL) does.
    app.state.signer.reload().await.unwrap();
    assert_eq!(app.state.signer.kid(), rotated["rotated"][0]["kid"].as_str().unwrap());

    let signed_in = app
        .post(
            &store.host,
            "/store/auth/token",
            None,
            json!({"email": "ann@example.com", "password": "correct horse"}),
            StatusCode::OK,
        )
        .await;
    let new = signed_in["access_token"].as_str().unwrap().to_owned();
    assert_eq!(kid(&new), app.state.signer.kid());
    app.get_as(&store.host, "/store/customers/me", Some(&new), StatusCode::OK).await;
    app.get_as(&store.host, "/store/customers/me", Some(&old), StatusCode::OK).await;
}
