//! Checkout option rules other contexts call: what applies to a cart or order.

use platform::{db::TenantTx, money::Currency, problem::FieldError};

use super::{
    model::{Code, Country, DiscountCode, DiscountCodeId, NewDiscountCode, ShippingMethod, TaxRate},
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

/// Adds a discount code.
pub async fn add_discount_code(tx: &mut TenantTx, code: NewDiscountCode) -> Result<DiscountCode, Error> {
    if code.usage_limit.is_some_and(|l| l < 0) {
        return Err(Error::Invalid(vec![FieldError::new("usage_limit", "must be 0 or more")]));
    }
    let row = repo::insert_discount_code(tx, &code).await?;
    Ok(repo::discount_from_row(row)?)
}
