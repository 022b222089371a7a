//! The audit log: every mutation records who did what to which store, with a
//! before/after summary and the request id. Append-only (a trigger refuses
//! updates and deletes).

mod routes;

use platform::ids::TenantId;
use sqlx::PgConnection;

pub(crate) use routes::openapi::doc;
pub use routes::{router, AuditState};

use crate::identity::{model::AccountId, Principal};

/// Who does something, for the audit log.
#[derive(Clone, Debug)]
pub struct Actor {
    /// `account:<id>`, `platform_token:<id>`, `anonymous`, `system`.
    pub name: String,
    /// The account, when there is one.
    pub account_id: Option<AccountId>,
    /// The request that did it.
    pub request_id: Option<String>,
}

impl Actor {
    /// The authenticated caller of a request.
    pub fn of(principal: &Principal, request_id: Option<String>) -> Self {
        Self { name: principal.actor(), account_id: Some(principal.account_id), request_id }
    }

    /// An actor without an account: `anonymous` (self-service sign-up) or `system`.
    pub fn unauthenticated(name: &str, request_id: Option<String>) -> Self {
        Self { name: name.to_owned(), account_id: None, request_id }
    }

    /// An entry of this actor's action on a store.
    pub fn entry(
        &self,
        tenant_id: TenantId,
        action: Action,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Entry {
        Entry {
            actor: self.name.clone(),
            actor_id: self.account_id,
            tenant_id: Some(tenant_id),
            action,
            before,
            after,
            request_id: self.request_id.clone(),
        }
    }
}

/// What was done; stored as its dotted name (`tenant.suspend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    TenantCreate,
    TenantUpdate,
    TenantDelete,
    TenantSuspend,
    TenantResume,
    TenantPurge,
    ApiKeyCreate,
    ApiKeyRevoke,
    DomainAdd,
    DomainVerify,
    DomainRemove,
    StaffAdd,
    StaffRemove,
    PaymentSettingsUpdate,
    NotificationSettingsUpdate,
    /// An account became a platform admin (an allow-listed OIDC identity's first sign-in).
    PlatformAdminGrant,
    /// A signing key of one audience was replaced by a new one.
    SigningKeyRotate,
    /// A platform API token was minted.
    PlatformTokenCreate,
    /// A platform API token was revoked.
    PlatformTokenRevoke,
}

impl Action {
    /// The dotted name the log stores and shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantCreate => "tenant.create",
            Self::TenantUpdate => "tenant.update",
            Self::TenantDelete => "tenant.delete",
            Self::TenantSuspend => "tenant.suspend",
            Self::TenantResume => "tenant.resume",
            Self::TenantPurge => "tenant.purge",
            Self::ApiKeyCreate => "api_key.create",
            Self::ApiKeyRevoke => "api_key.revoke",
            Self::DomainAdd => "domain.add",
            Self::DomainVerify => "domain.verify",
            Self::DomainRemove => "domain.remove",
            Self::StaffAdd => "staff.add",
            Self::StaffRemove => "staff.remove",
            Self::PaymentSettingsUpdate => "settings.payment.update",
            Self::NotificationSettingsUpdate => "settings.notification.update",
            Self::PlatformAdminGrant => "platform_admin.grant",
            Self::SigningKeyRotate => "signing_key.rotate",
            Self::PlatformTokenCreate => "platform_token.create",
            Self::PlatformTokenRevoke => "platform_token.revoke",
        }
    }
}

/// One audit entry.
pub struct Entry {
    /// `account:<id>`, `anonymous`, `system`.
    pub actor: String,
    pub actor_id: Option<AccountId>,
    pub tenant_id: Option<TenantId>,
    pub action: Action,
    /// State before (secrets never included).
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// Records an entry in the caller's transaction, so it commits with the change.
pub async fn record(conn: &mut PgConnection, entry: Entry) -> anyhow::Result<()> {
    sqlx::query(
        "insert into control.audit_log (audit_id, actor, actor_id, tenant_id, action, before, after, request_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(entry.actor)
    .bind(entry.actor_id)
    .bind(entry.tenant_id)
    .bind(entry.action.as_str())
    .bind(entry.before)
    .bind(entry.after)
    .bind(entry.request_id)
    .execute(conn)
    .await?;
    Ok(())
}
