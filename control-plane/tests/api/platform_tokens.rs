//! Platform API tokens: minted by a signed-in platform admin, acting as them
//! until revoked, expired or the admin loses the role; audited as the token.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const TOKENS: &str = "/v1/admin/platform-tokens";

async fn mint(app: &TestApp, admin: &str, body: Value) -> Value {
    app.expect("POST", TOKENS, Some(admin), Some(body), StatusCode::CREATED).await
}

#[tokio::test]
async fn a_platform_token_acts_as_its_admin_until_revoked_and_the_audit_log_names_it() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let minted = mint(&app, &admin, json!({"name": "terraform"})).await;
    let token = minted["token"].as_str().unwrap().to_owned();
    let id = minted["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cpt_") && token.len() == 68, "{minted}");
    assert!(token.starts_with(minted["prefix"].as_str().unwrap()));
    assert_eq!(minted["expires_at"], Value::Null);

    // Platform-admin work: open a store on a plan, then close it.
    let store = app
        .expect(
            "POST",
            "/v1/tenants",
            Some(&token),
            Some(json!({"slug": "by-token", "name": "By token", "currency": "USD", "plan": "growth",
                        "owner_email": "owner@by-token.test", "owner_password": "owner-password"})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(store["plan"], "growth");
    let store_id = store["id"].as_str().unwrap();
    app.expect("DELETE", &format!("/v1/tenants/{store_id}"), Some(&token), None, StatusCode::OK).await;
    let log =
        app.expect("GET", &format!("/v1/audit-log?tenant_id={store_id}"), Some(&admin), None, StatusCode::OK).await;
    let actors: Vec<&str> = log["items"].as_array().unwrap().iter().filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.iter().all(|a| *a == format!("platform_token:{id}")), "{log}");
    assert_eq!(actors.len(), 2, "{log}");

    // Listed without its secret; revoked, it opens nothing.
    let listed = app.expect("GET", TOKENS, Some(&admin), None, StatusCode::OK).await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert!(!listed.to_string().contains(&token), "{listed}");
    app.expect("DELETE", &format!("{TOKENS}/{id}"), Some(&admin), None, StatusCode::NO_CONTENT).await;
    app.expect("GET", "/v1/tenants", Some(&token), None, StatusCode::UNAUTHORIZED).await;
    let listed = app.expect("GET", TOKENS, Some(&admin), None, StatusCode::OK).await;
    assert!(listed["items"][0]["revoked_at"].is_string(), "{listed}");
    let log = app.expect("GET", "/v1/audit-log?limit=100", Some(&admin), None, StatusCode::OK).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"platform_token.create") && actions.contains(&"platform_token.revoke"), "{log}");
    assert!(!log.to_string().contains(&token), "the audit log never holds the token");
}

#[tokio::test]
async fn only_a_signed_in_platform_admin_mints_lists_or_revokes_platform_tokens() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let store = app.create_store("not-platform").await;
    let minted = mint(&app, &admin, json!({"name": "ci"})).await;
    let (token, id) = (minted["token"].as_str().unwrap(), minted["id"].as_str().unwrap());

    for caller in [Some(store.owner_token.as_str()), Some(token)] {
        app.expect("POST", TOKENS, caller, Some(json!({"name": "more"})), StatusCode::FORBIDDEN).await;
    }
    app.expect("POST", TOKENS, None, Some(json!({"name": "more"})), StatusCode::UNAUTHORIZED).await;
    app.expect("GET", TOKENS, Some(&store.owner_token), None, StatusCode::FORBIDDEN).await;
    app.expect("DELETE", &format!("{TOKENS}/{id}"), Some(&store.owner_token), None, StatusCode::FORBIDDEN).await;
    // Still working: the refused revocation changed nothing.
    app.expect("GET", "/v1/tenants", Some(token), None, StatusCode::OK).await;

    let refused = app
        .expect(
            "POST",
            TOKENS,
            Some(&admin),
            Some(json!({"name": " ", "expires_in_days": 0})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let fields: Vec<&str> = refused["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["name", "expires_in_days"]);
    app.expect("DELETE", &format!("{TOKENS}/not-an-id"), Some(&admin), None, StatusCode::NOT_FOUND).await;
    app.expect("DELETE", &format!("{TOKENS}/{}", uuid::Uuid::now_v7()), Some(&admin), None, StatusCode::NOT_FOUND)
        .await;
    app.expect("GET", "/v1/tenants", Some("cpt_0000"), None, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_platform_token_stops_when_it_expires_or_its_minter_is_no_longer_a_platform_admin() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let expiring = mint(&app, &admin, json!({"name": "short", "expires_in_days": 1})).await;
    let lasting = mint(&app, &admin, json!({"name": "long"})).await;
    let (expiring, lasting) = (expiring["token"].as_str().unwrap(), lasting["token"].as_str().unwrap());
    app.expect("GET", "/v1/tenants", Some(expiring), None, StatusCode::OK).await;

    let control = app.state.db.control();
    sqlx::query("update control.platform_token set expires_at = now() - interval '1 second' where name = 'short'")
        .execute(control)
        .await
        .unwrap();
    app.expect("GET", "/v1/tenants", Some(expiring), None, StatusCode::UNAUTHORIZED).await;
    app.expect("GET", "/v1/tenants", Some(lasting), None, StatusCode::OK).await;

    sqlx::query("update control.account set is_platform_admin = false where email = 'admin@platform.test'")
        .execute(control)
        .await
        .unwrap();
    app.expect("GET", "/v1/tenants", Some(lasting), None, StatusCode::UNAUTHORIZED).await;
}
