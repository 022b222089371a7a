//! Checkout options SQL.

use chrono::{DateTime, Utc};
use platform::{
    db::TenantTx,
    money::{Currency, Money},
};
use uuid::Uuid;

use super::model::{
    Country, DiscountCode, DiscountCodeId, DiscountKind, NewDiscountCode, NewShippingMethod, NewTaxRate,
    ShippingMethod, ShippingMethodId, TaxRate, TaxRateId,
};
use crate::statements::{fetch_all, fetch_optional, write_one};

fn currency(code: &str) -> anyhow::Result<Currency> {
    Currency::parse(code.trim()).ok_or_else(|| anyhow::anyhow!("stored currency {code:?} is not ISO 4217"))
}

type ShippingRow = (Uuid, String, i64, String, Option<i64>, bool);
const SHIPPING_COLUMNS: &str = "shipping_method_id, name, amount, currency, free_over_amount, active";

fn shipping((id, name, amount, code, free_over, active): ShippingRow) -> anyhow::Result<ShippingMethod> {
    Ok(ShippingMethod {
        id: ShippingMethodId::from_uuid(id),
        name,
        price: Money::new(amount, currency(&code)?),
        free_over,
        active,
    })
}

type TaxRow = (Uuid, String, String, String, i32, bool);
const TAX_COLUMNS: &str = "tax_rate_id, country, region, name, rate_bps, inclusive";

fn tax((id, country, region, name, rate_bps, inclusive): TaxRow) -> anyhow::Result<TaxRate> {
    let country = Country::parse(&country).map_err(|e| anyhow::anyhow!("stored country {country:?} {e}"))?;
    Ok(TaxRate { id: TaxRateId::from_uuid(id), country, region, name, rate_bps, inclusive })
}

type DiscountRow =
    (Uuid, String, String, Option<i32>, Option<i64>, String, i64, Option<DateTime<Utc>>, Option<i32>, i32, bool);
const DISCOUNT_COLUMNS: &str = "discount_code_id, code, kind, percent_off, amount_off, currency, min_subtotal, \
                                expires_at, usage_limit, used_count, active";

fn discount(row: DiscountRow) -> anyhow::Result<DiscountCode> {
    let (id, code, kind, percent, amount, cur, min_subtotal, expires_at, usage_limit, used_count, active) = row;
    let kind = match (kind.as_str(), percent, amount) {
        ("percentage", Some(p), _) => DiscountKind::Percentage(p),
        ("fixed", _, Some(a)) => DiscountKind::Fixed(a),
        _ => anyhow::bail!("stored discount {id} has no value for its kind"),
    };
    Ok(DiscountCode {
        id: DiscountCodeId::from_uuid(id),
        code,
        kind,
        currency: currency(&cur)?,
        min_subtotal,
        expires_at,
        usage_limit,
        used_count,
        active,
    })
}

/// Active shipping methods and the most specific tax rate for an address, in one query.
pub async fn options_for(
    tx: &mut TenantTx,
    country: Option<&str>,
    region: &str,
) -> anyhow::Result<(Vec<ShippingMethod>, Option<TaxRate>)> {
    let (methods, rate): (sqlx::types::Json<Vec<serde_json::Value>>, Option<sqlx::types::Json<serde_json::Value>>) =
        sqlx::query_as(
            "select coalesce((select json_agg(json_build_array(shipping_method_id, name, amount, currency, \
                                                               free_over_amount, active) \
                                              order by shipping_method_id) \
                              from shipping_method where tenant_id = $1 and active), '[]'), \
                    (select json_build_array(tax_rate_id, country, region, name, rate_bps, inclusive) \
                     from tax_rate where tenant_id = $1 and country = $2 and region in ($3, '') \
                     order by region desc limit 1)",
        )
        .bind(tx.tenant_id())
        .bind(country)
        .bind(region)
        .fetch_one(&mut **tx)
        .await?;
    let methods = methods
        .0
        .into_iter()
        .map(|m| shipping(serde_json::from_value::<ShippingRow>(m)?))
        .collect::<anyhow::Result<_>>()?;
    let rate = rate.map(|r| serde_json::from_value::<TaxRow>(r.0)).transpose()?.map(tax).transpose()?;
    Ok((methods, rate))
}

/// Every shipping method of the store.
pub async fn list_shipping_methods(tx: &mut TenantTx) -> anyhow::Result<Vec<ShippingMethod>> {
    let sql =
        format!("select {SHIPPING_COLUMNS} from shipping_method where tenant_id = $1 order by shipping_method_id");
    fetch_all(tx, &sql, ()).await?.into_iter().map(shipping).collect()
}

/// Adds a shipping method.
pub async fn insert_shipping_method(tx: &mut TenantTx, method: &NewShippingMethod) -> anyhow::Result<ShippingMethod> {
    let row: ShippingRow = sqlx::query_as(&format!(
        "insert into shipping_method (tenant_id, shipping_method_id, name, amount, currency, free_over_amount) \
         values ($1, $2, $3, $4, $5, $6) returning {SHIPPING_COLUMNS}"
    ))
    .bind(tx.tenant_id())
    .bind(ShippingMethodId::new())
    .bind(&method.name)
    .bind(method.price.amount)
    .bind(method.price.currency.as_str())
    .bind(method.free_over)
    .fetch_one(&mut **tx)
    .await?;
    shipping(row)
}

/// Removes a shipping method; false when there was none.
pub async fn delete_shipping_method(tx: &mut TenantTx, id: ShippingMethodId) -> sqlx::Result<bool> {
    write_one(tx, "delete from shipping_method where tenant_id = $1 and shipping_method_id = $2", (id,)).await
}

/// Every tax rate of the store.
pub async fn list_tax_rates(tx: &mut TenantTx) -> anyhow::Result<Vec<TaxRate>> {
    let sql = format!("select {TAX_COLUMNS} from tax_rate where tenant_id = $1 order by country, region");
    fetch_all(tx, &sql, ()).await?.into_iter().map(tax).collect()
}

/// Adds a tax rate.
pub async fn insert_tax_rate(tx: &mut TenantTx, rate: &NewTaxRate) -> Result<TaxRate, sqlx::Error> {
    let row: TaxRow = sqlx::query_as(&format!(
        "insert into tax_rate (tenant_id, tax_rate_id, country, region, name, rate_bps, inclusive) \
         values ($1, $2, $3, $4, $5, $6, $7) returning {TAX_COLUMNS}"
    ))
    .bind(tx.tenant_id())
    .bind(TaxRateId::new())
    .bind(rate.country.as_ref())
    .bind(&rate.region)
    .bind(&rate.name)
    .bind(rate.rate_bps)
    .bind(rate.inclusive)
    .fetch_one(&mut **tx)
    .await?;
    tax(row).map_err(|e| sqlx::Error::Decode(e.into()))
}

/// Removes a tax rate; false when there was none.
pub async fn delete_tax_rate(tx: &mut TenantTx, id: TaxRateId) -> sqlx::Result<bool> {
    write_one(tx, "delete from tax_rate where tenant_id = $1 and tax_rate_id = $2", (id,)).await
}

/// Every discount code of the store, newest first.
pub async fn list_discount_codes(tx: &mut TenantTx) -> anyhow::Result<Vec<DiscountCode>> {
    let sql =
        format!("select {DISCOUNT_COLUMNS} from discount_code where tenant_id = $1 order by discount_code_id desc");
    fetch_all(tx, &sql, ()).await?.into_iter().map(discount).collect()
}

/// A discount code by id.
pub async fn find_discount_code(tx: &mut TenantTx, id: DiscountCodeId) -> anyhow::Result<Option<DiscountCode>> {
    let sql = format!("select {DISCOUNT_COLUMNS} from discount_code where tenant_id = $1 and discount_code_id = $2");
    fetch_optional(tx, &sql, (id,)).await?.map(discount).transpose()
}

/// A discount code by what shoppers type.
pub async fn find_discount_by_code(tx: &mut TenantTx, code: &str) -> anyhow::Result<Option<DiscountCode>> {
    let row: Option<DiscountRow> =
        sqlx::query_as(&format!("select {DISCOUNT_COLUMNS} from discount_code where tenant_id = $1 and code = $2"))
            .bind(tx.tenant_id())
            .bind(code)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(discount).transpose()
}

/// Adds a discount code.
pub async fn insert_discount_code(tx: &mut TenantTx, code: &NewDiscountCode) -> Result<DiscountRow, sqlx::Error> {
    let (kind, percent, amount) = match code.kind {
        DiscountKind::Percentage(p) => ("percentage", Some(p), None),
        DiscountKind::Fixed(a) => ("fixed", None, Some(a)),
    };
    sqlx::query_as(&format!(
        "insert into discount_code (tenant_id, discount_code_id, code, kind, percent_off, amount_off, currency, \
                                    min_subtotal, expires_at, usage_limit) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning {DISCOUNT_COLUMNS}"
    ))
    .bind(tx.tenant_id())
    .bind(DiscountCodeId::new())
    .bind(code.code.as_ref())
    .bind(kind)
    .bind(percent)
    .bind(amount)
    .bind(code.currency.as_str())
    .bind(code.min_subtotal)
    .bind(code.expires_at)
    .bind(code.usage_limit)
    .fetch_one(&mut **tx)
    .await
}

/// Converts a row returned by [`insert_discount_code`].
pub fn discount_from_row(row: DiscountRow) -> anyhow::Result<DiscountCode> {
    discount(row)
}

/// Switches a code off; false when there was none.
pub async fn deactivate_discount_code(tx: &mut TenantTx, id: DiscountCodeId) -> sqlx::Result<bool> {
    write_one(tx, "update discount_code set active = false where tenant_id = $1 and discount_code_id = $2", (id,)).await
}

/// Redeems one use of a code, if it applies: a single conditional update, so
/// concurrent checkouts can never redeem more uses than the limit.
pub async fn redeem_discount(
    tx: &mut TenantTx,
    code: &str,
    subtotal: i64,
    currency: Currency,
) -> anyhow::Result<Option<DiscountCode>> {
    let row: Option<DiscountRow> = sqlx::query_as(&format!(
        "update discount_code set used_count = used_count + 1 \
         where tenant_id = $1 and code = $2 and active and currency = $4 \
           and (expires_at is null or expires_at > now()) \
           and (usage_limit is null or used_count < usage_limit) \
           and min_subtotal <= $3 \
         returning {DISCOUNT_COLUMNS}"
    ))
    .bind(tx.tenant_id())
    .bind(code)
    .bind(subtotal)
    .bind(currency.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(discount).transpose()
}

/// Gives back one use (the order it was redeemed for did not go through).
pub async fn unredeem_discount(tx: &mut TenantTx, id: DiscountCodeId) -> sqlx::Result<()> {
    sqlx::query(
        "update discount_code set used_count = used_count - 1 \
         where tenant_id = $1 and discount_code_id = $2 and used_count > 0",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
