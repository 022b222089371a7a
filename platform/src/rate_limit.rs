//! Per-store request rate limits on the data plane, from each store's plan.
//!
//! One GCRA limiter (`governor`) per store, built from the plan's
//! `requests_per_second` with a burst of one second's worth, and kept in a
//! moka cache keyed by store. tower-governor, the usual tower wrapper around
//! the same engine, gives every key one quota; ours differ per plan, so the
//! keying lives here.
//!
//! **Hot path.** A request of a store whose limiter is cached costs one
//! synchronous cache lookup and one atomic compare-and-swap: no Redis, no
//! database, no allocation. Only the first request of a store (or the first
//! after its limiter expired or its change was announced) awaits the quota,
//! through [`QuotaCache`]. Enforced by [`crate::tenancy::TenantGate`], right
//! after the store is resolved.
//!
//! **Per replica.** The state is in-process, so each replica enforces
//! `requests_per_second / replicas` (at least 1): with the gateway spreading a
//! store's requests over `RATE_LIMIT_REPLICAS` replicas, the store gets about
//! its plan's rate in total.
//!
//! **Fails open.** When the quota cannot be read (control database down), the
//! store is served unlimited for [`QUOTA_CACHE_TTL`] and a warning is logged:
//! refusing every store's requests because the registry is unreachable would
//! turn a control-plane outage into a data-plane one.

use std::{
    num::NonZeroU32,
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{
    body::Body,
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::Response,
};
use governor::{clock::Clock, DefaultDirectRateLimiter, Quota};
use moka::sync::Cache;

use crate::{
    ids::TenantId,
    problem::{Problem, PROBLEM_JSON},
    quotas::{QuotaCache, QUOTA_CACHE_TTL},
    tenancy::TenantResolver,
};

/// `RateLimit-Limit`: the requests per second this replica allows the store.
pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`: always 0 on a 429.
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");

/// What a store is held to on this replica.
#[derive(Clone)]
enum Entry {
    /// Requests per second enforced here, and the limiter enforcing it.
    Limited(NonZeroU32, Arc<DefaultDirectRateLimiter>),
    /// Not limited: the quota could not be read, or the store is gone.
    Open,
}

/// A request refused because its store is over its rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimited {
    /// Requests per second this replica allows the store.
    pub limit: u32,
    /// How long until one more request would be allowed.
    pub retry_after: Duration,
}

impl RateLimited {
    /// `Retry-After` in whole seconds: rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }
}

impl axum::response::IntoResponse for RateLimited {
    /// `429` problem (`/problems/rate-limited`) with `Retry-After`,
    /// `RateLimit-Limit` and `RateLimit-Remaining: 0`.
    fn into_response(self) -> Response {
        // A flooding store is answered with this many times a second, so the
        // body (the same for every store) is serialized once.
        static BODY: OnceLock<Vec<u8>> = OnceLock::new();
        let detail =
            "This store is receiving more requests than its plan allows; retry after the seconds in Retry-After.";
        let mut response = too_many_requests(&BODY, detail, self.retry_after_secs());
        let headers = response.headers_mut();
        headers.insert(RATELIMIT_LIMIT, HeaderValue::from(self.limit));
        headers.insert(RATELIMIT_REMAINING, HeaderValue::from_static("0"));
        response
    }
}

/// Rate limiters per store. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct RateLimits(Arc<Inner>);

struct Inner {
    quotas: QuotaCache,
    limiters: Cache<TenantId, Entry, crate::CacheHasher>,
    replicas: NonZeroU32,
}

impl RateLimits {
    /// Limits read through `quotas`, each divided among `replicas` replicas.
    pub fn new(quotas: QuotaCache, replicas: NonZeroU32) -> Self {
        // An open entry lives as long as a limiter: while the control database
        // is down, each lookup waits for the pool's acquire timeout, so an
        // outage costs each store one slow request per TTL.
        let limiters = Cache::builder()
            .max_capacity(1_000_000)
            .time_to_live(QUOTA_CACHE_TTL)
            .build_with_hasher(crate::CacheHasher::default());
        Self(Arc::new(Inner { quotas, limiters, replicas }))
    }

    /// Drops a store's limiter whenever `resolver` receives an announcement for
    /// it (a plan change is one). Register it after [`QuotaCache::follow`]:
    /// hooks run in order, and a limiter rebuilt between the two would read the
    /// old quota back from the quota cache.
    pub fn follow(&self, resolver: &TenantResolver) {
        let limits = self.clone();
        resolver.on_change(Arc::new(move |change| limits.forget(TenantId::from_uuid(change.tenant_id))));
    }

    /// Drops a store's limiter; its next request reads the quota again and
    /// starts with a full burst.
    pub fn forget(&self, tenant: TenantId) {
        self.0.limiters.invalidate(&tenant);
    }

    /// Takes one request from the store's allowance. `None` when the store has
    /// no limiter here yet: call [`RateLimits::check`].
    pub fn check_cached(&self, tenant: TenantId) -> Option<Result<(), RateLimited>> {
        self.0.limiters.get(&tenant).map(|entry| check(&entry))
    }

    /// Takes one request from the store's allowance, reading its quota first if
    /// needed. Concurrent first requests of a store share one limiter.
    pub async fn check(&self, tenant: TenantId) -> Result<(), RateLimited> {
        if let Some(decision) = self.check_cached(tenant) {
            return decision;
        }
        let loaded = match self.0.quotas.get(tenant).await {
            Ok(Some(quotas)) => {
                let limit = per_replica(quotas.requests_per_second, self.0.replicas);
                Entry::Limited(limit, Arc::new(DefaultDirectRateLimiter::direct(Quota::per_second(limit))))
            }
            // Resolved a moment ago, gone now: its next request is a 404.
            Ok(None) => Entry::Open,
            Err(e) => {
                tracing::warn!(tenant_id = %tenant, error = %format!("{e:#}"), "cannot read the store's quota; not limiting it for now");
                Entry::Open
            }
        };
        // Whoever inserts first wins, so racing first requests draw from one allowance.
        check(&self.0.limiters.get_with(tenant, || loaded))
    }
}

fn check(entry: &Entry) -> Result<(), RateLimited> {
    match entry {
        Entry::Open => Ok(()),
        Entry::Limited(limit, limiter) => limiter.check().map_err(|not_until| RateLimited {
            limit: limit.get(),
            retry_after: not_until.wait_time_from(limiter.clock().now()),
        }),
    }
}

/// A plan's requests per second as one of `replicas` replicas enforces them:
/// divided evenly, at least 1.
pub fn per_replica(requests_per_second: u32, replicas: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(requests_per_second / replicas).unwrap_or(NonZeroU32::MIN)
}

/// A `429` `/problems/rate-limited` with `detail` and `Retry-After`, its body
/// serialized once into `body` (refusals come by the thousand a second).
pub(crate) fn too_many_requests(
    body: &'static OnceLock<Vec<u8>>,
    detail: &'static str,
    retry_after_secs: u64,
) -> Response {
    let body = body.get_or_init(|| {
        let problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too many requests", detail);
        serde_json::to_vec(&problem.body()).expect("problem serializes")
    });
    let mut response = Response::new(Body::from(body.as_slice()));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_replica_enforces_its_share_and_at_least_one() {
        let replicas = |n| NonZeroU32::new(n).unwrap();
        assert_eq!(per_replica(50, replicas(1)).get(), 50);
        assert_eq!(per_replica(50, replicas(4)).get(), 12);
        assert_eq!(per_replica(5, replicas(10)).get(), 1);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_never_zero() {
        let after = |retry_after| RateLimited { limit: 5, retry_after }.retry_after_secs();
        assert_eq!(after(Duration::ZERO), 1);
        assert_eq!(after(Duration::from_millis(20)), 1);
        assert_eq!(after(Duration::from_secs(1)), 1);
        assert_eq!(after(Duration::from_millis(1001)), 2);
    }

    #[test]
    fn a_limiter_allows_one_seconds_worth_at_once_then_refuses() {
        let limit = NonZeroU32::new(5).unwrap();
        let entry = Entry::Limited(limit, Arc::new(DefaultDirectRateLimiter::direct(Quota::per_second(limit))));
        for _ in 0..5 {
            assert_eq!(check(&entry), Ok(()));
        }
        let refused = check(&entry).unwrap_err();
        assert_eq!(refused.limit, 5);
        assert!(refused.retry_after <= Duration::from_millis(200), "{refused:?}");
        assert_eq!(check(&Entry::Open), Ok(()));
    }

    #[tokio::test]
    async fn a_store_whose_quota_cannot_be_read_is_served_and_not_looked_up_again_at_once() {
        // Nothing listens on port 1: every quota lookup fails.
        let control = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(200))
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        let limits = RateLimits::new(QuotaCache::new(control, QUOTA_CACHE_TTL), NonZeroU32::MIN);
        let store = TenantId::new();
        for _ in 0..10 {
            assert_eq!(limits.check(store).await, Ok(()));
        }
        assert!(matches!(limits.0.limiters.get(&store), Some(Entry::Open)));
        assert_eq!(limits.check_cached(store), Some(Ok(())));
    }
}
