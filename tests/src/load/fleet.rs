//! Scenarios about many stores and long runs: the noisy neighbour, tenant
//! scale (host resolution over thousands of stores) and the soak.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use reqwest::Method;

use super::{
    client::{Api, Store},
    scenarios::{browse_request, merge, Rng},
    stats::{Recorder, Report},
};

/// Builds one request from a worker's generator.
pub type MakeRequest = Arc<dyn Fn(&mut Rng) -> reqwest::RequestBuilder + Send + Sync>;

/// Sends `rate` requests per second for `duration` from `workers` tasks, open
/// loop: every request has a scheduled time and its latency counts from then,
/// so a server that stalls shows in the percentiles instead of slowing the
/// generator down (no coordinated omission).
pub async fn paced(rate: f64, duration: Duration, workers: usize, make: MakeRequest, api: &Api) -> Recorder {
    let workers = workers.max(1);
    let period = Duration::from_secs_f64(workers as f64 / rate.max(0.001));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks = (0..workers).map(|worker| {
        let (api, make) = (api.clone(), make.clone());
        tokio::spawn(async move {
            let mut rng = Rng::new(worker as u64 + 7001);
            let mut recorder = Recorder::default();
            let mut scheduled = started + period.mul_f64(worker as f64 / workers as f64);
            while scheduled < deadline {
                tokio::time::sleep_until(scheduled.into()).await;
                let outcome = api.send(make(&mut rng)).await;
                recorder.record(outcome.status, Instant::now() - scheduled);
                scheduled += period;
            }
            recorder
        })
    });
    merge(tasks).await
}

/// Sends as fast as `connections` closed-loop workers can for `duration`.
pub async fn flood(duration: Duration, connections: usize, make: MakeRequest, api: &Api) -> Recorder {
    let deadline = Instant::now() + duration;
    let tasks = (0..connections.max(1)).map(|worker| {
        let (api, make) = (api.clone(), make.clone());
        tokio::spawn(async move {
            let mut rng = Rng::new(worker as u64 + 9001);
            let mut recorder = Recorder::default();
            while Instant::now() < deadline {
                let outcome = api.send(make(&mut rng)).await;
                recorder.record(outcome.status, outcome.latency);
            }
            recorder
        })
    });
    merge(tasks).await
}

/// How the noisy store sends.
#[derive(Clone, Copy, Debug)]
pub enum Flood {
    /// A fixed rate (10 × its plan's quota, say).
    Paced(f64),
    /// As fast as this many connections can.
    Unbounded(usize),
}

/// What the noisy-neighbour scenario measured.
pub struct Noisy {
    /// The quiet stores alone.
    pub baseline: Report,
    /// The quiet stores while the noisy one floods.
    pub contended: Report,
    /// The noisy store's own requests.
    pub flood: Report,
}

impl Noisy {
    /// Quiet stores' p99 while flooded ÷ their p99 alone.
    pub fn p99_ratio(&self) -> f64 {
        if self.baseline.p99_ms > 0.0 {
            self.contended.p99_ms / self.baseline.p99_ms
        } else {
            0.0
        }
    }

    /// Responses per second the noisy store got served (2xx).
    pub fn flood_served_per_second(&self) -> f64 {
        let served: u64 = self.flood.statuses.iter().filter(|(s, _)| (200..300).contains(*s)).map(|(_, c)| c).sum();
        served as f64 / self.flood.seconds.max(0.001)
    }
}

/// The quiet stores browse at `quiet_rate` requests per second (open loop),
/// first alone, then while `noisy` reads its product list as `flood` says.
pub async fn noisy_neighbour(
    api: &Api,
    quiet: &[Store],
    noisy: &Store,
    duration: Duration,
    quiet_rate: f64,
    flood_mode: Flood,
) -> Noisy {
    let stores = Arc::new(quiet.to_vec());
    let browse: MakeRequest = {
        let (api, stores) = (api.clone(), stores.clone());
        Arc::new(move |rng: &mut Rng| {
            let store = &stores[rng.below(stores.len())];
            browse_request(&api, store, rng)
        })
    };
    let baseline = paced(quiet_rate, duration, 64, browse.clone(), api).await;
    let baseline = baseline.report(&format!("noisy neighbour: {} quiet stores alone", quiet.len()), duration);

    let flooding: MakeRequest = {
        let (api, host) = (api.clone(), noisy.host.clone());
        Arc::new(move |_: &mut Rng| api.store(Method::GET, &host, "/store/products?limit=20"))
    };
    let started = Instant::now();
    let (contended, flood_recorder) = tokio::join!(paced(quiet_rate, duration, 64, browse, api), async {
        match flood_mode {
            Flood::Paced(rate) => paced(rate, duration, 32, flooding, api).await,
            Flood::Unbounded(connections) => flood(duration, connections, flooding, api).await,
        }
    });
    let elapsed = started.elapsed();
    let mode = match flood_mode {
        Flood::Paced(rate) => format!("{rate:.0} req/s"),
        Flood::Unbounded(connections) => format!("unbounded, {connections} conns"),
    };
    Noisy {
        contended: contended.report(&format!("noisy neighbour: quiet stores, one store flooding at {mode}"), elapsed),
        flood: flood_recorder.report(&format!("noisy neighbour: the flooding store ({mode})"), elapsed),
        baseline,
    }
}

/// One request per host that needs only the store resolved (a cart that does
/// not exist: resolution, then one Redis read, then 404 `cart-not-found`).
/// Returns the report and how many answers were anything else (an unresolved
/// host, a limit, an error).
pub async fn resolve(api: &Api, hosts: &[String], concurrency: usize, name: &str) -> (Report, u64) {
    let hosts = Arc::new(hosts.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let tasks = (0..concurrency.max(1)).map(|_| {
        let (api, hosts, next) = (api.clone(), hosts.clone(), next.clone());
        tokio::spawn(async move {
            let mut recorder = Recorder::default();
            let mut wrong = 0u64;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(host) = hosts.get(n) else { break };
                let outcome =
                    api.send(api.store(Method::GET, host, "/store/carts/00000000-0000-7000-8000-000000000000")).await;
                let resolved = outcome.status == 404
                    && outcome.body["type"].as_str().is_some_and(|t| t.ends_with("cart-not-found"));
                wrong += u64::from(!resolved);
                recorder.record(outcome.status, outcome.latency);
            }
            (recorder, wrong)
        })
    });
    let mut recorder = Recorder::default();
    let mut wrong = 0;
    for (one, w) in futures_util::future::join_all(tasks).await.into_iter().flatten() {
        recorder.merge(&one);
        wrong += w;
    }
    let mut report = recorder.report(name, started.elapsed());
    report.notes.push(format!(
        "{} stores, {concurrency} conns; each answer a 404 cart-not-found problem = the host resolved to its store",
        hosts.len()
    ));
    (report, wrong)
}

/// Resident memory of a process in MB (Linux), if it still runs.
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One sampling window of the soak.
pub struct Sample {
    /// End of the window since the start.
    pub at: Duration,
    /// Requests per second in the window.
    pub rate: f64,
    /// Median and 99th percentile latency in the window (ms).
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 5xx and transport errors in the window.
    pub server_errors: u64,
    /// RSS (MB) of each watched process, in the order given.
    pub rss_mb: Vec<f64>,
}

/// What the soak measured.
pub struct Soak {
    /// Every request of the run.
    pub report: Report,
    /// One row per window.
    pub samples: Vec<Sample>,
    /// Names of the watched processes.
    pub processes: Vec<String>,
}

impl Soak {
    /// Least-squares slope of a process's RSS in MB per minute over the second
    /// half of the run (after warm-up), the growth trend.
    pub fn rss_slope_mb_per_min(&self, process: usize) -> f64 {
        let tail = &self.samples[self.samples.len() / 2..];
        let points: Vec<(f64, f64)> =
            tail.iter().filter_map(|s| Some((s.at.as_secs_f64() / 60.0, *s.rss_mb.get(process)?))).collect();
        slope(&points)
    }

    /// Least-squares slope of the windows' p99 (ms per minute) over the second half.
    pub fn p99_slope_ms_per_min(&self) -> f64 {
        let tail = &self.samples[self.samples.len() / 2..];
        slope(&tail.iter().map(|s| (s.at.as_secs_f64() / 60.0, s.p99_ms)).collect::<Vec<_>>())
    }
}

fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let num: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Mixed traffic for `duration` from `concurrency` shoppers: browse 80 %, cart
/// 15 % (create, add, read), checkout 5 % (create, add, check out); latency and
/// the RSS of `processes` (name, pid) sampled every `every`.
pub async fn soak(
    api: &Api,
    stores: &[Store],
    duration: Duration,
    every: Duration,
    concurrency: usize,
    processes: &[(String, u32)],
) -> Soak {
    let stores = Arc::new(stores.to_vec());
    let window = Arc::new(Mutex::new(Recorder::default()));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks = (0..concurrency.max(1)).map(|worker| {
        let (api, stores, window) = (api.clone(), stores.clone(), window.clone());
        tokio::spawn(async move {
            let mut rng = Rng::new(worker as u64 + 5001);
            let mut checkouts = 0u64;
            let record = |outcome: &super::client::Outcome| {
                window.lock().expect("window lock").record(outcome.status, outcome.latency);
            };
            while Instant::now() < deadline {
                let store = &stores[rng.below(stores.len())];
                let roll = rng.below(100);
                if roll < 80 || store.variants.is_empty() {
                    record(&api.send(browse_request(&api, store, &mut rng)).await);
                    continue;
                }
                let variant = &store.variants[rng.below(store.variants.len())];
                let (cart, added) = api.cart_with(&store.host, variant, 1).await;
                record(&added);
                let Some(cart) = cart.filter(|_| added.status == 200) else { continue };
                if roll < 95 {
                    record(&api.send(api.store(Method::GET, &store.host, &format!("/store/carts/{cart}"))).await);
                } else {
                    checkouts += 1;
                    let key = format!("soak-{worker}-{checkouts}");
                    record(&api.checkout(&store.host, &cart, &key, "tok_success").await);
                }
            }
        })
    });
    let workers = futures_util::future::join_all(tasks);
    let sampler = async {
        let mut total = Recorder::default();
        let mut samples = Vec::new();
        let mut last = started;
        let mut ticks = tokio::time::interval_at((started + every).into(), every);
        let total = loop {
            let tick = ticks.tick().await.into_std().min(deadline);
            let one = std::mem::take(&mut *window.lock().expect("window lock"));
            let seconds = (tick - last).as_secs_f64().max(0.001);
            samples.push(Sample {
                at: tick - started,
                rate: one.count() as f64 / seconds,
                p50_ms: one.percentile_ms(0.5),
                p99_ms: one.percentile_ms(0.99),
                server_errors: one.server_errors(),
                rss_mb: processes.iter().map(|(_, pid)| rss_mb(*pid).unwrap_or(0.0)).collect(),
            });
            total.merge(&one);
            last = tick;
            if tick >= deadline {
                break total;
            }
        };
        (total, samples)
    };
    let (_, (mut total, samples)) = tokio::join!(workers, sampler);
    // What finished after the last tick.
    total.merge(&window.lock().expect("window lock"));
    let mut report = total
        .report(&format!("soak (browse 80 %, cart 15 %, checkout 5 %; {concurrency} shoppers)"), started.elapsed());
    report.notes.push(format!("{} stores, {:.0} s", stores.len(), duration.as_secs_f64()));
    Soak { report, samples, processes: processes.iter().map(|(name, _)| name.clone()).collect() }
}

/// The sorts a product list takes (besides `relevance`, which needs a phrase).
const SORTS: [&str; 4] = ["newest", "price_asc", "price_desc", "title"];

/// What [`fill`] saw.
pub struct Filled {
    /// The requests, as a report.
    pub report: Report,
    /// The cache's weight (`storefront_cache_weighed_bytes`) when the fill ended.
    pub weighed: u64,
    /// The watched process's RSS when the cache first weighed `bytes` (MB).
    pub rss_full: f64,
    /// The highest RSS sampled from then to the end of the churn (MB).
    pub rss_peak: f64,
    /// RSS after the churn (MB).
    pub rss_end: f64,
}

/// Fills the storefront cache with distinct product-list pages (a random
/// store of `hosts`, `limit` 1–100, one of four sorts) until the replica's
/// `/metrics` says it weighs `bytes`, then keeps loading new pages (evicting
/// old ones) for `churn`, sampling `pid`'s RSS every 200 ms.
pub async fn fill(api: &Api, hosts: &[String], bytes: u64, churn: Duration, concurrency: usize, pid: u32) -> Filled {
    let hosts = Arc::new(hosts.to_vec());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|worker| {
            let (api, hosts, stop) = (api.clone(), hosts.clone(), stop.clone());
            tokio::spawn(async move {
                let mut rng = Rng::new(worker as u64 + 5003);
                let mut recorder = Recorder::default();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let host = &hosts[rng.below(hosts.len())];
                    let path =
                        format!("/store/products?limit={}&sort={}", 1 + rng.below(100), SORTS[rng.below(SORTS.len())]);
                    let outcome = api.send(api.store(Method::GET, host, &path)).await;
                    recorder.record(outcome.status, outcome.latency);
                }
                recorder
            })
        })
        .collect();
    let (mut rss_full, mut rss_peak, mut full_at) = (0.0, 0.0_f64, None::<Instant>);
    let weighed = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = cache_weight(api, &hosts[0]).await.unwrap_or(0);
        let rss = rss_mb(pid).unwrap_or(0.0);
        match full_at {
            None if now >= bytes - bytes / 50 => (rss_full, rss_peak, full_at) = (rss, rss, Some(Instant::now())),
            Some(at) if at.elapsed() >= churn => break now,
            Some(_) => rss_peak = rss_peak.max(rss),
            None if started.elapsed() > Duration::from_secs(300) => break now,
            None => {}
        }
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let recorder = merge(tasks.into_iter()).await;
    let mut report =
        recorder.report("fill: distinct list pages until the cache is full, then churn", started.elapsed());
    report.notes.push(format!("{} stores, {concurrency} conns, churn {} s", hosts.len(), churn.as_secs()));
    let rss_end = rss_mb(pid).unwrap_or(0.0);
    Filled { report, weighed, rss_full, rss_peak: rss_peak.max(rss_end), rss_end }
}

/// `storefront_cache_weighed_bytes` from the replica's `/metrics`.
async fn cache_weight(api: &Api, host: &str) -> Option<u64> {
    let text = api.store(Method::GET, host, "/metrics").send().await.ok()?.text().await.ok()?;
    let line = text.lines().find(|l| l.starts_with("storefront_cache_weighed_bytes "))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|v| v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_is_the_least_squares_slope() {
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) - 2.0).abs() < 1e-9);
        assert!(slope(&[(0.0, 4.0), (1.0, 4.0), (2.0, 4.0)]).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 9.0)]), 0.0, "one point has no trend");
    }

    #[test]
    fn rss_is_read_for_a_live_process_only() {
        assert!(rss_mb(std::process::id()).is_some_and(|mb| mb > 0.0));
        assert_eq!(rss_mb(u32::MAX), None);
    }
}
