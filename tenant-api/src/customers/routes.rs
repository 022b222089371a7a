//! Customer HTTP: sign-up, sign-in, profile and addresses under `/store`,
//! customer lists for staff under `/admin/customers`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
    Json, Router,
};
use platform::{
    auth::{Area, Scope},
    db::TenantTx,
    extract::{ApiJson, ApiQuery, ListResponse, Page},
    problem::{FieldError, Problem},
    tenancy::TenantCtx,
};
use serde::{Deserialize, Serialize};

use super::{
    model::{name_part, AddressId, Customer, CustomerId, Email, NewCustomer, Password, SavedAddress, TokenPair},
    service, CustomersState, Error,
};
use crate::{
    callers::{SignedIn, Staff},
    cart::model::CartId,
    wire::{nullable, timestamp, AddressDto},
};

mod openapi;

pub(crate) use openapi::doc;

/// The customers' routes.
pub fn router() -> Router<CustomersState> {
    Router::new()
        .route("/store/customers", post(register))
        .route("/store/auth/token", post(token))
        .route("/store/customers/me", get(me).patch(update_me))
        .route("/store/customers/me/addresses", get(list_addresses).post(add_address))
        .route("/store/customers/me/addresses/{id}", delete(delete_address))
        .route("/store/customers/password-reset", post(request_reset))
        .route("/store/customers/password-reset/confirm", post(confirm_reset))
        .route("/admin/customers", get(admin_list))
        .route("/admin/customers/{id}", get(admin_get))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RegisterRequest {
    email: String,
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CustomerResponse {
    id: String,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    addresses: Option<Vec<AddressResponse>>,
}

impl From<Customer> for CustomerResponse {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id.to_string(),
            email: c.email,
            first_name: c.first_name,
            last_name: c.last_name,
            created_at: timestamp(c.created_at),
            addresses: None,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct AddressResponse {
    id: String,
    #[serde(flatten)]
    address: AddressDto,
    is_default: bool,
}

impl From<SavedAddress> for AddressResponse {
    fn from(a: SavedAddress) -> Self {
        Self { id: a.id.to_string(), address: AddressDto::from(&a.address), is_default: a.is_default }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TokenRequest {
    grant_type: Option<String>,
    email: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    /// A guest cart to merge into the customer's cart.
    cart_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cart_id: Option<String>,
}

impl TokenResponse {
    fn new(pair: TokenPair, cart_id: Option<CartId>) -> Self {
        Self {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
            customer_id: pair.customer_id.to_string(),
            cart_id: cart_id.map(|c| c.as_ref().to_owned()),
        }
    }
}

/// `POST /store/customers`: sign up.
async fn register(
    State(state): State<CustomersState>,
    TenantCtx(tenant): TenantCtx,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<CustomerResponse>), Problem> {
    let mut errors = Vec::new();
    let email = Email::parse(&body.email).map_err(|e| errors.push(FieldError::new("email", e))).ok();
    let password = Password::parse(&body.password).map_err(|e| errors.push(FieldError::new("password", e))).ok();
    let first_name =
        name_part(body.first_name.as_deref()).map_err(|e| errors.push(FieldError::new("first_name", e))).ok();
    let last_name = name_part(body.last_name.as_deref()).map_err(|e| errors.push(FieldError::new("last_name", e))).ok();
    let (Some(email), Some(password), Some(first_name), Some(last_name), true) =
        (email, password, first_name, last_name, errors.is_empty())
    else {
        return Err(Problem::validation(errors));
    };
    let customer = service::register(&state, &tenant, NewCustomer { email, password, first_name, last_name }).await?;
    Ok((StatusCode::CREATED, Json(customer.into())))
}

/// `POST /store/auth/token`: `{"email","password"}` (grant `password`, the
/// default) or `{"grant_type":"refresh_token","refresh_token"}`. With
/// `cart_id`, the guest cart merges into the customer's cart.
async fn token(
    State(state): State<CustomersState>,
    TenantCtx(tenant): TenantCtx,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let pair = match body.grant_type.as_deref().unwrap_or("password") {
        "password" => {
            let mut errors = Vec::new();
            if body.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
                errors.push(FieldError::new("email", "is required"));
            }
            if body.password.as_deref().is_none_or(str::is_empty) {
                errors.push(FieldError::new("password", "is required"));
            }
            if !errors.is_empty() {
                return Err(Problem::validation(errors));
            }
            let (email, password) = (body.email.unwrap_or_default(), body.password.unwrap_or_default());
            service::sign_in(&state, &tenant, &email, &password).await?
        }
        "refresh_token" => {
            let Some(token) = body.refresh_token.as_deref().filter(|t| !t.is_empty()) else {
                return Err(Problem::validation(vec![FieldError::new("refresh_token", "is required")]));
            };
            service::refresh(&state, &tenant, token).await?
        }
        _ => return Err(Problem::validation(vec![FieldError::new("grant_type", "must be password or refresh_token")])),
    };
    let guest = body.cart_id.as_deref().and_then(CartId::parse);
    let cart_id =
        crate::cart::service::adopt_on_sign_in(&state.cart, &tenant, pair.customer_id, guest.as_ref()).await?;
    Ok(Json(TokenResponse::new(pair, cart_id)))
}

/// `GET /store/customers/me`: the signed-in customer with addresses.
async fn me(shopper: SignedIn<CustomersState>) -> Result<Json<CustomerResponse>, Problem> {
    let mut tx = shopper.state.db.tenant_tx(&shopper.tenant).await?;
    let customer = service::customer(&mut tx, shopper.customer()).await.map_err(gone)?;
    with_addresses(&mut tx, customer).await
}

/// A token whose customer no longer exists is a token that does not hold.
fn gone(error: Error) -> Problem {
    match error {
        Error::NotFound => Problem::unauthorized("A valid customer token of this store is required."),
        other => other.into(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UpdateMeRequest {
    #[serde(default, deserialize_with = "nullable")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    last_name: Option<Option<String>>,
}

/// `PATCH /store/customers/me`: names.
async fn update_me(
    shopper: SignedIn<CustomersState>,
    ApiJson(body): ApiJson<UpdateMeRequest>,
) -> Result<Json<CustomerResponse>, Problem> {
    let mut errors = Vec::new();
    let mut part = |field: &str, value: &Option<Option<String>>| {
        value
            .as_ref()
            .map(|v| name_part(v.as_deref()).map_err(|e| errors.push(FieldError::new(field, e))).ok().flatten())
    };
    let first = part("first_name", &body.first_name);
    let last = part("last_name", &body.last_name);
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let mut tx = shopper.state.db.tenant_tx(&shopper.tenant).await?;
    let customer = service::update_names(
        &mut tx,
        shopper.customer(),
        first.as_ref().map(|f| f.as_deref()),
        last.as_ref().map(|l| l.as_deref()),
    )
    .await
    .map_err(gone)?;
    tx.commit().await?;
    Ok(Json(customer.into()))
}

/// `GET /store/customers/me/addresses`.
async fn list_addresses(shopper: SignedIn<CustomersState>) -> Result<Json<ListResponse<AddressResponse>>, Problem> {
    let mut tx = shopper.state.db.tenant_tx(&shopper.tenant).await?;
    let addresses = service::addresses(&mut tx, shopper.customer()).await?;
    Ok(Json(ListResponse::all(addresses)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AddressRequest {
    #[serde(flatten)]
    address: AddressDto,
    #[serde(default)]
    is_default: bool,
}

/// `POST /store/customers/me/addresses`.
async fn add_address(
    shopper: SignedIn<CustomersState>,
    ApiJson(body): ApiJson<AddressRequest>,
) -> Result<(StatusCode, Json<AddressResponse>), Problem> {
    let address = body.address.parse("address").map_err(|errors| {
        // Field names without the prefix: the address is the whole body here.
        Problem::validation(
            errors.into_iter().map(|e| FieldError::new(e.field.trim_start_matches("address."), e.message)).collect(),
        )
    })?;
    let mut tx = shopper.state.db.tenant_tx(&shopper.tenant).await?;
    let saved = service::add_address(&mut tx, shopper.customer(), &address, body.is_default).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// `DELETE /store/customers/me/addresses/{id}`.
async fn delete_address(shopper: SignedIn<CustomersState>, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    let id = AddressId::parse(&id).ok_or(Error::NotFound)?;
    let mut tx = shopper.state.db.tenant_tx(&shopper.tenant).await?;
    service::remove_address(&mut tx, shopper.customer(), id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ResetRequest {
    email: String,
}

/// `POST /store/customers/password-reset`: always 202, whether or not the
/// email belongs to a customer.
async fn request_reset(
    State(state): State<CustomersState>,
    TenantCtx(tenant): TenantCtx,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    if let Ok(email) = Email::parse(&body.email) {
        service::request_password_reset(&state, &tenant, &email).await?;
    }
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ConfirmResetRequest {
    token: String,
    password: String,
}

/// `POST /store/customers/password-reset/confirm`.
async fn confirm_reset(
    State(state): State<CustomersState>,
    TenantCtx(tenant): TenantCtx,
    ApiJson(body): ApiJson<ConfirmResetRequest>,
) -> Result<StatusCode, Problem> {
    let password =
        Password::parse(&body.password).map_err(|e| Problem::validation(vec![FieldError::new("password", e)]))?;
    service::confirm_password_reset(&state, &tenant, body.token.trim(), &password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AdminListParams {
    q: Option<String>,
}

/// Staff read the store's customers; nothing under `/admin/customers` writes.
const READ: Scope = Scope::read(Area::Customers);

/// `GET /admin/customers?q=&limit=&cursor=`.
async fn admin_list(
    staff: Staff<CustomersState>,
    params: Result<ApiQuery<AdminListParams>, Problem>,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<CustomerResponse>>, Problem> {
    staff.allow(READ)?;
    let (ApiQuery(params), page) = (params?, page?);
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let customers = service::list(&mut tx, page, q).await?;
    Ok(Json(page.respond(customers, |c| c.id.as_uuid(), CustomerResponse::from)))
}

/// `GET /admin/customers/{id}`.
async fn admin_get(staff: Staff<CustomersState>, Path(id): Path<String>) -> Result<Json<CustomerResponse>, Problem> {
    staff.allow(READ)?;
    let id = CustomerId::parse(&id).ok_or(Error::NotFound)?;
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let customer = service::customer(&mut tx, id).await?;
    with_addresses(&mut tx, customer).await
}

/// A customer with their saved addresses, in the caller's transaction.
async fn with_addresses(tx: &mut TenantTx, customer: Customer) -> Result<Json<CustomerResponse>, Problem> {
    let addresses = service::addresses(tx, customer.id).await?;
    let mut response = CustomerResponse::from(customer);
    response.addresses = Some(addresses.into_iter().map(Into::into).collect());
    Ok(Json(response))
}
