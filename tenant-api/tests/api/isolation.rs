//! Isolation fails closed: proven table by table, in SQL and over HTTP.

use platform::db::TenantTx;
use reqwest::StatusCode;
use sqlx::Row;
use tenant_api::catalog::model::ProductStatus;

use crate::helpers::{spawn_app, TestApp, TestStore};

/// Every tenant-owned table. A migration that adds a table must add it here and
/// give [`seed_every_table`] a row for it, or `the_tenant_table_list_is_complete` fails.
const TENANT_TABLES: &[&str] = &[
    "customer",
    "customer_address",
    "customer_password_reset",
    "customer_refresh_token",
    "discount_code",
    "inventory_level",
    "notification_template",
    "order_counter",
    "outbox_event",
    "payment",
    "product",
    "product_variant",
    "refund",
    "sales_order",
    "sales_order_line",
    "shipping_method",
    "stock_reservation",
    "tax_rate",
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
        "insert into shipping_method (tenant_id, shipping_method_id, name, amount, currency) \
         values ($1, gen_random_uuid(), 'Standard', 500, 'USD')",
        "insert into tax_rate (tenant_id, tax_rate_id, country, rate_bps) values ($1, gen_random_uuid(), 'US', 800)",
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
    sqlx::query(
        "insert into notification_template (tenant_id, template_id, event, channel, subject, body) \
         values ($1, $2, 'order.paid', 'email', 'Paid', 'Thanks')",
    )
    .bind(store.id())
    .bind(uuid::Uuid::now_v7())
    .execute(&mut *tx)
    .await
    .unwrap();
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
        let forged =
            sqlx::query(&format!("insert into {table} select * from jsonb_populate_record(null::{table}, $1)"))
                .bind(&row)
                .execute(&mut *tx_b)
                .await;
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
        let inserted =
            sqlx::query(&format!("insert into {table} select * from jsonb_populate_record(null::{table}, $1)"))
                .bind(&row)
                .execute(&mut *tx)
                .await;
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

    let mut tx = app.tenant_tx(&b).await;
    let role: String = sqlx::query_scalar("select current_user::text").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(role, "app_tenant");
    for table in TENANT_TABLES {
        assert_eq!(count(&mut tx, table).await, 0, "{table}");
    }
    // The setting is transaction-local: the pooled connection forgets it.
    drop(tx);
    let mut conn = app.state.db.control().acquire().await.unwrap();
    let leftover: Option<String> = sqlx::query_scalar("select nullif(current_setting('app.tenant_id', true), '')")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(leftover, None);
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

async fn count(tx: &mut TenantTx, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}")).fetch_one(&mut **tx).await.unwrap()
}

fn assert_rls_violation(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>, table: &str) {
    let error = result.expect_err(&format!("{table}: a forged row was written"));
    let code = error.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    // 42501: insufficient_privilege, raised for "new row violates row-level security policy".
    assert_eq!(code.as_deref(), Some("42501"), "{table}: {error}");
}

#[tokio::test]
async fn a_deferred_tenant_transaction_is_as_isolated_and_leaves_nothing_on_the_connection() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    seed_every_table(&app, &a).await;
    let mut tx = app.state.db.tenant_tx_deferred(&b.tenant).await.unwrap();
    let (role, tenant, sync): (String, String, String) = sqlx::query_as(
        "select current_user::text, current_setting('app.tenant_id'), current_setting('synchronous_commit')",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!((role.as_str(), tenant, sync.as_str()), ("app_tenant", b.id().to_string(), "off"));
    for table in TENANT_TABLES {
        assert_eq!(count(&mut tx, table).await, 0, "{table}");
    }
    drop(tx);
    let mut conn = app.state.db.control().acquire().await.unwrap();
    let sync: String =
        sqlx::query_scalar("select current_setting('synchronous_commit')").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(sync, "on", "the setting is transaction-local");
}
