//! Statements on a store's rows, shared by every context's repo. `$1` is
//! always the store, bound here from the transaction so no statement can
//! leave it out; `params` are `$2`, `$3`, … in order, as a tuple (`()` for
//! none, `(id,)` for one). A value that cannot be encoded is the statement's
//! error, as with sqlx's `bind`.

use platform::db::TenantTx;
use sqlx::{
    error::BoxDynError,
    postgres::{PgArguments, PgRow},
    query::Query,
    Arguments, Encode, FromRow, Postgres, Type,
};
use uuid::Uuid;

/// The values of `$2`, `$3`, … of a statement.
pub(crate) trait Params<'q> {
    fn add_to(self, args: &mut PgArguments) -> Result<(), BoxDynError>;
}

macro_rules! params_for_tuples {
    ($(($($value:ident),*)),+) => {$(
        impl<'q, $($value),*> Params<'q> for ($($value,)*)
        where
            $($value: 'q + Encode<'q, Postgres> + Type<Postgres>),*
        {
            #[allow(non_snake_case, unused_variables)]
            fn add_to(self, args: &mut PgArguments) -> Result<(), BoxDynError> {
                let ($($value,)*) = self;
                $(Arguments::<'q>::add(args, $value)?;)*
                Ok(())
            }
        }
    )+};
}

params_for_tuples!(
    (),
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
    (A, B, C, D, E, F, G),
    (A, B, C, D, E, F, G, H),
    (A, B, C, D, E, F, G, H, I),
    (A, B, C, D, E, F, G, H, I, J)
);

fn arguments<'q>(tx: &TenantTx, params: impl Params<'q>) -> sqlx::Result<PgArguments> {
    let mut args = PgArguments::default();
    Arguments::<'q>::add(&mut args, tx.tenant_id()).map_err(sqlx::Error::Encode)?;
    params.add_to(&mut args).map_err(sqlx::Error::Encode)?;
    Ok(args)
}

/// Runs a write; how many rows it changed.
pub(crate) async fn execute<'q>(tx: &mut TenantTx, sql: &str, params: impl Params<'q>) -> sqlx::Result<u64> {
    let args = arguments(tx, params)?;
    Ok(sqlx::query_with(sql, args).execute(&mut **tx).await?.rows_affected())
}

/// Runs a write that names one row; whether it found it.
pub(crate) async fn write_one<'q>(tx: &mut TenantTx, sql: &str, params: impl Params<'q>) -> sqlx::Result<bool> {
    let args = arguments(tx, params)?;
    one_row(tx, sqlx::query_with(sql, args)).await
}

/// [`write_one`] for a statement of many values, built with `bind` (`$1` the
/// store first), where a tuple would hide which value is which.
pub(crate) async fn one_row(tx: &mut TenantTx, query: Query<'_, Postgres, PgArguments>) -> sqlx::Result<bool> {
    Ok(query.execute(&mut **tx).await?.rows_affected() == 1)
}

/// Every row `sql` selects.
pub(crate) async fn fetch_all<'q, R>(tx: &mut TenantTx, sql: &str, params: impl Params<'q>) -> sqlx::Result<Vec<R>>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let args = arguments(tx, params)?;
    sqlx::query_as_with(sql, args).fetch_all(&mut **tx).await
}

/// The row `sql` selects, if any.
pub(crate) async fn fetch_optional<'q, R>(
    tx: &mut TenantTx,
    sql: &str,
    params: impl Params<'q>,
) -> sqlx::Result<Option<R>>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let args = arguments(tx, params)?;
    sqlx::query_as_with(sql, args).fetch_optional(&mut **tx).await
}

/// The one value `sql` selects (a count, an `exists`, a position).
pub(crate) async fn scalar<'q, T>(tx: &mut TenantTx, sql: &str, params: impl Params<'q>) -> sqlx::Result<T>
where
    (T,): for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let args = arguments(tx, params)?;
    let (value,) = sqlx::query_as_with(sql, args).fetch_one(&mut **tx).await?;
    Ok(value)
}

/// Replaces the link rows of `owner` (`$2`): `unlink` deletes the old ones,
/// then `link` inserts one per item of `$3::uuid[]`.
pub(crate) async fn relink(
    tx: &mut TenantTx,
    unlink: &str,
    link: &str,
    owner: Uuid,
    items: Vec<Uuid>,
) -> sqlx::Result<()> {
    execute(tx, unlink, (owner,)).await?;
    execute(tx, link, (owner, items)).await?;
    Ok(())
}
