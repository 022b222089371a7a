//! RFC 9457 problem details: the only error shape either service writes.
//!
//! `into_response` does not log. A 5xx carries its cause in the response's
//! extensions, where [`crate::http`]'s middleware logs it with the request span;
//! the body never carries internal text.

use std::sync::Arc;

use axum::{
    extract::{rejection::JsonRejection, FromRequest, Request},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{de::DeserializeOwned, Serialize};

/// Media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One input field at fault.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field in the request, e.g. `variants[0].price.amount`.
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    /// `field` is the path as the client sent it, `message` says what to fix.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// An RFC 9457 problem. `type` is `/problems/<code>`, stable per outcome.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    extensions: serde_json::Map<String, serde_json::Value>,
    /// Seconds for a `Retry-After` header (429, 503); `u16` keeps `Problem`
    /// small enough to return by value (clippy's `result_large_err`).
    retry_after: Option<u16>,
    cause: Option<Arc<anyhow::Error>>,
}

/// The cause of a 5xx, left in response extensions for the logging middleware.
#[derive(Clone, Debug)]
pub struct ProblemCause(pub Arc<anyhow::Error>);

impl Problem {
    /// A problem with a status, a stable code, a title and a detail.
    pub fn new(status: StatusCode, code: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
            retry_after: None,
            cause: None,
        }
    }

    /// 400: the request cannot be read (malformed JSON, bad query parameter).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", detail)
    }

    /// 400 naming the parameter at fault.
    pub fn invalid_parameter(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::bad_request(format!("{field}: {message}")).with_errors(vec![FieldError::new(field, message)])
    }

    /// 422: the request is well-formed but its values break the rules.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid request", detail).with_errors(errors)
    }

    /// 401: no credentials, or credentials that do not hold for this store.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// 404 with a stable code such as `product-not-found`.
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, "Not found", detail)
    }

    /// 409 with a stable code such as `slug-taken`.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict", detail)
    }

    /// 500. The cause is logged, never sent.
    ///
    /// A dependency that did not answer (PostgreSQL's pool timed out or its
    /// connection broke, Redis timed out or is unreachable, a timeout elapsed)
    /// is not our bug: that cause becomes a `503` problem with `Retry-After`,
    /// so no caller ever sees a `500` for a dependency that is down or hung.
    pub fn internal(cause: anyhow::Error) -> Self {
        if let Some(dependency) = unavailable_dependency(&cause) {
            let mut problem =
                Self::unavailable(format!("{dependency} is not answering; retry in a moment.")).with("retry_after", 1);
            problem.cause = Some(Arc::new(cause));
            return problem;
        }
        let mut problem = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "Something went wrong on our side; the request id identifies it in our logs.",
        );
        problem.cause = Some(Arc::new(cause));
        problem
    }

    /// 503: a dependency is down.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable", detail)
    }

    /// 503 `overloaded`: a bounded resource (password hashing, say) is busy;
    /// the client should retry after `retry_after_secs`.
    pub fn overloaded(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Service overloaded", detail)
            .with_retry_after(retry_after_secs)
    }

    /// 413: the body is larger than this endpoint accepts.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
            "The request body is larger than this endpoint accepts.",
        )
    }

    /// Sends `Retry-After: <seconds>` with the problem.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(u16::try_from(seconds).unwrap_or(u16::MAX));
        self
    }

    /// Adds field errors.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds an extension member, e.g. `order_id` on a declined payment.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code (last segment of `type`).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The body as JSON.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("type".into(), format!("/problems/{}", self.code).into());
        body.insert("title".into(), self.title.into());
        body.insert("status".into(), self.status.as_u16().into());
        body.insert("detail".into(), self.detail.clone().into());
        if !self.errors.is_empty() {
            body.insert("errors".into(), serde_json::to_value(&self.errors).expect("field errors serialize"));
        }
        for (key, value) in &self.extensions {
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
        serde_json::Value::Object(body)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

/// Which dependency, if any, `cause` says did not answer: the database
/// (down, full, timed out, cancelled past `statement_timeout`), media storage,
/// Redis, or a timeout. Such a failure is the platform's and passing: a
/// request gets a `503`, and the delivery job does not count it as an attempt.
pub fn unavailable_dependency(cause: &anyhow::Error) -> Option<&'static str> {
    cause.chain().find_map(|error| {
        if error.is::<crate::db::DatabaseUnavailable>() {
            return Some("The database");
        }
        if error.is::<crate::media::StorageUnavailable>() {
            return Some("Media storage");
        }
        if let Some(error) = error.downcast_ref::<sqlx::Error>() {
            // The server cancelled a statement past `statement_timeout` (57014),
            // is shutting down or starting (57P01, 57P03), or is full (53300).
            let server_refused = error
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| matches!(code.as_ref(), "57014" | "57P01" | "57P03" | "53300"));
            return (server_refused
                || matches!(
                    error,
                    sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_)
                ))
            .then_some("The database");
        }
        if let Some(error) = error.downcast_ref::<redis::RedisError>() {
            return (error.is_timeout()
                || error.is_io_error()
                || error.is_connection_dropped()
                || error.is_connection_refusal())
            .then_some("The cache (Redis)");
        }
        error.is::<tokio::time::error::Elapsed>().then_some("A dependency")
    })
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).expect("problem serializes");
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // A 503 that says when to come back says it in the header too.
        let from_body = (self.status == StatusCode::SERVICE_UNAVAILABLE)
            .then(|| self.extensions.get("retry_after").and_then(serde_json::Value::as_u64))
            .flatten();
        if let Some(seconds) = self.retry_after.map(u64::from).or(from_body) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ProblemCause(cause));
        }
        response
    }
}

impl From<anyhow::Error> for Problem {
    fn from(cause: anyhow::Error) -> Self {
        Self::internal(cause)
    }
}

impl From<sqlx::Error> for Problem {
    fn from(cause: sqlx::Error) -> Self {
        Self::internal(cause.into())
    }
}

/// A JSON body extractor whose rejections are problems naming the field at fault.
///
/// Wrong content type → 415; malformed JSON → 400; a missing field or a value of
/// the wrong type → 422 with `errors[0].field` set to the path of the field.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the body as application/json.",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::payload_too_large()
            } else {
                Problem::bad_request(format!("cannot read the body: {e}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON document into `T`, mapping failures to problems that name the field.
/// A NUL character in any string or key of the body is refused before the
/// body means anything (PostgreSQL text cannot hold one): `400` naming it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if let Some(field) = nul_in_json(bytes) {
        return Err(Problem::invalid_parameter(&field, "must not contain a NUL character (\\u0000)"));
    }
    // Every body of this API is an object. serde reads a struct from an array
    // too (fields by position), so `[…]` would be accepted as an object whose
    // field names nobody checked: refused before parsing.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Problem::validation(vec![FieldError::new("body", "must be a JSON object")]));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { missing_field(&inner).unwrap_or_default() } else { path };
                let field = match missing_field(&inner) {
                    Some(missing) if field != missing && !field.is_empty() => {
                        format!("{field}.{missing}")
                    }
                    _ => field,
                };
                Problem::validation(vec![FieldError::new(
                    if field.is_empty() { "body".to_owned() } else { field },
                    data_message(&inner),
                )])
            }
            _ => Problem::bad_request(format!("The body is not valid JSON: {inner}")),
        }
    })?;
    deserializer.end().map_err(|e| Problem::bad_request(format!("The body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Where a JSON body holds a NUL character, as a field path (`title`,
/// `items[0].sku`); `None` when it holds none. A raw NUL byte is invalid JSON
/// (left to the parser), so only the `\u0000` escape needs looking for; the
/// body is walked only when that text occurs.
fn nul_in_json(bytes: &[u8]) -> Option<String> {
    let escaped = bytes.windows(6).any(|w| w[0] == b'\\' && w[1] == b'u' && w[2..].iter().all(|b| *b == b'0'));
    if !escaped {
        return None;
    }
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
        match value {
            serde_json::Value::String(s) => {
                s.contains('\0').then(|| if path.is_empty() { "body".into() } else { path.into() })
            }
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, item)| walk(item, &format!("{path}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
                if key.contains('\0') {
                    Some(join(&key.replace('\0', "\\u0000")))
                } else {
                    walk(item, &join(key))
                }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, "")
}

/// serde reports a missing field as a message on the enclosing object.
fn missing_field(error: &serde_json::Error) -> Option<String> {
    let text = error.to_string();
    let rest = text.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn data_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    if text.starts_with("missing field") {
        "is required".to_owned()
    } else {
        text.to_owned()
    }
}

/// Maps axum's own JSON rejection (for handlers that use `axum::Json`).
impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        Problem::bad_request(rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        variants: Vec<Variant>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Variant {
        sku: String,
        price: i64,
    }

    #[test]
    fn a_wrong_type_names_the_nested_field() {
        let p = parse_json::<Body>(br#"{"title":"a","variants":[{"sku":"x","price":"ten"}]}"#).unwrap_err();
        assert_eq!(p.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.body()["errors"][0]["field"], "variants[0].price");
    }

    #[test]
    fn a_missing_field_is_named() {
        let p = parse_json::<Body>(br#"{"variants":[]}"#).unwrap_err();
        assert_eq!(p.body()["errors"][0]["field"], "title");
        assert_eq!(p.body()["errors"][0]["message"], "is required");
        let p = parse_json::<Body>(br#"{"title":"a","variants":[{"price":1}]}"#).unwrap_err();
        assert_eq!(p.body()["errors"][0]["field"], "variants[0].sku");
    }

    #[test]
    fn malformed_json_is_a_400() {
        let p = parse_json::<Body>(b"{\"title\":").unwrap_err();
        assert_eq!(p.status(), StatusCode::BAD_REQUEST);
        assert_eq!(p.body()["type"], "/problems/bad-request");
    }

    #[test]
    fn internal_text_never_reaches_the_body() {
        let p = Problem::internal(anyhow::anyhow!("password=hunter2 connection refused"));
        assert!(!p.body().to_string().contains("hunter2"));
        assert_eq!(p.body()["status"], 500);
    }
}

#[cfg(test)]
mod nul_tests {
    use super::*;

    #[test]
    fn a_nul_anywhere_in_a_json_body_is_a_400_naming_its_field() {
        let body = br#"{"title": "Hat", "items": [{"sku": "A\u0000B"}]}"#;
        let problem = parse_json::<serde_json::Value>(body).unwrap_err();
        assert_eq!(problem.status, StatusCode::BAD_REQUEST);
        assert_eq!(problem.errors[0].field, "items[0].sku");
        let problem = parse_json::<serde_json::Value>(br#"{"a\u0000": 1}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "a\\u0000");
        // An escaped backslash followed by `u0000` is text, not a NUL.
        assert!(parse_json::<serde_json::Value>(br#"{"title": "C:\\u0000"}"#).is_ok());
        assert!(parse_json::<serde_json::Value>(br#"{"title": "plain"}"#).is_ok());
    }
}

#[cfg(test)]
mod dependency_tests {
    use super::*;

    #[test]
    fn a_dependency_that_does_not_answer_is_a_503_with_retry_after_never_a_500() {
        let pool = Problem::internal(anyhow::Error::from(sqlx::Error::PoolTimedOut).context("loading the cart"));
        assert_eq!(pool.status, StatusCode::SERVICE_UNAVAILABLE);
        let response = pool.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let redis = redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer"));
        assert_eq!(Problem::internal(redis.into()).status, StatusCode::SERVICE_UNAVAILABLE);
        // Our own bugs stay 500s.
        let bug = Problem::internal(anyhow::anyhow!("stored status \"shipped\" is unknown"));
        assert_eq!(bug.status, StatusCode::INTERNAL_SERVER_ERROR);
        let constraint = Problem::internal(sqlx::Error::RowNotFound.into());
        assert_eq!(constraint.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
