//! Stores' names and themes, from the registry, cached per replica.
//!
//! Read from `control.tenant` (name, `branding`) on a miss, under
//! `Db::on_control` (a dead control database is a 503 within its probe's
//! bound). Entries are dropped by the store's announcement (a rename or new
//! branding is announced like every change of a tenant) and live at most
//! [`TTL`] if an announcement is lost.

use std::{sync::Arc, time::Duration};

use moka::sync::Cache;
use platform::{db::Db, ids::TenantId};

use super::model::{StoreFront, Theme};

/// Upper bound on staleness if an announcement is lost.
const TTL: Duration = Duration::from_secs(300);

/// Every store's [`StoreFront`], cached. Cheap to clone.
#[derive(Clone)]
pub struct StoreFronts {
    db: Db,
    cache: Cache<TenantId, Arc<StoreFront>>,
}

impl StoreFronts {
    /// An empty cache reading the registry through `db`'s control pool.
    pub fn new(db: Db) -> Self {
        Self { db, cache: Cache::builder().max_capacity(100_000).time_to_live(TTL).build() }
    }

    /// The store's name and theme; `None` when the registry has no such store.
    pub async fn get(&self, tenant: TenantId) -> anyhow::Result<Option<Arc<StoreFront>>> {
        if let Some(found) = self.cache.get(&tenant) {
            return Ok(Some(found));
        }
        let row: Option<(String, serde_json::Value)> = self
            .db
            .on_control(async {
                Ok(sqlx::query_as("select name, branding from control.tenant where tenant_id = $1")
                    .bind(tenant)
                    .fetch_optional(self.db.control())
                    .await?)
            })
            .await?;
        let Some((name, branding)) = row else { return Ok(None) };
        let front = Arc::new(StoreFront { name, theme: Theme::from_branding(&branding) });
        self.cache.insert(tenant, front.clone());
        Ok(Some(front))
    }

    /// Drops what is cached of the store (its announcement).
    pub fn forget(&self, tenant: TenantId) {
        self.cache.invalidate(&tenant);
    }
}
