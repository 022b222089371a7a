//! Storefront catalog reads.

use reqwest::StatusCode;
use tenant_api::catalog::model::ProductStatus;

use crate::helpers::spawn_app;

#[tokio::test]
async fn shoppers_see_only_active_products_with_money_objects() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let active = app.seed_product(&store, "Blue Shirt", ProductStatus::Active, 1999).await;
    let draft = app.seed_product(&store, "Secret Draft", ProductStatus::Draft, 500).await;
    app.seed_product(&store, "Old Archive", ProductStatus::Archived, 500).await;

    let list = app.get_json(&store.host, "/store/products", StatusCode::OK).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["id"], active["id"]);
    assert_eq!(items[0]["variants"][0]["price"], serde_json::json!({"amount": 1999, "currency": "USD"}));
    assert_eq!(list["next_cursor"], serde_json::Value::Null);

    let by_handle = app.get_json(&store.host, "/store/products/blue-shirt", StatusCode::OK).await;
    assert_eq!(by_handle["id"], active["id"]);
    let path = format!("/store/products/{}", draft["id"].as_str().unwrap());
    app.get_json(&store.host, &path, StatusCode::NOT_FOUND).await;
    app.get_json(&store.host, "/store/products/secret-draft", StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_cursor_walks_every_product_once_newest_first() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(app.seed_product(&store, &format!("Item {n}"), ProductStatus::Active, 100).await["id"].clone());
    }
    created.reverse();
    let mut seen = Vec::new();
    let mut path = "/store/products?limit=2".to_owned();
    loop {
        let page = app.get_json(&store.host, &path, StatusCode::OK).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|p| p["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/store/products?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created);
}

#[tokio::test]
async fn bad_limits_and_cursors_get_a_400_naming_the_parameter() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("cursor=%25%25%25", "cursor"),
        ("cursor=AAAA", "cursor"),
    ] {
        let body = app.get_json(&store.host, &format!("/store/products?{query}"), StatusCode::BAD_REQUEST).await;
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
}

#[tokio::test]
async fn search_matches_words_of_title_and_description() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.seed_product(&store, "Wool Beanie", ProductStatus::Active, 2500).await;
    app.seed_product(&store, "Canvas Sneakers", ProductStatus::Active, 5400).await;
    let list = app.get_json(&store.host, "/store/products?q=beanie", StatusCode::OK).await;
    let titles: Vec<_> = list["items"].as_array().unwrap().iter().map(|p| p["title"].clone()).collect();
    assert_eq!(titles, vec!["Wool Beanie"]);
}
