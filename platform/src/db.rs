//! Database cells, migrations and the two ways into data.
//!
//! **Invariant:** tenant-owned rows are reached only through [`TenantTx`], which
//! is built from a resolved tenant and has switched to the restricted role and
//! set the tenant before any query runs. Cross-tenant work names itself by using
//! [`SystemTx`]. There is no third way: services take one of the two as the first
//! argument of every repo function.

use std::{
    collections::HashMap,
    ops::{Deref, DerefMut},
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::Context;
use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection, PgConnection, PgPool, Postgres, Transaction,
};

use crate::{ids::TenantId, tenancy::Tenant};

/// Migrations of the control schema (tenant registry), embedded in the binary.
pub static CONTROL_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/control");
/// Migrations of the commerce schema (every cell), embedded in the binary.
pub static COMMERCE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/commerce");

/// Schema holding the tenant registry.
pub const CONTROL_SCHEMA: &str = "control";
/// Schema holding tenant-owned tables in every cell.
pub const COMMERCE_SCHEMA: &str = "commerce";
/// The id of the cell that lives in the control database.
pub const DEFAULT_CELL: &str = "default";

/// Opens a pool. Every connection resolves unqualified names in the commerce
/// schema, then the control schema (present only in the control database).
///
/// No ping before handing a connection out (`test_before_acquire` is on by
/// default in sqlx): the pool already pings every connection when it comes
/// back (that round trip also flushes the lazy rollback of read-only
/// transactions), so a second one on acquire only added a round trip to every
/// request's critical path (a cached-off product read went from four round
/// trips to three, two of them on the critical path). A connection that dies
/// while idle fails its next query; idle connections are closed after a minute
/// so that window stays short.
pub async fn connect_pool(options: &PgConnectOptions, max_connections: u32) -> anyhow::Result<PgPool> {
    let options =
        options.clone().options([("search_path", "commerce,control,public")]).application_name("commerce-platform");
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .idle_timeout(Duration::from_secs(60))
        .connect_with(options)
        .await
        .context("cannot connect to PostgreSQL")
}

/// Applies every pending migration: the control schema in the control database,
/// then the commerce schema in every cell the registry lists.
///
/// Each schema keeps its own `_sqlx_migrations` table, because the migrator runs on
/// a connection whose `search_path` is that schema alone.
pub async fn migrate(control: &PgConnectOptions) -> anyhow::Result<()> {
    migrate_schema(control, CONTROL_SCHEMA, &CONTROL_MIGRATOR).await?;
    migrate_schema(control, COMMERCE_SCHEMA, &COMMERCE_MIGRATOR).await?;
    let pool = connect_pool(control, 1).await?;
    for (cell_id, options) in remote_cells(&pool).await? {
        migrate_schema(&options, COMMERCE_SCHEMA, &COMMERCE_MIGRATOR)
            .await
            .with_context(|| format!("migrating cell {cell_id}"))?;
    }
    pool.close().await;
    Ok(())
}

async fn migrate_schema(
    options: &PgConnectOptions,
    schema: &str,
    migrator: &sqlx::migrate::Migrator,
) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(&options.clone().options([("search_path", schema)]))
        .await
        .context("cannot connect to PostgreSQL to migrate")?;
    sqlx::raw_sql(&format!("create schema if not exists {schema}")).execute(&mut conn).await?;
    migrator.run(&mut conn).await.with_context(|| format!("migrating schema {schema}"))?;
    conn.close().await?;
    Ok(())
}

/// Cells other than the default one, with their connection options.
async fn remote_cells(control: &PgPool) -> anyhow::Result<Vec<(String, PgConnectOptions)>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select cell_id, database_url_env from control.cell where database_url_env is not null")
            .fetch_all(control)
            .await?;
    rows.into_iter()
        .map(|(cell_id, env)| {
            let url = std::env::var(&env).with_context(|| format!("cell {cell_id}: {env} is not set"))?;
            let options = url
                .parse::<PgConnectOptions>()
                .with_context(|| format!("cell {cell_id}: {env} is not a PostgreSQL URL"))?;
            Ok((cell_id, options))
        })
        .collect()
}

/// The database side of a service: the control pool and one pool per cell.
///
/// Cheap to clone. Cell pools are opened on first use of a cell and kept.
#[derive(Clone)]
pub struct Db {
    control: PgPool,
    cells: Arc<RwLock<HashMap<String, PgPool>>>,
    max_connections: u32,
}

impl Db {
    /// Connects to the control database; it also serves as the default cell.
    pub async fn connect(options: &PgConnectOptions, max_connections: u32) -> anyhow::Result<Self> {
        let control = connect_pool(options, max_connections).await?;
        let mut cells = HashMap::new();
        cells.insert(DEFAULT_CELL.to_owned(), control.clone());
        Ok(Self { control, cells: Arc::new(RwLock::new(cells)), max_connections })
    }

    /// The control database: the tenant registry and other platform tables.
    /// Tenant-owned tables are not reachable here (RLS gives no rows without a tenant).
    pub fn control(&self) -> &PgPool {
        &self.control
    }

    /// The pool of a cell, opening it on first use.
    pub async fn cell(&self, cell_id: &str) -> anyhow::Result<PgPool> {
        if let Some(pool) = self.cells.read().expect("cell map poisoned").get(cell_id) {
            return Ok(pool.clone());
        }
        let options = remote_cells(&self.control)
            .await?
            .into_iter()
            .find_map(|(id, options)| (id == cell_id).then_some(options))
            .with_context(|| format!("unknown cell {cell_id}"))?;
        let pool = connect_pool(&options, self.max_connections).await?;
        let mut cells = self.cells.write().expect("cell map poisoned");
        Ok(cells.entry(cell_id.to_owned()).or_insert(pool).clone())
    }

    /// Every open pool with its cell id, for readiness checks and metrics.
    pub fn open_cells(&self) -> Vec<(String, PgPool)> {
        let cells = self.cells.read().expect("cell map poisoned");
        cells.iter().map(|(id, pool)| (id.clone(), pool.clone())).collect()
    }

    /// Begins a unit of work for one tenant in its cell.
    pub async fn tenant_tx(&self, tenant: &Tenant) -> anyhow::Result<TenantTx> {
        let pool = self.cell(&tenant.cell_id).await?;
        TenantTx::begin(&pool, tenant.id).await
    }

    /// Begins a unit of work for one tenant whose commit does not wait for an
    /// fsync; see [`TenantTx::begin_deferred`] for when that is sound.
    pub async fn tenant_tx_deferred(&self, tenant: &Tenant) -> anyhow::Result<TenantTx> {
        let pool = self.cell(&tenant.cell_id).await?;
        TenantTx::begin_deferred(&pool, tenant.id).await
    }

    /// Begins a tenant-scoped read whose statements run on their generic plan;
    /// see [`TenantTx::begin_generic`] for which reads that suits.
    pub async fn tenant_tx_generic(&self, tenant: &Tenant) -> anyhow::Result<TenantTx> {
        let pool = self.cell(&tenant.cell_id).await?;
        TenantTx::begin_generic(&pool, tenant.id).await
    }

    /// Begins a cross-tenant unit of work in a cell. Callers name why in their own
    /// function; every use is a place where isolation is the caller's job.
    pub async fn system_tx(&self, cell_id: &str) -> anyhow::Result<SystemTx> {
        let pool = self.cell(cell_id).await?;
        SystemTx::begin(&pool).await
    }

    /// Closes every pool, waiting for connections to be returned.
    pub async fn close(&self) {
        for (_, pool) in self.open_cells() {
            pool.close().await;
        }
    }
}

/// A transaction in which only one tenant's rows exist.
///
/// Begun with the restricted role `app_tenant` (no BYPASSRLS, owns no table) and
/// `app.tenant_id` set, both transaction-local so nothing leaks to the next user
/// of the pooled connection. `BEGIN` and both settings travel in one round trip.
/// Dropping it without [`TenantTx::commit`] rolls back.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant_id: TenantId,
}

impl TenantTx {
    /// Begins a tenant-scoped transaction on a cell's pool.
    pub async fn begin(pool: &PgPool, tenant_id: TenantId) -> anyhow::Result<Self> {
        Self::begin_as(pool, tenant_id, "").await
    }

    /// Begins a tenant-scoped transaction whose commit returns before its WAL
    /// reaches disk (`synchronous_commit = off`, transaction-local), sparing an
    /// fsync and, more to the point, letting go of its row locks without
    /// waiting for one.
    ///
    /// Only for a step whose durability a later synchronous commit of the same
    /// flow guarantees — PostgreSQL flushes WAL in order, so that commit makes
    /// this one durable too — and whose outcome no client is told before then.
    /// A crash in between loses this step and everything after it, never this
    /// step alone.
    pub async fn begin_deferred(pool: &PgPool, tenant_id: TenantId) -> anyhow::Result<Self> {
        Self::begin_as(pool, tenant_id, ", set_config('synchronous_commit', 'off', true)").await
    }

    /// Begins a tenant-scoped transaction whose prepared statements run on
    /// their generic plan (`plan_cache_mode = force_generic_plan`,
    /// transaction-local), planned once per connection.
    ///
    /// PostgreSQL otherwise plans each execution again with its parameter
    /// values whenever it estimates such a custom plan cheaper; for the
    /// storefront's product list (one row per product, sub-selects for
    /// variants, options, categories and media) that re-planning was a third
    /// of the database's CPU per request, and the generic plan is the same
    /// index scan. Only for statements whose best plan does not hinge on the
    /// values: lookups and keyset pages by tenant and id, not full-text search.
    pub async fn begin_generic(pool: &PgPool, tenant_id: TenantId) -> anyhow::Result<Self> {
        Self::begin_as(pool, tenant_id, ", set_config('plan_cache_mode', 'force_generic_plan', true)").await
    }

    async fn begin_as(pool: &PgPool, tenant_id: TenantId, extra: &str) -> anyhow::Result<Self> {
        // The id is a UUID we format ourselves (hex and dashes), never client text,
        // so inlining it is safe; it lets the whole preamble go as one simple query.
        let begin = format!(
            "BEGIN; SELECT set_config('role', 'app_tenant', true), set_config('app.tenant_id', '{}', true){extra}",
            tenant_id.as_uuid()
        );
        let tx = pool.begin_with(begin).await.context("cannot begin a tenant transaction")?;
        Ok(Self { tx, tenant_id })
    }

    /// The tenant every row in this transaction belongs to.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// Commits; dropping the transaction instead rolls it back.
    pub async fn commit(self) -> anyhow::Result<()> {
        self.tx.commit().await.context("cannot commit a tenant transaction")
    }
}

/// A cross-tenant transaction (role `app_system`, which bypasses RLS): workers,
/// provisioning, purges and migrations' data steps. Never reachable from a
/// request handler's tenant context.
pub struct SystemTx {
    tx: Transaction<'static, Postgres>,
}

impl SystemTx {
    /// Begins a system transaction on a cell's pool.
    pub async fn begin(pool: &PgPool) -> anyhow::Result<Self> {
        let tx = pool
            .begin_with("BEGIN; SELECT set_config('role', 'app_system', true)")
            .await
            .context("cannot begin a system transaction")?;
        Ok(Self { tx })
    }

    /// Commits; dropping the transaction instead rolls it back.
    pub async fn commit(self) -> anyhow::Result<()> {
        self.tx.commit().await.context("cannot commit a system transaction")
    }
}

/// Both transactions are used as `&mut *tx` wherever sqlx takes a connection;
/// the queries then run inside the transaction, on its role and settings.
macro_rules! deref_to_connection {
    ($($tx:ty),+) => {$(
        impl Deref for $tx {
            type Target = PgConnection;
            fn deref(&self) -> &PgConnection {
                &self.tx
            }
        }

        impl DerefMut for $tx {
            fn deref_mut(&mut self) -> &mut PgConnection {
                &mut self.tx
            }
        }
    )+};
}

deref_to_connection!(TenantTx, SystemTx);
