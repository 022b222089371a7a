//! Spawns the data plane on a random port over a database of the test's own.

use platform::{
    config::Settings,
    db::TenantTx,
    ids::TenantId,
    money::{Currency, Money},
    tenancy::{announce_change, Tenant, TenantChange, TenantStatus},
    testkit::{init_test_tracing, TestDb},
};
use reqwest::StatusCode;
use serde_json::Value;
use tenant_api::{
    catalog::{
        model::{Handle, NewProduct, NewVariant, ProductStatus},
        service,
    },
    contexts::Context,
    startup::{AppState, Application},
};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    // Last: dropped after the server's pools are gone.
    pub _db: TestDb,
}

/// A checkout body paying with the test provider's `token`.
pub fn checkout_body(email: &str, token: &str) -> Value {
    serde_json::json!({
        "email": email,
        "shipping_address": {"name": "Ann Buyer", "line1": "1 Main St", "city": "Springfield",
                             "postal_code": "12345", "country": "US"},
        "payment": {"provider": "test", "token": token},
    })
}

pub struct TestStore {
    pub tenant: Tenant,
    pub host: String,
}

impl TestStore {
    pub fn id(&self) -> TenantId {
        self.tenant.id
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Context::ALL).await
}

pub async fn spawn_app_with(contexts: &[Context]) -> TestApp {
    spawn(contexts, 8).await
}

/// Every context, with a pool of `connections` (concurrency tests).
pub async fn spawn_app_with_pool(connections: u32) -> TestApp {
    spawn(Context::ALL, connections).await
}

async fn spawn(contexts: &[Context], connections: u32) -> TestApp {
    init_test_tracing();
    let db = TestDb::create().await.expect("test database");
    let mut settings = Settings::for_tests(&db.url()).expect("settings");
    settings.db_max_connections = connections;
    let app = Application::build(settings, contexts).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        state,
        _db: db,
    }
}

impl TestApp {
    /// Registers a store the way the control plane does (registry row), on the default cell.
    pub async fn create_store(&self, slug: &str) -> TestStore {
        let id = TenantId::new();
        sqlx::query(
            "insert into control.tenant (tenant_id, slug, name, currency, cell_id) values ($1, $2, $3, 'USD', 'default')",
        )
        .bind(id)
        .bind(slug)
        .bind(format!("Store {slug}"))
        .execute(self.state.db.control())
        .await
        .expect("insert tenant");
        TestStore {
            tenant: Tenant {
                id,
                slug: slug.to_owned(),
                status: TenantStatus::Active,
                cell_id: "default".into(),
                plan: "starter".into(),
                currency: Currency::parse("USD").unwrap(),
            },
            host: format!("{slug}.localhost"),
        }
    }

    /// Changes a store's status and announces it, as the control plane does.
    pub async fn set_status(&self, store: &TestStore, status: &str) {
        sqlx::query("update control.tenant set status = $2 where tenant_id = $1")
            .bind(store.id())
            .bind(status)
            .execute(self.state.db.control())
            .await
            .expect("update tenant");
        let mut redis = self.state.redis.clone();
        announce_change(&mut redis, &TenantChange { tenant_id: store.id().as_uuid(), hosts: vec![store.host.clone()] })
            .await
            .expect("announce");
    }

    pub async fn tenant_tx(&self, store: &TestStore) -> TenantTx {
        self.state.db.tenant_tx(&store.tenant).await.expect("tenant tx")
    }

    /// Creates a product with one variant (10 in stock) directly through the catalog service.
    pub async fn seed_product(&self, store: &TestStore, title: &str, status: ProductStatus, price: i64) -> Value {
        let mut tx = self.tenant_tx(store).await;
        let product = service::create_product(
            &mut tx,
            NewProduct {
                title: title.to_owned(),
                handle: Handle::from_title(title).unwrap(),
                description: Some(format!("About {title}")),
                status,
                variants: vec![NewVariant {
                    sku: format!("SKU-{}", Handle::from_title(title).unwrap().as_ref()),
                    title: "Default".into(),
                    price: Money::new(price, store.tenant.currency),
                    stock: 10,
                }],
            },
        )
        .await
        .expect("create product");
        tx.commit().await.unwrap();
        serde_json::json!({
            "id": product.id.to_string(),
            "handle": product.handle,
            "variant_id": product.variants[0].id.to_string(),
        })
    }

    /// Sets a variant's stock directly (on_hand, nothing reserved).
    pub async fn set_stock(&self, store: &TestStore, variant: &str, on_hand: i32) {
        let mut tx = self.tenant_tx(store).await;
        sqlx::query("update inventory_level set on_hand = $3, reserved = 0 where tenant_id = $1 and variant_id = $2")
            .bind(store.id())
            .bind(uuid::Uuid::parse_str(variant).unwrap())
            .bind(on_hand)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    /// A product with one variant of `stock` units; returns the variant id.
    pub async fn product_with_stock(&self, store: &TestStore, title: &str, price: i64, stock: i32) -> String {
        let product = self.seed_product(store, title, ProductStatus::Active, price).await;
        let variant = product["variant_id"].as_str().unwrap().to_owned();
        self.set_stock(store, &variant, stock).await;
        variant
    }

    /// (on_hand, reserved) of a variant, read behind the API.
    pub async fn stock(&self, store: &TestStore, variant: &str) -> (i32, i32) {
        let mut tx = self.tenant_tx(store).await;
        sqlx::query_as("select on_hand, reserved from inventory_level where tenant_id = $1 and variant_id = $2")
            .bind(store.id())
            .bind(uuid::Uuid::parse_str(variant).unwrap())
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    }

    /// A staff token (owner) of the store.
    pub async fn staff(&self, store: &TestStore) -> String {
        platform::testkit::staff_token(self.state.db.control(), store.id(), platform::auth::Role::Owner).await
    }

    /// Any request; returns status, content type and JSON body (null when none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (StatusCode, String, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.address)).header("host", host);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, content_type, body)
    }

    /// A request expecting `expected`; problems must be application/problem+json.
    pub async fn call(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Value {
        let (status, content_type, body) = self.send(method.clone(), host, path, token, &[], body.as_ref()).await;
        assert_eq!(status, expected, "{method} {host}{path}: {body}");
        if !status.is_success() {
            assert_eq!(content_type, "application/problem+json", "{method} {path}");
        }
        body
    }

    /// POST expecting a status.
    pub async fn post(&self, host: &str, path: &str, token: Option<&str>, body: Value, expected: StatusCode) -> Value {
        self.call(reqwest::Method::POST, host, path, token, Some(body), expected).await
    }

    /// GET with a token expecting a status.
    pub async fn get_as(&self, host: &str, path: &str, token: Option<&str>, expected: StatusCode) -> Value {
        self.call(reqwest::Method::GET, host, path, token, None, expected).await
    }

    /// Registers a customer and signs them in; returns the token response.
    pub async fn customer(&self, store: &TestStore, email: &str) -> Value {
        self.post(
            &store.host,
            "/store/customers",
            None,
            serde_json::json!({"email": email, "password": "correct horse", "first_name": "Ann"}),
            StatusCode::CREATED,
        )
        .await;
        self.post(
            &store.host,
            "/store/auth/token",
            None,
            serde_json::json!({"email": email, "password": "correct horse"}),
            StatusCode::OK,
        )
        .await
    }

    /// A guest cart holding `quantity` of `variant`; returns its id.
    pub async fn cart_with(&self, store: &TestStore, token: Option<&str>, variant: &str, quantity: i64) -> String {
        let cart = self.post(&store.host, "/store/carts", token, serde_json::json!({}), StatusCode::CREATED).await;
        let id = cart["id"].as_str().unwrap().to_owned();
        self.post(
            &store.host,
            &format!("/store/carts/{id}/items"),
            token,
            serde_json::json!({"variant_id": variant, "quantity": quantity}),
            StatusCode::OK,
        )
        .await;
        id
    }

    /// Checks a cart out; returns status and body.
    pub async fn checkout(
        &self,
        store: &TestStore,
        cart: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let headers: Vec<(&str, &str)> = key.map(|k| vec![("idempotency-key", k)]).unwrap_or_default();
        let (status, content_type, body) = self
            .send(
                reqwest::Method::POST,
                &store.host,
                &format!("/store/carts/{cart}/checkout"),
                token,
                &headers,
                Some(body),
            )
            .await;
        if !status.is_success() {
            assert_eq!(content_type, "application/problem+json", "checkout {status}: {body}");
        }
        (status, body)
    }

    pub async fn get(&self, host: &str, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).header("host", host).send().await.expect("request")
    }

    /// GET expecting a status; returns the JSON body.
    pub async fn get_json(&self, host: &str, path: &str, expected: StatusCode) -> Value {
        let response = self.get(host, path).await;
        let status = response.status();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "GET {host}{path}: {body}");
        if !status.is_success() {
            assert_eq!(content_type, "application/problem+json", "GET {host}{path}");
        }
        body
    }
}
