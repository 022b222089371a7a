//! Database cells, migrations and the two ways into data.
//!
//! **Invariant:** tenant-owned rows are reached only through [`TenantTx`], which
//! is built from a resolved tenant and has switched to the restricted role and
//! set the tenant before any query runs. Cross-tenant work names itself by using
//! [`SystemTx`]. There is no third way: services take one of the two as the first
//! argument of every repo function. [`Db::tenant_read`] is [`TenantTx`]'s
//! one-statement form for hot storefront reads: the same role and tenant,
//! set in the same message as the statement.

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
use tokio::sync::watch;

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
    connect_pool_with(options, &PoolLimits { max_connections, ..PoolLimits::default() }).await
}

/// How a service's pools wait on PostgreSQL (`DB_*` settings).
#[derive(Clone, Copy, Debug)]
pub struct PoolLimits {
    /// Connections per cell pool (`DB_MAX_CONNECTIONS`).
    pub max_connections: u32,
    /// How long a request waits for a pooled connection (`DB_ACQUIRE_TIMEOUT_MS`).
    /// Generous on purpose: under a flash sale hundreds of checkouts queue here
    /// legitimately, and a database that stopped answering is caught by the
    /// liveness probe long before, whatever this says.
    pub acquire_timeout: Duration,
    /// How long the liveness probe waits for `select 1` before calling the
    /// database down (`DB_TIMEOUT_MS`), and so about how long a request takes
    /// to get its `503` once it stopped answering.
    pub answer_timeout: Duration,
    /// PostgreSQL's own `statement_timeout` on every pooled connection
    /// (`DB_STATEMENT_TIMEOUT_MS`): a statement running longer is cancelled by
    /// the server, and the request answers `503`.
    pub statement_timeout: Duration,
}

impl Default for PoolLimits {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            answer_timeout: Duration::from_secs(1),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

async fn connect_pool_with(options: &PgConnectOptions, limits: &PoolLimits) -> anyhow::Result<PgPool> {
    let statement_timeout = limits.statement_timeout.as_millis().to_string();
    let options = options
        .clone()
        .options([("search_path", "commerce,control,public"), ("statement_timeout", statement_timeout.as_str())])
        .application_name("commerce-platform");
    PgPoolOptions::new()
        .max_connections(limits.max_connections)
        .min_connections(1)
        .acquire_timeout(limits.acquire_timeout)
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
///
/// **Liveness.** Each pool has a probe: a connection of its own that runs
/// `select 1` every [`PROBE_INTERVAL`] and calls the database down when no
/// answer comes within `answer_timeout` (or the connection fails). While a
/// cell is down, beginning a transaction there fails at once with
/// [`DatabaseUnavailable`] (a `503` problem), and requests already waiting
/// for a connection or for their `BEGIN` are released with it, so a frozen
/// or vanished PostgreSQL costs a request about a second, not a hang. The
/// probe keeps asking; the first answer lets requests through again, with no
/// restart. The probe is separate from the pool on purpose: a pool busy
/// under a flash sale (requests queueing for connections) is not a database
/// that stopped answering, and must not be refused as one.
#[derive(Clone)]
pub struct Db {
    control: PgPool,
    cells: Arc<RwLock<HashMap<String, Cell>>>,
    limits: PoolLimits,
}

/// One cell's pool, its call lanes and what its probe last saw.
#[derive(Clone)]
struct Cell {
    pool: PgPool,
    lanes: Arc<Lanes>,
    alive: watch::Receiver<bool>,
}

impl Cell {
    fn new(pool: PgPool, alive: watch::Receiver<bool>, limits: &PoolLimits) -> Self {
        Self { pool, lanes: Arc::new(Lanes::new(limits.max_connections)), alive }
    }
}

/// Connections of a cell's pool kept for the one-round-trip reads
/// ([`Db::tenant_call`], [`Db::tenant_read`]), taken from the pool when first
/// needed and then held, never returned.
///
/// sqlx 0.8 pings every connection returned to its pool (a `Sync` round trip,
/// on a task it spawns) before another request may take it, and that cannot
/// be turned off: for a one-round-trip read it doubled the messages PostgreSQL
/// answers. A call here takes a lane's connection, runs its one statement and
/// puts the connection back with no ping. A call that fails or is dropped
/// midway (its client went away) closes the connection instead, and the
/// lane takes a fresh one from the pool next time.
///
/// A lane's connection is the tenant role's for its whole life: when a lane
/// takes it from the pool it runs `SET ROLE app_tenant` and
/// `SET plan_cache_mode = force_generic_plan` (session-level, once), so a
/// [`TenantCall::statement`] is one prepared statement whose plan already
/// carries row-level security, with no role switch per call. Such a
/// connection never goes back to the pool, where system and control work
/// expects the login role: it is closed instead (failed calls,
/// [`Lanes::close`]).
///
/// At most half the pool's connections become lanes, so transactions keep
/// the other half, and the pool's size stays the cell's bound.
struct Lanes {
    permits: tokio::sync::Semaphore,
    /// Idle lane connections; `None` once closed (see [`Lanes::close`]).
    free: std::sync::Mutex<Option<Vec<sqlx::pool::PoolConnection<Postgres>>>>,
}

impl Lanes {
    fn new(pool_size: u32) -> Self {
        let lanes = (pool_size / 2).max(1) as usize;
        Self {
            permits: tokio::sync::Semaphore::new(lanes),
            free: std::sync::Mutex::new(Some(Vec::with_capacity(lanes))),
        }
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Option<Vec<sqlx::pool::PoolConnection<Postgres>>>> {
        // A poisoned lock means a panic between a pop and a push: the list itself is whole.
        self.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Gives every lane's connection back to the pool, so the pool can close:
    /// later calls fail, and a call in flight drops its connection at the end.
    fn close(&self) {
        self.permits.close();
        // Each was marked to close on drop when its lane took it.
        drop(self.free().take());
    }

    /// A lane's connection (taken from `pool` and given the tenant role if no
    /// lane has one yet), held until the [`Lease`] is released or dropped.
    async fn lease<'a>(&'a self, pool: &PgPool) -> anyhow::Result<Lease<'a>> {
        let permit = self.permits.acquire().await.context("the cell's call lanes are closed")?;
        let idle = self.free().as_mut().and_then(Vec::pop);
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let mut conn = pool.acquire().await.context("cannot acquire a connection for a tenant read")?;
                // Closed, not returned, if this fails midway: the role may be set already.
                conn.close_on_drop();
                lane_session(&mut conn).await.context("cannot make a call lane")?;
                conn
            }
        };
        Ok(Lease { lanes: self, conn: Some(conn), _permit: permit })
    }
}

/// Makes a connection a lane's for its life (see [`Lanes`]): one statement,
/// session-level settings.
fn lane_session(
    conn: &mut PgConnection,
) -> futures_util::future::BoxFuture<'_, Result<sqlx::postgres::PgQueryResult, sqlx::Error>> {
    sqlx::Executor::execute(
        conn,
        "select set_config('role', 'app_tenant', false), set_config('plan_cache_mode', 'force_generic_plan', false)",
    )
}

/// A lane's connection while one read runs on it. [`Lease::release`] puts
/// it back for the next read; dropped instead (the read failed, or its
/// future was dropped midway), the connection is closed (it never goes back
/// to the pool, see [`Lanes`]) and the lane takes a fresh one next time.
struct Lease<'a> {
    lanes: &'a Lanes,
    conn: Option<sqlx::pool::PoolConnection<Postgres>>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Lease<'_> {
    fn conn(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("a lease holds its connection until released")
    }

    /// The read finished cleanly: the connection is the lane's again.
    fn release(mut self) {
        if let (Some(conn), Some(free)) = (self.conn.take(), self.lanes.free().as_mut()) {
            free.push(conn);
        }
    }
}

/// How often each pool's liveness probe asks.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// The database did not answer its liveness probe: requests get a `503`.
#[derive(Debug, thiserror::Error)]
#[error("the database is not answering")]
pub struct DatabaseUnavailable;

impl Db {
    /// Connects to the control database; it also serves as the default cell.
    pub async fn connect(options: &PgConnectOptions, limits: PoolLimits) -> anyhow::Result<Self> {
        let control = connect_pool_with(options, &limits).await?;
        let alive = spawn_probe(options.clone(), limits.answer_timeout);
        let mut cells = HashMap::new();
        cells.insert(DEFAULT_CELL.to_owned(), Cell::new(control.clone(), alive, &limits));
        Ok(Self { control, cells: Arc::new(RwLock::new(cells)), limits })
    }

    /// The control database: the tenant registry and other platform tables.
    /// Tenant-owned tables are not reachable here (RLS gives no rows without a tenant).
    pub fn control(&self) -> &PgPool {
        &self.control
    }

    /// The pool of a cell, opening it on first use.
    pub async fn cell(&self, cell_id: &str) -> anyhow::Result<PgPool> {
        Ok(self.open(cell_id).await?.pool)
    }

    async fn open(&self, cell_id: &str) -> anyhow::Result<Cell> {
        if let Some(cell) = self.cells.read().expect("cell map poisoned").get(cell_id) {
            return Ok(cell.clone());
        }
        // Rare, and a large future: boxed, so the future of every read stays small.
        Box::pin(self.open_new(cell_id)).await
    }

    async fn open_new(&self, cell_id: &str) -> anyhow::Result<Cell> {
        let options = remote_cells(&self.control)
            .await?
            .into_iter()
            .find_map(|(id, options)| (id == cell_id).then_some(options))
            .with_context(|| format!("unknown cell {cell_id}"))?;
        let pool = connect_pool_with(&options, &self.limits).await?;
        let alive = spawn_probe(options, self.limits.answer_timeout);
        let mut cells = self.cells.write().expect("cell map poisoned");
        Ok(cells.entry(cell_id.to_owned()).or_insert_with(|| Cell::new(pool, alive, &self.limits)).clone())
    }

    /// Every open pool with its cell id, for readiness checks and metrics.
    pub fn open_cells(&self) -> Vec<(String, PgPool)> {
        let cells = self.cells.read().expect("cell map poisoned");
        cells.iter().map(|(id, cell)| (id.clone(), cell.pool.clone())).collect()
    }

    /// Whether the cell's probe last got an answer (false for a cell not open).
    pub fn is_alive(&self, cell_id: &str) -> bool {
        self.cells.read().expect("cell map poisoned").get(cell_id).is_some_and(|cell| *cell.alive.borrow())
    }

    /// How long the probe waits for an answer (`DB_TIMEOUT_MS`).
    pub fn answer_timeout(&self) -> Duration {
        self.limits.answer_timeout
    }

    /// Runs `work` against the control database unless its probe calls it
    /// down, giving up on it as soon as the probe does: for the few reads that
    /// go to the control pool directly on a request's path (a store's payment
    /// settings), so they cost a `503` rather than a hang too.
    pub async fn on_control<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        F: std::future::Future<Output = anyhow::Result<T>>,
    {
        let cell = self.open(DEFAULT_CELL).await?;
        while_alive(&cell, work).await
    }

    /// Begins a unit of work for one tenant in its cell.
    pub async fn tenant_tx(&self, tenant: &Tenant) -> anyhow::Result<TenantTx> {
        let cell = self.open(&tenant.cell_id).await?;
        while_alive(&cell, Box::pin(TenantTx::begin(&cell.pool, tenant.id))).await
    }

    /// Begins a tenant-scoped read whose statements run on their generic plan;
    /// see [`TxSettings::generic_plans`] for which reads that suits.
    pub async fn tenant_tx_generic(&self, tenant: &Tenant) -> anyhow::Result<TenantTx> {
        self.tenant_tx_with(tenant, TxSettings { generic_plans: true, ..TxSettings::default() }).await
    }

    /// Begins a unit of work for one tenant with transaction-local
    /// [`TxSettings`], sent in the same round trip as its `BEGIN`.
    pub async fn tenant_tx_with(&self, tenant: &Tenant, settings: TxSettings) -> anyhow::Result<TenantTx> {
        let cell = self.open(&tenant.cell_id).await?;
        while_alive(&cell, Box::pin(TenantTx::begin_with_settings(&cell.pool, tenant.id, settings))).await
    }

    /// Runs one read for a tenant in a single round trip: the tenant context
    /// and the statement travel as one simple-protocol message, which
    /// PostgreSQL runs as one implicit transaction (so the context, set with
    /// `is_local`, ends with it and no `BEGIN`/`ROLLBACK` is sent). Returns
    /// the statement's rows, every column in text format.
    ///
    /// The statement is planned after the context is set, so row-level
    /// security applies to it exactly as in a [`TenantTx`]. It has no bind
    /// parameters: values are inlined by [`TenantRead`], whose only way to
    /// take client text is as an escaped literal.
    /// It runs on one of the cell's call lanes, as [`Db::tenant_call`] does.
    pub async fn tenant_read(&self, tenant: &Tenant, read: TenantRead) -> anyhow::Result<Vec<sqlx::postgres::PgRow>> {
        use futures_util::TryStreamExt;
        let cell = self.open(&tenant.cell_id).await?;
        let sql = format!(
            "SELECT set_config('role', 'app_tenant', true), set_config('app.tenant_id', '{}', true); {}",
            tenant.id.as_uuid(),
            read.sql
        );
        while_alive(
            &cell,
            Box::pin(async {
                let mut lease = cell.lanes.lease(&cell.pool).await?;
                let mut results = sqlx::raw_sql(&sql).fetch_many(lease.conn());
                // Statement 1 (the context) answers one row, then its result; the rest is the read's.
                let mut statements_done = 0;
                let mut rows = Vec::new();
                while let Some(item) = results.try_next().await.context("tenant read failed")? {
                    match item {
                        sqlx::Either::Left(_) => statements_done += 1,
                        sqlx::Either::Right(row) if statements_done >= 1 => rows.push(row),
                        sqlx::Either::Right(_) => {}
                    }
                }
                drop(results);
                lease.release();
                Ok(rows)
            }),
        )
        .await
    }

    /// Runs a tenant read in one round trip on a prepared statement, in one
    /// of two forms ([`TenantCall::statement`], [`TenantCall::function`]).
    ///
    /// **A statement** runs as
    /// `select r.* from (select set_config('app.tenant_id', $n, true)::uuid
    /// as tenant_id offset 0) ctx cross join lateral (select * from
    /// (<statement>) read offset 0) r`, with
    /// the tenant's id bound last (`$n`) and the statement naming it
    /// `ctx.tenant_id`. The lane's connection is `app_tenant` for its life
    /// (see [`Lanes`]), so the cached plan carries row-level security; the
    /// read depends on `ctx`'s column, so PostgreSQL can only run it after
    /// the context is set (a nested loop with `ctx` outside, row-level
    /// security's check a one-time filter inside); and were it ever run
    /// first, the check would see no tenant and the read would answer no
    /// rows, never another store's. The `offset 0` fences keep the read a
    /// subquery of its own: pulled up into the join, PostgreSQL merged
    /// `ctx`'s column with the policy's `current_tenant_id()` and, for a
    /// product by id, chose a scan of the store's every product through a
    /// GIN index it costed at zero (round eight). The context is transaction-local and
    /// ends with the call. PostgreSQL spends a third fewer instructions on a
    /// list of 20 this way than through a PL/pgSQL function, a fifth fewer on
    /// a point read (BENCHMARKS.md, round eight).
    ///
    /// **A function** of the schema sets the tenant context itself:
    /// `select * from <function>($1, …)` with the tenant's id as `$1` and
    /// [`TenantCall`]'s arguments after it.
    ///
    /// Such a function (`storefront_docs_*`, migrations) begins by switching to
    /// `app_tenant` and setting `app.tenant_id` from its first argument, both
    /// `is_local`, so row-level security applies to its statements exactly as
    /// in a [`TenantTx`] and the context ends with the implicit transaction.
    /// Unlike [`Db::tenant_read`], nothing is parsed or planned per call: the
    /// call is a prepared statement of the connection and the function's
    /// statements keep their plans, which is most of a point read's cost in
    /// PostgreSQL (BENCHMARKS.md). It runs on one of the cell's call lanes
    /// (connections held out of the pool), so no release ping follows it.
    pub async fn tenant_call(&self, tenant: &Tenant, call: TenantCall) -> anyhow::Result<Vec<sqlx::postgres::PgRow>> {
        let cell = self.open(&tenant.cell_id).await?;
        let TenantCall { read, mut args, count } = call;
        // The tenant's id is bound last.
        sqlx::Arguments::add(&mut args, tenant.id.as_uuid()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let tenant_param = count + 1;
        let sql = match read {
            CallRead::Statement(statement) => format!(
                "select r.* from (select set_config('app.tenant_id', ${tenant_param}::text, true)::uuid as tenant_id \
                 offset 0) ctx cross join lateral (select * from ({statement}) read offset 0) r"
            ),
            CallRead::Function(function) => {
                let mut sql = format!("select * from {function}(${tenant_param}");
                for n in 1..=count {
                    use std::fmt::Write;
                    let _ = write!(sql, ", ${n}");
                }
                sql.push(')');
                sql
            }
        };
        while_alive(
            &cell,
            Box::pin(async {
                let mut lease = cell.lanes.lease(&cell.pool).await?;
                let rows = sqlx::query_with(&sql, args).fetch_all(lease.conn()).await.context("tenant call failed")?;
                lease.release();
                Ok(rows)
            }),
        )
        .await
    }

    /// Begins a cross-tenant unit of work in a cell. Callers name why in their own
    /// function; every use is a place where isolation is the caller's job.
    pub async fn system_tx(&self, cell_id: &str) -> anyhow::Result<SystemTx> {
        let cell = self.open(cell_id).await?;
        while_alive(&cell, Box::pin(SystemTx::begin(&cell.pool))).await
    }

    /// Closes every pool, waiting for connections to be returned.
    pub async fn close(&self) {
        let cells: Vec<Cell> = self.cells.read().expect("cell map poisoned").values().cloned().collect();
        for cell in cells {
            // The lanes first: the pool waits for every connection to come back.
            cell.lanes.close();
            cell.pool.close().await;
        }
    }
}

/// Runs `begin` unless the cell is down, and gives up on it (dropping the
/// half-begun transaction) as soon as the probe sees the cell go down.
///
/// Callers pass sqlx's futures boxed: they are large, and held inline they
/// made every handler's future large, which is copied each time it moves
/// (into axum's boxes): ~40,000 instructions of memcpy per cold product read.
async fn while_alive<T>(cell: &Cell, begin: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let mut alive = cell.alive.clone();
    if !*alive.borrow_and_update() {
        return Err(DatabaseUnavailable.into());
    }
    let down = async {
        // A probe that ended (its service is shutting down) never reports.
        if alive.wait_for(|up| !*up).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        begun = begin => begun,
        () = down => Err(DatabaseUnavailable.into()),
    }
}

/// Starts a pool's liveness probe; it stops when every holder of the
/// receiver (the service's `Db`) is gone.
fn spawn_probe(options: PgConnectOptions, answer_timeout: Duration) -> watch::Receiver<bool> {
    let (report, alive) = watch::channel(true);
    tokio::spawn(async move {
        let mut conn: Option<PgConnection> = None;
        let mut ticks = tokio::time::interval(PROBE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !report.is_closed() {
            ticks.tick().await;
            let answer = tokio::time::timeout(answer_timeout, async {
                if conn.is_none() {
                    conn = Some(PgConnection::connect_with(&options).await?);
                }
                let Some(conn) = conn.as_mut() else { unreachable!("connected above") };
                sqlx::query("select 1").execute(conn).await.map(drop)
            })
            .await;
            let up = matches!(answer, Ok(Ok(())));
            if !up {
                // Timed out mid-query or broken: never reuse it.
                conn = None;
            }
            report.send_if_modified(|was| {
                let changed = *was != up;
                if changed && up {
                    tracing::info!("the database answers again");
                } else if changed {
                    tracing::warn!(timeout_ms = answer_timeout.as_millis() as u64, "the database stopped answering");
                }
                *was = up;
                changed
            });
        }
    });
    alive
}

/// Transaction-local settings a [`TenantTx`] begins with (`set_config(…, true)`
/// in the same simple-protocol message as its `BEGIN`: no extra round trip).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxSettings {
    /// `synchronous_commit = off`: the commit returns before its WAL reaches
    /// disk, sparing an fsync and, more to the point, letting go of its row
    /// locks without waiting for one.
    ///
    /// Only for a step whose durability a later synchronous commit of the same
    /// flow guarantees — PostgreSQL flushes WAL in order, so that commit makes
    /// this one durable too — and whose outcome no client is told before then.
    /// A crash in between loses this step and everything after it, never this
    /// step alone.
    pub deferred_commit: bool,
    /// `plan_cache_mode = force_generic_plan`: prepared statements run on
    /// their generic plan, planned once per connection.
    ///
    /// PostgreSQL otherwise plans each execution again with its parameter
    /// values whenever it estimates such a custom plan cheaper, as it does for
    /// a statement that takes an array (a generic plan counts ten elements in
    /// it, a custom plan the one or two it holds). For the
    /// storefront's product list that re-planning was a third of the
    /// database's CPU per request; for checkout's writes, about a fifth. Only
    /// for statements whose best plan does not hinge on the values: lookups,
    /// writes and keyset pages by tenant and id, not full-text search.
    pub generic_plans: bool,
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
    /// Where it was begun, for [`TenantTx::commit_then_flush`].
    pool: PgPool,
}

impl TenantTx {
    /// Begins a tenant-scoped transaction on a cell's pool.
    pub async fn begin(pool: &PgPool, tenant_id: TenantId) -> anyhow::Result<Self> {
        Self::begin_as(pool, tenant_id, "").await
    }

    /// Begins a tenant-scoped transaction whose commit returns before its WAL
    /// reaches disk; see [`TxSettings::deferred_commit`] for when that is sound.
    pub async fn begin_deferred(pool: &PgPool, tenant_id: TenantId) -> anyhow::Result<Self> {
        Self::begin_with_settings(pool, tenant_id, TxSettings { deferred_commit: true, ..TxSettings::default() }).await
    }

    /// Begins a tenant-scoped transaction whose prepared statements run on
    /// their generic plan; see [`TxSettings::generic_plans`].
    pub async fn begin_generic(pool: &PgPool, tenant_id: TenantId) -> anyhow::Result<Self> {
        Self::begin_with_settings(pool, tenant_id, TxSettings { generic_plans: true, ..TxSettings::default() }).await
    }

    /// Begins a tenant-scoped transaction with transaction-local [`TxSettings`].
    pub async fn begin_with_settings(pool: &PgPool, tenant_id: TenantId, settings: TxSettings) -> anyhow::Result<Self> {
        let mut extra = String::new();
        if settings.deferred_commit {
            extra.push_str(", set_config('synchronous_commit', 'off', true)");
        }
        if settings.generic_plans {
            extra.push_str(", set_config('plan_cache_mode', 'force_generic_plan', true)");
        }
        Self::begin_as(pool, tenant_id, &extra).await
    }

    async fn begin_as(pool: &PgPool, tenant_id: TenantId, extra: &str) -> anyhow::Result<Self> {
        // The id is a UUID we format ourselves (hex and dashes), never client text,
        // so inlining it is safe; it lets the whole preamble go as one simple query.
        let begin = format!(
            "BEGIN; SELECT set_config('role', 'app_tenant', true), set_config('app.tenant_id', '{}', true){extra}",
            tenant_id.as_uuid()
        );
        let tx = pool.begin_with(begin).await.context("cannot begin a tenant transaction")?;
        Ok(Self { tx, tenant_id, pool: pool.clone() })
    }

    /// The tenant every row in this transaction belongs to.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// Commits; dropping the transaction instead rolls it back.
    pub async fn commit(self) -> anyhow::Result<()> {
        self.tx.commit().await.context("cannot commit a tenant transaction")
    }

    /// Commits, then returns once that commit is on disk, for a transaction
    /// begun with [`TxSettings::deferred_commit`]: its row locks are let go
    /// before the flush instead of after it, so transactions queued on the
    /// same rows (a store's order counter, a popular item's stock) do not
    /// wait one flush each.
    ///
    /// The flush is a second, empty transaction that takes a transaction id
    /// and commits synchronously: PostgreSQL flushes WAL in order, so its
    /// commit is durable only once this one's is, and many such flushes share
    /// one `fsync`. Between the two, other transactions can see what this one
    /// wrote before it is durable; a crash then loses it, as with any
    /// deferred commit. Whoever is told of the outcome is told after this
    /// returns.
    pub async fn commit_then_flush(self) -> anyhow::Result<()> {
        let pool = self.pool.clone();
        self.commit().await?;
        sqlx::raw_sql("BEGIN; SELECT pg_current_xact_id(); COMMIT")
            .execute(&pool)
            .await
            .context("cannot flush a deferred commit")?;
        Ok(())
    }
}

/// A one-round-trip tenant read for [`Db::tenant_call`]: a statement or a
/// tenant-context function, and its arguments, bound as parameters.
pub struct TenantCall {
    read: CallRead,
    args: sqlx::postgres::PgArguments,
    count: usize,
}

enum CallRead {
    Statement(&'static str),
    Function(&'static str),
}

impl TenantCall {
    /// A read statement of the program's own, whose arguments are `$1`… in
    /// the order they are bound and whose tenant is `ctx.tenant_id` (see
    /// [`Db::tenant_call`]).
    pub fn statement(statement: &'static str) -> Self {
        Self { read: CallRead::Statement(statement), args: sqlx::postgres::PgArguments::default(), count: 0 }
    }

    /// A call of `function`, a tenant-context function of the schema (a name
    /// of the program's own, never client text), with the tenant's id first.
    pub fn function(function: &'static str) -> Self {
        Self { read: CallRead::Function(function), args: sqlx::postgres::PgArguments::default(), count: 0 }
    }

    /// Binds the next argument.
    pub fn arg<T>(mut self, value: T) -> anyhow::Result<Self>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send,
    {
        sqlx::Arguments::add(&mut self.args, value).map_err(|e| anyhow::anyhow!("{e}"))?;
        self.count += 1;
        Ok(self)
    }
}

/// One read-only statement for [`Db::tenant_read`], with its values inlined
/// as SQL literals (the simple protocol has no parameters).
///
/// **Invariant:** SQL text comes only from `&'static str` (the program's own);
/// everything else enters typed (integers, UUIDs) or through
/// [`TenantRead::text`], which quotes it as an escape-string literal that no
/// `standard_conforming_strings` setting can end early.
#[derive(Debug, Default)]
pub struct TenantRead {
    sql: String,
}

impl TenantRead {
    /// A statement beginning with `sql`.
    pub fn new(sql: &'static str) -> Self {
        Self { sql: sql.to_owned() }
    }

    /// Appends SQL text of the program's own.
    pub fn sql(&mut self, sql: &'static str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends an integer literal.
    pub fn int(&mut self, value: i64) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "({value})::bigint");
        self
    }

    /// Appends a UUID literal.
    pub fn uuid(&mut self, value: uuid::Uuid) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "'{value}'::uuid");
        self
    }

    /// Appends a `uuid[]` literal.
    pub fn uuids(&mut self, values: &[uuid::Uuid]) -> &mut Self {
        use std::fmt::Write;
        self.sql.push_str("array[");
        for (n, value) in values.iter().enumerate() {
            let _ = write!(self.sql, "{}'{value}'", if n > 0 { "," } else { "" });
        }
        self.sql.push_str("]::uuid[]");
        self
    }

    /// Appends a text literal (`E'…'`, quotes and backslashes escaped).
    /// Text with a NUL byte is refused: the simple protocol would cut the
    /// statement there (the edge refuses such input before it gets here).
    pub fn text(&mut self, value: &str) -> anyhow::Result<&mut Self> {
        anyhow::ensure!(!value.contains('\0'), "a NUL byte cannot be a SQL literal");
        self.sql.reserve(value.len() + 4);
        self.sql.push_str("E'");
        for c in value.chars() {
            match c {
                '\'' => self.sql.push_str("''"),
                '\\' => self.sql.push_str("\\\\"),
                c => self.sql.push(c),
            }
        }
        self.sql.push('\'');
        Ok(self)
    }

    /// The statement as it will be sent (for tests and logs).
    pub fn as_str(&self) -> &str {
        &self.sql
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
