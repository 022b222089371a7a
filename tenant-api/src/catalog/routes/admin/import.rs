//! `POST /admin/products/import`: products in bulk from CSV or JSON lines.

use axum::{
    body::Bytes,
    http::{header, HeaderMap, StatusCode},
    Json,
};
use platform::problem::Problem;
use serde::Serialize;

use super::{Staff, WRITE};
use crate::catalog::import;

#[derive(Serialize, utoipa::ToSchema)]
struct ImportErrorDto {
    row: usize,
    field: String,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ImportResponse {
    imported: usize,
    variants: usize,
    errors: Vec<ImportErrorDto>,
}

/// `text/csv` or `application/x-ndjson`: valid records are written, bad ones
/// reported by row; see `catalog::import`.
pub(crate) async fn import_products(
    staff: Staff,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportResponse>, Problem> {
    staff.allow(WRITE)?;
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
    let (language, currency, max_products) = (staff.language(), staff.tenant.currency, staff.max_products().await?);
    let report =
        staff.write(async |tx| import::import(tx, language, currency, max_products, records, errors).await).await?;
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
