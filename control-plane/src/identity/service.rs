//! Sign-in rules: grants, refresh rotation, bootstrap admin.

use std::{sync::Arc, time::Duration};

use platform::{
    auth::{Role, Signer},
    db::Db,
    ids::TenantId,
    problem::{FieldError, Problem},
};
use rand_core::{OsRng, RngCore};
use secrecy::ExposeSecret;
use sqlx::PgConnection;

use super::{
    model::{Account, AccountId, Email, Member, Password, TokenFamilyId, TokenPair},
    password, repo,
};
use crate::{error::context_error, settings::ControlSettings};

/// What identity's handlers need.
#[derive(Clone, axum::extract::FromRef)]
pub struct IdentityState {
    pub db: Db,
    /// Verifies the bearer tokens of the platform-token routes.
    pub keys: platform::auth::KeyRing,
    /// Pending OIDC logins.
    pub redis: redis::aio::ConnectionManager,
    pub tokens: Tokens,
    /// Bounds concurrent argon2 work.
    pub hasher: password::Hasher,
    /// The OIDC client and its allow list.
    pub settings: Arc<ControlSettings>,
}

/// Issues token pairs: the signing key and both lifetimes.
#[derive(Clone)]
pub struct Tokens {
    signer: Signer,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl Tokens {
    /// Tokens signed by `signer` that live as long as `settings` say.
    pub fn new(signer: Signer, settings: &ControlSettings) -> Self {
        Self {
            signer,
            access_ttl: Duration::from_secs(settings.access_token_ttl_secs),
            refresh_ttl: Duration::from_secs(settings.refresh_token_ttl_secs),
        }
    }
}

context_error! {
    /// Outcomes of sign-in a client handles differently.
    pub enum Error {
        /// Wrong email, password, store or refresh token: one answer for all.
        #[error("invalid grant")]
        InvalidGrant,
        /// The account belongs to several stores; the request must name one.
        #[error("tenant required")]
        TenantRequired,
        /// Malformed input.
        #[error("invalid request")]
        Invalid(Vec<FieldError>),
        /// Every password-hashing permit is taken: retry shortly.
        #[error("overloaded")]
        Overloaded,
    }
    as problems {
        Error::InvalidGrant => Problem::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid-grant",
            "Unauthorized",
            "The credentials are not valid.",
        ),
        Error::TenantRequired => Problem::validation(vec![FieldError::new(
            "tenant_id",
            "is required: this account belongs to several stores",
        )]),
        Error::Invalid(errors) => Problem::validation(errors),
        Error::Overloaded => overloaded(),
    }
}

/// The answer when password hashing is saturated: 503 with `Retry-After: 1`.
pub fn overloaded() -> Problem {
    Problem::overloaded("Too many sign-ins are being checked at once; retry in a moment.", 1)
}

impl From<password::HashError> for Error {
    fn from(e: password::HashError) -> Self {
        match e {
            password::HashError::Overloaded => Self::Overloaded,
            password::HashError::Failed(e) => Self::Internal(e),
        }
    }
}

/// `grant_type=password`.
#[tracing::instrument(skip_all)]
pub async fn password_grant(
    state: &IdentityState,
    email: &str,
    password: &str,
    tenant: Option<TenantId>,
) -> Result<TokenPair, Error> {
    let mut conn = state.db.control().acquire().await?;
    let account = repo::find_account_by_email(&mut conn, email).await?;
    // No connection is held while waiting for a hashing permit and hashing:
    // a burst of sign-ins must not drain the pool every other route needs.
    drop(conn);
    let Some(account) = verified(&state.hasher, account, password).await? else {
        return Err(Error::InvalidGrant);
    };
    let mut conn = state.db.control().acquire().await?;
    let (tenant, role) = match tenant {
        Some(tenant) => {
            let role = repo::membership_role(&mut conn, tenant, account.id).await?.ok_or(Error::InvalidGrant)?;
            (Some(tenant), role)
        }
        None if account.is_platform_admin => (None, Role::PlatformAdmin),
        None => match repo::memberships(&mut conn, account.id).await?.as_slice() {
            [] => return Err(Error::InvalidGrant),
            [(tenant, role)] => (Some(*tenant), *role),
            _ => return Err(Error::TenantRequired),
        },
    };
    issue_pair(&mut conn, &state.tokens, account.id, tenant, role, TokenFamilyId::new()).await
}

async fn verified(
    hasher: &password::Hasher,
    account: Option<Account>,
    password: &str,
) -> Result<Option<Account>, password::HashError> {
    match account {
        Some(account) => match account.password_hash.clone() {
            Some(hash) => Ok(hasher.verify(hash, password.to_owned()).await?.then_some(account)),
            None => Ok(None),
        },
        None => hasher.dummy_verify(password.to_owned()).await.map(|_| None),
    }
}

/// `grant_type=refresh_token`: single use; a reused token revokes its whole family.
#[tracing::instrument(skip_all)]
pub async fn refresh_grant(state: &IdentityState, refresh_token: &str) -> Result<TokenPair, Error> {
    let mut tx = state.db.control().begin().await?;
    let hash = platform::auth::hash_secret(refresh_token);
    let row = repo::use_refresh_token(&mut tx, &hash).await?.ok_or(Error::InvalidGrant)?;
    if !row.first_use {
        // Someone used it before: either the client retried, or it was stolen.
        // Either way the family ends here; the owner signs in again.
        repo::revoke_family(&mut tx, row.family_id).await?;
        tx.commit().await?;
        tracing::warn!(account_id = %row.account_id, "refresh token reused; family revoked");
        return Err(Error::InvalidGrant);
    }
    if row.expired || row.revoked {
        return Err(Error::InvalidGrant);
    }
    // Roles are read again: a removed member cannot refresh their way back in.
    let role = match row.tenant_id {
        Some(tenant) => repo::membership_role(&mut tx, tenant, row.account_id).await?.ok_or(Error::InvalidGrant)?,
        None if repo::is_platform_admin(&mut tx, row.account_id).await? => Role::PlatformAdmin,
        None => return Err(Error::InvalidGrant),
    };
    let pair = issue_pair(&mut tx, &state.tokens, row.account_id, row.tenant_id, role, row.family_id).await?;
    tx.commit().await?;
    Ok(pair)
}

/// Issues an access token and stores a new refresh token in `family`.
pub async fn issue_pair(
    conn: &mut PgConnection,
    tokens: &Tokens,
    account: AccountId,
    tenant: Option<TenantId>,
    role: Role,
    family: TokenFamilyId,
) -> Result<TokenPair, Error> {
    let access_token = tokens.signer.issue(&account.to_string(), tenant, role, tokens.access_ttl)?;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let refresh_token = format!("rt_{}", hex::encode(bytes));
    let expires_at = chrono::Utc::now()
        + chrono::Duration::seconds(i64::try_from(tokens.refresh_ttl.as_secs()).unwrap_or(i64::MAX / 2));
    let token = repo::NewRefreshToken {
        hash: &platform::auth::hash_secret(&refresh_token),
        family,
        account,
        tenant,
        role,
        expires_at,
    };
    repo::insert_refresh_token(conn, token).await?;
    Ok(TokenPair { access_token, expires_in: tokens.access_ttl.as_secs(), refresh_token, tenant_id: tenant, role })
}

/// Creates the first platform admin from `BOOTSTRAP_ADMIN_EMAIL` / `_PASSWORD`
/// unless an account with that email exists.
pub async fn ensure_bootstrap_admin(
    db: &Db,
    settings: &ControlSettings,
    hasher: &password::Hasher,
) -> anyhow::Result<()> {
    let (Some(email), Some(password)) = (&settings.bootstrap_admin_email, &settings.bootstrap_admin_password) else {
        return Ok(());
    };
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("BOOTSTRAP_ADMIN_EMAIL {e}"))?;
    let password =
        Password::parse(password.expose_secret()).map_err(|e| anyhow::anyhow!("BOOTSTRAP_ADMIN_PASSWORD {e}"))?;
    let mut conn = db.control().acquire().await?;
    if repo::find_account_by_email(&mut conn, email.as_ref()).await?.is_some() {
        return Ok(());
    }
    let hash = hasher.hash(password.expose().to_owned()).await.map_err(anyhow::Error::from)?;
    if repo::insert_account(&mut conn, email.as_ref(), Some(&hash), true).await?.is_some() {
        tracing::info!(email = email.as_ref(), "bootstrap platform admin created");
    }
    Ok(())
}

/// Finds the account for `email`, or creates it with `password`. An existing
/// account must prove the password, so nobody can attach a store to someone else.
pub async fn find_or_create_owner(
    conn: &mut PgConnection,
    hasher: &password::Hasher,
    email: &Email,
    password: &Password,
) -> Result<Account, Error> {
    if let Some(account) = repo::find_account_by_email(conn, email.as_ref()).await? {
        return verified(hasher, Some(account), password.expose()).await?.ok_or(Error::InvalidGrant);
    }
    let hash = hasher.hash(password.expose().to_owned()).await?;
    match repo::insert_account(conn, email.as_ref(), Some(&hash), false).await? {
        Some(account) => Ok(account),
        // Created concurrently by another request: it must still prove the password.
        None => {
            let account = repo::find_account_by_email(conn, email.as_ref()).await?;
            verified(hasher, account, password.expose()).await?.ok_or(Error::InvalidGrant)
        }
    }
}

/// Adds a member to a store.
pub async fn add_membership(
    conn: &mut PgConnection,
    tenant: TenantId,
    account: AccountId,
    role: Role,
) -> Result<(), Error> {
    repo::upsert_membership(conn, tenant, account, role).await?;
    Ok(())
}

/// Makes an account a member of a store with `role`; `false` (and no change)
/// when it already is one, whatever its role.
pub async fn join_store(
    conn: &mut PgConnection,
    tenant: TenantId,
    account: AccountId,
    role: Role,
) -> Result<bool, Error> {
    Ok(repo::insert_membership(conn, tenant, account, role).await?)
}

/// A page of a store's members, newest account first.
pub async fn members(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: Option<AccountId>,
    limit: i64,
) -> Result<Vec<Member>, Error> {
    Ok(repo::members(conn, tenant, after, limit).await?)
}

/// One member of a store.
pub async fn find_member(
    conn: &mut PgConnection,
    tenant: TenantId,
    account: AccountId,
) -> Result<Option<Member>, Error> {
    Ok(repo::member(conn, tenant, account).await?)
}

/// How many members a store has, and how many of them are owners.
pub async fn member_counts(conn: &mut PgConnection, tenant: TenantId) -> Result<(u32, u32), Error> {
    let (members, owners) = repo::member_counts(conn, tenant).await?;
    let count = |n: i64| u32::try_from(n).map_err(|e| Error::Internal(e.into()));
    Ok((count(members)?, count(owners)?))
}

/// Ends an account's membership of a store and revokes the refresh tokens it
/// holds for the store, so it cannot refresh its way back in. Its current access
/// token lives out its short lifetime. `false` when it was not a member.
pub async fn leave_store(conn: &mut PgConnection, tenant: TenantId, account: AccountId) -> Result<bool, Error> {
    if !repo::delete_membership(conn, tenant, account).await? {
        return Ok(false);
    }
    repo::revoke_store_refresh_tokens(conn, tenant, account).await?;
    Ok(true)
}

/// Finds or creates the platform admin account of an OIDC identity (its email
/// verified and allow-listed by the caller). The account is its own: an
/// existing account with that email (a store owner's, say) is neither linked
/// nor promoted, and the sign-in is refused. Creating it is the audited grant.
pub async fn oidc_admin(state: &IdentityState, issuer: &str, subject: &str, email: &str) -> Result<AccountId, Error> {
    let mut tx = state.db.control().begin().await?;
    if let Some(account) = repo::find_account_by_oidc(&mut tx, issuer, subject).await? {
        if !account.is_platform_admin {
            return Err(Error::InvalidGrant);
        }
        return Ok(account.id);
    }
    let Some(account) = repo::insert_account(&mut tx, email, None, true).await? else {
        tracing::warn!("OIDC sign-in refused: the email belongs to an account that is not this identity's");
        return Err(Error::InvalidGrant);
    };
    repo::bind_oidc(&mut tx, account.id, issuer, subject).await?;
    let actor = crate::audit::Actor::unauthenticated("system", None);
    crate::audit::record(
        &mut tx,
        crate::audit::Entry {
            actor: actor.name,
            actor_id: Some(account.id),
            tenant_id: None,
            action: crate::audit::Action::PlatformAdminGrant,
            before: None,
            after: Some(serde_json::json!({
                "account_id": account.id.to_string(), "email": email, "oidc_issuer": issuer,
                "oidc_subject": subject, "via": "OIDC_ALLOWED_EMAILS",
            })),
            request_id: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(account.id)
}
