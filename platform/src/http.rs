//! HTTP plumbing both services share: request ids, the request span, metrics,
//! error logging, health and readiness, and serving with graceful shutdown.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        OnceLock,
    },
    time::{Duration, Instant},
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{db::Db, problem::Problem, problem::ProblemCause};

/// The request id of the current request (set by the request-id layer), for
/// records such as the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestIdHeader(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestIdHeader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned)))
    }
}

/// Header carrying the request id in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a service's router with the shared layers, outermost first:
/// request id → span (with `request_id`; `path` and `tenant_id` filled in
/// later) → error logging → NUL refusal → problem+json for a bare 413 → the
/// router, whose routes each count and time themselves (metrics), and
/// problem+json for unmatched routes.
pub fn with_common_layers(router: Router) -> Router {
    with_layers(router, Layers::ALL)
}

/// Which of the shared layers to apply. The services use [`Layers::ALL`]; the
/// layer benchmark (`tests/src/bin/layers.rs`) adds them one at a time to
/// measure what each costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layers {
    /// `x-request-id` set (UUID) when absent and echoed on the response.
    pub request_id: bool,
    /// A span per request (method, matched path, request id, `tenant_id`).
    pub trace: bool,
    /// Logging of 5xx responses with their cause.
    pub log_failures: bool,
    /// Request counter and latency histogram per method, route and status.
    pub metrics: bool,
}

impl Layers {
    /// Every layer, as the services run.
    pub const ALL: Self = Self { request_id: true, trace: true, log_failures: true, metrics: true };
    /// None: the router alone (with the problem+json fallbacks).
    pub const NONE: Self = Self { request_id: false, trace: false, log_failures: false, metrics: false };
}

/// What stands in front of a service's shared layers: its edge limits
/// ([`crate::edge`]), in the same single wrapping as the layers.
#[derive(Clone, Default)]
pub struct Front {
    /// The per-client-address limit, checked first (a request names a host
    /// after it comes from an address).
    pub edge: Option<crate::edge::EdgeLimit>,
    /// The per-`Host` limit.
    pub edge_host: Option<crate::edge::HostLimit>,
    /// How long a `429` is held back ([`crate::edge::HoldRefusalsLayer`]),
    /// around every limit, the edge's and the routes' own; zero: not held.
    pub refusal_delay: Duration,
}

/// Wraps `router` with the chosen shared layers, in [`with_common_layers`]' order.
pub fn with_layers(router: Router, layers: Layers) -> Router {
    with_front(router, layers, &Front::default())
}

/// [`with_layers`] with `front` outside the shared layers: outermost first,
/// the hold on refusals, the address limit, the host limit, then request id,
/// span, and the guards (error logging, NUL refusal, problem+json for 413).
///
/// Only the metrics layer wraps each route (it labels by the matched route,
/// known once the router matched). Everything else wraps the router as one
/// service, once: `Router::layer` wraps every route in its own boxed service,
/// and axum clones a route's whole chain of boxed layers each time it calls
/// one, so a layer applied per route costs one more clone of every layer
/// inside it on every request (quadratic in depth: ~90 boxed clones per
/// storefront read with ten layers; BENCHMARKS.md, round four). And the
/// whole stack is one router hop: each router a request passes costs a
/// route match, the fallback's path parameter and a boxed clone (about 2,000
/// instructions; round seven). The services here are plain ones whose
/// futures are named types, not `middleware::from_fn`, which boxes a future
/// and clones the rest of the stack into its `Next` on every request.
pub fn with_front(router: Router, layers: Layers, front: &Front) -> Router {
    with_front_and(router, layers, front, tower::layer::util::Identity::new())
}

/// [`with_front`] with `shortcut` between the guards and the router: a
/// service that may answer a request itself (a warm cached read) without the
/// route match, the route's boxed services and the handler's extractors, and
/// hands on every other request. What it answers is counted and timed with
/// [`record_route`], as a routed answer is by the router's metrics layer.
pub fn with_front_and<L>(router: Router, layers: Layers, front: &Front, shortcut: L) -> Router
where
    L: tower::Layer<Router>,
    L::Service:
        tower::Service<Request, Response = Response, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    <L::Service as tower::Service<Request>>::Future: Send + 'static,
{
    let mut routes = router.fallback(not_found).method_not_allowed_fallback(method_not_allowed);
    if layers.metrics {
        // Installed before `RecordMetrics` keeps handles from it.
        prometheus();
        routes = routes.layer(tower::layer::layer_fn(|inner| RecordMetrics { inner }));
    }
    let delay = front.refusal_delay;
    let service = tower::ServiceBuilder::new()
        .option_layer((!delay.is_zero()).then(|| crate::edge::HoldRefusalsLayer::new(delay)))
        .option_layer(front.edge.as_ref().map(crate::edge::EdgeLimit::layer))
        .option_layer(front.edge_host.as_ref().map(crate::edge::HostLimit::layer))
        .option_layer(layers.request_id.then(|| SetRequestIdLayer::new(REQUEST_ID, CountedRequestId)))
        .option_layer(layers.request_id.then(|| PropagateRequestIdLayer::new(REQUEST_ID)))
        .option_layer(layers.trace.then(|| {
            // One response type on both sides of the option: trace's own body, boxed.
            tower::ServiceBuilder::new()
                .map_response(IntoResponse::into_response)
                .layer(TraceLayer::new_for_http().make_span_with(make_span))
                .into_inner()
        }))
        .layer(tower::layer::layer_fn(move |inner| Guards { inner, log_failures: layers.log_failures }))
        .layer(shortcut)
        .service(routes);
    around_all(service)
}

/// `service` (a router wrapped in layers) as a router, called as one service:
/// the fallback of a router with no routes of its own.
pub fn around_all<S>(service: S) -> Router
where
    S: tower::Service<Request, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    S::Response: IntoResponse + 'static,
    S::Future: Send + 'static,
{
    Router::new().fallback_service(service)
}

/// `router` wrapped in `layer` as a whole, once per request (see
/// [`with_layers`] for why not `Router::layer`).
pub fn around<L>(router: Router, layer: L) -> Router
where
    L: tower::Layer<Router>,
    L::Service: tower::Service<Request, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    <L::Service as tower::Service<Request>>::Response: IntoResponse + 'static,
    <L::Service as tower::Service<Request>>::Future: Send + 'static,
{
    around_all(layer.layer(router))
}

/// Where a request's URI holds a NUL (`%00`): `path`, `query` or nowhere.
fn nul_field(uri: &http::Uri) -> Option<&'static str> {
    fn has_nul(text: &str) -> bool {
        text.as_bytes().windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    }
    if has_nul(uri.path()) {
        Some("path")
    } else if uri.query().is_some_and(has_nul) {
        Some("query")
    } else {
        None
    }
}

/// The guards inside the request span, as one plain service:
///
/// - a NUL (`%00`) in the path or the query is a `400` problem before any
///   routing, tenant resolution or handler sees it: nothing downstream (a
///   PostgreSQL text, a cache key, a file name) can hold one safely;
/// - axum's own body-limit rejection (a handler taking `Bytes`, `String` or
///   `Json` past `DefaultBodyLimit`) is `text/plain`; every error we send is
///   a problem, so a bare 413 becomes one;
/// - 5xx answers are logged with their cause chain (when `log_failures`).
///
/// Only the status is looked at on the way out, so other answers cost a
/// comparison or two.
#[derive(Clone)]
struct Guards<S> {
    inner: S,
    log_failures: bool,
}

impl<S> tower::Service<Request> for Guards<S>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = GuardsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(field) = nul_field(request.uri()) {
            let refusal = Problem::invalid_parameter(field, "must not contain a NUL character (%00)").into_response();
            return GuardsFuture::Refused { response: Some(refusal) };
        }
        GuardsFuture::Answering { inner: self.inner.call(request), log_failures: self.log_failures }
    }
}

pin_project_lite::pin_project! {
    #[project = GuardsProjection]
    enum GuardsFuture<F> {
        Answering { #[pin] inner: F, log_failures: bool },
        Refused { response: Option<Response> },
    }
}

impl<F> std::future::Future for GuardsFuture<F>
where
    F: std::future::Future<Output = Result<Response, std::convert::Infallible>>,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let response = match self.project() {
            GuardsProjection::Refused { response } => response.take().expect("GuardsFuture polled after it completed"),
            GuardsProjection::Answering { inner, log_failures } => {
                let response = std::task::ready!(inner.poll(cx))?;
                if *log_failures {
                    log_failure(&response);
                }
                problem_for_too_large(response)
            }
        };
        std::task::Poll::Ready(Ok(response))
    }
}

/// Request ids for requests that bring none: UUID-shaped (version 8), a random
/// per-process prefix and a counter. tower-http's `MakeRequestUuid` asks the OS
/// for a random v4 UUID on every request (a `getrandom` syscall each), which
/// the layer benchmark priced at several microseconds per request; this is one
/// atomic increment. Unique within a process by the counter and across
/// processes by the 64-bit random prefix.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountedRequestId;

impl MakeRequestId for CountedRequestId {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| uuid::Uuid::now_v7().as_u64_pair().1);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = uuid::Builder::from_u128((u128::from(prefix) << 64) | u128::from(n))
            .with_variant(uuid::Variant::RFC4122)
            .with_version(uuid::Version::Custom)
            .into_uuid();
        let mut buffer = [0u8; uuid::fmt::Hyphenated::LENGTH];
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut buffer)).ok().map(RequestId::new)
    }
}

fn make_span(request: &Request) -> tracing::Span {
    let request_id =
        request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or_default();
    // The span begins before routing: the matched route is recorded by
    // `record_metrics` once the router found it.
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = tracing::field::Empty,
        request_id,
        tenant_id = tracing::field::Empty,
    )
}

/// A bare 413 (axum's body-limit rejection, `text/plain`) as a problem.
fn problem_for_too_large(response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response.headers().get(http::header::CONTENT_TYPE).is_none_or(|v| v != crate::problem::PROBLEM_JSON)
    {
        return Problem::payload_too_large().into_response();
    }
    response
}

async fn not_found() -> Problem {
    Problem::not_found("route-not-found", "No such path.")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "This path does not accept that method.",
    )
}

/// Logs a 5xx response with its cause chain, inside the request span.
fn log_failure(response: &Response) {
    if response.status().is_server_error() {
        match response.extensions().get::<ProblemCause>() {
            Some(ProblemCause(cause)) => {
                tracing::error!(status = response.status().as_u16(), error = %format!("{cause:#}"), "request failed")
            }
            None => tracing::error!(status = response.status().as_u16(), "request failed"),
        }
    }
}

/// Counts requests and times them by method, matched route and status, and
/// records the matched route on the request span. A plain service around each
/// route (see [`with_front`]).
#[derive(Clone)]
struct RecordMetrics<S> {
    inner: S,
}

impl<S> tower::Service<Request> for RecordMetrics<S>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.extensions().get::<MatchedPath>().cloned();
        if let Some(path) = &path {
            tracing::Span::current().record("path", path.as_str());
        }
        MetricsFuture { inner: self.inner.call(request), started, method, path }
    }
}

pin_project_lite::pin_project! {
    struct MetricsFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        method: http::Method,
        path: Option<MatchedPath>,
    }
}

impl<F> std::future::Future for MetricsFuture<F>
where
    F: std::future::Future<Output = Result<Response, std::convert::Infallible>>,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let route = this.path.as_ref().map_or("unmatched", MatchedPath::as_str);
        let (requests, duration) = route_metrics(this.method, route, response.status());
        requests.increment(1);
        duration.record(this.started.elapsed().as_secs_f64());
        std::task::Poll::Ready(Ok(response))
    }
}

/// Counts and times a request answered in front of the router on `route` (a
/// route pattern of the router, so the labels stay a bounded set), as the
/// router's metrics layer does for the requests it routes. The caller records
/// the route on the request span (`path`) when it starts.
pub fn record_route(method: &http::Method, route: &'static str, status: StatusCode, started: Instant) {
    let (requests, duration) = route_metrics(method, route, status);
    requests.increment(1);
    duration.record(started.elapsed().as_secs_f64());
}

/// One route's request counter and latency histogram for a method and status.
struct RouteMetrics {
    method: &'static str,
    status: StatusCode,
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

/// The handles of `http_requests_total` and `http_request_duration_seconds`
/// for a method, route and status, registered once and kept: registering
/// per request built the labels' strings and a key and looked it up in the
/// recorder's registry, twice, on every request (~3,000 instructions of a
/// warm read). Routes are the router's (a bounded set); a method outside the
/// standard ones is labelled `OTHER`, so a client cannot grow the set.
fn route_metrics(method: &http::Method, route: &str, status: StatusCode) -> (metrics::Counter, metrics::Histogram) {
    type Routes = std::collections::HashMap<Box<str>, Vec<RouteMetrics>, crate::CacheHasher>;
    static ROUTES: OnceLock<std::sync::RwLock<Routes>> = OnceLock::new();
    let method = match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    let routes = ROUTES.get_or_init(Default::default);
    let found = |routes: &Routes| {
        routes.get(route).and_then(|known| {
            known
                .iter()
                .find(|m| m.method == method && m.status == status)
                .map(|m| (m.requests.clone(), m.duration.clone()))
        })
    };
    // A poisoned lock only means a panic elsewhere mid-insert; the map is still whole.
    if let Some(handles) = found(&routes.read().unwrap_or_else(std::sync::PoisonError::into_inner)) {
        return handles;
    }
    let mut routes = routes.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(handles) = found(&routes) {
        return handles;
    }
    let labels = [("method", method.to_owned()), ("path", route.to_owned()), ("status", status.as_u16().to_string())];
    let requests = metrics::counter!("http_requests_total", &labels);
    let duration = metrics::histogram!("http_request_duration_seconds", &labels);
    routes.entry(route.into()).or_default().push(RouteMetrics {
        method,
        status,
        requests: requests.clone(),
        duration: duration.clone(),
    });
    (requests, duration)
}

/// How often the recorder folds pending histogram samples into its buckets.
const METRICS_UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide Prometheus recorder (installed on first use), with its upkeep.
///
/// The recorder keeps every histogram sample until upkeep folds it into the
/// buckets, and `install_recorder` leaves upkeep to the caller: without it (or
/// a scrape), RSS grew by 8 bytes and more per request, unbounded — the
/// load suite's soak saw the data plane climb past 250 MB with no scraper.
/// A plain thread rather than a task, so it outlives any one runtime (tests
/// start many).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
            .expect("bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(METRICS_UPKEEP_EVERY);
                upkeep.run_upkeep();
            })
            .expect("cannot start the metrics upkeep thread");
        handle
    })
}

/// What readiness checks.
#[derive(Clone)]
pub struct Health {
    /// Every open cell pool and the control database must answer `select 1`
    /// within `DB_TIMEOUT_MS`, and their liveness probes must last have had an answer.
    pub db: Db,
    /// Must answer `PING` within 2 s: carts, idempotency and announcements live there.
    pub redis: redis::aio::ConnectionManager,
}

/// `/healthz` (the process is up), `/readyz` (PostgreSQL and Redis answer),
/// `/metrics` (Prometheus text).
pub fn health_router(health: Health) -> Router {
    prometheus();
    Router::new()
        .route("/healthz", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(health)
}

async fn readyz(State(health): State<Health>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    for (cell, pool) in health.db.open_cells() {
        // Down by the probe answers at once; up, it must answer now as well.
        let ok = health.db.is_alive(&cell)
            && tokio::time::timeout(health.db.answer_timeout(), sqlx::query("select 1").execute(&pool))
                .await
                .is_ok_and(|r| r.is_ok());
        ready &= ok;
        checks.insert(format!("postgres:{cell}"), if ok { "ok" } else { "down" }.into());
    }
    let mut redis = health.redis.clone();
    let ok = tokio::time::timeout(Duration::from_secs(2), redis::cmd("PING").query_async::<String>(&mut redis))
        .await
        .is_ok_and(|r| r.is_ok());
    ready &= ok;
    checks.insert("redis".into(), if ok { "ok" } else { "down" }.into());
    if ready {
        Json(serde_json::json!({"status": "ready", "checks": checks})).into_response()
    } else {
        Problem::unavailable("A dependency is not answering.")
            .with("checks", serde_json::Value::Object(checks))
            .into_response()
    }
}

async fn metrics_text(State(health): State<Health>) -> Response {
    for (cell, pool) in health.db.open_cells() {
        let idle = pool.num_idle() as f64;
        let size = f64::from(pool.size());
        metrics::gauge!("db_pool_connections", "cell" => cell.clone(), "state" => "idle").set(idle);
        metrics::gauge!("db_pool_connections", "cell" => cell, "state" => "busy").set(size - idle);
    }
    let mut response = prometheus().render().into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}

/// Resolves when the process receives SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}

#[cfg(test)]
mod request_id_tests {
    use tower_http::request_id::MakeRequestId as _;

    use super::CountedRequestId;

    #[test]
    fn generated_request_ids_are_distinct_version_8_uuids() {
        let request = http::Request::new(());
        let ids: Vec<uuid::Uuid> = (0..1000)
            .map(|_| {
                let id = CountedRequestId.make_request_id(&request).expect("an id");
                uuid::Uuid::parse_str(id.header_value().to_str().unwrap()).unwrap()
            })
            .collect();
        assert!(ids.iter().all(|id| id.get_version_num() == 8));
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }
}
