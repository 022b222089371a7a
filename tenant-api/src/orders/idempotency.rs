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
//!
//! A checkout without a key gets one derived from its cart
//! ([`cart_record_key`]: the same scope, the key being the cart id, which no
//! client key can spell), claimed with [`claim_cart`]'s rules, so the claim is
//! the cart's checkout lock for the attempt's lease:
//! - while an attempt runs, any other (whatever its body) is refused (409);
//! - once one succeeded (2xx), every retry replays it, whatever its body: a
//!   bought cart is never bought twice;
//! - once one failed (a decline, no stock, bad input: any 4xx), the next is a
//!   new attempt on a new order, whatever its body: the same card again (it
//!   may have been topped up), another card, or the cart as it is now;
//! - a dead attempt (5xx or crash) is resumed on its order id, as with a key.
//!
//! Why the cart's id and not also a version of its contents: a paid cart is
//! deleted, so a retry after success could not read a version to find the
//! record again; and a version in the key would unlock the cart for a second
//! attempt as soon as a line changed while the first one was charging.

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

/// The Redis key of a key-less checkout of `cart`: the scope a client key
/// would have, keyed by the cart. Client keys are visible ASCII, so the
/// leading NUL keeps the two apart.
pub fn cart_record_key(tenant: TenantId, endpoint: &str, caller: &str, cart: &str) -> String {
    record_key(tenant, endpoint, caller, &format!("\0cart:{cart}"))
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

/// How an existing record answers a new request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// A client's key: Stripe's rules.
    ClientKey,
    /// A key derived from the cart: see the module's header.
    Cart,
}

/// Claims `key` for a request with `hash`; a new attempt will create `order_id`.
pub async fn claim(
    redis: &mut ConnectionManager,
    key: &str,
    hash: &str,
    order_id: Uuid,
    lease_secs: u64,
) -> anyhow::Result<Claim> {
    claim_with(redis, key, hash, order_id, lease_secs, Rules::ClientKey).await
}

/// Claims a key-less checkout's [`cart_record_key`]: never [`Claim::Mismatch`];
/// a finished failure gives way to a new attempt on `order_id`.
pub async fn claim_cart(
    redis: &mut ConnectionManager,
    key: &str,
    hash: &str,
    order_id: Uuid,
    lease_secs: u64,
) -> anyhow::Result<Claim> {
    claim_with(redis, key, hash, order_id, lease_secs, Rules::Cart).await
}

async fn claim_with(
    redis: &mut ConnectionManager,
    key: &str,
    hash: &str,
    order_id: Uuid,
    lease_secs: u64,
    rules: Rules,
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
    if rules == Rules::ClientKey && record.hash != hash {
        return Ok(Claim::Mismatch);
    }
    if record.state == "completed" {
        let status = record.status.unwrap_or(500);
        if rules == Rules::Cart && !(200..300).contains(&status) {
            // Nothing was charged: a new attempt, if no other retry took the record first.
            let renewed = take_over(redis, key, &raw, &fresh, Some(RETENTION_SECS)).await?;
            return Ok(if renewed { Claim::New } else { Claim::InFlight });
        }
        return Ok(Claim::Replay { status, body: record.body.unwrap_or(serde_json::Value::Null) });
    }
    if record.lease_until_ms > chrono::Utc::now().timestamp_millis() {
        return Ok(Claim::InFlight);
    }
    let resumed = in_progress(hash, record.order_id, lease_secs);
    Ok(if take_over(redis, key, &raw, &resumed, None).await? {
        Claim::Resume(record.order_id)
    } else {
        Claim::InFlight
    })
}

/// Replaces the record `seen` by `next` only if nobody changed it since
/// (compare-and-set): for `retention` seconds from now (a new attempt), or
/// keeping its time to live (the same attempt resumed).
async fn take_over(
    redis: &mut ConnectionManager,
    key: &str,
    seen: &str,
    next: &str,
    retention: Option<u64>,
) -> anyhow::Result<bool> {
    const TAKE_OVER: &str = r"
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if ARGV[3] == '0' then
            redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
        else
            redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
        end
        return 1";
    let taken: i64 = redis::cmd("EVAL")
        .arg(TAKE_OVER)
        .arg(1)
        .arg(key)
        .arg(seen)
        .arg(next)
        .arg(retention.unwrap_or(0))
        .query_async(redis)
        .await?;
    Ok(taken == 1)
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
