//! Pages calling their own service's JSON API, in process.
//!
//! The merchant dashboard and the platform admin pages do nothing of their
//! own: every read and every change is a request to the public API's router
//! (`/admin/…` on the data plane, `/v1/…` on the control plane) with the
//! signed-in account's token as its bearer, dispatched with
//! `tower::ServiceExt::oneshot` instead of a socket. So a page runs exactly the
//! API's extractors, roles, scopes, validation, tenant isolation and
//! idempotency, and cannot drift from them; it only turns HTML forms into JSON
//! and the JSON answer (or problem) into HTML.

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderName, HeaderValue, Method, Request, StatusCode},
    Router,
};
use serde_json::Value;
use tower::ServiceExt;

use crate::problem::Problem;

/// The largest API answer a page reads (a page of a list is far smaller).
const ANSWER_LIMIT: usize = 16 * 1024 * 1024;

/// The API router a page handler calls; cheap to clone.
#[derive(Clone)]
pub struct Loopback {
    router: Router,
}

impl Loopback {
    /// Calls go to `router`: the API's routes with their own states, without
    /// the outer layers the page's request already passed (request id, edge
    /// and rate limits, tenant resolution: the caller copies what those left
    /// in the request's extensions with [`Call::extension`]). The bad-bytes
    /// checks and problem fallbacks every API request gets are added here.
    pub fn new(router: Router) -> Self {
        Self { router: crate::http::with_layers(router, crate::http::Layers::NONE) }
    }

    /// Sends `call` through the API router and reads its whole answer.
    pub async fn send(&self, call: Call) -> Result<Answer, Problem> {
        let response = self.router.clone().oneshot(call.request).await.unwrap_or_else(|never| match never {});
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), ANSWER_LIMIT)
            .await
            .map_err(|e| Problem::internal(anyhow::anyhow!("reading an API answer in process: {e}")))?;
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Ok(Answer { status, body })
    }
}

/// One API request, built step by step.
pub struct Call {
    request: Request<Body>,
}

impl Call {
    /// `method path` (the path may carry a query) without a body.
    pub fn new(method: Method, path: &str) -> Self {
        let mut request = Request::new(Body::empty());
        *request.method_mut() = method;
        *request.uri_mut() = path.parse().unwrap_or_else(|_| axum::http::Uri::from_static("/"));
        Self { request }
    }

    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }

    /// `POST path` with a JSON body.
    pub fn post(path: &str, body: &Value) -> Self {
        Self::new(Method::POST, path).json(body)
    }

    /// A JSON body.
    pub fn json(self, body: &Value) -> Self {
        self.bytes("application/json", Bytes::from(body.to_string()))
    }

    /// A body of `content_type`.
    pub fn bytes(mut self, content_type: &str, body: Bytes) -> Self {
        *self.request.body_mut() = Body::from(body);
        self.header(header::CONTENT_TYPE, content_type)
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header(header::AUTHORIZATION, &format!("Bearer {token}"))
    }

    /// A header; a value that is not a valid header value is left out.
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.request.headers_mut().insert(name, value);
        }
        self
    }

    /// An extension the API's extractors read (the resolved store, the peer address).
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.request.extensions_mut().insert(value);
        self
    }
}

/// What the API answered.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its JSON body (`null` when empty or not JSON).
    pub body: Value,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The problem's `detail` (or its `title`), for a page to show.
    pub fn detail(&self) -> String {
        let text = |key: &str| self.body.get(key).and_then(Value::as_str).map(str::to_owned);
        text("detail").or_else(|| text("title")).unwrap_or_else(|| self.status.to_string())
    }

    /// The problem's field errors as `(field, message)`.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        let Some(errors) = self.body.get("errors").and_then(Value::as_array) else { return Vec::new() };
        errors
            .iter()
            .map(|e| {
                let text = |key: &str| e.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                (text("field"), text("message"))
            })
            .collect()
    }
}

/// Percent-encodes a path segment or a query value (everything but RFC 3986's
/// unreserved characters), for paths a page builds from what it was given.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path?name=value&…` with every value encoded.
pub fn path_with(path: &str, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params.iter().map(|(name, value)| format!("{name}={}", encode(value))).collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(encode("a b/ü&x"), "a%20b%2F%C3%BC%26x");
        assert_eq!(
            path_with("/v1/tenants", &[("q", "a&b".into()), ("limit", "5".into())]),
            "/v1/tenants?q=a%26b&limit=5"
        );
    }
}
