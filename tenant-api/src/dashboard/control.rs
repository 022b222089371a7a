//! The control plane, over HTTP: staff sign-in and refresh (`POST
//! /v1/auth/token`) and the settings the control plane owns (staff, API keys,
//! domains, payment and notification settings), called with the staff
//! member's own token. Every call is bounded by `CONTROL_PLANE_TIMEOUT_MS`,
//! connecting included; no answer in time is [`Unavailable`] (a 503 page).

use std::time::Duration;

use axum::http::{Method, StatusCode};
use platform::{config::Settings, ids::TenantId, loopback::Answer};
use serde_json::{json, Value};

/// The control plane did not answer (down, too slow, overloaded, or not configured).
#[derive(Debug)]
pub struct Unavailable;

/// Tokens of a signed-in staff member.
pub struct Tokens {
    pub access: String,
    /// Absent if the control plane issued none.
    pub refresh: Option<String>,
}

/// The control plane's base URL and an HTTP client with the time-out.
#[derive(Clone)]
pub struct ControlPlane {
    base: Option<String>,
    http: reqwest::Client,
}

impl ControlPlane {
    /// From `CONTROL_PLANE_URL` and `CONTROL_PLANE_TIMEOUT_MS`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let timeout = Duration::from_millis(settings.control_plane_timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let base = settings.control_plane_url.as_deref().map(|url| url.trim_end_matches('/').to_owned());
        Ok(Self { base, http })
    }

    /// A staff member's password grant for `tenant`: `Ok(None)` when the
    /// control plane refuses it (wrong password, not a member of this store).
    pub async fn sign_in(&self, tenant: TenantId, email: &str, password: &str) -> Result<Option<Tokens>, Unavailable> {
        let body =
            json!({"grant_type": "password", "email": email, "password": password, "tenant_id": tenant.to_string()});
        self.grant(body).await
    }

    /// A refresh grant: `Ok(None)` when the refresh token is refused.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Option<Tokens>, Unavailable> {
        self.grant(json!({"grant_type": "refresh_token", "refresh_token": refresh_token})).await
    }

    async fn grant(&self, body: Value) -> Result<Option<Tokens>, Unavailable> {
        let answer = self.call(Method::POST, "/v1/auth/token", None, Some(&body)).await?;
        match answer.status {
            status if status.is_success() => {
                let text = |key: &str| answer.body.get(key).and_then(Value::as_str).map(str::to_owned);
                let access = text("access_token").ok_or(Unavailable)?;
                Ok(Some(Tokens { access, refresh: text("refresh_token") }))
            }
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Ok(None),
            StatusCode::UNPROCESSABLE_ENTITY => Ok(None),
            _ => Err(Unavailable),
        }
    }

    /// `method path` on the control plane with `token` as the bearer; 5xx,
    /// 429 and no answer in time are [`Unavailable`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, Unavailable> {
        let base = self.base.as_deref().ok_or(Unavailable)?;
        let mut request = self.http.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            tracing::warn!(error = %e, "control plane call failed");
            Unavailable
        })?;
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Unavailable);
        }
        let bytes = response.bytes().await.map_err(|_| Unavailable)?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }
}
