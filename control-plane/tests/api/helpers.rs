//! Spawns the control plane on a random port over a database of the test's own.

use std::sync::Arc;

use control_plane::{
    domains::dns::StaticResolver,
    settings::ControlSettings,
    startup::{AppState, Application},
};
use platform::{
    config::Settings,
    testkit::{init_test_tracing, TestDb},
};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@platform.test";
pub const ADMIN_PASSWORD: &str = "bootstrap-password";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub dns: Arc<StaticResolver>,
    pub _db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ControlSettings::for_tests()).await
}

pub async fn spawn_app_with(control: ControlSettings) -> TestApp {
    spawn_app_configured(control, |_| {}).await
}

/// An app whose platform settings `configure` changed first.
pub async fn spawn_app_configured(control: ControlSettings, configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_tracing();
    let db = TestDb::create().await.expect("test database");
    let mut settings = Settings::for_tests(&db.url()).expect("settings");
    configure(&mut settings);
    let dns = Arc::new(StaticResolver::default());
    let app = Application::build(settings, control, dns.clone()).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { address, client, state, dns, _db: db }
}

/// A store created through the API, with its owner's token.
pub struct Store {
    pub id: String,
    pub slug: String,
    pub owner_token: String,
    pub body: Value,
}

impl TestApp {
    /// Sends a request; `token` as bearer; returns status and JSON body
    /// (checking that errors are problem+json).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method.parse().unwrap(), format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let content_type =
            response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(content_type, "application/problem+json", "{method} {path}: {body}");
        }
        (status, body)
    }

    /// Calls and asserts the status.
    pub async fn expect(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let (actual, body) = self.call(method, path, token, body).await;
        assert_eq!(actual, status, "{method} {path}: {body}");
        body
    }

    pub async fn admin_token(&self) -> String {
        let body = self
            .expect(
                "POST",
                "/v1/auth/token",
                None,
                Some(json!({"grant_type": "password", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
                StatusCode::OK,
            )
            .await;
        assert_eq!(body["role"], "platform_admin");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Adds a member to `store` (as its owner) and signs them in; their access token.
    pub async fn add_member(&self, store: &Store, email: &str, role: &str) -> String {
        self.expect(
            "POST",
            &format!("/v1/tenants/{}/staff", store.id),
            Some(&store.owner_token),
            Some(json!({"email": email, "password": "member-password", "role": role})),
            StatusCode::CREATED,
        )
        .await;
        let body = self
            .expect(
                "POST",
                "/v1/auth/token",
                None,
                Some(json!({"grant_type": "password", "email": email, "password": "member-password",
                            "tenant_id": store.id})),
                StatusCode::OK,
            )
            .await;
        assert_eq!(body["role"], role);
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn create_store(&self, slug: &str) -> Store {
        let body = self
            .expect(
                "POST",
                "/v1/tenants",
                None,
                Some(json!({
                    "slug": slug, "name": format!("Store {slug}"), "currency": "USD",
                    "owner_email": format!("owner@{slug}.test"), "owner_password": "owner-password",
                })),
                StatusCode::CREATED,
            )
            .await;
        Store {
            id: body["id"].as_str().unwrap().to_owned(),
            slug: slug.to_owned(),
            owner_token: body["credentials"]["access_token"].as_str().unwrap().to_owned(),
            body,
        }
    }

    /// A product "Mug" (SKU `MUG`, 3 in stock) in the store's cell and a Redis
    /// key under its prefix, written as the data plane would.
    pub async fn seed_product(&self, store: &Store) {
        let app = self;
        let id: uuid::Uuid = store.id.parse().unwrap();
        let tenant = platform::tenancy::Tenant {
            id: platform::ids::TenantId::from_uuid(id),
            slug: store.slug.clone(),
            status: platform::tenancy::TenantStatus::Active,
            cell_id: "default".into(),
            plan: "starter".into(),
            currency: platform::money::Currency::parse("USD").unwrap(),
            locale: "en-US".into(),
        };
        let mut tx = app.state.db.tenant_tx(&tenant).await.unwrap();
        tenant_api::catalog::service::create_product(
            &mut tx,
            tenant_api::catalog::model::SearchLanguage::for_locale(&tenant.locale),
            None,
            tenant_api::catalog::model::NewProduct {
                title: "Mug".into(),
                handle: tenant_api::catalog::model::Handle::parse("mug").unwrap(),
                description: None,
                status: tenant_api::catalog::model::ProductStatus::Active,
                attributes: Default::default(),
                options: Vec::new(),
                category_ids: Vec::new(),
                variants: vec![tenant_api::catalog::model::NewVariant {
                    sku: tenant_api::catalog::model::Sku::parse("MUG").unwrap(),
                    title: "Default".into(),
                    price: platform::money::Money::new(900, tenant.currency),
                    compare_at_price: None,
                    weight_grams: None,
                    barcode: None,
                    options: Default::default(),
                    stock: 3,
                }],
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut redis = app.state.redis.clone();
        redis::cmd("SET")
            .arg(format!("t:{{{}}}:cart:x", store.id))
            .arg("1")
            .query_async::<()>(&mut redis)
            .await
            .unwrap();
    }
}
