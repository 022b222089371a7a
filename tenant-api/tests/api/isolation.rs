//! Isolation fails closed: proven table by table, in SQL and over HTTP.

use platform::db::TenantTx;
use reqwest::StatusCode;
use sqlx::{PgPool, Row};
use tenant_api::catalog::{
    model::{
        Handle, MediaId, NewCategory, NewCollection, ProductId, ProductOption, ProductPatch, ProductStatus,
        SearchLanguage,
    },
    service,
};

use crate::helpers::{spawn_app, TestApp, TestStore};

/// Every tenant-owned table. A migration that adds a table must add it here and
/// give [`seed_every_table`] a row for it, or `the_tenant_table_list_is_complete` fails.
const TENANT_TABLES: &[&str] = &[
    "category",
    "collection",
    "collection_product",
    "customer",
    "customer_address",
    "customer_password_reset",
    "customer_refresh_token",
    "discount_code",
    "inventory_level",
    "job_attempt",
    "notification_delivery",
    "notification_template",
    "order_counter",
    "outbox_event",
    "payment",
    "product",
    "product_category",
    "product_media",
    "product_option",
    "product_variant",
    "refund",
    "sales_order",
    "sales_order_line",
    "shipping_method",
    "stock_reservation",
    "stripe_event",
    "tax_rate",
    "test_provider_refund",
    "webhook_subscription",
];

/// One row of the store in every tenant-owned table.
async fn seed_every_table(app: &TestApp, store: &TestStore) {
    // product, product_variant and inventory_level in one call.
    let product = app.seed_product(store, "Secret Product", ProductStatus::Active, 4200).await;
    let variant = uuid::Uuid::parse_str(product["variant_id"].as_str().unwrap()).unwrap();
    let (customer, order) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let mut tx = app.tenant_tx(store).await;
    // Exactly one row per table, written directly: the API writes several events per order.
    for statement in [
        "insert into customer (tenant_id, customer_id, email, password_hash) values ($1, $2, 'ann@a.test', 'x')",
        "insert into customer_address (tenant_id, address_id, customer_id, name, line1, city, postal_code, country) \
         values ($1, gen_random_uuid(), $2, 'Ann', '1 Main St', 'Town', '12345', 'US')",
        "insert into customer_password_reset (tenant_id, token_hash, customer_id, expires_at) \
         values ($1, '\\x01', $2, now() + interval '1 hour')",
        "insert into customer_refresh_token (tenant_id, token_hash, family_id, customer_id, expires_at) \
         values ($1, '\\x02', gen_random_uuid(), $2, now() + interval '1 day')",
        "insert into discount_code (tenant_id, discount_code_id, code, kind, percent_off, currency) \
         values ($1, gen_random_uuid(), 'SECRET10', 'percentage', 10, 'USD')",
        "insert into order_counter (tenant_id, last_number) values ($1, 1001)",
        "insert into sales_order (tenant_id, order_id, number, status, customer_id, email, currency, subtotal, \
                                  total, shipping_address) \
         values ($1, $3, 1001, 'paid', $2, 'ann@a.test', 'USD', 4200, 4200, '{\"name\": \"Ann\"}')",
        "insert into sales_order_line (tenant_id, order_id, line_no, variant_id, product_id, sku, title, quantity, \
                                       unit_amount, total) \
         values ($1, $3, 0, $4, gen_random_uuid(), 'SKU', 'Secret', 1, 4200, 4200)",
        "insert into stock_reservation (tenant_id, order_id, variant_id, quantity, status, expires_at) \
         values ($1, $3, $4, 1, 'committed', now())",
        "insert into payment (tenant_id, order_id, payment_id, provider, status, amount, currency) \
         values ($1, $3, gen_random_uuid(), 'test', 'succeeded', 4200, 'USD')",
        "insert into refund (tenant_id, refund_id, order_id, amount, currency) \
         values ($1, gen_random_uuid(), $3, 100, 'USD')",
        "insert into outbox_event (tenant_id, event_id, topic, aggregate_id, payload) \
         values ($1, gen_random_uuid(), 'order.paid', $3, '{}')",
        "insert into test_provider_refund (tenant_id, refund_id, order_id, amount) \
         values ($1, gen_random_uuid(), $3, 100)",
        "insert into shipping_method (tenant_id, shipping_method_id, name, amount, currency) \
         values ($1, gen_random_uuid(), 'Standard', 500, 'USD')",
        "insert into tax_rate (tenant_id, tax_rate_id, country, rate_bps) values ($1, gen_random_uuid(), 'US', 800)",
        "insert into stripe_event (tenant_id, event_id, event_type, object_id) \
         values ($1, 'evt_secret', 'payment_intent.succeeded', 'pi_secret')",
        "insert into job_attempt (tenant_id, job, subject, job_attempt_id, attempts, next_attempt_at, last_error) \
         values ($1, 'reservation-expiry', $3, gen_random_uuid(), 1, now(), 'secret failure')",
        "insert into webhook_subscription (tenant_id, webhook_id, url, events, secret_sealed) \
         values ($1, gen_random_uuid(), 'https://hooks.example.com/secret', '{order.paid}', 'k1:secret')",
        "insert into notification_delivery (tenant_id, delivery_id, event_id, channel, target, topic, payload) \
         values ($1, gen_random_uuid(), gen_random_uuid(), 'email', 'secret@example.com', 'order.paid', '{}')",
    ] {
        // Every statement binds the same four values; unused ones are ignored by casting them away.
        let sql = format!("with _ as (select $1::uuid, $2::uuid, $3::uuid, $4::uuid) {statement}");
        sqlx::query(&sql)
            .bind(store.id())
            .bind(customer)
            .bind(order)
            .bind(variant)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    tx.commit().await.unwrap();
    let product = ProductId::parse(product["id"].as_str().unwrap()).unwrap();
    let mut tx = app.tenant_tx(store).await;
    let category = service::create_category(
        &mut tx,
        NewCategory {
            parent_id: None,
            handle: Handle::parse("secret-category").unwrap(),
            name: "Secret Category".into(),
            description: None,
            position: 0,
        },
    )
    .await
    .unwrap();
    let patch = ProductPatch {
        options: Some(vec![ProductOption { name: "Size".into(), values: vec!["M".into()] }]),
        category_ids: Some(vec![category.id]),
        ..ProductPatch::default()
    };
    service::update_product(&mut tx, SearchLanguage::for_locale("en"), product, patch).await.unwrap();
    service::create_collection(
        &mut tx,
        NewCollection {
            handle: Handle::parse("secret-collection").unwrap(),
            title: "Secret Collection".into(),
            description: None,
            product_ids: Some(vec![product]),
        },
    )
    .await
    .unwrap();
    let media = MediaId::new();
    let key = format!("{}/products/{product}/{media}.png", store.id());
    service::add_media(&mut tx, product, media, &key, "image/png", 3, None).await.unwrap();
    sqlx::query(
        "insert into notification_template (tenant_id, template_id, event, channel, subject, body) \
         values ($1, $2, 'order.paid', 'email', 'Paid', 'Thanks')",
    )
    .bind(store.id())
    .bind(uuid::Uuid::now_v7())
    .execute(&mut *tx)
    .await
    .unwrap();
    // The catalog's own events (product.created, product.updated): one row per table.
    sqlx::query("delete from outbox_event where topic like 'product.%'").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

async fn commerce_tables(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = 'commerce' and c.relkind in ('r', 'p') and c.relname <> '_sqlx_migrations' \
         order by 1",
    )
    .fetch_all(app.state.db.control())
    .await
    .unwrap()
}

#[tokio::test]
async fn the_tenant_table_list_is_complete() {
    let app = spawn_app().await;
    assert_eq!(commerce_tables(&app).await, TENANT_TABLES, "update TENANT_TABLES and seed_every_table");
}

#[tokio::test]
async fn every_commerce_table_has_rls_enabled_forced_and_a_tenant_policy() {
    let app = spawn_app().await;
    for table in commerce_tables(&app).await {
        let row = sqlx::query(
            "select c.relrowsecurity, c.relforcerowsecurity, \
                    exists(select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' \
                           and a.attnotnull and not a.attisdropped) as has_tenant, \
                    (select count(*) from pg_policy p where p.polrelid = c.oid \
                       and pg_get_expr(p.polqual, p.polrelid) like '%current_tenant_id()%' \
                       and pg_get_expr(p.polwithcheck, p.polrelid) like '%current_tenant_id()%') as policies \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = 'commerce' and c.relname = $1",
        )
        .bind(&table)
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
        assert!(row.get::<bool, _>(0), "{table}: row level security is not enabled");
        assert!(row.get::<bool, _>(1), "{table}: row level security is not forced");
        assert!(row.get::<bool, _>(2), "{table}: no non-null tenant_id column");
        assert!(row.get::<i64, _>(3) >= 1, "{table}: no read+write policy on current_tenant_id()");
    }
}

#[tokio::test]
async fn every_unique_index_of_a_commerce_table_starts_with_tenant_id() {
    // A unique index without tenant_id would tell one store, by its error, that
    // another store holds a value.
    let app = spawn_app().await;
    let leaks: Vec<String> = sqlx::query_scalar(
        "select i.indexrelid::regclass::text from pg_index i \
         join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = 'commerce' and c.relname <> '_sqlx_migrations' and i.indisunique \
           and (select a.attname from pg_attribute a where a.attrelid = c.oid and a.attnum = i.indkey[0]) <> 'tenant_id'",
    )
    .fetch_all(app.state.db.control())
    .await
    .unwrap();
    assert!(leaks.is_empty(), "unique indexes not led by tenant_id: {leaks:?}");
}

#[tokio::test]
async fn another_store_can_neither_see_nor_change_nor_forge_any_row() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    seed_every_table(&app, &a).await;

    for table in TENANT_TABLES {
        // The owner sees its row: the assertions below are about isolation, not an empty table.
        let mut tx_a = app.tenant_tx(&a).await;
        assert_eq!(count(&mut tx_a, table).await, 1, "{table}: store A lost its own row");
        let row: serde_json::Value = sqlx::query_scalar(&format!("select to_jsonb(t) from {table} t limit 1"))
            .fetch_one(&mut *tx_a)
            .await
            .unwrap();
        drop(tx_a);

        let mut tx_b = app.tenant_tx(&b).await;
        assert_eq!(count(&mut tx_b, table).await, 0, "{table}: store B sees store A's rows");
        let updated = sqlx::query(&format!("update {table} set tenant_id = tenant_id"))
            .execute(&mut *tx_b)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(updated, 0, "{table}: store B updated store A's rows");
        let deleted = sqlx::query(&format!("delete from {table}")).execute(&mut *tx_b).await.unwrap().rows_affected();
        assert_eq!(deleted, 0, "{table}: store B deleted store A's rows");
        // Writing a row that claims to be store A's is refused by the policy's check.
        let forged = sqlx::query(&forge_sql(&app, table).await).bind(&row).execute(&mut *tx_b).await;
        assert_rls_violation(forged, table);
    }

    let mut tx_a = app.tenant_tx(&a).await;
    for table in TENANT_TABLES {
        assert_eq!(count(&mut tx_a, table).await, 1, "{table}: store A's row changed");
    }
}

#[tokio::test]
async fn without_a_tenant_in_context_nothing_is_visible_or_writable() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    seed_every_table(&app, &a).await;

    for table in TENANT_TABLES {
        let mut tx = app.state.db.control().begin().await.unwrap();
        let row: serde_json::Value = sqlx::query_scalar(&format!("select to_jsonb(t) from {table} t limit 1"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        // The restricted role, but no app.tenant_id: the state of a code path that forgot the tenant.
        sqlx::query("set local role app_tenant").execute(&mut *tx).await.unwrap();
        let visible: i64 =
            sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(&mut *tx).await.unwrap();
        assert_eq!(visible, 0, "{table}: rows visible without a tenant");
        let inserted = sqlx::query(&forge_sql(&app, table).await).bind(&row).execute(&mut *tx).await;
        assert_rls_violation(inserted, table);
    }
}

#[tokio::test]
async fn a_superuser_connection_cannot_bypass_isolation_through_a_tenant_transaction() {
    let app = spawn_app().await;
    let is_superuser: bool = sqlx::query_scalar("select rolsuper from pg_roles where rolname = current_user")
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert!(is_superuser, "this test is about a service that connects as a superuser");
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    seed_every_table(&app, &a).await;

    // One connection, so what the transaction leaves behind is read on the
    // connection it ran on, not on whichever one the pool hands out next.
    let pool = one_connection_pool(&app).await;
    let before = session(&pool).await;
    let mut tx = TenantTx::begin(&pool, b.id()).await.unwrap();
    let role: String = sqlx::query_scalar("select current_user::text").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(role, "app_tenant");
    for table in TENANT_TABLES {
        assert_eq!(count(&mut tx, table).await, 0, "{table}");
    }
    // The setting is transaction-local: the pooled connection forgets it.
    drop(tx);
    let after = session(&pool).await;
    assert_eq!(after.tenant, None);
    assert_eq!(after, before, "the role and app.tenant_id are transaction-local");
}

#[tokio::test]
async fn a_request_on_store_b_naming_store_a_ids_finds_nothing() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let product = app.seed_product(&a, "Alpha Only Widget", ProductStatus::Active, 1500).await;
    let id = product["id"].as_str().unwrap();
    let handle = product["handle"].as_str().unwrap();

    for path in [format!("/store/products/{id}"), format!("/store/products/{handle}")] {
        let body = app.get_json(&b.host, &path, StatusCode::NOT_FOUND).await;
        assert_eq!(body["type"], "/problems/product-not-found");
        assert!(!body.to_string().contains("Alpha Only"), "404 body names A's data: {body}");
        // The owner reaches it, so the 404 above is isolation, not a broken route.
        app.get_json(&a.host, &path, StatusCode::OK).await;
    }
    let list = app.get_json(&b.host, "/store/products", StatusCode::OK).await;
    assert_eq!(list["items"], serde_json::json!([]));
    let list = app.get_json(&b.host, "/store/products?q=widget", StatusCode::OK).await;
    assert_eq!(list["items"], serde_json::json!([]));
}

/// `insert` of a row given as JSON, every column but generated ones (which
/// cannot be written).
async fn forge_sql(app: &TestApp, table: &str) -> String {
    let columns: String = sqlx::query_scalar(
        "select string_agg(quote_ident(attname), ', ' order by attnum) from pg_attribute \
         where attrelid = ('commerce.' || $1)::regclass and attnum > 0 and not attisdropped and attgenerated = ''",
    )
    .bind(table)
    .fetch_one(app.state.db.control())
    .await
    .unwrap();
    format!("insert into {table} ({columns}) select {columns} from jsonb_populate_record(null::{table}, $1)")
}

async fn count(tx: &mut TenantTx, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(&mut **tx).await.unwrap()
}

fn assert_rls_violation(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>, table: &str) {
    let error = result.expect_err(&format!("{table}: a forged row was written"));
    let code = error.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    // 42501: insufficient_privilege, raised for "new row violates row-level security policy".
    assert_eq!(code.as_deref(), Some("42501"), "{table}: {error}");
}

/// Every admin endpoint of the catalog and inventory, filled with store A's ids.
fn admin_requests(ids: &serde_json::Value) -> Vec<(&'static str, String, Option<serde_json::Value>)> {
    let p = ids["product"].as_str().unwrap();
    let v = ids["variant"].as_str().unwrap();
    let c = ids["category"].as_str().unwrap();
    let k = ids["collection"].as_str().unwrap();
    let m = ids["media"].as_str().unwrap();
    let money = serde_json::json!({"amount": 1, "currency": "USD"});
    vec![
        ("GET", format!("/admin/products/{p}"), None),
        ("PATCH", format!("/admin/products/{p}"), Some(serde_json::json!({"title": "Stolen"}))),
        ("DELETE", format!("/admin/products/{p}"), None),
        ("POST", format!("/admin/products/{p}/variants"), Some(serde_json::json!({"sku": "X-1", "price": money}))),
        ("PATCH", format!("/admin/products/{p}/variants/{v}"), Some(serde_json::json!({"title": "Stolen"}))),
        ("DELETE", format!("/admin/products/{p}/variants/{v}"), None),
        (
            "POST",
            format!("/admin/products/{p}/media"),
            Some(serde_json::json!({"content_type": "image/png", "byte_size": 3})),
        ),
        ("POST", format!("/admin/products/{p}/media/{m}/complete"), None),
        ("DELETE", format!("/admin/products/{p}/media/{m}"), None),
        ("PATCH", format!("/admin/categories/{c}"), Some(serde_json::json!({"name": "Stolen"}))),
        ("DELETE", format!("/admin/categories/{c}"), None),
        ("GET", format!("/admin/collections/{k}"), None),
        ("PUT", format!("/admin/collections/{k}"), Some(serde_json::json!({"title": "Stolen"}))),
        ("DELETE", format!("/admin/collections/{k}"), None),
        ("GET", format!("/admin/inventory/{v}"), None),
        ("PUT", format!("/admin/inventory/{v}"), Some(serde_json::json!({"on_hand": 0}))),
    ]
}

/// Store A's catalog through its own admin API: one of everything.
async fn admin_catalog(app: &TestApp, store: &TestStore) -> serde_json::Value {
    let staff = app.staff(store).await;
    let category = app
        .admin(
            "POST",
            store,
            "/admin/categories",
            &staff,
            Some(serde_json::json!({"name": "Alpha Secrets"})),
            StatusCode::CREATED,
        )
        .await;
    let body = serde_json::json!({
        "title": "Alpha Only Widget", "status": "active", "category_ids": [category["id"]],
        "variants": [{"sku": "ALPHA-1", "price": {"amount": 1500, "currency": "USD"}, "stock": 5}],
    });
    let product = app.admin("POST", store, "/admin/products", &staff, Some(body), StatusCode::CREATED).await;
    let collection = app
        .admin(
            "POST",
            store,
            "/admin/collections",
            &staff,
            Some(serde_json::json!({"title": "Alpha Picks", "product_ids": [product["id"]]})),
            StatusCode::CREATED,
        )
        .await;
    let media = app
        .admin(
            "POST",
            store,
            &format!("/admin/products/{}/media", product["id"].as_str().unwrap()),
            &staff,
            Some(serde_json::json!({"content_type": "image/png", "byte_size": 3})),
            StatusCode::CREATED,
        )
        .await;
    serde_json::json!({
        "product": product["id"], "variant": product["variants"][0]["id"], "category": category["id"],
        "collection": collection["id"], "media": media["id"],
    })
}

#[tokio::test]
async fn store_a_credentials_are_refused_on_store_b_for_every_admin_endpoint() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let ids = admin_catalog(&app, &b).await;
    for auth in [app.staff(&a).await, app.api_key(&a).await] {
        let mut requests = admin_requests(&ids);
        requests.push(("GET", "/admin/products".into(), None));
        requests.push(("GET", "/admin/categories".into(), None));
        requests.push(("GET", "/admin/collections".into(), None));
        requests.push(("POST", "/admin/products/import".into(), None));
        for (method, path, body) in requests {
            let problem = app.admin(method, &b, &path, &auth, body, StatusCode::UNAUTHORIZED).await;
            assert!(!problem.to_string().contains("Alpha"), "{method} {path}: {problem}");
        }
    }
    // B's data is untouched.
    let staff_b = app.staff(&b).await;
    let product = app
        .admin(
            "GET",
            &b,
            &format!("/admin/products/{}", ids["product"].as_str().unwrap()),
            &staff_b,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(product["title"], "Alpha Only Widget");
}

#[tokio::test]
async fn store_b_credentials_get_404_for_every_id_of_store_a_and_change_nothing() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let ids = admin_catalog(&app, &a).await;
    for auth in [app.staff(&b).await, app.api_key(&b).await] {
        for (method, path, body) in admin_requests(&ids) {
            let problem = app.admin(method, &b, &path, &auth, body, StatusCode::NOT_FOUND).await;
            assert!(!problem.to_string().contains("Alpha"), "{method} {path} names A's data: {problem}");
        }
        // Store B's lists hold nothing of A's, and A's ids cannot be linked into B's rows.
        for path in ["/admin/products", "/admin/categories", "/admin/collections"] {
            let list = app.admin("GET", &b, path, &auth, None, StatusCode::OK).await;
            assert_eq!(list["items"], serde_json::json!([]), "{path}");
        }
        let body = serde_json::json!({"title": "Borrowed", "category_ids": [ids["category"]],
            "variants": [{"sku": "B-1", "price": {"amount": 1, "currency": "USD"}}]});
        app.admin("POST", &b, "/admin/products", &auth, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
        let body = serde_json::json!({"title": "Borrowed", "product_ids": [ids["product"]]});
        app.admin("POST", &b, "/admin/collections", &auth, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
        let body = serde_json::json!({"name": "Borrowed", "parent_id": ids["category"]});
        app.admin("POST", &b, "/admin/categories", &auth, Some(body), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // Everything of A's is still there, unchanged.
    let staff_a = app.staff(&a).await;
    let product = app
        .admin(
            "GET",
            &a,
            &format!("/admin/products/{}", ids["product"].as_str().unwrap()),
            &staff_a,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(product["title"], "Alpha Only Widget");
    assert_eq!(product["variants"].as_array().unwrap().len(), 1);
    assert_eq!(product["media"].as_array().unwrap().len(), 1);
    let level = app
        .admin(
            "GET",
            &a,
            &format!("/admin/inventory/{}", ids["variant"].as_str().unwrap()),
            &staff_a,
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(level["on_hand"], 5);
    app.admin(
        "GET",
        &a,
        &format!("/admin/collections/{}", ids["collection"].as_str().unwrap()),
        &staff_a,
        None,
        StatusCode::OK,
    )
    .await;
    let categories = app.admin("GET", &a, "/admin/categories", &staff_a, None, StatusCode::OK).await;
    assert_eq!(categories["items"][0]["name"], "Alpha Secrets");
}

#[tokio::test]
async fn store_b_shoppers_never_see_store_a_products_categories_or_collections_by_any_path() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let ids = admin_catalog(&app, &a).await;
    let product = ids["product"].as_str().unwrap();
    let collection = ids["collection"].as_str().unwrap();
    for path in [
        format!("/store/products/{product}"),
        "/store/products/alpha-only-widget".into(),
        format!("/store/collections/{collection}"),
        "/store/collections/alpha-picks".into(),
    ] {
        let problem = app.get_json(&b.host, &path, StatusCode::NOT_FOUND).await;
        assert!(!problem.to_string().contains("Alpha"), "{path}: {problem}");
        app.get_json(&a.host, &path, StatusCode::OK).await;
    }
    for path in [
        "/store/products?q=widget".to_owned(),
        format!("/store/products?category={}", ids["category"].as_str().unwrap()),
        format!("/store/products?collection={collection}"),
        "/store/categories".into(),
        "/store/search/suggest?q=alpha".into(),
    ] {
        let list = app.get_json(&b.host, &path, StatusCode::OK).await;
        assert_eq!(list["items"], serde_json::json!([]), "{path}");
    }
}

#[tokio::test]
async fn a_deferred_tenant_transaction_is_as_isolated_and_leaves_nothing_on_the_connection() {
    let app = spawn_app().await;
    let (a, b) = (app.create_store("alpha").await, app.create_store("bravo").await);
    seed_every_table(&app, &a).await;
    let pool = one_connection_pool(&app).await;
    let before = session(&pool).await;
    let tx = TenantTx::begin_deferred(&pool, b.id()).await.unwrap();
    assert_isolated_with_local_setting(&pool, tx, &b, ("synchronous_commit", "off"), before).await;
}

#[tokio::test]
async fn a_generic_plan_tenant_transaction_is_as_isolated_and_leaves_nothing_on_the_connection() {
    let app = spawn_app().await;
    let (a, b) = (app.create_store("alpha").await, app.create_store("bravo").await);
    seed_every_table(&app, &a).await;
    let pool = one_connection_pool(&app).await;
    let before = session(&pool).await;
    let tx = TenantTx::begin_generic(&pool, b.id()).await.unwrap();
    assert_isolated_with_local_setting(&pool, tx, &b, ("plan_cache_mode", "force_generic_plan"), before).await;
}

/// `tx`, begun on `pool`'s one connection for `store` with `setting` changed,
/// runs as the restricted role in that store alone (it sees none of the other
/// store's seeded rows) with the setting at `inside`; once it ends, that same
/// connection is `before` again: the server's own defaults, read on it first,
/// whatever they are (a test server may run with `synchronous_commit = off`).
async fn assert_isolated_with_local_setting(
    pool: &PgPool,
    mut tx: TenantTx,
    store: &TestStore,
    (setting, inside): (&str, &str),
    before: Session,
) {
    let (backend, role, tenant, value): (i32, String, String, String) = sqlx::query_as(
        "select pg_backend_pid(), current_user::text, current_setting('app.tenant_id'), current_setting($1)",
    )
    .bind(setting)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(backend, before.backend, "the transaction runs on the pool's one connection");
    assert_eq!((role.as_str(), tenant, value.as_str()), ("app_tenant", store.id().to_string(), inside));
    for table in TENANT_TABLES {
        assert_eq!(count(&mut tx, table).await, 0, "{table}");
    }
    drop(tx);
    assert_eq!(session(pool).await, before, "{setting}, the role and app.tenant_id are transaction-local");
}

/// A pool of exactly one connection to the app's database, opened as a cell's
/// pool is: a check after a transaction then runs on the connection that
/// transaction used.
async fn one_connection_pool(app: &TestApp) -> PgPool {
    platform::db::connect_pool(&app.state.db.control().connect_options(), 1).await.unwrap()
}

/// What a pooled connection carries from one transaction to the next: every
/// setting a tenant transaction changes, and which server process it is.
#[derive(Debug, PartialEq, Eq)]
struct Session {
    /// The same process means the same connection.
    backend: i32,
    /// `current_setting('role')`: `none` unless something switched roles.
    role: String,
    /// `app.tenant_id`; never set and reset both read as `None`.
    tenant: Option<String>,
    synchronous_commit: String,
    plan_cache_mode: String,
}

/// The session of `pool`'s connection, outside any transaction.
async fn session(pool: &PgPool) -> Session {
    let (backend, role, tenant, synchronous_commit, plan_cache_mode) = sqlx::query_as(
        "select pg_backend_pid(), current_setting('role'), nullif(current_setting('app.tenant_id', true), ''), \
                current_setting('synchronous_commit'), current_setting('plan_cache_mode')",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    Session { backend, role, tenant, synchronous_commit, plan_cache_mode }
}
