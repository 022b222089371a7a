use anyhow::Context as _;
use clap::{Parser, Subcommand};
use platform::{config::Settings, telemetry};
use tenant_api::{
    contexts::Context,
    startup::{AppState, Application},
};

/// The data plane: every store's storefront and admin APIs, and the worker.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP on TENANT_API_ADDR.
    Serve {
        /// Mount only these bounded contexts (comma-separated); all by default.
        #[arg(long, value_delimiter = ',')]
        contexts: Option<Vec<Context>>,
    },
    /// Run background jobs (outbox relay, deliveries, expiries); probes and
    /// metrics on WORKER_ADDR.
    Worker,
    /// Apply database migrations (control schema and every cell).
    Migrate,
    /// Give a store the demo catalog (idempotent).
    SeedDemo {
        #[arg(long, default_value = "demo")]
        slug: String,
    },
}

/// mimalloc instead of glibc malloc: glibc kept argon2's 19 MiB buffers and
/// per-thread arenas, so the services sat at 600–700 MB RSS after a load run;
/// mimalloc returns freed pages and allocates faster on the request path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    // Before the runtime's threads touch their heaps.
    platform::memory::no_transparent_huge_pages();
    run()
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    let service = if matches!(cli.command, Command::Worker) { "tenant-api-worker" } else { "tenant-api" };
    // Lives until main returns: dropping it sends the spans still buffered.
    let traces = telemetry::Traces::from_settings(&settings, service)?;
    telemetry::init_subscriber(telemetry::get_subscriber_with_traces(
        "info,sqlx::postgres::notice=warn",
        settings.log_format,
        std::io::stdout,
        traces.as_ref(),
    ));

    match cli.command {
        Command::Serve { contexts } => {
            let contexts = contexts.unwrap_or_else(|| Context::ALL.to_vec());
            let app = Application::build(settings, &contexts).await?;
            // Products the storefront read model has not rendered (those that
            // predate it, or a renderer change): served from their tables until done.
            let db = app.state().db.clone();
            tokio::spawn(async move {
                match tenant_api::catalog::service::backfill_storefront(&db).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(products = n, "storefront read model backfilled"),
                    Err(e) => tracing::warn!(error = %format!("{e:#}"), "storefront read model backfill stopped"),
                }
            });
            app.run_until_stopped().await
        }
        Command::Worker => {
            let state = AppState::connect(settings).await?;
            let addr = state.commerce.worker_addr;
            let listener =
                tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
            tenant_api::startup::run_worker(state, listener, platform::http::shutdown_signal()).await
        }
        Command::Migrate => platform::db::migrate(&settings.connect_options()?).await,
        Command::SeedDemo { slug } => {
            let state = AppState::connect(settings).await?;
            let added = tenant_api::seed::seed_demo(&state, &slug).await?;
            tracing::info!(slug, added, "demo catalog seeded");
            Ok(())
        }
    }
}
