//! Who is at the dashboard: [`Desk`], a signed-in staff member of the
//! resolved store (their token from the session cookie), with the calls a page
//! makes to the API on their behalf and the pages it answers with.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use minijinja::{context, Value};
use platform::{
    http::REQUEST_ID,
    loopback::{Answer, Call},
    tenancy::{Tenant, TenantCtx},
    web::{self, Caching, Csrf, CsrfRefused, CSRF_FIELD},
};

use super::{control::Unavailable, DashboardState};

/// The cookie holding the staff member's access token.
pub const SESSION_COOKIE: &str = "dashboard_session";
/// The cookie holding their refresh token.
pub const REFRESH_COOKIE: &str = "dashboard_refresh";
/// The dashboard's home.
pub const HOME: &str = "/dashboard";
/// Where a visitor without a session goes.
pub const SIGN_IN: &str = "/dashboard/sign-in";

/// A signed-in staff member of the resolved store, as far as the cookie says:
/// the API verifies the token on every call (a token of another store, an
/// expired or forged one is its 401, and the page sends them to sign in).
pub struct Desk {
    pub state: DashboardState,
    pub tenant: Arc<Tenant>,
    token: String,
    /// The page request's headers: the API reads `Host` (media upload URLs
    /// are on the store's host), `X-Forwarded-Proto` and the request id; the
    /// CSRF check reads the cookie; `If-None-Match` for pages.
    headers: HeaderMap,
    peer: Option<ConnectInfo<SocketAddr>>,
    /// The form token every form of the page carries.
    csrf: Csrf,
}

impl<S> FromRequestParts<S> for Desk
where
    DashboardState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let TenantCtx(tenant) =
            TenantCtx::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let token = web::cookie(&parts.headers, SESSION_COOKIE).ok_or_else(|| web::see_other(SIGN_IN))?.to_owned();
        let state = DashboardState::from_ref(state);
        let csrf = state.page_key.csrf(&csrf_scope(&tenant), &parts.headers);
        Ok(Self {
            state,
            tenant,
            token,
            headers: parts.headers.clone(),
            peer: parts.extensions.get::<ConnectInfo<SocketAddr>>().cloned(),
            csrf,
        })
    }
}

impl Desk {
    /// The staff member's access token, for the control plane's API.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `call` through the store's API as this staff member.
    pub async fn send(&self, call: Call) -> Result<Answer, Response> {
        let mut call = call.bearer(&self.token).extension(TenantCtx(self.tenant.clone()));
        for name in [header::HOST, HeaderName::from_static("x-forwarded-proto"), REQUEST_ID] {
            if let Some(value) = self.headers.get(&name).and_then(|v| v.to_str().ok()) {
                call = call.header(name, value);
            }
        }
        if let Some(peer) = self.peer {
            call = call.extension(peer);
        }
        self.state.api.send(call).await.map_err(IntoResponse::into_response)
    }

    /// A 2xx answer's body, or the page of what went wrong.
    pub async fn fetch(&self, call: Call) -> Result<serde_json::Value, Response> {
        let answer = self.send(call).await?;
        if answer.is_success() {
            Ok(answer.body)
        } else {
            Err(self.failure(&answer))
        }
    }

    /// `GET path` of the API: its body, or the page of what went wrong.
    pub async fn get(&self, path: &str) -> Result<serde_json::Value, Response> {
        self.fetch(Call::get(path)).await
    }

    /// `POST path` with `body`: its answer, or the page of what went wrong.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value, Response> {
        self.fetch(Call::post(path, body)).await
    }

    /// `method path` of the control plane with this staff member's token.
    pub async fn control(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, Response> {
        let answer = self
            .state
            .control
            .call(method, path, Some(&self.token), body)
            .await
            .map_err(|Unavailable| self.unavailable())?;
        if answer.is_success() {
            Ok(answer.body)
        } else {
            Err(self.failure(&answer))
        }
    }

    /// The page of a refused call: no valid session (401) signs the visitor
    /// out; any other problem is shown with its status, detail and fields.
    pub fn failure(&self, answer: &Answer) -> Response {
        if answer.status == StatusCode::UNAUTHORIZED {
            return signed_out(&self.state);
        }
        let errors: Vec<Value> =
            answer.field_errors().into_iter().map(|(field, message)| context! { field, message }).collect();
        self.error(answer.status, &answer.detail(), errors)
    }

    /// An error page.
    pub fn error(&self, status: StatusCode, detail: &str, errors: Vec<Value>) -> Response {
        let title = status.canonical_reason().unwrap_or("Error");
        self.render(status, "error.html", context! { status => status.as_u16(), title, detail, errors })
    }

    /// The 503 page of a control plane that did not answer.
    pub fn unavailable(&self) -> Response {
        control_unavailable()
    }

    /// `name` rendered with `page`, plus what every page shows: the store and
    /// the form token.
    pub fn page(&self, name: &str, page: Value) -> Response {
        self.render(StatusCode::OK, name, page)
    }

    /// [`Self::page`] with another status.
    pub fn render(&self, status: StatusCode, name: &str, page: Value) -> Response {
        let context = context! { store => self.tenant.slug.clone(), currency => self.tenant.currency.as_str(),
        signed_in => true, ..page };
        render(&self.state, &self.headers, &self.csrf, status, name, context)
    }

    /// Refuses a form whose CSRF token is missing or wrong (403 page), before
    /// anything is read or written.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), CsrfRefused> {
        check_csrf(&self.state, &self.tenant, &self.headers, submitted)
    }
}

/// The CSRF scope of a store's pages: the store (its forms are no good on another store's host).
fn csrf_scope(tenant: &Tenant) -> String {
    tenant.id.to_string()
}

/// The form token of a visitor of `tenant`'s dashboard, signed in or not.
pub fn csrf(state: &DashboardState, tenant: &Tenant, headers: &HeaderMap) -> Csrf {
    state.page_key.csrf(&csrf_scope(tenant), headers)
}

/// Refused (a 403 page) unless `submitted` is the visitor's form token for `tenant`.
pub fn check_csrf(
    state: &DashboardState,
    tenant: &Tenant,
    headers: &HeaderMap,
    submitted: Option<&str>,
) -> Result<(), CsrfRefused> {
    state.page_key.check_csrf(&csrf_scope(tenant), headers, submitted)
}

/// Template `name` as a page that is never cached, with the form token (and
/// its cookie when new).
pub fn render(
    state: &DashboardState,
    headers: &HeaderMap,
    csrf: &Csrf,
    status: StatusCode,
    name: &str,
    context: Value,
) -> Response {
    let context = context! { csrf => csrf.token(), csrf_field => CSRF_FIELD, ..context };
    let mut response = match state.templates.render(name, context) {
        Ok(html) => web::page(headers, status, html, Caching::NoStore),
        Err(e) => {
            tracing::error!(error = %e, template = name, "dashboard template failed");
            return web::error_page(StatusCode::INTERNAL_SERVER_ERROR, "Error", "The page could not be rendered.");
        }
    };
    if let Some(cookie) = csrf.set_cookie(&state.cookies) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// An error page for a visitor who may not be signed in.
pub fn error_page(status: StatusCode, detail: &str) -> Response {
    web::error_page(status, status.canonical_reason().unwrap_or("Error"), detail)
}

/// The 503 page of a control plane that did not answer.
pub fn control_unavailable() -> Response {
    let mut response = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The platform's sign-in service did not answer; try again in a moment.",
    );
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// A redirect to the sign-in page that drops the session cookies.
pub fn signed_out(state: &DashboardState) -> Response {
    let mut response = web::see_other(SIGN_IN);
    for name in [SESSION_COOKIE, REFRESH_COOKIE] {
        response.headers_mut().append(header::SET_COOKIE, state.cookies.clear(name));
    }
    response
}

/// Sets a session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` outside
/// development; for the browser session).
pub fn set_cookie(response: &mut Response, state: &DashboardState, name: &str, value: &str) {
    response.headers_mut().append(header::SET_COOKIE, state.cookies.set(name, value, None));
}

/// Middleware of every dashboard route: renews a session whose access token
/// has expired (or will within a minute) with the refresh cookie, through the
/// control plane's refresh grant, before the page runs; the page then calls
/// the API with the new token and the browser gets the new cookies. A refused
/// refresh token signs the visitor out; a control plane that does not answer
/// is a 503 page. The token's `exp` is read unverified, only to decide whether
/// to renew: the API verifies every token it is given.
pub async fn renew(State(state): State<DashboardState>, mut request: Request, next: Next) -> Response {
    let Some(refresh) = web::refresh_due(request.headers(), SESSION_COOKIE, REFRESH_COOKIE) else {
        return next.run(request).await;
    };
    let tokens = match state.control.refresh(refresh).await {
        Ok(Some(tokens)) => tokens,
        Ok(None) => return signed_out(&state),
        Err(Unavailable) => return control_unavailable(),
    };
    let refresh = tokens.refresh.as_deref().unwrap_or(refresh).to_owned();
    // The page's own request carries the new pair (and every other cookie as it was).
    web::replace_request_cookies(
        request.headers_mut(),
        &[(SESSION_COOKIE, tokens.access.as_str()), (REFRESH_COOKIE, refresh.as_str())],
    );
    let mut response = next.run(request).await;
    set_cookie(&mut response, &state, SESSION_COOKIE, &tokens.access);
    set_cookie(&mut response, &state, REFRESH_COOKIE, &refresh);
    response
}
