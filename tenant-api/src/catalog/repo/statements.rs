//! Statement shapes the catalog's repo files share: a write that names one
//! row, and replacing an owner's link rows.

use platform::db::TenantTx;
use sqlx::{postgres::PgArguments, query::Query, Encode, Postgres, Type};
use uuid::Uuid;

use crate::catalog::model::ProductId;

/// Runs a write that names one row; whether it found it.
pub(super) async fn one_row(tx: &mut TenantTx, query: Query<'_, Postgres, PgArguments>) -> Result<bool, sqlx::Error> {
    Ok(query.execute(&mut **tx).await?.rows_affected() == 1)
}

/// Runs `sql` about one row of a product (`$1` the store, `$2` the product,
/// `$3` the row's id); whether it found the row.
pub(super) async fn one_row_of_product<I>(
    tx: &mut TenantTx,
    sql: &str,
    product: ProductId,
    id: I,
) -> Result<bool, sqlx::Error>
where
    I: for<'q> Encode<'q, Postgres> + Type<Postgres> + Send,
{
    let query = sqlx::query(sql).bind(tx.tenant_id()).bind(product).bind(id);
    one_row(tx, query).await
}

/// Replaces the link rows of `owner` (`$1` the store, `$2` the owner): `unlink`
/// deletes the old ones, then `link` inserts one per item of `$3::uuid[]`.
pub(super) async fn relink(
    tx: &mut TenantTx,
    unlink: &str,
    link: &str,
    owner: Uuid,
    items: Vec<Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query(unlink).bind(tx.tenant_id()).bind(owner).execute(&mut **tx).await?;
    sqlx::query(link).bind(tx.tenant_id()).bind(owner).bind(items).execute(&mut **tx).await?;
    Ok(())
}
