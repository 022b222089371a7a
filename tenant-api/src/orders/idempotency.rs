//! `Idempotency-Key` for checkout, with Stripe's rules: the same key and body
//! replays the first response (status and body, a decline included); the
//! same key with another body is refused (422); the same key while the first
//! request runs is refused (409).
//!
//! Records live in Redis under `t:{<tenant>}:idem:<scope hash>` for 24 hours,
//! scoped to (store, endpoint, caller, key). A record is claimed with
//! `SET NX` and carries the order id the attempt will create, so an attempt
//! that died mid-saga (its lease expired) is resumed by a retry on the same
//! order id — the charge's own idempotency key — never started afresh: no
//! retry can charge twice.

use platform::ids::TenantId;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long a key is remembered.
pub const RETENTION_SECS: u64 = 24 * 3600;

/// The Redis key of an idempotency scope.
pub fn record_key(tenant: TenantId, endpoint: &str, caller: &str, key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(endpoint)
        .chain_update([0])
        .chain_update(caller)
        .chain_update([0])
        .chain_update(key)
        .finalize();
    format!("t:{{{tenant}}}:idem:{}", hex::encode(digest))
}

/// The fingerprint of a request body: SHA-256 of its canonical JSON (object
/// keys sorted), so key order and whitespace do not make a "different" body.
pub fn request_hash(body: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

#[derive(Serialize, Deserialize)]
struct Record {
    state: String,
    hash: String,
    order_id: Uuid,
    lease_until_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<serde_json::Value>,
}

/// What to do with a request carrying a key.
#[derive(Debug)]
pub enum Claim {
    /// First time: run, then [`complete`].
    New,
    /// A dead attempt on this order: run again on the same order id.
    Resume(Uuid),
    /// Seen with this body and finished: answer with the first response.
    Replay {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: serde_json::Value,
    },
    /// Seen with another body.
    Mismatch,
    /// The first attempt is still running.
    InFlight,
}

fn in_progress(hash: &str, order_id: Uuid, lease_secs: u64) -> String {
    let lease_until_ms =
        chrono::Utc::now().timestamp_millis() + i64::try_from(lease_secs * 1000).unwrap_or(i64::MAX / 2);
    serde_json::to_string(&Record {
        state: "in_progress".into(),
        hash: hash.to_owned(),
        order_id,
        lease_until_ms,
        status: None,
        body: None,
    })
    .expect("records serialize")
}

/// Claims `key` for a request with `hash`; a new attempt will create `order_id`.
pub async fn claim(
    redis: &mut ConnectionManager,
    key: &str,
    hash: &str,
    order_id: Uuid,
    lease_secs: u64,
) -> anyhow::Result<Claim> {
    let fresh = in_progress(hash, order_id, lease_secs);
    let set: Option<String> =
        redis::cmd("SET").arg(key).arg(&fresh).arg("NX").arg("EX").arg(RETENTION_SECS).query_async(redis).await?;
    if set.is_some() {
        return Ok(Claim::New);
    }
    let Some(raw): Option<String> = redis::cmd("GET").arg(key).query_async(redis).await? else {
        // Expired between the two commands: a rare race; the client retries.
        return Ok(Claim::InFlight);
    };
    let record: Record = serde_json::from_str(&raw)?;
    if record.hash != hash {
        return Ok(Claim::Mismatch);
    }
    if record.state == "completed" {
        return Ok(Claim::Replay {
            status: record.status.unwrap_or(500),
            body: record.body.unwrap_or(serde_json::Value::Null),
        });
    }
    if record.lease_until_ms > chrono::Utc::now().timestamp_millis() {
        return Ok(Claim::InFlight);
    }
    // Take the dead attempt over only if nobody else did first (compare-and-set).
    const TAKE_OVER: &str = r"
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
            return 1
        end
        return 0";
    let taken: i64 = redis::cmd("EVAL")
        .arg(TAKE_OVER)
        .arg(1)
        .arg(key)
        .arg(&raw)
        .arg(in_progress(hash, record.order_id, lease_secs))
        .query_async(redis)
        .await?;
    Ok(if taken == 1 { Claim::Resume(record.order_id) } else { Claim::InFlight })
}

/// Stores the response of a finished attempt, for replays.
pub async fn complete(
    redis: &mut ConnectionManager,
    key: &str,
    hash: &str,
    order_id: Uuid,
    status: u16,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let record = Record {
        state: "completed".into(),
        hash: hash.to_owned(),
        order_id,
        lease_until_ms: 0,
        status: Some(status),
        body: Some(body.clone()),
    };
    redis::cmd("SET")
        .arg(key)
        .arg(serde_json::to_string(&record)?)
        .arg("XX")
        .arg("KEEPTTL")
        .query_async::<Option<String>>(redis)
        .await?;
    Ok(())
}

/// An attempt failed on our side (5xx): end its lease at once, so a retry
/// resumes the same order instead of waiting, and never starts a second one.
pub async fn abandon(redis: &mut ConnectionManager, key: &str, hash: &str, order_id: Uuid) -> anyhow::Result<()> {
    let expired = serde_json::to_string(&Record {
        state: "in_progress".into(),
        hash: hash.to_owned(),
        order_id,
        lease_until_ms: 0,
        status: None,
        body: None,
    })?;
    redis::cmd("SET").arg(key).arg(expired).arg("XX").arg("KEEPTTL").query_async::<Option<String>>(redis).await?;
    Ok(())
}
