use std::sync::Arc;

use anyhow::Context;
use axum::extract::FromRef;
use clap::{Parser, Subcommand};
use control_plane::{
    domains::dns::SystemResolver,
    identity::model::{Email, Password},
    settings::ControlSettings,
    signing_keys::{self, model::Audience, SigningKeysState},
    startup::{AppState, Application},
    tenants::{
        model::{NewTenant, Slug},
        service, TenantsState,
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
    /// Make sure the demo store exists (idempotent); its owner is
    /// owner@<slug>.example with password demo-password.
    SeedDemo {
        /// The store's slug.
        #[arg(long, default_value = "demo")]
        slug: String,
    },
    /// Rotate the JWT signing keys now (audited as `system`): a new key signs;
    /// the old ones verify until their tokens have expired.
    RotateKeys {
        /// Only this audience (`commerce-platform` or `commerce-storefront`); both by default.
        #[arg(long)]
        audience: Option<String>,
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
    // Lives until main returns: dropping it sends the spans still buffered.
    let traces = telemetry::Traces::from_settings(&settings, "control-plane")?;
    telemetry::init_subscriber(telemetry::get_subscriber_with_traces(
        "info,sqlx::postgres::notice=warn",
        settings.log_format,
        std::io::stdout,
        traces.as_ref(),
    ));
    if let Command::Migrate = cli.command {
        return platform::db::migrate(&settings.connect_options()?).await;
    }
    let control = ControlSettings::from_env()?;
    // With `Settings::check_production` (run by `from_env`): production never
    // starts on a secret published in this repository.
    control.check_production(settings.platform_env)?;
    let dns = Arc::new(SystemResolver::new()?);

    match cli.command {
        Command::Serve => {
            let app = Application::build(settings, control, dns).await?;
            let resumed = service::resume_stuck_provisioning(&TenantsState::from_ref(app.state())).await?;
            if resumed > 0 {
                tracing::info!(resumed, "finished interrupted provisioning");
            }
            signing_keys::service::spawn_schedule(SigningKeysState::from_ref(app.state()));
            app.run_until_stopped().await
        }
        Command::Migrate => unreachable!("handled above"),
        Command::RotateKeys { audience } => {
            let audiences = match audience.as_deref() {
                None => Audience::ALL.to_vec(),
                Some(raw) => vec![Audience::parse(raw)
                    .with_context(|| format!("--audience {raw}: must be commerce-platform or commerce-storefront"))?],
            };
            let state = SigningKeysState::from_ref(&AppState::connect(settings, control, dns).await?);
            let actor = control_plane::audit::Actor::unauthenticated("system", None);
            for rotation in signing_keys::service::rotate(&state, &audiences, &actor).await? {
                let retiring = if rotation.retiring.is_empty() {
                    "its audience's first key".to_owned()
                } else {
                    format!("{} verify until {}", rotation.retiring.join(", "), rotation.retire_at.to_rfc3339())
                };
                println!("{}: {} signs now; {retiring}", rotation.audience.as_str(), rotation.kid);
            }
            Ok(())
        }
        Command::SeedDemo { slug } => {
            let state = TenantsState::from_ref(&AppState::connect(settings, control, dns).await?);
            let tenant = NewTenant::new(
                Slug::parse(&slug).map_err(|e| anyhow::anyhow!("slug {e}"))?,
                "Demo Store",
                "starter",
                Currency::parse("USD").context("USD is a currency")?,
            );
            let email = Email::parse(&format!("owner@{slug}.example")).map_err(|e| anyhow::anyhow!("{e}"))?;
            let password = Password::parse("demo-password").map_err(|e| anyhow::anyhow!("{e}"))?;
            let record = service::ensure(&state, tenant, &email, &password).await?;
            tracing::info!(tenant_id = %record.id, slug = record.slug, "demo store ready");
            println!("demo store: {}", state.control.store_url_template.replace("{slug}", &record.slug));
            println!("demo owner: {} / demo-password", email.as_ref());
            Ok(())
        }
    }
}
