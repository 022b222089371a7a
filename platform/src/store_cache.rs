//! What the data plane keeps per store from the control database (payment
//! settings, a store's name and theme, how its messages are sent): one
//! in-process cache per kind, each entry dropped as soon as the control plane
//! announces a change of its store, and kept at most a TTL if an announcement
//! is missed.
//!
//! **Invariant:** a read that began before an announcement is not cached
//! after it. Every [`StoreCache::forget`] bumps a generation before the entry
//! goes, and a miss inserts what it read only if the generation is the one it
//! started under; the next read goes to the database instead.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use moka::future::Cache;

use crate::{ids::TenantId, tenancy::TenantResolver};

/// One kind of per-store value, cached. Cheap to clone (clones share entries).
pub struct StoreCache<V> {
    cache: Cache<TenantId, Arc<V>>,
    forgotten: Arc<AtomicU64>,
}

// Not derived: a clone shares the entries, whether or not `V` is `Clone`.
impl<V> Clone for StoreCache<V> {
    fn clone(&self) -> Self {
        Self { cache: self.cache.clone(), forgotten: self.forgotten.clone() }
    }
}

impl<V: Send + Sync + 'static> StoreCache<V> {
    /// An empty cache of at most `capacity` stores, each kept at most `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        let cache = Cache::builder().max_capacity(capacity).time_to_live(ttl).support_invalidation_closures().build();
        Self { cache, forgotten: Arc::new(AtomicU64::new(0)) }
    }

    /// Drops a store's entry whenever `resolver` receives an announcement for it.
    pub fn follow(&self, resolver: &TenantResolver) {
        let cache = self.clone();
        resolver.on_change(Arc::new(move |change| cache.forget(TenantId::from_uuid(change.tenant_id))));
    }

    /// The store's value: cached, else what `read` finds (kept unless the
    /// store was forgotten meanwhile). `None` (no such store) is not kept.
    pub async fn get_or_read<F>(&self, tenant: TenantId, read: F) -> anyhow::Result<Option<Arc<V>>>
    where
        F: Future<Output = anyhow::Result<Option<V>>>,
    {
        if let Some(found) = self.cache.get(&tenant).await {
            return Ok(Some(found));
        }
        let generation = self.forgotten.load(Ordering::Acquire);
        let Some(read) = read.await?.map(Arc::new) else { return Ok(None) };
        if self.forgotten.load(Ordering::Acquire) == generation {
            self.cache.insert(tenant, read.clone()).await;
        }
        Ok(Some(read))
    }

    /// Drops a store's entry; the next read goes to the database.
    pub fn forget(&self, tenant: TenantId) {
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        // A predicate rather than `invalidate`: the hooks that call this are synchronous.
        if self.cache.invalidate_entries_if(move |id, _| *id == tenant).is_err() {
            self.cache.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_that_began_before_a_forget_is_returned_but_not_kept() {
        let cache = StoreCache::<u32>::new(10, Duration::from_secs(60));
        let tenant = TenantId::from_uuid(uuid::Uuid::now_v7());
        let read = cache.get_or_read(tenant, async {
            cache.forget(tenant); // the announcement lands while the read runs
            Ok(Some(1))
        });
        assert_eq!(read.await.unwrap().as_deref(), Some(&1));
        let again = cache.get_or_read(tenant, async { Ok(Some(2)) }).await.unwrap();
        assert_eq!(again.as_deref(), Some(&2), "the stale read was not kept");
        let cached = cache.get_or_read(tenant, async { Ok(Some(3)) }).await.unwrap();
        assert_eq!(cached.as_deref(), Some(&2), "an undisturbed read is kept");
        cache.forget(tenant);
        assert_eq!(cache.get_or_read(tenant, async { Ok(None) }).await.unwrap(), None);
        let missing = cache.get_or_read(tenant, async { Ok(Some(4)) }).await.unwrap();
        assert_eq!(missing.as_deref(), Some(&4), "no such store is not kept");
    }
}
