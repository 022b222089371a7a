//! End-to-end journeys across both services (in `tests/tests/`) and the load
//! suite (`load/`, driven by `src/bin/load.rs` and, in quick mode, by
//! `tests/tests/load_quick.rs`).

pub mod browser;
pub mod load;

use std::sync::Arc;

use control_plane::domains::dns::StaticResolver;
use platform::{config::Settings, testkit::TestDb};

/// Both services, running on random ports over one database of the test's own.
pub struct Platform {
    /// Base URL of the control plane.
    pub control_plane: String,
    /// Base URL of the data plane.
    pub tenant_api: String,
    /// The control plane's state, for operations that have no HTTP endpoint yet.
    pub control: control_plane::startup::AppState,
    /// The data plane's state, for what it has no HTTP endpoint for yet (API keys, quotas).
    pub data: tenant_api::startup::AppState,
    /// The DNS the control plane verifies custom domains against: publish TXT records here.
    pub dns: Arc<StaticResolver>,
    /// HTTP client.
    pub client: reqwest::Client,
    _db: TestDb,
}

impl Platform {
    /// Starts both services, every context mounted.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Starts both services with the test settings as `adjust` changes them.
    pub async fn start_with(adjust: impl Fn(&mut Settings)) -> anyhow::Result<Self> {
        platform::testkit::init_test_tracing();
        let db = TestDb::create().await?;
        let dns = Arc::new(StaticResolver::default());
        let settings = || -> anyhow::Result<Settings> {
            let mut settings = Settings::for_tests(&db.url())?;
            adjust(&mut settings);
            Ok(settings)
        };
        let cp = control_plane::startup::Application::build(
            settings()?,
            control_plane::settings::ControlSettings::for_tests(),
            dns.clone(),
        )
        .await?;
        // The dashboard signs staff in through the control plane's token endpoint.
        let mut data_settings = settings()?;
        data_settings.control_plane_url = Some(format!("http://127.0.0.1:{}", cp.port()));
        let ta = tenant_api::startup::Application::build(data_settings, tenant_api::contexts::Context::ALL).await?;
        let platform = Self {
            control_plane: format!("http://127.0.0.1:{}", cp.port()),
            tenant_api: format!("http://127.0.0.1:{}", ta.port()),
            control: cp.state().clone(),
            data: ta.state().clone(),
            dns,
            client: reqwest::Client::new(),
            _db: db,
        };
        tokio::spawn(cp.run_until(std::future::pending()));
        tokio::spawn(ta.run_until(std::future::pending()));
        Ok(platform)
    }

    /// A control-plane call with an optional bearer token and JSON body; status and
    /// JSON body (`null` when there is none).
    pub async fn control_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let mut request = self.client.request(method.parse()?, format!("{}{path}", self.control_plane));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// GET on the data plane with a store's host.
    pub async fn store_get(&self, host: &str, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.client.get(format!("{}{path}", self.tenant_api)).header("host", host).send().await?)
    }
}
