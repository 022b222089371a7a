//! Shopper accounts: sign-in, sign-up, sign-out, the account with its
//! orders, and password reset (the emailed link opens `/password-reset?token=`).

use axum::{extract::Query, http::StatusCode, response::Response};
use platform::{problem::FieldError, web::Form};
use serde::Deserialize;

use super::{
    buy::order_key, page_errors, see_other, Error, Session, Visit, CART_COOKIE, REFRESH_COOKIE, SESSION_COOKIE,
};
use crate::{
    customers::{
        self,
        model::{Email, NewCustomer, Password, TokenPair},
    },
    orders::model::OrderFilter,
};

/// How many orders the account page lists (newest first).
const ORDERS_SHOWN: i64 = 50;

impl Visit {
    /// A form page of the account area with what was typed and its errors.
    async fn account_form(
        &self,
        template: &str,
        title: &str,
        session: Session,
        status: StatusCode,
        page: serde_json::Value,
    ) -> Result<Response, Error> {
        let nav = self.nav(&session, 0).await?;
        let csrf = self.csrf();
        let html = self.render(template, title, csrf.token(), Some(nav), page)?;
        Ok(self.respond(status, html, &csrf, session))
    }

    /// Signs the shopper in with `pair`: the session cookies, and the guest
    /// cart adopted (or merged into the customer's) as the cart cookie.
    async fn signed_in(&self, pair: TokenPair) -> Result<Response, Error> {
        let guest = self.cart_id();
        let cart =
            crate::cart::service::adopt_on_sign_in(&self.state.cart, &self.tenant, pair.customer_id, guest.as_ref())
                .await?;
        let mut cookies = self.session_cookies(&pair);
        match cart {
            Some(cart) => cookies.push(self.cart_cookie(&cart, true)),
            None => cookies.push(self.clear_cookie(CART_COOKIE)),
        }
        Ok(see_other("/account", cookies))
    }
}

/// `GET /sign-in`.
pub(super) async fn sign_in_page(visit: Visit) -> Result<Response, Error> {
    let session = visit.session().await?;
    if session.customer.is_some() {
        return Ok(see_other("/account", session.cookies));
    }
    let page = serde_json::json!({"form": {}});
    visit.account_form("sign_in.html", "Sign in", session, StatusCode::OK, page).await
}

/// `POST /sign-in` (`email`, `password`) → `303` to `/account`; wrong
/// credentials are the form again with `401`.
pub(super) async fn sign_in(visit: Visit, form: Form) -> Result<Response, Error> {
    visit.check_csrf(&form)?;
    let email = form.text("email").unwrap_or_default().to_owned();
    let password = form.get("password").unwrap_or_default();
    match customers::service::sign_in(&visit.state.customers, &visit.tenant, &email, password).await {
        Ok(pair) => visit.signed_in(pair).await,
        Err(customers::Error::InvalidGrant) => {
            let session = Session { customer: None, cookies: Vec::new() };
            let errors = page_errors(&[FieldError::new("email", "the email or the password is not right")]);
            let page = serde_json::json!({"form": {"email": email}, "errors": errors});
            visit.account_form("sign_in.html", "Sign in", session, StatusCode::UNAUTHORIZED, page).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /sign-up`.
pub(super) async fn sign_up_page(visit: Visit) -> Result<Response, Error> {
    let session = visit.session().await?;
    let page = serde_json::json!({"form": {}});
    visit.account_form("sign_up.html", "Create an account", session, StatusCode::OK, page).await
}

/// `POST /sign-up` (`email`, `password`, `first_name`?, `last_name`?) →
/// the account, signed in; bad input is the form again with `422`, an
/// email in use `409`.
pub(super) async fn sign_up(visit: Visit, form: Form) -> Result<Response, Error> {
    visit.check_csrf(&form)?;
    let mut errors = Vec::new();
    let email =
        Email::parse(form.get("email").unwrap_or_default()).map_err(|e| errors.push(FieldError::new("email", e)));
    let password = Password::parse(form.get("password").unwrap_or_default())
        .map_err(|e| errors.push(FieldError::new("password", e)));
    let text = |name| form.text(name).map(str::to_owned);
    let typed =
        serde_json::json!({"email": text("email"), "first_name": text("first_name"), "last_name": text("last_name")});
    let refuse = |status, errors: Vec<FieldError>| {
        let invalid: serde_json::Map<_, _> = errors.iter().map(|e| (e.field.clone(), true.into())).collect();
        serde_json::json!({"form": typed, "errors": page_errors(&errors), "invalid": invalid, "status": status})
    };
    let (Ok(email), Ok(password)) = (email, password) else {
        let session = Session { customer: None, cookies: Vec::new() };
        let page = refuse(422, errors);
        return visit
            .account_form("sign_up.html", "Create an account", session, StatusCode::UNPROCESSABLE_ENTITY, page)
            .await;
    };
    let secret = password.expose().to_owned();
    let new =
        NewCustomer { email: email.clone(), password, first_name: text("first_name"), last_name: text("last_name") };
    match customers::service::register(&visit.state.customers, &visit.tenant, new).await {
        Ok(_) => {}
        Err(customers::Error::EmailTaken) => {
            let session = Session { customer: None, cookies: Vec::new() };
            let page = refuse(409, vec![FieldError::new("email", "is already registered; sign in instead")]);
            return visit.account_form("sign_up.html", "Create an account", session, StatusCode::CONFLICT, page).await;
        }
        Err(e) => return Err(e.into()),
    }
    let pair = customers::service::sign_in(&visit.state.customers, &visit.tenant, email.as_ref(), &secret).await?;
    visit.signed_in(pair).await
}

/// `POST /sign-out` → `303` to `/`, without the session and cart cookies.
pub(super) async fn sign_out(visit: Visit, form: Form) -> Result<Response, Error> {
    visit.check_csrf(&form)?;
    let cookies = [SESSION_COOKIE, REFRESH_COOKIE, CART_COOKIE].map(|name| visit.clear_cookie(name));
    Ok(see_other("/", cookies))
}

/// `GET /account`: who is signed in and their orders; a guest goes to `/sign-in`.
pub(super) async fn account(visit: Visit) -> Result<Response, Error> {
    let session = visit.session().await?;
    let Some(customer) = session.customer else { return Ok(see_other("/sign-in", session.cookies)) };
    let mut tx = visit.state.customers.db.tenant_tx(&visit.tenant).await?;
    let found = customers::service::customer(&mut tx, customer).await?;
    let filter = OrderFilter { customer: Some(customer), ..OrderFilter::default() };
    let page = platform::extract::Page { limit: ORDERS_SHOWN, after: None };
    let orders = crate::orders::service::list(&mut tx, &filter, page).await?;
    drop(tx);
    let orders: Vec<_> = orders
        .into_iter()
        .map(|o| {
            serde_json::json!({
                "number": o.number,
                "id": o.id.to_string(),
                "key": order_key(&visit, o.id),
                "date": o.created_at.format("%Y-%m-%d").to_string(),
                "status": o.status.as_str().replace('_', " "),
                "total": o.money(o.totals.total).to_string(),
            })
        })
        .collect();
    let page = serde_json::json!({"email": found.email, "orders": orders});
    visit.account_form("account.html", "Your account", session, StatusCode::OK, page).await
}

#[derive(Deserialize)]
pub(super) struct ResetQuery {
    token: Option<String>,
    sent: Option<String>,
}

/// `GET /password-reset`: the request form; `?token=` (the emailed link):
/// the new password form; `?sent=1`: the request was taken.
pub(super) async fn reset_page(visit: Visit, Query(query): Query<ResetQuery>) -> Result<Response, Error> {
    let session = visit.session().await?;
    let token = query.token.filter(|t| !t.is_empty() && t.len() <= 200);
    let sent = query.sent.is_some();
    let notice = sent.then_some("If an account uses that email, a link to reset its password is on its way.");
    let page = serde_json::json!({"token": token, "sent": sent, "notice": notice});
    visit.account_form("password_reset.html", "Reset your password", session, StatusCode::OK, page).await
}

/// `POST /password-reset` (`email`) → `303` to `/password-reset?sent=1`,
/// whether or not an account uses the email (no account enumeration).
pub(super) async fn request_reset(visit: Visit, form: Form) -> Result<Response, Error> {
    visit.check_csrf(&form)?;
    let email = match Email::parse(form.get("email").unwrap_or_default()) {
        Ok(email) => email,
        Err(e) => {
            let session = Session { customer: None, cookies: Vec::new() };
            let page = serde_json::json!({"errors": page_errors(&[FieldError::new("email", e)])});
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return visit.account_form("password_reset.html", "Reset your password", session, status, page).await;
        }
    };
    customers::service::request_password_reset(&visit.state.customers, &visit.tenant, &email).await?;
    Ok(see_other("/password-reset?sent=1", None))
}

/// `POST /password-reset/confirm` (`token`, `password`) → `303` to
/// `/sign-in`; a used, expired or unknown token, or a weak password, is the
/// form again with `422` naming it.
pub(super) async fn confirm_reset(visit: Visit, form: Form) -> Result<Response, Error> {
    visit.check_csrf(&form)?;
    let token = form.text("token").unwrap_or_default().to_owned();
    let refuse = |error: FieldError| {
        let session = Session { customer: None, cookies: Vec::new() };
        let page = serde_json::json!({"token": token, "errors": page_errors(&[error])});
        (session, page)
    };
    let password = match Password::parse(form.get("password").unwrap_or_default()) {
        Ok(password) => password,
        Err(e) => {
            let (session, page) = refuse(FieldError::new("password", e));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return visit.account_form("password_reset.html", "Reset your password", session, status, page).await;
        }
    };
    match customers::service::confirm_password_reset(&visit.state.customers, &visit.tenant, &token, &password).await {
        Ok(()) => Ok(see_other("/sign-in", None)),
        Err(customers::Error::InvalidResetToken) => {
            let (session, page) =
                refuse(FieldError::new("token", "this link is used, expired or unknown; ask for a new one"));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            visit.account_form("password_reset.html", "Reset your password", session, status, page).await
        }
        Err(e) => Err(e.into()),
    }
}
