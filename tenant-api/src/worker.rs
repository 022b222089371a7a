//! `tenant-api worker`: background work that must not run inside a request.
//!
//! Jobs are added by the contexts that need them: reservation expiry and the
//! recovery of interrupted checkouts (orders), the outbox relay. Each job runs
//! on its own interval (configurable, see `CommerceSettings`) until the
//! process is asked to stop; a failing run is logged and retried next tick.

use std::{future::Future, pin::Pin, time::Duration};

use crate::{settings::CommerceSettings, startup::AppState};

type JobFn = for<'a> fn(&'a AppState) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// A periodic job.
pub struct Job {
    /// Name in logs and metrics.
    pub name: &'static str,
    /// Pause between runs.
    pub every: Duration,
    /// One run.
    pub run: JobFn,
}

/// Every job the worker runs.
pub fn jobs(settings: &CommerceSettings) -> Vec<Job> {
    vec![
        Job {
            name: "reservation-expiry",
            every: Duration::from_millis(settings.worker_expiry_every_ms),
            run: |state| Box::pin(async move { crate::orders::jobs::expire_reservations(state).await.map(|_| ()) }),
        },
        Job {
            name: "payment-recovery",
            every: Duration::from_millis(settings.worker_recovery_every_ms),
            run: |state| {
                Box::pin(async move {
                    let grace = Duration::from_secs(state.commerce.recovery_grace_secs);
                    crate::orders::jobs::recover_pending_payments(state, grace).await.map(|_| ())
                })
            },
        },
        Job {
            name: "outbox-relay",
            every: Duration::from_millis(settings.worker_outbox_every_ms),
            run: |state| Box::pin(async move { crate::outbox::relay_once(state, 500).await.map(|_| ()) }),
        },
    ]
}

/// Every cell of the registry, for jobs that sweep all stores.
pub async fn cells(state: &AppState) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar("select cell_id from control.cell order by cell_id").fetch_all(state.db.control()).await?)
}

/// Runs every job until `stop` resolves; in-flight runs finish first.
pub async fn run(state: AppState, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let jobs = jobs(&state.commerce);
    tracing::info!(jobs = jobs.len(), "worker started");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    for job in jobs {
        let state = state.clone();
        let mut stop_rx = stop_rx.clone();
        handles.push(tokio::spawn(async move {
            loop {
                let started = std::time::Instant::now();
                if let Err(e) = (job.run)(&state).await {
                    tracing::error!(job = job.name, error = %format!("{e:#}"), "job run failed");
                    metrics::counter!("worker_job_failures_total", "job" => job.name).increment(1);
                }
                metrics::histogram!("worker_job_duration_seconds", "job" => job.name)
                    .record(started.elapsed().as_secs_f64());
                tokio::select! {
                    _ = tokio::time::sleep(job.every) => {},
                    _ = stop_rx.wait_for(|stop| *stop) => break,
                }
            }
        }));
    }
    stop.await;
    stop_tx.send_replace(true);
    for handle in handles {
        let _ = handle.await;
    }
    state.db.close().await;
    tracing::info!("worker stopped");
    Ok(())
}
