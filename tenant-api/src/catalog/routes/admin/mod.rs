//! Merchant endpoints under `/admin`: a staff token or API key of the store.
//! Every write is one transaction; after it commits, the store's storefront
//! cache is dropped in every replica.

pub(super) mod categories;
mod checks;
pub(super) mod collections;
pub(super) mod import;
pub(super) mod products;
pub(super) mod variants;

use platform::{db::TenantTx, extract::Page, problem::Problem, tenancy::Tenant};
use serde::{Deserialize, Deserializer};

use super::id_page;
use crate::catalog::{model::SearchLanguage, CatalogState};

const READ: &str = "catalog:read";
const WRITE: &str = "catalog:write";

/// `?status=&limit=&cursor=` of the admin lists (`status`: products only).
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct AdminListParams {
    limit: Option<String>,
    cursor: Option<String>,
    status: Option<String>,
}

impl AdminListParams {
    fn page(&self) -> Result<Page, Problem> {
        id_page(self.limit.as_deref(), self.cursor.as_deref())
    }
}

/// Runs a catalog write in one transaction of the store; once it has
/// committed, drops the store's cached storefront in every replica.
pub(super) async fn write<T, E>(
    state: &CatalogState,
    tenant: &Tenant,
    change: impl AsyncFnOnce(&mut TenantTx) -> Result<T, E>,
) -> Result<T, Problem>
where
    Problem: From<E>,
{
    let mut tx = state.db.tenant_tx(tenant).await?;
    let value = change(&mut tx).await?;
    tx.commit().await?;
    state.storefront_cache.invalidate(tenant.id).await;
    Ok(value)
}

/// The plan's product quota of the store (`None` when the registry has no plan).
async fn max_products(state: &CatalogState, tenant: &Tenant) -> Result<Option<u32>, Problem> {
    Ok(state.quotas.get(tenant.id).await?.map(|q| q.max_products))
}

fn language(tenant: &Tenant) -> SearchLanguage {
    SearchLanguage::for_locale(&tenant.locale)
}

/// `null` and absent differ for fields that can be cleared: absent → `None`,
/// `null` → `Some(None)`.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
