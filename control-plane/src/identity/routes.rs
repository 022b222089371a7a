//! Identity HTTP: the token endpoint, JWKS, OIDC sign-in, platform API tokens.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
    Json, Router,
};
use platform::{
    extract::ListResponse,
    http::RequestIdHeader,
    ids::TenantId,
    problem::{ApiJson, FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    model::{PlatformToken, PlatformTokenId, TokenPair},
    platform_tokens,
    service::{self, IdentityState},
    Principal,
};
use crate::{audit::Actor, wire::rfc3339};

pub(super) mod openapi;

/// The JWKS and the platform API tokens.
pub(super) fn router() -> Router<IdentityState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/admin/platform-tokens", post(create_platform_token).get(list_platform_tokens))
        .route("/v1/admin/platform-tokens/{token_id}", delete(revoke_platform_token))
}

/// The token endpoint; [`super::sign_in_router`] adds OIDC sign-in.
pub(super) fn sign_in_router() -> Router<IdentityState> {
    Router::new().route("/v1/auth/token", post(token))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TokenRequest {
    grant_type: String,
    email: Option<String>,
    password: Option<String>,
    tenant_id: Option<String>,
    refresh_token: Option<String>,
}

/// The token response of both grants (and of onboarding and OIDC sign-in).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    role: &'static str,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
            tenant_id: pair.tenant_id.map(|t| t.to_string()),
            role: pair.role.as_str(),
        }
    }
}

/// `POST /v1/auth/token`: `grant_type` `password` or `refresh_token`.
async fn token(
    State(state): State<IdentityState>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let pair = match request.grant_type.as_str() {
        "password" => {
            let mut errors = Vec::new();
            if request.email.as_deref().is_none_or(str::is_empty) {
                errors.push(FieldError::new("email", "is required"));
            }
            if request.password.as_deref().is_none_or(str::is_empty) {
                errors.push(FieldError::new("password", "is required"));
            }
            let tenant = match request.tenant_id.as_deref() {
                None => None,
                Some(raw) => match TenantId::parse(raw) {
                    Some(id) => Some(id),
                    None => {
                        errors.push(FieldError::new("tenant_id", "must be a store id"));
                        None
                    }
                },
            };
            if !errors.is_empty() {
                return Err(Problem::validation(errors));
            }
            let (email, password) = (request.email.unwrap_or_default(), request.password.unwrap_or_default());
            service::password_grant(&state, &email, &password, tenant).await?
        }
        "refresh_token" => {
            let Some(token) = request.refresh_token.filter(|t| !t.is_empty()) else {
                return Err(Problem::validation(vec![FieldError::new("refresh_token", "is required")]));
            };
            service::refresh_grant(&state, &token).await?
        }
        _ => return Err(Problem::validation(vec![FieldError::new("grant_type", "must be password or refresh_token")])),
    };
    Ok(Json(pair.into()))
}

/// `GET /.well-known/jwks.json`: every active signing key's public half.
async fn jwks(State(state): State<IdentityState>) -> Result<Json<serde_json::Value>, Problem> {
    Ok(Json(platform::auth::jwks(state.db.control()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CreatePlatformTokenRequest {
    name: String,
    /// Days until it stops working; none: until revoked.
    expires_in_days: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PlatformTokenResponse {
    id: String,
    name: String,
    prefix: String,
    created_by: String,
    created_at: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
    /// Only in the answer that minted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl From<PlatformToken> for PlatformTokenResponse {
    fn from(t: PlatformToken) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            created_by: t.created_by.to_string(),
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
            token: None,
        }
    }
}

/// At most ten years: an expiry is a date, not an overflow.
const MAX_EXPIRY_DAYS: u32 = 3650;

/// `POST /v1/admin/platform-tokens`: a signed-in platform admin mints a token
/// that acts as them; 201 with the token, the only time it is shown.
async fn create_platform_token(
    State(state): State<IdentityState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    ApiJson(request): ApiJson<CreatePlatformTokenRequest>,
) -> Result<(StatusCode, Json<PlatformTokenResponse>), Problem> {
    principal.require_platform_admin()?;
    if principal.platform_token.is_some() {
        return Err(Problem::forbidden("A platform token cannot mint platform tokens; sign in as a platform admin."));
    }
    let name = request.name.trim();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if request.expires_in_days.is_some_and(|d| d == 0 || d > MAX_EXPIRY_DAYS) {
        errors.push(FieldError::new("expires_in_days", format!("must be 1 to {MAX_EXPIRY_DAYS}")));
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let expires_at = request.expires_in_days.map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d)));
    let actor = Actor::of(&principal, request_id);
    let issued = platform_tokens::issue(&state.db, name, expires_at, principal.account_id, &actor).await?;
    let mut response = PlatformTokenResponse::from(issued.token);
    response.token = Some(issued.secret);
    Ok((StatusCode::CREATED, Json(response)))
}

/// `GET /v1/admin/platform-tokens`: every token, newest first, never the secrets.
async fn list_platform_tokens(
    State(state): State<IdentityState>,
    principal: Principal,
) -> Result<Json<ListResponse<PlatformTokenResponse>>, Problem> {
    principal.require_platform_admin()?;
    let tokens = platform_tokens::list(&state.db).await?;
    Ok(Json(ListResponse::all(tokens)))
}

/// `DELETE /v1/admin/platform-tokens/{token_id}`: 204; the token stops working at once.
async fn revoke_platform_token(
    State(state): State<IdentityState>,
    principal: Principal,
    RequestIdHeader(request_id): RequestIdHeader,
    Path(token_id): Path<String>,
) -> Result<StatusCode, Problem> {
    principal.require_platform_admin()?;
    let not_found = || Problem::not_found("platform-token-not-found", "No such platform token.");
    let id = PlatformTokenId::parse(&token_id).ok_or_else(not_found)?;
    let actor = Actor::of(&principal, request_id);
    platform_tokens::revoke(&state.db, id, &actor).await?.ok_or_else(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}
