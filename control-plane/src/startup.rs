//! Building and running the control plane; `main` and the tests share this path.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use platform::{
    auth::{KeyRing, Signer},
    config::Settings,
    crypto::MasterKeys,
    db::Db,
    http::{health_router, shutdown_signal, with_common_layers, Health},
};
use tokio::net::TcpListener;

use crate::{domains::dns::TxtResolver, settings::ControlSettings};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Control database and cell pools.
    pub db: Db,
    /// Redis: announcements, OIDC logins.
    pub redis: redis::aio::ConnectionManager,
    /// Shared configuration.
    pub settings: Arc<Settings>,
    /// Control-plane configuration.
    pub control: Arc<ControlSettings>,
    /// Seals and opens secrets at rest.
    pub master: MasterKeys,
    /// Signs tokens.
    pub signer: Signer,
    /// Verifies tokens.
    pub keys: KeyRing,
    /// Looks up TXT records for domain verification.
    pub dns: Arc<dyn TxtResolver>,
}

impl AppState {
    /// Connects to PostgreSQL and Redis, loads the signing key and the bootstrap admin.
    pub async fn connect(
        settings: Settings,
        control: ControlSettings,
        dns: Arc<dyn TxtResolver>,
    ) -> anyhow::Result<Self> {
        let master = settings.master_keys()?;
        let db = Db::connect(&settings.connect_options()?, settings.db_max_connections).await?;
        let redis =
            redis::aio::ConnectionManager::new(settings.redis_client()?).await.context("cannot connect to Redis")?;
        let signer = Signer::load_or_create(db.control(), &master, &settings.jwt_issuer).await?;
        let keys = KeyRing::new(db.control().clone(), &settings.jwt_issuer);
        let state =
            Self { db, redis, settings: Arc::new(settings), control: Arc::new(control), master, signer, keys, dns };
        crate::identity::service::ensure_bootstrap_admin(&state).await?;
        Ok(state)
    }
}

/// A bound, not yet running, control-plane server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects and binds `CONTROL_PLANE_ADDR` (port 0 picks a free one).
    pub async fn build(
        settings: Settings,
        control: ControlSettings,
        dns: Arc<dyn TxtResolver>,
    ) -> anyhow::Result<Self> {
        let addr = settings.control_plane_addr;
        let state = AppState::connect(settings, control, dns).await?;
        let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let router = router(state.clone());
        Ok(Self { listener, router, state })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM/SIGINT, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves, then drains in-flight requests.
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        tracing::info!(addr = %self.listener.local_addr()?, "control-plane listening");
        axum::serve(self.listener, self.router).with_graceful_shutdown(stop).await?;
        self.state.db.close().await;
        Ok(())
    }
}

/// The whole HTTP surface. Every context mounted here has its part in
/// [`crate::openapi::document`].
pub fn router(state: AppState) -> Router {
    let health = health_router(Health { db: state.db.clone(), redis: state.redis.clone() })
        .merge(platform::openapi::router(&crate::openapi::document()));
    let api = Router::new()
        .merge(crate::identity::router())
        .merge(crate::tenants::router())
        .merge(crate::domains::router())
        .merge(crate::staff::router())
        .merge(crate::api_keys::router())
        .merge(crate::tenant_settings::router())
        .merge(crate::audit::router())
        .with_state(state);
    with_common_layers(health.merge(api))
}
