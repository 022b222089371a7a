//! Building and running the control plane; `main` and the tests share this path.

use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use platform::{
    config::Settings,
    db::Db,
    http::{health_router, shutdown_signal, with_common_layers, Health},
};
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Control database and cell pools.
    pub db: Db,
    /// Redis: announcements and idempotency keys.
    pub redis: redis::aio::ConnectionManager,
    /// Configuration.
    pub settings: Arc<Settings>,
}

impl AppState {
    /// Connects to PostgreSQL and Redis.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.connect_options()?, settings.db_max_connections).await?;
        let redis =
            redis::aio::ConnectionManager::new(settings.redis_client()?).await.context("cannot connect to Redis")?;
        Ok(Self { db, redis, settings: Arc::new(settings) })
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
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let addr = settings.control_plane_addr;
        let state = AppState::connect(settings).await?;
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

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let health = health_router(Health { db: state.db.clone(), redis: state.redis.clone() });
    with_common_layers(health)
}
