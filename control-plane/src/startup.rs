//! Building and running the control plane; `main` and the tests share this path.
//! Each context declares the state it needs; [`AppState`] holds everything once
//! and hands each its part through `FromRef`, so no context knows this module.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use axum::{extract::FromRef, Router};
use platform::{
    auth::{KeyRing, Signer, AUDIENCE},
    config::Settings,
    crypto::MasterKeys,
    db::Db,
    edge::EdgeLimit,
    http::{health_router, shutdown_signal, with_common_layers, Health},
    media::MediaStore,
};
use tokio::net::TcpListener;

use crate::{
    admin_pages::AdminPagesState,
    api_keys::ApiKeysState,
    audit::AuditState,
    domains::{dns::TxtResolver, DomainsState},
    identity::{password::Hasher, IdentityState, Tokens},
    settings::ControlSettings,
    signing_keys::SigningKeysState,
    staff::StaffState,
    tenant_settings::TenantSettingsState,
    tenants::{store::Announcer, TenantsState},
};

/// Everything the contexts' states are cut from.
#[derive(Clone)]
pub struct AppState {
    /// Control database and cell pools.
    pub db: Db,
    /// Announcements, OIDC logins, purged stores' keys.
    pub redis: redis::aio::ConnectionManager,
    pub settings: Arc<Settings>,
    pub control: Arc<ControlSettings>,
    /// Seals and opens secrets at rest.
    pub master: Arc<MasterKeys>,
    pub signer: Signer,
    /// Verifies tokens.
    pub keys: KeyRing,
    /// Looks up TXT records for domain verification.
    pub dns: Arc<dyn TxtResolver>,
    /// The one bound on concurrent argon2 work every context hashes under.
    pub hasher: Hasher,
    /// Media storage, for purges.
    pub media: MediaStore,
    /// Outgoing HTTP (media deletes), with a time-out.
    pub http: reqwest::Client,
    /// Sign-in and sign-up requests per client address (`None`: off).
    pub auth_limit: Option<EdgeLimit>,
    /// The admin pages' templates.
    pub templates: platform::templates::Templates,
    /// Signs the admin pages' CSRF tokens (derived from the master key).
    pub page_key: platform::web::PageKey,
}

impl AppState {
    /// Connects to PostgreSQL and Redis, loads the signing key and the bootstrap admin.
    pub async fn connect(
        settings: Settings,
        control: ControlSettings,
        dns: Arc<dyn TxtResolver>,
    ) -> anyhow::Result<Self> {
        let master = settings.master_keys()?;
        let db = Db::connect(&settings.connect_options()?, settings.pool_limits()).await?;
        let redis = settings.redis_manager().await?;
        let signer = Signer::load_or_create(db.control(), &master, &settings.jwt_issuer, AUDIENCE).await?;
        signer.spawn_reload();
        let keys = KeyRing::new(db.control().clone(), &settings.jwt_issuer);
        let hasher = control.hasher();
        let media = MediaStore::from_settings(&settings)?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let auth_limit = EdgeLimit::per_minute(control.edge_auth_per_minute, settings.trusted_proxies()?);
        crate::identity::service::ensure_bootstrap_admin(&db, &control, &hasher).await?;
        let templates = crate::admin_pages::templates()?;
        let page_key = platform::web::PageKey::from_master(&master, "platform-admin-pages");
        let (settings, control, master) = (Arc::new(settings), Arc::new(control), Arc::new(master));
        Ok(Self {
            db,
            redis,
            settings,
            control,
            master,
            signer,
            keys,
            dns,
            hasher,
            media,
            http,
            auth_limit,
            templates,
            page_key,
        })
    }

    fn announcer(&self) -> Announcer {
        Announcer::new(self.redis.clone())
    }

    fn tokens(&self) -> Tokens {
        Tokens::new(self.signer.clone(), &self.control)
    }
}

impl FromRef<AppState> for IdentityState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            keys: state.keys.clone(),
            redis: state.redis.clone(),
            tokens: state.tokens(),
            hasher: state.hasher.clone(),
            settings: state.control.clone(),
        }
    }
}

impl FromRef<AppState> for TenantsState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            redis: state.redis.clone(),
            announcer: state.announcer(),
            settings: state.settings.clone(),
            control: state.control.clone(),
            master: state.master.clone(),
            tokens: state.tokens(),
            hasher: state.hasher.clone(),
            keys: state.keys.clone(),
            media: state.media.clone(),
            http: state.http.clone(),
        }
    }
}

impl FromRef<AppState> for DomainsState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            announcer: state.announcer(),
            dns: state.dns.clone(),
            settings: state.settings.clone(),
            keys: state.keys.clone(),
        }
    }
}

impl FromRef<AppState> for StaffState {
    fn from_ref(state: &AppState) -> Self {
        Self { db: state.db.clone(), keys: state.keys.clone(), hasher: state.hasher.clone() }
    }
}

impl FromRef<AppState> for ApiKeysState {
    fn from_ref(state: &AppState) -> Self {
        Self { db: state.db.clone(), announcer: state.announcer(), keys: state.keys.clone() }
    }
}

impl FromRef<AppState> for TenantSettingsState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            announcer: state.announcer(),
            master: state.master.clone(),
            keys: state.keys.clone(),
            platform_env: state.settings.platform_env,
        }
    }
}

impl FromRef<AppState> for SigningKeysState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            master: state.master.clone(),
            signer: state.signer.clone(),
            keys: state.keys.clone(),
            control: state.control.clone(),
        }
    }
}

impl FromRef<AppState> for AuditState {
    fn from_ref(state: &AppState) -> Self {
        Self { db: state.db.clone(), keys: state.keys.clone() }
    }
}

/// The admin pages call the API in process: the same routes [`router`]
/// serves, without the outer layers their own request already passed.
impl FromRef<AppState> for AdminPagesState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            api: platform::loopback::Loopback::new(anonymous_api(state).merge(api(state))),
            keys: state.keys.clone(),
            db: state.db.clone(),
            templates: state.templates.clone(),
            page_key: state.page_key.clone(),
            cookies: platform::web::Cookies::for_env(state.settings.platform_env),
        }
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
        // The peer address is the sign-in limit's key (`platform::edge`).
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service).with_graceful_shutdown(stop).await?;
        self.state.db.close().await;
        Ok(())
    }
}

/// The whole HTTP surface. Every context mounted here has its part in
/// [`crate::openapi::document`]; each gets its own state, cut from `state`.
/// Sign-in and sign-up, where an anonymous caller makes us hash a password or
/// open a store, are held to the per-client limit (`EDGE_AUTH_PER_MINUTE`).
pub fn router(state: AppState) -> Router {
    let health = health_router(Health { db: state.db.clone(), redis: state.redis.clone() })
        .merge(platform::openapi::router(&crate::openapi::document()));
    let pages = AdminPagesState::from_ref(&state);
    let html = axum::middleware::from_fn(platform::web::html_problems);
    let mut anonymous =
        anonymous_api(&state).merge(crate::admin_pages::sign_in_router().with_state(pages.clone()).layer(html.clone()));
    if let Some(limit) = &state.auth_limit {
        anonymous = anonymous.route_layer(limit.layer());
    }
    let routes = anonymous.merge(api(&state)).merge(crate::admin_pages::router(pages).layer(html));
    with_common_layers(health.merge(routes))
}

/// Sign-in and sign-up: what an anonymous caller can make us hash a password
/// or open a store with.
fn anonymous_api(state: &AppState) -> Router {
    Router::new()
        .merge(crate::identity::sign_in_router().with_state(IdentityState::from_ref(state)))
        .merge(crate::tenants::sign_up_router().with_state(TenantsState::from_ref(state)))
}

/// Every other `/v1` route.
fn api(state: &AppState) -> Router {
    Router::new()
        .merge(crate::identity::router().with_state(IdentityState::from_ref(state)))
        .merge(crate::tenants::router().with_state(TenantsState::from_ref(state)))
        .merge(crate::domains::router().with_state(DomainsState::from_ref(state)))
        .merge(crate::staff::router().with_state(StaffState::from_ref(state)))
        .merge(crate::api_keys::router().with_state(ApiKeysState::from_ref(state)))
        .merge(crate::tenant_settings::router().with_state(TenantSettingsState::from_ref(state)))
        .merge(crate::audit::router().with_state(AuditState::from_ref(state)))
        .merge(crate::signing_keys::router().with_state(SigningKeysState::from_ref(state)))
}
