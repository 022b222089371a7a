//! Platform-admin sign-in against an OpenID provider started by the test: it
//! serves discovery, JWKS and a token endpoint over HTTP and signs ID tokens
//! with its own Ed25519 key.

use std::sync::{Arc, Mutex};

use axum::{
    extract::State,
    routing::{get, post},
    Form, Json, Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use control_plane::settings::ControlSettings;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::spawn_app_with;

const CLIENT_ID: &str = "control-plane";
/// The one email `OIDC_ALLOWED_EMAILS` allows (besides a store owner's in one test).
const ADMIN_EMAIL: &str = "ops@platform.test";

/// What the provider puts in its next ID token, and what it saw.
#[derive(Default)]
struct Behaviour {
    nonce: Option<String>,
    audience: Option<String>,
    expected_challenge: Option<String>,
    pkce_ok: Option<bool>,
    /// The `email` claim (default `ops@platform.test`).
    email: Option<String>,
    /// The `email_verified` claim (default true).
    email_verified: Option<bool>,
}

#[derive(Clone)]
struct Provider {
    issuer: String,
    key: Arc<EncodingKey>,
    public_x: String,
    behaviour: Arc<Mutex<Behaviour>>,
}

async fn discovery(State(p): State<Provider>) -> Json<Value> {
    Json(json!({
        "issuer": p.issuer,
        "authorization_endpoint": format!("{}/authorize", p.issuer),
        "token_endpoint": format!("{}/token", p.issuer),
        "jwks_uri": format!("{}/jwks", p.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
    }))
}

async fn jwks(State(p): State<Provider>) -> Json<Value> {
    Json(
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": p.public_x, "kid": "idp-1", "alg": "EdDSA", "use": "sig"}]}),
    )
}

async fn token(State(p): State<Provider>, Form(form): Form<std::collections::HashMap<String, String>>) -> Json<Value> {
    let mut behaviour = p.behaviour.lock().unwrap();
    // PKCE: the verifier sent now must hash to the challenge sent at login.
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    behaviour.pkce_ok = Some(behaviour.expected_challenge.as_deref() == Some(challenge.as_str()));
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": p.issuer,
        "sub": "idp-user-42",
        "aud": behaviour.audience.clone().unwrap_or_else(|| CLIENT_ID.into()),
        "exp": now + 300,
        "iat": now,
        "nonce": behaviour.nonce.clone(),
        "email": behaviour.email.clone().unwrap_or_else(|| ADMIN_EMAIL.into()),
        "email_verified": behaviour.email_verified.unwrap_or(true),
    });
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("idp-1".into());
    let id_token = jsonwebtoken::encode(&header, &claims, &p.key).unwrap();
    Json(json!({"access_token": "idp-access-token", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}))
}

async fn start_provider() -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let signing = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
    let provider = Provider {
        issuer,
        key: Arc::new(EncodingKey::from_ed_der(signing.to_pkcs8_der().unwrap().as_bytes())),
        public_x: URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()),
        behaviour: Arc::default(),
    };
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    provider
}

/// Starts a login and returns (state, nonce) read from the redirect to the provider.
async fn begin_login(app: &crate::helpers::TestApp, provider: &Provider) -> (String, String) {
    let response = app.client.get(format!("{}/v1/auth/oidc/login", app.address)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/authorize?", provider.issuer)), "{location}");
    let query: std::collections::HashMap<String, String> = url_query(&location).into_iter().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], CLIENT_ID);
    provider.behaviour.lock().unwrap().expected_challenge = Some(query["code_challenge"].clone());
    (query["state"].clone(), query["nonce"].clone())
}

fn url_query(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (k.to_owned(), percent_decode(v))).collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn spawn_with_provider() -> (crate::helpers::TestApp, Provider) {
    spawn_allowing(&format!("{ADMIN_EMAIL}, owner@shop.test")).await
}

async fn spawn_allowing(allowed_emails: &str) -> (crate::helpers::TestApp, Provider) {
    let provider = start_provider().await;
    let mut control = ControlSettings::for_tests();
    control.oidc_allowed_emails = allowed_emails.into();
    control.oidc_issuer_url = Some(provider.issuer.clone());
    control.oidc_client_id = Some(CLIENT_ID.into());
    control.oidc_client_secret = Some("client-secret".to_owned().into());
    control.oidc_redirect_url = Some("http://127.0.0.1:8080/v1/auth/oidc/callback".into());
    (spawn_app_with(control).await, provider)
}

#[tokio::test]
async fn a_platform_admin_signs_in_through_the_identity_provider_with_pkce() {
    let (app, provider) = spawn_with_provider().await;
    let (state, nonce) = begin_login(&app, &provider).await;
    provider.behaviour.lock().unwrap().nonce = Some(nonce);
    let body =
        app.expect("GET", &format!("/v1/auth/oidc/callback?code=abc&state={state}"), None, None, StatusCode::OK).await;
    assert_eq!(body["role"], "platform_admin");
    assert_eq!(provider.behaviour.lock().unwrap().pkce_ok, Some(true), "the code verifier did not match");
    let token = body["access_token"].as_str().unwrap();
    app.expect("GET", "/v1/tenants", Some(token), None, StatusCode::OK).await;
    // A state is single-use.
    app.expect("GET", &format!("/v1/auth/oidc/callback?code=abc&state={state}"), None, None, StatusCode::BAD_REQUEST)
        .await;
}

#[tokio::test]
async fn a_wrong_nonce_state_or_audience_is_refused() {
    let (app, provider) = spawn_with_provider().await;

    let (state, _) = begin_login(&app, &provider).await;
    provider.behaviour.lock().unwrap().nonce = Some("replayed-nonce".into());
    app.expect("GET", &format!("/v1/auth/oidc/callback?code=abc&state={state}"), None, None, StatusCode::UNAUTHORIZED)
        .await;

    let (_, nonce) = begin_login(&app, &provider).await;
    provider.behaviour.lock().unwrap().nonce = Some(nonce);
    app.expect("GET", "/v1/auth/oidc/callback?code=abc&state=forged-state", None, None, StatusCode::BAD_REQUEST).await;

    let (state, nonce) = begin_login(&app, &provider).await;
    {
        let mut behaviour = provider.behaviour.lock().unwrap();
        behaviour.nonce = Some(nonce);
        behaviour.audience = Some("another-client".into());
    }
    app.expect("GET", &format!("/v1/auth/oidc/callback?code=abc&state={state}"), None, None, StatusCode::UNAUTHORIZED)
        .await;
    let admins: i64 = sqlx::query_scalar("select count(*) from control.account where oidc_subject is not null")
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert_eq!(admins, 0, "a refused sign-in created an account");
}

#[tokio::test]
async fn without_configuration_oidc_sign_in_is_a_404_problem() {
    let app = crate::helpers::spawn_app().await;
    let body = app.expect("GET", "/v1/auth/oidc/login", None, None, StatusCode::NOT_FOUND).await;
    assert_eq!(body["type"], "/problems/oidc-not-configured");
}

/// Completes a sign-in whose ID token says `email` (verified or not); the callback's status and body.
async fn sign_in_as(
    app: &crate::helpers::TestApp,
    provider: &Provider,
    email: &str,
    verified: bool,
) -> (StatusCode, Value) {
    let (state, nonce) = begin_login(app, provider).await;
    {
        let mut behaviour = provider.behaviour.lock().unwrap();
        behaviour.nonce = Some(nonce);
        behaviour.email = Some(email.into());
        behaviour.email_verified = Some(verified);
    }
    app.call("GET", &format!("/v1/auth/oidc/callback?code=abc&state={state}"), None, None).await
}

async fn platform_admins(app: &crate::helpers::TestApp) -> Vec<String> {
    sqlx::query_scalar("select email from control.account where is_platform_admin order by email")
        .fetch_all(app.state.db.control())
        .await
        .unwrap()
}

#[tokio::test]
async fn without_an_allow_list_oidc_sign_in_is_off() {
    let (app, _provider) = spawn_allowing(" , ").await;
    let body = app.expect("GET", "/v1/auth/oidc/login", None, None, StatusCode::NOT_FOUND).await;
    assert_eq!(body["type"], "/problems/oidc-not-configured");
    app.expect("GET", "/v1/auth/oidc/callback?code=abc&state=s", None, None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn an_unverified_or_unlisted_email_never_becomes_a_platform_admin() {
    let (app, provider) = spawn_with_provider().await;
    let before = platform_admins(&app).await;
    let (status, _) = sign_in_as(&app, &provider, ADMIN_EMAIL, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an unverified email was trusted");
    let (status, _) = sign_in_as(&app, &provider, "intruder@evil.test", true).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an email off the allow list was let in");
    assert_eq!(platform_admins(&app).await, before);
}

#[tokio::test]
async fn an_oidc_identity_never_links_to_or_promotes_a_store_owners_account() {
    let (app, provider) = spawn_with_provider().await;
    // A store owner signs up with a password; their email is (wrongly) on the allow list too.
    let store = app.create_store("shop").await;
    let (status, body) = sign_in_as(&app, &provider, "owner@shop.test", true).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!platform_admins(&app).await.contains(&"owner@shop.test".to_owned()), "the owner was promoted");
    let bound: i64 = sqlx::query_scalar("select count(*) from control.account where oidc_subject is not null")
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert_eq!(bound, 0, "the identity was linked to the owner's account");
    // The owner's own password sign-in still gives a store role, not platform admin.
    let (status, token) = app
        .call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": "owner@shop.test", "password": "owner-password",
                        "tenant_id": store.id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["role"], "owner");
}

#[tokio::test]
async fn the_first_oidc_sign_in_of_an_allowed_email_is_an_audited_grant() {
    let (app, provider) = spawn_with_provider().await;
    let (status, body) = sign_in_as(&app, &provider, ADMIN_EMAIL, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let log = app.expect("GET", "/v1/audit-log", Some(&token), None, StatusCode::OK).await;
    let grants: Vec<&Value> =
        log["items"].as_array().unwrap().iter().filter(|e| e["action"] == "platform_admin.grant").collect();
    assert_eq!(grants.len(), 1, "{log}");
    assert_eq!(grants[0]["after"]["email"], ADMIN_EMAIL);
    // Signing in again is the same account, not a second grant.
    let (status, _) = sign_in_as(&app, &provider, ADMIN_EMAIL, true).await;
    assert_eq!(status, StatusCode::OK);
    let log = app.expect("GET", "/v1/audit-log", Some(&token), None, StatusCode::OK).await;
    assert_eq!(log["items"].as_array().unwrap().iter().filter(|e| e["action"] == "platform_admin.grant").count(), 1);
}
