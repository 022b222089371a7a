//! The data plane's side of authentication: verifying tokens and resolving API keys.

use std::{sync::Arc, time::Duration};

use axum::http::request::Parts;
use moka::future::Cache;
use sqlx::PgPool;

use super::{hash_secret, ApiKeyRecord, AuthError, Claims, KeyRing};
use crate::{
    ids::{ApiKeyId, TenantId},
    problem::Problem,
};

/// Everything the data plane needs to authenticate a request. Cheap to clone;
/// clones share the key ring and the API-key cache.
#[derive(Clone)]
pub struct Authenticator {
    /// Verifies JWTs; public so a service can verify a token outside an extractor.
    pub keys: KeyRing,
    control: PgPool,
    /// Resolved keys by hash, misses included, for 30 s; a revocation drops a
    /// store's entries at once through [`Authenticator::forget_tenant_keys`].
    api_keys: Cache<Vec<u8>, Option<Arc<ApiKeyRecord>>>,
}

impl Authenticator {
    /// An authenticator verifying tokens with `keys` and reading API keys
    /// from the control database.
    pub fn new(control: PgPool, keys: KeyRing) -> Self {
        Self {
            keys,
            api_keys: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(30))
                .support_invalidation_closures()
                .build(),
            control,
        }
    }

    /// The active API key with this value, if any.
    pub async fn api_key(&self, key: &str) -> anyhow::Result<Option<Arc<ApiKeyRecord>>> {
        let hash = hash_secret(key);
        let control = self.control.clone();
        self.api_keys
            .try_get_with(hash.clone(), async move {
                let row: Option<(uuid::Uuid, uuid::Uuid, Vec<String>)> = sqlx::query_as(
                    "select api_key_id, tenant_id, scopes from control.api_key \
                     where key_hash = $1 and revoked_at is null",
                )
                .bind(&hash)
                .fetch_optional(&control)
                .await?;
                Ok::<_, anyhow::Error>(row.map(|(id, tenant, scopes)| {
                    Arc::new(ApiKeyRecord {
                        id: ApiKeyId::from_uuid(id),
                        tenant_id: TenantId::from_uuid(tenant),
                        scopes,
                    })
                }))
            })
            .await
            .map_err(|e| anyhow::anyhow!("api key lookup failed: {e:#}"))
    }

    /// Drops cached API keys of a store (after a revocation is announced).
    pub fn forget_tenant_keys(&self, tenant: TenantId) {
        let _ = self.api_keys.invalidate_entries_if(move |_, v| v.as_ref().is_some_and(|k| k.tenant_id == tenant));
    }

    /// The claims of the request's bearer token if it verifies for `audience`
    /// and is bound to `tenant`; `None` for every refusal alike. Fails (503)
    /// only when the signing keys cannot be read.
    pub(super) async fn store_token(
        &self,
        parts: &Parts,
        audience: &str,
        tenant: TenantId,
    ) -> Result<Option<Claims>, Problem> {
        let Some(token) = bearer(parts) else { return Ok(None) };
        self.store_token_value(token, audience, tenant).await
    }

    /// [`Self::store_token`] of a token given as text (a page's session cookie).
    pub(super) async fn store_token_value(
        &self,
        token: &str,
        audience: &str,
        tenant: TenantId,
    ) -> Result<Option<Claims>, Problem> {
        let claims = match self.keys.verify_for(token, audience).await {
            Ok(claims) => claims,
            Err(AuthError::Unavailable) => return Err(keys_unavailable()),
            Err(e) => {
                tracing::debug!(error = %e, audience, "token refused");
                return Ok(None);
            }
        };
        Ok((claims.tid.as_deref() == Some(tenant.to_string().as_str())).then_some(claims))
    }
}

/// The 503 of a token that cannot be checked because the signing keys cannot
/// be read (the control plane's JWKS or database does not answer).
pub fn keys_unavailable() -> Problem {
    Problem::unavailable("The platform's signing keys cannot be read; retry in a moment.").with_retry_after(1)
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
