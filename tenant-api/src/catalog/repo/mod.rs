//! Catalog SQL, one file per concept. Every function takes the tenant-scoped
//! transaction and still filters on `tenant_id` so the `(tenant_id, …)` indexes
//! are used.

mod categories;
mod collections;
mod media;
mod products;
mod storefront;
mod variants;

use platform::db::TenantTx;
use sqlx::{postgres::PgArguments, query::Query, Postgres};

pub use self::{categories::*, collections::*, media::*, products::*, storefront::*, variants::*};

/// Runs a write that names one row; whether it found it.
async fn one_row(tx: &mut TenantTx, query: Query<'_, Postgres, PgArguments>) -> Result<bool, sqlx::Error> {
    Ok(query.execute(&mut **tx).await?.rows_affected() == 1)
}
