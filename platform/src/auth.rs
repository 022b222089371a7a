//! Tokens and keys: how both services know who is calling.
//!
//! Staff and platform admins carry short-lived EdDSA JWTs signed by the control
//! plane (`kid` in the header, public keys in `control.signing_key`, published as
//! JWKS). Stores' API keys are random 256-bit strings stored as SHA-256.
//! Verification only ever accepts `EdDSA` with a known `kid`, the platform's
//! issuer and audience, and an unexpired `exp`: `alg: none`, HMAC tokens made
//! with a public key, expired, foreign-audience and unknown-key tokens all fail.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use anyhow::Context;
use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{pkcs8::EncodePrivateKey, SigningKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use moka::future::Cache;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::{crypto::MasterKeys, ids::TenantId, problem::Problem, tenancy::TenantCtx};

/// The `aud` of staff and platform-admin tokens.
pub const AUDIENCE: &str = "commerce-platform";

/// The `aud` of shopper tokens. Different from [`AUDIENCE`], so a shopper token
/// fails verification wherever staff tokens are accepted, and the reverse.
pub const STOREFRONT_AUDIENCE: &str = "commerce-storefront";

/// Claims of a platform token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer: the control plane's public URL.
    pub iss: String,
    /// Audience: [`AUDIENCE`] or [`STOREFRONT_AUDIENCE`].
    pub aud: String,
    /// The account (staff, admin) the token speaks for.
    pub sub: String,
    /// The store the token is bound to; absent for platform admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// `owner`, `admin`, `staff`, `platform_admin` or (storefront) `customer`.
    pub role: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Token id.
    pub jti: String,
}

/// Roles a token may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A shopper of one store. Only ever in [`STOREFRONT_AUDIENCE`] tokens;
    /// every staff and platform path refuses it. Lowest, so no `role >= min` admits it.
    Customer,
    /// Store staff: day-to-day operations.
    Staff,
    /// Store admin: also settings, keys and staff.
    Admin,
    /// Store owner: everything, including deleting the store.
    Owner,
    /// Operates the platform; bound to no store.
    PlatformAdmin,
}

impl Role {
    /// Parses a role name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "staff" => Some(Self::Staff),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            "platform_admin" => Some(Self::PlatformAdmin),
            "customer" => Some(Self::Customer),
            _ => None,
        }
    }

    /// The role's name in tokens and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Admin => "admin",
            Self::Owner => "owner",
            Self::PlatformAdmin => "platform_admin",
            Self::Customer => "customer",
        }
    }
}

/// Why a credential was refused. Clients see only "unauthorized".
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Not a JWT, a wrong algorithm, bad signature, issuer, audience or expiry.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token names a key the platform does not have.
    #[error("unknown signing key")]
    UnknownKey,
}

/// The public half of every signing key, for verification.
#[derive(Clone)]
pub struct KeyRing {
    control: PgPool,
    issuer: Arc<str>,
    keys: Arc<RwLock<HashMap<String, DecodingKey>>>,
    /// When the keys were last read; held while reading, so concurrent requests
    /// with a new `kid` wait for one reload instead of failing past it.
    last_reload: Arc<tokio::sync::Mutex<Option<Instant>>>,
}

impl KeyRing {
    /// A key ring reading `control.signing_key`, accepting tokens from `issuer`.
    pub fn new(control: PgPool, issuer: &str) -> Self {
        Self { control, issuer: issuer.into(), keys: Arc::default(), last_reload: Arc::default() }
    }

    /// The issuer tokens must name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies a staff or platform-admin token ([`AUDIENCE`]) and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify_for(token, AUDIENCE).await
    }

    /// Verifies a token issued for `audience` and returns its claims. A token of
    /// another audience fails, whatever its signature.
    pub async fn verify_for(&self, token: &str, audience: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| AuthError::Invalid("no kid".into()))?;
        let key = match self.key(&kid) {
            Some(key) => key,
            None => {
                self.reload().await;
                self.key(&kid).ok_or(AuthError::UnknownKey)?
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&*self.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }

    fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().expect("key ring poisoned").get(kid).cloned()
    }

    /// Re-reads the keys unless they were read less than a second ago, whatever
    /// the traffic of unknown kids; callers arriving during a read wait for it.
    async fn reload(&self) {
        let mut last = self.last_reload.lock().await;
        if last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return;
        }
        match public_keys(&self.control).await {
            Ok(keys) => {
                let keys = keys.into_iter().map(|(kid, public)| (kid, DecodingKey::from_ed_der(&public))).collect();
                *self.keys.write().expect("key ring poisoned") = keys;
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot load signing keys"),
        }
        *last = Some(Instant::now());
    }
}

async fn public_keys(control: &PgPool) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    Ok(sqlx::query_as("select kid, public_key from control.signing_key where retired_at is null")
        .fetch_all(control)
        .await?)
}

/// The JWKS document of every active signing key.
pub async fn jwks(control: &PgPool) -> anyhow::Result<serde_json::Value> {
    let keys: Vec<_> = public_keys(control)
        .await?
        .into_iter()
        .map(|(kid, public)| {
            serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                "kid": kid, "x": URL_SAFE_NO_PAD.encode(public),
            })
        })
        .collect();
    Ok(serde_json::json!({ "keys": keys }))
}

/// Signs tokens with the newest active key (creating one on first use).
#[derive(Clone)]
pub struct Signer {
    kid: String,
    key: Arc<EncodingKey>,
    issuer: Arc<str>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// Loads the newest active key, or creates and stores one. Safe to race: an
    /// advisory lock lets one process create the first key.
    pub async fn load_or_create(control: &PgPool, master: &MasterKeys, issuer: &str) -> anyhow::Result<Self> {
        let mut tx = control.begin().await?;
        sqlx::query("select pg_advisory_xact_lock(hashtext('control.signing_key'))").execute(&mut *tx).await?;
        let newest: Option<(String, String)> = sqlx::query_as(
            "select kid, private_key from control.signing_key where retired_at is null \
             order by created_at desc, kid desc limit 1",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let (kid, pkcs8) = match newest {
            Some((kid, sealed)) => {
                let der = URL_SAFE_NO_PAD
                    .decode(secrecy::ExposeSecret::expose_secret(&master.open(&sealed)?))
                    .context("stored signing key is not base64")?;
                (kid, der)
            }
            None => {
                let (kid, public, der) = generate_key()?;
                sqlx::query("insert into control.signing_key (kid, public_key, private_key) values ($1, $2, $3)")
                    .bind(&kid)
                    .bind(public.as_slice())
                    .bind(master.seal(&URL_SAFE_NO_PAD.encode(&der))?)
                    .execute(&mut *tx)
                    .await?;
                (kid, der)
            }
        };
        tx.commit().await?;
        Ok(Self { kid, key: Arc::new(EncodingKey::from_ed_der(&pkcs8)), issuer: issuer.into() })
    }

    /// The key id put in every header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Issues a staff or platform-admin token for `sub` with `role`, bound to
    /// `tenant` if any, valid for `ttl`.
    pub fn issue(&self, sub: &str, tenant: Option<TenantId>, role: Role, ttl: Duration) -> anyhow::Result<String> {
        anyhow::ensure!(role != Role::Customer, "customer tokens are storefront tokens: use issue_customer");
        self.issue_claims(AUDIENCE, sub, tenant, role, ttl)
    }

    /// Issues a shopper token ([`STOREFRONT_AUDIENCE`], role `customer`) for a
    /// customer of `tenant`.
    pub fn issue_customer(&self, customer: &str, tenant: TenantId, ttl: Duration) -> anyhow::Result<String> {
        self.issue_claims(STOREFRONT_AUDIENCE, customer, Some(tenant), Role::Customer, ttl)
    }

    fn issue_claims(
        &self,
        audience: &str,
        sub: &str,
        tenant: Option<TenantId>,
        role: Role,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.to_string(),
            aud: audience.to_owned(),
            sub: sub.to_owned(),
            tid: tenant.map(|t| t.to_string()),
            role: role.as_str().to_owned(),
            exp: now + i64::try_from(ttl.as_secs())?,
            iat: now,
            jti: uuid::Uuid::now_v7().to_string(),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims (tests use this to build refused tokens).
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.key)?)
    }
}

fn generate_key() -> anyhow::Result<(String, [u8; 32], Vec<u8>)> {
    let signing = SigningKey::generate(&mut OsRng);
    let public = signing.verifying_key().to_bytes();
    let der = signing.to_pkcs8_der().context("encoding a signing key")?.as_bytes().to_vec();
    let kid = hex::encode(&Sha256::digest(public)[..8]);
    Ok((kid, public, der))
}

/// A new API key: `ck_` and 64 hex characters (256 random bits). Returns the key
/// (shown once), its display prefix and its hash (stored).
pub fn new_api_key() -> (String, String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let key = format!("ck_{}", hex::encode(bytes));
    let prefix = key[..10].to_owned();
    let hash = hash_secret(&key);
    (key, prefix, hash)
}

/// SHA-256 of a high-entropy secret (API keys, refresh tokens).
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A resolved API key.
#[derive(Clone, Debug)]
pub struct ApiKeyRecord {
    /// The key's id.
    pub id: uuid::Uuid,
    /// Its store.
    pub tenant_id: TenantId,
    /// What it may do, e.g. `catalog:write`.
    pub scopes: Vec<String>,
}

/// Everything the data plane needs to authenticate a request.
#[derive(Clone)]
pub struct Authenticator {
    /// Verifies JWTs.
    pub keys: KeyRing,
    control: PgPool,
    api_keys: Cache<Vec<u8>, Option<Arc<ApiKeyRecord>>>,
}

impl Authenticator {
    /// An authenticator over the control database.
    pub fn new(control: PgPool, issuer: &str) -> Self {
        Self {
            keys: KeyRing::new(control.clone(), issuer),
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
                    Arc::new(ApiKeyRecord { id, tenant_id: TenantId::from_uuid(tenant), scopes })
                }))
            })
            .await
            .map_err(|e| anyhow::anyhow!("api key lookup failed: {e:#}"))
    }

    /// Drops cached API keys of a store (after a revocation is announced).
    pub fn forget_tenant_keys(&self, tenant: TenantId) {
        let _ = self.api_keys.invalidate_entries_if(move |_, v| v.as_ref().is_some_and(|k| k.tenant_id == tenant));
    }
}

/// Who is calling an `/admin` route of the resolved store.
#[derive(Clone, Debug)]
pub struct StaffPrincipal {
    /// The store; always the resolved one.
    pub tenant_id: TenantId,
    /// Account or API key.
    pub actor: Actor,
    /// Role (API keys act as `staff` limited by their scopes).
    pub role: Role,
    /// Scopes of an API key; `None` for staff tokens (all data-plane scopes).
    pub scopes: Option<Vec<String>>,
}

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A staff account (JWT `sub`).
    Account(String),
    /// An API key.
    ApiKey(uuid::Uuid),
}

impl StaffPrincipal {
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
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl<S> FromRequestParts<S> for StaffPrincipal
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let auth = Authenticator::from_ref(state);
        let TenantCtx(tenant) = TenantCtx::from_request_parts(parts, state).await?;
        // One message for every refusal: a client learns nothing about other stores.
        let refused = || Problem::unauthorized("A valid staff token or API key of this store is required.");

        if let Some(key) = parts.headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
            let record = auth.api_key(key.trim()).await?.ok_or_else(refused)?;
            if record.tenant_id != tenant.id {
                return Err(refused());
            }
            return Ok(Self {
                tenant_id: tenant.id,
                actor: Actor::ApiKey(record.id),
                role: Role::Staff,
                scopes: Some(record.scopes.clone()),
            });
        }
        let token = bearer(parts).ok_or_else(refused)?;
        let claims = auth.keys.verify(token).await.map_err(|e| {
            tracing::debug!(error = %e, "staff token refused");
            refused()
        })?;
        let role = Role::parse(&claims.role)
            .filter(|r| !matches!(r, Role::PlatformAdmin | Role::Customer))
            .ok_or_else(refused)?;
        if claims.tid.as_deref() != Some(tenant.id.to_string().as_str()) {
            return Err(refused());
        }
        Ok(Self { tenant_id: tenant.id, actor: Actor::Account(claims.sub), role, scopes: None })
    }
}

/// A signed-in shopper of the resolved store (`/store` routes).
///
/// Accepts only [`STOREFRONT_AUDIENCE`] tokens with role `customer` whose `tid`
/// is the store the host resolved to; anything else is 401 with one message.
#[derive(Clone, Debug)]
pub struct CustomerPrincipal {
    /// The store; always the resolved one.
    pub tenant_id: TenantId,
    /// The customer (the token's `sub`).
    pub customer_id: uuid::Uuid,
}

impl<S> FromRequestParts<S> for CustomerPrincipal
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let auth = Authenticator::from_ref(state);
        let TenantCtx(tenant) = TenantCtx::from_request_parts(parts, state).await?;
        let refused = || Problem::unauthorized("A valid customer token of this store is required.");
        let token = bearer(parts).ok_or_else(refused)?;
        let claims = auth.keys.verify_for(token, STOREFRONT_AUDIENCE).await.map_err(|e| {
            tracing::debug!(error = %e, "customer token refused");
            refused()
        })?;
        if Role::parse(&claims.role) != Some(Role::Customer)
            || claims.tid.as_deref() != Some(tenant.id.to_string().as_str())
        {
            return Err(refused());
        }
        let customer_id = uuid::Uuid::parse_str(&claims.sub).map_err(|_| refused())?;
        Ok(Self { tenant_id: tenant.id, customer_id })
    }
}

impl<S> OptionalFromRequestParts<S> for CustomerPrincipal
where
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Problem;

    /// No `Authorization` header → `None` (a guest); a header that does not hold → 401.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Problem> {
        if parts.headers.contains_key(http::header::AUTHORIZATION) {
            <Self as FromRequestParts<S>>::from_request_parts(parts, state).await.map(Some)
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_long_random_and_hashed() {
        let (a, prefix, hash) = new_api_key();
        let (b, _, _) = new_api_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
        assert!(a.starts_with(&prefix));
        assert_eq!(hash, hash_secret(&a));
    }

    #[test]
    fn scopes_match_exactly_or_by_area_wildcard() {
        let p = |scopes: &[&str]| StaffPrincipal {
            tenant_id: TenantId::new(),
            actor: Actor::ApiKey(uuid::Uuid::nil()),
            role: Role::Staff,
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        };
        assert!(p(&["catalog:read"]).require("catalog:read").is_ok());
        assert!(p(&["catalog:read"]).require("catalog:write").is_err());
        assert!(p(&["catalog:*"]).require("catalog:write").is_ok());
        assert!(p(&["orders:*"]).require("catalog:write").is_err());
    }

    #[test]
    fn the_customer_role_parses_and_ranks_below_every_staff_role() {
        assert_eq!(Role::parse("customer"), Some(Role::Customer));
        assert_eq!(Role::Customer.as_str(), "customer");
        assert!(Role::Customer < Role::Staff);
    }
}
