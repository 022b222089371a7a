//! The audit log: every mutation records who did what to which store, with a
//! before/after summary and the request id. Append-only (a trigger refuses
//! updates and deletes).

mod routes;

use platform::ids::TenantId;
use sqlx::PgConnection;

pub(crate) use routes::doc;
pub use routes::router;

use crate::identity::Principal;

/// Who does something, for the audit log.
#[derive(Clone, Debug)]
pub struct Actor {
    /// `account:<id>`, `anonymous`, `system`.
    pub name: String,
    /// The account, when there is one.
    pub account_id: Option<uuid::Uuid>,
    /// The request.
    pub request_id: Option<String>,
}

impl Actor {
    /// The authenticated caller of a request.
    pub fn of(principal: &Principal, request_id: Option<String>) -> Self {
        Self { name: principal.actor(), account_id: Some(principal.account_id.as_uuid()), request_id }
    }

    /// An entry of this actor's action on a store.
    pub fn entry<'a>(
        &self,
        tenant_id: TenantId,
        action: &'a str,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Entry<'a> {
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

/// One audit entry.
pub struct Entry<'a> {
    /// `account:<id>`, `anonymous`, `system`.
    pub actor: String,
    /// The acting account, when there is one.
    pub actor_id: Option<uuid::Uuid>,
    /// The store acted on.
    pub tenant_id: Option<TenantId>,
    /// Dotted verb, e.g. `tenant.suspend`.
    pub action: &'a str,
    /// State before (secrets never included).
    pub before: Option<serde_json::Value>,
    /// State after.
    pub after: Option<serde_json::Value>,
    /// The request that did it.
    pub request_id: Option<String>,
}

/// Records an entry in the caller's transaction, so it commits with the change.
pub async fn record(conn: &mut PgConnection, entry: Entry<'_>) -> anyhow::Result<()> {
    sqlx::query(
        "insert into control.audit_log (audit_id, actor, actor_id, tenant_id, action, before, after, request_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(entry.actor)
    .bind(entry.actor_id)
    .bind(entry.tenant_id)
    .bind(entry.action)
    .bind(entry.before)
    .bind(entry.after)
    .bind(entry.request_id)
    .execute(conn)
    .await?;
    Ok(())
}
