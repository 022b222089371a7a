//! Merchant catalog endpoints: shapes, validation, conflicts, trees, collections.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Auth};

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn creating_a_product_answers_201_in_the_contract_shape_and_shoppers_see_it() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let body = json!({
        "title": "Classic Tee",
        "status": "active",
        "description": "Soft cotton",
        "attributes": {"material": "cotton"},
        "options": [{"name": "Size", "values": ["S", "M"]}],
        "variants": [
            {"sku": "TEE-S", "title": "S", "price": {"amount": 1999, "currency": "USD"}, "stock": 10,
             "options": {"Size": "S"}, "compare_at_price": {"amount": 2499, "currency": "USD"},
             "weight_grams": 180, "barcode": "0123456789012"},
            {"sku": "TEE-M", "price": {"amount": 2199, "currency": "USD"}, "options": {"Size": "M"}}
        ]
    });
    let product = app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::CREATED).await;
    assert_eq!(product["handle"], "classic-tee");
    assert_eq!(product["variants"][0]["sku"], "TEE-S");
    assert_eq!(product["variants"][0]["price"], json!({"amount": 1999, "currency": "USD"}));
    assert_eq!(product["variants"][0]["compare_at_price"], json!({"amount": 2499, "currency": "USD"}));
    assert_eq!(product["variants"][0]["weight_grams"], 180);
    assert_eq!(product["variants"][1]["title"], "Default");
    assert_eq!(product["options"], json!([{"name": "Size", "values": ["S", "M"]}]));
    assert!(product["id"].as_str().is_some() && product["variants"][0]["id"].as_str().is_some());

    let variant = product["variants"][0]["id"].as_str().unwrap();
    let level = app.admin("GET", &store, &format!("/admin/inventory/{variant}"), &staff, None, StatusCode::OK).await;
    assert_eq!(level, json!({"variant_id": variant, "on_hand": 10, "reserved": 0, "available": 10}));

    let shown = app.get_json(&store.host, "/store/products/classic-tee", StatusCode::OK).await;
    assert_eq!(shown["id"], product["id"]);
    // An API key of the store works like a staff token.
    let key = app.api_key(&store).await;
    app.create_product(&store, &key, "Mug", "MUG-1", 900).await;
}

#[tokio::test]
async fn every_invalid_field_is_named_in_a_422_problem() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let body = json!({
        "title": " ",
        "handle": "Not A Handle",
        "status": "published",
        "attributes": {"": "x"},
        "variants": [
            {"sku": "has space", "price": {"amount": -1, "currency": "EUR"}, "stock": -5},
            {"sku": "OK-1", "price": {"amount": 500, "currency": "USD"},
             "compare_at_price": {"amount": 400, "currency": "USD"}, "options": {"Colour": "red"}}
        ],
        "category_ids": ["nope"]
    });
    let problem =
        app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["type"], "/problems/validation");
    let named = fields(&problem);
    for field in [
        "title",
        "handle",
        "status",
        "attributes",
        "variants[0].sku",
        "variants[0].price.amount",
        "variants[0].price.currency",
        "variants[0].stock",
        "variants[1].compare_at_price.amount",
        "category_ids[0]",
    ] {
        assert!(named.contains(&field.to_owned()), "{field} not in {named:?}");
    }
    // Type errors name the field too, through the JSON extractor.
    let body = json!({"title": "T", "variants": [{"sku": "A", "price": {"amount": "ten", "currency": "USD"}}]});
    let problem =
        app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&problem), ["variants[0].price.amount"]);
    let body = json!({"title": "T", "variants": []});
    let problem =
        app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&problem), ["variants"]);
    // Option values must be the product's.
    let body = json!({"title": "T", "options": [{"name": "Size", "values": ["S"]}],
                      "variants": [{"sku": "A", "price": {"amount": 1, "currency": "USD"}, "options": {"Size": "XL"}}]});
    let problem =
        app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&problem), ["variants[0].options.Size"]);
    let list = app.admin("GET", &store, "/admin/products", &staff, None, StatusCode::OK).await;
    assert_eq!(list["items"], json!([]), "nothing was written");
}

#[tokio::test]
async fn duplicate_handles_and_skus_are_409s_and_write_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    app.create_product(&store, &staff, "Tee", "TEE-1", 100).await;

    let problem = app
        .admin(
            "POST",
            &store,
            "/admin/products",
            &staff,
            Some(json!({"title": "Tee", "variants": [{"sku": "NEW-1", "price": {"amount": 1, "currency": "USD"}}]})),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(problem["type"], "/problems/handle-taken");
    assert_eq!(fields(&problem), ["handle"]);

    // The second variant's SKU clashes: the product and its first variant are not kept either.
    let body = json!({"title": "Other", "variants": [
        {"sku": "OTHER-1", "price": {"amount": 1, "currency": "USD"}},
        {"sku": "TEE-1", "price": {"amount": 1, "currency": "USD"}}]});
    let problem = app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "/problems/sku-taken");
    let list = app.admin("GET", &store, "/admin/products", &staff, None, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Another store may use the same handle and SKU.
    let other = app.create_store("bravo").await;
    let other_staff = app.staff(&other).await;
    app.create_product(&other, &other_staff, "Tee", "TEE-1", 100).await;
}

#[tokio::test]
async fn patching_a_product_changes_what_shoppers_see_at_once() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let product = app.create_product(&store, &staff, "Tee", "TEE-1", 100).await;
    let id = product["id"].as_str().unwrap();
    // Warm the storefront cache.
    assert_eq!(app.titles(&store, "/store/products").await, ["Tee"]);
    app.get_json(&store.host, "/store/products/tee", StatusCode::OK).await;

    let path = format!("/admin/products/{id}");
    let body =
        json!({"title": "Better Tee", "handle": "better-tee", "description": null, "attributes": {"fit": "slim"}});
    let patched = app.admin("PATCH", &store, &path, &staff, Some(body), StatusCode::OK).await;
    assert_eq!((patched["title"].as_str(), patched["description"].as_str()), (Some("Better Tee"), None));
    assert_eq!(app.titles(&store, "/store/products").await, ["Better Tee"]);
    app.get_json(&store.host, "/store/products/tee", StatusCode::NOT_FOUND).await;
    assert_eq!(app.titles(&store, "/store/products?attr.fit=slim").await, ["Better Tee"]);

    app.admin("PATCH", &store, &path, &staff, Some(json!({"status": "archived"})), StatusCode::OK).await;
    assert!(app.titles(&store, "/store/products").await.is_empty());
    app.get_json(&store.host, &format!("/store/products/{id}"), StatusCode::NOT_FOUND).await;
    let problem = app
        .admin("PATCH", &store, &path, &staff, Some(json!({"status": "gone"})), StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(fields(&problem), ["status"]);

    app.admin("DELETE", &store, &path, &staff, None, StatusCode::NO_CONTENT).await;
    app.admin("GET", &store, &path, &staff, None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn variants_are_added_changed_and_removed_but_the_last_one_stays() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let product = app.create_product(&store, &staff, "Tee", "TEE-1", 1000).await;
    let id = product["id"].as_str().unwrap();
    let first = product["variants"][0]["id"].as_str().unwrap().to_owned();

    let body = json!({"sku": "TEE-2", "price": {"amount": 500, "currency": "USD"}, "stock": 3});
    let product = app
        .admin("POST", &store, &format!("/admin/products/{id}/variants"), &staff, Some(body), StatusCode::CREATED)
        .await;
    let second = product["variants"][1]["id"].as_str().unwrap().to_owned();
    // The storefront's price sort and filter follow the cheapest variant.
    assert_eq!(app.titles(&store, "/store/products?price_max=600").await, ["Tee"]);

    let path = format!("/admin/products/{id}/variants/{second}");
    let problem = app
        .admin(
            "PATCH",
            &store,
            &path,
            &staff,
            Some(json!({"compare_at_price": {"amount": 100, "currency": "USD"}})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&problem), ["compare_at_price.amount"]);
    let problem = app.admin("PATCH", &store, &path, &staff, Some(json!({"sku": "TEE-1"})), StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "/problems/sku-taken");
    let product = app
        .admin(
            "PATCH",
            &store,
            &path,
            &staff,
            Some(json!({"price": {"amount": 700, "currency": "USD"}, "barcode": "123"})),
            StatusCode::OK,
        )
        .await;
    assert_eq!(product["variants"][1]["price"]["amount"], 700);
    assert!(app.titles(&store, "/store/products?price_max=600").await.is_empty());

    app.admin("DELETE", &store, &path, &staff, None, StatusCode::NO_CONTENT).await;
    app.admin("GET", &store, &format!("/admin/inventory/{second}"), &staff, None, StatusCode::NOT_FOUND).await;
    let last = format!("/admin/products/{id}/variants/{first}");
    let problem = app.admin("DELETE", &store, &last, &staff, None, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "/problems/last-variant");
    let product = app.admin("GET", &store, &format!("/admin/products/{id}"), &staff, None, StatusCode::OK).await;
    assert_eq!(product["variants"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn categories_form_a_tree_that_refuses_cycles_and_orphans() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let post = |body: Value| app.admin("POST", &store, "/admin/categories", &staff, Some(body), StatusCode::CREATED);
    let clothing = post(json!({"name": "Clothing"})).await;
    let clothing_id = clothing["id"].as_str().unwrap();
    let tops = post(json!({"name": "Tops", "parent_id": clothing_id})).await;
    let tops_id = tops["id"].as_str().unwrap();
    let tees = post(json!({"name": "Tees", "parent_id": tops_id})).await;

    let problem = app
        .admin(
            "PATCH",
            &store,
            &format!("/admin/categories/{clothing_id}"),
            &staff,
            Some(json!({"parent_id": tees["id"]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&problem), ["parent_id"]);
    let problem = app
        .admin("POST", &store, "/admin/categories", &staff, Some(json!({"name": "Clothing"})), StatusCode::CONFLICT)
        .await;
    assert_eq!(fields(&problem), ["handle"]);
    let problem = app
        .admin(
            "POST",
            &store,
            "/admin/categories",
            &staff,
            Some(json!({"name": "X", "parent_id": uuid::Uuid::now_v7()})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&problem), ["parent_id"]);
    let problem =
        app.admin("DELETE", &store, &format!("/admin/categories/{tops_id}"), &staff, None, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "/problems/category-has-children");

    // Move Tees to the root, then Tops (now childless) can go.
    app.admin(
        "PATCH",
        &store,
        &format!("/admin/categories/{}", tees["id"].as_str().unwrap()),
        &staff,
        Some(json!({"parent_id": null})),
        StatusCode::OK,
    )
    .await;
    app.admin("DELETE", &store, &format!("/admin/categories/{tops_id}"), &staff, None, StatusCode::NO_CONTENT).await;
    let tree = app.get_json(&store.host, "/store/categories", StatusCode::OK).await;
    let roots: Vec<_> = tree["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(roots, ["Clothing", "Tees"]);

    // Products are filed under categories by id; another id is a 422.
    let body = json!({"title": "Tee", "status": "active", "category_ids": [tees["id"]],
                      "variants": [{"sku": "T", "price": {"amount": 1, "currency": "USD"}}]});
    app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::CREATED).await;
    assert_eq!(app.titles(&store, "/store/products?category=tees").await, ["Tee"]);
    let body = json!({"title": "Cap", "category_ids": [uuid::Uuid::now_v7()],
                      "variants": [{"sku": "C", "price": {"amount": 1, "currency": "USD"}}]});
    let problem =
        app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&problem), ["category_ids"]);
}

#[tokio::test]
async fn collections_hold_products_in_order_and_shoppers_see_only_active_ones() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let tee = app.create_product(&store, &staff, "Tee", "TEE", 100).await;
    let body = json!({"title": "Draft Cap", "status": "draft", "variants": [{"sku": "CAP", "price": {"amount": 1, "currency": "USD"}}]});
    let cap = app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::CREATED).await;

    let body = json!({"title": "Summer", "product_ids": [cap["id"], tee["id"]]});
    let summer = app.admin("POST", &store, "/admin/collections", &staff, Some(body), StatusCode::CREATED).await;
    assert_eq!(summer["product_ids"], json!([cap["id"], tee["id"]]));
    let shown = app.get_json(&store.host, "/store/collections/summer", StatusCode::OK).await;
    assert_eq!(shown["product_ids"], json!([tee["id"]]));
    assert_eq!(app.titles(&store, "/store/products?collection=summer").await, ["Tee"]);

    let path = format!("/admin/collections/{}", summer["id"].as_str().unwrap());
    let problem = app
        .admin(
            "PUT",
            &store,
            &path,
            &staff,
            Some(json!({"title": "Summer", "product_ids": [uuid::Uuid::now_v7()]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(fields(&problem), ["product_ids"]);
    app.admin(
        "PUT",
        &store,
        &path,
        &staff,
        Some(json!({"title": "Summer Sale", "handle": "summer-sale", "product_ids": []})),
        StatusCode::OK,
    )
    .await;
    app.get_json(&store.host, "/store/collections/summer", StatusCode::NOT_FOUND).await;
    assert_eq!(
        app.get_json(&store.host, "/store/collections/summer-sale", StatusCode::OK).await["product_ids"],
        json!([])
    );
    app.admin("DELETE", &store, &path, &staff, None, StatusCode::NO_CONTENT).await;
    app.admin("GET", &store, &path, &staff, None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn inventory_levels_are_set_and_read_and_never_drop_below_reserved() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let product = app.create_product(&store, &staff, "Tee", "TEE", 100).await;
    let variant = product["variants"][0]["id"].as_str().unwrap();
    let path = format!("/admin/inventory/{variant}");

    let level = app.admin("PUT", &store, &path, &staff, Some(json!({"on_hand": 100})), StatusCode::OK).await;
    assert_eq!(level, json!({"variant_id": variant, "on_hand": 100, "reserved": 0, "available": 100}));
    // A checkout holds 30 (the checkout context will do this through the inventory service).
    let mut tx = app.tenant_tx(&store).await;
    sqlx::query("update inventory_level set reserved = 30 where variant_id = $1")
        .bind(uuid::Uuid::parse_str(variant).unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let level = app.admin("GET", &store, &path, &staff, None, StatusCode::OK).await;
    assert_eq!((level["reserved"].as_i64(), level["available"].as_i64()), (Some(30), Some(70)));

    let problem = app.admin("PUT", &store, &path, &staff, Some(json!({"on_hand": 10})), StatusCode::CONFLICT).await;
    assert_eq!(fields(&problem), ["on_hand"]);
    let problem =
        app.admin("PUT", &store, &path, &staff, Some(json!({"on_hand": -1})), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&problem), ["on_hand"]);
    let problem = app.admin("PUT", &store, &path, &staff, Some(json!({})), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&problem), ["on_hand"]);
    app.admin("GET", &store, "/admin/inventory/not-an-id", &staff, None, StatusCode::NOT_FOUND).await;
    app.admin(
        "GET",
        &store,
        &format!("/admin/inventory/{}", uuid::Uuid::now_v7()),
        &staff,
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn admin_routes_refuse_missing_or_forged_credentials_and_scopes() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let problem = app.admin("GET", &store, "/admin/products", &Auth::None, None, StatusCode::UNAUTHORIZED).await;
    assert_eq!(problem["status"], 401);
    app.admin("GET", &store, "/admin/products", &Auth::Staff("not.a.jwt".into()), None, StatusCode::UNAUTHORIZED).await;
    app.admin("GET", &store, "/admin/products", &Auth::Key("ck_forged".into()), None, StatusCode::UNAUTHORIZED).await;
    let read_only = Auth::Key(platform::testkit::api_key(app.state.db.control(), store.id(), &["catalog:read"]).await);
    app.admin("GET", &store, "/admin/products", &read_only, None, StatusCode::OK).await;
    let body = json!({"title": "T", "variants": [{"sku": "T", "price": {"amount": 1, "currency": "USD"}}]});
    app.admin("POST", &store, "/admin/products", &read_only, Some(body), StatusCode::FORBIDDEN).await;
}
