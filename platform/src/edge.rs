//! The edge: who a request comes from, and per-client limits before any
//! other work.
//!
//! **Client address.** The TCP peer, unless the peer is one of
//! `TRUSTED_PROXIES` (comma-separated CIDRs, empty by default): then the
//! right-most address of `X-Forwarded-For` that is not itself a trusted proxy.
//! Every proxy appends the address it received the request from, so the
//! right-most untrusted entry is the last one a party we do not trust could
//! not forge; anything to its left was written by the client. A header from
//! an untrusted peer is ignored, so rotating it buys no fresh allowance.
//!
//! **Limits.** [`EdgeLimit`] is tower-governor's keyed GCRA (the `governor`
//! engine the per-store limits use) keyed by [`ClientIp`]: the data plane
//! puts one in front of its whole stack (`EDGE_REQUESTS_PER_SECOND`, before
//! Host resolution), the control plane around sign-in and sign-up
//! (`EDGE_AUTH_PER_MINUTE`). Past it: `429` `/problems/rate-limited` with
//! `Retry-After`, the same problem as a store over its plan.
//!
//! **Without `ConnectInfo`** (a router driven without
//! `into_make_service_with_connect_info`, as `oneshot` tests do) the peer is
//! unknown and the key is `0.0.0.0`: such requests share one allowance. A
//! server started without connect info is then limited as one client rather
//! than not at all, which a test or a benchmark notices.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    num::NonZeroU32,
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::Context as _;
use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Request, Response},
};
use governor::middleware::NoOpMiddleware;
use ipnet::IpNet;
use tower_governor::{
    governor::{GovernorConfig, GovernorConfigBuilder},
    key_extractor::KeyExtractor,
    GovernorError, GovernorLayer,
};

use crate::problem::Problem;

/// `X-Forwarded-For`, appended to by every proxy on the way.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Inside a Tokio runtime, runs `clean` every minute until it answers
/// false (its limiter is gone); outside one, never.
fn every_minute(mut clean: impl FnMut() -> bool + Send + 'static) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if !clean() {
                break;
            }
        }
    });
}

/// Drops the state of keys not seen for a while, so a flood of distinct keys
/// cannot keep memory; false once the limiter is gone.
macro_rules! forget_idle_keys {
    ($config:expr) => {{
        let limiter = Arc::downgrade($config.limiter());
        every_minute(move || {
            let Some(limiter) = limiter.upgrade() else { return false };
            limiter.retain_recent();
            limiter.shrink_to_fit();
            true
        });
    }};
}

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
/// Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// Parses comma-separated CIDRs (`10.0.0.0/8, 192.168.1.7/32, fd00::/8`);
    /// a bare address is one host. Empty: no proxy is trusted.
    pub fn parse(list: &str) -> anyhow::Result<Self> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .with_context(|| format!("TRUSTED_PROXIES: {item:?} is not a CIDR such as 10.0.0.0/8"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self(nets.into()))
    }

    /// Whether `ip` is one of the trusted proxies (an IPv4-mapped IPv6 peer
    /// counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The client address of a request, as the key of an edge limit; see the
/// module's documentation.
#[derive(Clone, Debug, Default)]
pub struct ClientIp {
    trusted: TrustedProxies,
}

impl ClientIp {
    /// Believes `X-Forwarded-For` from `trusted` peers only.
    pub fn new(trusted: TrustedProxies) -> Self {
        Self { trusted }
    }

    /// The client address of `request`.
    pub fn of<B>(&self, request: &Request<B>) -> IpAddr {
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        client_ip(peer, request.headers(), &self.trusted)
    }
}

/// The client address given the TCP `peer` (if known), the request's headers
/// and the trusted proxies.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let Some(peer) = peer.map(|ip| ip.to_canonical()) else {
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    if !trusted.contains(peer) {
        return peer;
    }
    // Right to left: each hop was written by the one after it. Stop at the
    // first address a trusted proxy did not vouch for.
    let mut client = peer;
    let hops = headers.get_all(X_FORWARDED_FOR).iter().collect::<Vec<_>>();
    for value in hops.iter().rev() {
        let Ok(value) = value.to_str() else { return client };
        for hop in value.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip.to_canonical();
                    if !trusted.contains(client) {
                        return client;
                    }
                }
                // Garbage where an address should be: the client wrote it; the
                // hop that handed it to us is as far as we can see.
                Err(_) => return client,
            }
        }
    }
    client
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        Ok(self.of(request))
    }
}

/// The `Host` a request names, as the key of an edge limit: a hash of its
/// name, lower-cased and without the port (so neither buys a fresh
/// allowance), taken before the store is resolved. Requests without one
/// share one key. A hash rather than the name: no allocation per request,
/// and two hosts sharing one of 2^64 values only share an allowance.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostKey;

impl HostKey {
    /// The key of `request`'s host.
    pub fn of<B>(request: &Request<B>) -> u64 {
        use std::hash::Hasher;
        let host = request
            .headers()
            .get(axum::http::header::HOST)
            .map(|h| h.as_bytes())
            .or_else(|| request.uri().authority().map(|a| a.as_str().as_bytes()))
            .unwrap_or_default();
        // `[v6]:port` keeps its brackets; only a trailing `:digits` is a port.
        let name = match host.iter().rposition(|b| *b == b':') {
            Some(colon) if host[colon + 1..].iter().all(u8::is_ascii_digit) && !host.ends_with(b"]") => &host[..colon],
            _ => host,
        };
        // Lower-cased in a buffer and hashed in one write (a write per byte
        // cost ~1,400 instructions a request); a longer name names no store.
        // foldhash, seeded once per process like the caches' (SipHash cost
        // ~400 instructions here).
        static SEED: std::sync::LazyLock<crate::CacheHasher> = std::sync::LazyLock::new(Default::default);
        let mut hasher = std::hash::BuildHasher::build_hasher(&*SEED);
        let mut buffer = [0u8; 256];
        for chunk in name.chunks(buffer.len()) {
            let lower = &mut buffer[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            hasher.write(lower);
        }
        hasher.finish()
    }
}

impl KeyExtractor for HostKey {
    type Key = u64;

    fn extract<T>(&self, request: &Request<T>) -> Result<u64, GovernorError> {
        Ok(Self::of(request))
    }
}

/// A per-client-IP request limit: a GCRA whose burst is one period's worth
/// (`EDGE_REQUESTS_PER_SECOND` on the data plane, `EDGE_AUTH_PER_MINUTE` on
/// the control plane's sign-in and sign-up routes). Cheap to clone.
#[derive(Clone)]
pub struct EdgeLimit {
    config: Arc<GovernorConfig<ClientIp, NoOpMiddleware>>,
}

/// A per-`Host` request limit (`EDGE_HOST_REQUESTS_PER_SECOND`): every
/// client's requests naming one host share a GCRA whose burst is a second's
/// worth, checked before the host is resolved. Cheap to clone.
#[derive(Clone)]
pub struct HostLimit {
    config: Arc<GovernorConfig<HostKey, NoOpMiddleware>>,
}

impl HostLimit {
    /// `count` requests per second per host; `None` when 0 (off). Hosts not
    /// seen for a while are dropped every minute, as in [`EdgeLimit::new`].
    pub fn per_second(count: u32) -> Option<Self> {
        let count = NonZeroU32::new(count)?;
        let config = GovernorConfigBuilder::default()
            .period((Duration::from_secs(1) / count.get()).max(Duration::from_nanos(1)))
            .burst_size(count.get())
            .key_extractor(HostKey)
            .finish()?;
        let config = Arc::new(config);
        forget_idle_keys!(config);
        Some(Self { config })
    }

    /// The tower layer enforcing the limit; refusals are `429` problems.
    pub fn layer(&self) -> GovernorLayer<HostKey, NoOpMiddleware, Body> {
        GovernorLayer::new(self.config.clone()).error_handler(host_refusal)
    }

    /// Hosts the limiter currently keeps state for (after the last clean-up).
    pub fn hosts(&self) -> usize {
        self.config.limiter().len()
    }
}

impl EdgeLimit {
    /// `count` requests per `period` per client, all at once at most; `None`
    /// when `count` is 0 (off).
    ///
    /// Inside a Tokio runtime a task drops the state of clients not seen for a
    /// while every minute (and ends with the last clone), so a flood of
    /// distinct addresses cannot keep memory forever; outside one nothing is
    /// dropped.
    pub fn new(count: u32, period: Duration, trusted: TrustedProxies) -> Option<Self> {
        let count = NonZeroU32::new(count)?;
        let config = GovernorConfigBuilder::default()
            .period((period / count.get()).max(Duration::from_nanos(1)))
            .burst_size(count.get())
            .key_extractor(ClientIp::new(trusted))
            .finish()?;
        let config = Arc::new(config);
        forget_idle_keys!(config);
        Some(Self { config })
    }

    /// `count` requests per second per client; `None` when 0.
    pub fn per_second(count: u32, trusted: TrustedProxies) -> Option<Self> {
        Self::new(count, Duration::from_secs(1), trusted)
    }

    /// `count` requests per minute per client; `None` when 0.
    pub fn per_minute(count: u32, trusted: TrustedProxies) -> Option<Self> {
        Self::new(count, Duration::from_secs(60), trusted)
    }

    /// The tower layer enforcing the limit; refusals are `429` problems.
    pub fn layer(&self) -> GovernorLayer<ClientIp, NoOpMiddleware, Body> {
        GovernorLayer::new(self.config.clone()).error_handler(refusal)
    }

    /// Clients the limiter currently keeps state for (after the last clean-up).
    pub fn clients(&self) -> usize {
        self.config.limiter().len()
    }
}

/// tower-governor's own refusal is `text/plain`; ours is the problem every
/// other 429 is.
fn refusal(error: GovernorError) -> Response<Body> {
    use axum::response::IntoResponse;
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            metrics::counter!("edge_rate_limited_total").increment(1);
            // `wait_time` is whole seconds rounded down: one more is never early.
            too_many_requests(wait_time.saturating_add(1))
        }
        GovernorError::UnableToExtractKey | GovernorError::Other { .. } => {
            Problem::internal(anyhow::anyhow!("edge limit: {error}")).into_response()
        }
    }
}

/// Holds every `429` the wrapped service answers for `delay` before sending
/// it (`EDGE_REFUSAL_DELAY_MS`; zero: unchanged).
///
/// A refusal costs little, but a client that floods in a closed loop (the
/// usual script: send, read, send again) answers a fast `429` with the next
/// request at once, so cheap refusals only make the flood faster and its CPU
/// (ours and its own, on shared cores) what the other stores lose. Held back,
/// each flooding connection sends at most `1 / delay` requests a second. The
/// wait is a timer, no work; a client within its limits never sees it, and
/// `Retry-After` still says when to come back.
#[derive(Clone, Copy, Debug)]
pub struct HoldRefusalsLayer(Duration);

impl HoldRefusalsLayer {
    /// Holds every `429` back for `delay`.
    pub fn new(delay: Duration) -> Self {
        Self(delay)
    }
}

impl<S> tower::Layer<S> for HoldRefusalsLayer {
    type Service = HoldRefusals<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HoldRefusals { inner, delay: self.0 }
    }
}

/// The service of [`HoldRefusalsLayer`]: a plain service (not
/// `middleware::map_response`, which boxes a future per request), so an answer
/// that is not a `429` passes through at the cost of one comparison.
#[derive(Clone, Debug)]
pub struct HoldRefusals<S> {
    inner: S,
    delay: Duration,
}

impl<S, B> tower::Service<Request<B>> for HoldRefusals<S>
where
    S: tower::Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = HoldFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        HoldFuture { state: HoldState::Answering { inner: self.inner.call(request), delay: self.delay } }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`HoldRefusals`]: the inner answer, then, for a `429`, the wait.
    pub struct HoldFuture<F> {
        #[pin]
        state: HoldState<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = HoldProjection]
    enum HoldState<F> {
        // Waiting for the inner service's answer.
        Answering { #[pin] inner: F, delay: Duration },
        // Holding a refusal back.
        Holding { #[pin] sleep: tokio::time::Sleep, response: Option<Response<Body>> },
    }
}

impl<F, E> std::future::Future for HoldFuture<F>
where
    F: std::future::Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        use std::task::{ready, Poll};
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                HoldProjection::Answering { inner, delay } => {
                    let response = ready!(inner.poll(cx))?;
                    if response.status() != http::StatusCode::TOO_MANY_REQUESTS || delay.is_zero() {
                        return Poll::Ready(Ok(response));
                    }
                    let sleep = tokio::time::sleep(*delay);
                    state.set(HoldState::Holding { sleep, response: Some(response) });
                }
                HoldProjection::Holding { sleep, response } => {
                    ready!(sleep.poll(cx));
                    return Poll::Ready(Ok(response.take().expect("HoldFuture polled after it completed")));
                }
            }
        }
    }
}

/// As [`refusal`], for a host over its edge limit.
fn host_refusal(error: GovernorError) -> Response<Body> {
    use axum::response::IntoResponse;
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            metrics::counter!("edge_host_rate_limited_total").increment(1);
            static BODY: OnceLock<Vec<u8>> = OnceLock::new();
            let detail = "Too many requests to this store; retry after the seconds in Retry-After.";
            crate::rate_limit::too_many_requests(&BODY, detail, wait_time.saturating_add(1))
        }
        GovernorError::UnableToExtractKey | GovernorError::Other { .. } => {
            Problem::internal(anyhow::anyhow!("edge host limit: {error}")).into_response()
        }
    }
}

/// `429` `/problems/rate-limited` for a client over its edge limit, with
/// `Retry-After: retry_after_secs` (at least 1).
pub fn too_many_requests(retry_after_secs: u64) -> Response<Body> {
    // A flood is answered with this many times a second: serialized once.
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    let detail = "Too many requests from this address; retry after the seconds in Retry-After.";
    crate::rate_limit::too_many_requests(&BODY, detail, retry_after_secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue, StatusCode};

    use crate::problem::PROBLEM_JSON;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let headers = forwarded(&["198.51.100.1"]);
        assert_eq!(client_ip(Some(ip("203.0.113.9")), &headers, &trusted), ip("203.0.113.9"));
        let nobody = TrustedProxies::default();
        assert_eq!(client_ip(Some(ip("10.1.1.1")), &headers, &nobody), ip("10.1.1.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.7.7").unwrap();
        let peer = Some(ip("10.0.0.2"));
        // The client claims to be 1.1.1.1; the edge proxy saw 203.0.113.9.
        let headers = forwarded(&["1.1.1.1, 203.0.113.9, 192.168.7.7"]);
        assert_eq!(client_ip(peer, &headers, &trusted), ip("203.0.113.9"));
        // Split over several headers, in order.
        let headers = forwarded(&["1.1.1.1", "203.0.113.9", "192.168.7.7"]);
        assert_eq!(client_ip(peer, &headers, &trusted), ip("203.0.113.9"));
        // Every hop trusted: the left-most one.
        let headers = forwarded(&["10.9.9.9, 192.168.7.7"]);
        assert_eq!(client_ip(peer, &headers, &trusted), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), ip("10.0.0.2"));
        // Garbage stops the walk at the last hop a proxy vouched for.
        let headers = forwarded(&["203.0.113.9, not-an-ip, 10.4.4.4"]);
        assert_eq!(client_ip(peer, &headers, &trusted), ip("10.4.4.4"));
    }

    #[test]
    fn ipv4_mapped_peers_count_as_their_ipv4_address() {
        let trusted = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(client_ip(Some(ip("::ffff:10.0.0.2")), &headers, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn without_a_peer_every_request_shares_one_key() {
        let trusted = TrustedProxies::parse("0.0.0.0/0").unwrap();
        assert_eq!(client_ip(None, &forwarded(&["203.0.113.9"]), &trusted), ip("0.0.0.0"));
    }

    #[tokio::test]
    async fn past_the_limit_is_a_429_problem_and_requests_without_a_peer_share_one_allowance() {
        use tower::ServiceExt as _;
        let limit = EdgeLimit::per_second(2, TrustedProxies::default()).unwrap();
        let router = axum::Router::new().fallback(|| async { "ok" }).layer(limit.layer());
        for _ in 0..2 {
            let response = router.clone().oneshot(Request::new(Body::empty())).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        let refused = router.oneshot(Request::new(Body::empty())).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(refused.into_body(), usize::MAX).await.unwrap();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["type"], "/problems/rate-limited");
        assert_eq!(problem["status"], 429);
        assert_eq!(limit.clients(), 1);
    }

    #[test]
    fn a_hosts_key_ignores_case_and_port_and_nothing_else() {
        let key = |host: &str| HostKey::of(&Request::builder().header(header::HOST, host).body(()).unwrap());
        assert_eq!(key("alpha.localhost"), key("ALPHA.LocalHost:8000"));
        assert_eq!(key("[::1]:80"), key("[::1]"));
        assert_ne!(key("alpha.localhost"), key("bravo.localhost"));
        assert_ne!(key("alpha.localhost"), key("alpha.localhost.evil"));
        assert_ne!(key("[::1]"), key("[::2]"));
    }

    #[tokio::test]
    async fn past_a_hosts_limit_is_a_429_problem_and_other_hosts_have_their_own() {
        use tower::ServiceExt as _;
        let limit = HostLimit::per_second(2).unwrap();
        let router = axum::Router::new().fallback(|| async { "ok" }).layer(limit.layer());
        let to = |host: &str| Request::builder().header(header::HOST, host).body(Body::empty()).unwrap();
        for host in ["a.localhost", "A.localhost:1"] {
            assert_eq!(router.clone().oneshot(to(host)).await.unwrap().status(), StatusCode::OK);
        }
        let refused = router.clone().oneshot(to("a.localhost")).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert!(refused.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(router.oneshot(to("b.localhost")).await.unwrap().status(), StatusCode::OK);
        assert_eq!(limit.hosts(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_held_for_the_delay_and_other_answers_are_not() {
        use tower::ServiceExt as _;
        let delay = Duration::from_millis(100);
        // Fallbacks, not routes: the OpenAPI drift check reads `.route(` calls.
        let hold = |router| crate::http::around(router, HoldRefusalsLayer::new(delay));
        let serving = hold(axum::Router::new().fallback(|| async { "ok" }));
        let refusing = hold(axum::Router::new().fallback(|| async { too_many_requests(1) }));
        let get = || Request::builder().body(Body::empty()).unwrap();
        // Paused time: nothing advances unless awaited timers let it.
        let served = tokio::time::timeout(Duration::from_millis(1), serving.oneshot(get())).await;
        assert_eq!(served.expect("not held").unwrap().status(), StatusCode::OK);
        let refused = tokio::time::timeout(delay / 2, refusing.clone().oneshot(get())).await;
        assert!(refused.is_err(), "a 429 went out before its delay");
        let refused = tokio::time::timeout(delay * 2, refusing.oneshot(get())).await;
        assert_eq!(refused.expect("sent after the delay").unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses_and_nothing_else() {
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse(" 10.0.0.0/8 , fd00::/8,127.0.0.1 ").unwrap().contains(ip("127.0.0.1")));
        for bad in ["10.0.0.0/33", "ten", "10.0.0.0/8;"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}
