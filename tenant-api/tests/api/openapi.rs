//! `/openapi.json`: served on any host, and in agreement with the router.

use std::{collections::BTreeSet, path::Path};

use platform::openapi::check;
use reqwest::StatusCode;
use serde_json::Value;
use tenant_api::contexts::Context;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, TestStore};

async fn document(app: &TestApp, host: &str) -> Value {
    let response = app.get(host, "/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).expect("the document is JSON")
}

/// Sends `method path` to the store's host without credentials or body.
async fn probe(app: &TestApp, store: &TestStore, method: &'static str, path: String) -> (u16, Value) {
    let response = app
        .client
        .request(method.parse().unwrap(), format!("{}{path}", app.address))
        .header("host", &store.host)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every API path this binary routes, read from the `.route(…)` calls of its
/// source; the dashboard's pages (`/dashboard…`) are HTML, not API operations.
fn routed_paths() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let routed = check::routed_paths(&[&root.join("src"), &root.join("../platform/src")]);
    routed.into_iter().filter(|path| !path.starts_with("/dashboard")).collect()
}

#[tokio::test]
async fn openapi_json_is_served_on_any_host_and_meets_the_contract() {
    let app = spawn_app().await;
    let doc = document(&app, "no-such-store.example").await;
    let problems = check::contract_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(doc["info"]["title"], "tenant-api");

    let checkout = &doc["paths"]["/store/carts/{id}/checkout"]["post"];
    let params = checkout["parameters"].as_array().unwrap();
    assert!(params.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"), "{checkout}");
    assert!(params.iter().any(|p| p["name"] == "id" && p["in"] == "path" && p["required"] == true), "{checkout}");
    assert_eq!(
        checkout["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OrderResponse"
    );
    assert!(checkout["responses"]["402"]["content"]["application/problem+json"].is_object(), "{checkout}");

    let products = &doc["paths"]["/admin/products"]["post"];
    assert_eq!(products["security"], serde_json::json!([{"bearer": []}, {"api_key": []}]));
    let list = &doc["paths"]["/admin/products"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(list["required"], serde_json::json!(["items", "next_cursor"]), "{list}");
    assert_eq!(list["properties"]["items"]["items"]["$ref"], "#/components/schemas/ProductResponse");

    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Money"]["properties"]["amount"]["type"], "integer");
    assert_eq!(schemas["Money"]["properties"]["currency"]["type"], "string");
    assert_eq!(schemas["CartResponse"]["properties"]["total"]["$ref"], "#/components/schemas/Money");
    assert_eq!(schemas["StockResponse"]["properties"]["available"]["type"], "integer");
    assert!(schemas["CreateProductRequest"]["required"].as_array().unwrap().iter().any(|r| r == "variants"));
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes_the_app_answers() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let doc = document(&app, &store.host).await;

    let routed = routed_paths();
    let documented: BTreeSet<String> = check::documented_operations(&doc).into_iter().map(|(_, path)| path).collect();
    assert_eq!(routed, documented, "paths in `.route(…)` calls and in the document differ");

    let failures = check::probe_operations(&doc, &routed, |method, path| probe(&app, &store, method, path)).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn the_drift_check_catches_a_missing_and_a_phantom_operation() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let mut doc = document(&app, &store.host).await;
    // Routes left out must be noticed: a whole path, and one method of a path ...
    doc["paths"].as_object_mut().unwrap().remove("/store/carts");
    doc["paths"]["/store/carts/{id}"].as_object_mut().unwrap().remove("patch");
    // ... and so must operations that the router does not have.
    doc["paths"]["/store/wishlists"] = serde_json::json!({"get": {"summary": "no such route"}});
    doc["paths"]["/store/carts/{id}"]["delete"] = serde_json::json!({"summary": "no such method"});

    let failures =
        check::probe_operations(&doc, &routed_paths(), |method, path| probe(&app, &store, method, path)).await;
    let mut expected = vec![
        "DELETE /store/carts/{id} is documented but not routed (405)",
        "GET /store/wishlists is documented but not routed (404)",
        "PATCH /store/carts/{id} answers 415 but is not documented",
        "POST /store/carts answers 201 but is not documented",
    ];
    expected.sort();
    let mut failures: Vec<&str> = failures.iter().map(String::as_str).collect();
    failures.sort();
    assert_eq!(failures, expected);
}

#[tokio::test]
async fn openapi_of_a_replica_lists_only_its_contexts() {
    let app = spawn_app_with(&[Context::Cart]).await;
    let doc = document(&app, "x").await;
    assert!(doc["paths"]["/store/carts"]["post"].is_object());
    assert!(doc["paths"]["/healthz"]["get"].is_object());
    assert!(doc["paths"].get("/store/products").is_none());
    let problems = check::contract_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
}
