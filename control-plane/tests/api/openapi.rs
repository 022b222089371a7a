//! `/openapi.json`: served without auth, and in agreement with the router.

use std::{collections::BTreeSet, path::Path};

use platform::openapi::check;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

async fn document(app: &TestApp) -> Value {
    let response = app.client.get(format!("{}/openapi.json", app.address)).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).expect("the document is JSON")
}

/// Sends `method path` without credentials or body.
async fn probe(app: &TestApp, method: &'static str, path: String) -> (u16, Value) {
    let response =
        app.client.request(method.parse().unwrap(), format!("{}{path}", app.address)).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every path this binary routes, read from the `.route(…)` calls of its source.
fn routed_paths() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let routed = check::routed_paths(&[&root.join("src"), &root.join("../platform/src")]);
    // The admin pages (`/admin…`) are HTML, not API operations (`/v1/admin/…` are).
    routed.into_iter().filter(|path| path != "/admin" && !path.starts_with("/admin/")).collect()
}

#[tokio::test]
async fn openapi_json_is_served_without_auth_and_meets_the_contract() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let problems = check::contract_problems(&doc);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(doc["info"]["title"], "control-plane");

    let create = &doc["paths"]["/v1/tenants"]["post"];
    let params = create["parameters"].as_array().unwrap();
    assert!(params.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"), "{create}");
    let schemas = &doc["components"]["schemas"];
    let request = &schemas["CreateTenantRequest"];
    for field in ["slug", "name", "owner_email", "owner_password", "currency"] {
        assert!(request["required"].as_array().unwrap().iter().any(|r| r == field), "{field}: {request}");
    }
    let created = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].as_str().unwrap();
    let created = &schemas[created.trim_start_matches("#/components/schemas/")];
    assert!(created.to_string().contains("#/components/schemas/TenantResponse"), "{created}");
    assert!(create["responses"]["409"]["content"]["application/problem+json"].is_object(), "{create}");

    let token = &schemas["TokenResponse"];
    for field in ["access_token", "token_type", "expires_in", "refresh_token"] {
        assert!(token["required"].as_array().unwrap().iter().any(|r| r == field), "{field}: {token}");
    }
    assert_eq!(token["properties"]["expires_in"]["type"], "integer");
    assert_eq!(doc["paths"]["/v1/tenants/{id}/suspend"]["post"]["security"], serde_json::json!([{"bearer": []}]));
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes_the_app_answers() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let routed = routed_paths();
    let documented: BTreeSet<String> = check::documented_operations(&doc).into_iter().map(|(_, path)| path).collect();
    assert_eq!(routed, documented, "paths in `.route(…)` calls and in the document differ");

    let failures = check::probe_operations(&doc, &routed, |method, path| probe(&app, method, path)).await;
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn the_drift_check_catches_a_missing_and_a_phantom_operation() {
    let app = spawn_app().await;
    let mut doc = document(&app).await;
    doc["paths"].as_object_mut().unwrap().remove("/v1/plans");
    doc["paths"]["/v1/tenants/{id}"].as_object_mut().unwrap().remove("patch");
    doc["paths"]["/v1/tenants/{id}/archive"] = serde_json::json!({"post": {"summary": "no such route"}});

    let failures = check::probe_operations(&doc, &routed_paths(), |method, path| probe(&app, method, path)).await;
    let mut failures: Vec<&str> = failures.iter().map(String::as_str).collect();
    failures.sort();
    assert_eq!(
        failures,
        [
            "GET /v1/plans answers 200 but is not documented",
            "PATCH /v1/tenants/{id} answers 401 but is not documented",
            "POST /v1/tenants/{id}/archive is documented but not routed (404)",
        ]
    );
}
