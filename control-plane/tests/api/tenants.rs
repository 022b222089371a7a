//! Onboarding, idempotency, lifecycle, cross-store access, purge and audit.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

fn signup(slug: &str) -> Value {
    json!({"slug": slug, "name": "Shop", "currency": "EUR", "owner_email": format!("o@{slug}.test"),
           "owner_password": "owner-password"})
}

#[tokio::test]
async fn onboarding_returns_the_store_url_and_working_owner_credentials() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let body = &store.body;
    assert_eq!(body["slug"], "alpha");
    assert_eq!(body["status"], "active");
    assert_eq!(body["url"], "http://alpha.localhost:8000");
    assert_eq!(body["plan"], "starter");
    assert_eq!(body["credentials"]["token_type"], "Bearer");
    let read =
        app.expect("GET", &format!("/v1/tenants/{}", store.id), Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(read["id"], body["id"]);
    assert_eq!(read["status"], "active");
    // Email templates are compiled in: provisioning copies none into the cell.
    let templates: i64 =
        sqlx::query_scalar("select count(*) from commerce.notification_template where tenant_id = $1::uuid")
            .bind(&store.id)
            .fetch_one(app.state.db.control())
            .await
            .unwrap();
    assert_eq!(templates, 0);
}

#[tokio::test]
async fn slugs_are_checked_and_reserved_words_refused() {
    let app = spawn_app().await;
    for slug in ["ab", "-abc", "abc-", "Abc", "a_b", "www", "api", "admin", "app", "static", "mail", "status"] {
        let body = app.expect("POST", "/v1/tenants", None, Some(signup(slug)), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["field"], "slug", "{slug}: {body}");
    }
    app.create_store("alpha").await;
    let body = app.expect("POST", "/v1/tenants", None, Some(signup("alpha")), StatusCode::CONFLICT).await;
    assert_eq!(body["type"], "/problems/slug-taken");
}

#[tokio::test]
async fn bad_input_names_every_field_at_fault_and_writes_nothing() {
    let app = spawn_app().await;
    let body = app
        .expect(
            "POST",
            "/v1/tenants",
            None,
            Some(json!({"slug": "good-slug", "name": "", "currency": "euro", "owner_email": "nope",
                        "owner_password": "short", "locale": "xx_YY", "timezone": "Not A Zone"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for field in ["name", "currency", "owner_email", "owner_password", "locale", "timezone"] {
        assert!(fields.contains(&field), "{field} missing in {body}");
    }
    let missing =
        app.expect("POST", "/v1/tenants", None, Some(json!({"slug": "x"})), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(missing["errors"][0]["field"], "name");
    let mut bad_plan = signup("good-slug");
    bad_plan["plan"] = "platinum".into();
    let body = app.expect("POST", "/v1/tenants", None, Some(bad_plan), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "plan");
    let count: i64 =
        sqlx::query_scalar("select count(*) from control.tenant").fetch_one(app.state.db.control()).await.unwrap();
    assert_eq!(count, 0);
}

async fn post_with_key(app: &crate::helpers::TestApp, key: &str, body: &Value) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!("{}/v1/tenants", app.address))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn an_idempotency_key_replays_the_same_store_and_refuses_another_body() {
    let app = spawn_app().await;
    let (status, first) = post_with_key(&app, "key-1", &signup("alpha")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, replay) = post_with_key(&app, "key-1", &signup("alpha")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(replay, first, "a replay returns the first body exactly");
    let (status, body) = post_with_key(&app, "key-1", &signup("bravo")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["type"], "/problems/idempotency-key-reused");
}

#[tokio::test]
async fn concurrent_duplicates_with_one_key_create_one_store() {
    let app = std::sync::Arc::new(spawn_app().await);
    let calls = (0..8).map(|_| {
        let app = app.clone();
        tokio::spawn(async move { post_with_key(&app, "same-key", &signup("racer")).await })
    });
    let mut ids = Vec::new();
    for call in calls {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn staff_of_one_store_can_neither_read_nor_change_another() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let b_path = format!("/v1/tenants/{}", b.id);
    for (method, path, body) in [
        ("GET", b_path.clone(), None),
        ("PATCH", b_path.clone(), Some(json!({"name": "Hijacked"}))),
        ("DELETE", b_path.clone(), None),
    ] {
        let body = app.expect(method, &path, Some(&a.owner_token), body, StatusCode::NOT_FOUND).await;
        assert!(!body.to_string().contains("bravo"), "{body}");
    }
    for action in ["suspend", "resume", "purge"] {
        app.expect("POST", &format!("{b_path}/{action}"), Some(&a.owner_token), None, StatusCode::FORBIDDEN).await;
    }
    let list = app.expect("GET", "/v1/tenants", Some(&a.owner_token), None, StatusCode::OK).await;
    let slugs: Vec<&str> = list["items"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, vec!["alpha"]);
    let b_now = app.expect("GET", &b_path, Some(&b.owner_token), None, StatusCode::OK).await;
    assert_eq!(b_now["name"], "Store bravo");
    assert_eq!(b_now["status"], "active");
}

#[tokio::test]
async fn platform_admins_suspend_resume_and_filter_stores() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("alpha").await;
    app.create_store("bravo").await;
    let path = format!("/v1/tenants/{}", a.id);
    let body = app.expect("POST", &format!("{path}/suspend"), Some(&admin), None, StatusCode::OK).await;
    assert_eq!(body["status"], "suspended");
    let list = app.expect("GET", "/v1/tenants?status=suspended", Some(&admin), None, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], a.id.as_str());
    let page = app.expect("GET", "/v1/tenants?limit=1", Some(&admin), None, StatusCode::OK).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let next =
        app.expect("GET", &format!("/v1/tenants?limit=1&cursor={cursor}"), Some(&admin), None, StatusCode::OK).await;
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    app.expect("GET", "/v1/tenants?status=weird", Some(&admin), None, StatusCode::BAD_REQUEST).await;
    let body = app.expect("POST", &format!("{path}/resume"), Some(&admin), None, StatusCode::OK).await;
    assert_eq!(body["status"], "active");
}

#[tokio::test]
async fn owners_patch_name_and_branding_admins_patch_the_plan_and_invalid_plans_are_refused() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let path = format!("/v1/tenants/{}", a.id);
    let body = app
        .expect(
            "PATCH",
            &path,
            Some(&a.owner_token),
            Some(json!({"name": "Alpha Goods", "branding": {"primary_color": "#112233"}})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(body["name"], "Alpha Goods");
    assert_eq!(body["branding"]["primary_color"], "#112233");
    let admin = app.admin_token().await;
    let body = app.expect("PATCH", &path, Some(&admin), Some(json!({"plan": "growth"})), StatusCode::OK).await;
    assert_eq!(body["plan"], "growth");
    let body =
        app.expect("PATCH", &path, Some(&admin), Some(json!({"plan": "gold"})), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "plan");
}

#[tokio::test]
async fn a_storefront_theme_in_branding_must_be_a_colour_and_an_https_logo() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let path = format!("/v1/tenants/{}", a.id);
    let hostile = json!({"branding": {"primary_color": "red;}body{display:none", "logo_url": "javascript:alert(1)"}});
    let body = app.expect("PATCH", &path, Some(&a.owner_token), Some(hostile), StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["branding.primary_color", "branding.logo_url"]);
    let theme = json!({"branding": {"primary_color": "#0a7d33", "logo_url": "https://cdn.example/logo.png"}});
    let body = app.expect("PATCH", &path, Some(&a.owner_token), Some(theme), StatusCode::OK).await;
    assert_eq!(body["branding"]["logo_url"], "https://cdn.example/logo.png");
}

#[tokio::test]
async fn a_deleted_store_is_purged_after_an_export_of_all_its_data() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    // Data in the cell and in Redis for both stores.
    for store in [&a, &b] {
        app.seed_product(store).await;
        // A merchant's email template override.
        sqlx::query(
            "insert into commerce.notification_template (tenant_id, template_id, event, channel, subject, body, html) \
             values ($1::uuid, $2, 'order.paid', 'email', 'Thanks', 'Thanks', '<p>Thanks</p>')",
        )
        .bind(&store.id)
        .bind(uuid::Uuid::now_v7())
        .execute(app.state.db.control())
        .await
        .unwrap();
    }
    let path = format!("/v1/tenants/{}", a.id);
    let body = app.expect("POST", &format!("{path}/purge"), Some(&admin), None, StatusCode::CONFLICT).await;
    assert_eq!(body["type"], "/problems/invalid-state");
    app.expect("DELETE", &path, Some(&a.owner_token), None, StatusCode::OK).await;
    let purged = app.expect("POST", &format!("{path}/purge"), Some(&admin), None, StatusCode::OK).await;

    let export = std::fs::read_to_string(purged["export_path"].as_str().unwrap()).unwrap();
    let tables: Vec<String> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["table"].as_str().unwrap().to_owned())
        .collect();
    for table in ["control.tenant", "product", "product_variant", "inventory_level", "notification_template"] {
        assert!(tables.iter().any(|t| t == table), "{table} not exported: {tables:?}");
    }
    assert!(!export.contains(&b.id), "the export holds another store's data");
    let left: i64 = sqlx::query_scalar(
        "select (select count(*) from commerce.product where tenant_id = $1::uuid) \
              + (select count(*) from commerce.inventory_level where tenant_id = $1::uuid) \
              + (select count(*) from commerce.notification_template where tenant_id = $1::uuid)",
    )
    .bind(&a.id)
    .fetch_one(app.state.db.control())
    .await
    .unwrap();
    assert_eq!(left, 0);
    let other: i64 = sqlx::query_scalar("select count(*) from commerce.product where tenant_id = $1::uuid")
        .bind(&b.id)
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert_eq!(other, 1, "the purge touched another store");
    let mut redis = app.state.redis.clone();
    let a_key: Option<String> =
        redis::cmd("GET").arg(format!("t:{{{}}}:cart:x", a.id)).query_async(&mut redis).await.unwrap();
    let b_key: Option<String> =
        redis::cmd("GET").arg(format!("t:{{{}}}:cart:x", b.id)).query_async(&mut redis).await.unwrap();
    assert_eq!((a_key, b_key.as_deref()), (None, Some("1")));
    // The registry keeps the record (slug and audit subject), marked deleted.
    let record = app.expect("GET", &path, Some(&admin), None, StatusCode::OK).await;
    assert_eq!(record["status"], "deleted");
}

#[tokio::test]
async fn every_mutation_is_in_the_audit_log_with_its_request_id() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let response = app
        .client
        .post(format!("{}/v1/tenants/{}/suspend", app.address, a.id))
        .bearer_auth(&admin)
        .header("x-request-id", "req-suspend-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let log = app.expect("GET", &format!("/v1/audit-log?tenant_id={}", a.id), Some(&admin), None, StatusCode::OK).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["tenant.suspend", "tenant.create"]);
    assert_eq!(log["items"][0]["request_id"], "req-suspend-1");
    assert_eq!(log["items"][0]["before"]["status"], "active");
    assert_eq!(log["items"][0]["after"]["status"], "suspended");
    // Owners read their own store's log, never another's.
    let own = app.expect("GET", "/v1/audit-log", Some(&b.owner_token), None, StatusCode::OK).await;
    assert!(own["items"].as_array().unwrap().iter().all(|e| e["tenant_id"] == b.id.as_str()));
    app.expect("GET", &format!("/v1/audit-log?tenant_id={}", a.id), Some(&b.owner_token), None, StatusCode::NOT_FOUND)
        .await;
    // Append-only.
    let tampered = sqlx::query("delete from control.audit_log").execute(app.state.db.control()).await;
    assert!(tampered.is_err());
}
