//! Sign-in, token rotation, and every way a token must be refused.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use platform::auth::{Claims, AUDIENCE};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, ADMIN_EMAIL};

#[tokio::test]
async fn the_bootstrap_admin_signs_in_as_platform_admin_and_lists_stores() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    app.create_store("alpha").await;
    let list = app.expect("GET", "/v1/tenants", Some(&token), None, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let wrong = app
        .expect(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": "not-the-password"})),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    let unknown = app
        .expect(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": "nobody@x.test", "password": "whatever-pass"})),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    assert_eq!(wrong, unknown);
    let body = app
        .expect("POST", "/v1/auth/token", None, Some(json!({"grant_type": "magic"})), StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(body["errors"][0]["field"], "grant_type");
}

#[tokio::test]
async fn a_staff_token_carries_its_store_and_role() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let body = app
        .expect(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": "owner@alpha.test", "password": "owner-password",
                        "tenant_id": store.id})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let claims = app.state.keys.verify(body["access_token"].as_str().unwrap()).await.unwrap();
    assert_eq!(claims.tid.as_deref(), Some(store.id.as_str()));
    assert_eq!(claims.role, "owner");
    assert_eq!(claims.aud, AUDIENCE);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let first = store.body["credentials"]["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: &str| json!({"grant_type": "refresh_token", "refresh_token": token});

    let second = app.expect("POST", "/v1/auth/token", None, Some(refresh(&first)), StatusCode::OK).await;
    let second = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    // The first token comes back: theft or a replayed request. Both tokens die.
    app.expect("POST", "/v1/auth/token", None, Some(refresh(&first)), StatusCode::UNAUTHORIZED).await;
    app.expect("POST", "/v1/auth/token", None, Some(refresh(&second)), StatusCode::UNAUTHORIZED).await;
    app.expect("POST", "/v1/auth/token", None, Some(refresh("rt_nonsense")), StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn jwks_publishes_the_key_that_verifies_issued_tokens() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let jwks = app.expect("GET", "/.well-known/jwks.json", None, None, StatusCode::OK).await;
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let decoding = jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[AUDIENCE]);
    jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).expect("verifies with the published key");
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    let good = app.admin_token().await;
    let claims = app.state.keys.verify(&good).await.unwrap();
    let kid = jsonwebtoken::decode_header(&good).unwrap().kid.unwrap();
    let signer = &app.state.signer;
    let now = chrono::Utc::now().timestamp();

    let alg_none = {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims).unwrap());
        format!("{header}.{payload}.")
    };
    let hs256_with_public_key = {
        let jwks = app.expect("GET", "/.well-known/jwks.json", None, None, StatusCode::OK).await;
        let public = URL_SAFE_NO_PAD.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&public)).unwrap()
    };
    let expired = signer.sign(&Claims { exp: now - 3600, iat: now - 4000, ..claims.clone() }).unwrap();
    let wrong_audience = signer.sign(&Claims { aud: "someone-else".into(), ..claims.clone() }).unwrap();
    let wrong_issuer = signer.sign(&Claims { iss: "https://evil.example".into(), ..claims.clone() }).unwrap();
    let unknown_kid = {
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        let der = ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_der(&key).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("not-a-platform-key".into());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    };
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        let forged = Claims { role: "platform_admin".into(), sub: uuid::Uuid::now_v7().to_string(), ..claims.clone() };
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_string(&forged).unwrap());
        parts.join(".")
    };

    app.expect("GET", "/v1/tenants", Some(&good), None, StatusCode::OK).await;
    for (name, token) in [
        ("alg none", alg_none),
        ("HS256 signed with the public key", hs256_with_public_key),
        ("expired", expired),
        ("wrong aud", wrong_audience),
        ("wrong iss", wrong_issuer),
        ("unknown kid", unknown_kid),
        ("tampered payload", tampered),
        ("garbage", "not.a.token".into()),
    ] {
        let (status, body) = app.call("GET", "/v1/tenants", Some(&token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
    }
    app.expect("GET", "/v1/tenants", None, None, StatusCode::UNAUTHORIZED).await;
}
