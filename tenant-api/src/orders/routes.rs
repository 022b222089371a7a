//! Orders HTTP: checkout and order history under `/store`, order management
//! under `/admin/orders`, what the worker's jobs could not do under
//! `/admin/attention`.

use axum::{
    extract::Path,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use platform::{
    auth::{Area, Scope},
    extract::{ApiJson, ApiQuery, ListResponse, OptionalJson, Page},
    money::Money,
    problem::{parse_json, FieldError, Problem, PROBLEM_JSON},
    tenancy::Tenant,
};
use serde::{Deserialize, Serialize};

use super::{
    idempotency::{self, Claim},
    model::{Order, OrderFilter, OrderId, OrderStatus, PaymentAction, Placed},
    refunds::{
        self,
        model::{RefundFilter, RefundRecord, RefundStatus},
        RefundAsk,
    },
    saga::{self, Checkout},
    service, Error, OrdersState,
};
use crate::{
    callers::{Caller, Shopper, SignedIn, Staff},
    cart::model::CartId,
    checkout::model::{Code, ShippingMethodId},
    customers::model::{CustomerId, Email},
    payments::{
        model::{Payment, PaymentStatus, RefundId},
        payments_for_order, ProviderKind,
    },
    wire::{timestamp, AddressDto, MoneyDto},
};

mod attention;
mod openapi;

pub(crate) use openapi::doc;

/// The orders' routes. Stripe's webhooks, which settle checkouts, are
/// payments' routes: `Context::Orders` mounts both.
pub fn router() -> Router<OrdersState> {
    Router::new()
        .route("/store/carts/{id}/checkout", post(checkout))
        .route("/store/orders", get(my_orders))
        .route("/store/orders/{id}", get(my_order))
        .route("/admin/orders", get(admin_list))
        .route("/admin/orders/{id}", get(admin_get))
        .route("/admin/orders/{id}/fulfil", post(admin_fulfil))
        .route("/admin/orders/{id}/fulfill", post(admin_fulfil))
        .route("/admin/orders/{id}/deliver", post(admin_deliver))
        .route("/admin/orders/{id}/cancel", post(admin_cancel))
        .route("/admin/orders/{id}/refund", post(admin_refund))
        .route("/admin/orders/{id}/refunds", post(admin_refund).get(admin_order_refunds))
        .route("/admin/refunds", get(admin_refunds))
        .route("/admin/refunds/{id}/retry", post(admin_retry_refund))
        .route("/admin/attention", get(attention::list))
        .route("/admin/attention/{job}/{subject}/retry", post(attention::retry))
}

#[derive(Serialize, utoipa::ToSchema)]
struct LineResponse {
    id: String,
    variant_id: String,
    product_id: String,
    sku: String,
    title: String,
    quantity: i32,
    unit_price: MoneyDto,
    total: MoneyDto,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PaymentResponse {
    id: String,
    provider: &'static str,
    status: &'static str,
    amount: MoneyDto,
    refunded: MoneyDto,
    failure_code: Option<String>,
    created_at: String,
}

impl From<Payment> for PaymentResponse {
    fn from(p: Payment) -> Self {
        Self {
            id: p.id.to_string(),
            provider: p.provider.as_str(),
            status: p.status.as_str(),
            amount: p.amount.into(),
            refunded: p.refunded.into(),
            failure_code: p.failure_code,
            created_at: timestamp(p.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct OrderResponse {
    id: String,
    number: i64,
    status: &'static str,
    email: String,
    customer_id: Option<String>,
    subtotal: MoneyDto,
    discount_total: MoneyDto,
    shipping_total: MoneyDto,
    tax_total: MoneyDto,
    tax_inclusive: bool,
    total: MoneyDto,
    refunded_total: MoneyDto,
    discount_code: Option<String>,
    shipping_method: Option<String>,
    shipping_address: AddressDto,
    tracking_number: Option<String>,
    carrier: Option<String>,
    cancel_reason: Option<String>,
    items: Vec<LineResponse>,
    created_at: String,
    paid_at: Option<String>,
    fulfilled_at: Option<String>,
    delivered_at: Option<String>,
    cancelled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payments: Option<Vec<PaymentResponse>>,
    /// What the shopper's browser needs to finish paying, on a checkout
    /// answered `202` with `status: requires_action`.
    #[serde(skip_serializing_if = "Option::is_none")]
    payment: Option<PaymentActionResponse>,
    /// Every refund attempt (staff views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    refunds: Option<Vec<RefundResponse>>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RefundResponse {
    id: String,
    order_id: String,
    amount: MoneyDto,
    /// `pending`, `succeeded` or `failed`.
    status: &'static str,
    /// `refund`, `cancellation` or `late_charge`.
    kind: &'static str,
    provider: Option<&'static str>,
    provider_refund_id: Option<String>,
    failure_code: Option<String>,
    reason: Option<String>,
    attempts: i32,
    last_error: Option<String>,
    needs_attention: bool,
    next_attempt_at: Option<String>,
    created_at: String,
    settled_at: Option<String>,
}

impl From<RefundRecord> for RefundResponse {
    fn from(r: RefundRecord) -> Self {
        let pending = r.status == RefundStatus::Pending;
        Self {
            id: r.id.to_string(),
            order_id: r.order.to_string(),
            amount: r.amount.into(),
            status: r.status.as_str(),
            kind: r.kind.as_str(),
            provider: r.provider.map(|p| p.as_str()),
            provider_refund_id: r.provider_refund_id,
            failure_code: r.failure_code,
            reason: r.reason,
            attempts: r.attempts,
            last_error: r.last_error,
            needs_attention: r.needs_attention,
            next_attempt_at: pending.then(|| timestamp(r.next_attempt_at)),
            created_at: timestamp(r.created_at),
            settled_at: r.settled_at.map(timestamp),
        }
    }
}

/// Stripe's `client_secret` and `next_action` of an intent that waits for
/// the shopper (3-D Secure): hand them to Stripe.js (`handleNextAction`).
#[derive(Serialize, utoipa::ToSchema)]
struct PaymentActionResponse {
    client_secret: String,
    #[schema(value_type = Object)]
    next_action: serde_json::Value,
}

/// How a shopper sees an order awaiting payment whose charge waits for them.
const REQUIRES_ACTION: &str = "requires_action";

impl From<Order> for OrderResponse {
    fn from(o: Order) -> Self {
        let money = |amount| MoneyDto::from(Money::new(amount, o.currency));
        Self {
            id: o.id.to_string(),
            number: o.number,
            status: o.status.as_str(),
            customer_id: o.customer_id.map(|c| c.to_string()),
            subtotal: money(o.totals.subtotal),
            discount_total: money(o.totals.discount),
            shipping_total: money(o.totals.shipping),
            tax_total: money(o.totals.tax),
            tax_inclusive: o.totals.tax_inclusive,
            total: money(o.totals.total),
            refunded_total: money(o.refunded_total),
            shipping_address: AddressDto::from(&o.shipping_address),
            items: o
                .lines
                .into_iter()
                .map(|l| LineResponse {
                    id: format!("{}-{}", o.id, l.line_no),
                    variant_id: l.variant_id.to_string(),
                    product_id: l.product_id.to_string(),
                    sku: l.sku,
                    title: l.title,
                    quantity: l.quantity,
                    unit_price: l.unit_price.into(),
                    total: l.total.into(),
                })
                .collect(),
            email: o.email,
            discount_code: o.discount_code,
            shipping_method: o.shipping_method,
            tracking_number: o.tracking_number,
            carrier: o.carrier,
            cancel_reason: o.cancel_reason,
            created_at: timestamp(o.created_at),
            paid_at: o.paid_at.map(timestamp),
            fulfilled_at: o.fulfilled_at.map(timestamp),
            delivered_at: o.delivered_at.map(timestamp),
            cancelled_at: o.cancelled_at.map(timestamp),
            payments: None,
            refunds: None,
            payment: None,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CheckoutRequest {
    email: Option<String>,
    shipping_address: AddressDto,
    payment: PaymentRequest,
    shipping_method_id: Option<String>,
    discount_code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PaymentRequest {
    provider: String,
    token: String,
}

/// `POST /store/carts/{id}/checkout`, with an optional `Idempotency-Key`.
async fn checkout(
    Caller { state, tenant, principal }: Shopper<OrdersState>,
    Path(cart_id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    let customer = principal.map(|p| CustomerId::from_uuid(p.customer_id));
    let (status, body) = checkout_once(state, tenant, &cart_id, customer, key, body).await?;
    Ok(respond(status, body))
}

/// A checkout of `cart_id` with the JSON body of `POST
/// /store/carts/{id}/checkout`, under `key` (else the cart's own key): the
/// status and body the API answers, and replays for the same key and body.
/// The storefront's checkout form calls this too, so a page and the API
/// follow the same rules (parsing, idempotency, the saga).
pub(crate) async fn checkout_once(
    state: OrdersState,
    tenant: std::sync::Arc<Tenant>,
    cart_id: &str,
    customer: Option<CustomerId>,
    key: Option<String>,
    body: serde_json::Value,
) -> Result<(StatusCode, serde_json::Value), Problem> {
    let request: CheckoutRequest = parse_json(body.to_string().as_bytes())?;
    let checkout = parse_checkout(CartId::parse(cart_id), customer, request)?;

    let endpoint = format!("POST /store/carts/{cart_id}/checkout");
    let caller = customer.map_or_else(|| "guest".to_owned(), |c| format!("customer:{c}"));
    let hash = idempotency::request_hash(&body);
    let mut redis = state.redis.clone();
    let fresh = OrderId::new();
    let lease = state.idempotency_lease_secs;
    // Without a key, the cart is the key: its claim locks the cart for the attempt.
    let (record, claim) = match &key {
        Some(key) => {
            let record = idempotency::record_key(tenant.id, &endpoint, &caller, key);
            let claim = idempotency::claim(&mut redis, &record, &hash, fresh.as_uuid(), lease).await?;
            (record, claim)
        }
        None => {
            let record = idempotency::cart_record_key(tenant.id, &endpoint, &caller, cart_id);
            let claim = idempotency::claim_cart(&mut redis, &record, &hash, fresh.as_uuid(), lease).await?;
            (record, claim)
        }
    };
    let (order_id, resume) = match claim {
        Claim::New => (fresh, false),
        Claim::Resume(order) => (OrderId::from_uuid(order), true),
        Claim::Replay { status, body } => return Ok((StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body)),
        Claim::Mismatch => return Err(Error::IdempotencyMismatch.into()),
        Claim::InFlight if key.is_none() => return Err(Error::CheckoutInProgress.into()),
        Claim::InFlight => return Err(Error::IdempotencyInFlight.into()),
    };
    finish_detached(state, tenant, order_id, checkout, resume, (record, hash)).await
}

/// Runs the saga and records its answer under the idempotency key, in a task
/// of its own: a client that hangs up mid-checkout does not cancel it half-way,
/// and its retry finds the answer waiting.
async fn finish_detached(
    state: OrdersState,
    tenant: std::sync::Arc<Tenant>,
    order_id: OrderId,
    checkout: Checkout,
    resume: bool,
    (record, hash): (String, String),
) -> Result<(StatusCode, serde_json::Value), Problem> {
    let task = tokio::spawn(async move {
        let (status, body) = outcome(saga::run(&state, &tenant, order_id, checkout, resume).await);
        let mut redis = state.redis.clone();
        if status.is_server_error() {
            // Our failure: the next retry resumes this order at once.
            idempotency::abandon(&mut redis, &record, &hash, order_id.as_uuid()).await?;
        } else {
            idempotency::complete(&mut redis, &record, &hash, order_id.as_uuid(), status.as_u16(), &body).await?;
        }
        Ok::<_, anyhow::Error>((status, body))
    });
    Ok(task.await.map_err(|e| Problem::internal(e.into()))??)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 255);
    key.map(|k| Some(k.to_owned()))
        .ok_or_else(|| Problem::invalid_parameter("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))
}

fn parse_checkout(
    cart_id: Option<CartId>,
    customer: Option<CustomerId>,
    request: CheckoutRequest,
) -> Result<Checkout, Problem> {
    let mut errors = Vec::new();
    let email = request
        .email
        .as_deref()
        .and_then(|raw| Email::parse(raw).map_err(|e| errors.push(FieldError::new("email", e))).ok());
    let address = request.shipping_address.parse("shipping_address").map_err(|e| errors.extend(e)).ok();
    let provider = ProviderKind::parse(&request.payment.provider);
    if provider.is_none() {
        errors.push(FieldError::new("payment.provider", "must be test or stripe"));
    }
    let token = request.payment.token.trim().to_owned();
    if token.is_empty() || token.len() > 255 {
        errors.push(FieldError::new("payment.token", "must be 1 to 255 characters"));
    }
    let shipping_method = request.shipping_method_id.as_deref().and_then(|raw| {
        ShippingMethodId::parse(raw).or_else(|| {
            errors.push(FieldError::new("shipping_method_id", "must be a shipping method id"));
            None
        })
    });
    let discount_code = request
        .discount_code
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .and_then(|raw| Code::parse(raw).map_err(|e| errors.push(FieldError::new("discount_code", e))).ok());
    match (address, provider) {
        (Some(address), Some(payment_provider)) if errors.is_empty() => Ok(Checkout {
            cart_id,
            customer,
            email,
            address,
            payment_provider,
            payment_token: token,
            shipping_method,
            discount_code,
        }),
        _ => Err(Problem::validation(errors)),
    }
}

/// The status and JSON body of a checkout's result, as sent and as replayed:
/// `201` settled, `202` while the payment waits (for the shopper when
/// `status` is `requires_action`, with what they need in `payment`).
fn outcome(result: Result<Placed, Error>) -> (StatusCode, serde_json::Value) {
    let json = |response: OrderResponse| serde_json::to_value(response).unwrap_or(serde_json::Value::Null);
    match result {
        Ok(Placed::Done(order)) => (StatusCode::CREATED, json(OrderResponse::from(order))),
        Ok(Placed::Waiting(order, action)) => {
            let mut response = OrderResponse::from(order);
            if let Some(PaymentAction { client_secret, next_action }) = action {
                response.status = REQUIRES_ACTION;
                response.payment = Some(PaymentActionResponse { client_secret, next_action });
            }
            (StatusCode::ACCEPTED, json(response))
        }
        Err(error) => {
            let problem = Problem::from(error);
            if problem.status().is_server_error() {
                // Logged here: the replayable body carries no cause.
                tracing::error!(error = %problem, "checkout failed");
            }
            (problem.status(), problem.body())
        }
    }
}

fn respond(status: StatusCode, body: serde_json::Value) -> Response {
    let retry_after = body.get("retry_after").and_then(serde_json::Value::as_u64);
    let mut response = (status, Json(body)).into_response();
    if let (StatusCode::SERVICE_UNAVAILABLE, Some(seconds)) = (status, retry_after) {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if status.is_client_error() || status.is_server_error() {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    }
    response
}

/// Every `/admin/orders` route is a staff member's.
type Admin = Staff<OrdersState>;
/// An optional body whose fault is answered after the scope and the id.
type Body<T> = Result<OptionalJson<T>, Problem>;
/// What the order routes answer.
type OrderAnswer = Result<Json<OrderResponse>, Problem>;

const READ: Scope = Scope::read(Area::Orders);
const WRITE: Scope = Scope::write(Area::Orders);

fn order_id(raw: &str) -> Result<OrderId, Error> {
    OrderId::parse(raw).ok_or(Error::OrderNotFound)
}

/// `GET /store/orders`: the signed-in customer's orders, newest first.
async fn my_orders(shopper: SignedIn<OrdersState>, page: Page) -> Result<Json<ListResponse<OrderResponse>>, Problem> {
    let filter = OrderFilter { customer: Some(shopper.customer()), ..OrderFilter::default() };
    list(&shopper.state, &shopper.tenant, &filter, page).await
}

/// `GET /store/orders/{id}`: one of the signed-in customer's orders.
async fn my_order(shopper: SignedIn<OrdersState>, Path(id): Path<String>) -> Result<Json<OrderResponse>, Problem> {
    let id = order_id(&id)?;
    let mut tx = shopper.state.db.tenant_tx(&shopper.tenant).await?;
    let order = service::order(&mut tx, id).await?;
    if order.customer_id != Some(shopper.customer()) {
        return Err(Error::OrderNotFound.into());
    }
    let waits_for_shopper = order.status == OrderStatus::PendingPayment
        && payments_for_order(&mut tx, id).await?.iter().any(|p| p.status == PaymentStatus::RequiresAction);
    let mut response = OrderResponse::from(order);
    if waits_for_shopper {
        response.status = REQUIRES_ACTION;
    }
    Ok(Json(response))
}

#[derive(Deserialize)]
struct AdminListParams {
    status: Option<String>,
    q: Option<String>,
    customer_id: Option<String>,
}

impl AdminListParams {
    fn filter(self) -> Result<OrderFilter, Problem> {
        let status = match self.status.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                OrderStatus::parse(raw)
                    .ok_or_else(|| Problem::invalid_parameter("status", "is not an order status"))?,
            ),
        };
        let customer = match self.customer_id.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                CustomerId::parse(raw)
                    .ok_or_else(|| Problem::invalid_parameter("customer_id", "must be a customer id"))?,
            ),
        };
        let q = self.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
        Ok(OrderFilter { customer, status, q })
    }
}

/// `GET /admin/orders?status=&q=&customer_id=&limit=&cursor=`.
async fn admin_list(
    staff: Admin,
    params: Result<ApiQuery<AdminListParams>, Problem>,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<OrderResponse>>, Problem> {
    staff.allow(READ)?;
    let (ApiQuery(params), page) = (params?, page?);
    list(&staff.state, &staff.tenant, &params.filter()?, page).await
}

async fn list(
    state: &OrdersState,
    tenant: &Tenant,
    filter: &OrderFilter,
    page: Page,
) -> Result<Json<ListResponse<OrderResponse>>, Problem> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let orders = service::list(&mut tx, filter, page).await?;
    Ok(Json(page.respond(orders, |o| o.id.as_uuid(), OrderResponse::from)))
}

/// The order as staff see it: with its payments.
async fn with_payments(staff: &Admin, order: Order) -> OrderAnswer {
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let payments = payments_for_order(&mut tx, order.id).await?;
    let refunds = refunds::of_order(&mut tx, order.id).await?;
    let mut response = OrderResponse::from(order);
    response.payments = Some(payments.into_iter().map(Into::into).collect());
    response.refunds = Some(refunds.into_iter().map(Into::into).collect());
    Ok(Json(response))
}

/// `GET /admin/orders/{id}`: the order with its payments.
async fn admin_get(staff: Admin, Path(id): Path<String>) -> OrderAnswer {
    staff.allow(READ)?;
    let id = order_id(&id)?;
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let order = service::order(&mut tx, id).await?;
    drop(tx);
    with_payments(&staff, order).await
}

#[derive(Deserialize, utoipa::ToSchema)]
struct FulfilRequest {
    tracking_number: String,
    carrier: Option<String>,
}

/// `POST /admin/orders/{id}/fulfil` with `{"tracking_number", "carrier"?}`.
async fn admin_fulfil(staff: Admin, Path(id): Path<String>, ApiJson(body): ApiJson<FulfilRequest>) -> OrderAnswer {
    staff.allow(WRITE)?;
    let id = order_id(&id)?;
    let tracking = body.tracking_number.trim().to_owned();
    let mut errors = Vec::new();
    if tracking.is_empty() || tracking.chars().count() > 100 {
        errors.push(FieldError::new("tracking_number", "must be 1 to 100 characters"));
    }
    let carrier = body.carrier.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if carrier.as_ref().is_some_and(|c| c.chars().count() > 100) {
        errors.push(FieldError::new("carrier", "must be at most 100 characters"));
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let order = service::fulfil(&staff.state, &staff.tenant, id, tracking, carrier).await?;
    with_payments(&staff, order).await
}

/// `POST /admin/orders/{id}/deliver`.
async fn admin_deliver(staff: Admin, Path(id): Path<String>) -> OrderAnswer {
    staff.allow(WRITE)?;
    let order = service::deliver(&staff.state, &staff.tenant, order_id(&id)?).await?;
    with_payments(&staff, order).await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct CancelRequest {
    reason: Option<String>,
    /// Put a paid order's items back on hand (default true).
    restock: Option<bool>,
}

/// `POST /admin/orders/{id}/cancel` with `{"reason"?, "restock"?: true}`
/// (body optional). Refunds and restocking are admin actions.
async fn admin_cancel(staff: Admin, Path(id): Path<String>, body: Body<CancelRequest>) -> OrderAnswer {
    staff.allow_admin(WRITE)?;
    let (id, OptionalJson(body)) = (order_id(&id)?, body?);
    let restock = body.restock.unwrap_or(true);
    let order = service::cancel(&staff.state, &staff.tenant, id, reason(body.reason)?, restock).await?;
    with_payments(&staff, order).await
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct RefundRequest {
    amount: Option<MoneyDto>,
    reason: Option<String>,
}

/// `POST /admin/orders/{id}/refunds` (and `/refund`) with `{"amount"?: Money,
/// "reason"?}` and an optional `Idempotency-Key`; without an amount,
/// everything not yet refunded. `200` with the order once the provider
/// accepted; `202` with the order (its refund `pending`) when the provider
/// gave no answer yet: the worker settles it. A replay with the same key
/// answers for the same refund and never refunds again.
async fn admin_refund(
    staff: Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body<RefundRequest>,
) -> Result<Response, Problem> {
    staff.allow_admin(WRITE)?;
    let (id, OptionalJson(body)) = (order_id(&id)?, body?);
    let key = idempotency_key(&headers)?;
    let amount = match &body.amount {
        None => None,
        Some(m) => Some(m.parse("amount", staff.tenant.currency).map_err(|e| Problem::validation(vec![e]))?.amount),
    };
    let ask = RefundAsk { amount, reason: reason(body.reason)?, idempotency_key: key };
    let refund = refunds::refund(&staff.state.payments, &staff.tenant, id, ask).await?;
    let status = match refund.status {
        RefundStatus::Succeeded => StatusCode::OK,
        RefundStatus::Pending => StatusCode::ACCEPTED,
        RefundStatus::Failed => {
            let code = refund.failure_code.unwrap_or_else(|| "refused".into());
            return Err(Error::RefundRefused(format!("the payment provider refused the refund ({code})")).into());
        }
    };
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let order = service::order(&mut tx, id).await?;
    drop(tx);
    Ok((status, with_payments(&staff, order).await?).into_response())
}

/// `GET /admin/orders/{id}/refunds`: every refund attempt of an order.
async fn admin_order_refunds(
    staff: Admin,
    Path(id): Path<String>,
) -> Result<Json<ListResponse<RefundResponse>>, Problem> {
    staff.allow(READ)?;
    let id = order_id(&id)?;
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    service::order(&mut tx, id).await?;
    let refunds = refunds::of_order(&mut tx, id).await?;
    Ok(Json(ListResponse::all(refunds)))
}

#[derive(Deserialize, Default)]
struct RefundQuery {
    /// `pending`, `succeeded` or `failed`.
    status: Option<String>,
    /// Only refunds whose attempts ran out (`true`) or not (`false`).
    needs_attention: Option<bool>,
}

/// `GET /admin/refunds?status=&needs_attention=`: the store's refunds,
/// newest first; `needs_attention=true` lists those an admin should look at.
async fn admin_refunds(
    staff: Admin,
    page: Page,
    ApiQuery(query): ApiQuery<RefundQuery>,
) -> Result<Json<ListResponse<RefundResponse>>, Problem> {
    staff.allow(READ)?;
    let status = match query.status.as_deref() {
        None => None,
        Some(raw) => Some(
            RefundStatus::parse(raw)
                .ok_or_else(|| Problem::invalid_parameter("status", "must be one of pending, succeeded, failed"))?,
        ),
    };
    let filter = RefundFilter { status, needs_attention: query.needs_attention };
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let refunds = refunds::list(&mut tx, &filter, page).await?;
    Ok(Json(page.respond(refunds, |r| r.id.as_uuid(), RefundResponse::from)))
}

/// `POST /admin/refunds/{id}/retry`: asks the provider about a pending refund
/// now, its attempts starting over; the refund as it stands after.
async fn admin_retry_refund(staff: Admin, Path(id): Path<String>) -> Result<Json<RefundResponse>, Problem> {
    staff.allow_admin(WRITE)?;
    let id = RefundId::parse(&id).ok_or(Error::RefundNotFound)?;
    Ok(Json(refunds::retry(&staff.state.payments, &staff.tenant, id).await?.into()))
}

/// A staff member's reason for a cancel or a refund: trimmed, absent when
/// blank, at most 500 characters.
fn reason(raw: Option<String>) -> Result<Option<String>, Problem> {
    let reason = raw.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(Problem::validation(vec![FieldError::new("reason", "must be at most 500 characters")]));
    }
    Ok(reason)
}
