//! Provisioning and lifecycle rules.

use platform::{
    db::Db,
    ids::TenantId,
    tenancy::{announce_change, TenantChange},
};

use super::{
    model::{NewTenant, TenantRecord},
    repo,
};

/// Outcomes of provisioning.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Another store has the slug.
    #[error("slug taken")]
    SlugTaken,
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Creates a store: registry row and cell placement, in one transaction, then
/// announces it so replicas drop any cached "unknown host" answer for it.
#[tracing::instrument(skip_all, fields(slug = tenant.slug.as_ref()))]
pub async fn provision(
    db: &Db,
    redis: &mut redis::aio::ConnectionManager,
    platform_domain: &str,
    tenant: NewTenant,
) -> Result<TenantRecord, ProvisionError> {
    let mut tx = db.control().begin().await.map_err(anyhow::Error::from)?;
    let cell = repo::pick_cell(&mut tx).await?;
    let record =
        repo::insert_tenant(&mut tx, TenantId::new(), &tenant, &cell).await?.ok_or(ProvisionError::SlugTaken)?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    announce_change(
        redis,
        &TenantChange { tenant_id: record.id.as_uuid(), hosts: vec![format!("{}.{platform_domain}", record.slug)] },
    )
    .await?;
    Ok(record)
}

/// Makes sure a store with this slug exists; returns it either way.
pub async fn ensure(
    db: &Db,
    redis: &mut redis::aio::ConnectionManager,
    platform_domain: &str,
    tenant: NewTenant,
) -> anyhow::Result<TenantRecord> {
    let mut conn = db.control().acquire().await?;
    if let Some(existing) = repo::find_by_slug(&mut conn, tenant.slug.as_ref()).await? {
        return Ok(existing);
    }
    drop(conn);
    match provision(db, redis, platform_domain, tenant.clone()).await {
        Ok(record) => Ok(record),
        // Lost a race with another ensure: the winner's row is the answer.
        Err(ProvisionError::SlugTaken) => {
            let mut conn = db.control().acquire().await?;
            repo::find_by_slug(&mut conn, tenant.slug.as_ref())
                .await?
                .ok_or_else(|| anyhow::anyhow!("slug taken but not found"))
        }
        Err(ProvisionError::Internal(e)) => Err(e),
    }
}
