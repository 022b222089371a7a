//! Latency histograms and scenario reports.

use std::{collections::BTreeMap, fmt::Write, time::Duration};

use hdrhistogram::Histogram;

/// Latencies (µs) and outcomes of one scenario or worker.
pub struct Recorder {
    histogram: Histogram<u64>,
    /// Responses by status code (0 = transport error).
    pub statuses: BTreeMap<u16, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            statuses: BTreeMap::new(),
        }
    }
}

impl Recorder {
    /// Records one request.
    pub fn record(&mut self, status: u16, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).clamp(1, 60_000_000);
        self.histogram.record(micros).expect("latency within bounds");
        *self.statuses.entry(status).or_default() += 1;
    }

    /// Folds another recorder in.
    pub fn merge(&mut self, other: &Recorder) {
        self.histogram.add(&other.histogram).expect("same bounds");
        for (status, count) in &other.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
    }

    /// Requests recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Responses with status ≥ 500 or transport errors.
    pub fn server_errors(&self) -> u64 {
        self.statuses.iter().filter(|(s, _)| **s == 0 || **s >= 500).map(|(_, c)| c).sum()
    }

    /// A latency percentile in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }

    /// A report over `elapsed`.
    pub fn report(&self, name: &str, elapsed: Duration) -> Report {
        Report {
            name: name.to_owned(),
            requests: self.count(),
            seconds: elapsed.as_secs_f64(),
            p50_ms: self.percentile_ms(0.5),
            p99_ms: self.percentile_ms(0.99),
            p999_ms: self.percentile_ms(0.999),
            statuses: self.statuses.clone(),
            notes: Vec::new(),
        }
    }
}

/// What a scenario measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// Scenario name.
    pub name: String,
    /// Requests sent.
    pub requests: u64,
    /// Wall time.
    pub seconds: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Responses by status (0 = transport error).
    pub statuses: BTreeMap<u16, u64>,
    /// Scenario-specific figures ("sold 100 of 100 in 1.2 s").
    pub notes: Vec<String>,
}

impl Report {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// One Markdown table row: name, rate, p50, p99, p99.9, statuses, notes.
    pub fn markdown_row(&self) -> String {
        let mut statuses = String::new();
        for (status, count) in &self.statuses {
            let _ = write!(statuses, "{}{status}×{count}", if statuses.is_empty() { "" } else { " " });
        }
        format!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
            self.name,
            self.rate(),
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            statuses,
            self.notes.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_errors_come_from_what_was_recorded() {
        let mut a = Recorder::default();
        for ms in 1..=100 {
            a.record(200, Duration::from_millis(ms));
        }
        let mut b = Recorder::default();
        b.record(503, Duration::from_millis(500));
        b.record(0, Duration::from_millis(1));
        a.merge(&b);
        assert_eq!(a.count(), 102);
        assert_eq!(a.server_errors(), 2);
        assert!((a.percentile_ms(0.5) - 51.0).abs() < 1.0, "{}", a.percentile_ms(0.5));
        let report = a.report("x", Duration::from_secs(2));
        assert!((report.rate() - 51.0).abs() < 0.01);
        assert!(report.markdown_row().contains("200×100 503×1"));
    }
}
