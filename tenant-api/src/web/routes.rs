//! Page routes and what every page handler shares: the [`Visit`] (the store,
//! its name and theme, the request's cookies), rendering into a response with
//! the right cookies and caching, and the storefront cache for anonymous pages.

mod account;
mod browse;
mod buy;
mod openapi;

pub(crate) use openapi::doc;

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode},
    response::Response,
    routing::{get, post},
    Router,
};
use platform::{
    auth::CustomerPrincipal,
    problem::{FieldError, Problem},
    tenancy::{Tenant, TenantCtx},
    web::{self, cookie, Caching, Csrf, Form},
};
use serde::Serialize;

use super::{
    model::StoreFront,
    render::{self, Layout, ShopperNav, CSRF_SLOT},
    Error, WebState,
};
use crate::{cart::model::CartId, customers::model::CustomerId};

/// Cookie holding the shopper's cart id (a guest cart's id is its capability).
const CART_COOKIE: &str = "cart";
/// Cookie holding a signed-in shopper's access token.
const SESSION_COOKIE: &str = "session";
/// Cookie holding a signed-in shopper's refresh token (renews the session).
const REFRESH_COOKIE: &str = "refresh";

/// What pages send besides their own markup: scripts only from this host and
/// Stripe's, no framing, forms only to this host.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' https: data:; \
     script-src 'self' https://js.stripe.com; frame-src https://js.stripe.com; connect-src 'self' https://api.stripe.com; \
     style-src 'self' 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The pages' routes. None collides with the JSON API (`/store`, `/admin`,
/// `/media`, `/webhooks`) or the health and document routes.
pub fn router() -> Router<WebState> {
    Router::new()
        .route("/", get(browse::home))
        .route("/products/{handle}", get(browse::product))
        .route("/search", get(browse::search))
        .route("/categories/{handle}", get(browse::category))
        .route("/collections/{handle}", get(browse::collection))
        .route("/assets/{file}", get(browse::asset))
        .route("/cart", get(buy::cart))
        .route("/cart/items", post(buy::add_item))
        .route("/cart/items/{item_id}", post(buy::update_item))
        .route("/checkout", get(buy::checkout).post(buy::place_order))
        .route("/orders/{id}", get(buy::order))
        .route("/sign-in", get(account::sign_in_page).post(account::sign_in))
        .route("/sign-up", get(account::sign_up_page).post(account::sign_up))
        .route("/sign-out", post(account::sign_out))
        .route("/account", get(account::account))
        .route("/password-reset", get(account::reset_page).post(account::request_reset))
        .route("/password-reset/confirm", post(account::confirm_reset))
}

/// A page request: the pages' state, the resolved store with its name and
/// theme, and the request's headers (cookies, `If-None-Match`).
pub(super) struct Visit {
    state: WebState,
    tenant: Arc<Tenant>,
    front: Arc<StoreFront>,
    headers: HeaderMap,
}

impl FromRequestParts<WebState> for Visit {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Error> {
        let TenantCtx(tenant) = TenantCtx::from_request_parts(parts, state).await?;
        let front = state
            .stores
            .get(tenant.id)
            .await?
            .ok_or_else(|| Problem::not_found("store-not-found", "No store answers on this host."))?;
        Ok(Self { state: state.clone(), tenant, front, headers: parts.headers.clone() })
    }
}

/// A signed-in shopper (or a guest), and the cookies a renewed session sets.
pub(super) struct Session {
    pub customer: Option<CustomerId>,
    cookies: Vec<HeaderValue>,
}

impl Visit {
    /// The CSRF scope: tokens of one store are worthless on another.
    fn scope(&self) -> String {
        self.tenant.id.to_string()
    }

    /// The shopper's CSRF token (new, with its cookie, if they have none).
    pub fn csrf(&self) -> Csrf {
        self.state.key.csrf(&self.scope(), &self.headers)
    }

    /// Refuses a form without the token of this shopper and store (`403`);
    /// called before anything else of the form is read.
    pub fn check_csrf(&self, form: &Form) -> Result<(), Error> {
        Ok(self.state.key.check_csrf(&self.scope(), &self.headers, form.get(web::CSRF_FIELD))?)
    }

    /// The cart named by the cart cookie, if it can name one.
    pub fn cart_id(&self) -> Option<CartId> {
        cookie(&self.headers, CART_COOKIE).and_then(CartId::parse)
    }

    /// The signed-in shopper from the session cookie; an expired session is
    /// renewed with the refresh cookie (single use, rotated), whose new
    /// cookies the response must set ([`Visit::respond_with`]).
    pub async fn session(&self) -> Result<Session, Error> {
        let tenant = self.tenant.id;
        if let Some(token) = cookie(&self.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) {
            if let Some(principal) = CustomerPrincipal::from_token(&self.state.auth, token, tenant).await? {
                let customer = Some(CustomerId::from_uuid(principal.customer_id));
                return Ok(Session { customer, cookies: Vec::new() });
            }
        }
        let Some(refresh) = cookie(&self.headers, REFRESH_COOKIE).filter(|t| !t.is_empty()) else {
            return Ok(Session { customer: None, cookies: Vec::new() });
        };
        match crate::customers::service::refresh(&self.state.customers, &self.tenant, refresh).await {
            Ok(pair) => Ok(Session { customer: Some(pair.customer_id), cookies: self.session_cookies(&pair) }),
            // A used or revoked refresh token signs the shopper out.
            Err(crate::customers::Error::InvalidGrant) => {
                let cookies = vec![self.clear_cookie(SESSION_COOKIE), self.clear_cookie(REFRESH_COOKIE)];
                Ok(Session { customer: None, cookies })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `Set-Cookie` values of a new session.
    fn session_cookies(&self, pair: &crate::customers::model::TokenPair) -> Vec<HeaderValue> {
        let tokens = self.state.customers.tokens;
        vec![
            self.state.cookies.set(SESSION_COOKIE, &pair.access_token, Some(pair.expires_in)),
            self.state.cookies.set(REFRESH_COOKIE, &pair.refresh_token, Some(tokens.refresh)),
        ]
    }

    fn cart_cookie(&self, cart: &CartId, customer: bool) -> HeaderValue {
        let ttls = self.state.cart.ttls;
        self.state.cookies.set(CART_COOKIE, cart.as_ref(), Some(if customer { ttls.customer } else { ttls.guest }))
    }

    fn clear_cookie(&self, name: &str) -> HeaderValue {
        self.state.cookies.clear(name)
    }

    /// The header's shopper part: signed in or not, and the cart's units.
    pub async fn nav(&self, session: &Session, cart_count: i32) -> Result<ShopperNav, Error> {
        let Some(customer) = session.customer else { return Ok(ShopperNav { cart_count, ..ShopperNav::default() }) };
        let mut tx = self.state.customers.db.tenant_tx(&self.tenant).await?;
        let found = crate::customers::service::customer(&mut tx, customer).await?;
        drop(tx);
        let name = found.first_name.filter(|n| !n.trim().is_empty()).unwrap_or(found.email);
        Ok(ShopperNav { signed_in: true, name: Some(name), cart_count })
    }

    /// Renders `template` into its HTML.
    pub fn render(
        &self,
        template: &str,
        title: impl Into<String>,
        csrf: &str,
        shopper: Option<ShopperNav>,
        page: impl Serialize,
    ) -> Result<String, Error> {
        let layout = Layout { store: &self.front, csrf, shopper, title: title.into() };
        Ok(render::render(template, layout, page)?)
    }

    /// A rendered page with its status, the CSRF cookie when new, and the
    /// given cookies.
    pub fn respond_with(
        &self,
        status: StatusCode,
        html: impl Into<Bytes>,
        csrf: &Csrf,
        caching: Caching,
        cookies: impl IntoIterator<Item = HeaderValue>,
    ) -> Response {
        let mut response = web::page(&self.headers, status, html, caching);
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        for value in csrf.set_cookie(&self.state.cookies).into_iter().chain(cookies) {
            headers.append(header::SET_COOKIE, value);
        }
        response
    }

    /// A personal page (never cached anywhere but the shopper's browser).
    pub fn respond(&self, status: StatusCode, html: String, csrf: &Csrf, session: Session) -> Response {
        self.respond_with(status, html, csrf, Caching::Revalidate, session.cookies)
    }

    /// An anonymous page through the storefront cache: rendered once per
    /// store and catalog generation under `key` (with [`CSRF_SLOT`] for the
    /// token), then given the shopper's token per response.
    pub async fn cached<F>(&self, key: String, load: F) -> Result<Response, Error>
    where
        F: std::future::Future<Output = Result<String, Error>>,
    {
        let cache = &self.state.catalog.storefront_cache;
        let body = cache.get_or_load(self.tenant.id, key, async { load.await.map(Bytes::from) }).await?;
        let csrf = self.csrf();
        let html = String::from_utf8_lossy(&body).replace(CSRF_SLOT, csrf.token());
        Ok(self.respond_with(StatusCode::OK, html, &csrf, Caching::Revalidate, None))
    }
}

/// `303` to `location`, setting `cookies`.
fn see_other(location: &str, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
    let mut response = web::see_other(location);
    for value in cookies {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A field error as a page lists it: the form field's id (for the link), a
/// label and the message.
#[derive(Serialize)]
struct PageError {
    field: String,
    label: String,
    message: String,
}

/// Field errors of a service (named as the JSON API names them) as the form
/// names them: `shipping_address.city` → `city`, `payment.token` →
/// `payment_token`.
fn page_errors(errors: &[FieldError]) -> Vec<PageError> {
    errors
        .iter()
        .map(|e| {
            let field = match e.field.as_str() {
                "payment.token" | "payment.provider" => "payment_token".to_owned(),
                other => other.strip_prefix("shipping_address.").unwrap_or(other).to_owned(),
            };
            let label = match field.as_str() {
                "line1" => "Address".to_owned(),
                "postal_code" => "Postal code".to_owned(),
                "payment_token" => "Payment".to_owned(),
                "variant_id" => "Option".to_owned(),
                other => {
                    let mut chars = other.replace('_', " ").chars().collect::<Vec<_>>();
                    if let Some(first) = chars.first_mut() {
                        *first = first.to_ascii_uppercase();
                    }
                    chars.into_iter().collect()
                }
            };
            PageError { field, label, message: e.message.clone() }
        })
        .collect()
}

/// The field errors of a problem body (`errors: [{field, message}]`).
fn problem_errors(body: &serde_json::Value) -> Vec<FieldError> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or_default().to_owned();
            FieldError::new(text("field"), text("message"))
        })
        .collect()
}
