//! Prices the services' middleware one layer at a time. Serves the same
//! product-list bytes on consecutive ports, each step adding one layer of what
//! a warm storefront read goes through, so `wrk` against each port (with the
//! bench's Lua script spreading Host over every store) shows what each costs:
//!
//! | port     | step                                                        |
//! |----------|-------------------------------------------------------------|
//! | base + 0 | bare handler: moka look-up of the Host, cached bytes back   |
//! | base + 1 | + request id (set and echoed)                               |
//! | base + 2 | + request span                                              |
//! | base + 3 | + failure log + metrics (every shared layer)                |
//! | base + 4 | + tenant resolution (moka; control database on a miss)      |
//! | base + 5 | + the store's rate limit (moka + GCRA; needs a large plan)  |
//!
//! The real warm product list on tenant-api is the next step: the storefront
//! handler (query parsing, cache key, generation and response look-ups).
//!
//!     DATABASE_URL=… PLATFORM_DOMAIN=localhost layers --hosts-file hosts.txt --body-file list.json

use std::path::PathBuf;

use anyhow::Context as _;
use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use clap::Parser;
use moka::future::Cache;
use platform::{
    config::Settings,
    db::Db,
    http::{with_layers, Layers},
    ids::TenantId,
    quotas::{QuotaCache, QUOTA_CACHE_TTL},
    rate_limit::RateLimits,
    telemetry,
    tenancy::{TenantCtx, TenantGateLayer, TenantResolver},
};

/// Same allocator as the services, so the steps compare with them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Cli {
    /// Stores' hosts: the first word of each line (the bench's `host handle` file).
    #[arg(long)]
    hosts_file: PathBuf,
    /// The bytes every step answers with (a real product-list response).
    #[arg(long)]
    body_file: PathBuf,
    /// The first port; the steps take the next five too.
    #[arg(long, default_value_t = 18100)]
    base_port: u16,
}

#[derive(Clone)]
struct ByHost(Cache<String, Bytes>);

#[derive(Clone)]
struct ByTenant(Cache<TenantId, Bytes>, Bytes);

async fn by_host(State(ByHost(cache)): State<ByHost>, headers: HeaderMap) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    match cache.get(host).await {
        Some(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn by_tenant(State(ByTenant(cache, body)): State<ByTenant>, tenant: TenantCtx) -> Response {
    let body = cache.get_with(tenant.0.id, async { body }).await;
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    telemetry::init_subscriber(telemetry::get_subscriber("warn", settings.log_format, std::io::stdout));
    platform::http::prometheus();
    let body = Bytes::from(std::fs::read(&cli.body_file).with_context(|| format!("{}", cli.body_file.display()))?);
    let hosts = std::fs::read_to_string(&cli.hosts_file)?;
    let by_host_cache = Cache::new(1_000_000);
    for host in hosts.lines().filter_map(|l| l.split_whitespace().next()) {
        by_host_cache.insert(host.to_owned(), body.clone()).await;
    }
    let db = Db::connect(&settings.connect_options()?, settings.pool_limits()).await?;
    let resolver = TenantResolver::new(db.control().clone(), &settings.platform_domain, settings.tenant_cache_ttl());

    let bare = || Router::new().route("/store/products", get(by_host)).with_state(ByHost(by_host_cache.clone()));
    let quotas = QuotaCache::new(db.control().clone(), QUOTA_CACHE_TTL);
    let limits = RateLimits::new(quotas, std::num::NonZeroU32::MIN);
    let by_tenant_cache = ByTenant(Cache::new(1_000_000), body);
    let resolved = |limited: bool| {
        Router::new()
            .route("/store/products", get(by_tenant))
            .route_layer(TenantGateLayer::new(resolver.clone(), limited.then(|| limits.clone())))
            .with_state(by_tenant_cache.clone())
    };
    let steps = [
        ("bare handler", with_layers(bare(), Layers::NONE)),
        ("+ request id", with_layers(bare(), Layers { request_id: true, ..Layers::NONE })),
        ("+ request span", with_layers(bare(), Layers { request_id: true, trace: true, ..Layers::NONE })),
        ("+ failure log + metrics", with_layers(bare(), Layers::ALL)),
        ("+ tenant resolution", with_layers(resolved(false), Layers::ALL)),
        ("+ rate limit", with_layers(resolved(true), Layers::ALL)),
    ];
    let mut servers = Vec::new();
    for (offset, (name, router)) in (0u16..).zip(steps) {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], cli.base_port + offset));
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot bind {addr}"))?;
        println!("{addr} {name}");
        servers.push(tokio::spawn(async move { axum::serve(listener, router).await }));
    }
    platform::http::shutdown_signal().await;
    Ok(())
}
