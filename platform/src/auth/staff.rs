//! Store staff and API keys calling a store's `/admin` routes.

use axum::http::request::Parts;

use super::{Authenticator, Grant, Role, Scope, AUDIENCE};
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
    /// The token's role; API keys carry `staff` but are checked by their
    /// scopes alone (see [`Self::require_admin`]).
    pub role: Role,
    /// What an API key holds; `None` for staff tokens, which hold every scope
    /// and are limited by their role instead.
    pub scopes: Option<Vec<Grant>>,
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

    /// Allows an action every store role may do (reading anything, writing
    /// products, media and inventory, fulfilling and delivering orders): an
    /// API key must hold `scope`, any staff token may. Else a 403 problem.
    pub fn require(&self, scope: Scope) -> Result<(), Problem> {
        match &self.scopes {
            Some(grants) if !grants.iter().any(|grant| grant.covers(scope)) => {
                Err(Problem::forbidden(format!("This API key lacks the {scope} scope.")))
            }
            _ => Ok(()),
        }
    }

    /// Allows an action only a store's admins and owners may do (refunds,
    /// cancellations, shipping methods, tax rates, discount codes, webhooks,
    /// retrying what a job gave up on). A staff token with the `staff` role
    /// gets a 403 problem; an API key is held to `scope` only (a key with an
    /// area's write scope does that area's admin actions: whoever issued it,
    /// an admin, chose so).
    pub fn require_admin(&self, scope: Scope) -> Result<(), Problem> {
        self.require(scope)?;
        if self.scopes.is_none() && self.role < Role::Admin {
            return Err(Problem::forbidden("Only the store's admins and owners may do this."));
        }
        Ok(())
    }

    /// The caller of `tenant` by its API key (`x-api-key`, which wins) or its
    /// staff token (bearer, any store role); `None` for every refusal alike.
    /// Fails only when the key lookup does or the signing keys cannot be read.
    pub(super) async fn authenticate(
        auth: &Authenticator,
        parts: &Parts,
        tenant: TenantId,
    ) -> Result<Option<Self>, Problem> {
        if let Some(key) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            let record = auth.api_key(key.trim()).await?.filter(|record| record.tenant_id == tenant);
            return Ok(record.map(|record| Self {
                tenant_id: tenant,
                actor: Actor::ApiKey(record.id),
                role: Role::Staff,
                // A stored scope this build does not know grants nothing.
                scopes: Some(record.scopes.iter().filter_map(|s| Grant::parse(s).ok()).collect()),
            }));
        }
        let Some(claims) = auth.store_token(parts, AUDIENCE, tenant).await? else { return Ok(None) };
        let role = Role::parse(&claims.role).filter(|r| !matches!(r, Role::PlatformAdmin | Role::Customer));
        Ok(role.map(|role| Self { tenant_id: tenant, actor: Actor::Account(claims.sub), role, scopes: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Area;

    fn key(scopes: &[&str]) -> StaffPrincipal {
        StaffPrincipal {
            tenant_id: TenantId::new(),
            actor: Actor::ApiKey(ApiKeyId::from_uuid(uuid::Uuid::nil())),
            role: Role::Staff,
            scopes: Some(scopes.iter().map(|s| Grant::parse(s).unwrap()).collect()),
        }
    }

    fn token(role: Role) -> StaffPrincipal {
        StaffPrincipal { tenant_id: TenantId::new(), actor: Actor::Account("a".into()), role, scopes: None }
    }

    #[test]
    fn api_keys_are_held_to_their_scopes_for_every_action() {
        let write = Scope::write(Area::Catalog);
        assert!(key(&["catalog:read"]).require(Scope::read(Area::Catalog)).is_ok());
        assert!(key(&["catalog:read"]).require(write).is_err());
        assert!(key(&["catalog:*"]).require(write).is_ok());
        assert!(key(&["orders:*"]).require(write).is_err());
        assert!(key(&["checkout:write"]).require_admin(Scope::write(Area::Checkout)).is_ok());
        assert!(key(&["orders:read"]).require_admin(Scope::write(Area::Orders)).is_err());
        assert!(key(&["*"]).require_admin(Scope::write(Area::Webhooks)).is_ok());
    }

    #[test]
    fn staff_tokens_do_admin_actions_only_as_admins_or_owners() {
        let refund = Scope::write(Area::Orders);
        assert!(token(Role::Staff).require(refund).is_ok());
        let refused = token(Role::Staff).require_admin(refund).unwrap_err();
        assert_eq!(refused.status(), axum::http::StatusCode::FORBIDDEN);
        assert!(token(Role::Admin).require_admin(refund).is_ok());
        assert!(token(Role::Owner).require_admin(refund).is_ok());
    }
}
