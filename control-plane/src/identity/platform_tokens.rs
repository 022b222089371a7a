//! Platform API tokens: long-lived bearer tokens for fleet automation (the
//! Terraform provider, CI jobs) that act with the platform-admin rights of the
//! admin who minted them.
//!
//! Access tokens live 15 minutes and refresh tokens are single use, so neither
//! suits a job that runs unattended. A platform token is 256 random bits
//! (`cpt_` + 64 hex), shown once and stored as SHA-256; it is looked up on
//! every request (automation is not a hot path), so a revocation, its expiry,
//! or its minter losing platform-admin rights ends it at once. The audit log
//! names `platform_token:<id>` as the actor. A platform token cannot mint
//! another: a leaked one cannot make itself permanent.

use chrono::{DateTime, Utc};
use platform::{auth::hash_secret, db::Db};
use rand_core::{OsRng, RngCore};

use super::{
    model::{AccountId, PlatformToken, PlatformTokenId},
    repo,
};
use crate::audit::{self, Action, Actor, Entry};

/// The prefix that tells a platform token from a JWT in a bearer header.
pub const PREFIX: &str = "cpt_";

/// A new token with its secret, shown once.
pub struct Issued {
    pub token: PlatformToken,
    pub secret: String,
}

/// Mints a token acting as `actor`'s account.
pub async fn issue(
    db: &Db,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    account: AccountId,
    actor: &Actor,
) -> anyhow::Result<Issued> {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", hex::encode(bytes));
    let prefix = secret[..12].to_owned();
    let mut tx = db.control().begin().await?;
    let token = repo::insert_platform_token(&mut tx, name, &prefix, &hash_secret(&secret), account, expires_at).await?;
    record(&mut tx, actor, Action::PlatformTokenCreate, None, Some(summary(&token))).await?;
    tx.commit().await?;
    Ok(Issued { token, secret })
}

/// Every token, newest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<PlatformToken>> {
    let mut conn = db.control().acquire().await?;
    Ok(repo::list_platform_tokens(&mut conn).await?)
}

/// Revokes a token; `None` when there is no such token. Revoking twice keeps the first time.
pub async fn revoke(db: &Db, id: PlatformTokenId, actor: &Actor) -> anyhow::Result<Option<PlatformToken>> {
    let mut tx = db.control().begin().await?;
    let Some(token) = repo::revoke_platform_token(&mut tx, id).await? else { return Ok(None) };
    record(&mut tx, actor, Action::PlatformTokenRevoke, None, Some(summary(&token))).await?;
    tx.commit().await?;
    Ok(Some(token))
}

fn summary(token: &PlatformToken) -> serde_json::Value {
    serde_json::json!({
        "id": token.id.to_string(), "name": token.name, "prefix": token.prefix,
        "expires_at": token.expires_at.map(crate::wire::rfc3339),
    })
}

async fn record(
    conn: &mut sqlx::PgConnection,
    actor: &Actor,
    action: Action,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    let entry = Entry {
        actor: actor.name.clone(),
        actor_id: actor.account_id,
        tenant_id: None,
        action,
        before,
        after,
        request_id: actor.request_id.clone(),
    };
    audit::record(conn, entry).await
}
