//! Custom-domain rules: claim, verify by DNS TXT, remove.

use platform::ids::TenantId;
use rand_core::{OsRng, RngCore};

use super::{
    error::{Error, Result},
    model::{Domain, Host},
    repo, DomainsState,
};
use crate::{
    audit::{Action, Actor},
    tenants::store::{self, StoreChange},
};

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Claims `host` for the store. Returns the claim and whether it is new: claiming
/// a host twice returns the first claim (and its token) unchanged.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn add(state: &DomainsState, tenant: TenantId, host: &Host, actor: &Actor) -> Result<(Domain, bool)> {
    let mut change = StoreChange::begin(&state.db, tenant, actor).await?;
    if repo::verified_elsewhere(&mut change, tenant, host.as_ref()).await? {
        return Err(Error::Taken);
    }
    let Some(domain) = repo::insert(&mut change, tenant, host.as_ref(), &new_token()).await? else {
        let existing = repo::find(&mut change, tenant, host.as_ref()).await?.ok_or(Error::NotFound)?;
        return Ok((existing, false));
    };
    change.audit(Action::DomainAdd, None, Some(domain.summary())).await?;
    change.commit().await?;
    Ok((domain, true))
}

/// Every claim of the store.
pub async fn list(state: &DomainsState, tenant: TenantId) -> Result<Vec<Domain>> {
    let mut conn = store::read_live(&state.db, tenant).await?;
    Ok(repo::list(&mut conn, tenant).await?)
}

/// Looks up `_commerce-verification.<host>`; when one of its TXT strings is the
/// claim's token, marks the claim verified and announces the host, so data-plane
/// replicas drop their cached "no such store" for it.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn verify(state: &DomainsState, tenant: TenantId, host: &Host, actor: &Actor) -> Result<Domain> {
    let mut conn = store::read_live(&state.db, tenant).await?;
    let domain = repo::find(&mut conn, tenant, host.as_ref()).await?.ok_or(Error::NotFound)?;
    drop(conn);
    if domain.verified_at.is_some() {
        return Ok(domain);
    }
    // No transaction is open during the look-up: DNS can take seconds.
    let records = state.dns.txt(&domain.txt_name()).await.map_err(|e| {
        tracing::warn!(error = %format!("{e:#}"), "TXT look-up failed");
        Error::DnsUnavailable
    })?;
    // Providers differ in whether they show TXT values quoted.
    if !records.iter().any(|r| r.trim().trim_matches('"') == domain.verification_token) {
        return Err(Error::NotVerified(domain));
    }

    let mut change = StoreChange::begin_locked(&state.db, tenant, actor).await?;
    let verified = match repo::mark_verified(&mut change, tenant, host.as_ref()).await {
        Ok(Some(verified)) => verified,
        Ok(None) => return Err(Error::NotFound),
        Err(e) if e.as_database_error().and_then(|d| d.constraint()) == Some(repo::VERIFIED_HOST_KEY) => {
            return Err(Error::Taken)
        }
        Err(e) => return Err(e.into()),
    };
    change.audit(Action::DomainVerify, Some(domain.summary()), Some(verified.summary())).await?;
    change.commit().await?;
    state.announcer.store_changed(tenant, vec![verified.host.clone()]).await?;
    Ok(verified)
}

/// Removes the store's claim on `host`; a verified host stops resolving at once.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn remove(state: &DomainsState, tenant: TenantId, host: &Host, actor: &Actor) -> Result<()> {
    let mut change = StoreChange::begin_locked(&state.db, tenant, actor).await?;
    let removed = repo::delete(&mut change, tenant, host.as_ref()).await?.ok_or(Error::NotFound)?;
    change.audit(Action::DomainRemove, Some(removed.summary()), None).await?;
    change.commit().await?;
    state.announcer.store_changed(tenant, vec![removed.host]).await?;
    Ok(())
}
