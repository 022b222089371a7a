//! The storefront cache: per store, dropped on every catalog write, in every replica.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp, TestStore};

/// Changes a title behind the API's back: only a cache miss can show it.
async fn rename_in_database(app: &TestApp, store: &TestStore, handle: &str, title: &str) {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query("update product set title = $2 where handle = $1")
        .bind(handle)
        .bind(title)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// Polls a replica until `path` shows `title` first, for at most a second.
async fn eventually_first_title(app: &TestApp, store: &TestStore, path: &str, title: &str) -> Duration {
    let started = Instant::now();
    loop {
        let titles = app.titles(store, path).await;
        if titles.first().map(String::as_str) == Some(title) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(1), "{path} still shows {titles:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn storefront_reads_come_from_the_cache_until_a_catalog_write_of_that_store() {
    // A (re)subscription of the listener drops the whole cache (see below); a run
    // where that happened is repeated on a fresh store.
    for attempt in 0..3 {
        let app = spawn_app().await;
        let store = app.create_store(&format!("alpha{attempt}")).await;
        let staff = app.staff(&store).await;
        app.create_product(&store, &staff, "Tee", "TEE", 100).await;
        let resets = app.state.storefront_cache.resets();
        assert_eq!(app.titles(&store, "/store/products").await, ["Tee"]);

        rename_in_database(&app, &store, "tee", "Renamed Tee").await;
        let cached = app.titles(&store, "/store/products").await;
        if app.state.storefront_cache.resets() != resets {
            continue;
        }
        assert_eq!(cached, ["Tee"], "served from the cache");
        // Another query string is another entry: it reads the database.
        assert_eq!(app.titles(&store, "/store/products?limit=5").await, ["Renamed Tee"]);

        app.create_product(&store, &staff, "Mug", "MUG", 100).await;
        assert_eq!(app.titles(&store, "/store/products").await, ["Mug", "Renamed Tee"], "the write dropped the cache");
        return;
    }
    panic!("the storefront cache was reset during every attempt");
}

#[tokio::test]
async fn a_cache_of_zero_bytes_loads_every_read() {
    let app = spawn_app().await;
    let tenant = platform::ids::TenantId::from_uuid(uuid::Uuid::now_v7());
    for (bytes, second_read) in [(0, "second"), (1 << 20, "first")] {
        let cache = tenant_api::catalog::cache::StorefrontCache::new(app.state.redis.clone(), bytes);
        let mut read = Vec::new();
        for body in ["first", "second"] {
            let loaded = cache.get_or_load(tenant, "/store/products", async { Ok::<_, ()>(Bytes::from(body)) }).await;
            read.push(loaded.unwrap());
        }
        assert_eq!(read, [Bytes::from("first"), Bytes::from(second_read)], "cache of {bytes} bytes");
    }
}

#[tokio::test]
async fn a_write_in_one_store_leaves_other_stores_cached_pages_alone() {
    // The listener drops the whole cache when it (re)subscribes to Redis, which
    // every test shares; a run where that happened proves nothing either way and
    // is repeated on fresh stores.
    for attempt in 0..3 {
        let app = spawn_app().await;
        let a = app.create_store(&format!("alpha{attempt}")).await;
        let b = app.create_store(&format!("bravo{attempt}")).await;
        let staff_a = app.staff(&a).await;
        let staff_b = app.staff(&b).await;
        app.create_product(&b, &staff_b, "Tee", "TEE", 100).await;
        let resets = app.state.storefront_cache.resets();
        assert_eq!(app.titles(&b, "/store/products").await, ["Tee"]);
        rename_in_database(&app, &b, "tee", "Renamed Tee").await;

        app.create_product(&a, &staff_a, "Mug", "MUG", 100).await;
        let titles = app.titles(&b, "/store/products").await;
        if app.state.storefront_cache.resets() == resets {
            assert_eq!(titles, ["Tee"], "store B's cache survived store A's write");
            return;
        }
    }
    panic!("the storefront cache was reset during every attempt");
}

#[tokio::test]
async fn a_product_updated_through_one_replica_is_read_changed_through_another() {
    let first = spawn_app().await;
    let second = first.spawn_replica().await;
    let store = first.create_store("alpha").await;
    let staff = first.staff(&store).await;
    let product = first.create_product(&store, &staff, "Tee", "TEE", 100).await;
    let detail = format!("/store/products/{}", product["id"].as_str().unwrap());

    // Both replicas have the product cached.
    for replica in [&first, &second] {
        assert_eq!(replica.titles(&store, "/store/products").await, ["Tee"]);
        assert_eq!(replica.get_json(&store.host, &detail, StatusCode::OK).await["title"], "Tee");
    }

    let path = format!("/admin/products/{}", product["id"].as_str().unwrap());
    first.admin("PATCH", &store, &path, &staff, Some(json!({"title": "Better Tee"})), StatusCode::OK).await;
    let took = eventually_first_title(&second, &store, "/store/products", "Better Tee").await;
    assert_eq!(second.get_json(&store.host, &detail, StatusCode::OK).await["title"], "Better Tee");
    assert!(took < Duration::from_secs(1), "{took:?}");

    // And the other way round, for a write of a different kind.
    let staff_second = second.staff(&store).await;
    second.admin("PATCH", &store, &path, &staff_second, Some(json!({"status": "draft"})), StatusCode::OK).await;
    let started = Instant::now();
    while first.get(&store.host, &detail).await.status() != StatusCode::NOT_FOUND {
        assert!(started.elapsed() < Duration::from_secs(1), "the first replica still serves the product");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn unknown_parameters_are_refused_and_parameter_order_is_one_cache_entry() {
    for attempt in 0..3 {
        let app = spawn_app().await;
        let store = app.create_store(&format!("beta{attempt}")).await;
        let staff = app.staff(&store).await;
        app.create_product(&store, &staff, "Tee", "TEE", 100).await;
        let resets = app.state.storefront_cache.resets();
        assert_eq!(app.titles(&store, "/store/products?limit=5&sort=title").await, ["Tee"]);
        rename_in_database(&app, &store, "tee", "Renamed Tee").await;
        // The same parameters in another order are the same entry: still cached.
        let reordered = app.titles(&store, "/store/products?sort=title&limit=5").await;
        if app.state.storefront_cache.resets() != resets {
            continue;
        }
        assert_eq!(reordered, ["Tee"], "one entry for one set of parameters");

        // Junk never reaches (or fills) the cache: it is a 400 naming the parameter.
        for path in
            ["/store/products?junk=1", "/store/products/tee?v=2", "/store/categories?x=", "/store/collections?q=a"]
        {
            let problem = app.get_json(&store.host, path, StatusCode::BAD_REQUEST).await;
            assert!(problem["errors"][0]["field"].is_string(), "{path}: {problem}");
        }
        let long = "a".repeat(201);
        let problem = app.get_json(&store.host, &format!("/store/products?q={long}"), StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], "q");
        let filters: String = (0..21).map(|i| format!("&attr.size=s{i}")).collect();
        let problem =
            app.get_json(&store.host, &format!("/store/products?limit=5{filters}"), StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["errors"][0]["field"], "attr.size");
        // Known parameters still work, attribute filters included.
        app.get_json(&store.host, "/store/products?attr.size=M&facets=true", StatusCode::OK).await;
        return;
    }
    panic!("the storefront cache was reset during every attempt");
}

#[tokio::test]
async fn warm_reads_answer_each_store_with_its_own_body_and_take_one_request_of_its_rate() {
    let app = spawn_app().await;
    let alpha = app.create_store("alpha").await;
    let beta = app.create_store("beta").await;
    let mut ids = Vec::new();
    for store in [&alpha, &beta] {
        let staff = app.staff(store).await;
        ids.push(app.create_product(store, &staff, "Tee", "TEE", 100).await["id"].as_str().unwrap().to_owned());
    }
    // The same paths in both stores, read twice: the second reads are warm
    // (answered in front of the router) and each store gets its own product.
    for _ in 0..2 {
        for (store, id) in [(&beta, &ids[1]), (&alpha, &ids[0])] {
            let detail = app.get_json(&store.host, "/store/products/tee", StatusCode::OK).await;
            assert_eq!(detail["id"], id.as_str(), "{}", store.host);
            let list = app.get_json(&store.host, "/store/products", StatusCode::OK).await;
            assert_eq!(list["items"][0]["id"], id.as_str(), "{}", store.host);
        }
    }
    // Alpha on 6 requests a second, from a full allowance (its limiter
    // dropped, as an announced plan change does): 6 warm reads and 6 misses
    // (new keys, handed on to the router after the store was resolved) at
    // once. Each request is one of the rate, whichever way it was answered:
    // about 6 pass (a refill or two while they run), not the 4 a second
    // charge for a miss would leave.
    app.set_rate(&alpha, 6).await;
    app.state.quotas.forget(alpha.id());
    app.state.rate_limits.forget(alpha.id());
    let labels = r#"method="GET",path="/store/products/{id_or_handle}",status="200""#;
    let counted = app.requests_total(labels).await;
    let paths: Vec<String> = (0..12)
        .map(|i| match i % 2 {
            0 => "/store/products/tee".to_owned(),
            _ => format!("/store/products?limit={}", i + 1),
        })
        .collect();
    let responses = futures_util::future::join_all(paths.iter().map(|path| app.get(&alpha.host, path))).await;
    let passed = responses.iter().filter(|r| r.status() == StatusCode::OK).count();
    let refused = responses.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(passed + refused, 12);
    assert!((6..=8).contains(&passed), "{passed} of 12 passed");
    // Warm answers are counted under their route, as routed ones are (other
    // tests only add to the count).
    let warm_passed =
        responses.iter().zip(&paths).filter(|(r, path)| r.status() == StatusCode::OK && path.ends_with("/tee")).count();
    assert!(app.requests_total(labels).await - counted >= warm_passed as f64);
    // The other store was never limited by alpha's requests.
    app.get_json(&beta.host, "/store/products/tee", StatusCode::OK).await;
}
