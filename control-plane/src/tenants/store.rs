//! A live store as the other contexts (domains, staff, API keys, settings)
//! change it: every change runs in one control-schema transaction that first
//! checks the store is live, records its audit entries with the change, and is
//! then announced so data-plane replicas drop what they cached.

use std::ops::{Deref, DerefMut};

use platform::{
    db::Db,
    ids::TenantId,
    problem::Problem,
    quotas::Quotas,
    tenancy::{announce_change, TenantChange, TenantStatus},
};
use sqlx::{pool::PoolConnection, PgConnection, Postgres, Transaction};

use super::{model::TenantRecord, repo};
use crate::{
    audit::{self, Action, Actor},
    identity::principal::store_not_found,
};

/// Why a store cannot be changed or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Never created, or deleted: the caller sees no difference.
    #[error("store not found")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => store_not_found(),
            StoreError::Internal(e) => Problem::internal(e),
        }
    }
}

/// [`context_error!`](crate::error::context_error) for a context that changes
/// live stores: its `Error` also has `Store`, the store not being there (see
/// [`StoreError`]), which answers as the registry does.
macro_rules! store_context_error {
    (
        $(#[$meta:meta])*
        pub enum Error { $($variants:tt)* }
        as problems { $($arms:tt)* }
    ) => {
        $crate::error::context_error! {
            $(#[$meta])*
            pub enum Error {
                $($variants)*
                #[error("{0}")]
                Store(#[from] $crate::tenants::store::StoreError),
            }
            as problems {
                $($arms)*
                Error::Store(e) => e.into(),
            }
        }
    };
}
pub(crate) use store_context_error;

/// The store `id` unless it was deleted (or never existed). With `lock`, its row
/// stays locked until the caller's transaction ends, so rules that count
/// (seat quotas, the last owner) cannot race another change to the same store.
pub async fn find_live(conn: &mut PgConnection, id: TenantId, lock: bool) -> Result<TenantRecord, StoreError> {
    match repo::find(conn, id, lock).await? {
        Some(record) if record.status != TenantStatus::Deleted => Ok(record),
        _ => Err(StoreError::NotFound),
    }
}

/// A connection for reading what belongs to a live store.
pub async fn read_live(db: &Db, tenant: TenantId) -> Result<PoolConnection<Postgres>, StoreError> {
    let mut conn = db.control().acquire().await?;
    find_live(&mut conn, tenant, false).await?;
    Ok(conn)
}

/// The quotas of the store's plan, read in the caller's transaction (no cache:
/// the control plane enforces them).
pub async fn quotas(conn: &mut PgConnection, id: TenantId) -> Result<Quotas, StoreError> {
    platform::quotas::plan_quotas(conn, id).await?.ok_or(StoreError::NotFound)
}

/// One actor's change to one live store: a transaction (derefs to its
/// connection) whose audit entries commit with the change or not at all.
pub struct StoreChange<'a> {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
    actor: &'a Actor,
}

impl<'a> StoreChange<'a> {
    /// Begins a change of `tenant`, which must be live.
    pub async fn begin(db: &Db, tenant: TenantId, actor: &'a Actor) -> Result<Self, StoreError> {
        Self::start(db, tenant, actor, false).await
    }

    /// Begins a change that holds the store's row until it ends: for rules that
    /// count or that must not race another change of the same store.
    pub async fn begin_locked(db: &Db, tenant: TenantId, actor: &'a Actor) -> Result<Self, StoreError> {
        Self::start(db, tenant, actor, true).await
    }

    async fn start(db: &Db, tenant: TenantId, actor: &'a Actor, lock: bool) -> Result<Self, StoreError> {
        let mut tx = db.control().begin().await?;
        find_live(&mut tx, tenant, lock).await?;
        Ok(Self { tx, tenant, actor })
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Records `action` with what it changed (summaries: never secrets).
    pub async fn audit(
        &mut self,
        action: Action,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> anyhow::Result<()> {
        audit::record(&mut self.tx, self.actor.entry(self.tenant, action, before, after)).await
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
    }
}

impl Deref for StoreChange<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for StoreChange<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

/// Tells every data-plane replica that something of a store changed.
#[derive(Clone)]
pub struct Announcer {
    redis: redis::aio::ConnectionManager,
}

impl Announcer {
    pub fn new(redis: redis::aio::ConnectionManager) -> Self {
        Self { redis }
    }

    /// Replicas drop what they cached about store `id` (resolution, API keys,
    /// quotas) and about `hosts` (cached "no such store" answers included).
    pub async fn store_changed(&self, id: TenantId, hosts: Vec<String>) -> anyhow::Result<()> {
        let mut redis = self.redis.clone();
        announce_change(&mut redis, &TenantChange { tenant_id: id.as_uuid(), hosts }).await
    }
}
