//! `control.signing_key` SQL for listing and rotation.

use chrono::{DateTime, Utc};
use platform::{auth::insert_key, crypto::MasterKeys};
use sqlx::{PgConnection, PgPool};

use super::model::{Audience, KeyStatus, SigningKey};

/// kid, audience, created_at, retired_at, status.
type Row = (String, String, DateTime<Utc>, Option<DateTime<Utc>>, String);

/// Every key, newest first, with its status; never a private half.
pub(super) async fn list(control: &PgPool) -> sqlx::Result<Vec<SigningKey>> {
    let rows: Vec<Row> = sqlx::query_as(
        "select k.kid, k.audience, k.created_at, k.retired_at, \
                case when k.retired_at <= now() then 'retired' \
                     when k.retired_at is not null then 'retiring' \
                     when k.kid = (select s.kid from control.signing_key s \
                                   where s.audience = k.audience and s.retired_at is null \
                                   order by s.created_at desc, s.kid desc limit 1) then 'signing' \
                     else 'verifying' end \
         from control.signing_key k order by k.created_at desc, k.kid desc",
    )
    .fetch_all(control)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kid, audience, created_at, retired_at, status)| SigningKey {
            kid,
            audience,
            created_at,
            retired_at,
            status: match status.as_str() {
                "retired" => KeyStatus::Retired,
                "retiring" => KeyStatus::Retiring,
                "signing" => KeyStatus::Signing,
                _ => KeyStatus::Verifying,
            },
        })
        .collect())
}

/// Takes the lock every writer of `control.signing_key` takes, for the rest
/// of the transaction.
pub(super) async fn lock(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query(platform::auth::SIGNING_KEY_LOCK).execute(conn).await.map(drop)
}

/// When the key signing for `audience` was created, if there is one.
pub(super) async fn newest_created_at(
    conn: &mut PgConnection,
    audience: Audience,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("select max(created_at) from control.signing_key where audience = $1 and retired_at is null")
        .bind(audience.as_str())
        .fetch_one(conn)
        .await
}

/// Schedules every unretired key of `audience` to retire at `retire_at`,
/// then stores a new key; returns the new kid and the retiring ones. The
/// caller holds [`lock`].
pub(super) async fn rotate(
    conn: &mut PgConnection,
    master: &MasterKeys,
    audience: Audience,
    retire_at: DateTime<Utc>,
) -> anyhow::Result<(String, Vec<String>)> {
    let retiring: Vec<String> = sqlx::query_scalar(
        "update control.signing_key set retired_at = $2 where audience = $1 and retired_at is null returning kid",
    )
    .bind(audience.as_str())
    .bind(retire_at)
    .fetch_all(&mut *conn)
    .await?;
    let (kid, _) = insert_key(conn, master, audience.as_str()).await?;
    Ok((kid, retiring))
}
