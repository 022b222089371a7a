//! The storefront cache: finished response bodies of catalog reads, per store.
//!
//! Keyed by (store, generation, path and query). Every catalog write of a store
//! moves the store to a new generation, here and, through a Redis announcement
//! on [`CATALOG_CHANGES_CHANNEL`], in every other replica; entries of older
//! generations are never read again and age out.
//!
//! A generation (rather than deleting entries) closes a race: a read that began
//! before a write took the old generation, so what it stores after the write
//! lands under the old generation and no later reader sees it.
//!
//! Generations come from one process-wide counter, so a store whose generation
//! was evicted gets a number never used before, not a reused one.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, PoisonError, RwLock,
    },
    time::Duration,
};

use axum::body::Bytes;
use moka::future::Cache;
use platform::{ids::TenantId, CacheHasher};
use tokio::sync::watch;

/// Redis channel on which replicas announce catalog writes (payload: the store id,
/// then the announcing cache's origin id).
pub const CATALOG_CHANGES_CHANNEL: &str = "platform:catalog-changes";

/// Upper bound on staleness if an announcement is lost while subscribed.
const TTL: Duration = Duration::from_secs(300);

type Key = (TenantId, u64, String);

/// What an entry costs beyond its path and body, estimated: moka's entry
/// and its eviction bookkeeping, the key's fixed part and the `Bytes` handle.
/// Weighed in, so many small entries cannot hold far more than `max_bytes`.
/// (Under churn a full cache still costs about twice its weighed bytes in RSS:
/// freed bodies leave partly used allocator pages, and evictions trail
/// inserts; BENCHMARKS.md, round three.)
const ENTRY_OVERHEAD: usize = 320;

/// The most stores whose generation a replica keeps (about 40 bytes each).
const MAX_GENERATIONS: usize = 1_000_000;

/// Where a body loaded after a miss is kept (nothing when the cache is off).
pub struct Slot(Option<Key>);

/// Cached storefront responses of every store. Cheap to clone.
#[derive(Clone)]
pub struct StorefrontCache {
    responses: Cache<Key, Bytes, CacheHasher>,
    /// Each store's generation, once it has one. A map under a read-write
    /// lock, not a moka cache: every read looks its store up here, and moka's
    /// look-up (its eviction policy's bookkeeping) cost about 700 instructions
    /// of a warm read where a read lock and a hash cost about 100. Its size is
    /// the number of stores this replica served, and it is emptied (every
    /// store moved on) past [`MAX_GENERATIONS`].
    generations: Arc<RwLock<HashMap<TenantId, u64, CacheHasher>>>,
    counter: Arc<AtomicU64>,
    redis: redis::aio::ConnectionManager,
    subscribed: watch::Sender<bool>,
    resets: Arc<AtomicU64>,
    enabled: bool,
    /// This cache's id in its announcements (`<store> <origin>`), so it skips
    /// the echo of its own.
    origin: Arc<str>,
    /// `storefront_cache_hits_total` and `_misses_total`, registered once
    /// (a registry look-up per read otherwise).
    hits: metrics::Counter,
    misses: metrics::Counter,
}

impl StorefrontCache {
    /// A cache of at most `max_bytes` of response bodies; 0 turns it off (every
    /// read loads).
    pub fn new(redis: redis::aio::ConnectionManager, max_bytes: u64) -> Self {
        // The recorder is installed before handles are taken from it.
        platform::http::prometheus();
        let responses = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &Key, value: &Bytes| {
                u32::try_from(key.2.capacity() + value.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
            })
            .time_to_live(TTL)
            .build_with_hasher(CacheHasher::default());
        Self {
            responses,
            generations: Arc::default(),
            counter: Arc::new(AtomicU64::new(1)),
            redis,
            subscribed: watch::channel(false).0,
            resets: Arc::new(AtomicU64::new(0)),
            enabled: max_bytes > 0,
            origin: uuid::Uuid::now_v7().simple().to_string().into(),
            hits: metrics::counter!("storefront_cache_hits_total"),
            misses: metrics::counter!("storefront_cache_misses_total"),
        }
    }

    fn generation(&self, tenant: TenantId) -> u64 {
        if let Some(generation) = self.generations.read().unwrap_or_else(PoisonError::into_inner).get(&tenant) {
            return *generation;
        }
        let mut generations = self.generations.write().unwrap_or_else(PoisonError::into_inner);
        if generations.len() >= MAX_GENERATIONS {
            // Every store gets a new generation: a flush, never a stale read.
            generations.clear();
        }
        *generations.entry(tenant).or_insert_with(|| self.counter.fetch_add(1, Ordering::Relaxed))
    }

    /// The cached body for `path` (path and query) of the store, or the one `load`
    /// produces, which is kept when it succeeds.
    pub async fn get_or_load<E>(
        &self,
        tenant: TenantId,
        path: impl Into<String>,
        load: impl std::future::Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        match self.lookup(tenant, path).await {
            Ok(body) => Ok(body),
            Err(slot) => self.fill(slot, load).await,
        }
    }

    /// The cached body for `path` of the store, or the [`Slot`] where the body
    /// loaded on a miss goes ([`StorefrontCache::fill`]). For handlers that do
    /// work (parsing, validation) only on a miss: a cached body was produced
    /// by a request that passed it. `path` is taken by value: the key keeps it,
    /// and callers build it per request, so borrowing would copy it again.
    pub async fn lookup(&self, tenant: TenantId, path: impl Into<String>) -> Result<Bytes, Slot> {
        if !self.enabled {
            return Err(Slot(None));
        }
        // Taken before loading: see the module docs.
        let key = (tenant, self.generation(tenant), path.into());
        if let Some(body) = self.responses.get(&key).await {
            self.hits.increment(1);
            return Ok(body);
        }
        self.misses.increment(1);
        Err(Slot(Some(key)))
    }

    /// The cached body for `path` of the store, if there is one. A miss is not
    /// counted: the caller hands the request on to its handler, whose
    /// [`StorefrontCache::lookup`] counts it.
    pub async fn peek(&self, tenant: TenantId, path: String) -> Option<Bytes> {
        if !self.enabled {
            return None;
        }
        let body = self.responses.get(&(tenant, self.generation(tenant), path)).await?;
        self.hits.increment(1);
        Some(body)
    }

    /// Runs `load` and keeps its body, when it succeeds, in `slot`.
    pub async fn fill<E>(
        &self,
        slot: Slot,
        load: impl std::future::Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        let body = load.await?;
        if let Some(mut key) = slot.0 {
            // A body serialized into a growing buffer keeps that buffer's
            // capacity, up to twice its length: what is kept is an exact copy,
            // so the bytes weighed are the bytes held.
            key.2.shrink_to_fit();
            self.responses.insert(key, Bytes::copy_from_slice(&body)).await;
            // What the cache holds, against `STOREFRONT_CACHE_BYTES` (moka's
            // count, which trails its pending evictions by a little).
            metrics::gauge!("storefront_cache_weighed_bytes").set(self.responses.weighted_size() as f64);
        }
        Ok(body)
    }

    /// Drops the store's cached responses in this replica only.
    pub fn forget(&self, tenant: TenantId) {
        let next = self.counter.fetch_add(1, Ordering::Relaxed);
        self.generations.write().unwrap_or_else(PoisonError::into_inner).insert(tenant, next);
    }

    /// Drops the store's cached responses here and announces it to every replica.
    /// Call after the write committed. A failed announcement is logged, not
    /// returned: the write happened, and other replicas' entries expire by TTL.
    pub async fn invalidate(&self, tenant: TenantId) {
        self.forget(tenant);
        let mut redis = self.redis.clone();
        let payload = format!("{tenant} {}", self.origin);
        if let Err(e) = platform::announce::publish(&mut redis, CATALOG_CHANGES_CHANNEL, &payload).await {
            tracing::warn!(error = %format!("{e:#}"), "cannot announce a catalog change");
        }
    }

    /// Follows other replicas' announcements; see [`platform::announce`].
    pub fn spawn_listener(&self, client: redis::Client) -> tokio::task::JoinHandle<()> {
        platform::announce::spawn_follower(client, CATALOG_CHANGES_CHANNEL, self.clone(), self.subscribed.clone())
    }

    /// How many times everything was dropped (each (re)subscription to the
    /// announcements, or a malformed one): tests use it to tell a reset from a leak.
    pub fn resets(&self) -> u64 {
        self.resets.load(Ordering::Relaxed)
    }

    /// Waits until the listener is subscribed (or `timeout` passes).
    pub async fn wait_subscribed(&self, timeout: Duration) -> bool {
        platform::announce::wait_subscribed(&self.subscribed, timeout).await
    }
}

impl platform::announce::Follower for StorefrontCache {
    async fn apply(&self, payload: String) {
        let mut words = payload.split_whitespace();
        match (words.next().and_then(TenantId::parse), words.next()) {
            // Our own announcement: the write already moved the store on here, and
            // the echo may arrive after a newer page was cached (which it would drop).
            (Some(_), Some(origin)) if origin == &*self.origin => {}
            (Some(tenant), _) => self.forget(tenant),
            (None, _) => {
                tracing::warn!("malformed catalog change; dropping the whole storefront cache");
                self.reset();
            }
        }
    }

    fn reset(&self) {
        // New generations for everyone: every entry cached so far is unreachable.
        self.resets.fetch_add(1, Ordering::Relaxed);
        self.generations.write().unwrap_or_else(PoisonError::into_inner).clear();
        self.responses.invalidate_all();
    }
}
