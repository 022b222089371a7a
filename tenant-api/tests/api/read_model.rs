//! The storefront read model: stored JSON answers exactly the bytes the live
//! render does, for lists (filters, sorts, pages) and details; stale rows are
//! rendered from the tables; the backfill fills them; and one store's model is
//! never another's.

use platform::db::{TenantCall, TenantRead};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tenant_api::catalog::{model::ProductStatus, service};

use crate::helpers::{spawn_app, TestApp, TestStore};

/// Every storefront product read of the shapes the read model serves.
async fn paths(app: &TestApp, store: &TestStore, product: &Value, category: &str, collection: &str) -> Vec<String> {
    let id = product["id"].as_str().unwrap();
    let handle = product["handle"].as_str().unwrap();
    let mut paths = vec![
        "/store/products".to_owned(),
        format!("/store/products/{id}"),
        format!("/store/products/{handle}"),
        format!("/store/products?category={category}"),
        "/store/products?category=hats".to_owned(),
        "/store/products?category=no-such-category".to_owned(),
        format!("/store/products?collection={collection}&sort=title"),
        "/store/products?price_min=1500&price_max=3000&sort=price_desc".to_owned(),
        "/store/products?attr.color=red&attr.color=blue".to_owned(),
    ];
    // Every page of every sort, unfiltered and filtered, following the cursors.
    let filters =
        ["".to_owned(), "category=hats&".to_owned(), format!("collection={collection}&"), "price_min=1100&".to_owned()];
    for filter in &filters {
        for sort in ["newest", "price_asc", "price_desc", "title"] {
            let mut path = format!("/store/products?{filter}sort={sort}&limit=1");
            loop {
                paths.push(path.clone());
                let page = app.get_json(&store.host, &path, StatusCode::OK).await;
                let Some(cursor) = page["next_cursor"].as_str() else { break };
                path = format!("/store/products?{filter}sort={sort}&limit=1&cursor={cursor}");
            }
        }
    }
    paths
}

async fn bodies(app: &TestApp, store: &TestStore, paths: &[String]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for path in paths {
        // Past the response cache: every read is the database's.
        app.state.storefront_cache.forget(store.id());
        let response = app.get(&store.host, path).await;
        out.push((response.status().as_u16(), response.bytes().await.unwrap().to_vec()));
    }
    out
}

/// Marks every product of the store stale, as before the backfill.
async fn forget_models(app: &TestApp, store: &TestStore) -> u64 {
    let mut tx = app.tenant_tx(store).await;
    let done = sqlx::query("update product set storefront_json = null, storefront_version = null")
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    tx.commit().await.unwrap();
    done
}

/// Marks one product stale: its pages mix stored JSON with a live render.
async fn forget_model(app: &TestApp, store: &TestStore, product: &Value) {
    let id: uuid::Uuid = product["id"].as_str().unwrap().parse().unwrap();
    let mut tx = app.tenant_tx(store).await;
    let done =
        sqlx::query("update product set storefront_json = null, storefront_version = null where product_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
    tx.commit().await.unwrap();
    assert_eq!(done, 1);
}

async fn rendered_count(app: &TestApp, store: &TestStore) -> i64 {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar(
        "select count(*) from product where storefront_json is not null and storefront_version is not null",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap()
}

/// A catalog with options and variants, categories, a collection, attributes,
/// text that needs escaping, a draft, and a product with a ready image.
async fn catalog(app: &TestApp, store: &TestStore) -> (Value, String, String) {
    let staff = app.staff(store).await;
    let hats = app.seed_category(store, "Hats", None).await;
    let caps = app.seed_category(store, "Caps", Some(&hats)).await;
    let variants: Vec<Value> = ["S", "M", "L", "XL"]
        .iter()
        .enumerate()
        .map(|(n, size)| {
            json!({
                "sku": format!("TEE-{size}"), "title": size, "options": {"Size": size},
                "price": {"amount": 1500 + n as i64 * 100, "currency": "USD"}, "stock": 5,
            })
        })
        .collect();
    let tee = app
        .admin(
            "POST",
            store,
            "/admin/products",
            &staff,
            Some(json!({
                "title": "Widget tee \"quoted\" \\ back ✓", "status": "active", "description": "Line\nbreak\t<b>",
                "attributes": {"color": "red"},
                "options": [{"name": "Size", "values": ["S", "M", "L", "XL"]}],
                "category_ids": [caps],
                "variants": variants,
            })),
            StatusCode::CREATED,
        )
        .await;
    let mut seeded = vec![tee.clone()];
    for (n, (title, color)) in
        [("Widget cap", "blue"), ("Widget mug", "green"), ("Widget bag", "red")].iter().enumerate()
    {
        let product = app
            .seed_product_with(store, title, ProductStatus::Active, 1000 + n as i64 * 1000, &[("color", color)])
            .await;
        seeded.push(product);
    }
    app.file_under(store, &seeded[1], &[&hats]).await;
    app.seed_product(store, "Widget draft", ProductStatus::Draft, 900).await;
    // A ready image on the mug, through the local upload path.
    let mug = seeded[2]["id"].as_str().unwrap();
    let media = app
        .admin(
            "POST",
            store,
            &format!("/admin/products/{mug}/media"),
            &staff,
            Some(json!({"content_type": "image/png", "byte_size": 3, "alt": "Mug \"front\""})),
            StatusCode::CREATED,
        )
        .await;
    let url = media["upload"]["url"].as_str().unwrap();
    let path = &url[url.find("/media/").unwrap()..];
    let put = app
        .client
        .put(format!("{}{path}", app.address))
        .header("host", &store.host)
        .header("content-type", "image/png")
        .body(b"png".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let collection = app.seed_collection(store, "Summer", &[&seeded[1], &seeded[3]]).await;
    (tee, caps, collection)
}

#[tokio::test]
async fn stored_storefront_json_answers_the_bytes_of_the_live_render_and_the_backfill_restores_it() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let (tee, caps, collection) = catalog(&app, &store).await;
    let paths = paths(&app, &store, &tee, &caps, &collection).await;
    assert_eq!(rendered_count(&app, &store).await, 5, "every write rendered its product");

    let from_model = bodies(&app, &store, &paths).await;
    let shown: Value = serde_json::from_slice(&from_model[2].1).unwrap();
    assert_eq!(shown["variants"].as_array().unwrap().len(), 4);
    let list: Value = serde_json::from_slice(&from_model[0].1).unwrap();
    let mug = list["items"].as_array().unwrap().iter().find(|p| p["title"] == "Widget mug").unwrap();
    assert!(mug["media"][0]["url"].as_str().unwrap().starts_with("/media/"), "{mug}");
    assert_eq!(list["items"].as_array().unwrap().len(), 4, "the draft is not listed");

    // One product rendered from its tables among stored ones, in its place:
    // the second of the newest four, between two stored documents.
    forget_model(&app, &store, &list["items"][1]).await;
    assert_eq!(rendered_count(&app, &store).await, 4);
    assert_eq!(bodies(&app, &store, &paths).await, from_model, "a page of stored and live products");

    // The same reads rendered from the tables (the old path's serializer).
    assert_eq!(forget_models(&app, &store).await, 5);
    let live = bodies(&app, &store, &paths).await;
    for ((path, a), b) in paths.iter().zip(&from_model).zip(&live) {
        assert_eq!(a.0, b.0, "{path}");
        assert_eq!(String::from_utf8_lossy(&a.1), String::from_utf8_lossy(&b.1), "{path}");
    }

    // A search (the query-built path, serde end to end) lists the same bytes.
    for sort in ["newest", "price_asc", "title"] {
        let searched = app.get(&store.host, &format!("/store/products?q=widget&sort={sort}&limit=2")).await;
        let listed = app.get(&store.host, &format!("/store/products?sort={sort}&limit=2")).await;
        assert_eq!(searched.bytes().await.unwrap(), listed.bytes().await.unwrap(), "sort {sort}");
    }

    let done = service::backfill_storefront(&app.state.db).await.unwrap();
    assert!(done >= 5, "backfilled {done}");
    assert_eq!(rendered_count(&app, &store).await, 5);
    assert_eq!(bodies(&app, &store, &paths).await, from_model);
}

/// The short names of a filtered list's products, page by page (`limit=1`,
/// following the cursors), from the database every time.
async fn walk(app: &TestApp, store: &TestStore, query: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut path = format!("/store/products?{query}&limit=1");
    loop {
        app.state.storefront_cache.forget(store.id());
        let page = app.get_json(&store.host, &path, StatusCode::OK).await;
        for item in page["items"].as_array().unwrap() {
            names.push(item["title"].as_str().unwrap().split(' ').nth(1).unwrap().to_owned());
        }
        let Some(cursor) = page["next_cursor"].as_str() else { break };
        path = format!("/store/products?{query}&limit=1&cursor={cursor}");
    }
    names
}

#[tokio::test]
async fn filtered_lists_page_through_exactly_their_products_in_every_order_and_never_anothers_stores() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let (_, caps, collection) = catalog(&app, &store).await;
    // hats: the tee (under its child caps) and the cap; the collection: the
    // cap and the bag; prices: cap 1000, tee 1500, mug 2000, bag 3000.
    let expected: [(String, [&[&str]; 4]); 7] = [
        ("category=hats".to_owned(), [&["cap", "tee"], &["cap", "tee"], &["tee", "cap"], &["cap", "tee"]]),
        (format!("category={caps}"), [&["tee"], &["tee"], &["tee"], &["tee"]]),
        (format!("collection={collection}"), [&["bag", "cap"], &["cap", "bag"], &["bag", "cap"], &["bag", "cap"]]),
        (
            "price_min=1100".to_owned(),
            [&["bag", "mug", "tee"], &["tee", "mug", "bag"], &["bag", "mug", "tee"], &["bag", "mug", "tee"]],
        ),
        ("category=hats&price_max=1200".to_owned(), [&["cap"], &["cap"], &["cap"], &["cap"]]),
        ("collection=summer&price_min=2000&price_max=3000".to_owned(), [&["bag"], &["bag"], &["bag"], &["bag"]]),
        // An attribute filter takes the per-request statement, subtree and all.
        ("category=hats&attr.color=red".to_owned(), [&["tee"], &["tee"], &["tee"], &["tee"]]),
    ];
    for (filter, orders) in &expected {
        for (sort, names) in ["newest", "price_asc", "price_desc", "title"].iter().zip(orders) {
            assert_eq!(walk(&app, &store, &format!("{filter}&sort={sort}")).await, *names, "{filter}, {sort}");
        }
    }
    // One category of three (no subcategories): the newest and price orders
    // read its members only (storefront_docs_filtered's member paths).
    let tree = app.get_json(&store.host, "/store/categories", StatusCode::OK).await;
    let hats = tree["items"].as_array().unwrap().iter().find(|c| c["handle"] == "hats").unwrap()["id"].clone();
    let kitchen = app.seed_category(&store, "Kitchen", None).await;
    let listed = app.get_json(&store.host, "/store/products?limit=100", StatusCode::OK).await;
    for item in listed["items"].as_array().unwrap() {
        match item["title"].as_str().unwrap() {
            "Widget mug" | "Widget bag" => app.file_under(&store, item, &[&kitchen]).await,
            "Widget cap" => app.file_under(&store, item, &[hats.as_str().unwrap(), &kitchen]).await,
            _ => {}
        }
    }
    let orders: [(&str, &[&str]); 5] = [
        ("sort=newest", &["bag", "mug", "cap"]),
        ("sort=price_asc", &["cap", "mug", "bag"]),
        ("sort=price_desc", &["bag", "mug", "cap"]),
        ("sort=title", &["bag", "cap", "mug"]),
        ("sort=price_asc&price_min=1500", &["mug", "bag"]),
    ];
    for (order, names) in orders {
        assert_eq!(walk(&app, &store, &format!("category=kitchen&{order}")).await, names, "kitchen, {order}");
    }
    assert_eq!(walk(&app, &store, "category=hats&sort=price_asc").await, ["cap", "tee"], "the cap is still a hat");
    // A product filed under a category and under its subcategory is listed
    // once, whether the page names the category by handle or by id.
    let tee =
        listed["items"].as_array().unwrap().iter().find(|i| i["title"].as_str().unwrap().starts_with("Widget tee"));
    app.file_under(&store, tee.unwrap(), &[&caps, hats.as_str().unwrap()]).await;
    for hats in ["hats", hats.as_str().unwrap()] {
        for sort in ["newest", "price_asc", "title"] {
            let names = walk(&app, &store, &format!("category={hats}&sort={sort}")).await;
            assert_eq!(names, ["cap", "tee"], "{hats}, {sort}");
        }
    }

    for nothing in
        ["category=no-such-category", "collection=no-such-collection", "category=hats&collection=summer&price_min=5000"]
    {
        assert!(walk(&app, &store, nothing).await.is_empty(), "{nothing}");
    }

    // Another store naming this store's category and collection, by id and
    // by handle, lists nothing of this store's.
    let bravo = app.create_store("bravo").await;
    app.seed_category(&bravo, "Hats", None).await;
    app.seed_product(&bravo, "Bravo widget", ProductStatus::Active, 100).await;
    for filter in [
        format!("category={caps}"),
        "category=caps".to_owned(),
        format!("collection={collection}"),
        "collection=summer".to_owned(),
    ] {
        for sort in ["newest", "price_asc", "price_desc", "title"] {
            let names = walk(&app, &bravo, &format!("{filter}&sort={sort}")).await;
            assert!(names.is_empty(), "{filter}, {sort}: {names:?}");
        }
    }
    assert_eq!(walk(&app, &bravo, "price_min=0&sort=title").await, ["widget"], "bravo's own product only");
}

#[tokio::test]
async fn a_write_behind_the_catalogs_back_is_never_hidden_by_the_stored_json() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let product = app.seed_product(&store, "Widget cap", ProductStatus::Active, 1000).await;
    let path = format!("/store/products/{}", product["handle"].as_str().unwrap());
    let mut tx = app.tenant_tx(&store).await;
    sqlx::query("update product set title = 'Renamed'").execute(&mut *tx).await.unwrap();
    sqlx::query("update product_variant set price_amount = 777").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    app.state.storefront_cache.forget(store.id());
    let shown = app.get_json(&store.host, &path, StatusCode::OK).await;
    assert_eq!(shown["title"], "Renamed");
    assert_eq!(shown["variants"][0]["price"]["amount"], 777);
    // A variant added through the API renders again at once.
    let staff = app.staff(&store).await;
    let id = product["id"].as_str().unwrap();
    app.admin(
        "POST",
        &store,
        &format!("/admin/products/{id}/variants"),
        &staff,
        Some(json!({"sku": "CAP-2", "price": {"amount": 1200, "currency": "USD"}})),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(rendered_count(&app, &store).await, 1);
    let shown = app.get_json(&store.host, &path, StatusCode::OK).await;
    assert_eq!(shown["variants"].as_array().unwrap().len(), 2);
    // Deleting a category renders its products again without it.
    let hats = app.seed_category(&store, "Hats", None).await;
    app.file_under(&store, &product, &[&hats]).await;
    app.state.storefront_cache.forget(store.id());
    assert_eq!(app.get_json(&store.host, &path, StatusCode::OK).await["category_ids"], json!([hats]));
    app.admin("DELETE", &store, &format!("/admin/categories/{hats}"), &staff, None, StatusCode::NO_CONTENT).await;
    assert_eq!(rendered_count(&app, &store).await, 1);
    assert_eq!(app.get_json(&store.host, &path, StatusCode::OK).await["category_ids"], json!([]));
}

#[tokio::test]
async fn one_stores_read_model_is_never_anothers() {
    let app = spawn_app().await;
    let alpha = app.create_store("alpha").await;
    let bravo = app.create_store("bravo").await;
    let secret = app.seed_product(&alpha, "Secret widget", ProductStatus::Active, 4200).await;
    app.seed_product(&bravo, "Bravo widget", ProductStatus::Active, 100).await;

    // Over HTTP: by id, by handle, in lists, and with quotes meant to end the literal.
    for path in [
        format!("/store/products/{}", secret["id"].as_str().unwrap()),
        format!("/store/products/{}", secret["handle"].as_str().unwrap()),
        "/store/products/x'%20or%20true%20or%20'a".to_owned(),
        "/store/products/x%5C'%20or%20true--".to_owned(),
    ] {
        let problem = app.get_json(&bravo.host, &path, StatusCode::NOT_FOUND).await;
        assert!(!problem.to_string().contains("Secret"), "{path}: {problem}");
    }
    let list = app.get_json(&bravo.host, "/store/products?limit=100&category=x'%20or%20'1'='1", StatusCode::OK).await;
    assert_eq!(list["items"], json!([]));
    let list = app.get_json(&bravo.host, "/store/products?limit=100", StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("Secret"));

    // In SQL: the one-round-trip read sees its own store's rows only, even
    // when it asks for every row of the table.
    let rows =
        app.state.db.tenant_read(&bravo.tenant, TenantRead::new("select storefront_json from product")).await.unwrap();
    assert_eq!(rows.len(), 1);
    let mut read = TenantRead::new("select count(*) from product where title = ");
    read.text("Secret widget").unwrap();
    let rows = app.state.db.tenant_read(&bravo.tenant, read).await.unwrap();
    assert_eq!(sqlx::Row::try_get::<i64, _>(&rows[0], 0).unwrap(), 0);
    // Writes are refused by the same policy: the statement is not the
    // tenant's own, and the context ends with it.
    let rows = app
        .state
        .db
        .tenant_read(&alpha.tenant, TenantRead::new("select current_setting('app.tenant_id', true)"))
        .await
        .unwrap();
    assert_eq!(sqlx::Row::try_get::<String, _>(&rows[0], 0).unwrap(), alpha.id().to_string());
    let pool = app.state.db.cell("default").await.unwrap();
    let left: Option<String> =
        sqlx::query_scalar("select nullif(current_setting('app.tenant_id', true), '')").fetch_one(&pool).await.unwrap();
    assert_eq!(left, None, "the context does not outlive the read");

    // The prepared calls (`Db::tenant_call`): another store's product by id
    // is not found; a statement that forgets its tenant, or names another
    // store's, still reads the calling store's rows only (the lane is
    // app_tenant and row-level security is forced); a list holds the
    // calling store's rows only, in every order; and on a pool connection,
    // the role and the context are not the calls'.
    let secret_id = uuid::Uuid::parse_str(secret["id"].as_str().unwrap()).unwrap();
    let by_id = || {
        TenantCall::statement("select p.title from product p where p.tenant_id = ctx.tenant_id and p.product_id = $1")
            .arg(secret_id)
            .unwrap()
    };
    assert!(app.state.db.tenant_call(&bravo.tenant, by_id()).await.unwrap().is_empty());
    assert_eq!(app.state.db.tenant_call(&alpha.tenant, by_id()).await.unwrap().len(), 1);
    let titles = |rows: Vec<sqlx::postgres::PgRow>| -> Vec<String> {
        rows.iter().map(|row| sqlx::Row::try_get::<String, _>(row, 0).unwrap()).collect()
    };
    let careless = TenantCall::statement("select title from product order by title");
    assert_eq!(titles(app.state.db.tenant_call(&bravo.tenant, careless).await.unwrap()), ["Bravo widget"]);
    let trespassing = TenantCall::statement("select title from product where tenant_id = $1").arg(alpha.id().as_uuid());
    assert!(app.state.db.tenant_call(&bravo.tenant, trespassing.unwrap()).await.unwrap().is_empty());
    for sort in ["newest", "price_asc", "price_desc", "title"] {
        let path = format!("/store/products?sort={sort}&limit=100");
        assert_eq!(
            app.titles(&bravo, &path).await,
            ["Bravo widget"],
            "{sort}: bravo's list holds bravo's products only"
        );
    }
    let mut conn = pool.acquire().await.unwrap();
    let (user, context): (String, Option<String>) =
        sqlx::query_as("select current_user::text, nullif(current_setting('app.tenant_id', true), '')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_ne!(user, "app_tenant", "the role ends with the call");
    assert_eq!(context, None, "the context ends with the call");
}

/// A call lane's connection is app_tenant on generic plans for its life
/// (with custom plans, a store of a few hundred products made PostgreSQL
/// plan the list again on every call: BENCHMARKS.md, round seven), the
/// context is the call's own, and a lane whose call fails is closed rather
/// than handed back to the pool, whose connections keep the login role.
#[tokio::test]
async fn call_lanes_are_the_tenant_role_on_generic_plans_and_never_go_back_to_the_pool() {
    let app = spawn_app().await;
    let store = app.create_store("plans").await;
    let db = &app.state.db;
    let session = TenantCall::statement(
        "select current_user::text, current_setting('plan_cache_mode'), current_setting('app.tenant_id'), \
         pg_backend_pid()",
    );
    let rows = db.tenant_call(&store.tenant, session).await.unwrap();
    let (user, plans, tenant, lane): (String, String, String, i32) = sqlx::FromRow::from_row(&rows[0]).unwrap();
    assert_eq!((user.as_str(), plans.as_str()), ("app_tenant", "force_generic_plan"));
    assert_eq!(tenant, store.id().to_string());

    let failing = TenantCall::statement("select 1 / (ctx.tenant_id is null)::int");
    assert!(db.tenant_call(&store.tenant, failing).await.is_err());
    let pool = db.cell("default").await.unwrap();
    let mut gone = false;
    for _ in 0..50 {
        let alive: bool = sqlx::query_scalar("select exists (select 1 from pg_stat_activity where pid = $1)")
            .bind(lane)
            .fetch_one(&pool)
            .await
            .unwrap();
        if !alive {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the failed lane's connection is closed");
    let user: String = sqlx::query_scalar("select current_user::text").fetch_one(&pool).await.unwrap();
    assert_ne!(user, "app_tenant", "the pool's connections keep the login role");
    // The next call takes a fresh lane, set up the same way.
    let rows = db.tenant_call(&store.tenant, TenantCall::statement("select current_user::text")).await.unwrap();
    assert_eq!(sqlx::Row::try_get::<String, _>(&rows[0], 0).unwrap(), "app_tenant");
}

/// Prepared calls run on connections held out of the pool (`Db::tenant_call`'s
/// lanes, no release ping): one killed under a lane is dropped by the call
/// that finds it broken and replaced by the next, and closing the database
/// gives every lane's connection back (a pool waits for all of them).
#[tokio::test]
async fn a_call_lane_whose_connection_dies_is_replaced_and_closing_returns_the_lanes() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let call = || {
        TenantCall::statement("select p.title from product p where p.tenant_id = ctx.tenant_id limit $1")
            .arg(10_i64)
            .unwrap()
    };
    assert!(app.state.db.tenant_call(&store.tenant, call()).await.unwrap().is_empty());
    let pool = app.state.db.cell("default").await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = current_database() and pid <> pg_backend_pid() and query like '%ctx cross join lateral%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(killed, [true], "the lane's one connection ran the call");
    // The first call after may meet the dead connection (and drop it); the next one is served.
    let mut failures = 0;
    while let Err(e) = app.state.db.tenant_call(&store.tenant, call()).await {
        failures += 1;
        assert!(failures < 2, "a dead lane connection must be replaced, not kept: {e:#}");
    }
    assert!(app.state.db.tenant_call(&store.tenant, call()).await.unwrap().is_empty());
    tokio::time::timeout(std::time::Duration::from_secs(10), app.state.db.close())
        .await
        .expect("closing waits for every connection, the lanes' included");
}
