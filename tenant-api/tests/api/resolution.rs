//! Host → store resolution: unknown, suspended, custom domains, announcements.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_unknown_host_gets_a_404_problem() {
    let app = spawn_app().await;
    for host in ["nobody.localhost", "shop.example.com", "localhost", "a.b.localhost"] {
        let body = app.get_json(host, "/store/products", StatusCode::NOT_FOUND).await;
        assert_eq!(body["type"], "/problems/store-not-found", "{host}");
        assert_eq!(body["status"], 404);
    }
}

#[tokio::test]
async fn the_host_is_matched_without_port_or_case() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    for host in ["alpha.localhost:8000", "ALPHA.LocalHost", "alpha.localhost."] {
        app.get_json(host, "/store/products", StatusCode::OK).await;
    }
    drop(store);
}

#[tokio::test]
async fn a_suspension_reaches_a_warm_cache_within_a_second_and_resume_restores_it() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    // Warm the cache: from here on only the announcement can change the answer.
    app.get_json(&store.host, "/store/products", StatusCode::OK).await;

    app.set_status(&store, "suspended").await;
    let started = Instant::now();
    let status = loop {
        let status = app.get(&store.host, "/store/products").await.status();
        if status == StatusCode::LOCKED || started.elapsed() > Duration::from_secs(1) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, StatusCode::LOCKED, "still serving {:?} after suspension", started.elapsed());
    let body = app.get_json(&store.host, "/store/products/anything", StatusCode::LOCKED).await;
    assert_eq!(body["type"], "/problems/store-suspended");

    app.set_status(&store, "active").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.get_json(&store.host, "/store/products", StatusCode::OK).await;
}

#[tokio::test]
async fn a_deleted_store_answers_as_unknown() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.set_status(&store, "deleted").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let body = app.get_json(&store.host, "/store/products", StatusCode::NOT_FOUND).await;
    assert_eq!(body["type"], "/problems/store-not-found");
}

#[tokio::test]
async fn a_verified_custom_domain_resolves_and_an_unverified_one_does_not() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let other = app.create_store("bravo").await;
    app.seed_product(&store, "Alpha Hat", tenant_api::catalog::model::ProductStatus::Active, 900).await;
    for (host, verified) in [("shop.alpha.test", true), ("pending.alpha.test", false)] {
        sqlx::query(
            "insert into control.tenant_domain (host, tenant_id, verification_token, verified_at) \
             values ($1, $2, 'token', case when $3 then now() end)",
        )
        .bind(host)
        .bind(store.id())
        .bind(verified)
        .execute(app.state.db.control())
        .await
        .unwrap();
    }
    let list = app.get_json("shop.alpha.test", "/store/products", StatusCode::OK).await;
    assert_eq!(list["items"][0]["title"], "Alpha Hat");
    app.get_json("pending.alpha.test", "/store/products", StatusCode::NOT_FOUND).await;
    // The custom domain serves its own store only.
    let list = app.get_json(&other.host, "/store/products", StatusCode::OK).await;
    assert_eq!(list["items"], serde_json::json!([]));
}
