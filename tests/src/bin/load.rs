//! The load tool: drives running services over loopback and prints Markdown.
//!
//!     cargo run -p tests --release --bin load -- suite --stores 100 --products 1000
//!     cargo run -p tests --release --bin load -- provision --count 1000
//!
//! Exits non-zero when an invariant breaks (a 5xx, an oversold unit, a
//! cross-store answer); speed is reported, never judged.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use tests::load::{
    client::Api,
    scenarios::{self, Skew},
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
    /// Open stores one after another and report the time per store.
    Provision {
        #[arg(long, default_value_t = 1000)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        /// Slug prefix (run-unique, so reruns do not collide).
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Every scenario in order, with its invariants.
    Suite {
        #[arg(long, default_value_t = 100)]
        stores: usize,
        #[arg(long, default_value_t = 1000)]
        products: usize,
        /// Seconds per timed scenario.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Connections of the read scenarios.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Buyers in the flash sale.
        #[arg(long, default_value_t = 2000)]
        buyers: usize,
        /// Units in the flash sale.
        #[arg(long, default_value_t = 100)]
        units: i64,
        /// Small everything, invariants only (as CI runs it).
        #[arg(long)]
        quick: bool,
        /// Also write the slugs and hosts for wrk to this file (one `host handle` per line).
        #[arg(long)]
        hosts_file: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let api = Api::new(&cli.control_plane, &cli.tenant_api, &cli.platform_domain, 512)?;
    let run = format!("r{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() % 0xfffff);
    match cli.command {
        Command::Provision { count, concurrency, prefix } => {
            let (report, _) = scenarios::provision(&api, &prefix.unwrap_or(run), count, concurrency).await?;
            print_table(&[report]);
            Ok(())
        }
        Command::Suite {
            mut stores,
            mut products,
            mut duration,
            concurrency,
            mut buyers,
            mut units,
            quick,
            hosts_file,
        } => {
            if quick {
                (stores, products, duration, buyers, units) = (4, 10, 2, 200, 20);
            }
            let outcome = suite(
                &api,
                &run,
                stores,
                products,
                Duration::from_secs(duration),
                concurrency,
                buyers,
                units,
                hosts_file,
            )
            .await?;
            print_table(&outcome.reports);
            for failure in &outcome.failures {
                eprintln!("INVARIANT BROKEN: {failure}");
            }
            anyhow::ensure!(outcome.failures.is_empty(), "{} invariant(s) broken", outcome.failures.len());
            Ok(())
        }
    }
}

struct SuiteOutcome {
    reports: Vec<Report>,
    failures: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
async fn suite(
    api: &Api,
    run: &str,
    stores: usize,
    products: usize,
    duration: Duration,
    concurrency: usize,
    buyers: usize,
    units: i64,
    hosts_file: Option<String>,
) -> anyhow::Result<SuiteOutcome> {
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    let (report, mut fixture) = scenarios::provision(api, run, stores, 4).await?;
    reports.push(report);
    reports.push(scenarios::seed_catalog(api, &mut fixture, products, 16).await?);
    if let Some(path) = hosts_file {
        let lines: Vec<String> =
            fixture.iter().flat_map(|s| s.handles.iter().map(move |h| format!("{} {h}", s.host))).collect();
        std::fs::write(path, lines.join("\n") + "\n")?;
    }

    let (leaks, probes) = scenarios::isolation_probe(api, &fixture).await;
    if leaks > 0 {
        failures.push(format!("{leaks} of {probes} cross-store probes were answered"));
    }
    for skew in [Skew::Uniform, Skew::Zipf] {
        // Once to warm the caches, then measured.
        scenarios::browse(api, &fixture, Duration::from_secs(1), concurrency, skew).await;
        reports.push(scenarios::browse(api, &fixture, duration, concurrency, skew).await);
    }
    reports.push(scenarios::cart(api, &fixture, duration, concurrency.min(32)).await);
    reports.push(scenarios::checkout(api, &fixture, duration, 16).await);

    let (_, mut sale_store) = scenarios::provision(api, &format!("{run}flash"), 1, 1).await?;
    scenarios::seed_catalog(api, &mut sale_store, 1, 1).await?;
    let started = Instant::now();
    let sale = scenarios::flash_sale(api, &sale_store[0], buyers, units).await?;
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
        failures.push(format!(
            "flash sale: paid {} of {units}, on_hand {}, reserved {}",
            sale.paid, sale.on_hand, sale.reserved
        ));
    }
    reports.push(report);

    for report in &reports {
        let errors: u64 = report.statuses.iter().filter(|(s, _)| **s == 0 || **s >= 500).map(|(_, c)| c).sum();
        if errors > 0 {
            failures.push(format!("{}: {errors} server errors", report.name));
        }
    }
    Ok(SuiteOutcome { reports, failures })
}

fn print_table(reports: &[Report]) {
    println!("| scenario | req/s | p50 ms | p99 ms | p99.9 ms | statuses | notes |");
    println!("|---|---:|---:|---:|---:|---|---|");
    for report in reports {
        println!("{}", report.markdown_row());
    }
}
