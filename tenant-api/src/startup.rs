//! Building and running the data plane; `main` and the tests share this path.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{extract::FromRef, middleware, Router};
use platform::{
    auth::{Authenticator, KeyRing, Signer, STOREFRONT_AUDIENCE},
    config::{RateLimitMode, Settings},
    db::Db,
    edge::{EdgeLimit, HostLimit},
    http::{health_router, shutdown_signal, with_front_and, Front, Health, Layers},
    media::MediaStore,
    quotas::{QuotaCache, QUOTA_CACHE_TTL},
    rate_limit::RateLimits,
    settings::{PaymentSettingsCache, PAYMENT_SETTINGS_TTL},
    tenancy::{TenantGateLayer, TenantResolver},
};
use tokio::net::TcpListener;

pub use crate::state::{AppState, Parts};
use crate::{
    catalog::{self, cache::StorefrontCache, CatalogState},
    contexts::Context,
    inventory::InventoryState,
    payments::{breaker::Breakers, test_provider::TestProvider, PaymentProvider},
    settings::CommerceSettings,
};

impl AppState {
    /// Connects to PostgreSQL and Redis and starts following tenant announcements.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        Self::connect_with(settings, Arc::new(TestProvider)).await
    }

    /// [`Self::connect`] with another provider in the built-in provider's
    /// place (stores set to `test` charge and refund through it): how a
    /// provider outside this crate is run end to end against the trait.
    pub async fn connect_with(settings: Settings, built_in: Arc<dyn PaymentProvider>) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.connect_options()?, settings.pool_limits()).await?;
        let client = settings.redis_client()?;
        let redis = settings.redis_manager().await?;
        let resolver = TenantResolver::with_lookup_budget(
            db.control().clone(),
            &settings.platform_domain,
            settings.tenant_cache_ttl(),
            settings.edge_host_lookups_per_second,
        );
        let edge = EdgeLimit::per_second(settings.edge_requests_per_second, settings.trusted_proxies()?);
        let edge_host = HostLimit::per_second(settings.edge_host_requests_per_second);
        // Staff tokens are only verified here: with the control plane's JWKS
        // when `JWKS_URL` is set, else from the control database.
        let keys = match &settings.jwks_url {
            Some(url) => KeyRing::from_jwks(url, &settings.jwt_issuer)?,
            None => KeyRing::new(db.control().clone(), &settings.jwt_issuer),
        };
        let auth = Authenticator::new(db.control().clone(), keys);
        let hook_auth = auth.clone();
        // A revoked API key is announced as a change of its store.
        resolver.on_change(Arc::new(move |change| {
            hook_auth.forget_tenant_keys(platform::ids::TenantId::from_uuid(change.tenant_id))
        }));
        // A plan change is announced as a change of its store.
        let quotas = QuotaCache::new(db.control().clone(), QUOTA_CACHE_TTL);
        quotas.follow(&resolver);
        // After the quotas' hook, so a limiter rebuilt on a plan change reads the new quota.
        let rate_limits = RateLimits::new(quotas.clone(), settings.rate_limit_replicas());
        rate_limits.follow(&resolver);
        let master = settings.master_keys()?;
        // Shopper tokens only: this process never reads a staff key's private half.
        let signer = Signer::load_or_create(db.control(), &master, &settings.jwt_issuer, STOREFRONT_AUDIENCE).await?;
        signer.spawn_reload();
        let commerce = CommerceSettings::from_env()?;
        let breakers = Breakers::new(commerce.breaker());
        let senders = crate::notifications::Senders::from_settings(&commerce, &settings.platform_domain)?;
        resolver.spawn_listener(client.clone());
        let storefront_cache = StorefrontCache::new(redis.clone(), commerce.storefront_cache_bytes);
        storefront_cache.spawn_listener(client);
        let media = MediaStore::from_settings(&settings)?;
        if !resolver.wait_subscribed(Duration::from_secs(5)).await
            || !storefront_cache.wait_subscribed(Duration::from_secs(5)).await
        {
            anyhow::bail!("cannot subscribe to announcements in Redis");
        }
        // A store's name or branding is part of its cached pages: its
        // announcement drops them with the names cached for the pages.
        let store_fronts = crate::web::store::StoreFronts::new(db.clone(), &resolver);
        let hook_cache = storefront_cache.clone();
        resolver.on_change(Arc::new(move |change| {
            hook_cache.forget(platform::ids::TenantId::from_uuid(change.tenant_id));
        }));
        let page_key = platform::web::PageKey::from_master(&master, "storefront");
        let catalog = CatalogState::new(catalog::state::Parts {
            db: db.clone(),
            storefront_cache: storefront_cache.clone(),
            media: media.clone(),
            quotas: quotas.clone(),
            auth: auth.clone(),
        });
        let dashboard = crate::dashboard::DashboardParts::new(&settings)?;
        let master = Arc::new(master);
        let payment_settings = PaymentSettingsCache::new(db.clone(), master.clone(), PAYMENT_SETTINGS_TTL);
        payment_settings.follow(&resolver);
        let message_stores = crate::notifications::messages::service::Stores::new(
            100_000,
            crate::notifications::messages::service::STORES_TTL,
        );
        message_stores.follow(&resolver);
        Ok(Self(Arc::new(Parts {
            db,
            redis,
            resolver,
            auth,
            quotas,
            rate_limits,
            edge,
            edge_host,
            settings: Arc::new(settings),
            storefront_cache,
            media,
            commerce: Arc::new(commerce.clone()),
            signer,
            master,
            hasher: commerce.hasher(),
            payments: built_in,
            breakers,
            payment_settings,
            catalog,
            senders,
            message_stores,
            dashboard,
            page_key,
            store_fronts,
        })))
    }
}

impl FromRef<AppState> for CatalogState {
    fn from_ref(state: &AppState) -> Self {
        state.catalog.clone()
    }
}

impl FromRef<AppState> for InventoryState {
    fn from_ref(state: &AppState) -> Self {
        InventoryState { db: state.db.clone(), auth: state.auth.clone() }
    }
}

/// A bound, not yet running, data-plane server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Connects, binds `TENANT_API_ADDR` (port 0 picks a free one) and mounts
    /// the given contexts.
    pub async fn build(settings: Settings, contexts: &[Context]) -> anyhow::Result<Self> {
        Self::build_with(settings, contexts, Arc::new(TestProvider)).await
    }

    /// [`Self::build`] with `built_in` in the built-in test provider's place
    /// (see [`AppState::connect_with`]).
    pub async fn build_with(
        settings: Settings,
        contexts: &[Context],
        built_in: Arc<dyn PaymentProvider>,
    ) -> anyhow::Result<Self> {
        let addr = settings.tenant_api_addr;
        let state = AppState::connect_with(settings, built_in).await?;
        let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let router = router(state.clone(), contexts);
        Ok(Self { listener, router, state })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// The shared state, for tests that reach behind the API.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM/SIGINT, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves, then drains in-flight requests.
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        tracing::info!(addr = %self.listener.local_addr()?, "tenant-api listening");
        // The peer address is the edge limit's key (`platform::edge`).
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service).with_graceful_shutdown(stop).await?;
        self.state.db.close().await;
        Ok(())
    }
}

/// `tenant-api worker`: the jobs of [`crate::worker::run`] until `stop`
/// resolves, and meanwhile `/healthz`, `/readyz` and `/metrics` on `listener`
/// (`WORKER_ADDR`) for the kubelet's probes and Prometheus: the worker's job
/// metrics (`worker_job_duration_seconds`, `worker_job_failures_total`) live
/// in its own process, so without this listener nothing could scrape them.
/// It serves nothing else: no store is reachable through it.
pub async fn run_worker(
    state: AppState,
    listener: TcpListener,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "worker health listening");
    let health = health_router(Health { db: state.db.clone(), redis: state.redis.clone() });
    let (stopped_tx, mut stopped_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(async move {
        let stopped = async move {
            // An error means the sender is gone: stop as well.
            let _ = stopped_rx.wait_for(|stopped| *stopped).await;
        };
        axum::serve(listener, health).with_graceful_shutdown(stopped).await
    });
    // Probes keep answering while the jobs drain, so the pod stays ready
    // until the process ends.
    let result = crate::worker::run(state, stop).await;
    stopped_tx.send_replace(true);
    server.await.context("the worker health server panicked")?.context("the worker health server failed")?;
    result
}

/// The whole HTTP surface: health endpoints and the OpenAPI document (any
/// host, never limited by a store's plan), then every mounted context behind
/// tenant resolution and the store's rate limit; in front of all of it, before
/// any other layer, the per-client edge limit (`EDGE_REQUESTS_PER_SECOND`).
pub fn router(state: AppState, contexts: &[Context]) -> Router {
    // The stores' limits, applied by the gate and by the warm reads in front of it.
    let limits = (state.settings.rate_limits == RateLimitMode::On).then(|| state.rate_limits.clone());
    let stores = contexts.iter().fold(Router::new(), |router, context| {
        // Tenant resolution, then the store's rate limit, as one route layer
        // (`TenantGate`): each route layer is one more boxed service that
        // axum clones, with everything inside it, on every call.
        // route_layer: only matched routes resolve a store; unknown paths stay plain 404s.
        let gate = TenantGateLayer::new(state.resolver.clone(), limits.clone());
        let mut routes = context.router(&state).route_layer(gate);
        if *context == Context::Pages {
            // Outside resolution and the limit: their refusals (404, 423, 429, 503) become pages.
            routes = routes.route_layer(middleware::from_fn(platform::web::html_problems));
        }
        router.merge(routes)
    });
    let health = health_router(Health { db: state.db.clone(), redis: state.redis.clone() })
        .merge(platform::openapi::router(&crate::openapi::document(contexts)));
    // In front of everything else: one store's flood, from one address or
    // many, is refused before request ids, spans, metrics or Host resolution
    // cost anything; and around every limit, the edge's and the stores', a
    // refusal is held back. One wrapping with the shared layers.
    let front = Front {
        edge: state.edge.clone(),
        edge_host: state.edge_host.clone(),
        refusal_delay: Duration::from_millis(state.settings.edge_refusal_delay_ms),
    };
    // Between the guards and the router: warm storefront reads answered from
    // the cache with the gate's own resolution and limit, without the route.
    let warm = contexts
        .contains(&Context::Catalog)
        .then(|| crate::catalog::WarmReadsLayer::new(state.storefront_cache.clone(), state.resolver.clone(), limits));
    with_front_and(health.merge(stores), Layers::ALL, &front, tower::util::option_layer(warm))
}

// Each context's state, derived from the app's once when its router is
// mounted (axum's `FromRef`) and cloned for every request: plain structs of
// handles (pools, connection managers, `Arc`s), so a clone allocates nothing
// and the contexts never see `AppState`.

impl FromRef<AppState> for crate::payments::PaymentsState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            master: state.master.clone(),
            test_provider: state.payments.clone(),
            settings: state.settings.clone(),
            breakers: state.breakers.clone(),
            payment_settings: state.payment_settings.clone(),
        }
    }
}

impl FromRef<AppState> for crate::cart::CartState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            redis: state.redis.clone(),
            ttls: crate::cart::model::Ttls {
                guest: state.commerce.guest_cart_ttl_secs,
                customer: state.commerce.customer_cart_ttl_secs,
            },
            auth: state.auth.clone(),
        }
    }
}

impl FromRef<AppState> for crate::customers::CustomersState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            signer: state.signer.clone(),
            master: state.master.clone(),
            tokens: crate::customers::TokenTtls {
                access: state.commerce.customer_access_token_ttl_secs,
                refresh: state.commerce.customer_refresh_token_ttl_secs,
            },
            cart: FromRef::from_ref(state),
            auth: state.auth.clone(),
            hasher: state.hasher.clone(),
        }
    }
}

impl FromRef<AppState> for crate::checkout::CheckoutState {
    fn from_ref(state: &AppState) -> Self {
        Self { db: state.db.clone(), auth: state.auth.clone() }
    }
}

impl FromRef<AppState> for crate::orders::OrdersState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            redis: state.redis.clone(),
            cart: FromRef::from_ref(state),
            payments: FromRef::from_ref(state),
            reservation_ttl_secs: state.commerce.reservation_ttl_secs,
            idempotency_lease_secs: state.commerce.idempotency_lease_secs,
            auth: state.auth.clone(),
        }
    }
}

impl FromRef<AppState> for crate::notifications::NotificationsState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            auth: state.auth.clone(),
            master: state.master.clone(),
            allow_private_targets: state.settings.webhook_allow_private_targets,
            senders: state.senders.clone(),
            stores: state.message_stores.clone(),
        }
    }
}

impl FromRef<AppState> for crate::web::WebState {
    fn from_ref(state: &AppState) -> Self {
        Self {
            catalog: state.catalog.clone(),
            cart: FromRef::from_ref(state),
            customers: FromRef::from_ref(state),
            orders: FromRef::from_ref(state),
            payments: FromRef::from_ref(state),
            auth: state.auth.clone(),
            key: state.page_key.clone(),
            cookies: platform::web::Cookies::for_env(state.settings.platform_env),
            stores: state.store_fronts.clone(),
        }
    }
}

impl FromRef<AppState> for crate::worker::attempts::Policy {
    fn from_ref(state: &AppState) -> Self {
        Self::from(&*state.commerce)
    }
}

impl FromRef<AppState> for crate::worker::WorkerState {
    fn from_ref(state: &AppState) -> Self {
        let settings = crate::notifications::delivery::DeliverySettings::new(
            &state.commerce,
            state.settings.webhook_allow_private_targets,
        );
        Self {
            payments: FromRef::from_ref(state),
            commerce: state.commerce.clone(),
            deliverer: Arc::new(crate::notifications::delivery::Deliverer::with_messages(
                settings,
                crate::notifications::NotificationsState::from_ref(state),
            )),
            events: crate::outbox::nats::EventStream::new(&state.commerce).map(Arc::new),
        }
    }
}

/// The dashboard calls the store's API contexts in process (every one,
/// whichever this replica mounts for the outside), behind none of the outer
/// layers: its own request already passed tenant resolution and the limits.
impl FromRef<AppState> for crate::dashboard::DashboardState {
    fn from_ref(state: &AppState) -> Self {
        let api = Context::ALL
            .iter()
            .filter(|context| context.is_api())
            .fold(Router::new(), |router, context| router.merge(context.router(state)));
        Self {
            api: platform::loopback::Loopback::new(api),
            control: state.dashboard.control.clone(),
            templates: state.dashboard.templates.clone(),
            uploads: state.dashboard.uploads.clone(),
            page_key: state.page_key.clone(),
            cookies: platform::web::Cookies::for_env(state.settings.platform_env),
        }
    }
}

/// For the outbox relay, which needs only the cells.
impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
