//! End-to-end journeys across both services (in `tests/tests/`) and the load
//! suite (`load/`, driven by `src/bin/load.rs` and, in quick mode, by
//! `tests/tests/load_quick.rs`).

pub mod load;

use platform::{config::Settings, testkit::TestDb};

/// Both services, running on random ports over one database of the test's own.
pub struct Platform {
    /// Base URL of the control plane.
    pub control_plane: String,
    /// Base URL of the data plane.
    pub tenant_api: String,
    /// The control plane's state, for operations that have no HTTP endpoint yet.
    pub control: control_plane::startup::AppState,
    /// HTTP client.
    pub client: reqwest::Client,
    _db: TestDb,
}

impl Platform {
    /// Starts both services, every context mounted.
    pub async fn start() -> anyhow::Result<Self> {
        platform::testkit::init_test_tracing();
        let db = TestDb::create().await?;
        let cp = control_plane::startup::Application::build(
            Settings::for_tests(&db.url())?,
            control_plane::settings::ControlSettings::for_tests(),
            std::sync::Arc::new(control_plane::domains::dns::StaticResolver::default()),
        )
        .await?;
        let ta = tenant_api::startup::Application::build(Settings::for_tests(&db.url())?, tenant_api::contexts::Context::ALL)
            .await?;
        let platform = Self {
            control_plane: format!("http://127.0.0.1:{}", cp.port()),
            tenant_api: format!("http://127.0.0.1:{}", ta.port()),
            control: cp.state().clone(),
            client: reqwest::Client::new(),
            _db: db,
        };
        tokio::spawn(cp.run_until(std::future::pending()));
        tokio::spawn(ta.run_until(std::future::pending()));
        Ok(platform)
    }

    /// GET on the data plane with a store's host.
    pub async fn store_get(&self, host: &str, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.client.get(format!("{}{path}", self.tenant_api)).header("host", host).send().await?)
    }
}
