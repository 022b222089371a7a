//! `Idempotency-Key` for control-plane POSTs, kept 24 h, Stripe's rules: the same
//! key and body replays the first response; the same key with another body is
//! refused. The record is written in the same transaction as the work, so a
//! crash leaves either both or neither; a concurrent duplicate waits on the row
//! and then replays.

use platform::crypto::MasterKeys;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

/// A client's `Idempotency-Key`: 1 to 255 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key; the reason when it is refused.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let key = value.trim();
        if key.is_empty() || key.len() > 255 {
            Err("must be 1 to 255 visible characters")
        } else {
            Ok(Self(key.to_owned()))
        }
    }
}

/// What to do with a request carrying a key.
pub enum Claim {
    /// First time: do the work, then [`complete`].
    New,
    /// Seen with this body: answer with the stored response.
    Replay { status: u16, body: serde_json::Value },
    /// Seen with another body.
    Mismatch,
}

/// A stable hash of a request body.
pub fn request_hash(body: &[u8]) -> Vec<u8> {
    Sha256::digest(body).to_vec()
}

/// Claims `key` in `scope` inside the caller's transaction.
pub async fn claim(
    conn: &mut PgConnection,
    master: &MasterKeys,
    scope: &str,
    key: &IdempotencyKey,
    hash: &[u8],
) -> anyhow::Result<Claim> {
    let key = key.0.as_str();
    sqlx::query(
        "delete from control.idempotency_record where scope = $1 and key = $2 and created_at < now() - interval '24 hours'",
    )
    .bind(scope)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query(
        "insert into control.idempotency_record (scope, key, request_hash) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(scope)
    .bind(key)
    .bind(hash)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let (stored_hash, status, response): (Vec<u8>, Option<i32>, Option<String>) = sqlx::query_as(
        "select request_hash, status_code, response from control.idempotency_record where scope = $1 and key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    if stored_hash != hash {
        return Ok(Claim::Mismatch);
    }
    match (status, response) {
        (Some(status), Some(sealed)) => {
            let body = serde_json::from_str(master.open(&sealed)?.expose_secret())?;
            Ok(Claim::Replay { status: u16::try_from(status)?, body })
        }
        // Completed rows always carry both; a row without them was never committed.
        _ => anyhow::bail!("idempotency record without a response"),
    }
}

/// Stores the response of a claimed key.
pub async fn complete(
    conn: &mut PgConnection,
    master: &MasterKeys,
    scope: &str,
    key: &IdempotencyKey,
    status: u16,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let key = key.0.as_str();
    sqlx::query("update control.idempotency_record set status_code = $3, response = $4 where scope = $1 and key = $2")
        .bind(scope)
        .bind(key)
        .bind(i32::from(status))
        .bind(master.seal(&body.to_string())?)
        .execute(conn)
        .await?;
    Ok(())
}
