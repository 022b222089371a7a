//! `tenant-api worker`: background work that must not run inside a request.
//!
//! Jobs are added by the contexts that need them: reservation expiry and the
//! recovery of interrupted checkouts (orders), the outbox relay and the
//! notification deliveries it fans events out to, and (with `NATS_URL`) the
//! stream of published events to NATS. Each job runs
//! on its own interval (configurable, see `CommerceSettings`) until the
//! process is asked to stop; a failing run is logged and retried next tick.
//! Within a run, one store's or one subject's failure is recorded against that
//! subject and the run goes on (`attempts.rs`).

pub mod attempts;
pub mod sweep;

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use axum::extract::FromRef;
use platform::db::Db;

use crate::{
    notifications::delivery::Deliverer, outbox::nats::EventStream, payments::PaymentsState, settings::CommerceSettings,
};

/// What the jobs use: the cells and the payment providers (in
/// [`PaymentsState`]), the intervals, and the sender of notifications (its
/// sends outlive a run, so it lives as long as the worker), and the NATS
/// stream of events when `NATS_URL` is set (its connection is kept between
/// runs).
#[derive(Clone)]
pub struct WorkerState {
    pub payments: PaymentsState,
    pub commerce: Arc<CommerceSettings>,
    pub deliverer: Arc<Deliverer>,
    pub events: Option<Arc<EventStream>>,
}

impl FromRef<WorkerState> for PaymentsState {
    fn from_ref(state: &WorkerState) -> Self {
        state.payments.clone()
    }
}

impl FromRef<WorkerState> for attempts::Policy {
    fn from_ref(state: &WorkerState) -> Self {
        Self::from(&*state.commerce)
    }
}

impl FromRef<WorkerState> for Db {
    fn from_ref(state: &WorkerState) -> Self {
        state.payments.db.clone()
    }
}

type JobFn = for<'a> fn(&'a WorkerState) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// A periodic job.
pub struct Job {
    /// Name in logs and metrics.
    pub name: &'static str,
    /// Pause between runs.
    pub every: Duration,
    /// One run.
    pub run: JobFn,
}

/// Every job the worker runs; `nats-publish` only when `NATS_URL` is set.
pub fn jobs(settings: &CommerceSettings) -> Vec<Job> {
    let mut jobs = vec![
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
            name: "refund-settlement",
            every: Duration::from_millis(settings.worker_recovery_every_ms),
            run: |state| Box::pin(async move { crate::orders::refunds::settle_due(state).await.map(|_| ()) }),
        },
        Job {
            name: "outbox-relay",
            every: Duration::from_millis(settings.worker_outbox_every_ms),
            run: |state| Box::pin(async move { crate::outbox::relay_once(state, 500).await.map(|_| ()) }),
        },
        Job {
            name: "notification-delivery",
            every: Duration::from_millis(settings.worker_delivery_every_ms),
            run: |state| Box::pin(async move { state.deliverer.run_once().await.map(|_| ()) }),
        },
    ];
    if EventStream::new(settings).is_some() {
        jobs.push(Job {
            name: "nats-publish",
            every: Duration::from_millis(settings.worker_nats_every_ms),
            run: |state| {
                Box::pin(async move {
                    match &state.events {
                        Some(stream) => crate::outbox::nats::publish_once(state, stream, 500).await.map(|_| ()),
                        None => Ok(()),
                    }
                })
            },
        });
    }
    jobs
}

/// Runs every job until `stop` resolves; in-flight runs and notification
/// sends finish first. Takes any state the worker's derives from (the
/// binary's `AppState`). The jobs are tasks of this future: dropping it (a
/// killed worker, in tests) ends them and their sends where they are.
pub async fn run<S>(state: S, stop: impl Future<Output = ()>) -> anyhow::Result<()>
where
    WorkerState: FromRef<S>,
{
    let state = WorkerState::from_ref(&state);
    let jobs = jobs(&state.commerce);
    tracing::info!(jobs = jobs.len(), "worker started");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut handles = tokio::task::JoinSet::new();
    for job in jobs {
        let state = state.clone();
        let mut stop_rx = stop_rx.clone();
        handles.spawn(async move {
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
        });
    }
    stop.await;
    stop_tx.send_replace(true);
    while handles.join_next().await.is_some() {}
    state.deliverer.drain().await;
    state.payments.db.close().await;
    tracing::info!("worker stopped");
    Ok(())
}
