//! `/admin` pages and forms. Forms answer `303 See Other`; a refusal is a
//! page with the API's status; no session is a redirect to sign-in.

use axum::{
    body::Body,
    extract::{FromRequestParts, Path, Query, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, Method, Request, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use minijinja::{context, Value};
use platform::{
    http::REQUEST_ID,
    loopback::{encode, path_with, Answer, Call},
    templates::data,
    web::{self, Caching, Csrf, CsrfRefused, Form, CSRF_FIELD},
};
use serde_json::json;

use super::AdminPagesState;
use crate::identity::Principal;

/// The cookie holding the admin's access token.
const SESSION_COOKIE: &str = "admin_session";
/// The cookie holding the admin's refresh token (single use, rotated).
const REFRESH_COOKIE: &str = "admin_refresh";
/// The CSRF tokens' scope: the admin pages.
const CSRF_SCOPE: &str = "platform-admin";
const SIGN_IN: &str = "/admin/sign-in";

/// The sign-in form: apart from [`router`] so that start-up holds it to the
/// per-client sign-in limit, like `POST /v1/auth/token`.
pub fn sign_in_router() -> Router<AdminPagesState> {
    Router::new().route("/admin/sign-in", get(sign_in_page).post(sign_in))
}

/// Every other admin page, each renewing an expiring session first ([`renew`]).
pub fn router(state: AdminPagesState) -> Router {
    Router::new()
        .route("/admin", get(|| async { web::see_other("/admin/stores") }))
        .route("/admin/sign-out", post(sign_out))
        .route("/admin/stores", get(stores))
        .route("/admin/stores/{id}", get(store))
        .route("/admin/stores/{id}/suspend", post(suspend))
        .route("/admin/stores/{id}/resume", post(resume))
        .route("/admin/stores/{id}/plan", post(change_plan))
        .route("/admin/audit", get(audit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), renew))
        .with_state(state)
}

/// Middleware of every admin page but sign-in: renews a session whose access
/// token has expired (or will within a minute) with the refresh cookie,
/// through the API's refresh grant, before the page runs; the page then runs
/// with the new token and the browser gets the new cookies. A refused
/// refresh token (used before, revoked, expired) signs the admin out.
async fn renew(State(state): State<AdminPagesState>, mut request: Request<Body>, next: Next) -> Response {
    let Some(refresh) = web::refresh_due(request.headers(), SESSION_COOKIE, REFRESH_COOKIE) else {
        return next.run(request).await;
    };
    let body = json!({"grant_type": "refresh_token", "refresh_token": refresh});
    let answer = match token_grant(&state, request.headers(), &body).await {
        Ok(answer) => answer,
        Err(page) => return page,
    };
    if unavailable(&answer) {
        return unavailable_page(&answer);
    }
    let text = |name: &str| answer.body.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    let (Some(access), Some(refresh)) = (text("access_token"), text("refresh_token")) else {
        return signed_out(&state);
    };
    web::replace_request_cookies(request.headers_mut(), &[(SESSION_COOKIE, &access), (REFRESH_COOKIE, &refresh)]);
    let mut response = next.run(request).await;
    for (name, value) in [(SESSION_COOKIE, &access), (REFRESH_COOKIE, &refresh)] {
        response.headers_mut().append(header::SET_COOKIE, state.cookies.set(name, value, None));
    }
    response
}

/// A signed-in platform admin: the session's token passed the API's own
/// `Principal` check and carries the `platform_admin` role.
struct Console {
    state: AdminPagesState,
    token: String,
    headers: HeaderMap,
    csrf: Csrf,
}

impl FromRequestParts<AdminPagesState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AdminPagesState) -> Result<Self, Response> {
        let Some(token) = web::cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(web::see_other(SIGN_IN));
        };
        let (mut bearer, ()) = Request::builder()
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .map_err(|_| signed_out(state))?
            .into_parts();
        let principal = match Principal::from_request_parts(&mut bearer, state).await {
            Ok(principal) => principal,
            Err(problem) if problem.status() == StatusCode::UNAUTHORIZED => return Err(signed_out(state)),
            Err(problem) => return Err(problem.into_response()),
        };
        let csrf = state.page_key.csrf(CSRF_SCOPE, &parts.headers);
        let console = Self { state: state.clone(), token, headers: parts.headers.clone(), csrf };
        if !principal.is_platform_admin() {
            return Err(console.error(StatusCode::FORBIDDEN, "Only platform admins may use these pages.", Vec::new()));
        }
        Ok(console)
    }
}

impl Console {
    /// `call` through the API as this admin, with the page request's id (the
    /// audit entry's `request_id`).
    async fn send(&self, call: Call) -> Result<Answer, Response> {
        let mut call = call.bearer(&self.token);
        if let Some(id) = self.headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
            call = call.header(REQUEST_ID, id);
        }
        let answer = self.state.api.send(call).await.map_err(IntoResponse::into_response)?;
        if answer.is_success() {
            Ok(answer)
        } else if answer.status == StatusCode::UNAUTHORIZED {
            Err(signed_out(&self.state))
        } else {
            let errors =
                answer.field_errors().into_iter().map(|(field, message)| context! { field, message }).collect();
            Err(self.error(answer.status, &answer.detail(), errors))
        }
    }

    async fn get(&self, path: &str) -> Result<serde_json::Value, Response> {
        Ok(self.send(Call::get(path)).await?.body)
    }

    /// Checks a form's CSRF token before anything is called (403 page).
    fn check(&self, form: &Form) -> Result<(), CsrfRefused> {
        self.state.page_key.check_csrf(CSRF_SCOPE, &self.headers, form.get(CSRF_FIELD))
    }

    fn page(&self, name: &str, page: Value) -> Response {
        self.render(StatusCode::OK, name, page)
    }

    fn render(&self, status: StatusCode, name: &str, page: Value) -> Response {
        let context = context! { csrf => self.csrf.token(), csrf_field => CSRF_FIELD, signed_in => true, ..page };
        let mut response = render(&self.state, &self.headers, status, name, context);
        if let Some(cookie) = self.csrf.set_cookie(&self.state.cookies) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }

    fn error(&self, status: StatusCode, detail: &str, errors: Vec<Value>) -> Response {
        let title = status.canonical_reason().unwrap_or("Error");
        self.render(status, "error.html", context! { status => status.as_u16(), title, detail, errors })
    }
}

fn render(state: &AdminPagesState, headers: &HeaderMap, status: StatusCode, name: &str, context: Value) -> Response {
    match state.templates.render(name, context) {
        Ok(html) => web::page(headers, status, html, Caching::NoStore),
        Err(e) => {
            tracing::error!(error = %e, template = name, "admin page template failed");
            web::error_page(StatusCode::INTERNAL_SERVER_ERROR, "Error", "The page could not be rendered.")
        }
    }
}

/// A redirect to sign-in that drops the session's cookies.
fn signed_out(state: &AdminPagesState) -> Response {
    let mut response = web::see_other(SIGN_IN);
    for name in [SESSION_COOKIE, REFRESH_COOKIE] {
        response.headers_mut().append(header::SET_COOKIE, state.cookies.clear(name));
    }
    response
}

/// `GET /admin/sign-in`.
async fn sign_in_page(State(state): State<AdminPagesState>, headers: HeaderMap) -> Response {
    sign_in_form(&state, &headers, StatusCode::OK, None, None)
}

fn sign_in_form(
    state: &AdminPagesState,
    headers: &HeaderMap,
    status: StatusCode,
    email: Option<&str>,
    error: Option<&str>,
) -> Response {
    let csrf = state.page_key.csrf(CSRF_SCOPE, headers);
    let context = context! { csrf => csrf.token(), csrf_field => CSRF_FIELD, email, error };
    let mut response = render(state, headers, status, "sign_in.html", context);
    if let Some(cookie) = csrf.set_cookie(&state.cookies) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `POST /admin/sign-in` with `email`, `password`: the API's password grant;
/// the token goes into an `HttpOnly` cookie. A refusal shows the form again
/// (401) and sets no session cookie.
async fn sign_in(State(state): State<AdminPagesState>, headers: HeaderMap, form: Form) -> Response {
    if let Err(refused) = state.page_key.check_csrf(CSRF_SCOPE, &headers, form.get(CSRF_FIELD)) {
        return refused.into_response();
    }
    let email = form.text("email").unwrap_or_default();
    let body = json!({"grant_type": "password", "email": email, "password": form.get("password").unwrap_or_default()});
    let answer = match token_grant(&state, &headers, &body).await {
        Ok(answer) => answer,
        Err(page) => return page,
    };
    match answer.body.get("access_token").and_then(serde_json::Value::as_str) {
        Some(token) if answer.is_success() => {
            let mut response = web::see_other("/admin/stores");
            response.headers_mut().append(header::SET_COOKIE, state.cookies.set(SESSION_COOKIE, token, None));
            if let Some(refresh) = answer.body.get("refresh_token").and_then(serde_json::Value::as_str) {
                response.headers_mut().append(header::SET_COOKIE, state.cookies.set(REFRESH_COOKIE, refresh, None));
            }
            response
        }
        _ if unavailable(&answer) => unavailable_page(&answer),
        _ => sign_in_form(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some(email),
            Some("That email and password do not sign in."),
        ),
    }
}

/// `POST /v1/auth/token` in process with `body` (a password or refresh
/// grant), under the page request's id.
async fn token_grant(
    state: &AdminPagesState,
    headers: &HeaderMap,
    body: &serde_json::Value,
) -> Result<Answer, Response> {
    let mut call = Call::post("/v1/auth/token", body);
    if let Some(id) = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        call = call.header(REQUEST_ID, id);
    }
    state.api.send(call).await.map_err(IntoResponse::into_response)
}

/// A grant the API could not decide now (down, or over its sign-in limit).
fn unavailable(answer: &Answer) -> bool {
    answer.status.is_server_error() || answer.status == StatusCode::TOO_MANY_REQUESTS
}

/// The page of an [`unavailable`] grant, with the API's `Retry-After`.
fn unavailable_page(answer: &Answer) -> Response {
    let mut page = web::error_page(answer.status, "Unavailable", &answer.detail());
    if let Some(retry) = answer.body.get("retry_after").and_then(serde_json::Value::as_u64) {
        page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry));
    }
    page
}

/// `POST /admin/sign-out`.
async fn sign_out(console: Console, form: Form) -> Response {
    if let Err(refused) = console.check(&form) {
        return refused.into_response();
    }
    signed_out(&console.state)
}

#[derive(serde::Deserialize)]
struct StoresQuery {
    q: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
}

/// `GET /admin/stores?q=&status=&cursor=`.
async fn stores(console: Console, Query(query): Query<StoresQuery>) -> Response {
    let mut params = vec![("limit", "50".to_owned())];
    for (name, value) in [("q", &query.q), ("status", &query.status), ("cursor", &query.cursor)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            params.push((name, value.to_owned()));
        }
    }
    let list = match console.get(&path_with("/v1/tenants", &params)).await {
        Ok(list) => list,
        Err(page) => return page,
    };
    console.page(
        "stores.html",
        context! { nav => "stores", stores => data(&list["items"]), next_cursor => data(&list["next_cursor"]),
        q => query.q, status => query.status },
    )
}

/// `GET /admin/stores/{id}`: the store, its actions and its audit entries.
async fn store(console: Console, Path(id): Path<String>) -> Response {
    let id = encode(&id);
    let (store_path, audit_path) = (format!("/v1/tenants/{id}"), format!("/v1/audit-log?tenant_id={id}&limit=50"));
    let (store, plans, entries) =
        match tokio::try_join!(console.get(&store_path), console.get("/v1/plans"), console.get(&audit_path)) {
            Ok(found) => found,
            Err(page) => return page,
        };
    let plans = plans.get("items").cloned().unwrap_or(plans);
    console.page(
        "store.html",
        context! { nav => "stores", store => data(&store), plans => data(&plans), entries => audit_entries(&entries) },
    )
}

/// `POST /admin/stores/{id}/suspend`.
async fn suspend(console: Console, Path(id): Path<String>, form: Form) -> Response {
    transition(console, &id, "suspend", form).await
}

/// `POST /admin/stores/{id}/resume`.
async fn resume(console: Console, Path(id): Path<String>, form: Form) -> Response {
    transition(console, &id, "resume", form).await
}

async fn transition(console: Console, id: &str, action: &str, form: Form) -> Response {
    if let Err(refused) = console.check(&form) {
        return refused.into_response();
    }
    let id = encode(id);
    match console.send(Call::new(Method::POST, &format!("/v1/tenants/{id}/{action}"))).await {
        Ok(_) => web::see_other(&format!("/admin/stores/{id}")),
        Err(page) => page,
    }
}

/// `POST /admin/stores/{id}/plan` with `plan`.
async fn change_plan(console: Console, Path(id): Path<String>, form: Form) -> Response {
    if let Err(refused) = console.check(&form) {
        return refused.into_response();
    }
    let id = encode(&id);
    let body = json!({"plan": form.text("plan").unwrap_or_default()});
    match console.send(Call::new(Method::PATCH, &format!("/v1/tenants/{id}")).json(&body)).await {
        Ok(_) => web::see_other(&format!("/admin/stores/{id}")),
        Err(page) => page,
    }
}

#[derive(serde::Deserialize)]
struct AuditQuery {
    tenant_id: Option<String>,
    cursor: Option<String>,
}

/// `GET /admin/audit?tenant_id=&cursor=`: the audit log, newest first.
async fn audit(console: Console, Query(query): Query<AuditQuery>) -> Response {
    let mut params = vec![("limit", "50".to_owned())];
    for (name, value) in [("tenant_id", &query.tenant_id), ("cursor", &query.cursor)] {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            params.push((name, value.to_owned()));
        }
    }
    let list = match console.get(&path_with("/v1/audit-log", &params)).await {
        Ok(list) => list,
        Err(page) => return page,
    };
    console.page(
        "audit.html",
        context! { nav => "audit", entries => audit_entries(&list), next_cursor => data(&list["next_cursor"]),
        tenant_id => query.tenant_id },
    )
}

/// An audit list's entries with their before and after as text.
fn audit_entries(list: &serde_json::Value) -> Value {
    let entries: Vec<serde_json::Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            let mut entry = entry.clone();
            for (key, text) in [("before", "before_text"), ("after", "after_text")] {
                if !entry[key].is_null() {
                    entry[text] = json!(entry[key].to_string());
                }
            }
            entry
        })
        .collect();
    data(entries)
}
