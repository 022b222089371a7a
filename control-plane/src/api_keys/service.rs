//! API-key rules: issue, list, revoke (announced).

use platform::{ids::TenantId, problem::Problem};
use uuid::Uuid;

use super::{
    model::{ApiKey, ApiKeyId, IssuedKey, KeyName, Scope},
    repo,
};
use crate::{audit, startup::AppState, tenants::service as tenants};

/// Outcomes of API-key operations a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such store (or not visible to the caller).
    #[error("store not found")]
    StoreNotFound,
    /// No such key in this store.
    #[error("api key not found")]
    NotFound,
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `Result` of this context.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<tenants::Error> for Error {
    fn from(e: tenants::Error) -> Self {
        match e {
            tenants::Error::NotFound => Self::StoreNotFound,
            other => Self::Internal(anyhow::anyhow!(other)),
        }
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::StoreNotFound => tenants::Error::NotFound.into(),
            Error::NotFound => Problem::not_found("api-key-not-found", "This store has no such API key."),
            Error::Internal(e) => Problem::internal(e),
        }
    }
}

/// Issues a key; its secret is in the result and nowhere else.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn create(
    state: &AppState,
    tenant: TenantId,
    name: &KeyName,
    scopes: &[Scope],
    actor: &audit::Actor,
) -> Result<IssuedKey> {
    let (secret, prefix, hash) = platform::auth::new_api_key();
    let scopes: Vec<String> = scopes.iter().map(|s| s.as_ref().to_owned()).collect();
    let mut tx = state.db.control().begin().await?;
    tenants::find_live(&mut tx, tenant, false).await?;
    let key = repo::insert(
        &mut tx,
        repo::NewKey {
            tenant,
            name: name.as_ref(),
            prefix: &prefix,
            hash: &hash,
            scopes: &scopes,
            created_by: actor.account_id,
        },
    )
    .await?;
    audit::record(&mut tx, actor.entry(tenant, "api_key.create", None, Some(key.summary()))).await?;
    tx.commit().await?;
    Ok(IssuedKey { key, secret })
}

/// A page of the store's keys, revoked ones included.
pub async fn list(state: &AppState, tenant: TenantId, after: Option<Uuid>, limit: i64) -> Result<Vec<ApiKey>> {
    let mut conn = state.db.control().acquire().await?;
    tenants::find_live(&mut conn, tenant, false).await?;
    Ok(repo::list(&mut conn, tenant, after, limit).await?)
}

/// Revokes a key and announces it, so data-plane replicas stop accepting it at
/// once rather than when their cache entry expires. Revoking twice is harmless.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn revoke(state: &AppState, tenant: TenantId, id: ApiKeyId, actor: &audit::Actor) -> Result<()> {
    let mut tx = state.db.control().begin().await?;
    tenants::find_live(&mut tx, tenant, false).await?;
    let before = repo::find_for_update(&mut tx, tenant, id).await?.ok_or(Error::NotFound)?;
    if before.revoked_at.is_none() {
        let after = repo::revoke(&mut tx, tenant, id).await?;
        audit::record(&mut tx, actor.entry(tenant, "api_key.revoke", Some(before.summary()), Some(after.summary())))
            .await?;
        tx.commit().await?;
    }
    // Announced on a repeat too: a retry after a failed announcement must reach the replicas.
    tenants::announce_change_of(state, tenant, Vec::new()).await?;
    Ok(())
}
