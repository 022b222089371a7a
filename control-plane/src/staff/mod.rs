//! Staff: the people who run a store with the owner. Owners add admins, admins
//! add staff, within the plan's seat quota (`max_staff`, counting every member,
//! owners included); a store always keeps at least one owner. Memberships
//! themselves belong to `identity`; this context holds the rules.

pub mod error;
pub mod model;
mod routes;
pub mod service;

use axum::extract::FromRef;
use platform::{auth::KeyRing, db::Db};

pub(crate) use routes::openapi::doc;
pub use routes::router;

/// What the staff handlers need.
#[derive(Clone, FromRef)]
pub struct StaffState {
    pub db: Db,
    /// Verifies the bearer tokens of its routes.
    pub keys: KeyRing,
    /// Bounds concurrent argon2 work (a new member's password).
    pub hasher: crate::identity::password::Hasher,
}
