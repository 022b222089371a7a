//! Verifying tokens against the public halves of the platform's signing keys.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sqlx::PgPool;

use super::{Claims, AUDIENCE};

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

/// The public half of every signing key, for verification. Cheap to clone;
/// clones share the keys read so far.
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

/// The JWKS document of every active signing key, for services outside the
/// platform that verify its tokens.
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
