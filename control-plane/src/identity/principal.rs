//! Who is calling a control-plane route, from the bearer token: a signed
//! access token (JWT), or a platform API token (`cpt_…`, `platform_tokens`).

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};
use platform::{
    auth::{bearer, hash_secret, keys_unavailable, AuthError, KeyRing, Role},
    db::Db,
    ids::TenantId,
    problem::Problem,
};

use super::{
    model::{AccountId, PlatformTokenId},
    platform_tokens::PREFIX,
    repo,
};

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    pub account_id: AccountId,
    /// Its role in the token.
    pub role: Role,
    /// The store the token is bound to (none for platform admins).
    pub tenant_id: Option<TenantId>,
    /// The platform API token the caller used, if it used one rather than a JWT.
    pub platform_token: Option<PlatformTokenId>,
}

impl Principal {
    /// Whether the caller operates the platform.
    pub fn is_platform_admin(&self) -> bool {
        self.role == Role::PlatformAdmin
    }

    /// 403 unless the caller is a platform admin.
    pub fn require_platform_admin(&self) -> Result<(), Problem> {
        if self.is_platform_admin() {
            Ok(())
        } else {
            Err(Problem::forbidden("Only platform admins may do this."))
        }
    }

    /// Platform admins reach every store; staff only the store their token is bound
    /// to, with at least `min` role. Another store answers 404, as if it did not
    /// exist; too low a role in one's own store answers 403.
    pub fn require_store(&self, tenant: TenantId, min: Role) -> Result<(), Problem> {
        if self.is_platform_admin() {
            return Ok(());
        }
        if self.tenant_id != Some(tenant) {
            return Err(store_not_found());
        }
        if self.role < min {
            return Err(Problem::forbidden(format!("This needs the {} role or higher.", min.as_str())));
        }
        Ok(())
    }

    /// How the audit log names the caller: the account, or the platform token
    /// acting for it (the entry's `actor_id` is the account either way).
    pub fn actor(&self) -> String {
        match self.platform_token {
            Some(token) => format!("platform_token:{token}"),
            None => format!("account:{}", self.account_id),
        }
    }
}

/// The 404 of a store the caller cannot see, alike whether it exists or not.
pub fn store_not_found() -> Problem {
    Problem::not_found("tenant-not-found", "No such store.")
}

fn refused() -> Problem {
    Problem::unauthorized("A valid bearer token is required.")
}

impl<S> FromRequestParts<S> for Principal
where
    KeyRing: FromRef<S>,
    Db: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let token = bearer(parts).ok_or_else(refused)?;
        if token.starts_with(PREFIX) {
            return platform_token(&Db::from_ref(state), token).await;
        }
        let claims = KeyRing::from_ref(state).verify(token).await.map_err(|e| match e {
            AuthError::Unavailable => keys_unavailable(),
            e => {
                tracing::debug!(error = %e, "token refused");
                refused()
            }
        })?;
        let account_id = AccountId::parse(&claims.sub).ok_or_else(refused)?;
        // Shopper tokens carry another audience and fail `verify`; refusing the
        // role as well keeps that true if audiences are ever shared.
        let role = Role::parse(&claims.role).filter(|r| *r != Role::Customer).ok_or_else(refused)?;
        let tenant_id = match claims.tid.as_deref() {
            Some(tid) => Some(TenantId::parse(tid).ok_or_else(refused)?),
            None => None,
        };
        // Store roles come with a store; the platform role never does.
        if (role == Role::PlatformAdmin) == tenant_id.is_some() {
            return Err(refused());
        }
        Ok(Self { account_id, role, tenant_id, platform_token: None })
    }
}

/// A platform API token's caller: its minter as platform admin, while the token
/// is live (see `repo::find_live_platform_token`).
async fn platform_token(db: &Db, token: &str) -> Result<Principal, Problem> {
    let mut conn = db.control().acquire().await.map_err(anyhow::Error::from)?;
    let found = repo::find_live_platform_token(&mut conn, &hash_secret(token)).await.map_err(anyhow::Error::from)?;
    let (id, account_id) = found.ok_or_else(refused)?;
    Ok(Principal { account_id, role: Role::PlatformAdmin, tenant_id: None, platform_token: Some(id) })
}

impl<S> OptionalFromRequestParts<S> for Principal
where
    KeyRing: FromRef<S>,
    Db: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    /// No `Authorization` header → `None`; a header with a bad token → 401.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Problem> {
        if parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
            <Self as FromRequestParts<S>>::from_request_parts(parts, state).await.map(Some)
        } else {
            Ok(None)
        }
    }
}
