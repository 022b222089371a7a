//! API-key rules: issue, list, revoke (announced).

use platform::{auth::Grant, ids::TenantId};

use super::{
    error::{Error, Result},
    model::{ApiKey, ApiKeyId, IssuedKey, KeyName},
    repo, ApiKeysState,
};
use crate::{
    audit::{Action, Actor},
    tenants::store::{self, StoreChange},
};

/// Issues a key; its secret is in the result and nowhere else.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn create(
    state: &ApiKeysState,
    tenant: TenantId,
    name: &KeyName,
    scopes: &[Grant],
    actor: &Actor,
) -> Result<IssuedKey> {
    let (secret, prefix, hash) = platform::auth::new_api_key();
    let scopes: Vec<String> = scopes.iter().map(Grant::to_string).collect();
    let mut change = StoreChange::begin(&state.db, tenant, actor).await?;
    let created_by = actor.account_id;
    let new = repo::NewKey { tenant, name: name.as_ref(), prefix: &prefix, hash: &hash, scopes: &scopes, created_by };
    let key = repo::insert(&mut change, new).await?;
    change.audit(Action::ApiKeyCreate, None, Some(key.summary())).await?;
    change.commit().await?;
    Ok(IssuedKey { key, secret })
}

/// A page of the store's keys, revoked ones included.
pub async fn list(state: &ApiKeysState, tenant: TenantId, after: Option<ApiKeyId>, limit: i64) -> Result<Vec<ApiKey>> {
    let mut conn = store::read_live(&state.db, tenant).await?;
    Ok(repo::list(&mut conn, tenant, after, limit).await?)
}

/// Revokes a key and announces it, so data-plane replicas stop accepting it at
/// once rather than when their cache entry expires. Revoking twice is harmless.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn revoke(state: &ApiKeysState, tenant: TenantId, id: ApiKeyId, actor: &Actor) -> Result<()> {
    let mut change = StoreChange::begin(&state.db, tenant, actor).await?;
    let before = repo::find_for_update(&mut change, tenant, id).await?.ok_or(Error::NotFound)?;
    if before.revoked_at.is_none() {
        let after = repo::revoke(&mut change, tenant, id).await?;
        change.audit(Action::ApiKeyRevoke, Some(before.summary()), Some(after.summary())).await?;
        change.commit().await?;
    }
    // Announced on a repeat too: a retry after a failed announcement must reach the replicas.
    state.announcer.store_changed(tenant, Vec::new()).await?;
    Ok(())
}
