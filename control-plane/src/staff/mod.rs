//! Staff: the people who run a store with the owner. Owners add admins, admins
//! add staff, within the plan's seat quota (`max_staff`, counting every member,
//! owners included); a store always keeps at least one owner. Memberships
//! themselves belong to `identity`; this context holds the rules.

pub mod model;
mod routes;
pub mod service;

pub(crate) use routes::openapi::doc;
pub use routes::router;
pub use service::StaffState;
