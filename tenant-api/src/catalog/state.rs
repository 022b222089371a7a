//! What the catalog's handlers need, and nothing of the binary that builds it.

use std::{ops::Deref, sync::Arc};

use axum::extract::FromRef;
use platform::{auth::Authenticator, db::Db, media::MediaStore, quotas::QuotaCache};

use super::cache::StorefrontCache;

/// The catalog's state. One `Arc`: axum clones it for every request, and a
/// warm storefront read runs at tens of thousands a second, so a clone must be
/// one atomic increment, not one per field.
#[derive(Clone)]
pub struct CatalogState(Arc<Parts>);

/// The parts of [`CatalogState`].
pub struct Parts {
    pub db: Db,
    /// Finished storefront responses; dropped in every replica on a catalog write.
    pub storefront_cache: StorefrontCache,
    /// Where product media is stored.
    pub media: MediaStore,
    /// The plans' product quotas.
    pub quotas: QuotaCache,
    /// Verifies staff credentials on `/admin` routes.
    pub auth: Authenticator,
}

impl CatalogState {
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(parts))
    }
}

/// For the staff extractor; cloned on `/admin` requests only (a storefront
/// read takes no principal).
impl FromRef<CatalogState> for Authenticator {
    fn from_ref(state: &CatalogState) -> Self {
        state.auth.clone()
    }
}

impl Deref for CatalogState {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}
