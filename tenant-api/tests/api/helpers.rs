//! Spawns the data plane on a random port over a database of the test's own.

use std::sync::Arc;

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
        model::{Handle, NewProduct, NewVariant, ProductStatus, SearchLanguage, Sku},
        service,
    },
    contexts::Context,
    startup::{AppState, Application},
};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    // Last: dropped after the server's pools are gone (shared by replicas).
    pub db: Arc<TestDb>,
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

/// The control plane's real router on a port of its own over `db`; its address.
pub async fn spawn_control_plane(db: &TestDb) -> String {
    let settings = Settings::for_tests(&db.url()).expect("settings");
    let app = control_plane::startup::Application::build(
        settings,
        control_plane::settings::ControlSettings::for_tests(),
        Arc::new(control_plane::domains::dns::StaticResolver::default()),
    )
    .await
    .expect("control plane builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until(std::future::pending()));
    address
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
    let db = Arc::new(TestDb::create().await.expect("test database"));
    start(db, contexts, |settings| settings.db_max_connections = connections).await
}

/// An app whose settings `configure` adjusts (e.g. another media backend).
pub async fn spawn_app_configured(configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_tracing();
    let db = Arc::new(TestDb::create().await.expect("test database"));
    start(db, Context::ALL, configure).await
}

/// An app over `db` (shared with another service, say) whose settings `configure` adjusts.
pub async fn spawn_app_on(db: Arc<TestDb>, configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_tracing();
    start(db, Context::ALL, configure).await
}

/// Every context, with `provider` in the built-in test provider's place.
pub async fn spawn_app_with_provider(provider: Arc<dyn tenant_api::payments::PaymentProvider>) -> TestApp {
    init_test_tracing();
    let db = Arc::new(TestDb::create().await.expect("test database"));
    start_with(db, Context::ALL, |_| {}, provider).await
}

async fn start(db: Arc<TestDb>, contexts: &[Context], configure: impl FnOnce(&mut Settings)) -> TestApp {
    start_with(db, contexts, configure, Arc::new(tenant_api::payments::test_provider::TestProvider)).await
}

async fn start_with(
    db: Arc<TestDb>,
    contexts: &[Context],
    configure: impl FnOnce(&mut Settings),
    provider: Arc<dyn tenant_api::payments::PaymentProvider>,
) -> TestApp {
    let mut settings = Settings::for_tests(&db.url()).expect("settings");
    configure(&mut settings);
    let app = Application::build_with(settings, contexts, provider).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        state,
        db,
    }
}

impl TestApp {
    /// Another replica of the service over the same database and Redis, with
    /// caches of its own: what a second pod behind the gateway is.
    pub async fn spawn_replica(&self) -> TestApp {
        start(self.db.clone(), Context::ALL, |_| {}).await
    }

    /// Registers a store the way the control plane does (registry row), on the default cell.
    /// On the `enterprise` plan (2000 requests/s): the tests that fire hundreds of
    /// concurrent requests at one store test other things than its rate limit.
    pub async fn create_store(&self, slug: &str) -> TestStore {
        let id = TenantId::new();
        sqlx::query(
            "insert into control.tenant (tenant_id, slug, name, currency, cell_id, plan) \
             values ($1, $2, $3, 'USD', 'default', 'enterprise')",
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
                plan: "enterprise".into(),
                currency: Currency::parse("USD").unwrap(),
                locale: "en-US".into(),
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

    /// Puts a store on a plan of its own allowing `requests_per_second` (not
    /// announced: see `announce`).
    pub async fn set_rate(&self, store: &TestStore, requests_per_second: i32) {
        let plan = format!("rps-{requests_per_second}");
        let control = self.state.db.control();
        sqlx::query(
            "insert into control.plan (plan_id, name, requests_per_second, max_products, max_staff) \
             values ($1, $1, $2, 1000, 3) on conflict (plan_id) do nothing",
        )
        .bind(&plan)
        .bind(requests_per_second)
        .execute(control)
        .await
        .expect("insert plan");
        sqlx::query("update control.tenant set plan = $2 where tenant_id = $1")
            .bind(store.id())
            .bind(&plan)
            .execute(control)
            .await
            .expect("update plan");
    }

    /// Announces a change of the store, as the control plane does after one.
    pub async fn announce(&self, store: &TestStore) {
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
        self.seed_product_with(store, title, status, price, &[]).await
    }

    /// Like `seed_product`, with attributes.
    pub async fn seed_product_with(
        &self,
        store: &TestStore,
        title: &str,
        status: ProductStatus,
        price: i64,
        attributes: &[(&str, &str)],
    ) -> Value {
        let mut tx = self.tenant_tx(store).await;
        let handle = Handle::from_title(title).unwrap();
        let product = service::create_product(
            &mut tx,
            SearchLanguage::for_locale(&store.tenant.locale),
            None,
            NewProduct {
                title: title.to_owned(),
                handle: handle.clone(),
                description: Some(format!("About {title}")),
                status,
                attributes: attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                options: Vec::new(),
                category_ids: Vec::new(),
                variants: vec![NewVariant {
                    sku: Sku::parse(&format!("SKU-{}", handle.as_ref())).unwrap(),
                    title: "Default".into(),
                    price: Money::new(price, store.tenant.currency),
                    compare_at_price: None,
                    weight_grams: None,
                    barcode: None,
                    options: Default::default(),
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
    pub async fn owner_token(&self, store: &TestStore) -> String {
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

impl TestApp {
    /// Files a category directly through the catalog service.
    pub async fn seed_category(&self, store: &TestStore, name: &str, parent: Option<&str>) -> String {
        use tenant_api::catalog::model::{CategoryId, NewCategory};
        let mut tx = self.tenant_tx(store).await;
        let category = service::create_category(
            &mut tx,
            NewCategory {
                parent_id: parent.map(|p| CategoryId::parse(p).unwrap()),
                handle: Handle::from_title(name).unwrap(),
                name: name.to_owned(),
                description: None,
                position: 0,
            },
        )
        .await
        .expect("create category");
        tx.commit().await.unwrap();
        category.id.to_string()
    }

    /// Files products under categories directly through the catalog service.
    pub async fn file_under(&self, store: &TestStore, product: &Value, categories: &[&str]) {
        use tenant_api::catalog::model::{CategoryId, ProductId, ProductPatch};
        let mut tx = self.tenant_tx(store).await;
        let patch = ProductPatch {
            category_ids: Some(categories.iter().map(|c| CategoryId::parse(c).unwrap()).collect()),
            ..ProductPatch::default()
        };
        let id = ProductId::parse(product["id"].as_str().unwrap()).unwrap();
        service::update_product(&mut tx, SearchLanguage::for_locale(&store.tenant.locale), id, patch)
            .await
            .expect("file product");
        tx.commit().await.unwrap();
    }

    /// Creates a collection of products directly through the catalog service.
    pub async fn seed_collection(&self, store: &TestStore, title: &str, products: &[&Value]) -> String {
        use tenant_api::catalog::model::{NewCollection, ProductId};
        let mut tx = self.tenant_tx(store).await;
        let collection = service::create_collection(
            &mut tx,
            NewCollection {
                handle: Handle::from_title(title).unwrap(),
                title: title.to_owned(),
                description: None,
                product_ids: Some(
                    products.iter().map(|p| ProductId::parse(p["id"].as_str().unwrap()).unwrap()).collect(),
                ),
            },
        )
        .await
        .expect("create collection");
        tx.commit().await.unwrap();
        collection.id.to_string()
    }

    /// The value of `http_requests_total` with exactly these labels (0 if
    /// absent). The recorder is the process's: tests running beside this one
    /// only add to a count.
    pub async fn requests_total(&self, labels: &str) -> f64 {
        let text = self.get("x", "/metrics").await.text().await.unwrap();
        let prefix = format!("http_requests_total{{{labels}}} ");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0.0, |v| v.parse().unwrap())
    }

    /// Titles of the items of a storefront list, in order.
    pub async fn titles(&self, store: &TestStore, path: &str) -> Vec<String> {
        let list = self.get_json(&store.host, path, StatusCode::OK).await;
        list["items"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap().to_owned()).collect()
    }
}

/// How an admin request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `Authorization: Bearer <staff JWT>`.
    Staff(String),
    /// `x-api-key: <key>`.
    Key(String),
    /// No credentials.
    None,
}

impl TestApp {
    /// A staff token of the store (role staff).
    pub async fn staff(&self, store: &TestStore) -> Auth {
        Auth::Staff(
            platform::testkit::staff_token(self.state.db.control(), store.id(), platform::auth::Role::Staff).await,
        )
    }

    /// An API key of the store with every catalog and inventory scope.
    pub async fn api_key(&self, store: &TestStore) -> Auth {
        Auth::Key(platform::testkit::api_key(self.state.db.control(), store.id(), &["catalog:*", "inventory:*"]).await)
    }

    /// Sends an admin request and checks the status; returns the JSON body (Null when empty).
    pub async fn admin(
        &self,
        method: &str,
        store: &TestStore,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request =
            self.client.request(method.clone(), format!("{}{path}", self.address)).header("host", &store.host);
        request = match auth {
            Auth::Staff(token) => request.bearer_auth(token),
            Auth::Key(key) => request.header("x-api-key", key),
            Auth::None => request,
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{method} {}{path}: {body}", store.host);
        if !status.is_success() {
            assert_eq!(content_type, "application/problem+json", "{method} {path}");
        }
        body
    }

    /// Creates a product through `POST /admin/products` with one variant.
    pub async fn create_product(&self, store: &TestStore, auth: &Auth, title: &str, sku: &str, price: i64) -> Value {
        let body = serde_json::json!({
            "title": title,
            "status": "active",
            "variants": [{"sku": sku, "price": {"amount": price, "currency": "USD"}, "stock": 10}],
        });
        self.admin("POST", store, "/admin/products", auth, Some(body), StatusCode::CREATED).await
    }
}

impl TestApp {
    /// Sends a raw body to an admin endpoint; returns the JSON body.
    pub async fn admin_raw(
        &self,
        store: &TestStore,
        path: &str,
        auth: &Auth,
        content_type: &str,
        body: Vec<u8>,
        expected: StatusCode,
    ) -> Value {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .header("host", &store.host)
            .header("content-type", content_type)
            .body(body);
        request = match auth {
            Auth::Staff(token) => request.bearer_auth(token),
            Auth::Key(key) => request.header("x-api-key", key),
            Auth::None => request,
        };
        let response = request.send().await.expect("request");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "POST {path}: {body}");
        body
    }
}

/// An order `pending_payment` holding `quantity` units, as step 1 leaves it;
/// `charge` adds the test provider's record of a charge ("succeeded" or "failed").
pub async fn crashed_checkout(
    app: &TestApp,
    store: &TestStore,
    variant: &str,
    quantity: i32,
    charge: Option<&str>,
    hold_expired: bool,
) -> uuid::Uuid {
    let order = uuid::Uuid::now_v7();
    let variant = uuid::Uuid::parse_str(variant).unwrap();
    let mut tx = app.tenant_tx(store).await;
    let statements = [
        "update inventory_level set reserved = reserved + $4 where tenant_id = $1 and variant_id = $3",
        "insert into sales_order (tenant_id, order_id, number, status, email, currency, subtotal, total, \
                                  shipping_address, created_at) \
         values ($1, $2, (select coalesce(max(number), 1000) + 1 from sales_order where tenant_id = $1), 'pending_payment', 'ann@example.com', 'USD', 1000 * $4, 1000 * $4, \
                 '{\"name\": \"Ann\", \"line1\": \"1 Main St\", \"city\": \"X\", \"postal_code\": \"1\", \"country\": \"US\"}', \
                 now() - interval '10 minutes')",
        "insert into sales_order_line (tenant_id, order_id, line_no, variant_id, product_id, sku, title, quantity, \
                                       unit_amount, total) \
         values ($1, $2, 0, $3, gen_random_uuid(), 'SKU', 'Item', $4, 1000, 1000 * $4)",
        "insert into stock_reservation (tenant_id, order_id, variant_id, quantity, expires_at) \
         values ($1, $2, $3, $4, now() + case when $5 then interval '-1 minute' else interval '10 minutes' end)",
    ];
    for sql in statements {
        sqlx::query(&format!("with _ as (select $1::uuid, $2::uuid, $3::uuid, $4::int, $5::bool) {sql}"))
            .bind(store.id())
            .bind(order)
            .bind(variant)
            .bind(quantity)
            .bind(hold_expired)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    if let Some(status) = charge {
        sqlx::query(
            "insert into payment (tenant_id, order_id, payment_id, provider, status, amount, currency) \
             values ($1, $2, gen_random_uuid(), 'test', $3, $4, 'USD')",
        )
        .bind(store.id())
        .bind(order)
        .bind(status)
        .bind(1000 * i64::from(quantity))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    order
}
