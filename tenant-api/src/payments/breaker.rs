//! A circuit breaker per provider account: (store, provider kind), in-process.
//!
//! After [`BreakerConfig::failures`] consecutive unknown outcomes (an `Err`
//! from the provider: no answer, a timeout, a 5xx, a refused key — not a
//! decline or a refusal, which are answers) the circuit opens: calls fail at
//! once with [`CircuitOpen`] for [`BreakerConfig::cool_down`], without reaching
//! the provider. Then one trial call goes through (half-open): an answer closes
//! the circuit, another failure opens it again. An error of our own database
//! (`sqlx`) says nothing about the provider and is not counted.
//!
//! [`Breakers::guard`] wraps a provider so that every call site (checkout,
//! refunds, the jobs) is guarded; checkout also asks [`Breakers::check`]
//! before it holds any stock, so an open circuit costs the shopper a `503`
//! with `Retry-After` and the store nothing. The built-in test provider is not
//! wrapped: its ledger is the store's cell, whose failures are the database's.
//!
//! Per process: each replica and the worker learn of an outage by their own
//! calls (at most `failures` of them each).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use platform::{db::TenantTx, ids::TenantId};

use super::{
    model::ChargeOutcome,
    provider::{Answer, Charge, Merchant, PaymentProvider, Refund, RefundOutcome},
    ProviderKind,
};
use crate::orders::model::OrderId;

/// When a circuit opens and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive unknown outcomes that open the circuit (at least 1).
    pub failures: u32,
    /// How long an open circuit refuses calls before a trial.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failures: 5, cool_down: Duration::from_secs(30) }
    }
}

/// A call refused because the account's circuit is open: the provider was not
/// called. Carried in the `anyhow::Error` a guarded provider returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the payment provider is failing; not called for another {retry_after:?}")]
pub struct CircuitOpen {
    /// How long until the circuit lets a trial call through.
    pub retry_after: Duration,
}

impl CircuitOpen {
    /// The refusal in `error`, if that is what it is.
    pub fn of(error: &anyhow::Error) -> Option<&CircuitOpen> {
        error.downcast_ref()
    }

    /// `Retry-After` in whole seconds: rounded up, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        (self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0)).max(1)
    }
}

/// Every account's circuit. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Breakers(Arc<Inner>);

struct Inner {
    config: BreakerConfig,
    /// By store and provider name. Idle circuits are dropped after an hour
    /// (closed, or long since open).
    circuits: moka::sync::Cache<(TenantId, &'static str), Arc<Circuit>>,
}

impl Breakers {
    /// Circuits that open and cool down as `config` says.
    pub fn new(config: BreakerConfig) -> Self {
        let circuits =
            moka::sync::Cache::builder().max_capacity(100_000).time_to_idle(Duration::from_secs(3600)).build();
        Self(Arc::new(Inner { config: BreakerConfig { failures: config.failures.max(1), ..config }, circuits }))
    }

    /// `Err` while the account's circuit refuses calls; changes nothing (the
    /// call itself takes the trial of a half-open circuit).
    pub fn check(&self, tenant: TenantId, kind: ProviderKind) -> Result<(), CircuitOpen> {
        match self.0.circuits.get(&(tenant, kind.as_str())) {
            Some(circuit) => circuit.check(Instant::now()),
            None => Ok(()),
        }
    }

    /// `provider` for `tenant`, with every call going through the account's circuit.
    pub fn guard(&self, tenant: TenantId, provider: Arc<dyn PaymentProvider>) -> Arc<dyn PaymentProvider> {
        let config = self.0.config;
        let circuit = self.0.circuits.get_with((tenant, provider.kind().as_str()), || Arc::new(Circuit::new(config)));
        Arc::new(Guarded { inner: provider, circuit })
    }
}

/// How a call ended, for the circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The provider answered (a success, a decline, a refusal).
    Answered,
    /// No usable answer: the outcome is unknown.
    Failed,
    /// Our own database failed; nothing learnt about the provider.
    Inconclusive,
}

impl Outcome {
    fn of<T>(result: &anyhow::Result<T>) -> Self {
        match result {
            Ok(_) => Outcome::Answered,
            Err(e) if e.chain().any(|cause| cause.is::<sqlx::Error>()) => Outcome::Inconclusive,
            Err(_) => Outcome::Failed,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// Half-open: one trial call in flight since then. A trial that never
    /// reports (its task was dropped) gives way to another after the cool-down.
    Trial {
        since: Instant,
    },
}

/// One account's circuit.
struct Circuit {
    config: BreakerConfig,
    state: Mutex<State>,
}

impl Circuit {
    fn new(config: BreakerConfig) -> Self {
        Self { config, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves a valid state behind.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check(&self, now: Instant) -> Result<(), CircuitOpen> {
        match *self.state() {
            State::Closed { .. } => Ok(()),
            State::Open { until } => refuse_until(until, now),
            State::Trial { since } => refuse_until(since + self.config.cool_down, now),
        }
    }

    /// Lets a call through, or refuses it; the first call after the cool-down
    /// becomes the trial.
    fn admit(&self, now: Instant) -> Result<(), CircuitOpen> {
        let mut state = self.state();
        let due = match *state {
            State::Closed { .. } => return Ok(()),
            State::Open { until } => until,
            State::Trial { since } => since + self.config.cool_down,
        };
        refuse_until(due, now)?;
        *state = State::Trial { since: now };
        Ok(())
    }

    fn record(&self, outcome: Outcome, now: Instant, kind: ProviderKind) {
        let mut state = self.state();
        let open = State::Open { until: now + self.config.cool_down };
        *state = match (*state, outcome) {
            (_, Outcome::Answered) => State::Closed { failures: 0 },
            // The trial told nothing: the next call may try again at once.
            (State::Trial { .. }, Outcome::Inconclusive) => State::Open { until: now },
            (current, Outcome::Inconclusive) => current,
            (State::Trial { .. }, Outcome::Failed) => open,
            (State::Closed { failures }, Outcome::Failed) if failures + 1 >= self.config.failures => {
                metrics::counter!("payment_circuit_opened_total", "provider" => kind.as_str()).increment(1);
                open
            }
            (State::Closed { failures }, Outcome::Failed) => State::Closed { failures: failures + 1 },
            // A call let in before the circuit opened: it is open already.
            (current @ State::Open { .. }, Outcome::Failed) => current,
        };
    }
}

fn refuse_until(until: Instant, now: Instant) -> Result<(), CircuitOpen> {
    if now < until {
        Err(CircuitOpen { retry_after: until - now })
    } else {
        Ok(())
    }
}

/// A provider whose calls go through its account's circuit.
struct Guarded {
    inner: Arc<dyn PaymentProvider>,
    circuit: Arc<Circuit>,
}

impl Guarded {
    fn call<'a, T: Send + 'a>(&'a self, call: Answer<'a, T>) -> Answer<'a, T> {
        Box::pin(async move {
            // `call` has not started: futures do nothing until polled.
            self.circuit.admit(Instant::now())?;
            let result = call.await;
            self.circuit.record(Outcome::of(&result), Instant::now(), self.inner.kind());
            result
        })
    }
}

impl PaymentProvider for Guarded {
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }

    fn ledger_in_cell(&self) -> bool {
        self.inner.ledger_in_cell()
    }

    fn records_payments(&self) -> bool {
        self.inner.records_payments()
    }

    fn charge<'a>(&'a self, merchant: &'a Merchant, charge: Charge<'a>) -> Answer<'a, ChargeOutcome> {
        self.call(self.inner.charge(merchant, charge))
    }

    fn charge_in<'a>(&'a self, tx: &'a mut TenantTx, charge: Charge<'a>) -> Answer<'a, ChargeOutcome> {
        self.call(self.inner.charge_in(tx, charge))
    }

    fn lookup<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        self.call(self.inner.lookup(merchant, order))
    }

    fn refund<'a>(&'a self, merchant: &'a Merchant, refund: Refund<'a>) -> Answer<'a, RefundOutcome> {
        self.call(self.inner.refund(merchant, refund))
    }

    fn cancel<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        self.call(self.inner.cancel(merchant, order))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL_DOWN: Duration = Duration::from_secs(30);

    fn circuit() -> Circuit {
        Circuit::new(BreakerConfig { failures: 3, cool_down: COOL_DOWN })
    }

    fn fail(circuit: &Circuit, now: Instant) {
        circuit.admit(now).unwrap();
        circuit.record(Outcome::Failed, now, ProviderKind::Stripe);
    }

    #[test]
    fn a_circuit_opens_after_consecutive_failures_and_refuses_until_the_cool_down() {
        let (c, t0) = (circuit(), Instant::now());
        fail(&c, t0);
        fail(&c, t0);
        assert_eq!(c.check(t0), Ok(()), "two failures of three: still closed");
        fail(&c, t0);
        assert_eq!(c.check(t0), Err(CircuitOpen { retry_after: COOL_DOWN }));
        let later = t0 + Duration::from_secs(10);
        assert_eq!(c.admit(later), Err(CircuitOpen { retry_after: Duration::from_secs(20) }));
        assert_eq!(CircuitOpen { retry_after: Duration::from_millis(19_001) }.retry_after_secs(), 20);
    }

    #[test]
    fn answers_and_database_errors_do_not_count_as_provider_failures() {
        let (c, t0) = (circuit(), Instant::now());
        fail(&c, t0);
        fail(&c, t0);
        // A decline is an answer: the count starts again.
        c.record(Outcome::Answered, t0, ProviderKind::Stripe);
        fail(&c, t0);
        fail(&c, t0);
        c.record(Outcome::Inconclusive, t0, ProviderKind::Stripe);
        assert_eq!(c.check(t0), Ok(()));
        fail(&c, t0);
        assert!(c.check(t0).is_err());
    }

    #[test]
    fn after_the_cool_down_one_trial_goes_through_and_its_outcome_decides() {
        let (c, t0) = (circuit(), Instant::now());
        for _ in 0..3 {
            fail(&c, t0);
        }
        let t1 = t0 + COOL_DOWN;
        assert_eq!(c.check(t1), Ok(()), "a trial is due");
        assert_eq!(c.admit(t1), Ok(()), "the trial");
        assert!(c.admit(t1).is_err(), "only one trial at a time");
        assert!(c.check(t1).is_err());
        c.record(Outcome::Failed, t1, ProviderKind::Stripe);
        assert_eq!(
            c.admit(t1 + Duration::from_secs(1)),
            Err(CircuitOpen { retry_after: COOL_DOWN - Duration::from_secs(1) })
        );

        let t2 = t1 + COOL_DOWN;
        c.admit(t2).unwrap();
        c.record(Outcome::Answered, t2, ProviderKind::Stripe);
        assert_eq!(c.admit(t2), Ok(()));
        assert_eq!(c.admit(t2), Ok(()), "closed: every call goes through");
    }

    #[test]
    fn a_trial_that_never_reports_gives_way_after_the_cool_down() {
        let (c, t0) = (circuit(), Instant::now());
        for _ in 0..3 {
            fail(&c, t0);
        }
        c.admit(t0 + COOL_DOWN).unwrap();
        assert!(c.admit(t0 + COOL_DOWN + Duration::from_secs(1)).is_err());
        assert_eq!(c.admit(t0 + COOL_DOWN * 2), Ok(()));
    }
}
