//! The dashboard's pages and forms. Forms answer `303 See Other` to the page
//! that shows the result; refusals are pages with the API's status (403, 404,
//! 409, 422 naming the field); no session is a redirect to sign-in.

mod catalog;
mod orders;
mod settings;
mod setup;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use minijinja::{context, Value};
use platform::{
    tenancy::TenantCtx,
    web::{self, CsrfRefused, Form},
};

use super::{
    control::Unavailable,
    forms::Fields,
    session::{self, Desk, HOME, REFRESH_COOKIE, SESSION_COOKIE},
    DashboardState,
};

/// Every dashboard route (the sign-in page needs no session; every other does).
pub fn router() -> Router<DashboardState> {
    Router::new()
        .route("/dashboard", get(home))
        .route("/dashboard/sign-in", get(sign_in_page).post(sign_in))
        .route("/dashboard/sign-out", post(sign_out))
        .route("/dashboard/products", get(catalog::products).post(catalog::create_product))
        .route("/dashboard/products/new", get(catalog::new_product))
        .route("/dashboard/products/{id}", get(catalog::product).post(catalog::update_product))
        .route("/dashboard/products/{id}/variants", post(catalog::add_variant))
        .route("/dashboard/products/{id}/variants/{variant_id}", post(catalog::update_variant))
        .route("/dashboard/products/{id}/images", post(catalog::upload_image).layer(catalog::upload_limit()))
        .route("/dashboard/inventory", get(catalog::inventory))
        .route("/dashboard/inventory/{variant_id}", post(catalog::set_stock))
        .route("/dashboard/orders", get(orders::orders))
        .route("/dashboard/orders/{id}", get(orders::order))
        .route("/dashboard/orders/{id}/fulfil", post(orders::fulfil))
        .route("/dashboard/orders/{id}/refund", post(orders::refund))
        .route("/dashboard/orders/{id}/cancel", post(orders::cancel))
        .route("/dashboard/customers", get(orders::customers))
        .route("/dashboard/setup/{resource}", get(setup::list).post(setup::create))
        .route("/dashboard/setup/{resource}/{id}/delete", post(setup::delete))
        .route("/dashboard/notifications", get(setup::templates))
        .route("/dashboard/notifications/{event}", get(setup::template).post(setup::save_template))
        .route("/dashboard/settings", get(settings::settings))
        .route("/dashboard/settings/staff", post(settings::add_staff))
        .route("/dashboard/settings/api-keys", post(settings::create_api_key))
        .route("/dashboard/settings/api-keys/{id}/revoke", post(settings::revoke_api_key))
        .route("/dashboard/settings/payments", post(settings::update_payments))
        .route("/dashboard/settings/domains", post(settings::add_domain))
        .route("/dashboard/settings/domains/{host}/verify", post(settings::verify_domain))
}

/// A form's fields after its CSRF check: a missing or wrong token is a 403
/// page before anything is called (a body that is not a form was already a
/// 400 page).
fn form(desk: &Desk, form: Form) -> Result<Fields, CsrfRefused> {
    let fields = Fields(form.0);
    desk.check_csrf(fields.csrf())?;
    Ok(fields)
}

/// The 422 page of a form whose fields could not be read.
fn invalid(desk: &Desk, errors: super::forms::Errors) -> Response {
    let errors = errors.0.into_iter().map(|(field, message)| context! { field, message }).collect();
    desk.error(StatusCode::UNPROCESSABLE_ENTITY, "Some fields need another value.", errors)
}

/// The items of an API list answer (`{"items": [...]}`).
fn items(list: &serde_json::Value) -> Value {
    platform::templates::data(list.get("items").unwrap_or(&serde_json::Value::Null))
}

/// `GET /dashboard`: recent orders and where to go.
async fn home(desk: Desk) -> Response {
    let recent = match desk.get("/admin/orders?limit=5").await {
        Ok(list) => list,
        Err(page) => return page,
    };
    desk.page("home.html", context! { nav => "home", orders => items(&recent) })
}

/// `GET /dashboard/sign-in`.
async fn sign_in_page(
    State(state): State<DashboardState>,
    TenantCtx(tenant): TenantCtx,
    headers: HeaderMap,
) -> Response {
    sign_in_form(&state, &tenant, &headers, StatusCode::OK, None, None)
}

fn sign_in_form(
    state: &DashboardState,
    tenant: &platform::tenancy::Tenant,
    headers: &HeaderMap,
    status: StatusCode,
    email: Option<&str>,
    error: Option<&str>,
) -> Response {
    let csrf = session::csrf(state, tenant, headers);
    session::render(
        state,
        headers,
        &csrf,
        status,
        "sign_in.html",
        context! { store => tenant.slug.clone(), email, error },
    )
}

/// `POST /dashboard/sign-in` with `email`, `password`: the control plane's
/// password grant for this store; on success the tokens go into `HttpOnly`
/// cookies and the visitor to the dashboard. A refusal shows the form again
/// (401) with no session cookie; a control plane that does not answer in
/// time is a 503 page.
async fn sign_in(
    State(state): State<DashboardState>,
    TenantCtx(tenant): TenantCtx,
    headers: HeaderMap,
    form: Form,
) -> Response {
    if let Err(refused) = session::check_csrf(&state, &tenant, &headers, form.get(web::CSRF_FIELD)) {
        return refused.into_response();
    }
    let (Some(email), Some(password)) = (form.text("email"), form.get("password").filter(|p| !p.is_empty())) else {
        let field = if form.text("email").is_none() { "email" } else { "password" };
        return sign_in_form(
            &state,
            &tenant,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            form.text("email"),
            Some(&format!("{field}: is required")),
        );
    };
    match state.control.sign_in(tenant.id, email, password).await {
        Ok(Some(tokens)) => {
            let mut response = web::see_other(HOME);
            session::set_cookie(&mut response, &state, SESSION_COOKIE, &tokens.access);
            if let Some(refresh) = &tokens.refresh {
                session::set_cookie(&mut response, &state, REFRESH_COOKIE, refresh);
            }
            response
        }
        Ok(None) => sign_in_form(
            &state,
            &tenant,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some(email),
            Some("That email and password do not sign in to this store."),
        ),
        Err(Unavailable) => session::control_unavailable(),
    }
}

/// `POST /dashboard/sign-out`: drops the session cookies.
async fn sign_out(desk: Desk, fields: Form) -> Response {
    if let Err(refused) = form(&desk, fields) {
        return refused.into_response();
    }
    session::signed_out(&desk.state)
}
