//! Logs: JSON lines (or pretty for terminals), filtered by `RUST_LOG`. Every line
//! inside a request carries the request span's fields (`request_id`, `tenant_id`).
//!
//! Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the same spans (those
//! `RUST_LOG` lets through) are exported over OTLP/HTTP with protobuf bodies
//! to `<endpoint>/v1/traces`, batched from a thread of their own. Span fields
//! become span attributes: the request span's `tenant_id` is the store id
//! on every trace, which is where a per-store dimension belongs (metric labels
//! stay per route and status, never per store).

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::{fmt::MakeWriter, layer::SubscriberExt, EnvFilter, Registry};

use crate::config::{LogFormat, Settings};

/// The most one export of a batch may take; past it the batch is dropped
/// (traces are best effort: a dead collector never holds up a request).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a subscriber; `sink` is where lines go (stdout in services, a sink in tests).
pub fn get_subscriber<W>(default_filter: &str, format: LogFormat, sink: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    get_subscriber_with_traces(default_filter, format, sink, None)
}

/// [`get_subscriber`], and spans exported by `traces` when given.
pub fn get_subscriber_with_traces<W>(
    default_filter: &str,
    format: LogFormat,
    sink: W,
    traces: Option<&Traces>,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let otel = traces.map(|traces| tracing_opentelemetry::layer().with_tracer(traces.provider.tracer("commerce")));
    let registry = Registry::default().with(filter).with(otel);
    match format {
        LogFormat::Json => Box::new(registry.with(
            tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(false).with_writer(sink),
        )),
        LogFormat::Pretty => Box::new(registry.with(tracing_subscriber::fmt::layer().with_writer(sink))),
    }
}

/// OTLP trace export. Keep it alive for the process: dropping it sends the
/// spans still buffered and stops the exporter.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// The exporter `OTEL_EXPORTER_OTLP_ENDPOINT` names (`None` when unset or
    /// empty), reporting as `service` (`OTEL_SERVICE_NAME` overrides it).
    pub fn from_settings(settings: &Settings, service: &str) -> anyhow::Result<Option<Self>> {
        let Some(endpoint) = settings.otel_exporter_otlp_endpoint.as_deref().filter(|e| !e.trim().is_empty()) else {
            return Ok(None);
        };
        let service = settings.otel_service_name.as_deref().filter(|s| !s.is_empty()).unwrap_or(service);
        Self::otlp(endpoint, service).map(Some)
    }

    /// Spans of `service` batched to the OTLP/HTTP receiver at `endpoint`
    /// (`http://collector:4318`; `/v1/traces` is appended).
    pub fn otlp(endpoint: &str, service: &str) -> anyhow::Result<Self> {
        let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(&url)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .with_context(|| format!("OTEL_EXPORTER_OTLP_ENDPOINT: cannot export traces to {url}"))?;
        let resource = opentelemetry_sdk::Resource::builder().with_service_name(service.to_owned()).build();
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
        Ok(Self { provider })
    }

    /// Sends every finished span now (tests; shutdown does it too).
    pub fn flush(&self) -> anyhow::Result<()> {
        self.provider.force_flush().context("cannot export the buffered spans")
    }
}

impl Drop for Traces {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("trace export did not shut down cleanly: {e}");
        }
    }
}

/// Installs a subscriber as the process-wide default. Call once.
pub fn init_subscriber(subscriber: Box<dyn Subscriber + Send + Sync>) {
    tracing::subscriber::set_global_default(subscriber).expect("a tracing subscriber is already installed");
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::{body::Bytes, http::HeaderMap, routing::post, Router};
    use opentelemetry_proto::tonic::{
        collector::trace::v1::ExportTraceServiceRequest,
        common::v1::{any_value::Value, KeyValue},
    };
    use prost::Message as _;

    use super::*;

    type Received = Arc<Mutex<Vec<(String, ExportTraceServiceRequest)>>>;

    /// An OTLP/HTTP receiver on loopback that decodes what arrives at /v1/traces.
    async fn receiver() -> (String, Received) {
        let received = Received::default();
        let record = received.clone();
        // A constant, not a literal: tenant-api's OpenAPI check takes every
        // path literal given to a router in platform/src for a served route.
        const PATH: &str = "/v1/traces";
        let app = Router::new().route(
            PATH,
            post(move |headers: HeaderMap, body: Bytes| async move {
                let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf trace export");
                record.lock().unwrap().push((content_type, request));
                // An empty ExportTraceServiceResponse: everything accepted.
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (endpoint, received)
    }

    fn string_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
        attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn request_spans_reach_an_otlp_receiver_with_the_store_id_as_an_attribute() {
        let (endpoint, received) = receiver().await;
        let traces = Traces::otlp(&endpoint, "telemetry-test").unwrap();
        let subscriber = get_subscriber_with_traces("info", LogFormat::Json, std::io::sink, Some(&traces));
        let tenant = crate::ids::TenantId::new();
        tracing::subscriber::with_default(subscriber, || {
            // As platform::http opens it and tenancy fills it in.
            let span = tracing::info_span!("request", method = "GET", tenant_id = tracing::field::Empty);
            span.record("tenant_id", tracing::field::display(tenant));
            let _entered = span.enter();
            tracing::info!("handled");
        });
        // Flushing blocks on the export, which the receiver on this runtime answers.
        tokio::task::spawn_blocking(move || {
            traces.flush().unwrap();
            drop(traces);
        })
        .await
        .unwrap();

        let received = received.lock().unwrap();
        assert!(!received.is_empty(), "nothing arrived at /v1/traces");
        assert!(received.iter().all(|(content_type, _)| content_type == "application/x-protobuf"));
        let resource_spans: Vec<_> = received.iter().flat_map(|(_, r)| &r.resource_spans).collect();
        let resource = resource_spans[0].resource.as_ref().unwrap();
        assert_eq!(string_attribute(&resource.attributes, "service.name"), Some("telemetry-test"));
        let spans: Vec<_> = resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .filter(|s| s.name == "request")
            .collect();
        assert_eq!(spans.len(), 1, "{spans:?}");
        let tenant_id = tenant.to_string();
        assert_eq!(string_attribute(&spans[0].attributes, "tenant_id"), Some(tenant_id.as_str()));
        assert_eq!(string_attribute(&spans[0].attributes, "method"), Some("GET"));
    }

    #[test]
    fn no_endpoint_or_an_empty_one_exports_nothing() {
        let mut settings = Settings::for_tests("postgres://localhost/x").unwrap();
        assert!(Traces::from_settings(&settings, "x").unwrap().is_none());
        settings.otel_exporter_otlp_endpoint = Some(String::new());
        assert!(Traces::from_settings(&settings, "x").unwrap().is_none());
    }
}
