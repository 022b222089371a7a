//! `tenant-api worker`: background work that must not run inside a request.
//!
//! Jobs are added by the contexts that need them (outbox relay, notification
//! delivery, reservation expiry). Each job runs on its own interval until the
//! process is asked to stop; a failing run is logged and retried next tick.

use std::{future::Future, pin::Pin, time::Duration};

use crate::startup::AppState;

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

/// Every job the worker runs. Empty until a context registers one.
pub fn jobs() -> Vec<Job> {
    Vec::new()
}

/// Runs every job until `stop` resolves; in-flight runs finish first.
pub async fn run(state: AppState, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let jobs = jobs();
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
