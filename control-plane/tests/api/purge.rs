//! Purge: done once, complete (registry rows exported without secrets, then
//! removed; media objects deleted from storage), and never another store's.

use platform::testkit::Moto;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_configured, Store, TestApp};

fn lines(export: &str) -> Vec<Value> {
    export.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

async fn delete_and_purge(app: &TestApp, admin: &str, store: &Store) -> Value {
    let path = format!("/v1/tenants/{}", store.id);
    app.expect("DELETE", &path, Some(&store.owner_token), None, StatusCode::OK).await;
    app.expect("POST", &format!("{path}/purge"), Some(admin), None, StatusCode::OK).await
}

async fn count(app: &TestApp, sql: &str, store: &Store) -> i64 {
    sqlx::query_scalar(sql).bind(&store.id).fetch_one(app.state.db.control()).await.unwrap()
}

#[tokio::test]
async fn a_purge_exports_the_stores_registry_rows_without_secrets_then_removes_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    for store in [&a, &b] {
        let base = format!("/v1/tenants/{}", store.id);
        let token = Some(store.owner_token.as_str());
        app.expect(
            "POST",
            &format!("{base}/domains"),
            token,
            Some(json!({"host": format!("shop.{}.example", store.slug)})),
            StatusCode::CREATED,
        )
        .await;
        app.expect(
            "POST",
            &format!("{base}/api-keys"),
            token,
            Some(json!({"name": "erp", "scopes": ["catalog:read"]})),
            StatusCode::CREATED,
        )
        .await;
        app.expect(
            "PUT",
            &format!("{base}/notification-settings"),
            token,
            Some(json!({"email_from": format!("shop@{}.example", store.slug),
                        "smtp": {"host": "smtp.example", "port": 587, "username": "u", "password": "smtp-secret-password"}})),
            StatusCode::OK,
        )
        .await;
        app.add_member(store, &format!("sam@{}.test", store.slug), "staff").await;
    }

    let purged = delete_and_purge(&app, &admin, &a).await;
    let export = std::fs::read_to_string(purged["export_path"].as_str().unwrap()).unwrap();
    let rows = lines(&export);
    let of = |table: &str| rows.iter().filter(|l| l["table"] == table).map(|l| l["row"].clone()).collect::<Vec<_>>();
    assert_eq!(of("control.tenant_domain")[0]["host"], "shop.alpha.example");
    assert_eq!(of("control.membership").len(), 2, "owner and staff member: {export}");
    assert_eq!(of("control.api_key")[0]["name"], "erp");
    assert_eq!(of("control.tenant_notification_settings")[0]["email_from"], "shop@alpha.example");
    assert!(!export.contains("smtp-secret-password"), "a secret in the export");
    assert!(rows.iter().all(|l| l["row"].get("key_hash").is_none() && l["row"].get("smtp_password").is_none()));
    assert!(!export.contains(&b.id), "the export holds another store's data");
    assert!(purged["control_rows"].as_u64().unwrap() >= 5, "{purged}");

    for table in ["tenant_domain", "membership", "api_key", "tenant_notification_settings", "refresh_token"] {
        let sql = format!("select count(*) from control.{table} where tenant_id = $1::uuid");
        assert_eq!(count(&app, &sql, &a).await, 0, "{table} left for the purged store");
        assert!(count(&app, &sql, &b).await >= 1, "{table} of another store removed");
    }
}

#[tokio::test]
async fn a_second_purge_answers_the_first_result_and_rewrites_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.create_store("alpha").await;
    app.seed_product(&a).await;
    let first = delete_and_purge(&app, &admin, &a).await;
    let path = first["export_path"].as_str().unwrap().to_owned();
    let export = std::fs::read_to_string(&path).unwrap();
    assert!(first["rows"].as_u64().unwrap() > 0);

    let purge = format!("/v1/tenants/{}/purge", a.id);
    let (again, twice) = tokio::join!(
        app.expect("POST", &purge, Some(&admin), None, StatusCode::OK),
        app.expect("POST", &purge, Some(&admin), None, StatusCode::OK),
    );
    assert_eq!(again, first);
    assert_eq!(twice, first);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), export, "the export was rewritten");
    let log = app.expect("GET", &format!("/v1/audit-log?tenant_id={}", a.id), Some(&admin), None, StatusCode::OK).await;
    let purges = log["items"].as_array().unwrap().iter().filter(|e| e["action"] == "tenant.purge").count();
    assert_eq!(purges, 1, "{log}");
}

#[tokio::test]
async fn a_purge_deletes_the_stores_media_objects_from_s3_and_no_other_stores() {
    let moto = Moto::start().await;
    let bucket = "commerce-purge-test";
    let s3 = reqwest::Client::new();
    assert!(s3.put(format!("{}/{bucket}", moto.endpoint)).send().await.unwrap().status().is_success());
    // Anonymous reads, so the test can look without signing.
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
    let url = format!("{}/{bucket}?policy", moto.endpoint);
    assert!(s3.put(url).json(&policy).send().await.unwrap().status().is_success());
    let app = spawn_app_configured(control_plane::settings::ControlSettings::for_tests(), |settings| {
        moto.configure(settings, bucket)
    })
    .await;
    let admin = app.admin_token().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let mut objects = Vec::new();
    for store in [&a, &b] {
        app.seed_product(store).await;
        for n in 0..2 {
            let key = format!("{}/products/mug/{n}.png", store.id);
            let url = format!("{}/{bucket}/{key}", moto.endpoint);
            assert!(s3.put(&url).body(b"\x89PNG".to_vec()).send().await.unwrap().status().is_success());
            sqlx::query(
                "insert into commerce.product_media (tenant_id, media_id, product_id, storage_key, content_type, byte_size, status) \
                 select $1::uuid, gen_random_uuid(), product_id, $2, 'image/png', 4, 'ready' from commerce.product where tenant_id = $1::uuid",
            )
            .bind(&store.id)
            .bind(&key)
            .execute(app.state.db.control())
            .await
            .unwrap();
            objects.push((store.id.clone(), url));
        }
    }

    let purged = delete_and_purge(&app, &admin, &a).await;
    assert_eq!(purged["media_objects"], 2, "{purged}");
    for (store, url) in &objects {
        let status = s3.get(url).send().await.unwrap().status();
        if *store == a.id {
            assert_eq!(status, StatusCode::NOT_FOUND, "{url} survived the purge");
        } else {
            assert_eq!(status, StatusCode::OK, "{url} of another store was deleted");
        }
    }
}
