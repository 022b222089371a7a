//! Bulk import: CSV and JSON lines, per-row errors, valid rows kept.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_csv_import_keeps_valid_rows_and_reports_each_bad_one_by_row_and_field() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    app.create_product(&store, &staff, "Existing", "EXISTING-1", 100).await;
    let csv = "handle,title,description,status,sku,variant_title,price,compare_at_price,stock,attr:color\n\
               tee,Classic Tee,Soft cotton,active,TEE-S,S,1999,2499,5,black\n\
               tee,,,,TEE-M,M,2099,,7,\n\
               ,Wool Beanie,,active,BEANIE,,2500,,,blue\n\
               ,No Price,,active,NOPRICE,,,,,\n\
               ,Bad Status,,gone,BADSTATUS,,100,,,\n\
               ,Duplicate Sku,,active,TEE-S,,100,,,\n\
               existing,Existing Again,,active,NEW-1,,100,,,\n\
               ,Taken Sku,,active,EXISTING-1,,100,,,\n\
               ,Cheap,,active,CHEAP,,100,50,,\n";
    let report = app.admin_raw(&store, "/admin/products/import", &staff, "text/csv", csv.into(), StatusCode::OK).await;
    assert_eq!(report["imported"], 2, "{report}");
    assert_eq!(report["variants"], 3);
    assert_eq!(
        report["errors"],
        json!([
            {"row": 4, "field": "price", "message": "is required"},
            {"row": 5, "field": "status", "message": "must be draft, active or archived"},
            {"row": 6, "field": "sku", "message": "appears earlier in this file"},
            {"row": 7, "field": "handle", "message": "is already used in this store"},
            {"row": 8, "field": "sku", "message": "is already used in this store"},
            {"row": 9, "field": "compare_at_price", "message": "must not be below the price"},
        ])
    );
    let tee = app.get_json(&store.host, "/store/products/tee", StatusCode::OK).await;
    assert_eq!(tee["attributes"], json!({"color": "black"}));
    let prices: Vec<_> = tee["variants"].as_array().unwrap().iter().map(|v| v["price"]["amount"].clone()).collect();
    assert_eq!(prices, [1999, 2099]);
    let level = app
        .admin(
            "GET",
            &store,
            &format!("/admin/inventory/{}", tee["variants"][1]["id"].as_str().unwrap()),
            &staff,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(level["on_hand"], 7);
    // Imported products are searchable and filterable at once (the cache was dropped).
    assert_eq!(app.titles(&store, "/store/products?q=beanie").await, ["Wool Beanie"]);
    assert_eq!(
        app.titles(&store, "/store/products?sort=price_asc&price_min=1000&price_max=2400").await,
        ["Classic Tee"]
    );
}

#[tokio::test]
async fn a_json_lines_import_reads_one_object_per_line() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let key = app.api_key(&store).await;
    let body = [
        json!({"title": "Rain Jacket", "status": "active", "sku": "RAIN-1", "price": 11900, "attributes": {"color": "yellow"}}),
        json!({"title": "Draft Thing", "sku": "DRAFT-1", "price": 100}),
        json!({"title": "Broken", "sku": "BROKEN-1", "price": "lots"}),
    ]
    .iter()
    .map(|line| line.to_string())
    .chain(["not json".to_owned()])
    .collect::<Vec<_>>()
    .join("\n");
    let report = app
        .admin_raw(&store, "/admin/products/import", &key, "application/x-ndjson", body.into(), StatusCode::OK)
        .await;
    assert_eq!(report["imported"], 2, "{report}");
    let errors: Vec<_> =
        report["errors"].as_array().unwrap().iter().map(|e| (e["row"].clone(), e["field"].clone())).collect();
    assert_eq!(errors, [(json!(3), json!("price")), (json!(4), json!("row"))]);
    assert_eq!(app.titles(&store, "/store/products").await, ["Rain Jacket"], "status defaults to draft");
    assert_eq!(app.titles(&store, "/store/products?attr.color=yellow").await, ["Rain Jacket"]);
}

#[tokio::test]
async fn an_import_of_another_media_type_is_a_415() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let staff = app.staff(&store).await;
    let problem = app
        .admin_raw(
            &store,
            "/admin/products/import",
            &staff,
            "application/json",
            b"[]".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
    assert_eq!(problem["type"], "/problems/unsupported-media-type");
}

#[tokio::test]
async fn the_plans_product_quota_caps_creates_and_imports() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let control = app.state.db.control();
    sqlx::query("insert into control.plan (plan_id, name, requests_per_second, max_products, max_staff) values ('tiny', 'Tiny', 10, 2, 1)")
        .execute(control)
        .await
        .unwrap();
    sqlx::query("update control.tenant set plan = 'tiny' where tenant_id = $1")
        .bind(store.id())
        .execute(control)
        .await
        .unwrap();
    let staff = app.staff(&store).await;
    app.create_product(&store, &staff, "One", "ONE", 100).await;

    let csv = "title,sku,price\nTwo,TWO,100\nThree,THREE,100\n";
    let report = app.admin_raw(&store, "/admin/products/import", &staff, "text/csv", csv.into(), StatusCode::OK).await;
    assert_eq!(report["imported"], 1);
    assert_eq!(
        report["errors"],
        json!([{"row": 2, "field": "handle", "message": "the store's plan allows 2 products"}])
    );

    let body = json!({"title": "Four", "variants": [{"sku": "FOUR", "price": {"amount": 1, "currency": "USD"}}]});
    let problem = app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "/problems/quota-exceeded");
    assert_eq!(problem["limit"], 2);
}
