//! What other contexts may know of the catalog when selling: a variant's
//! current price and whether it is on sale. Carts and checkout read prices
//! here on every use; a client never supplies one.

use platform::{
    db::TenantTx,
    money::{Currency, Money},
};

use super::model::{ProductId, VariantId};

/// A variant as checkout sees it.
#[derive(Clone, Debug)]
pub struct SaleVariant {
    pub variant_id: VariantId,
    pub product_id: ProductId,
    /// Product and variant title, e.g. "Classic Tee / M".
    pub title: String,
    /// Stock keeping unit.
    pub sku: String,
    /// Current unit price.
    pub price: Money,
    /// Whether shoppers may buy it (its product is active).
    pub on_sale: bool,
}

/// The variants of `ids` that exist in this store, in one query.
#[tracing::instrument(skip_all, fields(variants = ids.len()))]
pub async fn variants_for_sale(tx: &mut TenantTx, ids: &[VariantId]) -> anyhow::Result<Vec<SaleVariant>> {
    type Row = (VariantId, ProductId, String, String, String, i64, String, bool);
    let sql = "select v.variant_id, v.product_id, p.title, v.title, v.sku, v.price_amount, v.currency, \
                      p.status = 'active' \
               from product_variant v join product p on p.tenant_id = v.tenant_id and p.product_id = v.product_id \
               where v.tenant_id = $1 and v.variant_id = any($2)";
    let rows: Vec<Row> = crate::statements::fetch_all(tx, sql, (ids,)).await?;
    rows.into_iter()
        .map(|(variant_id, product_id, product_title, variant_title, sku, amount, currency, on_sale)| {
            let currency = Currency::parse(currency.trim())
                .ok_or_else(|| anyhow::anyhow!("stored currency {currency:?} is not ISO 4217"))?;
            let title =
                if variant_title == "Default" { product_title } else { format!("{product_title} / {variant_title}") };
            Ok(SaleVariant { variant_id, product_id, title, sku, price: Money::new(amount, currency), on_sale })
        })
        .collect()
}
