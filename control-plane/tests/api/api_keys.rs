//! API keys: shown once, stored hashed, scoped, revocable, isolated.

use platform::auth::{hash_secret, Authenticator};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Store, TestApp};

fn keys_path(store: &Store) -> String {
    format!("/v1/tenants/{}/api-keys", store.id)
}

async fn create_key(app: &TestApp, store: &Store, scopes: Value) -> Value {
    app.expect(
        "POST",
        &keys_path(store),
        Some(&store.owner_token),
        Some(json!({"name": "ERP sync", "scopes": scopes})),
        StatusCode::CREATED,
    )
    .await
}

fn authenticator(app: &TestApp) -> Authenticator {
    Authenticator::new(
        app.state.db.control().clone(),
        platform::auth::KeyRing::new(app.state.db.control().clone(), &app.state.settings.jwt_issuer),
    )
}

#[tokio::test]
async fn a_created_key_is_shown_once_stored_hashed_and_authenticates_for_its_store() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let body = create_key(&app, &store, json!(["catalog:read", "orders:*", "catalog:read"])).await;
    let key = body["key"].as_str().unwrap();
    assert!(key.starts_with("ck_") && key.starts_with(body["prefix"].as_str().unwrap()), "{body}");
    assert_eq!(body["name"], "ERP sync");
    assert_eq!(body["scopes"], json!(["catalog:read", "orders:*"]));
    assert!(body["id"].is_string() && body["created_at"].is_string());

    let list = app.expect("GET", &keys_path(&store), Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(list["items"][0]["id"], body["id"]);
    assert_eq!(list["items"][0]["prefix"], body["prefix"]);
    assert_eq!(list["items"][0]["revoked_at"], Value::Null);
    assert!(!list.to_string().contains(key), "the list shows the key");

    let (stored_hash, row): (Vec<u8>, String) =
        sqlx::query_as("select key_hash, row_to_json(k)::text from control.api_key k where tenant_id = $1::uuid")
            .bind(&store.id)
            .fetch_one(app.state.db.control())
            .await
            .unwrap();
    assert_eq!(stored_hash, hash_secret(key));
    assert!(!row.contains(&key[3..]), "the key is stored in clear");
    let log = app.expect("GET", "/v1/audit-log", Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(log["items"][0]["action"], "api_key.create");
    assert!(!log.to_string().contains(&key[3..]), "the audit log holds the key");

    let record = authenticator(&app).api_key(key).await.unwrap().expect("the key authenticates");
    assert_eq!(record.tenant_id.to_string(), store.id);
    assert_eq!(record.scopes, vec!["catalog:read", "orders:*"]);
}

#[tokio::test]
async fn keys_are_scoped_to_every_data_plane_area_including_checkout_and_webhooks() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let scopes = json!([
        "catalog:read",
        "inventory:write",
        "orders:*",
        "customers:read",
        "checkout:read",
        "checkout:write",
        "checkout:*",
        "webhooks:read",
        "webhooks:write",
        "webhooks:*"
    ]);
    let body = create_key(&app, &store, scopes.clone()).await;
    assert_eq!(body["scopes"], scopes);
    let record = authenticator(&app).api_key(body["key"].as_str().unwrap()).await.unwrap().expect("authenticates");
    assert_eq!(json!(record.scopes), scopes);
}

#[tokio::test]
async fn a_revoked_key_stops_authenticating_and_revoking_again_is_harmless() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let body = create_key(&app, &store, json!(["*"])).await;
    let key = body["key"].as_str().unwrap();
    let path = format!("{}/{}", keys_path(&store), body["id"].as_str().unwrap());
    for _ in 0..2 {
        let (status, _) = app.call("DELETE", &path, Some(&store.owner_token), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    assert!(authenticator(&app).api_key(key).await.unwrap().is_none());
    let list = app.expect("GET", &keys_path(&store), Some(&store.owner_token), None, StatusCode::OK).await;
    assert!(list["items"][0]["revoked_at"].is_string());
    let log = app.expect("GET", "/v1/audit-log", Some(&store.owner_token), None, StatusCode::OK).await;
    let revocations = log["items"].as_array().unwrap().iter().filter(|e| e["action"] == "api_key.revoke").count();
    assert_eq!(revocations, 1);
    assert_eq!(log["items"][0]["after"]["revoked"], true);
    let missing = format!("{}/{}", keys_path(&store), uuid::Uuid::now_v7());
    app.expect("DELETE", &missing, Some(&store.owner_token), None, StatusCode::NOT_FOUND).await;
    app.expect("DELETE", &format!("{}/nope", keys_path(&store)), Some(&store.owner_token), None, StatusCode::NOT_FOUND)
        .await;
}

#[tokio::test]
async fn unknown_scopes_and_bad_names_are_refused_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let post = |body: Value| {
        let (app, store) = (&app, &store);
        async move {
            app.expect(
                "POST",
                &keys_path(store),
                Some(&store.owner_token),
                Some(body),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let body = post(json!({"name": "x", "scopes": ["catalog:read", "billing:read", "catalog:delete"]})).await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["scopes[1]", "scopes[2]"]);
    assert_eq!(post(json!({"name": "x", "scopes": []})).await["errors"][0]["field"], "scopes");
    assert_eq!(post(json!({"name": "x", "scopes": ["catalog:read", 7]})).await["errors"][0]["field"], "scopes[1]");
    assert_eq!(post(json!({"name": " ", "scopes": ["*"]})).await["errors"][0]["field"], "name");
    assert_eq!(post(json!({"scopes": ["*"]})).await["errors"][0]["field"], "name");
    assert_eq!(post(json!({"name": "x"})).await["errors"][0]["field"], "scopes");
    let keys: i64 =
        sqlx::query_scalar("select count(*) from control.api_key").fetch_one(app.state.db.control()).await.unwrap();
    assert_eq!(keys, 0);
}

#[tokio::test]
async fn another_stores_owner_gets_404_and_store_staff_get_403_on_api_keys() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let b_key = create_key(&app, &b, json!(["catalog:read"])).await;
    let b_key_path = format!("{}/{}", keys_path(&b), b_key["id"].as_str().unwrap());
    for (method, path, body) in [
        ("GET", keys_path(&b), None),
        ("POST", keys_path(&b), Some(json!({"name": "mole", "scopes": ["*"]}))),
        ("DELETE", b_key_path.clone(), None),
    ] {
        let body = app.expect(method, &path, Some(&a.owner_token), body, StatusCode::NOT_FOUND).await;
        assert!(!body.to_string().contains("bravo"), "{body}");
    }
    // A's own path with B's key id: no such key in A.
    let crossed = format!("{}/{}", keys_path(&a), b_key["id"].as_str().unwrap());
    app.expect("DELETE", &crossed, Some(&a.owner_token), None, StatusCode::NOT_FOUND).await;
    assert!(authenticator(&app).api_key(b_key["key"].as_str().unwrap()).await.unwrap().is_some());

    let staff = app.add_member(&b, "sam@bravo.test", "staff").await;
    for (method, path, body) in [
        ("GET", keys_path(&b), None),
        ("POST", keys_path(&b), Some(json!({"name": "mine", "scopes": ["*"]}))),
        ("DELETE", b_key_path.clone(), None),
    ] {
        app.expect(method, &path, Some(&staff), body, StatusCode::FORBIDDEN).await;
    }
    let list = app.expect("GET", &keys_path(&b), Some(&b.owner_token), None, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["revoked_at"], Value::Null);
}
