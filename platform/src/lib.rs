//! Shared kernel of the commerce platform.
//!
//! Both services build on these pieces and nothing else reaches the database,
//! Redis or the wire format directly:
//! - [`config`]: typed settings from the environment.
//! - [`db`]: database cells, migrations, and the two ways into data:
//!   [`db::TenantTx`] (the only path to tenant-owned rows) and [`db::SystemTx`]
//!   (the explicitly named cross-tenant path).
//! - [`tenancy`]: tenant ids, Host → tenant resolution with a cache that the
//!   control plane's announcements invalidate.
//! - [`problem`]: RFC 9457 errors and the JSON extractor that produces them.
//! - [`extract`]: the extractors handlers share (JSON bodies, optional bodies,
//!   queries, pages) and the list envelope.
//! - [`http`]: request ids, tracing spans, metrics, health endpoints, serving
//!   with graceful shutdown.
//! - [`announce`]: Redis pub/sub between replicas, for cache invalidation.
//! - [`loopback`]: pages calling their own service's JSON API in process.
//! - [`media`]: object storage (local directory or S3) with presigned uploads.
//! - [`memory`]: how the services' memory is paged (no transparent huge pages).
//! - [`telemetry`]: JSON logs.
//! - [`templates`]: the compiled-in templates of server-rendered pages.
//! - [`settings`], [`quotas`]: what the control plane decides per store
//!   (payment and notification settings, plan quotas), as the data plane reads it.
//! - [`store_cache`]: per-store values from the control database, cached
//!   in-process and dropped on the store's announcement.
//! - [`rate_limit`]: per-store request rate limits from the plan's quota.
//! - [`edge`]: the client address (`TRUSTED_PROXIES`) and per-client limits
//!   in front of everything else.
//! - [`web`]: server-rendered pages: CSRF tokens, cookies, HTML responses with
//!   `ETag`/`304`, form bodies, problem answers as HTML.
//!
//! House style wants a doc comment on every `pub` item here; the lint below
//! holds us to it.

#![warn(missing_docs)]

pub mod announce;
pub mod auth;
pub mod aws_credentials;
pub mod config;
pub mod credentials;
pub mod crypto;
pub mod db;
pub mod edge;
pub mod extract;
pub mod http;
pub mod ids;
pub mod loopback;
pub mod media;
pub mod memory;
pub mod money;
pub mod openapi;
pub mod password;
pub mod problem;
pub mod quotas;
pub mod rate_limit;
pub mod settings;
pub mod store_cache;
pub mod telemetry;
pub mod templates;
pub mod tenancy;
pub mod web;

#[cfg(feature = "testkit")]
pub mod testkit;

/// The hasher of the in-process caches a request looks up on its way
/// (tenant by host, rate limiter, storefront responses): foldhash, seeded per
/// process. moka's default is SipHash, which cost about 1,800 instructions of
/// a warm storefront read's 46,000 over its four look-ups (BENCHMARKS.md,
/// round seven). Keys a client chooses (hosts, paths) stay unpredictable to
/// it: the seed is random.
pub type CacheHasher = foldhash::fast::RandomState;
