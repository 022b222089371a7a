//! A store's plan quotas (requests per second, products, staff seats), read from
//! the control database.
//!
//! The control plane enforces them inside its own transactions with
//! [`plan_quotas`]. The data plane reads them on hot paths (rate limits, product
//! counts) through [`QuotaCache`]: cached per store for a short time and dropped
//! as soon as the control plane announces a change of the store (a plan change
//! is one), like the tenant cache.

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use sqlx::{PgExecutor, PgPool};

use crate::{ids::TenantId, tenancy::TenantResolver};

/// How long the data plane keeps a store's quotas without an announcement.
pub const QUOTA_CACHE_TTL: Duration = Duration::from_secs(30);

/// The limits of a store's plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// The plan's id (`control.plan.plan_id`) they come from.
    pub plan: String,
    /// Sustained requests per second the data plane serves the store.
    pub requests_per_second: u32,
    /// Products the store may hold.
    pub max_products: u32,
    /// Members (owners, admins and staff) the store may have.
    pub max_staff: u32,
}

/// The quotas of `tenant`'s plan, uncached; `None` when there is no such store.
/// Takes a pool or a connection, so the control plane can read them in the
/// transaction that enforces them.
pub async fn plan_quotas<'e>(db: impl PgExecutor<'e>, tenant: TenantId) -> anyhow::Result<Option<Quotas>> {
    let row: Option<(String, i32, i32, i32)> = sqlx::query_as(
        "select p.plan_id, p.requests_per_second, p.max_products, p.max_staff \
         from control.tenant t join control.plan p on p.plan_id = t.plan where t.tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(db)
    .await?;
    row.map(|(plan, rps, products, staff)| {
        // The plan table's checks keep these positive.
        Ok(Quotas {
            plan,
            requests_per_second: u32::try_from(rps)?,
            max_products: u32::try_from(products)?,
            max_staff: u32::try_from(staff)?,
        })
    })
    .transpose()
}

/// Quotas per store, cached in-process for [`QUOTA_CACHE_TTL`] and dropped when
/// the store's change is announced. Cheap to clone.
#[derive(Clone)]
pub struct QuotaCache {
    control: PgPool,
    cache: Cache<TenantId, Option<Arc<Quotas>>>,
}

impl QuotaCache {
    /// A cache over the control database keeping entries for `ttl`.
    pub fn new(control: PgPool, ttl: Duration) -> Self {
        let cache = Cache::builder().max_capacity(1_000_000).time_to_live(ttl).support_invalidation_closures().build();
        Self { control, cache }
    }

    /// Drops a store's entry whenever `resolver` receives an announcement for it.
    pub fn follow(&self, resolver: &TenantResolver) {
        let quotas = self.clone();
        resolver.on_change(Arc::new(move |change| quotas.forget(TenantId::from_uuid(change.tenant_id))));
    }

    /// The store's quotas; `None` when there is no such store. Concurrent misses
    /// for one store share a single query.
    pub async fn get(&self, tenant: TenantId) -> anyhow::Result<Option<Arc<Quotas>>> {
        let control = self.control.clone();
        self.cache
            .try_get_with(
                tenant,
                async move { Ok::<_, anyhow::Error>(plan_quotas(&control, tenant).await?.map(Arc::new)) },
            )
            .await
            .map_err(|e| anyhow::anyhow!("quota lookup failed: {e:#}"))
    }

    /// Drops a store's entry; the next [`QuotaCache::get`] reads the database.
    pub fn forget(&self, tenant: TenantId) {
        // A predicate rather than `invalidate`: the hook that calls this is synchronous.
        if self.cache.invalidate_entries_if(move |id, _| *id == tenant).is_err() {
            self.cache.invalidate_all();
        }
    }
}
