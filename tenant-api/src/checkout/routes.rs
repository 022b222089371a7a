//! Checkout options HTTP: `/admin/shipping-methods`, `/admin/tax-rates`,
//! `/admin/discount-codes`: every staff token and `checkout:read` keys read;
//! only admins' and owners' tokens and `checkout:write` keys change them.

use axum::{
    extract::Path,
    http::StatusCode,
    routing::{delete, get},
    Json, Router,
};
use platform::{
    auth::{Area, Scope},
    db::TenantTx,
    extract::{ApiJson, ListResponse},
    money::Currency,
    problem::{FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    model::{
        Code, Country, DiscountCode, DiscountCodeId, DiscountKind, NewDiscountCode, NewShippingMethod, NewTaxRate,
        ShippingMethod, ShippingMethodId, TaxRate, TaxRateId,
    },
    repo, service, CheckoutState, Error,
};
use crate::{
    callers::Staff,
    wire::{timestamp, MoneyDto},
};

mod openapi;

pub(crate) use openapi::doc;

/// The checkout options' routes.
pub fn router() -> Router<CheckoutState> {
    Router::new()
        .route("/admin/shipping-methods", get(list_shipping).post(create_shipping))
        .route("/admin/shipping-methods/{id}", delete(delete_shipping))
        .route("/admin/tax-rates", get(list_tax).post(create_tax))
        .route("/admin/tax-rates/{id}", delete(delete_tax))
        .route("/admin/discount-codes", get(list_discounts).post(create_discount))
        .route("/admin/discount-codes/{id}", get(get_discount).delete(deactivate_discount))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ShippingRequest {
    name: String,
    price: MoneyDto,
    free_over: Option<MoneyDto>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ShippingResponse {
    id: String,
    name: String,
    price: MoneyDto,
    free_over: Option<MoneyDto>,
    active: bool,
}

impl From<ShippingMethod> for ShippingResponse {
    fn from(m: ShippingMethod) -> Self {
        Self {
            id: m.id.to_string(),
            name: m.name,
            free_over: m.free_over.map(|a| platform::money::Money::new(a, m.price.currency).into()),
            price: m.price.into(),
            active: m.active,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TaxRequest {
    country: String,
    region: Option<String>,
    name: Option<String>,
    rate_bps: i64,
    #[serde(default)]
    inclusive: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TaxResponse {
    id: String,
    country: String,
    region: Option<String>,
    name: String,
    rate_bps: i32,
    inclusive: bool,
}

impl From<TaxRate> for TaxResponse {
    fn from(r: TaxRate) -> Self {
        Self {
            id: r.id.to_string(),
            country: r.country.as_ref().to_owned(),
            region: (!r.region.is_empty()).then_some(r.region),
            name: r.name,
            rate_bps: r.rate_bps,
            inclusive: r.inclusive,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct DiscountRequest {
    code: String,
    kind: String,
    percent_off: Option<i64>,
    amount_off: Option<MoneyDto>,
    min_subtotal: Option<MoneyDto>,
    expires_at: Option<String>,
    usage_limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct DiscountResponse {
    id: String,
    code: String,
    kind: &'static str,
    percent_off: Option<i32>,
    amount_off: Option<MoneyDto>,
    min_subtotal: MoneyDto,
    expires_at: Option<String>,
    usage_limit: Option<i32>,
    used_count: i32,
    active: bool,
}

impl From<DiscountCode> for DiscountResponse {
    fn from(d: DiscountCode) -> Self {
        let money = |a| MoneyDto::from(platform::money::Money::new(a, d.currency));
        let (kind, percent_off, amount_off) = match d.kind {
            DiscountKind::Percentage(p) => ("percentage", Some(p), None),
            DiscountKind::Fixed(a) => ("fixed", None, Some(money(a))),
        };
        Self {
            id: d.id.to_string(),
            code: d.code.clone(),
            kind,
            percent_off,
            amount_off,
            min_subtotal: money(d.min_subtotal),
            expires_at: d.expires_at.map(timestamp),
            usage_limit: d.usage_limit,
            used_count: d.used_count,
            active: d.active,
        }
    }
}

impl ShippingRequest {
    /// The new option, or every field at fault.
    fn parse(self, currency: Currency) -> Result<NewShippingMethod, Problem> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        let price = self.price.parse("price", currency).map_err(|e| errors.push(e)).ok();
        let free_over = match &self.free_over {
            None => None,
            Some(m) => m.parse("free_over", currency).map_err(|e| errors.push(e)).ok().map(|m| m.amount),
        };
        let (Some(price), true) = (price, errors.is_empty()) else {
            return Err(Problem::validation(errors));
        };
        Ok(NewShippingMethod { name, price, free_over })
    }
}

impl TaxRequest {
    /// The new option, or every field at fault.
    fn parse(self) -> Result<NewTaxRate, Problem> {
        let mut errors = Vec::new();
        let country = Country::parse(&self.country).map_err(|e| errors.push(FieldError::new("country", e))).ok();
        let region = self.region.as_deref().map(str::trim).unwrap_or_default().to_owned();
        if region.chars().count() > 100 {
            errors.push(FieldError::new("region", "must be at most 100 characters"));
        }
        let name = self.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or("Tax").to_owned();
        if name.chars().count() > 100 {
            errors.push(FieldError::new("name", "must be at most 100 characters"));
        }
        let rate_bps = i32::try_from(self.rate_bps).ok().filter(|r| (0..=10_000).contains(r));
        if rate_bps.is_none() {
            errors.push(FieldError::new("rate_bps", "must be 0 to 10000 basis points"));
        }
        let (Some(country), Some(rate_bps), true) = (country, rate_bps, errors.is_empty()) else {
            return Err(Problem::validation(errors));
        };
        Ok(NewTaxRate { country, region, name, rate_bps, inclusive: self.inclusive })
    }
}

impl DiscountRequest {
    /// The new option, or every field at fault.
    fn parse(self, currency: Currency) -> Result<NewDiscountCode, Problem> {
        let mut errors = Vec::new();
        let code = Code::parse(&self.code).map_err(|e| errors.push(FieldError::new("code", e))).ok();
        let kind = match (self.kind.as_str(), self.percent_off, &self.amount_off) {
            ("percentage", Some(p), None) if (1..=100).contains(&p) => Some(DiscountKind::Percentage(p as i32)),
            ("percentage", _, _) => {
                errors
                    .push(FieldError::new("percent_off", "is required for a percentage, 1 to 100, without amount_off"));
                None
            }
            ("fixed", None, Some(m)) => match m.parse("amount_off", currency) {
                Ok(m) if m.amount > 0 => Some(DiscountKind::Fixed(m.amount)),
                Ok(_) => {
                    errors.push(FieldError::new("amount_off.amount", "must be more than 0"));
                    None
                }
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            ("fixed", _, _) => {
                errors.push(FieldError::new("amount_off", "is required for a fixed discount, without percent_off"));
                None
            }
            _ => {
                errors.push(FieldError::new("kind", "must be percentage or fixed"));
                None
            }
        };
        let min_subtotal = match &self.min_subtotal {
            None => 0,
            Some(m) => m.parse("min_subtotal", currency).map_err(|e| errors.push(e)).map_or(0, |m| m.amount),
        };
        let expires_at = match self.expires_at.as_deref() {
            None => None,
            Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
                .map(|at| at.with_timezone(&chrono::Utc))
                .map_err(|_| errors.push(FieldError::new("expires_at", "must be an RFC 3339 timestamp")))
                .ok(),
        };
        let usage_limit = match self.usage_limit {
            None => None,
            Some(limit) => {
                let parsed = i32::try_from(limit).ok().filter(|l| *l >= 0);
                if parsed.is_none() {
                    errors.push(FieldError::new("usage_limit", "must be 0 or more"));
                }
                parsed
            }
        };
        let (Some(code), Some(kind), true) = (code, kind, errors.is_empty()) else {
            return Err(Problem::validation(errors));
        };
        Ok(NewDiscountCode { code, kind, currency, min_subtotal, expires_at, usage_limit })
    }
}

/// Every route here is a staff member's.
type Admin = Staff<CheckoutState>;

/// A created option, or why not.
type Created<T> = Result<(StatusCode, Json<T>), Problem>;

const READ: Scope = Scope::read(Area::Checkout);
const WRITE: Scope = Scope::write(Area::Checkout);

impl Staff<CheckoutState> {
    /// Runs `work` in a transaction of the store that is dropped (read only).
    async fn read<T, E>(&self, work: impl AsyncFnOnce(&mut TenantTx) -> Result<T, E>) -> Result<T, Problem>
    where
        Error: From<E>,
    {
        let mut tx = self.state.db.tenant_tx(&self.tenant).await?;
        Ok(work(&mut tx).await.map_err(Error::from)?)
    }

    /// Runs `work` in a transaction of the store and commits it.
    async fn write<T, E>(&self, work: impl AsyncFnOnce(&mut TenantTx) -> Result<T, E>) -> Result<T, Problem>
    where
        Error: From<E>,
    {
        let mut tx = self.state.db.tenant_tx(&self.tenant).await?;
        let done = work(&mut tx).await.map_err(Error::from)?;
        tx.commit().await?;
        Ok(done)
    }

    /// Creates one option: checks `checkout:write`, parses the request in
    /// the store's currency (every field at fault at once), inserts it: 201.
    async fn create<N, T, D: From<T>, E>(
        &self,
        parse: impl FnOnce(Currency) -> Result<N, Problem>,
        insert: impl AsyncFnOnce(&mut TenantTx, N) -> Result<T, E>,
    ) -> Created<D>
    where
        Error: From<E>,
    {
        self.allow_admin(WRITE)?;
        let new = parse(self.tenant.currency)?;
        Ok((StatusCode::CREATED, Json(self.write(async |tx| insert(tx, new).await).await?.into())))
    }

    /// Lists everything of one kind (these lists are never paged).
    async fn list<T, D: From<T>>(
        &self,
        work: impl AsyncFnOnce(&mut TenantTx) -> anyhow::Result<Vec<T>>,
    ) -> Result<Json<ListResponse<D>>, Problem> {
        self.allow(READ)?;
        Ok(Json(ListResponse::all(self.read(work).await?)))
    }

    /// Deletes (or switches off) the item `raw` names: 204, or 404 when it
    /// names none.
    async fn remove<Id>(
        &self,
        raw: &str,
        parse: fn(&str) -> Option<Id>,
        delete: impl AsyncFnOnce(&mut TenantTx, Id) -> sqlx::Result<bool>,
    ) -> Result<StatusCode, Problem> {
        self.allow_admin(WRITE)?;
        let id = parse(raw).ok_or(Error::NotFound)?;
        if self.write(async |tx| delete(tx, id).await).await? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(Error::NotFound.into())
        }
    }
}

async fn list_shipping(admin: Admin) -> Result<Json<ListResponse<ShippingResponse>>, Problem> {
    admin.list(async |tx| repo::list_shipping_methods(tx).await).await
}

async fn create_shipping(admin: Admin, ApiJson(body): ApiJson<ShippingRequest>) -> Created<ShippingResponse> {
    admin.create(|currency| body.parse(currency), async |tx, new| repo::insert_shipping_method(tx, &new).await).await
}

async fn delete_shipping(admin: Admin, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    admin.remove(&id, ShippingMethodId::parse, repo::delete_shipping_method).await
}

async fn list_tax(admin: Admin) -> Result<Json<ListResponse<TaxResponse>>, Problem> {
    admin.list(async |tx| repo::list_tax_rates(tx).await).await
}

async fn create_tax(admin: Admin, ApiJson(body): ApiJson<TaxRequest>) -> Created<TaxResponse> {
    admin.create(|_| body.parse(), async |tx, new| repo::insert_tax_rate(tx, &new).await).await
}

async fn delete_tax(admin: Admin, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    admin.remove(&id, TaxRateId::parse, repo::delete_tax_rate).await
}

async fn list_discounts(admin: Admin) -> Result<Json<ListResponse<DiscountResponse>>, Problem> {
    admin.list(async |tx| repo::list_discount_codes(tx).await).await
}

async fn get_discount(admin: Admin, Path(id): Path<String>) -> Result<Json<DiscountResponse>, Problem> {
    admin.allow(READ)?;
    let id = DiscountCodeId::parse(&id).ok_or(Error::NotFound)?;
    let found = admin.read(async |tx| repo::find_discount_code(tx, id).await).await?;
    Ok(Json(found.ok_or(Error::NotFound)?.into()))
}

async fn create_discount(admin: Admin, ApiJson(body): ApiJson<DiscountRequest>) -> Created<DiscountResponse> {
    admin.create(|currency| body.parse(currency), async |tx, new| service::add_discount_code(tx, new).await).await
}

async fn deactivate_discount(admin: Admin, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    admin.remove(&id, DiscountCodeId::parse, repo::deactivate_discount_code).await
}
