//! Catalog SQL, one file per concept. Every function takes the tenant-scoped
//! transaction and still filters on `tenant_id` so the `(tenant_id, …)` indexes
//! are used.

mod categories;
mod collections;
mod media;
mod products;
mod storefront;
mod variants;

pub use self::{categories::*, collections::*, media::*, products::*, storefront::*, variants::*};
