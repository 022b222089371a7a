//! Server-rendered HTML pages: what the storefront and the merchant dashboard
//! share.
//!
//! - [`PageKey`]: a server secret (derived from the master key) that signs
//!   what pages hand to browsers: CSRF tokens, links that act as capabilities.
//! - CSRF: a signed double-submit token. [`PageKey::csrf`] returns the token of
//!   the request's `csrf` cookie when it is valid for the scope (a store, say),
//!   else a new one; the page puts it in a hidden [`CSRF_FIELD`] of every form
//!   and sets the cookie ([`Csrf::set_cookie`]) when it is new.
//!   [`PageKey::check_csrf`] accepts a form only when the submitted field
//!   equals the cookie and carries the server's signature for the scope: a
//!   cross-site page can make the browser send the cookie, but cannot read it
//!   to copy it into the form, and cannot mint a token of its own.
//! - [`Cookies`]: `Set-Cookie` values with the platform's flags: `HttpOnly`,
//!   `SameSite=Lax`, `Path=/`, and `Secure` outside development.
//! - Responses: [`page`] (HTML with `Cache-Control`, a strong `ETag`, and
//!   `304 Not Modified` when `If-None-Match` names it), [`asset`] (the same for
//!   a stylesheet or script, usually [`Caching::Immutable`]), [`see_other`]
//!   (the `303` after a form), [`error_page`], and the [`html_problems`]
//!   middleware that turns a problem+json answer of a page route (a layer's
//!   `404`, `423`, `429`, `503`) into an HTML page with the same status.
//! - [`Theme`]: a store's colours and logo from its `branding`, checked (the
//!   control plane refuses bad values; pages ignore any that slipped in).
//! - [`Form`]: an `application/x-www-form-urlencoded` body as name/value pairs,
//!   so a handler can name the field at fault itself.
//!
//! **Invariant:** nothing here reads a cookie's value into HTML unescaped, and
//! every token is compared in constant time.

use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{FromRequest, Request},
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::{
    config::PlatformEnv,
    crypto::MasterKeys,
    problem::{FieldError, PROBLEM_JSON},
};

/// `Content-Type` of every page.
pub const TEXT_HTML: &str = "text/html; charset=utf-8";

/// Name of the cookie holding the CSRF token.
pub const CSRF_COOKIE: &str = "csrf";

/// Name of the hidden form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// How long a CSRF cookie lives, in seconds (a form left open for a day still posts).
pub const CSRF_MAX_AGE_SECS: u64 = 7 * 24 * 3600;

type HmacSha256 = Hmac<Sha256>;

/// A server secret that signs what pages hand to browsers. Cheap to clone.
///
/// Derived from the master key ([`PageKey::from_master`]): no new secret to
/// deploy, and a different purpose (`label`) gives an unrelated key. Rotating
/// the master key invalidates what was signed under the old one (open forms
/// answer 403 once; signed links stop working).
#[derive(Clone)]
pub struct PageKey(std::sync::Arc<[u8; 32]>);

impl std::fmt::Debug for PageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageKey(..)")
    }
}

impl PageKey {
    /// A key from 32 secret bytes.
    pub fn new(secret: [u8; 32]) -> Self {
        Self(std::sync::Arc::new(secret))
    }

    /// The key for `label` (e.g. `"storefront"`), derived from the current
    /// master key.
    pub fn from_master(master: &MasterKeys, label: &str) -> Self {
        Self::new(master.derive(&format!("platform::web::{label}")))
    }

    /// A random key, for tests.
    pub fn random() -> Self {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        Self::new(secret)
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0[..]).expect("HMAC takes any key length");
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") sign differently.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The signature (base64url, 43 characters) of `parts`, in order.
    pub fn sign(&self, parts: &[&str]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(parts).finalize().into_bytes())
    }

    /// Whether `signature` is [`PageKey::sign`] of `parts` (constant time).
    pub fn verify(&self, parts: &[&str], signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            Ok(bytes) => self.mac(parts).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    /// The CSRF token for `scope` (a store id, say): the request's `csrf`
    /// cookie when it is a token of this key and scope, else a new one
    /// (which the response must set: [`Csrf::set_cookie`]).
    pub fn csrf(&self, scope: &str, request: &HeaderMap) -> Csrf {
        match cookie(request, CSRF_COOKIE).filter(|token| self.csrf_valid(scope, token)) {
            Some(token) => Csrf { token: token.to_owned(), fresh: false },
            None => {
                let mut nonce = [0u8; 16];
                OsRng.fill_bytes(&mut nonce);
                let nonce = URL_SAFE_NO_PAD.encode(nonce);
                let signature = self.sign(&["csrf", scope, &nonce]);
                Csrf { token: format!("{nonce}.{signature}"), fresh: true }
            }
        }
    }

    fn csrf_valid(&self, scope: &str, token: &str) -> bool {
        token.split_once('.').is_some_and(|(nonce, signature)| self.verify(&["csrf", scope, nonce], signature))
    }

    /// Accepts a form post: `submitted` (the form's [`CSRF_FIELD`]) must equal
    /// the request's `csrf` cookie and be a token of this key for `scope`.
    /// Call it before reading anything else of the form or writing anything.
    pub fn check_csrf(&self, scope: &str, request: &HeaderMap, submitted: Option<&str>) -> Result<(), CsrfRefused> {
        let (Some(cookie), Some(submitted)) = (cookie(request, CSRF_COOKIE), submitted) else {
            return Err(CsrfRefused);
        };
        if constant_time_eq(cookie.as_bytes(), submitted.as_bytes()) && self.csrf_valid(scope, submitted) {
            Ok(())
        } else {
            Err(CsrfRefused)
        }
    }
}

/// A form post without a matching CSRF token: answer `403` and write nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsrfRefused;

impl IntoResponse for CsrfRefused {
    fn into_response(self) -> Response {
        error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form could not be accepted (its security token is missing or does not match). \
             Go back, reload the page and try again.",
        )
    }
}

/// A CSRF token for one response: the value of the hidden field, and whether
/// the cookie must be set.
#[derive(Debug, Clone)]
pub struct Csrf {
    token: String,
    fresh: bool,
}

impl Csrf {
    /// The token: the value of every form's hidden [`CSRF_FIELD`].
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The `Set-Cookie` value when the token is new (the request had none, or
    /// a stale one); `None` when the browser already holds it.
    pub fn set_cookie(&self, cookies: &Cookies) -> Option<HeaderValue> {
        self.fresh.then(|| cookies.set(CSRF_COOKIE, &self.token, Some(CSRF_MAX_AGE_SECS)))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in the request's `Cookie` headers, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// Whether a JWT's `exp` is less than a minute away (or unreadable: `false`,
/// and the API it is given refuses it). Read unverified, only to decide
/// whether a page renews its session before it runs: the API verifies every
/// token it is given.
pub fn token_expiring(token: &str) -> bool {
    let payload = token.split('.').nth(1).and_then(|p| URL_SAFE_NO_PAD.decode(p).ok());
    let exp = payload
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
        .and_then(|claims| claims.get("exp").and_then(serde_json::Value::as_i64));
    exp.is_some_and(|exp| exp - 60 <= chrono::Utc::now().timestamp())
}

/// The refresh token of a session due for renewal: both cookies present and
/// the access token in `session` expiring ([`token_expiring`]); `None` when
/// the page should run as it is.
pub fn refresh_due<'a>(headers: &'a HeaderMap, session: &str, refresh: &str) -> Option<&'a str> {
    let access = cookie(headers, session)?;
    let refresh = cookie(headers, refresh)?;
    token_expiring(access).then_some(refresh)
}

/// Rewrites a request's `Cookie` header with `set` (name, value) in place of
/// the cookies of those names, every other cookie kept as it was: a page that
/// renewed its session runs with the new tokens.
pub fn replace_request_cookies(headers: &mut HeaderMap, set: &[(&str, &str)]) {
    let mut jar: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !set.iter().any(|(name, _)| pair.starts_with(&format!("{name}="))))
        .map(str::to_owned)
        .collect();
    jar.extend(set.iter().map(|(name, value)| format!("{name}={value}")));
    if let Ok(value) = HeaderValue::from_str(&jar.join("; ")) {
        headers.insert(header::COOKIE, value);
    }
}

/// Builds `Set-Cookie` values with the platform's flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cookies {
    secure: bool,
}

impl Cookies {
    /// `Secure` when `secure` (set it whenever pages are served over HTTPS).
    pub fn new(secure: bool) -> Self {
        Self { secure }
    }

    /// `Secure` everywhere but development (`PLATFORM_ENV=development` serves
    /// `http://<store>.localhost:8000`, where a `Secure` cookie would be dropped).
    pub fn for_env(env: PlatformEnv) -> Self {
        Self::new(env != PlatformEnv::Development)
    }

    /// `name=value; Path=/; HttpOnly; SameSite=Lax[; Secure][; Max-Age=…]`.
    /// Without `max_age` the cookie lasts the browser session. `name` and
    /// `value` must be cookie-safe (tokens, ids: base64url, hex, dots).
    pub fn set(&self, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            cookie.push_str("; Secure");
        }
        if let Some(seconds) = max_age {
            cookie.push_str(&format!("; Max-Age={seconds}"));
        }
        HeaderValue::from_str(&cookie).expect("cookie names and values are visible ASCII")
    }

    /// A `Set-Cookie` value that deletes cookie `name`.
    pub fn clear(&self, name: &str) -> HeaderValue {
        self.set(name, "", Some(0))
    }
}

/// What a response may be cached as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// `private, no-cache`: the browser keeps it but asks again every time
    /// (answered `304` while the `ETag` matches). Pages carrying a CSRF token
    /// or a shopper's data.
    Revalidate,
    /// `no-store`: never kept (a page showing an order to a key holder).
    NoStore,
    /// `public, max-age=31536000, immutable`: a fingerprinted asset whose URL
    /// changes with its content.
    Immutable,
}

impl Caching {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Caching::Revalidate => "private, no-cache",
            Caching::NoStore => "no-store",
            Caching::Immutable => "public, max-age=31536000, immutable",
        })
    }
}

/// A strong `ETag` of `body`: `"<first 16 bytes of SHA-256, hex>"`.
pub fn etag(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..16]))
}

/// Whether the request's `If-None-Match` names `tag` (or `*`).
fn not_modified(request: &HeaderMap, tag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == tag || candidate == "*")
}

/// An HTML page. A `200` carries an `ETag` of its body and is answered
/// `304 Not Modified` (no body) when the request's `If-None-Match` names it;
/// other statuses carry neither. Every page says `nosniff`, `same-origin`
/// referrers and may not be framed.
pub fn page(request: &HeaderMap, status: StatusCode, body: impl Into<Bytes>, caching: Caching) -> Response {
    let mut response = body_response(request, status, HeaderValue::from_static(TEXT_HTML), body.into(), caching);
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A static asset (stylesheet, script) with `content_type`, an `ETag` and
/// `304` on a match, like [`page`].
pub fn asset(request: &HeaderMap, content_type: &'static str, body: Bytes, caching: Caching) -> Response {
    body_response(request, StatusCode::OK, HeaderValue::from_static(content_type), body, caching)
}

fn body_response(
    request: &HeaderMap,
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
    caching: Caching,
) -> Response {
    let tag = (status == StatusCode::OK).then(|| etag(&body));
    let matched = tag.as_deref().is_some_and(|tag| not_modified(request, tag));
    let mut response =
        if matched { StatusCode::NOT_MODIFIED.into_response() } else { (status, Body::from(body)).into_response() };
    let headers = response.headers_mut();
    if !matched {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    headers.insert(header::CACHE_CONTROL, caching.header());
    if let Some(tag) = tag {
        headers.insert(header::ETAG, HeaderValue::from_str(&tag).expect("hex in quotes is a header value"));
    }
    response
}

/// `303 See Other` to `location` (a path on the same host): the answer to a
/// form post, so a reload does not post again.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let value = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    response.headers_mut().insert(header::LOCATION, value);
    response.headers_mut().insert(header::CACHE_CONTROL, Caching::NoStore.header());
    response
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// A plain, self-contained HTML error page (no store theme: it must render
/// when nothing else can, e.g. for a suspended or unknown store).
pub fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;\
         padding:0 1rem;color:#1a1a1a;line-height:1.5}}a{{color:#0645ad}}</style></head><body>\
         <main><h1>{title}</h1><p>{detail}</p><p><a href=\"/\">Home</a></p></main></body></html>",
        title = escape(title),
        detail = escape(detail),
    );
    let mut response = page(&HeaderMap::new(), status, body, Caching::NoStore);
    response.headers_mut().remove(header::ETAG);
    response
}

/// Middleware for page routes: a problem+json answer (from a layer in front
/// of the pages: tenant resolution's `404` and `423`, a rate limit's `429`,
/// an overload's `503`) becomes an HTML page with the same status and headers
/// (`Retry-After` stays) and the problem's title and detail. Other answers
/// pass untouched. The response's extensions (a 5xx's cause, for the logging
/// middleware) are kept.
pub async fn html_problems(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Problem bodies are small; a larger one is not ours to render.
    let problem: serde_json::Value = match to_bytes(body, 64 * 1024).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    };
    let text = |key: &str| problem.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let title = Some(text("title")).filter(|t| !t.is_empty()).unwrap_or_else(|| "Error".into());
    let html = error_page(parts.status, &title, &text("detail"));
    let (html_parts, html_body) = html.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &html_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, html_body)
}

/// An `application/x-www-form-urlencoded` body as name/value pairs (repeated
/// names keep every value). A body that is not a form is a `400` page; a body
/// over the router's limit is refused by the body limit first.
#[derive(Debug, Clone, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The last value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The last value of `name`, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let bad = |detail: &str| error_page(StatusCode::BAD_REQUEST, "Bad request", detail);
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(bad("This address takes an HTML form."));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        let pairs: Vec<(String, String)> = form_pairs(&bytes).ok_or_else(|| bad("The form could not be read."))?;
        if pairs.iter().any(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(bad("The form contains a NUL character."));
        }
        Ok(Self(pairs))
    }
}

/// Decodes `a=1&b=x+y` (percent-decoding, `+` as space); `None` when a part is
/// not UTF-8 after decoding.
fn form_pairs(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    fn decode(part: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(part.get(i + 1..i + 3)?).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    bytes
        .split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut halves = pair.splitn(2, |b| *b == b'=');
            let name = decode(halves.next().unwrap_or_default())?;
            let value = decode(halves.next().unwrap_or_default())?;
            Some((name, value))
        })
        .collect()
}

/// Colours and logo from the store's `branding` (control plane, `PATCH
/// /v1/tenants/{id}`). Values are checked again here, whatever was stored:
/// a colour that is not `#rrggbb` or a logo that is not an `https://` URL (or
/// a path of the store's own media) is ignored, so nothing a merchant typed
/// reaches CSS or an attribute unchecked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Theme {
    /// `#rrggbb`: buttons, links and the header's accent.
    pub primary_color: Option<String>,
    /// The logo in the header: `https://…` or the store's own `/media/…`.
    pub logo_url: Option<String>,
}

impl Theme {
    /// The theme in a store's `branding` object; unknown keys are ignored.
    pub fn from_branding(branding: &serde_json::Value) -> Self {
        let text = |key: &str| branding.get(key).and_then(serde_json::Value::as_str);
        Self {
            primary_color: text("primary_color").filter(|c| is_color(c)).map(str::to_ascii_lowercase),
            logo_url: text("logo_url").filter(|u| is_logo_url(u)).map(str::to_owned),
        }
    }

    /// The field errors of a `branding` object's theme keys (the control plane
    /// checks `PATCH /v1/tenants/{id}` with them).
    pub fn errors(branding: &serde_json::Value) -> Vec<FieldError> {
        theme_errors(branding)
    }

    /// The text colour on the primary colour with the better contrast
    /// (WCAG relative luminance): `#000000` or `#ffffff`.
    pub fn on_primary(&self) -> &'static str {
        let Some(color) = &self.primary_color else { return "#ffffff" };
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&color[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
        // Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05).
        if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) {
            "#000000"
        } else {
            "#ffffff"
        }
    }
}

/// `#rrggbb`.
pub fn is_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `https://…` without quotes, spaces or angle brackets (at most 2,048
/// characters), or a path under `/media/`.
pub fn is_logo_url(value: &str) -> bool {
    let clean = value.len() <= 2048 && !value.bytes().any(|b| b.is_ascii_whitespace() || b"\"'<>\\`".contains(&b));
    clean && (value.starts_with("https://") && value.len() > "https://".len() || value.starts_with("/media/"))
}

/// The errors of the theme keys of a `branding` object.
fn theme_errors(branding: &serde_json::Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match branding.get("primary_color") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(c)) if is_color(c) => {}
        Some(_) => errors.push(FieldError::new("branding.primary_color", "must be a colour as #rrggbb")),
    }
    match branding.get("logo_url") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(u)) if is_logo_url(u) => {}
        Some(_) => {
            errors.push(FieldError::new("branding.logo_url", "must be an https:// URL of at most 2048 characters"))
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(exp: i64) -> String {
        format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(format!("{{\"exp\":{exp}}}")))
    }

    #[test]
    fn only_tokens_expiring_within_a_minute_are_renewed() {
        let now = chrono::Utc::now().timestamp();
        assert!(token_expiring(&token(now - 5)));
        assert!(token_expiring(&token(now + 30)));
        assert!(!token_expiring(&token(now + 600)));
        assert!(!token_expiring("not-a-token"));
    }

    #[test]
    fn a_session_is_due_for_renewal_only_with_both_cookies_and_an_expiring_token() {
        let now = chrono::Utc::now().timestamp();
        let due = with_cookie(&format!("s={}; r=refresh-1", token(now - 5)));
        assert_eq!(refresh_due(&due, "s", "r"), Some("refresh-1"));
        let fresh = with_cookie(&format!("s={}; r=refresh-1", token(now + 600)));
        assert_eq!(refresh_due(&fresh, "s", "r"), None);
        let no_refresh = with_cookie(&format!("s={}", token(now - 5)));
        assert_eq!(refresh_due(&no_refresh, "s", "r"), None);
    }

    #[test]
    fn renewed_cookies_replace_their_names_and_keep_every_other() {
        let mut headers = with_cookie("csrf=abc; session=old; sessionx=keep");
        headers.append(header::COOKIE, HeaderValue::from_static("refresh=old2; theme=dark"));
        replace_request_cookies(&mut headers, &[("session", "new"), ("refresh", "new2")]);
        assert_eq!(headers.get_all(header::COOKIE).iter().count(), 1);
        assert_eq!(cookie(&headers, "session"), Some("new"));
        assert_eq!(cookie(&headers, "refresh"), Some("new2"));
        assert_eq!(
            (cookie(&headers, "csrf"), cookie(&headers, "sessionx"), cookie(&headers, "theme")),
            (Some("abc"), Some("keep"), Some("dark"))
        );
    }

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_csrf_token_is_accepted_only_with_its_cookie_and_scope() {
        let key = PageKey::random();
        let csrf = key.csrf("store-a", &HeaderMap::new());
        assert!(csrf.fresh);
        let cookie = with_cookie(&format!("other=1; {CSRF_COOKIE}={}", csrf.token()));
        assert_eq!(key.check_csrf("store-a", &cookie, Some(csrf.token())), Ok(()));
        // The same cookie is reused, not replaced.
        assert!(!key.csrf("store-a", &cookie).fresh);
        assert_eq!(key.check_csrf("store-a", &cookie, None), Err(CsrfRefused));
        assert_eq!(key.check_csrf("store-a", &HeaderMap::new(), Some(csrf.token())), Err(CsrfRefused));
        assert_eq!(key.check_csrf("store-b", &cookie, Some(csrf.token())), Err(CsrfRefused));
        assert_eq!(PageKey::random().check_csrf("store-a", &cookie, Some(csrf.token())), Err(CsrfRefused));
        // A token an attacker made up, in both places, has no signature.
        let forged = with_cookie(&format!("{CSRF_COOKIE}=abc.def"));
        assert_eq!(key.check_csrf("store-a", &forged, Some("abc.def")), Err(CsrfRefused));
    }

    #[test]
    fn cookies_carry_the_platform_flags() {
        let dev = Cookies::for_env(PlatformEnv::Development).set("cart", "abc", None);
        assert_eq!(dev, "cart=abc; Path=/; HttpOnly; SameSite=Lax");
        let prod = Cookies::for_env(PlatformEnv::Production).set("cart", "abc", Some(60));
        assert_eq!(prod, "cart=abc; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=60");
        assert!(Cookies::new(false).clear("cart").to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn a_matching_etag_is_answered_304() {
        let body = Bytes::from_static(b"<p>hi</p>");
        let first = page(&HeaderMap::new(), StatusCode::OK, body.clone(), Caching::Revalidate);
        let tag = first.headers()[header::ETAG].clone();
        assert_eq!(first.headers()[header::CACHE_CONTROL], "private, no-cache");
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, tag.clone());
        let second = page(&again, StatusCode::OK, body, Caching::Revalidate);
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(second.headers()[header::ETAG], tag);
        let failed = page(&again, StatusCode::CONFLICT, "x", Caching::Revalidate);
        assert_eq!(failed.status(), StatusCode::CONFLICT);
        assert!(failed.headers().get(header::ETAG).is_none());
    }

    #[test]
    fn forms_decode_and_escape_escapes() {
        let pairs = form_pairs(b"a=1&b=x+y%21&c=&d").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y!".into()),
                ("c".into(), "".into()),
                ("d".into(), "".into())
            ]
        );
        assert!(form_pairs(b"a=%ff").is_none());
        assert!(form_pairs(b"a=%4").is_none());
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;");
    }

    #[test]
    fn only_checked_theme_values_are_used() {
        let theme = Theme::from_branding(&json!({"primary_color": "#AABBCC", "logo_url": "https://cdn.example/l.png"}));
        assert_eq!(theme.primary_color.as_deref(), Some("#aabbcc"));
        assert_eq!(theme.logo_url.as_deref(), Some("https://cdn.example/l.png"));
        let hostile = json!({"primary_color": "red;}body{display:none", "logo_url": "javascript:alert(1)"});
        assert_eq!(Theme::from_branding(&hostile), Theme::default());
        assert_eq!(Theme::errors(&hostile).len(), 2);
        assert!(Theme::errors(&json!({"primary_color": "#000000", "other": 1})).is_empty());
    }

    #[test]
    fn text_on_the_primary_colour_keeps_its_contrast() {
        let on = |c: &str| Theme { primary_color: Some(c.into()), logo_url: None }.on_primary();
        assert_eq!(on("#ffff00"), "#000000");
        assert_eq!(on("#1a237e"), "#ffffff");
        assert_eq!(on("#000000"), "#ffffff");
    }
}
