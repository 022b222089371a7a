//! `/admin/products`: products in every status, with their options and categories.

use std::collections::{BTreeMap, HashSet};

use axum::{extract::Path, http::StatusCode, Json};
use platform::{
    extract::{ApiQuery, ListResponse},
    money::Currency,
    problem::{ApiJson, Problem},
};
use serde::Deserialize;

use super::{checks::Checks, variants::VariantIn, AdminListParams, Staff, READ, WRITE};
use crate::{
    catalog::{
        model::{check_attributes, CategoryId, NewProduct, ProductId, ProductOption, ProductPatch, ProductStatus},
        repo,
        routes::ProductResponse,
        service, Error,
    },
    wire::nullable,
};

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct OptionIn {
    name: String,
    values: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateProductRequest {
    title: String,
    handle: Option<String>,
    status: Option<String>,
    description: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    options: Vec<OptionIn>,
    variants: Vec<VariantIn>,
    #[serde(default)]
    category_ids: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateProductRequest {
    title: Option<String>,
    handle: Option<String>,
    status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    attributes: Option<BTreeMap<String, String>>,
    options: Option<Vec<OptionIn>>,
    category_ids: Option<Vec<String>>,
}

impl Checks {
    fn status(&mut self, value: &str) -> ProductStatus {
        ProductStatus::parse(value).unwrap_or_else(|| {
            self.fail("status", "must be draft, active or archived");
            ProductStatus::Draft
        })
    }

    fn attributes(&mut self, attributes: &BTreeMap<String, String>) {
        if let Err(message) = check_attributes(attributes) {
            self.fail("attributes", message);
        }
    }

    fn options(&mut self, options: Vec<OptionIn>) -> Vec<ProductOption> {
        let mut names = HashSet::new();
        if options.len() > 10 {
            self.fail("options", "at most 10 options");
        }
        options
            .into_iter()
            .enumerate()
            .map(|(n, o)| {
                let name = self.text(&format!("options[{n}].name"), &o.name, 100);
                if !names.insert(name.clone()) {
                    self.fail(format!("options[{n}].name"), "is used by another option");
                }
                let mut seen = HashSet::new();
                if o.values.is_empty() || o.values.len() > 100 {
                    self.fail(format!("options[{n}].values"), "must hold 1 to 100 values");
                }
                let values = o
                    .values
                    .iter()
                    .enumerate()
                    .map(|(m, v)| {
                        let v = self.text(&format!("options[{n}].values[{m}]"), v, 100);
                        if !seen.insert(v.clone()) {
                            self.fail(format!("options[{n}].values[{m}]"), "appears twice");
                        }
                        v
                    })
                    .collect();
                ProductOption { name, values }
            })
            .collect()
    }

    fn category_ids(&mut self, ids: &[String]) -> Vec<CategoryId> {
        self.ids("category_ids", ids, CategoryId::parse, "is not a category id")
    }
}

fn parse_new_product(body: CreateProductRequest, currency: Currency) -> Result<NewProduct, Problem> {
    let mut checks = Checks::default();
    let title = checks.text("title", &body.title, 500);
    let handle = checks.handle_or_derived(body.handle.as_deref(), &title, "title");
    let status = checks.status(body.status.as_deref().unwrap_or("draft"));
    let description = checks.optional_text("description", body.description.as_deref(), 50_000);
    checks.attributes(&body.attributes);
    let options = checks.options(body.options);
    if body.variants.is_empty() || body.variants.len() > 100 {
        checks.fail("variants", "must hold 1 to 100 variants");
    }
    let mut skus = HashSet::new();
    let mut variants = Vec::with_capacity(body.variants.len());
    for (n, variant) in body.variants.into_iter().enumerate() {
        if !skus.insert(variant.sku.trim().to_owned()) {
            checks.fail(format!("variants[{n}].sku"), "appears twice in this product");
        }
        if let Some(variant) = checks.variant(&format!("variants[{n}]"), variant, currency) {
            variants.push(variant);
        }
    }
    let category_ids = checks.category_ids(&body.category_ids);
    let product = handle.map(|handle| NewProduct {
        title,
        handle,
        description,
        status,
        attributes: body.attributes,
        options,
        variants,
        category_ids,
    });
    checks.finish_parsed(product)
}

/// `POST /admin/products`.
pub(crate) async fn create_product(
    staff: Staff,
    ApiJson(body): ApiJson<CreateProductRequest>,
) -> Result<(StatusCode, Json<ProductResponse>), Problem> {
    staff.allow(WRITE)?;
    let product = parse_new_product(body, staff.tenant.currency)?;
    let (language, max_products) = (staff.language(), staff.max_products().await?);
    let product = staff.write(async |tx| service::create_product(tx, language, max_products, product).await).await?;
    Ok((StatusCode::CREATED, Json(staff.product(product))))
}

/// `GET /admin/products?status=&limit=&cursor=`: every status, newest first.
pub(crate) async fn list_products(
    staff: Staff,
    params: Result<ApiQuery<AdminListParams>, Problem>,
) -> Result<Json<ListResponse<ProductResponse>>, Problem> {
    staff.allow(READ)?;
    let ApiQuery(params) = params?;
    let page = params.page()?;
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(
            ProductStatus::parse(raw)
                .ok_or_else(|| Problem::invalid_parameter("status", "must be draft, active or archived"))?,
        ),
    };
    let after = page.after.map(ProductId::from_uuid);
    let products = repo::list_products_any_status(&mut staff.begin().await?, status, page.limit, after).await?;
    Ok(Json(page.respond(products, |p| p.id.as_uuid(), |p| staff.product(p))))
}

/// `GET /admin/products/{id}`: any status.
pub(crate) async fn get_product(staff: Staff, Path(id): Path<String>) -> Result<Json<ProductResponse>, Problem> {
    staff.allow(READ)?;
    let id = ProductId::parse(&id).ok_or(Error::ProductNotFound)?;
    let product = service::product_any_status(&mut staff.begin().await?, id).await?;
    Ok(Json(staff.product(product)))
}

/// `PATCH /admin/products/{id}`: changes the given fields only.
pub(crate) async fn update_product(
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateProductRequest>,
) -> Result<Json<ProductResponse>, Problem> {
    staff.allow(WRITE)?;
    let id = ProductId::parse(&id).ok_or(Error::ProductNotFound)?;
    let mut checks = Checks::default();
    let patch = ProductPatch {
        title: body.title.as_deref().map(|t| checks.text("title", t, 500)),
        handle: body.handle.as_deref().and_then(|h| checks.handle("handle", h)),
        description: body.description.map(|d| checks.optional_text("description", d.as_deref(), 50_000)),
        status: body.status.as_deref().map(|s| checks.status(s)),
        attributes: body.attributes.inspect(|a| checks.attributes(a)),
        options: body.options.map(|o| checks.options(o)),
        category_ids: body.category_ids.map(|ids| checks.category_ids(&ids)),
    };
    let patch = checks.finish(patch)?;
    let language = staff.language();
    let product = staff.write(async |tx| service::update_product(tx, language, id, patch).await).await?;
    Ok(Json(staff.product(product)))
}

/// `DELETE /admin/products/{id}`.
pub(crate) async fn delete_product(staff: Staff, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    staff.allow(WRITE)?;
    let id = ProductId::parse(&id).ok_or(Error::ProductNotFound)?;
    staff.delete(async |tx| service::delete_product(tx, id).await).await
}
