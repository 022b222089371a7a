//! `/admin/products/{id}/variants`: a product's purchasable variants.

use std::collections::BTreeMap;

use axum::{extract::Path, http::StatusCode, Json};
use platform::{
    money::Currency,
    problem::{ApiJson, Problem},
};
use serde::Deserialize;

use super::{checks::Checks, Staff, WRITE};
use crate::{
    catalog::{
        model::{NewVariant, ProductId, Sku, VariantId, VariantPatch},
        routes::ProductResponse,
        service, Error,
    },
    wire::{nullable, MoneyDto},
};

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct VariantIn {
    pub(super) sku: String,
    title: Option<String>,
    price: MoneyDto,
    compare_at_price: Option<MoneyDto>,
    weight_grams: Option<i64>,
    barcode: Option<String>,
    #[serde(default)]
    options: BTreeMap<String, String>,
    stock: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateVariantRequest {
    sku: Option<String>,
    title: Option<String>,
    price: Option<MoneyDto>,
    #[serde(default, deserialize_with = "nullable")]
    compare_at_price: Option<Option<MoneyDto>>,
    #[serde(default, deserialize_with = "nullable")]
    weight_grams: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    barcode: Option<Option<String>>,
    options: Option<BTreeMap<String, String>>,
}

impl Checks {
    /// A new variant, its fields named under `path` (`variants[2]`).
    pub(super) fn variant(&mut self, path: &str, v: VariantIn, currency: Currency) -> Option<NewVariant> {
        let sku = Sku::parse(v.sku.trim()).map_err(|m| self.fail(format!("{path}.sku"), m)).ok();
        let price = self.money(&format!("{path}.price"), &v.price, currency);
        let compare_at_price =
            v.compare_at_price.map(|m| self.money(&format!("{path}.compare_at_price"), &m, currency));
        if compare_at_price.is_some_and(|c| c.amount < price.amount) {
            self.fail(format!("{path}.compare_at_price.amount"), "must not be below the price");
        }
        let weight_grams = v.weight_grams.map(|w| self.count(&format!("{path}.weight_grams"), w));
        let barcode = self.optional_text(&format!("{path}.barcode"), v.barcode.as_deref(), 64);
        let stock = self.count(&format!("{path}.stock"), v.stock.unwrap_or(0));
        let title = match v.title.as_deref() {
            Some(title) => self.text(&format!("{path}.title"), title, 200),
            None => "Default".to_owned(),
        };
        Some(NewVariant { sku: sku?, title, price, compare_at_price, weight_grams, barcode, options: v.options, stock })
    }
}

/// The (product, variant) ids of a variant's path.
fn variant_path((product, variant): (String, String)) -> Result<(ProductId, VariantId), Error> {
    Ok((
        ProductId::parse(&product).ok_or(Error::ProductNotFound)?,
        VariantId::parse(&variant).ok_or(Error::VariantNotFound)?,
    ))
}

/// `POST /admin/products/{id}/variants`: adds a variant; answers with the product.
pub(crate) async fn add_variant(
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VariantIn>,
) -> Result<(StatusCode, Json<ProductResponse>), Problem> {
    staff.allow(WRITE)?;
    let id = ProductId::parse(&id).ok_or(Error::ProductNotFound)?;
    let mut checks = Checks::default();
    let variant = checks.variant("variant", body, staff.tenant.currency);
    let variant = checks.finish_parsed(variant)?;
    let product = staff.write(async |tx| service::add_variant(tx, id, variant).await).await?;
    Ok((StatusCode::CREATED, Json(staff.product(product))))
}

/// `PATCH /admin/products/{id}/variants/{variant_id}`.
pub(crate) async fn update_variant(
    staff: Staff,
    Path(path): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateVariantRequest>,
) -> Result<Json<ProductResponse>, Problem> {
    staff.allow(WRITE)?;
    let (id, variant) = variant_path(path)?;
    let mut checks = Checks::default();
    let currency = staff.tenant.currency;
    let patch = VariantPatch {
        sku: body.sku.and_then(|s| Sku::parse(s.trim()).map_err(|m| checks.fail("sku", m)).ok()),
        title: body.title.as_deref().map(|t| checks.text("title", t, 200)),
        price: body.price.map(|m| checks.money("price", &m, currency)),
        compare_at_price: body.compare_at_price.map(|m| m.map(|m| checks.money("compare_at_price", &m, currency))),
        weight_grams: body.weight_grams.map(|w| w.map(|w| checks.count("weight_grams", w))),
        barcode: body.barcode.map(|b| checks.optional_text("barcode", b.as_deref(), 64)),
        options: body.options,
    };
    let patch = checks.finish(patch)?;
    let product = staff.write(async |tx| service::update_variant(tx, id, variant, patch).await).await?;
    Ok(Json(staff.product(product)))
}

/// `DELETE /admin/products/{id}/variants/{variant_id}`.
pub(crate) async fn delete_variant(staff: Staff, Path(path): Path<(String, String)>) -> Result<StatusCode, Problem> {
    staff.allow(WRITE)?;
    let (id, variant) = variant_path(path)?;
    staff.delete(async |tx| service::delete_variant(tx, id, variant).await).await
}
