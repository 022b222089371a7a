//! API-key SQL (control schema).

use chrono::{DateTime, Utc};
use platform::ids::TenantId;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{ApiKey, ApiKeyId};
use crate::identity::model::AccountId;

type Row = (Uuid, Uuid, String, String, Vec<String>, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

const COLUMNS: &str = "api_key_id, tenant_id, name, prefix, scopes, created_at, last_used_at, revoked_at";

fn api_key((id, tenant, name, prefix, scopes, created_at, last_used_at, revoked_at): Row) -> ApiKey {
    ApiKey {
        id: ApiKeyId::from_uuid(id),
        tenant_id: TenantId::from_uuid(tenant),
        name,
        prefix,
        scopes,
        created_at,
        last_used_at,
        revoked_at,
    }
}

/// A key to store: its hash, never its secret.
pub struct NewKey<'a> {
    pub tenant: TenantId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub hash: &'a [u8],
    pub scopes: &'a [String],
    pub created_by: Option<AccountId>,
}

pub async fn insert(conn: &mut PgConnection, key: NewKey<'_>) -> sqlx::Result<ApiKey> {
    let row: Row = sqlx::query_as(&format!(
        "insert into control.api_key (api_key_id, tenant_id, name, prefix, key_hash, scopes, created_by) \
         values ($1, $2, $3, $4, $5, $6, $7) returning {COLUMNS}"
    ))
    .bind(ApiKeyId::new())
    .bind(key.tenant)
    .bind(key.name)
    .bind(key.prefix)
    .bind(key.hash)
    .bind(key.scopes)
    .bind(key.created_by)
    .fetch_one(conn)
    .await?;
    Ok(api_key(row))
}

/// A page of a store's keys, newest first.
pub async fn list(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: Option<ApiKeyId>,
    limit: i64,
) -> sqlx::Result<Vec<ApiKey>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from control.api_key where tenant_id = $1 and ($2::uuid is null or api_key_id < $2) \
         order by api_key_id desc limit $3"
    ))
    .bind(tenant)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(api_key).collect())
}

/// One key of a store, locked for update.
pub async fn find_for_update(conn: &mut PgConnection, tenant: TenantId, id: ApiKeyId) -> sqlx::Result<Option<ApiKey>> {
    let sql = format!("select {COLUMNS} from control.api_key where tenant_id = $1 and api_key_id = $2 for update");
    key(conn, &sql, tenant, id).await
}

pub async fn revoke(conn: &mut PgConnection, tenant: TenantId, id: ApiKeyId) -> sqlx::Result<ApiKey> {
    let sql = format!(
        "update control.api_key set revoked_at = coalesce(revoked_at, now()) \
         where tenant_id = $1 and api_key_id = $2 returning {COLUMNS}"
    );
    key(conn, &sql, tenant, id).await?.ok_or(sqlx::Error::RowNotFound)
}

/// Runs `sql` (`$1` the store, `$2` the key), which returns at most one key.
async fn key(conn: &mut PgConnection, sql: &str, tenant: TenantId, id: ApiKeyId) -> sqlx::Result<Option<ApiKey>> {
    let row: Option<Row> = sqlx::query_as(sql).bind(tenant).bind(id).fetch_optional(conn).await?;
    Ok(row.map(api_key))
}
