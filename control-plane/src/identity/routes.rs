//! Identity HTTP: the token endpoint, JWKS, OIDC sign-in.

use axum::{
    extract::State,
    routing::{get, post},
    Json, Router,
};
use platform::{
    ids::TenantId,
    problem::{ApiJson, FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    model::TokenPair,
    service::{self, IdentityState},
};

pub(super) mod openapi;

/// The JWKS.
pub(super) fn router() -> Router<IdentityState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
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
