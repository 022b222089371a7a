//! Product media: upload URLs (presigned S3 or our own signed local URL),
//! confirmation, and the local backend's upload and read endpoints.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use platform::{
    media::{ObjectKey, UploadError},
    problem::{ApiJson, FieldError, Problem},
    tenancy::TenantCtx,
};
use serde::{Deserialize, Serialize};

use super::{
    admin::{Staff, WRITE},
    request_origin, MediaResponse, LOCAL_UPLOAD_LIMIT,
};
use crate::catalog::{
    model::{MediaId, ProductId},
    service, CatalogState, Error,
};

/// Media types accepted for product media, with the extension their keys get.
const CONTENT_TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/gif", "gif"),
    ("image/avif", "avif"),
    ("video/mp4", "mp4"),
];

/// Largest object an upload URL is issued for.
const MAX_BYTES: i64 = 50 * 1024 * 1024;

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct CreateUploadRequest {
    content_type: String,
    byte_size: i64,
    alt: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct UploadDto {
    url: String,
    method: &'static str,
    headers: std::collections::BTreeMap<String, String>,
    expires_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CreateUploadResponse {
    #[serde(flatten)]
    media: MediaResponse,
    key: String,
    upload: UploadDto,
}

/// The (product, media) ids of a media object's path.
fn media_path((product, media): (String, String)) -> Result<(ProductId, MediaId), Error> {
    Ok((ProductId::parse(&product).ok_or(Error::ProductNotFound)?, MediaId::parse(&media).ok_or(Error::MediaNotFound)?))
}

/// `POST /admin/products/{id}/media` with `{"content_type", "byte_size", "alt"?}`:
/// records a pending media object and answers with where to `PUT` its bytes.
/// The upload must send exactly the returned headers. Confirm it with
/// `POST …/media/{media_id}/complete` (local uploads confirm themselves).
pub(super) async fn create_upload(
    staff: Staff,
    Path(product): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateUploadRequest>,
) -> Result<(StatusCode, Json<CreateUploadResponse>), Problem> {
    staff.allow(WRITE)?;
    let (state, tenant) = (&staff.state, &staff.tenant);
    let product = ProductId::parse(&product).ok_or(Error::ProductNotFound)?;
    let mut errors = Vec::new();
    let extension = CONTENT_TYPES.iter().find(|(ct, _)| *ct == body.content_type).map(|(_, ext)| *ext);
    if extension.is_none() {
        let allowed: Vec<_> = CONTENT_TYPES.iter().map(|(ct, _)| *ct).collect();
        errors.push(FieldError::new("content_type", format!("must be one of {}", allowed.join(", "))));
    }
    let limit = if state.media.is_local() { LOCAL_UPLOAD_LIMIT as i64 } else { MAX_BYTES };
    if !(1..=limit).contains(&body.byte_size) {
        errors.push(FieldError::new("byte_size", format!("must be 1 to {limit} bytes")));
    }
    let alt = body.alt.as_deref().map(str::trim).filter(|a| !a.is_empty());
    if alt.is_some_and(|a| a.chars().count() > 500) {
        errors.push(FieldError::new("alt", "must be at most 500 characters"));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors).into());
    }
    let id = MediaId::new();
    let extension = extension.unwrap_or("bin");
    let key = ObjectKey::new(tenant.id, &format!("products/{product}/{id}.{extension}"))
        .ok_or_else(|| Problem::internal(anyhow::anyhow!("generated media key is unsafe")))?;

    let mut tx = staff.begin().await?;
    let media = service::add_media(&mut tx, product, id, key.as_str(), &body.content_type, body.byte_size, alt).await?;
    let byte_size = u64::try_from(body.byte_size).map_err(anyhow::Error::from)?;
    let upload = state.media.presign_upload(&key, &body.content_type, byte_size, &request_origin(&headers)).await?;
    tx.commit().await?;
    // Pending media is not shown to shoppers, so the storefront cache stays valid.

    let expires_at: chrono::DateTime<chrono::Utc> = upload.expires_at.into();
    Ok((
        StatusCode::CREATED,
        Json(CreateUploadResponse {
            media: MediaResponse::new(media, |key| state.media.public_url(key)),
            key: key.as_str().to_owned(),
            upload: UploadDto {
                url: upload.url,
                method: upload.method,
                headers: upload.headers.into_iter().collect(),
                expires_at: expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
        }),
    ))
}

/// `POST /admin/products/{id}/media/{media_id}/complete`: the upload is done;
/// shoppers see the media from now on. With the local backend the object must exist.
pub(super) async fn complete_upload(
    staff: Staff,
    Path(path): Path<(String, String)>,
) -> Result<Json<MediaResponse>, Problem> {
    staff.allow(WRITE)?;
    let (product, media) = media_path(path)?;
    let (state, tenant) = (&staff.state, &staff.tenant);
    let media = staff
        .write(async |tx| {
            let found = service::media(tx, product, media).await?;
            let key = ObjectKey::parse_for(tenant.id, &found.storage_key)
                .ok_or_else(|| Problem::internal(anyhow::anyhow!("stored media key outside the store's prefix")))?;
            if state.media.exists_locally(&key).await == Some(false) {
                return Err(Problem::conflict("upload-missing", "Nothing was uploaded for this media yet."));
            }
            Ok(service::mark_media_ready(tx, product, media).await?)
        })
        .await?;
    Ok(Json(MediaResponse::new(media, |key| state.media.public_url(key))))
}

/// `DELETE /admin/products/{id}/media/{media_id}`.
pub(super) async fn delete_media(staff: Staff, Path(path): Path<(String, String)>) -> Result<StatusCode, Problem> {
    staff.allow(WRITE)?;
    let (product, media) = media_path(path)?;
    staff.delete(async |tx| service::delete_media(tx, product, media).await).await
}

/// `PUT /media/uploads/{token}` (local backend): the token is the credential. It
/// must be signed by us for this store's host and not expired; content type and
/// size must be the ones it was issued for. Marks the media ready.
pub(super) async fn local_upload(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    let grant = state.media.verify_upload(tenant.id, &token).map_err(|_| {
        Problem::new(StatusCode::FORBIDDEN, "bad-upload-token", "Forbidden", "This upload URL is not valid here.")
    })?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if let Err(e) = state.media.write_local(&grant, content_type, &body).await {
        return Err(match e.downcast_ref::<UploadError>() {
            Some(UploadError::Mismatch(message)) => {
                Problem::new(StatusCode::BAD_REQUEST, "upload-mismatch", "Bad request", *message)
            }
            _ => Problem::internal(e),
        });
    }
    let mut tx = state.db.tenant_tx(&tenant).await?;
    let known = service::mark_media_ready_by_key(&mut tx, grant.key.as_str()).await?;
    tx.commit().await?;
    if known {
        state.storefront_cache.invalidate(tenant.id).await;
    }
    Ok(StatusCode::OK)
}

/// `GET /media/{key}` (local backend): only keys under the resolved store's prefix.
pub(super) async fn local_read(
    State(state): State<CatalogState>,
    TenantCtx(tenant): TenantCtx,
    Path(key): Path<String>,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found("media-not-found", "No such media in this store.");
    let key = ObjectKey::parse_for(tenant.id, &key).ok_or_else(not_found)?;
    let bytes = state.media.read_local(&key).await?.ok_or_else(not_found)?;
    let extension = key.as_str().rsplit('.').next().unwrap_or_default();
    let content_type =
        CONTENT_TYPES.iter().find(|(_, ext)| *ext == extension).map_or("application/octet-stream", |(ct, _)| *ct);
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], bytes)
        .into_response())
}
