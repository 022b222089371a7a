//! Registry SQL (control schema; not tenant-owned, no RLS).

use platform::{ids::TenantId, tenancy::TenantStatus};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{NewTenant, TenantRecord};

type Row = (Uuid, String, String, String, String, String, String);

fn record((id, slug, name, status, plan, currency, cell_id): Row) -> anyhow::Result<TenantRecord> {
    Ok(TenantRecord {
        id: TenantId::from_uuid(id),
        slug,
        name,
        status: TenantStatus::parse(&status).ok_or_else(|| anyhow::anyhow!("unknown status {status}"))?,
        plan,
        currency: currency.trim().to_owned(),
        cell_id,
    })
}

const COLUMNS: &str = "tenant_id, slug, name, status, plan, currency, cell_id";

/// The registry entry with this slug.
pub async fn find_by_slug(conn: &mut PgConnection, slug: &str) -> anyhow::Result<Option<TenantRecord>> {
    let row: Option<Row> = sqlx::query_as(&format!("select {COLUMNS} from control.tenant where slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await?;
    row.map(record).transpose()
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

/// Inserts a registry entry; `None` when the slug is taken.
pub async fn insert_tenant(
    conn: &mut PgConnection,
    id: TenantId,
    tenant: &NewTenant,
    cell_id: &str,
) -> anyhow::Result<Option<TenantRecord>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "insert into control.tenant (tenant_id, slug, name, plan, currency, cell_id) \
         values ($1, $2, $3, $4, $5, $6) on conflict (slug) do nothing returning {COLUMNS}"
    ))
    .bind(id)
    .bind(tenant.slug.as_ref())
    .bind(&tenant.name)
    .bind(&tenant.plan)
    .bind(tenant.currency.as_str())
    .bind(cell_id)
    .fetch_optional(conn)
    .await?;
    row.map(record).transpose()
}
