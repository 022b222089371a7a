//! Checkout option rules other contexts call: what applies to a cart or order.

use platform::{db::TenantTx, money::Currency, problem::FieldError};

use super::{
    model::{
        Code, Country, DiscountCode, DiscountCodeId, NewDiscountCode, NewShippingMethod, NewTaxRate, ShippingMethod,
        ShippingMethodId, TaxRate, TaxRateId,
    },
    repo, Error,
};

/// Why a discount code does not apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiscountRefusal {
    /// No such code in this store, or switched off.
    #[error("is not a valid code")]
    Unknown,
    /// Past its expiry.
    #[error("has expired")]
    Expired,
    /// Every use is taken.
    #[error("has no uses left")]
    Exhausted,
    /// The subtotal is below the code's minimum.
    #[error("needs a subtotal of at least {0} minor units")]
    BelowMinimum(i64),
}

/// Active shipping methods, and the tax rate for an address (most specific first).
pub async fn options_for(
    tx: &mut TenantTx,
    country: Option<&Country>,
    region: Option<&str>,
) -> anyhow::Result<(Vec<ShippingMethod>, Option<TaxRate>)> {
    repo::options_for(tx, country.map(AsRef::as_ref), region.unwrap_or_default()).await
}

/// Redeems one use of `code` for a subtotal, atomically against its limit.
pub async fn redeem(
    tx: &mut TenantTx,
    code: &Code,
    subtotal: i64,
    currency: Currency,
) -> anyhow::Result<Result<DiscountCode, DiscountRefusal>> {
    if let Some(redeemed) = repo::redeem_discount(tx, code.as_ref(), subtotal, currency).await? {
        return Ok(Ok(redeemed));
    }
    // Only the refused path reads the code again, to say why.
    let found = repo::find_discount_by_code(tx, code.as_ref()).await?;
    Ok(Err(refusal(found.as_ref(), subtotal, currency)))
}

/// Gives back a use redeemed for an order that did not go through.
pub async fn unredeem(tx: &mut TenantTx, id: DiscountCodeId) -> anyhow::Result<()> {
    Ok(repo::unredeem_discount(tx, id).await?)
}

/// The code as it would apply now, without redeeming it (cart previews).
pub async fn preview(
    tx: &mut TenantTx,
    code: &Code,
    subtotal: i64,
    currency: Currency,
) -> anyhow::Result<Result<DiscountCode, DiscountRefusal>> {
    let found = repo::find_discount_by_code(tx, code.as_ref()).await?;
    match found {
        Some(d) if applies(&d, subtotal, currency) => Ok(Ok(d)),
        other => Ok(Err(refusal(other.as_ref(), subtotal, currency))),
    }
}

fn applies(d: &DiscountCode, subtotal: i64, currency: Currency) -> bool {
    d.active
        && d.currency == currency
        && d.expires_at.is_none_or(|at| at > chrono::Utc::now())
        && d.usage_limit.is_none_or(|limit| d.used_count < limit)
        && d.min_subtotal <= subtotal
}

fn refusal(found: Option<&DiscountCode>, subtotal: i64, currency: Currency) -> DiscountRefusal {
    match found {
        None => DiscountRefusal::Unknown,
        Some(d) if !d.active || d.currency != currency => DiscountRefusal::Unknown,
        Some(d) if d.expires_at.is_some_and(|at| at <= chrono::Utc::now()) => DiscountRefusal::Expired,
        Some(d) if d.min_subtotal > subtotal => DiscountRefusal::BelowMinimum(d.min_subtotal),
        Some(_) => DiscountRefusal::Exhausted,
    }
}

/// Every shipping method.
pub async fn shipping_methods(tx: &mut TenantTx) -> Result<Vec<ShippingMethod>, Error> {
    Ok(repo::list_shipping_methods(tx).await?)
}

/// Adds a shipping method.
pub async fn add_shipping_method(tx: &mut TenantTx, method: NewShippingMethod) -> Result<ShippingMethod, Error> {
    Ok(repo::insert_shipping_method(tx, &method).await?)
}

/// Removes a shipping method.
pub async fn remove_shipping_method(tx: &mut TenantTx, id: ShippingMethodId) -> Result<(), Error> {
    repo::delete_shipping_method(tx, id).await?.then_some(()).ok_or(Error::NotFound)
}

/// Every tax rate.
pub async fn tax_rates(tx: &mut TenantTx) -> Result<Vec<TaxRate>, Error> {
    Ok(repo::list_tax_rates(tx).await?)
}

/// Adds a tax rate.
pub async fn add_tax_rate(tx: &mut TenantTx, rate: NewTaxRate) -> Result<TaxRate, Error> {
    Ok(repo::insert_tax_rate(tx, &rate).await?)
}

/// Removes a tax rate.
pub async fn remove_tax_rate(tx: &mut TenantTx, id: TaxRateId) -> Result<(), Error> {
    repo::delete_tax_rate(tx, id).await?.then_some(()).ok_or(Error::NotFound)
}

/// Every discount code.
pub async fn discount_codes(tx: &mut TenantTx) -> Result<Vec<DiscountCode>, Error> {
    Ok(repo::list_discount_codes(tx).await?)
}

/// One discount code.
pub async fn discount_code(tx: &mut TenantTx, id: DiscountCodeId) -> Result<DiscountCode, Error> {
    repo::find_discount_code(tx, id).await?.ok_or(Error::NotFound)
}

/// Adds a discount code.
pub async fn add_discount_code(tx: &mut TenantTx, code: NewDiscountCode) -> Result<DiscountCode, Error> {
    if code.usage_limit.is_some_and(|l| l < 0) {
        return Err(Error::Invalid(vec![FieldError::new("usage_limit", "must be 0 or more")]));
    }
    let row = repo::insert_discount_code(tx, &code).await?;
    Ok(repo::discount_from_row(row)?)
}

/// Switches a discount code off (kept for the orders that used it).
pub async fn deactivate_discount_code(tx: &mut TenantTx, id: DiscountCodeId) -> Result<(), Error> {
    repo::deactivate_discount_code(tx, id).await?.then_some(()).ok_or(Error::NotFound)
}
