//! Merchant endpoints under `/admin`: a staff token or API key of the store.
//! Every write is one transaction; after it commits, the store's storefront
//! cache is dropped in every replica.

pub(super) mod categories;
mod checks;
pub(super) mod collections;
pub(super) mod import;
pub(super) mod products;
pub(super) mod variants;

use axum::http::StatusCode;
use platform::{
    auth::{Area, Scope},
    db::TenantTx,
    extract::Page,
    problem::Problem,
};
use serde::Deserialize;

use super::{id_page, ProductResponse};
use crate::catalog::{
    model::{Product, SearchLanguage},
    CatalogState, Error,
};

const READ: Scope = Scope::read(Area::Catalog);
pub(super) const WRITE: Scope = Scope::write(Area::Catalog);

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

/// A merchant's request to the catalog: the catalog's state, the resolved
/// store and the staff member or API key calling. Handlers check the scope
/// themselves (`allow`), after reading their body, so a bad body is refused first.
pub(crate) type Staff = crate::callers::Staff<CatalogState>;

impl Staff {
    /// A transaction of the store; dropping it uncommitted rolls it back.
    pub(super) async fn begin(&self) -> Result<TenantTx, Problem> {
        Ok(self.state.db.tenant_tx(&self.tenant).await?)
    }

    /// Runs a catalog write in one transaction of the store; once it has
    /// committed, drops the store's cached storefront in every replica.
    pub(super) async fn write<T, E>(
        &self,
        change: impl AsyncFnOnce(&mut TenantTx) -> Result<T, E>,
    ) -> Result<T, Problem>
    where
        Problem: From<E>,
    {
        let mut tx = self.begin().await?;
        let value = change(&mut tx).await?;
        tx.commit().await?;
        self.state.storefront_cache.invalidate(self.tenant.id).await;
        Ok(value)
    }

    /// Runs a deleting write ([`Staff::write`]): 204.
    pub(super) async fn delete(
        &self,
        delete: impl AsyncFnOnce(&mut TenantTx) -> Result<(), Error>,
    ) -> Result<StatusCode, Problem> {
        self.write(delete).await?;
        Ok(StatusCode::NO_CONTENT)
    }

    /// The plan's product quota of the store (`None` when the registry has no plan).
    pub(super) async fn max_products(&self) -> Result<Option<u32>, Problem> {
        Ok(self.state.quotas.get(self.tenant.id).await?.map(|q| q.max_products))
    }

    pub(super) fn language(&self) -> SearchLanguage {
        SearchLanguage::for_locale(&self.tenant.locale)
    }

    /// A product as staff see it: media in every status.
    pub(super) fn product(&self, product: Product) -> ProductResponse {
        ProductResponse::new(product, &self.state.media, false)
    }
}
