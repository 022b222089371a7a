use anyhow::Context;
use clap::{Parser, Subcommand};
use control_plane::{
    startup::{AppState, Application},
    tenants::{
        model::{NewTenant, Slug},
        service,
    },
};
use platform::{config::Settings, money::Currency, telemetry};

/// The control plane: tenants, provisioning, settings, identity and audit.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP on CONTROL_PLANE_ADDR.
    Serve,
    /// Apply database migrations (control schema and every cell).
    Migrate,
    /// Make sure the demo store exists (idempotent).
    SeedDemo {
        /// The store's slug.
        #[arg(long, default_value = "demo")]
        slug: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    telemetry::init_subscriber(telemetry::get_subscriber(
        "info,sqlx::postgres::notice=warn",
        settings.log_format,
        std::io::stdout,
    ));

    match cli.command {
        Command::Serve => Application::build(settings).await?.run_until_stopped().await,
        Command::Migrate => platform::db::migrate(&settings.connect_options()?).await,
        Command::SeedDemo { slug } => {
            let domain = settings.platform_domain.clone();
            let mut state = AppState::connect(settings).await?;
            let tenant = NewTenant {
                slug: Slug::parse(&slug).map_err(|e| anyhow::anyhow!("slug {e}"))?,
                name: "Demo Store".into(),
                plan: "starter".into(),
                currency: Currency::parse("USD").context("USD is a currency")?,
            };
            let record = service::ensure(&state.db, &mut state.redis, &domain, tenant).await?;
            tracing::info!(tenant_id = %record.id, slug = record.slug, "demo store ready");
            println!("demo store: http://{}.{domain}", record.slug);
            Ok(())
        }
    }
}
