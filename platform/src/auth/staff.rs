//! Store staff and API keys calling a store's `/admin` routes.

use axum::http::request::Parts;

use super::{Authenticator, Role, AUDIENCE};
use crate::{
    ids::{ApiKeyId, TenantId},
    problem::Problem,
};

/// Who is calling an `/admin` route of the resolved store: a staff token or an
/// API key of that store. Taken as an extractor; any other credential is a 401.
#[derive(Clone, Debug)]
pub struct StaffPrincipal {
    /// The store; always the resolved one.
    pub tenant_id: TenantId,
    /// The account or API key that acts, for audit trails.
    pub actor: Actor,
    /// Role (API keys act as `staff` limited by their scopes).
    pub role: Role,
    /// Scopes of an API key; `None` for staff tokens (all data-plane scopes).
    pub scopes: Option<Vec<String>>,
}

/// Who acted, as audit trails name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A staff account (JWT `sub`).
    Account(String),
    /// An API key.
    ApiKey(ApiKeyId),
}

impl StaffPrincipal {
    /// The detail of every 401: one message, so a client learns nothing about other stores.
    pub(super) const REFUSED: &str = "A valid staff token or API key of this store is required.";

    /// Refuses with 403 unless the caller holds `scope` (e.g. `catalog:write`).
    /// An API key with `catalog:*` holds every `catalog:` scope.
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        let Some(scopes) = &self.scopes else { return Ok(()) };
        let area = scope.split(':').next().unwrap_or(scope);
        let held = scopes.iter().any(|s| s == scope || s == "*" || *s == format!("{area}:*"));
        if held {
            Ok(())
        } else {
            Err(Problem::forbidden(format!("This API key lacks the {scope} scope.")))
        }
    }

    /// The caller of `tenant` by its API key (`x-api-key`, which wins) or its
    /// staff token (bearer, any store role); `None` for every refusal alike.
    /// Fails only when the key lookup does.
    pub(super) async fn authenticate(
        auth: &Authenticator,
        parts: &Parts,
        tenant: TenantId,
    ) -> anyhow::Result<Option<Self>> {
        if let Some(key) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            let record = auth.api_key(key.trim()).await?.filter(|record| record.tenant_id == tenant);
            return Ok(record.map(|record| Self {
                tenant_id: tenant,
                actor: Actor::ApiKey(record.id),
                role: Role::Staff,
                scopes: Some(record.scopes.clone()),
            }));
        }
        let Some(claims) = auth.store_token(parts, AUDIENCE, tenant).await else { return Ok(None) };
        let role = Role::parse(&claims.role).filter(|r| !matches!(r, Role::PlatformAdmin | Role::Customer));
        Ok(role.map(|role| Self { tenant_id: tenant, actor: Actor::Account(claims.sub), role, scopes: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_match_exactly_or_by_area_wildcard() {
        let p = |scopes: &[&str]| StaffPrincipal {
            tenant_id: TenantId::new(),
            actor: Actor::ApiKey(ApiKeyId::from_uuid(uuid::Uuid::nil())),
            role: Role::Staff,
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        };
        assert!(p(&["catalog:read"]).require("catalog:read").is_ok());
        assert!(p(&["catalog:read"]).require("catalog:write").is_err());
        assert!(p(&["catalog:*"]).require("catalog:write").is_ok());
        assert!(p(&["orders:*"]).require("catalog:write").is_err());
    }
}
