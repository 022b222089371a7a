//! Failures of the worker's jobs, isolated per store and per subject (an
//! order, a refund): the `job_attempt` table and the small API every job
//! uses.
//!
//! A job finds its candidates with [`due`] (a `SystemTx` per cell: its own
//! source query, minus subjects waiting out a backoff or needing attention,
//! taken round-robin by store), then hands them to [`settle_each`], which runs
//! each store's candidates one after the other and several stores at once. A
//! candidate's error is recorded against it ([`record_failure`]: attempts + 1,
//! `next_attempt_at` after an exponential backoff with jitter, `needs_attention`
//! after [`Policy::max_attempts`]) and the run goes on; a success deletes the
//! record ([`clear`]). Staff see the records (`GET /admin/attention`) and
//! retry one ([`retry`]).
//!
//! A job that settles other subjects (the refund settlement) calls the same
//! functions with its own job name and source query.

use std::{collections::HashMap, future::Future, time::Duration};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use platform::{
    db::{SystemTx, TenantTx},
    extract::Page,
    ids::TenantId,
};
use rand_core::RngCore;
use uuid::Uuid;

use crate::{
    payments::Merchant,
    settings::CommerceSettings,
    statements::{execute, fetch_all, fetch_optional},
};

/// The first retry waits about this long; each further one twice as long.
const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// No retry waits longer than this.
const BACKOFF_CAP: Duration = Duration::from_secs(600);
/// Candidates of one store in one run, at most: a store with a large backlog
/// gets its share, not the run.
pub const PER_STORE: i64 = 25;
/// Candidates of one cell in one run, at most.
pub const BATCH: i64 = 200;
/// Stores whose candidates are handled at the same time: a store whose
/// provider hangs until its timeout holds up only its own candidates.
const STORES_AT_ONCE: usize = 8;
/// The longest `last_error` kept, in characters.
const ERROR_CHARS: usize = 1000;

/// How many times a subject is tried before it waits for staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Failures after which a subject `needs_attention` (at least 1).
    pub max_attempts: i32,
}

impl Default for Policy {
    fn default() -> Self {
        Self { max_attempts: 8 }
    }
}

impl From<&CommerceSettings> for Policy {
    fn from(settings: &CommerceSettings) -> Self {
        Self { max_attempts: settings.worker_max_attempts.max(1) }
    }
}

/// How long a subject that failed `attempts` times waits before its next
/// attempt: `5 s · 2^(attempts-1)`, capped at 10 min, times a factor from ½ to 1
/// (`jitter` in `[0, 1)`), so the failures of one outage do not all come back
/// in the same second.
pub fn backoff(attempts: i32, jitter: f64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(16);
    let full = BACKOFF_BASE.saturating_mul(1 << doublings).min(BACKOFF_CAP);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A candidate a scan found: the store, the subject, and how often it failed
/// before (0: no record).
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct Due {
    pub tenant_id: TenantId,
    pub subject: Uuid,
    pub attempts: i32,
}

/// The candidates of `job` in one cell: the rows `source` selects (columns
/// `tenant_id` and `subject`; it may use `$2`, `age` in seconds), except those
/// waiting for their next attempt or needing attention; at most [`PER_STORE`]
/// per store, [`BATCH`] in all, round-robin by store (every store's first
/// candidate before any store's second), each store's oldest first by subject
/// (UUIDv7).
///
/// The same statement deletes the job's records of subjects `source` no
/// longer finds (settled meanwhile by a webhook, a retried checkout or
/// staff), so the staff listing shows only what is still stuck: commit `tx`.
pub async fn due(tx: &mut SystemTx, job: &str, source: &str, age: Duration) -> anyhow::Result<Vec<Due>> {
    let sql = format!(
        "with found as ({source}), \
         gone as ( \
             delete from job_attempt a where a.job = $1 and not exists ( \
                 select 1 from found f where f.tenant_id = a.tenant_id and f.subject = a.subject)), \
         due as ( \
             select f.tenant_id, f.subject, coalesce(a.attempts, 0) as attempts from found f \
             left join job_attempt a on a.tenant_id = f.tenant_id and a.job = $1 and a.subject = f.subject \
             where a.subject is null or (not a.needs_attention and a.next_attempt_at <= now())), \
         ranked as (select *, row_number() over (partition by tenant_id order by subject) as n from due) \
         select tenant_id, subject, attempts from ranked where n <= $3 order by n, tenant_id limit $4"
    );
    Ok(sqlx::query_as(&sql).bind(job).bind(age.as_secs_f64()).bind(PER_STORE).bind(BATCH).fetch_all(&mut **tx).await?)
}

/// What handling one candidate came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Done, and it changed something (counted).
    Changed,
    /// Done; there was nothing to change.
    Unchanged,
    /// Not tried: what it needs is known to be failing (an open circuit).
    /// Neither a success nor an attempt; it stays due.
    NotNow,
}

/// Runs `handle` on every candidate: a store's one after the other, up to
/// [`STORES_AT_ONCE`] stores at a time. An error is recorded against its
/// candidate ([`record_failure`]) and the run goes on; a success clears the
/// candidate's record. Returns how many candidates changed something.
pub async fn settle_each<F, Fut>(job: &'static str, policy: Policy, found: Vec<(Merchant, Due)>, handle: F) -> usize
where
    F: Fn(Merchant, Uuid) -> Fut + Sync,
    Fut: Future<Output = anyhow::Result<Handled>> + Send,
{
    let mut stores: Vec<(Merchant, Vec<Due>)> = Vec::new();
    let mut index: HashMap<TenantId, usize> = HashMap::new();
    for (merchant, due) in found {
        let at = *index.entry(merchant.tenant_id).or_insert_with(|| {
            stores.push((merchant, Vec::new()));
            stores.len() - 1
        });
        stores[at].1.push(due);
    }
    let handle = &handle;
    futures_util::stream::iter(stores)
        .map(|(merchant, dues)| async move {
            let mut changed = 0;
            for due in dues {
                match handle(merchant.clone(), due.subject).await {
                    Ok(Handled::NotNow) => metrics::counter!("worker_job_deferred_total", "job" => job).increment(1),
                    Ok(handled) => {
                        changed += usize::from(handled == Handled::Changed);
                        if due.attempts > 0 {
                            if let Err(e) = clear_for(&merchant, job, due.subject).await {
                                tracing::error!(job, subject = %due.subject, error = %format!("{e:#}"), "cannot clear a job attempt");
                            }
                        }
                    }
                    Err(error) => failed(&merchant, policy, job, due.subject, &error).await,
                }
            }
            changed
        })
        .buffer_unordered(STORES_AT_ONCE)
        .fold(0, |sum, changed| async move { sum + changed })
        .await
}

async fn failed(merchant: &Merchant, policy: Policy, job: &'static str, subject: Uuid, error: &anyhow::Error) {
    let tenant_id = merchant.tenant_id;
    let recorded = async {
        let mut tx = TenantTx::begin(&merchant.cell, tenant_id).await?;
        let recorded = record_failure(&mut tx, policy, job, subject, error).await?;
        tx.commit().await?;
        anyhow::Ok(recorded)
    };
    match recorded.await {
        Ok(recorded) => tracing::warn!(
            job, %tenant_id, %subject, attempts = recorded.attempts, needs_attention = recorded.needs_attention,
            error = %format!("{error:#}"), "job failed for one subject; it waits for its next attempt"
        ),
        Err(e) => tracing::error!(
            job, %tenant_id, %subject, error = %format!("{error:#}"), record_error = %format!("{e:#}"),
            "job failed for one subject and the failure could not be recorded"
        ),
    }
}

async fn clear_for(merchant: &Merchant, job: &str, subject: Uuid) -> anyhow::Result<()> {
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    clear(&mut tx, job, subject).await?;
    tx.commit().await?;
    Ok(())
}

/// A failure as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Failures so far.
    pub attempts: i32,
    /// Whether it now waits for staff.
    pub needs_attention: bool,
}

/// Records that `job` failed on `subject` with `error`: one more attempt, the
/// next one after [`backoff`], `needs_attention` once [`Policy::max_attempts`]
/// is reached. Counted in `worker_job_attempt_failures_total` and, when it
/// turns to needing attention, `worker_job_needs_attention_total`.
pub async fn record_failure(
    tx: &mut TenantTx,
    policy: Policy,
    job: &'static str,
    subject: Uuid,
    error: &anyhow::Error,
) -> anyhow::Result<Recorded> {
    let factor = 0.5 + 0.5 * f64::from(rand_core::OsRng.next_u32()) / (f64::from(u32::MAX) + 1.0);
    let text: String = format!("{error:#}").chars().take(ERROR_CHARS).collect();
    // [`backoff`] in SQL, of the attempt count the upsert arrives at.
    let (attempts, needs_attention): (i32, bool) = fetch_optional(
        tx,
        "insert into job_attempt as a (tenant_id, job, subject, job_attempt_id, attempts, next_attempt_at, \
                                       last_error, needs_attention) \
         values ($1, $2, $3, $4, 1, now() + make_interval(secs => least($5, $6) * $7), $8, 1 >= $9) \
         on conflict (tenant_id, job, subject) do update set \
             attempts = a.attempts + 1, \
             next_attempt_at = now() + make_interval(secs => least($5 * power(2, least(a.attempts, 16)), $6) * $7), \
             last_error = excluded.last_error, \
             needs_attention = a.attempts + 1 >= $9, \
             updated_at = now() \
         returning attempts, needs_attention",
        (
            job,
            subject,
            Uuid::now_v7(),
            BACKOFF_BASE.as_secs_f64(),
            BACKOFF_CAP.as_secs_f64(),
            factor,
            text,
            policy.max_attempts,
        ),
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("recording a job failure returned no row"))?;
    metrics::counter!("worker_job_attempt_failures_total", "job" => job).increment(1);
    if needs_attention && attempts == policy.max_attempts {
        metrics::counter!("worker_job_needs_attention_total", "job" => job).increment(1);
    }
    Ok(Recorded { attempts, needs_attention })
}

/// `job` succeeded on `subject`: its record goes.
pub async fn clear(tx: &mut TenantTx, job: &str, subject: Uuid) -> anyhow::Result<()> {
    execute(tx, "delete from job_attempt where tenant_id = $1 and job = $2 and subject = $3", (job, subject)).await?;
    Ok(())
}

/// A subject's record, as staff see it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Attempt {
    /// Keys the listing (UUIDv7 of the first failure).
    pub job_attempt_id: Uuid,
    pub job: String,
    pub subject: Uuid,
    pub attempts: i32,
    pub last_error: String,
    pub next_attempt_at: DateTime<Utc>,
    pub needs_attention: bool,
    pub updated_at: DateTime<Utc>,
}

const ATTEMPT_COLUMNS: &str =
    "job_attempt_id, job, subject, attempts, last_error, next_attempt_at, needs_attention, updated_at";

/// The store's records, newest first; only those needing attention (or not)
/// when `needs_attention` is given.
pub async fn list(tx: &mut TenantTx, needs_attention: Option<bool>, page: Page) -> anyhow::Result<Vec<Attempt>> {
    let sql = format!(
        "select {ATTEMPT_COLUMNS} from job_attempt \
         where tenant_id = $1 and ($2::bool is null or needs_attention = $2) \
           and ($3::uuid is null or job_attempt_id < $3) \
         order by job_attempt_id desc limit $4"
    );
    Ok(fetch_all(tx, &sql, (needs_attention, page.after, page.limit)).await?)
}

/// Staff ask for `subject` to be tried again by the next run of `job`: it no
/// longer needs attention and is due now; its attempts are kept, so a subject
/// that had reached the maximum needs attention again after one more failure.
/// `None` when the store has no such record.
pub async fn retry(tx: &mut TenantTx, job: &str, subject: Uuid) -> anyhow::Result<Option<Attempt>> {
    let sql = format!(
        "update job_attempt set needs_attention = false, next_attempt_at = now(), updated_at = now() \
         where tenant_id = $1 and job = $2 and subject = $3 returning {ATTEMPT_COLUMNS}"
    );
    Ok(fetch_optional(tx, &sql, (job, subject)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_ten_minutes_with_jitter_of_at_most_half() {
        assert_eq!(backoff(1, 0.999_999).as_secs(), 4);
        assert_eq!(backoff(1, 0.0), Duration::from_millis(2500));
        assert_eq!(backoff(2, 0.0), Duration::from_secs(5));
        assert_eq!(backoff(4, 0.0), Duration::from_secs(20));
        assert_eq!(backoff(8, 0.0), Duration::from_secs(300), "5 s · 2^7 = 640 s, capped at 600 s");
        assert_eq!(backoff(30, 0.0), Duration::from_secs(300));
        assert_eq!(backoff(0, 0.0), Duration::from_millis(2500), "no failure yet waits like the first");
        for attempts in 1..10 {
            assert!(backoff(attempts, 0.999) <= BACKOFF_CAP);
            assert!(backoff(attempts + 1, 0.0) >= backoff(attempts, 0.0));
        }
    }
}
