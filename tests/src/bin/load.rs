//! The load tool: drives running services over loopback and prints Markdown.
//!
//!     load setup --stores 100 --products 1000 --fixture stores.json --hosts-file hosts.txt
//!     load run --fixture stores.json browse|pages|cart|checkout|flash|probe|noisy|soak
//!     load run --fixture stores.json --worker-bin target/release/tenant-api deliver
//!     load provision --count 9900 --hosts-file hosts.txt
//!     load resolve --hosts-file hosts.txt
//!     load suite --quick                      # everything small, as CI runs it
//!
//! Exits non-zero when an invariant breaks (a 5xx, an oversold unit, a
//! cross-store answer, a host that does not resolve, a paid order whose
//! confirmation never reaches the SMTP sink); speed is reported, never
//! judged.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use tests::load::{
    client::{Api, Store},
    deliver::{self, DeliverOptions, WorkerSpec},
    fleet::{self, Flood},
    scenarios::{self, CatalogShape, Skew, WarmRead},
    stats::Report,
};

#[derive(Parser)]
struct Cli {
    /// Control plane base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    control_plane: String,
    /// Data plane base URL.
    #[arg(long, default_value = "http://127.0.0.1:8000", global = true)]
    tenant_api: String,
    /// Stores answer on <slug>.<platform-domain>.
    #[arg(long, default_value = "localhost", global = true)]
    platform_domain: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open stores (no catalog) and report the time per store.
    Provision {
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Slug prefix (run-unique by default, so reruns do not collide).
        #[arg(long)]
        prefix: Option<String>,
        #[arg(long, default_value = "enterprise")]
        plan: String,
        /// Append the stores' hosts to this file, one per line.
        #[arg(long)]
        hosts_file: Option<PathBuf>,
    },
    /// Open stores, give each a catalog, and write them to a fixture file.
    Setup {
        #[arg(long, default_value_t = 100)]
        stores: usize,
        #[arg(long, default_value_t = 1000)]
        products: usize,
        /// The stores' plan; the default's quota is far above what one store gets here.
        #[arg(long, default_value = "enterprise")]
        plan: String,
        #[arg(long)]
        fixture: PathBuf,
        /// Also write `host handle` lines (every product) for wrk.
        #[arg(long)]
        hosts_file: Option<PathBuf>,
        /// What the products look like: `simple` (one variant) or `apparel`
        /// (a Size option, four variants, ten categories per store).
        #[arg(long, value_enum, default_value_t = CatalogShape::Simple)]
        shape: CatalogShape,
    },
    /// One scenario over the stores of a fixture file.
    Run {
        #[arg(long)]
        fixture: PathBuf,
        #[command(flatten)]
        options: Options,
        #[arg(value_enum)]
        scenario: Scenario,
    },
    /// One request per host that needs only the store resolved, over every host
    /// of the file: the first pass finds the resolution cache cold, the next warm.
    Resolve {
        #[arg(long)]
        hosts_file: PathBuf,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 2)]
        passes: usize,
    },
    /// Fills the replica's storefront cache with distinct list pages of the
    /// stores in a `host handle` file until it weighs `bytes`, keeps loading
    /// new ones for `churn_seconds`, and reports `pid`'s RSS (the memory of a
    /// replica with a full cache).
    Fill {
        #[arg(long)]
        hosts_file: PathBuf,
        /// The replica's `STOREFRONT_CACHE_BYTES` (its default: 16 MiB).
        #[arg(long, default_value_t = 16 * 1024 * 1024)]
        bytes: u64,
        #[arg(long, default_value_t = 15)]
        churn_seconds: u64,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// The replica's process id.
        #[arg(long)]
        pid: u32,
    },
    /// Every scenario in order, with its invariants, on stores it opens.
    Suite {
        #[arg(long, default_value_t = 100)]
        stores: usize,
        #[arg(long, default_value_t = 1000)]
        products: usize,
        #[command(flatten)]
        options: Options,
        /// Small everything, invariants only (as CI runs it).
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Scenario {
    Probe,
    Browse,
    /// Warm reads of the JSON list, the home page and a product page, one after another.
    Pages,
    Cart,
    Checkout,
    Flash,
    Noisy,
    Soak,
    /// Notification delivery: needs `--worker-bin` (it starts worker processes).
    Deliver,
}

#[derive(Args, Clone)]
struct Options {
    /// Seconds per timed scenario (the soak has its own).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Connections of the read scenarios.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Buyers checking out at once in the checkout scenario.
    #[arg(long, default_value_t = 16)]
    buyers: usize,
    /// Carts built (untimed) before the checkout scenario: an upper bound on its orders.
    #[arg(long, default_value_t = 8000)]
    carts: usize,
    /// Buyers in the flash sale.
    #[arg(long, default_value_t = 2000)]
    sale_buyers: usize,
    /// Units in the flash sale.
    #[arg(long, default_value_t = 100)]
    units: i64,
    /// The flash sale store's plan: its quota decides how many buyers reach
    /// the stock before 429s turn the rest away.
    #[arg(long, default_value = "enterprise")]
    sale_plan: String,
    /// Noisy neighbour: the quiet stores' total request rate.
    #[arg(long, default_value_t = 2000.0)]
    quiet_rate: f64,
    /// Noisy neighbour: the flooding store's plan (it floods at 10 × its quota,
    /// then as fast as `flood_connections` can).
    #[arg(long, default_value = "starter")]
    noisy_plan: String,
    #[arg(long, default_value_t = 32)]
    flood_connections: usize,
    /// Soak: seconds, sampling interval and shoppers.
    #[arg(long, default_value_t = 600)]
    soak_seconds: u64,
    #[arg(long, default_value_t = 10)]
    sample_seconds: u64,
    #[arg(long, default_value_t = 16)]
    soak_shoppers: usize,
    /// Deliver: the `tenant-api` binary, started as `tenant-api worker`
    /// processes (with this environment) against the tool's SMTP sink. Without
    /// it the suite leaves the deliver scenario out.
    #[arg(long)]
    worker_bin: Option<PathBuf>,
    /// Deliver: orders queued (with no worker running) for each throughput run.
    #[arg(long, default_value_t = 500)]
    deliver_orders: usize,
    /// Deliver: the workers' `WORKER_OUTBOX_EVERY_MS` and `WORKER_DELIVERY_EVERY_MS`.
    #[arg(long, default_value_t = 100)]
    outbox_every_ms: u64,
    #[arg(long, default_value_t = 100)]
    delivery_every_ms: u64,
    /// Deliver: database connections the workers of a throughput run share
    /// (each of n workers gets `DB_MAX_CONNECTIONS` = this / n), so 1, 2 and
    /// 4 workers are compared on one budget that fits beside the platform's
    /// own pools under the server's `max_connections`.
    #[arg(long, default_value_t = 32)]
    worker_connections: u32,
    /// Deliver: the longest wait for a phase's emails (and the backlog's drain).
    #[arg(long, default_value_t = 600)]
    deliver_timeout_secs: u64,
    /// Processes whose RSS the soak samples, as name=pid.
    #[arg(long = "watch", value_parser = parse_watch)]
    watch: Vec<(String, u32)>,
}

fn parse_watch(value: &str) -> Result<(String, u32), String> {
    let (name, pid) = value.split_once('=').ok_or("expected name=pid")?;
    Ok((name.to_owned(), pid.parse().map_err(|_| "pid must be a number")?))
}

/// What a run printed and which invariants broke.
#[derive(Default)]
struct Outcome {
    reports: Vec<Report>,
    extra: Vec<String>,
    failures: Vec<String>,
}

impl Outcome {
    fn push(&mut self, report: Report) {
        let errors: u64 = report.statuses.iter().filter(|(s, _)| **s == 0 || **s >= 500).map(|(_, c)| c).sum();
        if errors > 0 {
            self.failures.push(format!("{}: {errors} server errors", report.name));
        }
        self.reports.push(report);
    }

    fn finish(self) -> anyhow::Result<()> {
        println!("| scenario | req/s | p50 ms | p99 ms | p99.9 ms | statuses | notes |");
        println!("|---|---:|---:|---:|---:|---|---|");
        for report in &self.reports {
            println!("{}", report.markdown_row());
        }
        for text in &self.extra {
            println!("\n{text}");
        }
        for failure in &self.failures {
            eprintln!("INVARIANT BROKEN: {failure}");
        }
        anyhow::ensure!(self.failures.is_empty(), "{} invariant(s) broken", self.failures.len());
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let api = Api::new(&cli.control_plane, &cli.tenant_api, &cli.platform_domain, 512)?;
    let run = format!("r{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() % 0xfffff);
    let mut outcome = Outcome::default();
    match cli.command {
        Command::Provision { count, concurrency, prefix, plan, hosts_file } => {
            let (report, stores) =
                scenarios::provision(&api, &prefix.unwrap_or(run), count, concurrency, &plan).await?;
            outcome.push(report);
            if let Some(path) = hosts_file {
                append_lines(&path, stores.iter().map(|s| s.host.clone()))?;
            }
        }
        Command::Setup { stores, products, plan, fixture, hosts_file, shape } => {
            let (report, mut opened) = scenarios::provision(&api, &run, stores, 4, &plan).await?;
            outcome.push(report);
            outcome.push(scenarios::seed_catalog(&api, &mut opened, products, 16, shape).await?);
            std::fs::write(&fixture, serde_json::to_vec(&opened)?)
                .with_context(|| format!("cannot write {}", fixture.display()))?;
            if let Some(path) = hosts_file {
                let lines = opened.iter().flat_map(|s| s.handles.iter().map(move |h| format!("{} {h}", s.host)));
                std::fs::write(&path, lines.collect::<Vec<_>>().join("\n") + "\n")?;
            }
        }
        Command::Run { fixture, options, scenario } => {
            let text = std::fs::read(&fixture).with_context(|| format!("cannot read {}", fixture.display()))?;
            let stores: Vec<Store> = serde_json::from_slice(&text)?;
            anyhow::ensure!(!stores.is_empty(), "the fixture has no stores");
            run_scenario(&api, &run, &stores, &options, scenario, &mut outcome).await?;
        }
        Command::Resolve { hosts_file, concurrency, passes } => {
            let text = std::fs::read_to_string(&hosts_file)?;
            let hosts: Vec<String> = text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect();
            resolve(&api, &hosts, concurrency, passes, &mut outcome).await;
        }
        Command::Fill { hosts_file, bytes, churn_seconds, concurrency, pid } => {
            let text = std::fs::read_to_string(&hosts_file)?;
            let mut hosts: Vec<String> =
                text.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect();
            hosts.dedup();
            anyhow::ensure!(!hosts.is_empty(), "{} lists no hosts", hosts_file.display());
            let filled = fleet::fill(&api, &hosts, bytes, Duration::from_secs(churn_seconds), concurrency, pid).await;
            outcome.extra.push(format!(
                "| cache | RSS |\n|---|---:|\n| full ({:.1} MiB weighed) | {:.0} MB |\n| highest over {churn_seconds} s of churn | {:.0} MB |\n| after the churn | {:.0} MB |",
                filled.weighed as f64 / 1_048_576.0,
                filled.rss_full,
                filled.rss_peak,
                filled.rss_end
            ));
            if filled.rss_full == 0.0 {
                outcome.failures.push(format!("fill: the cache never weighed {bytes} bytes"));
            }
            outcome.push(filled.report);
        }
        Command::Suite { mut stores, mut products, mut options, quick } => {
            if quick {
                (stores, products) = (4, 10);
                options.duration = 2;
                options.carts = 100;
                (options.sale_buyers, options.units) = (200, 20);
                (options.quiet_rate, options.flood_connections) = (100.0, 4);
                (options.soak_seconds, options.sample_seconds) = (4, 1);
            }
            let (report, mut opened) = scenarios::provision(&api, &run, stores, 4, "enterprise").await?;
            outcome.push(report);
            outcome.push(scenarios::seed_catalog(&api, &mut opened, products, 16, CatalogShape::Simple).await?);
            for scenario in [
                Scenario::Probe,
                Scenario::Browse,
                Scenario::Pages,
                Scenario::Cart,
                Scenario::Checkout,
                Scenario::Flash,
                Scenario::Noisy,
                Scenario::Soak,
                Scenario::Deliver,
            ] {
                if matches!(scenario, Scenario::Deliver) && options.worker_bin.is_none() {
                    continue;
                }
                run_scenario(&api, &run, &opened, &options, scenario, &mut outcome).await?;
            }
            let hosts: Vec<String> = opened.iter().map(|s| s.host.clone()).collect();
            resolve(&api, &hosts, options.concurrency, 2, &mut outcome).await;
        }
    }
    outcome.finish()
}

fn append_lines(path: &std::path::Path, lines: impl Iterator<Item = String>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    for line in lines {
        writeln!(file, "{line}")?;
    }
    Ok(())
}

async fn resolve(api: &Api, hosts: &[String], concurrency: usize, passes: usize, outcome: &mut Outcome) {
    for pass in 0..passes.max(1) {
        let name = if pass == 0 { "resolve: first request per store (cold)" } else { "resolve: again (warm)" };
        let (report, wrong) = fleet::resolve(api, hosts, concurrency, name).await;
        if wrong > 0 {
            outcome.failures.push(format!("{name}: {wrong} of {} hosts were not served as their store", hosts.len()));
        }
        outcome.push(report);
    }
}

async fn run_scenario(
    api: &Api,
    run: &str,
    stores: &[Store],
    options: &Options,
    scenario: Scenario,
    outcome: &mut Outcome,
) -> anyhow::Result<()> {
    let duration = Duration::from_secs(options.duration);
    match scenario {
        Scenario::Probe => {
            let (leaks, probes) = scenarios::isolation_probe(api, stores).await;
            outcome
                .extra
                .push(format!("Cross-store probe: {leaks} of {probes} probes answered with another store's data."));
            if leaks > 0 {
                outcome.failures.push(format!("{leaks} of {probes} cross-store probes were answered"));
            }
        }
        Scenario::Browse => {
            for skew in [Skew::Uniform, Skew::Zipf] {
                // Once to warm the caches, then measured.
                scenarios::browse(api, stores, Duration::from_secs(1), options.concurrency, skew).await;
                outcome.push(scenarios::browse(api, stores, duration, options.concurrency, skew).await);
            }
        }
        Scenario::Pages => {
            for read in [WarmRead::List, WarmRead::Home, WarmRead::ProductPage] {
                // Once to warm the caches, then measured.
                scenarios::warm_reads(api, stores, Duration::from_secs(1), options.concurrency, read).await;
                outcome.push(scenarios::warm_reads(api, stores, duration, options.concurrency, read).await);
            }
        }
        Scenario::Cart => outcome.push(scenarios::cart(api, stores, duration, options.concurrency.min(32)).await),
        Scenario::Checkout => {
            outcome.push(scenarios::checkout(api, stores, duration, options.buyers, options.carts).await)
        }
        Scenario::Flash => {
            let (_, mut sale_store) =
                scenarios::provision(api, &format!("{run}flash"), 1, 1, &options.sale_plan).await?;
            scenarios::seed_catalog(api, &mut sale_store, 1, 1, CatalogShape::Simple).await?;
            let started = Instant::now();
            let units = options.units;
            let sale = scenarios::flash_sale(api, &sale_store[0], options.sale_buyers, units).await?;
            let mut report = sale.report;
            report.notes.push(format!(
                "paid {} of {units}, on_hand {} reserved {}, sold out after {:.2} s (run {:.2} s)",
                sale.paid,
                sale.on_hand,
                sale.reserved,
                sale.sold_out_after.as_secs_f64(),
                started.elapsed().as_secs_f64()
            ));
            if sale.paid != units as u64 || sale.on_hand != 0 || sale.reserved != 0 {
                outcome.failures.push(format!(
                    "flash sale: paid {} of {units}, on_hand {}, reserved {}",
                    sale.paid, sale.on_hand, sale.reserved
                ));
            }
            outcome.push(report);
        }
        Scenario::Noisy => noisy(api, run, stores, options, outcome).await?,
        Scenario::Deliver => {
            let binary = options.worker_bin.clone().context("the deliver scenario needs --worker-bin")?;
            let deliver_options = DeliverOptions {
                orders: options.deliver_orders,
                buyers: options.buyers,
                carts: options.carts,
                duration,
                timeout: Duration::from_secs(options.deliver_timeout_secs),
                workers: WorkerSpec {
                    binary,
                    outbox_every_ms: options.outbox_every_ms,
                    delivery_every_ms: options.delivery_every_ms,
                    connections: options.worker_connections.max(1),
                },
            };
            let delivery = deliver::deliver(api, stores, run, &deliver_options).await?;
            for report in delivery.reports {
                outcome.push(report);
            }
            outcome.extra.push(format!("Delivery: {}", delivery.notes.join(" ")));
            outcome.failures.extend(delivery.missing);
        }
        Scenario::Soak => {
            let soak = fleet::soak(
                api,
                stores,
                Duration::from_secs(options.soak_seconds),
                Duration::from_secs(options.sample_seconds),
                options.soak_shoppers,
                &options.watch,
            )
            .await;
            let mut table = String::from("Soak samples:\n\n| t (s) | req/s | p50 ms | p99 ms | 5xx |");
            for name in &soak.processes {
                table.push_str(&format!(" {name} RSS MB |"));
            }
            table.push_str(&format!("\n|---:|---:|---:|---:|---:|{}", "---:|".repeat(soak.processes.len())));
            for s in &soak.samples {
                table.push_str(&format!(
                    "\n| {:.0} | {:.0} | {:.2} | {:.2} | {} |",
                    s.at.as_secs_f64(),
                    s.rate,
                    s.p50_ms,
                    s.p99_ms,
                    s.server_errors
                ));
                for rss in &s.rss_mb {
                    table.push_str(&format!(" {rss:.0} |"));
                }
            }
            let mut trend = format!("Soak trend over the second half: p99 {:+.3} ms/min", soak.p99_slope_ms_per_min());
            for (i, name) in soak.processes.iter().enumerate() {
                trend.push_str(&format!(", {name} RSS {:+.2} MB/min", soak.rss_slope_mb_per_min(i)));
            }
            outcome.extra.push(format!("{table}\n\n{trend}."));
            outcome.push(soak.report);
        }
    }
    Ok(())
}

/// The quiet stores' p99 alone, then while a store on `noisy_plan` floods at
/// 10 × its quota, then as fast as it can.
async fn noisy(api: &Api, run: &str, stores: &[Store], options: &Options, outcome: &mut Outcome) -> anyhow::Result<()> {
    let quota = api.plan_quota(&options.noisy_plan).await?;
    let (_, mut noisy) = scenarios::provision(api, &format!("{run}noisy"), 1, 1, &options.noisy_plan).await?;
    scenarios::seed_catalog(api, &mut noisy, 20, 4, CatalogShape::Simple).await?;
    let duration = Duration::from_secs(options.duration);
    for flood in [Flood::Paced(10.0 * quota), Flood::Unbounded(options.flood_connections)] {
        let result = fleet::noisy_neighbour(api, stores, &noisy[0], duration, options.quiet_rate, flood).await;
        outcome.extra.push(format!(
            "Noisy neighbour ({}): quiet stores' p99 {:.2} ms alone, {:.2} ms while one store floods = {:.2} × baseline; \
             the flooding store (plan {}, {quota:.0} req/s) was served {:.0} req/s.",
            result.flood.name,
            result.baseline.p99_ms,
            result.contended.p99_ms,
            result.p99_ratio(),
            options.noisy_plan,
            result.flood_served_per_second(),
        ));
        outcome.push(result.baseline);
        outcome.push(result.contended);
        outcome.push(result.flood);
    }
    Ok(())
}
