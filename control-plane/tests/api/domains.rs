//! Custom domains: claims, DNS TXT verification, removal, isolation.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Store, TestApp};

async fn add(app: &TestApp, store: &Store, host: &str, status: StatusCode) -> Value {
    let path = format!("/v1/tenants/{}/domains", store.id);
    app.expect("POST", &path, Some(&store.owner_token), Some(json!({"host": host})), status).await
}

async fn verify(app: &TestApp, store: &Store, host: &str, status: StatusCode) -> Value {
    let path = format!("/v1/tenants/{}/domains/{host}/verify", store.id);
    app.expect("POST", &path, Some(&store.owner_token), None, status).await
}

#[tokio::test]
async fn adding_a_domain_answers_with_the_txt_record_to_publish() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let body = add(&app, &store, "Shop.Alpha-Goods.COM.", StatusCode::CREATED).await;
    assert_eq!(body["host"], "shop.alpha-goods.com");
    assert_eq!(body["verified"], false);
    assert_eq!(body["verification"]["type"], "TXT");
    assert_eq!(body["verification"]["name"], "_commerce-verification.shop.alpha-goods.com");
    let token = body["verification"]["value"].as_str().unwrap();
    assert!(token.len() >= 32, "{token}");

    // Adding it again returns the same claim and token.
    let again = add(&app, &store, "shop.alpha-goods.com", StatusCode::OK).await;
    assert_eq!(again["verification"]["value"], token);
    let list = app
        .expect("GET", &format!("/v1/tenants/{}/domains", store.id), Some(&store.owner_token), None, StatusCode::OK)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["host"], "shop.alpha-goods.com");
    assert_eq!(list["next_cursor"], Value::Null);
}

#[tokio::test]
async fn hosts_that_are_not_custom_domains_are_refused_naming_host_and_nothing_is_written() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    for host in ["", "localhost", "shop", "beta.localhost", "x.y.localhost", "127.0.0.1", "a b.com", "bücher.de"] {
        let body = add(&app, &store, host, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["field"], "host", "{host}: {body}");
    }
    let too_long = format!("{}.com", vec!["a".repeat(63); 4].join("."));
    add(&app, &store, &too_long, StatusCode::UNPROCESSABLE_ENTITY).await;
    let path = format!("/v1/tenants/{}/domains", store.id);
    let body =
        app.expect("POST", &path, Some(&store.owner_token), Some(json!({})), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "host");
    let body = app
        .expect("POST", &path, Some(&store.owner_token), Some(json!({"host": 42})), StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(body["errors"][0]["field"], "host");
    let count: i64 = sqlx::query_scalar("select count(*) from control.tenant_domain")
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn verification_needs_the_published_txt_record_and_is_audited() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let claim = add(&app, &store, "shop.alpha.com", StatusCode::CREATED).await;
    let token = claim["verification"]["value"].as_str().unwrap();

    let refused = verify(&app, &store, "shop.alpha.com", StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(refused["type"], "/problems/domain-not-verified");
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("_commerce-verification.shop.alpha.com") && detail.contains(token), "{detail}");
    assert_eq!(refused["verification"]["value"], token);

    // A wrong value at the right name, or the right value at another name, is not proof.
    app.dns.publish("_commerce-verification.shop.alpha.com", "someone-elses-token");
    app.dns.publish("_commerce-verification.alpha.com", token);
    verify(&app, &store, "shop.alpha.com", StatusCode::UNPROCESSABLE_ENTITY).await;

    app.dns.publish("_commerce-verification.shop.alpha.com", token);
    let verified = verify(&app, &store, "SHOP.alpha.com", StatusCode::OK).await;
    assert_eq!(verified["host"], "shop.alpha.com");
    assert_eq!(verified["verified"], true);
    assert!(verified["verified_at"].is_string());
    // Verifying again is harmless.
    verify(&app, &store, "shop.alpha.com", StatusCode::OK).await;

    let log = app
        .expect("GET", &format!("/v1/audit-log?tenant_id={}", store.id), Some(&store.owner_token), None, StatusCode::OK)
        .await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["domain.verify", "domain.add", "tenant.create"]);
    assert_eq!(log["items"][0]["after"]["verified"], true);
    assert!(!log.to_string().contains(token), "the audit log keeps no token");
}

#[tokio::test]
async fn a_host_verified_by_another_store_answers_409_without_naming_that_store() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let claim = add(&app, &a, "shop.brand.com", StatusCode::CREATED).await;
    app.dns.publish("_commerce-verification.shop.brand.com", claim["verification"]["value"].as_str().unwrap());
    verify(&app, &a, "shop.brand.com", StatusCode::OK).await;

    let body = add(&app, &b, "shop.brand.com", StatusCode::CONFLICT).await;
    assert_eq!(body["type"], "/problems/domain-taken");
    assert_eq!(body["errors"][0]["field"], "host");
    let text = body.to_string();
    assert!(!text.contains("alpha") && !text.contains(&a.id), "{text}");
}

#[tokio::test]
async fn a_pending_claim_cannot_squat_a_host_the_first_store_to_prove_it_wins() {
    let app = spawn_app().await;
    let squatter = app.create_store("squat").await;
    let brand = app.create_store("brand").await;
    let squat = add(&app, &squatter, "shop.brand.com", StatusCode::CREATED).await;
    let real = add(&app, &brand, "shop.brand.com", StatusCode::CREATED).await;
    assert_ne!(squat["verification"]["value"], real["verification"]["value"]);

    app.dns.publish("_commerce-verification.shop.brand.com", real["verification"]["value"].as_str().unwrap());
    verify(&app, &squatter, "shop.brand.com", StatusCode::UNPROCESSABLE_ENTITY).await;
    verify(&app, &brand, "shop.brand.com", StatusCode::OK).await;

    // Even with its own token published later, the squatter cannot take it over.
    app.dns.publish("_commerce-verification.shop.brand.com", squat["verification"]["value"].as_str().unwrap());
    let body = verify(&app, &squatter, "shop.brand.com", StatusCode::CONFLICT).await;
    assert_eq!(body["type"], "/problems/domain-taken");
    let owner: String = sqlx::query_scalar(
        "select tenant_id::text from control.tenant_domain where host = 'shop.brand.com' and verified_at is not null",
    )
    .fetch_one(app.state.db.control())
    .await
    .unwrap();
    assert_eq!(owner, brand.id);
}

#[tokio::test]
async fn removing_a_domain_answers_204_and_frees_the_host() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let claim = add(&app, &a, "shop.brand.com", StatusCode::CREATED).await;
    app.dns.publish("_commerce-verification.shop.brand.com", claim["verification"]["value"].as_str().unwrap());
    verify(&app, &a, "shop.brand.com", StatusCode::OK).await;

    let path = format!("/v1/tenants/{}/domains/shop.brand.com", a.id);
    let (status, _) = app.call("DELETE", &path, Some(&a.owner_token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.expect("DELETE", &path, Some(&a.owner_token), None, StatusCode::NOT_FOUND).await;
    app.expect("POST", &format!("{path}/verify"), Some(&a.owner_token), None, StatusCode::NOT_FOUND).await;
    add(&app, &b, "shop.brand.com", StatusCode::CREATED).await;
    let log = app
        .expect("GET", &format!("/v1/audit-log?tenant_id={}", a.id), Some(&a.owner_token), None, StatusCode::OK)
        .await;
    assert_eq!(log["items"][0]["action"], "domain.remove");
}

#[tokio::test]
async fn another_stores_owner_gets_404_on_every_domain_route_and_changes_nothing() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    add(&app, &b, "shop.bravo.com", StatusCode::CREATED).await;
    let base = format!("/v1/tenants/{}/domains", b.id);
    for (method, path, body) in [
        ("GET", base.clone(), None),
        ("POST", base.clone(), Some(json!({"host": "evil.example.com"}))),
        ("POST", format!("{base}/shop.bravo.com/verify"), None),
        ("DELETE", format!("{base}/shop.bravo.com"), None),
    ] {
        let body = app.expect(method, &path, Some(&a.owner_token), body, StatusCode::NOT_FOUND).await;
        assert!(!body.to_string().contains("bravo"), "{body}");
    }
    app.expect("GET", &base, None, None, StatusCode::UNAUTHORIZED).await;
    let list = app.expect("GET", &base, Some(&b.owner_token), None, StatusCode::OK).await;
    let hosts: Vec<&str> = list["items"].as_array().unwrap().iter().map(|d| d["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, vec!["shop.bravo.com"]);
    // A platform admin asking for a store that does not exist gets 404, not an error.
    let admin = app.admin_token().await;
    let missing = format!("/v1/tenants/{}/domains", uuid::Uuid::now_v7());
    app.expect("POST", &missing, Some(&admin), Some(json!({"host": "x.example.com"})), StatusCode::NOT_FOUND).await;
    app.expect("GET", "/v1/tenants/not-a-uuid/domains", Some(&admin), None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn store_staff_may_list_domains_but_only_admins_change_them() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    add(&app, &store, "shop.alpha.com", StatusCode::CREATED).await;
    let staff = app.add_member(&store, "sam@alpha.test", "staff").await;
    let base = format!("/v1/tenants/{}/domains", store.id);
    let list = app.expect("GET", &base, Some(&staff), None, StatusCode::OK).await;
    assert_eq!(list["items"][0]["host"], "shop.alpha.com");
    for (method, path, body) in [
        ("POST", base.clone(), Some(json!({"host": "other.alpha.com"}))),
        ("POST", format!("{base}/shop.alpha.com/verify"), None),
        ("DELETE", format!("{base}/shop.alpha.com"), None),
    ] {
        app.expect(method, &path, Some(&staff), body, StatusCode::FORBIDDEN).await;
    }
    let admin = app.add_member(&store, "ann@alpha.test", "admin").await;
    app.expect("POST", &base, Some(&admin), Some(json!({"host": "other.alpha.com"})), StatusCode::CREATED).await;
}
