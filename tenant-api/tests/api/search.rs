//! Storefront search, filters, facets, sorting and autocomplete.

use reqwest::StatusCode;
use tenant_api::catalog::model::ProductStatus::{Active, Draft};

use crate::helpers::{spawn_app, TestApp, TestStore};

async fn apparel(app: &TestApp) -> TestStore {
    let store = app.create_store("alpha").await;
    app.seed_product_with(&store, "Running Shoes", Active, 8900, &[("color", "red"), ("material", "mesh")]).await;
    app.seed_product_with(&store, "Wool Beanie", Active, 2500, &[("color", "blue"), ("material", "wool")]).await;
    app.seed_product_with(&store, "Canvas Sneakers", Active, 5400, &[("color", "red"), ("material", "canvas")]).await;
    app.seed_product_with(&store, "Leather Wallet", Active, 4500, &[("color", "brown")]).await;
    app.seed_product_with(&store, "Hidden Shoes", Draft, 100, &[("color", "red")]).await;
    store
}

#[tokio::test]
async fn search_finds_products_by_stemmed_words_in_the_store_language() {
    let app = spawn_app().await;
    let store = apparel(&app).await;
    // "run" and "shoe" match "Running Shoes" only through English stemming.
    assert_eq!(app.titles(&store, "/store/products?q=run%20shoe").await, ["Running Shoes"]);
    assert_eq!(app.titles(&store, "/store/products?q=beanies").await, ["Wool Beanie"]);
    // Attribute values are searchable too (weight B), drafts never.
    let mut red = app.titles(&store, "/store/products?q=red").await;
    red.sort();
    assert_eq!(red, ["Canvas Sneakers", "Running Shoes"]);
}

#[tokio::test]
async fn search_tolerates_misspellings_through_trigrams() {
    let app = spawn_app().await;
    let store = apparel(&app).await;
    assert_eq!(app.titles(&store, "/store/products?q=beenie").await, ["Wool Beanie"]);
    assert_eq!(app.titles(&store, "/store/products?q=sneekers").await, ["Canvas Sneakers"]);
    assert_eq!(app.titles(&store, "/store/products?q=walet").await, ["Leather Wallet"]);
    assert!(app.titles(&store, "/store/products?q=zzzzqqq").await.is_empty());
}

#[tokio::test]
async fn a_correctly_spelt_query_is_not_loosened_by_similar_titles() {
    let app = spawn_app().await;
    let store = apparel(&app).await;
    // "Wall Art" resembles "wallet" (trigram word similarity 0.57) but is not a wallet.
    app.seed_product_with(&store, "Wall Art", Active, 3000, &[]).await;
    assert_eq!(app.titles(&store, "/store/products?q=wallet").await, ["Leather Wallet"]);
    let misspelt = app.titles(&store, "/store/products?q=walet").await;
    assert_eq!(misspelt[0], "Leather Wallet", "misspellings still find it first: {misspelt:?}");
}

#[tokio::test]
async fn title_matches_rank_above_description_and_attribute_matches() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.seed_product_with(&store, "Plain Mug", Active, 900, &[("material", "wool")]).await;
    app.seed_product_with(&store, "Wool Scarf", Active, 900, &[]).await;
    assert_eq!(app.titles(&store, "/store/products?q=wool").await, ["Wool Scarf", "Plain Mug"]);
}

#[tokio::test]
async fn filters_by_attribute_price_category_and_collection_combine() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let shoes = app.seed_product_with(&store, "Running Shoes", Active, 8900, &[("color", "red")]).await;
    let sneakers = app.seed_product_with(&store, "Canvas Sneakers", Active, 5400, &[("color", "red")]).await;
    let beanie = app.seed_product_with(&store, "Wool Beanie", Active, 2500, &[("color", "blue")]).await;
    let footwear = app.seed_category(&store, "Footwear", None).await;
    let trainers = app.seed_category(&store, "Trainers", Some(&footwear)).await;
    app.file_under(&store, &shoes, &[&trainers]).await;
    app.file_under(&store, &sneakers, &[&footwear]).await;
    app.seed_collection(&store, "Summer Sale", &[&sneakers, &beanie]).await;

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(app.titles(&store, "/store/products?attr.color=red").await),
        ["Canvas Sneakers", "Running Shoes"]
    );
    assert_eq!(
        sorted(app.titles(&store, "/store/products?attr.color=red&attr.color=blue").await).len(),
        3,
        "values of one attribute are alternatives"
    );
    assert_eq!(app.titles(&store, "/store/products?price_min=3000&price_max=6000").await, ["Canvas Sneakers"]);
    // A category includes its subcategories; by id or handle.
    assert_eq!(
        sorted(app.titles(&store, "/store/products?category=footwear").await),
        ["Canvas Sneakers", "Running Shoes"]
    );
    assert_eq!(app.titles(&store, &format!("/store/products?category={trainers}")).await, ["Running Shoes"]);
    assert_eq!(app.titles(&store, "/store/products?collection=summer-sale&attr.color=red").await, ["Canvas Sneakers"]);
    assert!(app.titles(&store, "/store/products?category=nonexistent").await.is_empty());
    assert_eq!(app.titles(&store, "/store/products?q=shoes&category=footwear").await, ["Running Shoes"]);

    let body = app.get_json(&store.host, "/store/products?price_min=-1", StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "price_min");
}

#[tokio::test]
async fn facets_count_the_whole_filtered_set_not_just_the_page() {
    let app = spawn_app().await;
    let store = apparel(&app).await;
    let footwear = app.seed_category(&store, "Footwear", None).await;
    let list = app.get_json(&store.host, "/store/products?limit=1&facets=true", StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let facets = &list["facets"];
    assert_eq!(facets["total"], 4, "drafts are not counted: {facets}");
    assert_eq!(
        facets["attributes"]["color"],
        serde_json::json!([{"value": "red", "count": 2}, {"value": "blue", "count": 1}, {"value": "brown", "count": 1}])
    );
    assert_eq!(facets["price"], serde_json::json!({"min": 2500, "max": 8900}));
    assert_eq!(facets["categories"], serde_json::json!([]), "{footwear} has no products yet");

    let filtered = app.get_json(&store.host, "/store/products?attr.color=red&facets=true", StatusCode::OK).await;
    assert_eq!(filtered["facets"]["total"], 2);
    assert_eq!(
        filtered["facets"]["attributes"]["material"],
        serde_json::json!([{"value": "canvas", "count": 1}, {"value": "mesh", "count": 1}])
    );
    let plain = app.get_json(&store.host, "/store/products", StatusCode::OK).await;
    assert!(plain.get("facets").is_none(), "facets only on request");
}

#[tokio::test]
async fn every_sort_order_pages_through_all_products_once() {
    let app = spawn_app().await;
    let store = apparel(&app).await;
    for (sort, expected) in [
        ("price_asc", vec!["Wool Beanie", "Leather Wallet", "Canvas Sneakers", "Running Shoes"]),
        ("price_desc", vec!["Running Shoes", "Canvas Sneakers", "Leather Wallet", "Wool Beanie"]),
        ("title", vec!["Canvas Sneakers", "Leather Wallet", "Running Shoes", "Wool Beanie"]),
        ("newest", vec!["Leather Wallet", "Canvas Sneakers", "Wool Beanie", "Running Shoes"]),
    ] {
        let mut seen = Vec::new();
        let mut path = format!("/store/products?sort={sort}&limit=3");
        loop {
            let page = app.get_json(&store.host, &path, StatusCode::OK).await;
            seen.extend(page["items"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/store/products?sort={sort}&limit=3&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, expected, "sort={sort}");
    }
    // Relevance pages too.
    let first = app.get_json(&store.host, "/store/products?q=red&limit=1", StatusCode::OK).await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second =
        app.get_json(&store.host, &format!("/store/products?q=red&limit=1&cursor={cursor}"), StatusCode::OK).await;
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    // A cursor belongs to its sort order.
    let body = app
        .get_json(&store.host, &format!("/store/products?sort=title&cursor={cursor}"), StatusCode::BAD_REQUEST)
        .await;
    assert_eq!(body["errors"][0]["field"], "cursor");
    let body = app.get_json(&store.host, "/store/products?sort=cheapest", StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "sort");
}

#[tokio::test]
async fn autocomplete_suggests_by_prefix_and_despite_typos() {
    let app = spawn_app().await;
    let store = apparel(&app).await;
    assert_eq!(app.titles(&store, "/store/search/suggest?q=Wo").await, ["Wool Beanie"]);
    assert_eq!(app.titles(&store, "/store/search/suggest?q=sneek").await, ["Canvas Sneakers"]);
    assert!(app.titles(&store, "/store/search/suggest?q=hidden").await.is_empty(), "drafts are not suggested");
    let body = app.get_json(&store.host, "/store/search/suggest?q=", StatusCode::BAD_REQUEST).await;
    assert_eq!(body["errors"][0]["field"], "q");
}

#[tokio::test]
async fn categories_are_served_as_a_tree() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let footwear = app.seed_category(&store, "Footwear", None).await;
    app.seed_category(&store, "Trainers", Some(&footwear)).await;
    app.seed_category(&store, "Hats", None).await;
    let list = app.get_json(&store.host, "/store/categories", StatusCode::OK).await;
    let roots: Vec<_> = list["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(roots, ["Footwear", "Hats"]);
    assert_eq!(list["items"][0]["children"][0]["name"], "Trainers");
    assert_eq!(list["items"][0]["children"][0]["parent_id"], footwear.as_str());
    assert_eq!(list["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn another_store_searches_facets_and_suggestions_never_include_this_stores_products() {
    let app = spawn_app().await;
    let a = apparel(&app).await;
    let b = app.create_store("bravo").await;
    let boots = app.seed_product_with(&a, "Winter Boots", Active, 9900, &[]).await;
    let footwear = app.seed_category(&a, "Footwear", None).await;
    app.file_under(&a, &boots, &[&footwear]).await;
    app.seed_collection(&a, "Summer Sale", &[&boots]).await;
    for path in [
        "/store/products?q=shoes",
        "/store/products?q=beenie",
        "/store/products?attr.color=red",
        "/store/products?category=footwear",
        &format!("/store/products?category={footwear}"),
        "/store/products?collection=summer-sale",
        "/store/search/suggest?q=wo",
        "/store/categories",
        "/store/collections",
    ] {
        let list = app.get_json(&b.host, path, StatusCode::OK).await;
        assert_eq!(list["items"], serde_json::json!([]), "{path}: {list}");
        // The owner gets results for the same query, so the empty list above is isolation.
        assert!(!app.get_json(&a.host, path, StatusCode::OK).await["items"].as_array().unwrap().is_empty(), "{path}");
    }
    let facets = app.get_json(&b.host, "/store/products?facets=true", StatusCode::OK).await;
    assert_eq!(facets["facets"]["total"], 0);
    assert_eq!(facets["facets"]["attributes"], serde_json::json!({}));
    app.get_json(&b.host, "/store/collections/summer-sale", StatusCode::NOT_FOUND).await;
}
