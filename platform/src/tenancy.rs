//! Tenants as the data plane sees them, and Host → tenant resolution.
//!
//! Every data-plane request names its store by `Host`: `<slug>.<platform domain>`
//! or a verified custom domain. Resolution is cached in-process (moka); the
//! control plane announces every change to a tenant on a Redis channel and every
//! replica drops the affected entries at once, so a suspension takes effect
//! everywhere within the time a Redis message takes.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::Context;
use axum::{
    extract::{FromRequestParts, Request},
    http::request::Parts,
    response::{IntoResponse, Response},
};
use governor::{DefaultDirectRateLimiter, Quota};
use moka::{future::Cache, Expiry};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::{ids::TenantId, money::Currency, problem::Problem, CacheHasher};

/// Redis channel on which the control plane announces tenant changes.
pub const TENANT_CHANGES_CHANNEL: &str = "platform:tenant-changes";

/// Lifecycle state of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantStatus {
    /// Registered, cell not yet prepared: answers as if it did not exist.
    Provisioning,
    /// Serving shoppers and staff.
    Active,
    /// Every `/store` and `/admin` request answers 423.
    Suspended,
    /// Soft-deleted: answers as if it did not exist.
    Deleted,
}

impl TenantStatus {
    /// Parses the registry's status column.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "provisioning" => Some(Self::Provisioning),
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }

    /// The registry's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Provisioning => "provisioning",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }
}

/// A resolved store: what a request needs to reach its data.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// The store's id; every tenant-owned row carries it.
    pub id: TenantId,
    /// Sub-domain label under the platform domain.
    pub slug: String,
    /// Whether requests are served (only `Active`), refused with 423 or not found.
    pub status: TenantStatus,
    /// The cell (database) holding the store's rows.
    pub cell_id: String,
    /// Plan name; quotas hang off it.
    pub plan: String,
    /// The one currency of every price, cart and order of the store.
    pub currency: Currency,
    /// The store's locale (BCP 47, e.g. `en-US`): its language for search and text.
    pub locale: String,
}

/// A change to a tenant, as announced by the control plane.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TenantChange {
    /// The tenant that changed; followers drop what they cached of it (quotas, API keys).
    pub tenant_id: uuid::Uuid,
    /// Hosts whose cached resolution must be dropped (slug host, custom domains,
    /// including ones just added, so cached "unknown host" answers go too).
    pub hosts: Vec<String>,
}

/// Publishes a tenant change to every data-plane replica.
pub async fn announce_change(redis: &mut redis::aio::ConnectionManager, change: &TenantChange) -> anyhow::Result<()> {
    let payload = serde_json::to_string(change)?;
    crate::announce::publish(redis, TENANT_CHANGES_CHANNEL, &payload).await.context("cannot announce a tenant change")
}

/// Lower-cases a `Host` value and strips the port and one trailing dot.
/// `None` unless what is left is a DNS name: at most 253 characters, labels
/// of 1 to 63 letters, digits and inner dashes, a top-level label that is not
/// all digits (`10.0.0.1` is an address, never a store).
pub fn normalize_host(raw: &str) -> Option<String> {
    normalized_host(raw).map(std::borrow::Cow::into_owned)
}

/// [`normalize_host`], borrowing `raw` when it is already normal (lower case,
/// no port, no trailing dot), as nearly every request's `Host` is: a look-up
/// by host then copies nothing.
fn normalized_host(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let raw = raw.trim();
    if raw.starts_with('[') {
        // IPv6 literal: never a store.
        return None;
    }
    let host = match raw.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => raw,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    Some(if dns_name(host.as_bytes())? {
        std::borrow::Cow::Owned(host.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(host)
    })
}

/// Whether `host` has upper case, if it is a DNS name (labels of 1 to 63
/// letters, digits and inner dashes, at most 253 bytes, a last label not all
/// digits); else `None`. One pass over the bytes: every request checks its
/// host, and the split-and-check version cost about 1,000 instructions of a
/// warm read's 35,000 (BENCHMARKS.md, round eleven).
fn dns_name(host: &[u8]) -> Option<bool> {
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    let (mut start, mut upper, mut digits) = (0, false, true);
    for (i, &b) in host.iter().enumerate() {
        match b {
            b'.' => {
                if i == start || i - start > 63 || host[i - 1] == b'-' {
                    return None;
                }
                (start, digits) = (i + 1, true);
            }
            b'-' if i == start => return None,
            b'0'..=b'9' => {}
            b'a'..=b'z' | b'-' => digits = false,
            b'A'..=b'Z' => (upper, digits) = (true, false),
            _ => return None,
        }
    }
    let last = host.len() - start;
    (last > 0 && last <= 63 && host[host.len() - 1] != b'-' && !digits).then_some(upper)
}

/// Whether `slug` could be a store's slug (3 to 63 characters of `a-z`, `0-9`
/// and inner dashes, as the control plane allows): anything else is not
/// looked up.
fn could_be_slug(slug: &str) -> bool {
    (3..=63).contains(&slug.len()) && !slug.contains('.')
}

type Entry = Option<Arc<Tenant>>;

/// Known hosts live for the configured TTL; unknown hosts only briefly, so a typo'd
/// host cannot pin memory and a new store is found even if an announcement is lost.
struct EntryExpiry {
    known: Duration,
    unknown: Duration,
}

impl Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _key: &String, value: &Entry, _now: std::time::Instant) -> Option<Duration> {
        Some(if value.is_some() { self.known } else { self.unknown })
    }
}

/// A host the registry was not asked about, because this replica's budget of
/// lookups for hosts it has not resolved before is spent
/// (`EDGE_HOST_LOOKUPS_PER_SECOND`). A `503` with `Retry-After: 1`.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("too many new hosts to look up right now")]
pub struct HostLookupsBusy;

/// How long a host that resolved to a store stays exempt from the lookup
/// budget after its last resolution.
const KNOWN_HOST_TTL: Duration = Duration::from_secs(24 * 3600);

/// Resolves hosts to tenants through the registry, with an in-process cache.
///
/// **Unknown hosts are bounded.** A host that cannot name a store (not a DNS
/// name, a slug the control plane would refuse, the platform domain itself)
/// is unknown without a query. Any other host not in the cache costs one
/// registry lookup, drawn from a budget per replica (GCRA, a second's worth
/// at once); past it the request is refused with [`HostLookupsBusy`] and
/// nothing is cached. Hosts that resolved to a store within the last day, and
/// hosts named by an announcement, never wait for the budget: a flood of
/// random hosts costs the registry at most the budget and never turns a real
/// store away, even one whose cache entry has just expired or been dropped.
///
/// Cheap to clone: one `Arc`. The resolving middleware clones its state on
/// every request, and a struct of five shared handles cost five contended
/// atomic increments and decrements per request (about 1.5 % of a warm read's
/// CPU in the profile).
#[derive(Clone)]
pub struct TenantResolver(Arc<Resolver>);

struct Resolver {
    cache: Cache<String, Entry, CacheHasher>,
    control: PgPool,
    platform_suffix: String,
    subscribed: watch::Sender<bool>,
    hooks: std::sync::RwLock<Vec<ChangeHook>>,
    /// Hosts that resolved to a store lately, or were announced: exempt from `budget`.
    known: moka::sync::Cache<String, (), CacheHasher>,
    /// Registry lookups per second for other hosts; `None` is unbounded.
    budget: Option<DefaultDirectRateLimiter>,
    /// Registry lookups made, for tests and `tenant_registry_lookups_total`.
    lookups: AtomicU64,
    /// `tenant_cache_hits_total` and `_misses_total`, registered once (a
    /// registry look-up with the name hashed on every request otherwise).
    hits: metrics::Counter,
    misses: metrics::Counter,
}

/// Called with every announced tenant change (after the host cache dropped it),
/// so other per-tenant caches of the process can drop theirs.
pub type ChangeHook = Arc<dyn Fn(&TenantChange) + Send + Sync>;

impl TenantResolver {
    /// A resolver reading the registry in `control`, for stores under
    /// `platform_domain`, with no bound on lookups of new hosts.
    pub fn new(control: PgPool, platform_domain: &str, ttl: Duration) -> Self {
        Self::with_lookup_budget(control, platform_domain, ttl, 0)
    }

    /// [`Self::new`] spending at most `lookups_per_second` registry lookups
    /// per second on hosts not resolved lately (0: unbounded).
    pub fn with_lookup_budget(control: PgPool, platform_domain: &str, ttl: Duration, lookups_per_second: u32) -> Self {
        let cache = Cache::builder()
            .max_capacity(1_000_000)
            .expire_after(EntryExpiry { known: ttl, unknown: ttl.min(Duration::from_secs(5)) })
            .support_invalidation_closures()
            .build_with_hasher(CacheHasher::default());
        // The recorder is installed before handles are taken from it.
        crate::http::prometheus();
        Self(Arc::new(Resolver {
            cache,
            control,
            platform_suffix: format!(".{}", platform_domain.to_ascii_lowercase()),
            subscribed: watch::channel(false).0,
            hooks: std::sync::RwLock::default(),
            known: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_idle(KNOWN_HOST_TTL)
                .build_with_hasher(CacheHasher::default()),
            budget: std::num::NonZeroU32::new(lookups_per_second)
                .map(|rate| DefaultDirectRateLimiter::direct(Quota::per_second(rate))),
            lookups: AtomicU64::new(0),
            hits: metrics::counter!("tenant_cache_hits_total"),
            misses: metrics::counter!("tenant_cache_misses_total"),
        }))
    }

    /// Registry lookups this resolver has made since it started.
    pub fn registry_lookups(&self) -> u64 {
        self.0.lookups.load(Ordering::Relaxed)
    }

    /// Whether `host` (normalized) could name a store at all: a possible slug
    /// under the platform domain, or a custom domain (two labels at least,
    /// not under the platform domain, which the control plane refuses).
    fn could_name_a_store(&self, host: &str) -> bool {
        match host.strip_suffix(self.0.platform_suffix.as_str()) {
            Some(slug) => could_be_slug(slug),
            None => host.contains('.') && host != &self.0.platform_suffix[1..],
        }
    }

    /// The tenant a `Host` header names, if any, in any status.
    pub async fn resolve(&self, raw_host: &str) -> anyhow::Result<Option<Arc<Tenant>>> {
        let Some(host) = normalized_host(raw_host).filter(|host| self.could_name_a_store(host)) else {
            return Ok(None);
        };
        if let Some(entry) = self.0.cache.get(host.as_ref()).await {
            self.0.hits.increment(1);
            return Ok(entry);
        }
        self.0.misses.increment(1);
        let host = host.into_owned();
        // Concurrent misses for one host share a single registry lookup.
        self.0.cache.try_get_with(host.clone(), self.lookup(host)).await.map_err(|e| {
            match e.downcast_ref::<HostLookupsBusy>() {
                Some(busy) => anyhow::Error::new(*busy),
                None => anyhow::anyhow!("tenant lookup failed: {e:#}"),
            }
        })
    }

    /// Asks the registry, within the budget unless `host` is known.
    async fn lookup(&self, host: String) -> anyhow::Result<Entry> {
        if let Some(budget) = &self.0.budget {
            if !self.0.known.contains_key(&host) && budget.check().is_err() {
                metrics::counter!("tenant_lookups_refused_total").increment(1);
                return Err(HostLookupsBusy.into());
            }
        }
        self.0.lookups.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("tenant_registry_lookups_total").increment(1);
        let entry = self.query(&host).await?;
        if entry.is_some() {
            self.0.known.insert(host, ());
        }
        Ok(entry)
    }

    async fn query(&self, host: &str) -> anyhow::Result<Entry> {
        type Row = (uuid::Uuid, String, String, String, String, String, String);
        const COLUMNS: &str = "t.tenant_id, t.slug, t.status, t.cell_id, t.plan, t.currency, t.locale";
        let row: Option<Row> = match host.strip_suffix(self.0.platform_suffix.as_str()) {
            Some(slug) if !slug.contains('.') => {
                sqlx::query_as(&format!("select {COLUMNS} from control.tenant t where t.slug = $1"))
                    .bind(slug)
                    .fetch_optional(&self.0.control)
                    .await?
            }
            _ => {
                sqlx::query_as(&format!(
                    "select {COLUMNS} from control.tenant_domain d join control.tenant t using (tenant_id) \
                     where d.host = $1 and d.verified_at is not null"
                ))
                .bind(host)
                .fetch_optional(&self.0.control)
                .await?
            }
        };
        let Some((id, slug, status, cell_id, plan, currency, locale)) = row else {
            return Ok(None);
        };
        Ok(Some(Arc::new(Tenant {
            id: TenantId::from_uuid(id),
            slug,
            status: TenantStatus::parse(&status).with_context(|| format!("unknown tenant status {status}"))?,
            cell_id,
            plan,
            currency: Currency::parse(currency.trim()).with_context(|| format!("bad currency {currency}"))?,
            locale,
        })))
    }

    /// Registers a hook run on every announced change.
    pub fn on_change(&self, hook: ChangeHook) {
        self.0.hooks.write().expect("hooks poisoned").push(hook);
    }

    /// Drops every cached host of a changed tenant, then runs the hooks.
    pub async fn apply(&self, change: &TenantChange) {
        let id = TenantId::from_uuid(change.tenant_id);
        for host in &change.hosts {
            if let Some(host) = normalize_host(host) {
                self.0.cache.invalidate(&host).await;
                // The control plane vouches for it: its next lookup is not
                // held to the budget (a store just opened, a domain just verified).
                self.0.known.insert(host, ());
            }
        }
        // Custom domains the announcement did not list still carry the tenant id.
        if let Err(e) = self.0.cache.invalidate_entries_if(move |_, entry| entry.as_ref().is_some_and(|t| t.id == id)) {
            tracing::warn!(error = %e, "cannot invalidate cached tenants");
            self.0.cache.invalidate_all();
        }
        let hooks = self.0.hooks.read().expect("hooks poisoned").clone();
        for hook in hooks {
            hook(change);
        }
    }

    /// Follows the control plane's announcements for as long as the process runs,
    /// reconnecting after errors. Everything cached is dropped on every (re)subscribe,
    /// since announcements made while disconnected were missed.
    pub fn spawn_listener(&self, client: redis::Client) -> tokio::task::JoinHandle<()> {
        crate::announce::spawn_follower(client, TENANT_CHANGES_CHANNEL, self.clone(), self.0.subscribed.clone())
    }

    /// Waits until the listener is subscribed (or `timeout` passes), so a service
    /// does not start serving while blind to announcements.
    pub async fn wait_subscribed(&self, timeout: Duration) -> bool {
        crate::announce::wait_subscribed(&self.0.subscribed, timeout).await
    }
}

impl crate::announce::Follower for TenantResolver {
    async fn apply(&self, payload: String) {
        match serde_json::from_str::<TenantChange>(&payload) {
            Ok(change) => TenantResolver::apply(self, &change).await,
            Err(e) => {
                tracing::warn!(error = %e, "malformed tenant change; dropping the whole cache");
                self.0.cache.invalidate_all();
            }
        }
    }

    fn reset(&self) {
        self.0.cache.invalidate_all();
    }
}

/// The store a request was resolved to. Put in request extensions by
/// [`TenantGate`]; handlers take it as an extractor.
#[derive(Clone, Debug)]
pub struct TenantCtx(pub Arc<Tenant>);

impl<S: Send + Sync> FromRequestParts<S> for TenantCtx {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        parts
            .extensions
            .get::<TenantCtx>()
            .cloned()
            .ok_or_else(|| Problem::internal(anyhow::anyhow!("route mounted without tenant resolution")))
    }
}

/// Tenant resolution and, inside it, the store's rate limit, as one route
/// layer: resolve the request's store from `Host` or refuse the request, then
/// take one request from the store's allowance (when `limits` is set).
///
/// Unknown (or deleted) store → 404; suspended → 423; a new host past the
/// lookup budget ([`HostLookupsBusy`]) → 503 `overloaded` with `Retry-After: 1`;
/// over the plan's rate → 429 ([`crate::rate_limit::RateLimited`]). The limit
/// keys on the resolved store, so an unknown host is a 404, never a 429.
/// Records `tenant_id` on the request span.
///
/// A plain service with one boxed future per request, rather than
/// `middleware::from_fn` plus a limit layer: `from_fn` splits and rebuilds
/// the request for its extractors, boxes a `Next` and the rest of the stack,
/// and each route layer is one more boxed service axum clones per call.
#[derive(Clone)]
pub struct TenantGateLayer {
    resolver: TenantResolver,
    limits: Option<crate::rate_limit::RateLimits>,
}

impl TenantGateLayer {
    /// Resolves through `resolver`, then applies `limits` (none: unlimited).
    pub fn new(resolver: TenantResolver, limits: Option<crate::rate_limit::RateLimits>) -> Self {
        Self { resolver, limits }
    }
}

impl<S> tower::Layer<S> for TenantGateLayer {
    type Service = TenantGate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TenantGate { inner, resolver: self.resolver.clone(), limits: self.limits.clone() }
    }
}

/// The service [`TenantGateLayer`] wraps routes in.
#[derive(Clone)]
pub struct TenantGate<S> {
    inner: S,
    resolver: TenantResolver,
    limits: Option<crate::rate_limit::RateLimits>,
}

impl<S> tower::Service<Request> for TenantGate<S>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Response, std::convert::Infallible>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was polled ready goes into the future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (resolver, limits) = (self.resolver.clone(), self.limits.clone());
        Box::pin(async move {
            // Resolved in front of the router already (a shortcut that found
            // nothing to answer with, [`open_store`]): only the limit is left.
            let resolved = request.extensions().get::<TenantCtx>().map(|ctx| ctx.0.clone());
            let admitted = match resolved {
                Some(tenant) => within_limit(limits.as_ref(), tenant).await,
                None => match open_store(&resolver, request.headers(), request.uri()).await {
                    Ok(tenant) => within_limit(limits.as_ref(), tenant).await,
                    Err(refusal) => Err(refusal),
                },
            };
            match admitted {
                Ok(tenant) => {
                    request.extensions_mut().insert(TenantCtx(tenant));
                    inner.call(request).await
                }
                Err(refusal) => Ok(refusal),
            }
        })
    }
}

/// `tenant` if it is within its rate (one request taken from its allowance
/// when `limits` is set); else the `429`.
pub async fn within_limit(
    limits: Option<&crate::rate_limit::RateLimits>,
    tenant: Arc<Tenant>,
) -> Result<Arc<Tenant>, Response> {
    if let Some(limits) = limits {
        limits.check(tenant.id).await.map_err(IntoResponse::into_response)?;
    }
    Ok(tenant)
}

/// The store a request (its `headers` and `uri`) names, if it is active;
/// else the refusal [`TenantGate`] answers with (no such store `404`,
/// suspended `423`, host lookups busy `503`). Records `tenant_id` on the
/// request span. A service in front of the router that resolves a request
/// itself puts the store in the request's extensions as [`TenantCtx`] before
/// handing it on, and the gate then only applies the limit.
pub async fn open_store(
    resolver: &TenantResolver,
    headers: &http::HeaderMap,
    uri: &http::Uri,
) -> Result<Arc<Tenant>, Response> {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or_default();
    let tenant = match resolver.resolve(host).await {
        Ok(Some(tenant)) if matches!(tenant.status, TenantStatus::Active | TenantStatus::Suspended) => tenant,
        Ok(_) => return Err(Problem::not_found("store-not-found", "No store answers on this host.").into_response()),
        Err(e) if e.is::<HostLookupsBusy>() => {
            let detail = "Too many new hosts are being looked up; retry in a second.";
            return Err(Problem::overloaded(detail, 1).into_response());
        }
        Err(e) => return Err(Problem::internal(e).into_response()),
    };
    tracing::Span::current().record("tenant_id", tracing::field::display(tenant.id));
    if tenant.status == TenantStatus::Suspended {
        let locked =
            Problem::new(http::StatusCode::LOCKED, "store-suspended", "Store suspended", "This store is suspended.");
        return Err(locked.into_response());
    }
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::normalize_host;

    #[test]
    fn hosts_are_lower_cased_and_lose_port_and_trailing_dot() {
        assert_eq!(normalize_host("Demo.LocalHost:8000").as_deref(), Some("demo.localhost"));
        assert_eq!(normalize_host("shop.example.com.").as_deref(), Some("shop.example.com"));
        assert_eq!(normalize_host("shop.example.com").as_deref(), Some("shop.example.com"));
        for kept in ["a-b.x1.com", "123.example.com", "x.io", "shop-42.EXAMPLE.co"] {
            assert_eq!(normalize_host(kept), Some(kept.to_ascii_lowercase()), "{kept}");
        }
    }

    #[test]
    fn hosts_that_cannot_name_a_store_are_rejected() {
        let long_label = format!("{}.example.com", "a".repeat(64));
        let long_host = format!("{}.com", "abcdefghi.".repeat(25));
        for bad in [
            "",
            "[::1]:8000",
            "a b.example.com",
            "x/y",
            "evil.com%00",
            "a..b.example.com",
            ".example.com",
            "-shop.example.com",
            "shop-.example.com",
            "shop.-example.com",
            "shop.example-.com",
            "shop.example.123",
            "shop.example.com-",
            "shop_1.example.com",
            "shop.example.com..",
            "10.0.0.1",
            "10.0.0.1:8000",
            "café.example.com",
            &long_label,
            &long_host,
        ] {
            assert_eq!(normalize_host(bad), None, "{bad:?}");
        }
        let longest_label = format!("{}.example.com", "a".repeat(63));
        assert_eq!(normalize_host(&longest_label), Some(longest_label.clone()));
        assert_eq!(normalize_host("1shop.example.com").as_deref(), Some("1shop.example.com"));
    }
}

#[cfg(test)]
mod budget_tests {
    use std::time::Duration;

    use super::{HostLookupsBusy, TenantResolver};

    fn unreachable_registry() -> sqlx::PgPool {
        // Nothing listens on port 1: every lookup that is made fails.
        sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(200))
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap()
    }

    #[tokio::test]
    async fn hosts_that_cannot_name_a_store_are_unknown_without_a_lookup() {
        let resolver =
            TenantResolver::with_lookup_budget(unreachable_registry(), "shop.test", Duration::from_secs(300), 2);
        for host in ["shop.test", "ab.shop.test", "a.b.shop.test", "localhost", "10.0.0.1", "bad_host.example.com"] {
            assert!(resolver.resolve(host).await.unwrap().is_none(), "{host}");
        }
        assert_eq!(resolver.registry_lookups(), 0);
    }

    #[tokio::test]
    async fn new_hosts_past_the_budget_are_refused_without_a_lookup() {
        let resolver =
            TenantResolver::with_lookup_budget(unreachable_registry(), "shop.test", Duration::from_secs(300), 2);
        for host in ["abc.shop.test", "www.example.com"] {
            let failed = resolver.resolve(host).await.unwrap_err();
            assert!(!failed.is::<HostLookupsBusy>(), "{failed:#}");
        }
        assert_eq!(resolver.registry_lookups(), 2);
        let refused = resolver.resolve("other.example.com").await.unwrap_err();
        assert!(refused.is::<HostLookupsBusy>(), "{refused:#}");
        assert_eq!(resolver.registry_lookups(), 2);
    }
}
