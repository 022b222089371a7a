//! Registry SQL (control schema; not tenant-owned, no RLS).

use anyhow::Context;
use chrono::{DateTime, Utc};
use platform::{ids::TenantId, money::Currency, tenancy::TenantStatus};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{NewTenant, PlanId, TenantRecord};

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: Uuid,
    slug: String,
    name: String,
    status: String,
    plan: String,
    currency: String,
    cell_id: String,
    locale: String,
    timezone: String,
    branding: serde_json::Value,
    created_at: DateTime<Utc>,
}

fn record(row: Row) -> anyhow::Result<TenantRecord> {
    Ok(TenantRecord {
        id: TenantId::from_uuid(row.tenant_id),
        slug: row.slug,
        name: row.name,
        status: TenantStatus::parse(&row.status).ok_or_else(|| anyhow::anyhow!("unknown status {}", row.status))?,
        plan: PlanId::new(row.plan),
        currency: Currency::parse(row.currency.trim()).context("stored currency")?,
        cell_id: row.cell_id,
        locale: row.locale,
        timezone: row.timezone,
        branding: row.branding,
        created_at: row.created_at,
    })
}

const COLUMNS: &str = "tenant_id, slug, name, status, plan, currency, cell_id, locale, timezone, branding, created_at";

/// The registry entry with this slug.
pub async fn find_by_slug(conn: &mut PgConnection, slug: &str) -> anyhow::Result<Option<TenantRecord>> {
    let row: Option<Row> = sqlx::query_as(&format!("select {COLUMNS} from control.tenant where slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await?;
    row.map(record).transpose()
}

/// The registry entry with this id, locked for update when `lock`.
pub async fn find(conn: &mut PgConnection, id: TenantId, lock: bool) -> anyhow::Result<Option<TenantRecord>> {
    let lock = if lock { " for update" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!("select {COLUMNS} from control.tenant where tenant_id = $1{lock}"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(record).transpose()
}

/// A page of stores, newest first.
pub async fn list(
    conn: &mut PgConnection,
    only: Option<TenantId>,
    status: Option<TenantStatus>,
    plan: Option<&PlanId>,
    search: Option<&str>,
    after: Option<TenantId>,
    limit: i64,
) -> anyhow::Result<Vec<TenantRecord>> {
    // `strpos`, not `like`: the text is the admin's, `%` and `_` included.
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from control.tenant \
         where ($1::uuid is null or tenant_id = $1) and ($2::text is null or status = $2) \
           and ($3::text is null or plan = $3) and ($4::uuid is null or tenant_id < $4) \
           and ($6::text is null or strpos(lower(slug), lower($6)) > 0 or strpos(lower(name), lower($6)) > 0) \
         order by tenant_id desc limit $5"
    ))
    .bind(only)
    .bind(status.map(|s| s.as_str()))
    .bind(plan.map(PlanId::as_ref))
    .bind(after)
    .bind(limit)
    .bind(search)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(record).collect()
}

/// The cell new tenants go to: the accepting cell with the fewest tenants.
pub async fn pick_cell(conn: &mut PgConnection) -> anyhow::Result<String> {
    let cell: Option<String> = sqlx::query_scalar(
        "select c.cell_id from control.cell c left join control.tenant t using (cell_id) \
         where c.accepts_new_tenants group by c.cell_id order by count(t.tenant_id), c.cell_id limit 1",
    )
    .fetch_optional(conn)
    .await?;
    cell.ok_or_else(|| anyhow::anyhow!("no cell accepts new tenants"))
}

/// Whether a plan exists.
pub async fn plan_exists(conn: &mut PgConnection, plan: &PlanId) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar("select exists(select 1 from control.plan where plan_id = $1)")
        .bind(plan.as_ref())
        .fetch_one(conn)
        .await?)
}

/// Inserts a registry entry in status `provisioning`; `None` when the slug is taken.
pub async fn insert_tenant(
    conn: &mut PgConnection,
    id: TenantId,
    tenant: &NewTenant,
    cell_id: &str,
) -> anyhow::Result<Option<TenantRecord>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "insert into control.tenant (tenant_id, slug, name, plan, currency, cell_id, locale, timezone, status) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'provisioning') on conflict (slug) do nothing returning {COLUMNS}"
    ))
    .bind(id)
    .bind(tenant.slug.as_ref())
    .bind(&tenant.name)
    .bind(tenant.plan.as_ref())
    .bind(tenant.currency.as_str())
    .bind(cell_id)
    .bind(tenant.locale.as_ref())
    .bind(tenant.timezone.as_ref())
    .fetch_optional(conn)
    .await?;
    row.map(record).transpose()
}

/// Default settings rows of a new store.
pub async fn insert_default_settings(conn: &mut PgConnection, id: TenantId, email_from: &str) -> anyhow::Result<()> {
    sqlx::query("insert into control.tenant_payment_settings (tenant_id) values ($1) on conflict do nothing")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into control.tenant_notification_settings (tenant_id, email_from) values ($1, $2) on conflict do nothing",
    )
    .bind(id)
    .bind(email_from)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the status (and `deleted_at` with `deleted`).
pub async fn set_status(conn: &mut PgConnection, id: TenantId, status: TenantStatus) -> anyhow::Result<()> {
    sqlx::query(
        "update control.tenant set status = $2, updated_at = now(), \
         deleted_at = case when $2 = 'deleted' then now() else deleted_at end where tenant_id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Applies a patch.
pub async fn update(
    conn: &mut PgConnection,
    id: TenantId,
    name: Option<&str>,
    plan: Option<&PlanId>,
    branding: Option<&serde_json::Value>,
) -> anyhow::Result<()> {
    sqlx::query(
        "update control.tenant set name = coalesce($2, name), plan = coalesce($3, plan), \
         branding = coalesce($4, branding), updated_at = now() where tenant_id = $1",
    )
    .bind(id)
    .bind(name)
    .bind(plan.map(PlanId::as_ref))
    .bind(branding)
    .execute(conn)
    .await?;
    Ok(())
}

/// Verified and pending custom hosts of a store.
pub async fn hosts(conn: &mut PgConnection, id: TenantId) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar("select host from control.tenant_domain where tenant_id = $1")
        .bind(id)
        .fetch_all(conn)
        .await?)
}

/// Stores stuck in `provisioning` (a crash between the registry and the cell step).
pub async fn stuck_provisioning(conn: &mut PgConnection) -> anyhow::Result<Vec<TenantRecord>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from control.tenant where status = 'provisioning' and created_at < now() - interval '30 seconds'"
    ))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(record).collect()
}
