//! `GET /v1/admin/signing-keys`, `POST /v1/admin/signing-keys/rotate`: platform admins only.

use axum::{
    extract::State,
    routing::{get, post},
    Json, Router,
};
use platform::{
    extract::{ListResponse, OptionalJson},
    http::RequestIdHeader,
    problem::{FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    model::{Audience, Rotation, SigningKey},
    service, SigningKeysState,
};
use crate::{audit::Actor, identity::Principal, wire::rfc3339};

pub(super) mod openapi;

/// Listing and rotating the signing keys.
pub fn router() -> Router<SigningKeysState> {
    Router::new().route("/v1/admin/signing-keys", get(list)).route("/v1/admin/signing-keys/rotate", post(rotate))
}

#[derive(Serialize, utoipa::ToSchema)]
struct SigningKeyResponse {
    kid: String,
    /// `commerce-platform` (staff) or `commerce-storefront` (shoppers).
    audience: String,
    created_at: String,
    /// When it stops verifying; in the future while it is retiring.
    retired_at: Option<String>,
    /// `signing`, `verifying`, `retiring` or `retired`.
    status: String,
}

impl From<SigningKey> for SigningKeyResponse {
    fn from(key: SigningKey) -> Self {
        Self {
            kid: key.kid,
            audience: key.audience,
            created_at: rfc3339(key.created_at),
            retired_at: key.retired_at.map(rfc3339),
            status: key.status.as_str().to_owned(),
        }
    }
}

#[derive(Default, Deserialize, utoipa::ToSchema)]
struct RotateRequest {
    /// Rotate only this audience; both when absent.
    audience: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RotationResponse {
    audience: String,
    /// The new key, signing from now on.
    kid: String,
    /// The keys it replaces, verifying until `retire_at`.
    retiring: Vec<String>,
    retire_at: String,
}

impl From<Rotation> for RotationResponse {
    fn from(rotation: Rotation) -> Self {
        Self {
            audience: rotation.audience.as_str().to_owned(),
            kid: rotation.kid,
            retiring: rotation.retiring,
            retire_at: rfc3339(rotation.retire_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct RotateResponse {
    rotated: Vec<RotationResponse>,
}

/// Every key, newest first: kid, audience, dates, status; never private material.
async fn list(
    State(state): State<SigningKeysState>,
    principal: Principal,
) -> Result<Json<ListResponse<SigningKeyResponse>>, Problem> {
    principal.require_platform_admin()?;
    Ok(Json(ListResponse::all(service::list(&state).await?)))
}

/// Rotates one audience (or both): a new key signs at once; the previous ones
/// verify until their tokens have expired. Audited.
async fn rotate(
    State(state): State<SigningKeysState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    OptionalJson(request): OptionalJson<RotateRequest>,
) -> Result<Json<RotateResponse>, Problem> {
    principal.require_platform_admin()?;
    let audiences = match request.audience.as_deref() {
        None => Audience::ALL.to_vec(),
        Some(raw) => vec![Audience::parse(raw).ok_or_else(|| {
            Problem::validation(vec![FieldError::new("audience", "must be commerce-platform or commerce-storefront")])
        })?],
    };
    let rotations = service::rotate(&state, &audiences, &Actor::of(&principal, request_id)).await?;
    Ok(Json(RotateResponse { rotated: rotations.into_iter().map(Into::into).collect() }))
}
