//! Logs: JSON lines (or pretty for terminals), filtered by `RUST_LOG`. Every line
//! inside a request carries the request span's fields (`request_id`, `tenant_id`).

use tracing::Subscriber;
use tracing_subscriber::{fmt::MakeWriter, layer::SubscriberExt, EnvFilter, Registry};

use crate::config::LogFormat;

/// Builds a subscriber; `sink` is where lines go (stdout in services, a sink in tests).
pub fn get_subscriber<W>(default_filter: &str, format: LogFormat, sink: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    match format {
        LogFormat::Json => Box::new(Registry::default().with(filter).with(
            tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(false).with_writer(sink),
        )),
        LogFormat::Pretty => {
            Box::new(Registry::default().with(filter).with(tracing_subscriber::fmt::layer().with_writer(sink)))
        }
    }
}

/// Installs a subscriber as the process-wide default. Call once.
pub fn init_subscriber(subscriber: Box<dyn Subscriber + Send + Sync>) {
    tracing::subscriber::set_global_default(subscriber).expect("a tracing subscriber is already installed");
}
