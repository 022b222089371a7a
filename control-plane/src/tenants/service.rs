//! Provisioning and lifecycle rules.

use std::io::Write;

use anyhow::Context;
use platform::{
    auth::Role,
    db::{Db, SystemTx},
    ids::TenantId,
    media::Removal,
    problem::{FieldError, Problem},
    tenancy::TenantStatus,
};
use sqlx::{PgConnection, Postgres, Transaction};

use super::{
    model::{NewTenant, PlanId, TenantRecord},
    repo, TenantsState,
};
use crate::{
    audit::{self, Action},
    error::context_error,
    identity::{
        model::{Account, Email, Password, TokenFamilyId, TokenPair},
        principal::store_not_found,
        service as identity,
    },
};

context_error! {
    /// Outcomes of tenant operations a client handles differently.
    pub enum Error {
        /// Another store has the slug.
        #[error("slug taken")]
        SlugTaken,
        /// Input breaks a rule.
        #[error("invalid")]
        Invalid(Vec<FieldError>),
        /// The owner email belongs to an account whose password was not given.
        /// Answered as a plain validation failure that does not say an account
        /// exists (see ARCHITECTURE.md, "Sign-up and account enumeration").
        #[error("owner credentials refused")]
        OwnerExists,
        /// No such store (or not visible to the caller).
        #[error("not found")]
        NotFound,
        /// The store's state does not allow this.
        #[error("invalid state: {0}")]
        InvalidState(&'static str),
        /// Password hashing is saturated.
        #[error("overloaded")]
        Overloaded,
    }
    as problems {
        Error::SlugTaken => Problem::conflict("slug-taken", "Another store uses this slug.")
            .with_errors(vec![FieldError::new("slug", "is taken")]),
        Error::Invalid(errors) => Problem::validation(errors),
        Error::OwnerExists => Problem::validation(vec![FieldError::new(
            "owner_password",
            "is not accepted with this owner_email",
        )]),
        Error::NotFound => store_not_found(),
        Error::InvalidState(why) => Problem::conflict("invalid-state", why),
        Error::Overloaded => identity::overloaded(),
    }
}

impl From<identity::Error> for Error {
    fn from(e: identity::Error) -> Self {
        match e {
            identity::Error::InvalidGrant => Self::OwnerExists,
            identity::Error::Invalid(errors) => Self::Invalid(errors),
            identity::Error::Overloaded => Self::Overloaded,
            other => Self::Internal(anyhow::anyhow!(other)),
        }
    }
}

pub use crate::audit::Actor;

/// A store opened with its owner's first credentials.
pub struct Onboarded {
    pub record: TenantRecord,
    pub owner: Account,
    /// The owner's first tokens.
    pub tokens: TokenPair,
}

/// The registry part of opening a store, in the caller's transaction: registry
/// row (status `provisioning`), cell placement, default settings, owner account
/// and membership, first tokens, audit entry. [`finish_provisioning`] does the
/// cell part after the commit.
#[tracing::instrument(skip_all, fields(slug = tenant.slug.as_ref()))]
pub async fn onboard(
    conn: &mut PgConnection,
    state: &TenantsState,
    tenant: NewTenant,
    owner_email: &Email,
    owner_password: &Password,
    actor: &Actor,
) -> Result<Onboarded, Error> {
    if !repo::plan_exists(conn, &tenant.plan).await? {
        return Err(Error::Invalid(vec![FieldError::new("plan", "is not a plan of this platform")]));
    }
    let cell = repo::pick_cell(conn).await?;
    let record = repo::insert_tenant(conn, TenantId::new(), &tenant, &cell).await?.ok_or(Error::SlugTaken)?;
    let email_from = format!("no-reply@{}.{}", record.slug, state.settings.platform_domain);
    repo::insert_default_settings(conn, record.id, &email_from).await?;
    let owner = identity::find_or_create_owner(conn, &state.hasher, owner_email, owner_password).await?;
    identity::add_membership(conn, record.id, owner.id, Role::Owner).await?;
    let tokens =
        identity::issue_pair(conn, &state.tokens, owner.id, Some(record.id), Role::Owner, TokenFamilyId::new()).await?;
    audit::record(conn, actor.entry(record.id, Action::TenantCreate, None, Some(summary(&record)))).await?;
    Ok(Onboarded { record, owner, tokens })
}

/// The last step of opening a store (idempotent, so a crash is resumed by
/// running it again): status `active`, then the announcement that drops any
/// cached "unknown host". Nothing is copied into the store's cell: email
/// templates are compiled into tenant-api, and the cell holds only a
/// merchant's overrides.
pub async fn finish_provisioning(state: &TenantsState, record: &TenantRecord) -> anyhow::Result<()> {
    sqlx::query("update control.tenant set status = 'active', updated_at = now() where tenant_id = $1 and status = 'provisioning'")
        .bind(record.id)
        .execute(state.db.control())
        .await?;
    announce(state, record).await
}

/// Finishes stores a crash left in `provisioning`; run at startup.
pub async fn resume_stuck_provisioning(state: &TenantsState) -> anyhow::Result<usize> {
    let mut conn = state.db.control().acquire().await?;
    let stuck = repo::stuck_provisioning(&mut conn).await?;
    drop(conn);
    for record in &stuck {
        finish_provisioning(state, record).await?;
        tracing::info!(tenant_id = %record.id, "resumed provisioning");
    }
    Ok(stuck.len())
}

/// Tells every data-plane replica to drop what it cached about a store.
pub async fn announce(state: &TenantsState, record: &TenantRecord) -> anyhow::Result<()> {
    let mut conn = state.db.control().acquire().await?;
    let mut hosts = repo::hosts(&mut conn, record.id).await?;
    hosts.push(format!("{}.{}", record.slug, state.settings.platform_domain));
    state.announcer.store_changed(record.id, hosts).await
}

/// Makes sure a store with this slug exists (demo seeding); returns it either way.
pub async fn ensure(
    state: &TenantsState,
    tenant: NewTenant,
    owner_email: &Email,
    owner_password: &Password,
) -> anyhow::Result<TenantRecord> {
    let mut conn = state.db.control().acquire().await?;
    if let Some(existing) = repo::find_by_slug(&mut conn, tenant.slug.as_ref()).await? {
        if existing.status == TenantStatus::Provisioning {
            finish_provisioning(state, &existing).await?;
        }
        return Ok(existing);
    }
    drop(conn);
    let actor = Actor::unauthenticated("system", None);
    let mut tx = state.db.control().begin().await?;
    let slug = tenant.slug.clone();
    let onboarded = match onboard(&mut tx, state, tenant, owner_email, owner_password, &actor).await {
        Ok(onboarded) => onboarded,
        Err(Error::SlugTaken) => {
            drop(tx);
            let mut conn = state.db.control().acquire().await?;
            return repo::find_by_slug(&mut conn, slug.as_ref()).await?.context("slug taken but not found");
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    tx.commit().await?;
    finish_provisioning(state, &onboarded.record).await?;
    Ok(onboarded.record)
}

/// Reads a store.
pub async fn get(db: &Db, id: TenantId) -> Result<TenantRecord, Error> {
    let mut conn = db.control().acquire().await?;
    repo::find(&mut conn, id, false).await?.ok_or(Error::NotFound)
}

/// Moves a store to `to`, from one of `from`, with an audit entry and an announcement.
pub async fn transition(
    state: &TenantsState,
    id: TenantId,
    from: &[TenantStatus],
    to: TenantStatus,
    action: Action,
    actor: &Actor,
) -> Result<TenantRecord, Error> {
    let mut tx = state.db.control().begin().await?;
    let before = repo::find(&mut tx, id, true).await?.ok_or(Error::NotFound)?;
    if before.status == to {
        return Ok(before);
    }
    if !from.contains(&before.status) {
        return Err(Error::InvalidState("The store's current status does not allow this."));
    }
    repo::set_status(&mut tx, id, to).await?;
    finish_change(state, tx, &before, action, actor).await
}

/// A patch to a store.
pub struct Patch {
    pub name: Option<String>,
    pub plan: Option<PlanId>,
    pub branding: Option<serde_json::Value>,
}

/// Applies a patch with an audit entry.
pub async fn patch(state: &TenantsState, id: TenantId, patch: Patch, actor: &Actor) -> Result<TenantRecord, Error> {
    let mut tx = state.db.control().begin().await?;
    let before = repo::find(&mut tx, id, true).await?.ok_or(Error::NotFound)?;
    if before.status == TenantStatus::Deleted {
        return Err(Error::NotFound);
    }
    if let Some(plan) = &patch.plan {
        if !repo::plan_exists(&mut tx, plan).await? {
            return Err(Error::Invalid(vec![FieldError::new("plan", "is not a plan of this platform")]));
        }
    }
    repo::update(&mut tx, id, patch.name.as_deref(), patch.plan.as_ref(), patch.branding.as_ref()).await?;
    finish_change(state, tx, &before, Action::TenantUpdate, actor).await
}

/// Reads the changed store back, records `action` from `before` to it, commits
/// and announces it.
async fn finish_change(
    state: &TenantsState,
    mut tx: Transaction<'static, Postgres>,
    before: &TenantRecord,
    action: Action,
    actor: &Actor,
) -> Result<TenantRecord, Error> {
    let after = repo::find(&mut tx, before.id, false).await?.ok_or(Error::NotFound)?;
    audit::record(&mut tx, actor.entry(before.id, action, Some(summary(before)), Some(summary(&after)))).await?;
    tx.commit().await?;
    announce(state, &after).await?;
    Ok(after)
}

/// What a purge removed, as the API answers it and the registry row keeps it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Purged {
    /// Where the export was written.
    pub export_path: String,
    /// Rows exported (and deleted) from the cell.
    pub rows: u64,
    /// Registry rows exported (secrets left out) and deleted: domains,
    /// members, API keys, settings.
    pub control_rows: u64,
    /// Media objects removed from the store's bucket prefix or directory.
    pub media_objects: u64,
    /// Redis keys deleted.
    pub redis_keys: u64,
}

/// Registry tables holding a store's rows besides `tenant` itself, exported
/// (these columns left out) and then deleted by a purge. `audit_log` stays: it
/// is the platform's record, and the purge is its last entry.
const CONTROL_TABLES: &[(&str, &[&str])] = &[
    ("tenant_domain", &["verification_token"]),
    ("membership", &[]),
    ("api_key", &["key_hash"]),
    ("tenant_payment_settings", &["stripe_secret_key", "stripe_webhook_secret"]),
    ("tenant_notification_settings", &["smtp_password", "sms_auth_token"]),
    ("refresh_token", &["token_hash"]),
];

/// Removes a deleted store's data for good, after writing all of it as JSON
/// lines: its registry rows (secrets left out), every row in its cell, the
/// keys of its media objects. Then its media objects, its cell rows, its Redis
/// keys and its registry rows are deleted. The registry row stays (status
/// `deleted`, `purged_at` and `purge_result` set) so the slug is not reused by
/// accident and the audit log keeps its subject.
///
/// **Invariant:** a purge is done once. It runs holding the registry row's
/// lock, so a concurrent second call waits, and a purged store answers the
/// stored result without touching its export. A purge that fails midway
/// (storage down) deleted nothing it had not exported and can be repeated.
#[tracing::instrument(skip_all, fields(tenant_id = %id))]
pub async fn purge(state: &TenantsState, id: TenantId, actor: &Actor) -> Result<Purged, Error> {
    let record = get(&state.db, id).await?;
    if record.status != TenantStatus::Deleted {
        return Err(Error::InvalidState("Only a deleted store can be purged; delete it first."));
    }
    let mut control = state.db.control().begin().await?;
    let done: Option<serde_json::Value> =
        sqlx::query_scalar("select purge_result from control.tenant where tenant_id = $1 for update")
            .bind(id)
            .fetch_one(&mut *control)
            .await?;
    if let Some(done) = done {
        return Ok(serde_json::from_value(done).context("stored purge result")?);
    }

    let mut tx = state.db.system_tx(&record.cell_id).await?;
    let tables = tenant_tables(&mut tx).await?;
    std::fs::create_dir_all(&state.control.export_dir).context("creating the export directory")?;
    let path = std::path::Path::new(&state.control.export_dir).join(format!("{id}.jsonl"));
    // Written aside and renamed: a failed attempt never leaves half an export
    // where a finished one is expected.
    let partial = path.with_extension("jsonl.partial");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&partial).context("creating the export file")?);
    let mut line = |table: &str, row: &serde_json::Value| {
        writeln!(file, "{}", serde_json::json!({"table": table, "row": row})).context("export")
    };
    line("control.tenant", &summary(&record))?;
    let mut control_rows = 0u64;
    for (table, secrets) in CONTROL_TABLES {
        let secrets: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
        let exported: Vec<serde_json::Value> =
            sqlx::query_scalar(&format!("select to_jsonb(t) - $2::text[] from control.{table} t where tenant_id = $1"))
                .bind(id)
                .bind(&secrets)
                .fetch_all(&mut *control)
                .await?;
        for row in &exported {
            line(&format!("control.{table}"), row)?;
        }
        control_rows += exported.len() as u64;
    }
    let mut rows = 0u64;
    let mut media_keys = Vec::new();
    for table in &tables {
        let exported: Vec<serde_json::Value> =
            sqlx::query_scalar(&format!("select to_jsonb(t) from commerce.{table} t where tenant_id = $1"))
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        for row in &exported {
            if table == "product_media" {
                if let Some(key) = row["storage_key"].as_str() {
                    media_keys.push(key.to_owned());
                }
            }
            line(table, row)?;
        }
        rows += exported.len() as u64;
    }
    file.flush().context("export")?;
    file.into_inner().map_err(|e| anyhow::anyhow!("export: {e}"))?.sync_all().context("export")?;
    std::fs::rename(&partial, &path).context("moving the export in place")?;

    // Objects first: if storage fails, nothing is deleted yet and the purge
    // can be repeated.
    let media_objects = remove_media(state, id, &media_keys).await?;
    delete_in_dependency_order(&mut tx, &tables, id).await?;
    tx.commit().await?;
    let redis_keys = delete_redis_keys(state, id).await?;

    for (table, _) in CONTROL_TABLES {
        sqlx::query(&format!("delete from control.{table} where tenant_id = $1"))
            .bind(id)
            .execute(&mut *control)
            .await?;
    }
    let purged = Purged { export_path: path.display().to_string(), rows, control_rows, media_objects, redis_keys };
    let result = serde_json::to_value(&purged).context("purge result")?;
    sqlx::query("update control.tenant set purged_at = now(), purge_result = $2 where tenant_id = $1")
        .bind(id)
        .bind(&result)
        .execute(&mut *control)
        .await?;
    audit::record(&mut control, actor.entry(id, Action::TenantPurge, Some(summary(&record)), Some(result))).await?;
    control.commit().await?;
    announce(state, &record).await?;
    Ok(purged)
}

/// Deletes the store's media objects: its directory (local) or each recorded
/// object (s3, presigned `DELETE`s, each with a time-out). An object already
/// gone counts as removed.
async fn remove_media(state: &TenantsState, id: TenantId, keys: &[String]) -> anyhow::Result<u64> {
    match state.media.removal(id, keys).await? {
        Removal::Local { files } => Ok(files),
        Removal::S3 { requests } => {
            let mut removed = 0;
            for request in requests {
                let mut send = state.http.delete(&request.url);
                for (name, value) in &request.headers {
                    send = send.header(name, value);
                }
                let answer = send.send().await.with_context(|| format!("deleting media object {}", request.key))?;
                let status = answer.status();
                anyhow::ensure!(
                    status.is_success() || status == reqwest::StatusCode::NOT_FOUND,
                    "deleting media object {}: storage answered {status}",
                    request.key
                );
                removed += 1;
            }
            Ok(removed)
        }
    }
}

/// Every tenant-owned table of the cell (found in the catalog, so none is forgotten).
async fn tenant_tables(tx: &mut SystemTx) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select c.table_name::text from information_schema.columns c \
         join information_schema.tables t using (table_schema, table_name) \
         where c.table_schema = 'commerce' and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE' \
         order by 1",
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// Deletes a store's rows table by table; a table still referenced by another's
/// rows is retried after the others (savepoints keep the transaction usable).
async fn delete_in_dependency_order(tx: &mut SystemTx, tables: &[String], id: TenantId) -> anyhow::Result<()> {
    let mut remaining: Vec<&String> = tables.iter().collect();
    for _pass in 0..=tables.len() {
        if remaining.is_empty() {
            return Ok(());
        }
        let mut blocked = Vec::new();
        for table in remaining {
            sqlx::query("savepoint purge").execute(&mut **tx).await?;
            match sqlx::query(&format!("delete from commerce.{table} where tenant_id = $1"))
                .bind(id)
                .execute(&mut **tx)
                .await
            {
                Ok(_) => {
                    sqlx::query("release savepoint purge").execute(&mut **tx).await?;
                }
                Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("23503") => {
                    sqlx::query("rollback to savepoint purge").execute(&mut **tx).await?;
                    blocked.push(table);
                }
                Err(e) => return Err(e.into()),
            }
        }
        remaining = blocked;
    }
    anyhow::bail!("cannot order the purge of {remaining:?}")
}

/// Deletes every Redis key of the store (`t:{<tenant id>}:*`).
async fn delete_redis_keys(state: &TenantsState, id: TenantId) -> anyhow::Result<u64> {
    let mut redis = state.redis.clone();
    let pattern = format!("t:{{{id}}}:*");
    let mut cursor: u64 = 0;
    let mut deleted = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(&mut redis)
            .await?;
        if !keys.is_empty() {
            deleted += redis::cmd("DEL").arg(&keys).query_async::<u64>(&mut redis).await?;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

/// What the audit log keeps of a store (no secrets).
pub fn summary(record: &TenantRecord) -> serde_json::Value {
    serde_json::json!({
        "id": record.id.to_string(),
        "slug": record.slug,
        "name": record.name,
        "status": record.status.as_str(),
        "plan": record.plan.as_ref(),
        "currency": record.currency.as_str(),
        "cell_id": record.cell_id,
        "branding": record.branding,
    })
}
