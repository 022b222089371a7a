//! What jobs that sweep every store share.

use platform::db::Db;

/// Every cell of the registry, for jobs that sweep all stores.
pub async fn cells(db: &Db) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar("select cell_id from control.cell order by cell_id").fetch_all(db.control()).await?)
}
