//! `POST /admin/products/import`: products in bulk from CSV or JSON lines.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    Json,
};
use platform::{auth::StaffPrincipal, problem::Problem, tenancy::TenantCtx};
use serde::Serialize;

use super::{language, max_products, write, WRITE};
use crate::catalog::{import, CatalogState};

#[derive(Serialize, utoipa::ToSchema)]
struct ImportErrorDto {
    row: usize,
    field: String,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(in crate::catalog::routes) struct ImportResponse {
    imported: usize,
    variants: usize,
    errors: Vec<ImportErrorDto>,
}

/// `text/csv` or `application/x-ndjson`: valid records are written, bad ones
/// reported by row; see `catalog::import`.
pub(in crate::catalog::routes) async fn import_products(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    principal: StaffPrincipal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportResponse>, Problem> {
    principal.require(WRITE)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (records, errors) = match content_type.as_str() {
        "text/csv" => import::parse_csv(&body),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => import::parse_ndjson(&body),
        _ => {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "Send the file as text/csv or application/x-ndjson.",
            ))
        }
    };
    let max_products = max_products(&state, &tenant).await?;
    let (language, currency) = (language(&tenant), tenant.currency);
    let report =
        write(&state, &tenant, async |tx| import::import(tx, language, currency, max_products, records, errors).await)
            .await?;
    Ok(Json(ImportResponse {
        imported: report.imported,
        variants: report.variants,
        errors: report
            .errors
            .into_iter()
            .map(|e| ImportErrorDto { row: e.row, field: e.field, message: e.message })
            .collect(),
    }))
}
