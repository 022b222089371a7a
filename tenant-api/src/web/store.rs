//! Stores' names and themes, from the registry, cached per replica.
//!
//! Read from `control.tenant` (name, `branding`) on a miss, under
//! `Db::on_control` (a dead control database is a 503 within its probe's
//! bound). Entries are dropped by the store's announcement (a rename or new
//! branding is announced like every change of a tenant) and live at most
//! [`TTL`] if an announcement is lost.

use std::{sync::Arc, time::Duration};

use platform::{db::Db, ids::TenantId, store_cache::StoreCache, tenancy::TenantResolver};

use super::model::{StoreFront, Theme};

/// Upper bound on staleness if an announcement is lost.
const TTL: Duration = Duration::from_secs(300);

/// Every store's [`StoreFront`], cached. Cheap to clone.
#[derive(Clone)]
pub struct StoreFronts {
    db: Db,
    cache: StoreCache<StoreFront>,
}

impl StoreFronts {
    /// An empty cache reading the registry through `db`'s control pool,
    /// dropping a store's entry on its announcement to `resolver`.
    pub fn new(db: Db, resolver: &TenantResolver) -> Self {
        let cache = StoreCache::new(100_000, TTL);
        cache.follow(resolver);
        Self { db, cache }
    }

    /// The store's name and theme; `None` when the registry has no such store.
    pub async fn get(&self, tenant: TenantId) -> anyhow::Result<Option<Arc<StoreFront>>> {
        let read = self.db.on_control(async {
            let row: Option<(String, serde_json::Value)> =
                sqlx::query_as("select name, branding from control.tenant where tenant_id = $1")
                    .bind(tenant)
                    .fetch_optional(self.db.control())
                    .await?;
            Ok(row.map(|(name, branding)| StoreFront { name, theme: Theme::from_branding(&branding) }))
        });
        self.cache.get_or_read(tenant, read).await
    }
}
