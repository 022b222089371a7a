//! Custom-domain SQL (control schema).

use chrono::{DateTime, Utc};
use platform::ids::TenantId;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::Domain;

type Row = (Uuid, String, String, Option<DateTime<Utc>>, DateTime<Utc>);

const COLUMNS: &str = "tenant_id, host, verification_token, verified_at, created_at";

fn domain((tenant, host, verification_token, verified_at, created_at): Row) -> Domain {
    Domain { tenant_id: TenantId::from_uuid(tenant), host, verification_token, verified_at, created_at }
}

/// The unique index that makes a verified host belong to one store.
pub const VERIFIED_HOST_KEY: &str = "tenant_domain_verified_host_key";

/// A store's claim on a host.
pub async fn find(conn: &mut PgConnection, tenant: TenantId, host: &str) -> sqlx::Result<Option<Domain>> {
    let sql = format!("select {COLUMNS} from control.tenant_domain where tenant_id = $1 and host = $2");
    claim(conn, &sql, tenant, host).await
}

/// Runs `sql` (`$1` the store, `$2` the host), which returns at most one claim.
async fn claim(conn: &mut PgConnection, sql: &str, tenant: TenantId, host: &str) -> sqlx::Result<Option<Domain>> {
    let row: Option<Row> = sqlx::query_as(sql).bind(tenant).bind(host).fetch_optional(conn).await?;
    Ok(row.map(domain))
}

/// Every claim of a store, oldest first.
pub async fn list(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<Vec<Domain>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from control.tenant_domain where tenant_id = $1 order by created_at, host"
    ))
    .bind(tenant)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(domain).collect())
}

/// Whether a store other than `tenant` has verified `host`.
pub async fn verified_elsewhere(conn: &mut PgConnection, tenant: TenantId, host: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists(select 1 from control.tenant_domain \
         where host = $2 and tenant_id <> $1 and verified_at is not null)",
    )
    .bind(tenant)
    .bind(host)
    .fetch_one(conn)
    .await
}

/// Claims a host; `None` when the store has already claimed it.
pub async fn insert(
    conn: &mut PgConnection,
    tenant: TenantId,
    host: &str,
    token: &str,
) -> sqlx::Result<Option<Domain>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "insert into control.tenant_domain (tenant_id, host, verification_token) values ($1, $2, $3) \
         on conflict (tenant_id, host) do nothing returning {COLUMNS}"
    ))
    .bind(tenant)
    .bind(host)
    .bind(token)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(domain))
}

/// Marks a claim verified. Fails on [`VERIFIED_HOST_KEY`] when another store
/// verified the host first.
pub async fn mark_verified(conn: &mut PgConnection, tenant: TenantId, host: &str) -> sqlx::Result<Option<Domain>> {
    let sql = format!(
        "update control.tenant_domain set verified_at = coalesce(verified_at, now()) \
         where tenant_id = $1 and host = $2 returning {COLUMNS}"
    );
    claim(conn, &sql, tenant, host).await
}

/// Removes a claim; the removed claim, if there was one.
pub async fn delete(conn: &mut PgConnection, tenant: TenantId, host: &str) -> sqlx::Result<Option<Domain>> {
    let sql = format!("delete from control.tenant_domain where tenant_id = $1 and host = $2 returning {COLUMNS}");
    claim(conn, &sql, tenant, host).await
}
