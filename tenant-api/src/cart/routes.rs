//! Cart HTTP under `/store/carts`.

use axum::{
    extract::Path,
    http::StatusCode,
    routing::{get, patch, post},
    Json, Router,
};
use platform::{
    extract::{ApiJson, OptionalJson},
    money::{Currency, Money},
    problem::{FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    model::{CartId, CartView, MAX_LINE_QUANTITY},
    service::{self, CartAccess},
    CartState, Error,
};
use crate::{
    catalog::model::VariantId,
    checkout::model::Code,
    customers::model::Email,
    wire::{nullable, MoneyDto},
};

mod openapi;

pub(crate) use openapi::doc;

/// The cart's routes.
pub fn router() -> Router<CartState> {
    Router::new()
        .route("/store/carts", post(create_cart))
        .route("/store/carts/{id}", get(get_cart).patch(update_cart))
        .route("/store/carts/{id}/items", post(add_item))
        .route("/store/carts/{id}/items/{item_id}", patch(update_item).delete(delete_item))
}

#[derive(Serialize, utoipa::ToSchema)]
struct ItemResponse {
    id: String,
    variant_id: String,
    title: String,
    sku: String,
    quantity: i32,
    unit_price: MoneyDto,
    total: MoneyDto,
    available: i32,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CartResponse {
    id: String,
    customer_id: Option<String>,
    email: Option<String>,
    items: Vec<ItemResponse>,
    discount_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discount_error: Option<String>,
    subtotal: MoneyDto,
    discount_total: MoneyDto,
    shipping_total: MoneyDto,
    tax_total: MoneyDto,
    total: MoneyDto,
}

fn response(view: CartView, currency: Currency) -> Json<CartResponse> {
    let money = |amount| MoneyDto::from(Money::new(amount, currency));
    Json(CartResponse {
        id: view.cart.id.as_ref().to_owned(),
        customer_id: view.cart.customer.map(|c| c.to_string()),
        email: view.cart.email,
        items: view
            .lines
            .into_iter()
            .map(|l| ItemResponse {
                id: l.item_id,
                variant_id: l.variant_id.to_string(),
                title: l.title,
                sku: l.sku,
                quantity: l.quantity,
                unit_price: l.unit_price.into(),
                total: l.total.into(),
                available: l.available,
            })
            .collect(),
        discount_code: view.applied_discount,
        discount_error: view.discount_error,
        subtotal: money(view.totals.subtotal),
        discount_total: money(view.totals.discount),
        shipping_total: money(view.totals.shipping),
        tax_total: money(view.totals.tax),
        total: money(view.totals.total),
    })
}

/// A shopper calling the cart's routes.
type Shopper = crate::callers::Shopper<CartState>;

impl Shopper {
    /// The cart the path's `id` names, as this shopper asks for it; an id
    /// that cannot be one we issued names no cart.
    fn cart(&self, id: &str) -> Result<CartAccess<'_>, Error> {
        let id = CartId::parse(id).ok_or(Error::NotFound)?;
        Ok(CartAccess { state: &self.state, tenant: &self.tenant, id, caller: self.customer() })
    }

    /// The cart an operation left, priced now, in the store's currency.
    fn answer(&self, view: CartView) -> Answer {
        Ok(response(view, self.tenant.currency))
    }
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
struct CreateCartRequest {
    email: Option<String>,
}

/// `POST /store/carts` with `{}` or `{"email"}`: a guest cart, or with a
/// customer token the customer's cart.
async fn create_cart(
    shopper: Shopper,
    OptionalJson(body): OptionalJson<CreateCartRequest>,
) -> Result<(StatusCode, Json<CartResponse>), Problem> {
    let email = match body.email.as_deref() {
        None => None,
        Some(raw) => Some(Email::parse(raw).map_err(|e| Problem::validation(vec![FieldError::new("email", e)]))?),
    };
    let view = service::create(&shopper.state, &shopper.tenant, shopper.customer(), email).await?;
    Ok((StatusCode::CREATED, response(view, shopper.tenant.currency)))
}

/// What the cart routes answer: the cart, priced now.
type Answer = Result<Json<CartResponse>, Problem>;

/// `GET /store/carts/{id}`.
async fn get_cart(shopper: Shopper, Path(id): Path<String>) -> Answer {
    shopper.answer(service::get(shopper.cart(&id)?).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UpdateCartRequest {
    #[serde(default, deserialize_with = "nullable")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    discount_code: Option<Option<String>>,
}

/// A change of details: `None` keeps one, `Some(None)` clears it.
type Details = (Option<Option<Email>>, Option<Option<Code>>);

impl UpdateCartRequest {
    /// The change, or every field at fault.
    fn parse(self) -> Result<Details, Problem> {
        let mut errors = Vec::new();
        let email = self
            .email
            .map(|e| e.and_then(|raw| Email::parse(&raw).map_err(|m| errors.push(FieldError::new("email", m))).ok()));
        let discount = self.discount_code.map(|d| {
            d.and_then(|raw| Code::parse(&raw).map_err(|m| errors.push(FieldError::new("discount_code", m))).ok())
        });
        if errors.is_empty() {
            Ok((email, discount))
        } else {
            Err(Problem::validation(errors))
        }
    }
}

/// `PATCH /store/carts/{id}` with `{"email"?, "discount_code"?}` (null clears).
async fn update_cart(shopper: Shopper, Path(id): Path<String>, ApiJson(body): ApiJson<UpdateCartRequest>) -> Answer {
    let (email, discount) = body.parse()?;
    shopper.answer(service::update_details(shopper.cart(&id)?, email, discount).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct UpdateItemRequest {
    quantity: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AddItemRequest {
    variant_id: String,
    quantity: i64,
}

fn quantity(raw: i64) -> Result<i32, FieldError> {
    i32::try_from(raw)
        .ok()
        .filter(|q| (1..=MAX_LINE_QUANTITY).contains(q))
        .ok_or_else(|| FieldError::new("quantity", format!("must be 1 to {MAX_LINE_QUANTITY}")))
}

impl AddItemRequest {
    /// The variant and units, or every field at fault.
    fn parse(self) -> Result<(VariantId, i32), Problem> {
        let variant =
            VariantId::parse(&self.variant_id).ok_or_else(|| FieldError::new("variant_id", "must be a variant id"));
        match (variant, quantity(self.quantity)) {
            (Ok(variant), Ok(quantity)) => Ok((variant, quantity)),
            (variant, quantity) => Err(Problem::validation(variant.err().into_iter().chain(quantity.err()).collect())),
        }
    }
}

/// `POST /store/carts/{id}/items` with `{"variant_id", "quantity"}`.
async fn add_item(shopper: Shopper, Path(id): Path<String>, ApiJson(body): ApiJson<AddItemRequest>) -> Answer {
    let (variant, quantity) = body.parse()?;
    shopper.answer(service::add_item(shopper.cart(&id)?, variant, quantity).await?)
}

/// `PATCH /store/carts/{id}/items/{item_id}` with `{"quantity"}`.
async fn update_item(
    shopper: Shopper,
    Path((id, item)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateItemRequest>,
) -> Answer {
    let quantity = quantity(body.quantity).map_err(|e| Problem::validation(vec![e]))?;
    shopper.answer(service::set_item(shopper.cart(&id)?, &item, quantity).await?)
}

/// `DELETE /store/carts/{id}/items/{item_id}`: the cart without the item.
async fn delete_item(shopper: Shopper, Path((id, item)): Path<(String, String)>) -> Answer {
    shopper.answer(service::remove_item(shopper.cart(&id)?, &item).await?)
}
