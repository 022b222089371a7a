//! Staff rules: who may add or remove whom, seat quotas, the last owner.

use platform::{auth::Role, ids::TenantId};

use super::{
    error::{Error, Result},
    StaffState,
};
use crate::{
    audit::{Action, Actor},
    identity::{
        model::{AccountId, Email, Member, Password},
        service as identity,
    },
    tenants::store::{self, StoreChange},
};

/// What the audit log keeps of a member.
fn summary(member: &Member) -> serde_json::Value {
    serde_json::json!({"account_id": member.account_id.to_string(), "email": member.email, "role": member.role.as_str()})
}

/// Adds a member with `role`; an existing account must prove its password.
/// Owners (and platform admins) add admins; admins add staff.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn add(
    state: &StaffState,
    tenant: TenantId,
    email: &Email,
    password: &Password,
    role: Role,
    caller: Role,
    actor: &Actor,
) -> Result<Member> {
    if role >= Role::Admin && caller < Role::Owner {
        return Err(Error::Forbidden("Only owners may add admins."));
    }
    // The row lock makes the seat count and the insert one step for this store.
    let mut change = StoreChange::begin_locked(&state.db, tenant, actor).await?;
    let account = identity::find_or_create_owner(&mut change, &state.hasher, email, password).await?;
    if identity::find_member(&mut change, tenant, account.id).await?.is_some() {
        return Err(Error::AlreadyMember);
    }
    let quotas = store::quotas(&mut change, tenant).await?;
    let (members, _) = identity::member_counts(&mut change, tenant).await?;
    if members >= quotas.max_staff {
        return Err(Error::QuotaExceeded { max_staff: quotas.max_staff });
    }
    if !identity::join_store(&mut change, tenant, account.id, role).await? {
        return Err(Error::AlreadyMember);
    }
    let member = identity::find_member(&mut change, tenant, account.id)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("membership vanished in its own transaction")))?;
    change.audit(Action::StaffAdd, None, Some(summary(&member))).await?;
    change.commit().await?;
    Ok(member)
}

/// A page of the store's members.
pub async fn list(state: &StaffState, tenant: TenantId, after: Option<AccountId>, limit: i64) -> Result<Vec<Member>> {
    let mut conn = store::read_live(&state.db, tenant).await?;
    Ok(identity::members(&mut conn, tenant, after, limit).await?)
}

/// Removes a member. Admins remove staff; removing an admin or an owner takes an
/// owner; the last owner stays.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn remove(
    state: &StaffState,
    tenant: TenantId,
    account: AccountId,
    caller: Role,
    actor: &Actor,
) -> Result<()> {
    let mut change = StoreChange::begin_locked(&state.db, tenant, actor).await?;
    let member = identity::find_member(&mut change, tenant, account).await?.ok_or(Error::MemberNotFound)?;
    if member.role >= Role::Admin && caller < Role::Owner {
        return Err(Error::Forbidden("Only owners may remove admins and owners."));
    }
    if member.role == Role::Owner {
        let (_, owners) = identity::member_counts(&mut change, tenant).await?;
        if owners <= 1 {
            return Err(Error::LastOwner);
        }
    }
    if !identity::leave_store(&mut change, tenant, account).await? {
        return Err(Error::MemberNotFound);
    }
    change.audit(Action::StaffRemove, Some(summary(&member)), None).await?;
    change.commit().await?;
    Ok(())
}
