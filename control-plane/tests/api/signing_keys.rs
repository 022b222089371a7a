//! Signing keys: rotation, retirement, audiences, and who may rotate.

use axum::extract::FromRef;
use control_plane::signing_keys::{self, model::Audience, SigningKeysState};
use platform::auth::{Claims, AUDIENCE, STOREFRONT_AUDIENCE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const KEYS: &str = "/v1/admin/signing-keys";
const ROTATE: &str = "/v1/admin/signing-keys/rotate";

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks = app.expect("GET", "/.well-known/jwks.json", None, None, StatusCode::OK).await;
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

async fn listed(app: &TestApp, token: &str) -> Vec<Value> {
    app.expect("GET", KEYS, Some(token), None, StatusCode::OK).await["items"].as_array().unwrap().clone()
}

fn status_of<'a>(keys: &'a [Value], kid: &str) -> &'a str {
    keys.iter().find(|k| k["kid"] == kid).and_then(|k| k["status"].as_str()).expect("listed")
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_new_tokens_carry_the_new_kid() {
    let app = spawn_app().await;
    let old_token = app.admin_token().await;
    let old_kid = kid(&old_token);

    let body = app.expect("POST", ROTATE, Some(&old_token), Some(json!({"audience": AUDIENCE})), StatusCode::OK).await;
    let rotated = &body["rotated"][0];
    assert_eq!(body["rotated"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(rotated["audience"], AUDIENCE);
    assert_eq!(rotated["retiring"], json!([old_kid]));
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);

    let new_token = app.admin_token().await;
    assert_eq!(kid(&new_token), new_kid, "the process that rotated signs with the new key at once");
    app.expect("GET", "/v1/tenants", Some(&old_token), None, StatusCode::OK).await;
    app.expect("GET", "/v1/tenants", Some(&new_token), None, StatusCode::OK).await;
    let published = jwks_kids(&app).await;
    assert!(published.contains(&old_kid) && published.contains(&new_kid), "{published:?}");

    let keys = listed(&app, &new_token).await;
    assert_eq!(status_of(&keys, &new_kid), "signing");
    assert_eq!(status_of(&keys, &old_kid), "retiring");
    let old = keys.iter().find(|k| k["kid"] == old_kid.as_str()).unwrap();
    assert_eq!(old["audience"], AUDIENCE);
    assert!(old["retired_at"].is_string(), "{old}");
    for key in &keys {
        let mut fields: Vec<&str> = key.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["audience", "created_at", "kid", "retired_at", "status"], "never private material");
    }

    let audit = app.expect("GET", "/v1/audit-log", Some(&new_token), None, StatusCode::OK).await;
    let entry =
        audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "signing_key.rotate").expect("audited");
    assert_eq!(entry["after"]["kid"], new_kid.as_str());
    assert_eq!(entry["before"]["kids"], json!([old_kid]));
    assert!(entry["actor"].as_str().unwrap().starts_with("account:"), "{entry}");
}

#[tokio::test]
async fn rotating_without_an_audience_rotates_both() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let body = app.expect("POST", ROTATE, Some(&token), None, StatusCode::OK).await;
    let audiences: Vec<&str> =
        body["rotated"].as_array().unwrap().iter().map(|r| r["audience"].as_str().unwrap()).collect();
    assert_eq!(audiences, [AUDIENCE, STOREFRONT_AUDIENCE]);
    let jwks = app.expect("GET", "/.well-known/jwks.json", None, None, StatusCode::OK).await;
    let storefront = body["rotated"][1]["kid"].as_str().unwrap();
    let published = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == storefront).expect("published");
    assert_eq!(published["aud"], STOREFRONT_AUDIENCE, "each JWK names the audience it signs");
}

#[tokio::test]
async fn a_retired_keys_tokens_are_refused_and_it_leaves_the_jwks() {
    let app = spawn_app().await;
    let old_token = app.admin_token().await;
    let old_kid = kid(&old_token);
    app.expect("POST", ROTATE, Some(&old_token), Some(json!({"audience": AUDIENCE})), StatusCode::OK).await;
    let new_token = app.admin_token().await;

    // Its retirement comes due (the access-token lifetime plus the margin has passed).
    sqlx::query("update control.signing_key set retired_at = now() - interval '1 second' where kid = $1")
        .bind(&old_kid)
        .execute(app.state.db.control())
        .await
        .unwrap();
    // Other processes see it within KEYS_MAX_AGE; this test does not wait for that.
    app.state.keys.refresh().await.unwrap();

    let (status, body) = app.call("GET", "/v1/tenants", Some(&old_token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    app.expect("GET", "/v1/tenants", Some(&new_token), None, StatusCode::OK).await;
    assert!(!jwks_kids(&app).await.contains(&old_kid));
    assert_eq!(status_of(&listed(&app, &new_token).await, &old_kid), "retired");
}

#[tokio::test]
async fn a_staff_token_signed_with_a_storefront_key_is_refused() {
    let app = spawn_app().await;
    let good = app.admin_token().await;
    let claims: Claims = app.state.keys.verify(&good).await.unwrap();
    let storefront = platform::testkit::test_signer(app.state.db.control(), STOREFRONT_AUDIENCE).await;
    assert!(
        storefront
            .issue(&claims.sub, None, platform::auth::Role::PlatformAdmin, std::time::Duration::from_secs(60))
            .is_err(),
        "a storefront signer issues no staff token"
    );
    let forged = storefront.sign(&claims).unwrap();
    let (status, body) = app.call("GET", "/v1/tenants", Some(&forged), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    app.expect("POST", ROTATE, Some(&forged), None, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn only_platform_admins_list_or_rotate_signing_keys() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let before = jwks_kids(&app).await;
    app.expect("GET", KEYS, None, None, StatusCode::UNAUTHORIZED).await;
    app.expect("POST", ROTATE, None, None, StatusCode::UNAUTHORIZED).await;
    app.expect("GET", KEYS, Some(&store.owner_token), None, StatusCode::FORBIDDEN).await;
    app.expect("POST", ROTATE, Some(&store.owner_token), None, StatusCode::FORBIDDEN).await;
    assert_eq!(jwks_kids(&app).await, before, "nothing rotated");
}

#[tokio::test]
async fn rotate_names_an_unknown_audience() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let body = app
        .expect(
            "POST",
            ROTATE,
            Some(&token),
            Some(json!({"audience": "someone-else"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(body["errors"][0]["field"], "audience");
}

#[tokio::test]
async fn the_schedule_rotates_only_keys_older_than_the_rotation_period() {
    let app = spawn_app().await;
    let state = SigningKeysState::from_ref(&app.state);
    let old_kid = state.signer.kid();
    assert!(signing_keys::service::rotate_due(&state).await.unwrap().is_empty(), "a fresh key is not due");

    sqlx::query("update control.signing_key set created_at = now() - interval '31 days' where kid = $1")
        .bind(&old_kid)
        .execute(app.state.db.control())
        .await
        .unwrap();
    let rotations = signing_keys::service::rotate_due(&state).await.unwrap();
    assert_eq!(rotations.len(), 1, "{rotations:?}");
    assert_eq!(rotations[0].audience, Audience::Platform);
    assert_eq!(rotations[0].retiring, vec![old_kid]);
    assert_eq!(state.signer.kid(), rotations[0].kid);
    // A second replica checking right after finds nothing due.
    assert!(signing_keys::service::rotate_due(&state).await.unwrap().is_empty());

    let token = app.admin_token().await;
    let audit = app.expect("GET", "/v1/audit-log", Some(&token), None, StatusCode::OK).await;
    let entry =
        audit["items"].as_array().unwrap().iter().find(|e| e["action"] == "signing_key.rotate").expect("audited");
    assert_eq!(entry["actor"], "system");
}
