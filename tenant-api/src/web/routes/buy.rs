//! Buying: the cart page and its forms, checkout, the order's confirmation.
//! Personal pages: never in the storefront cache.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::Response,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use platform::{
    money::Money,
    problem::{FieldError, Problem},
    settings::PaymentSettings,
    web::{Caching, Form},
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use super::{page_errors, problem_errors, see_other, Error, Session, Visit};
use crate::{
    cart::{
        self,
        model::{CartId, CartView, MAX_LINE_QUANTITY},
        service::CartAccess,
    },
    catalog::model::VariantId,
    orders::model::{OrderId, OrderStatus},
    payments::ProviderKind,
};

/// How long a double-submitted checkout waits for the first submission's answer.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(15);

#[derive(Serialize)]
struct Line {
    id: String,
    title: String,
    quantity: i32,
    unit_price: String,
    total: String,
    available: i32,
    short: bool,
}

/// A cart as its page and the checkout's summary show it.
#[derive(Serialize, Default)]
struct CartPage {
    lines: Vec<Line>,
    subtotal: String,
    discount: Option<String>,
    shipping: String,
    total: String,
    /// Units in the cart.
    #[serde(skip)]
    count: i32,
    #[serde(skip)]
    total_amount: i64,
}

impl CartPage {
    fn new(view: &CartView, visit: &Visit) -> Self {
        let money = |amount| Money::new(amount, visit.tenant.currency).to_string();
        let totals = &view.totals;
        Self {
            lines: view
                .lines
                .iter()
                .map(|l| Line {
                    id: l.item_id.clone(),
                    title: l.title.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price.to_string(),
                    total: l.total.to_string(),
                    available: l.available,
                    short: l.available < l.quantity,
                })
                .collect(),
            subtotal: money(totals.subtotal),
            discount: (totals.discount > 0).then(|| money(totals.discount)),
            shipping: money(totals.shipping),
            total: money(totals.total),
            count: view.lines.iter().map(|l| l.quantity).sum(),
            total_amount: totals.total,
        }
    }
}

impl Visit {
    fn cart_access(&self, id: CartId, session: &Session) -> CartAccess<'_> {
        CartAccess { state: &self.state.cart, tenant: &self.tenant, id, caller: session.customer }
    }

    /// The shopper's cart, if the cookie names one they may use.
    async fn current_cart(&self, session: &Session) -> Result<Option<CartView>, Error> {
        let Some(id) = self.cart_id() else { return Ok(None) };
        match cart::service::get(self.cart_access(id, session)).await {
            Ok(view) => Ok(Some(view)),
            Err(cart::Error::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The cart page with `status`, the message of an outcome and field errors.
    async fn cart_page(
        &self,
        session: Session,
        status: StatusCode,
        notice: Option<String>,
        errors: &[FieldError],
    ) -> Result<Response, Error> {
        let view = self.current_cart(&session).await?;
        let page = view.as_ref().map(|v| CartPage::new(v, self)).unwrap_or_default();
        let nav = self.nav(&session, page.count).await?;
        let csrf = self.csrf();
        let body = serde_json::json!({
            "lines": page.lines, "subtotal": page.subtotal, "discount": page.discount,
            "shipping": page.shipping, "total": page.total,
            "notice": notice, "errors": page_errors(errors),
        });
        let html = self.render("cart.html", "Cart", csrf.token(), Some(nav), body)?;
        Ok(self.respond(status, html, &csrf, session))
    }
}

/// `GET /cart`: the lines at current prices, what is short, the totals.
pub(super) async fn cart(visit: Visit) -> Result<Response, Error> {
    let session = visit.session().await?;
    visit.cart_page(session, StatusCode::OK, None, &[]).await
}

/// A line's quantity from a form: a whole number in `min..=99`.
fn quantity(form: &Form, min: i32) -> Result<i32, FieldError> {
    form.text("quantity")
        .and_then(|q| q.parse::<i32>().ok())
        .filter(|q| (min..=MAX_LINE_QUANTITY).contains(q))
        .ok_or_else(|| FieldError::new("quantity", format!("must be a whole number from {min} to {MAX_LINE_QUANTITY}")))
}

/// The answer to a cart form the cart service refused: more than is in stock
/// is the cart page saying so (`409`); bad input is `422` naming the field.
async fn refused(visit: &Visit, session: Session, error: cart::Error) -> Result<Response, Error> {
    match error {
        cart::Error::InsufficientStock { available } => {
            let notice = format!("Out of stock: only {available} of this item can be in your cart.");
            visit.cart_page(session, StatusCode::CONFLICT, Some(notice), &[]).await
        }
        cart::Error::Invalid(errors) => visit.cart_page(session, StatusCode::UNPROCESSABLE_ENTITY, None, &errors).await,
        other => Err(other.into()),
    }
}

/// `POST /cart/items` (`variant_id`, `quantity`): adds to the shopper's cart
/// (a new one, with its cookie, if they have none) → `303` to `/cart`.
pub(super) async fn add_item(visit: Visit, form: Form) -> Result<Response, Error> {
    visit.check_csrf(&form)?;
    let session = visit.session().await?;
    let mut errors = Vec::new();
    let variant = form.text("variant_id").and_then(VariantId::parse);
    if variant.is_none() {
        errors.push(FieldError::new("variant_id", "must name one of the product's options"));
    }
    let quantity = quantity(&form, 1).map_err(|e| errors.push(e)).ok();
    let (Some(variant), Some(quantity)) = (variant, quantity) else {
        return visit.cart_page(session, StatusCode::UNPROCESSABLE_ENTITY, None, &errors).await;
    };
    let mut cookies = Vec::new();
    let existing = match visit.cart_id() {
        Some(id) => match cart::service::add_item(visit.cart_access(id, &session), variant, quantity).await {
            Ok(_) => true,
            // Expired, or not this shopper's: start a new cart.
            Err(cart::Error::NotFound) => false,
            Err(e) => return refused(&visit, session, e).await,
        },
        None => false,
    };
    if !existing {
        let created = cart::service::create(&visit.state.cart, &visit.tenant, session.customer, None).await?;
        let id = created.cart.id;
        cookies.push(visit.cart_cookie(&id, session.customer.is_some()));
        if let Err(e) = cart::service::add_item(visit.cart_access(id, &session), variant, quantity).await {
            let mut response = refused(&visit, session, e).await?;
            // The new cart exists: keep it, even though this line did not fit.
            for value in cookies {
                response.headers_mut().append(axum::http::header::SET_COOKIE, value);
            }
            return Ok(response);
        }
    }
    cookies.extend(session.cookies);
    Ok(see_other("/cart", cookies))
}

/// `POST /cart/items/{item_id}` (`quantity`; 0 removes the line) → `303` to `/cart`.
pub(super) async fn update_item(visit: Visit, Path(item): Path<String>, form: Form) -> Result<Response, Error> {
    visit.check_csrf(&form)?;
    let session = visit.session().await?;
    let quantity = match quantity(&form, 0) {
        Ok(q) => q,
        Err(e) => return visit.cart_page(session, StatusCode::UNPROCESSABLE_ENTITY, None, &[e]).await,
    };
    let Some(id) = visit.cart_id() else {
        return Err(cart::Error::NotFound.into());
    };
    let access = visit.cart_access(id, &session);
    let result = if quantity == 0 {
        cart::service::remove_item(access, &item).await
    } else {
        cart::service::set_item(access, &item, quantity).await
    };
    match result {
        Ok(_) => Ok(see_other("/cart", session.cookies)),
        Err(e) => refused(&visit, session, e).await,
    }
}

/// What the checkout form holds, as typed (shown again with its errors).
#[derive(Serialize, Default)]
struct CheckoutForm {
    email: Option<String>,
    name: Option<String>,
    line1: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    payment_token: Option<String>,
}

impl CheckoutForm {
    fn from_form(form: &Form) -> Self {
        let text = |name| form.text(name).map(str::to_owned);
        Self {
            email: text("email"),
            name: text("name"),
            line1: text("line1"),
            city: text("city"),
            postal_code: text("postal_code"),
            country: text("country"),
            payment_token: text("payment_token"),
        }
    }
}

/// A new nonce for a checkout form: its double submissions share the
/// `Idempotency-Key` derived from it, so they place one order.
fn nonce() -> String {
    let mut bytes = [0u8; 18];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The store's payment settings, for the form's payment part.
async fn payments_of(visit: &Visit) -> Result<Arc<PaymentSettings>, Error> {
    Ok(visit.state.payments.payment_settings.get(visit.tenant.id).await?)
}

impl Visit {
    /// The checkout page: the form (with what was typed and its errors) and
    /// the cart's summary; an empty cart goes back to the cart page.
    async fn checkout_page(
        &self,
        session: Session,
        status: StatusCode,
        form: CheckoutForm,
        errors: &[FieldError],
        notice: Option<String>,
    ) -> Result<Response, Error> {
        let Some(view) = self.current_cart(&session).await?.filter(|v| !v.lines.is_empty()) else {
            return Ok(see_other("/cart", session.cookies));
        };
        let summary = CartPage::new(&view, self);
        let nav = self.nav(&session, summary.count).await?;
        let payments = payments_of(self).await?;
        // Stripe.js mounts its Payment Element with the store's publishable
        // key (and, for a Connect store, its account); without a key the page
        // says card payments are not set up instead of showing an empty form.
        let stripe = (payments.provider == ProviderKind::Stripe).then(|| {
            serde_json::json!({
                "publishable_key": payments.stripe_publishable_key,
                "account": payments.stripe_account_id,
                "amount": summary.total_amount,
                "currency": self.tenant.currency.as_str().to_ascii_lowercase(),
            })
        });
        let invalid: serde_json::Map<String, serde_json::Value> =
            page_errors(errors).into_iter().map(|e| (e.field, true.into())).collect();
        let csrf = self.csrf();
        let body = serde_json::json!({
            "form": form, "errors": page_errors(errors), "invalid": invalid, "notice": notice,
            "nonce": nonce(), "stripe": stripe,
            "lines": summary.lines, "subtotal": summary.subtotal, "shipping": summary.shipping, "total": summary.total,
        });
        let html = self.render("checkout.html", "Checkout", csrf.token(), Some(nav), body)?;
        Ok(self.respond(status, html, &csrf, session))
    }
}

/// `GET /checkout`: contact, shipping address and payment, with the cart's summary.
pub(super) async fn checkout(visit: Visit) -> Result<Response, Error> {
    let session = visit.session().await?;
    let mut form = CheckoutForm::default();
    if let Some(customer) = session.customer {
        let mut tx = visit.state.customers.db.tenant_tx(&visit.tenant).await?;
        let found = crate::customers::service::customer(&mut tx, customer).await?;
        drop(tx);
        form.email = Some(found.email);
    }
    visit.checkout_page(session, StatusCode::OK, form, &[], None).await
}

/// `POST /checkout`: places the order through the same idempotent checkout
/// as `POST /store/carts/{id}/checkout`, keyed by the form's nonce (a double
/// submission places one order) → `303` to the order's confirmation.
pub(super) async fn place_order(visit: Visit, form: Form) -> Result<Response, Error> {
    visit.check_csrf(&form)?;
    let session = visit.session().await?;
    let typed = CheckoutForm::from_form(&form);
    // The form asks for every field; the API falls back on the cart's email.
    let required = [
        ("email", &typed.email),
        ("name", &typed.name),
        ("line1", &typed.line1),
        ("city", &typed.city),
        ("postal_code", &typed.postal_code),
        ("country", &typed.country),
        ("payment_token", &typed.payment_token),
    ];
    let missing: Vec<FieldError> = required
        .iter()
        .filter(|(_, value)| value.is_none())
        .map(|(field, _)| FieldError::new(*field, "is required"))
        .collect();
    if !missing.is_empty() {
        return visit.checkout_page(session, StatusCode::UNPROCESSABLE_ENTITY, typed, &missing, None).await;
    }
    let Some(cart_id) = visit.cart_id() else { return Ok(see_other("/cart", session.cookies)) };
    let provider = payments_of(&visit).await?.provider;
    let body = serde_json::json!({
        "email": typed.email,
        "shipping_address": {
            "name": typed.name, "line1": typed.line1, "city": typed.city,
            "postal_code": typed.postal_code, "country": typed.country,
        },
        "payment": {"provider": provider.as_str(), "token": typed.payment_token},
    });
    let key = form
        .text("nonce")
        .filter(|n| n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map(|n| format!("page-checkout-{n}"));
    let (status, answer) = checkout_waiting(&visit, cart_id.as_ref(), &session, key, body).await;
    if status.is_success() {
        let Some(order) = answer["id"].as_str().and_then(OrderId::parse) else {
            return Err(Problem::internal(anyhow::anyhow!("checkout answered without an order id")).into());
        };
        // The cart cookie stays: the bought cart is gone (the next add
        // starts a new one), and a second submission of this form names the
        // same cart, so its key finds this answer.
        return Ok(see_other(&order_url(&visit, order), session.cookies));
    }
    let detail = answer["detail"].as_str().unwrap_or_default().to_owned();
    match (status, answer["type"].as_str().unwrap_or_default()) {
        (StatusCode::CONFLICT, "/problems/out-of-stock" | "/problems/items-unavailable") => {
            visit.cart_page(session, StatusCode::CONFLICT, Some(format!("Out of stock: {detail}")), &[]).await
        }
        (StatusCode::UNPROCESSABLE_ENTITY, _) => {
            let errors = problem_errors(&answer);
            visit.checkout_page(session, status, typed, &errors, None).await
        }
        (StatusCode::PAYMENT_REQUIRED, _) => {
            let notice = format!("Payment declined: {detail} Try another payment method.");
            visit.checkout_page(session, status, typed, &[], Some(notice)).await
        }
        (StatusCode::CONFLICT, "/problems/cart-checked-out") => {
            match answer["order_id"].as_str().and_then(OrderId::parse) {
                Some(order) => Ok(see_other(&order_url(&visit, order), session.cookies)),
                None => Err(Problem::conflict("cart-checked-out", detail).into()),
            }
        }
        _ => {
            let problem = Problem::new(status, "checkout-failed", "Checkout failed", detail);
            Err(problem.into())
        }
    }
}

/// The checkout's answer; a submission while the same form's first one runs
/// (a double click) waits for that one's answer, which it then replays.
async fn checkout_waiting(
    visit: &Visit,
    cart_id: &str,
    session: &Session,
    key: Option<String>,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let deadline = tokio::time::Instant::now() + IN_FLIGHT_WAIT;
    loop {
        let orders = visit.state.orders.clone();
        let result = crate::orders::checkout_once(
            orders,
            visit.tenant.clone(),
            cart_id,
            session.customer,
            key.clone(),
            body.clone(),
        )
        .await;
        let (status, answer) = match result {
            Ok(answer) => answer,
            Err(problem) => (problem.status(), problem.body()),
        };
        let in_flight = status == StatusCode::CONFLICT
            && matches!(
                answer["type"].as_str(),
                Some("/problems/idempotency-in-flight" | "/problems/checkout-in-progress")
            );
        if !in_flight || tokio::time::Instant::now() >= deadline {
            return (status, answer);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The confirmation's address: the order id and a key signed for this store
/// and order, so only who placed it (or holds the link) can open it.
fn order_url(visit: &Visit, order: OrderId) -> String {
    format!("/orders/{order}?key={}", order_key(visit, order))
}

pub(super) fn order_key(visit: &Visit, order: OrderId) -> String {
    visit.state.key.sign(&["order", &visit.scope(), &order.to_string()])
}

#[derive(Deserialize)]
pub(super) struct KeyQuery {
    key: Option<String>,
}

/// `GET /orders/{id}?key=`: the order's number, lines and total. A missing
/// or wrong key, or another store's order, is a `404`.
pub(super) async fn order(
    visit: Visit,
    Path(id): Path<String>,
    Query(query): Query<KeyQuery>,
) -> Result<Response, Error> {
    let not_found = || Error::from(crate::orders::Error::OrderNotFound);
    let order_id = OrderId::parse(&id).ok_or_else(not_found)?;
    let key = query.key.unwrap_or_default();
    if !visit.state.key.verify(&["order", &visit.scope(), &order_id.to_string()], &key) {
        return Err(not_found());
    }
    let session = visit.session().await?;
    let mut tx = visit.state.orders.db.tenant_tx(&visit.tenant).await?;
    let order = crate::orders::service::order(&mut tx, order_id).await?;
    drop(tx);
    let cart_count = match visit.current_cart(&session).await? {
        Some(view) => view.lines.iter().map(|l| l.quantity).sum(),
        None => 0,
    };
    let nav = visit.nav(&session, cart_count).await?;
    let money = |amount| order.money(amount).to_string();
    let status_text = match order.status {
        OrderStatus::Paid => "Paid",
        OrderStatus::PendingPayment => "Awaiting payment",
        OrderStatus::PaymentFailed => "Payment failed",
        OrderStatus::Fulfilled => "Shipped",
        OrderStatus::Delivered => "Delivered",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Refunded => "Refunded",
        OrderStatus::PartiallyRefunded => "Partially refunded",
    };
    let body = serde_json::json!({
        "number": order.number,
        "paid": order.status == OrderStatus::Paid,
        "status_text": status_text,
        "email": order.email,
        "lines": order.lines.iter().map(|l| serde_json::json!({
            "title": l.title, "quantity": l.quantity, "total": l.total.to_string(),
        })).collect::<Vec<_>>(),
        "subtotal": money(order.totals.subtotal),
        "discount": (order.totals.discount > 0).then(|| money(order.totals.discount)),
        "shipping": money(order.totals.shipping),
        "tax": money(order.totals.tax),
        "total": money(order.totals.total),
    });
    let csrf = visit.csrf();
    let html = visit.render("order.html", format!("Order {}", order.number), csrf.token(), Some(nav), body)?;
    Ok(visit.respond_with(StatusCode::OK, html, &csrf, Caching::NoStore, session.cookies))
}
