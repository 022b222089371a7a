//! Verifying tokens against the public halves of the platform's signing keys.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sqlx::PgPool;

use super::{Claims, AUDIENCE, STOREFRONT_AUDIENCE};

/// The most one fetch of the control plane's JWKS may take, connecting included.
pub const JWKS_TIMEOUT: Duration = Duration::from_secs(1);

/// How long keys read are trusted before the next verification re-reads them:
/// how late a retired key may still verify in a process that cached it.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(60);

/// How long keys read before a failed re-read still verify the kids they know
/// (a short JWKS or database outage is not every staff request's outage).
pub const KEYS_STALE_LIMIT: Duration = Duration::from_secs(600);

/// Why a credential was refused. Clients see only "unauthorized", or a 503
/// for [`AuthError::Unavailable`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Not a JWT, a wrong algorithm, bad signature, issuer, audience or expiry,
    /// or a key of another audience or retired.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token names a key the platform does not have.
    #[error("unknown signing key")]
    UnknownKey,
    /// The keys cannot be read (the JWKS or the control database does not
    /// answer), so the token can be neither accepted nor refused.
    #[error("signing keys unavailable")]
    Unavailable,
}

/// The public half of every active signing key, for verification. Cheap to
/// clone; clones share the keys read so far.
///
/// The keys come from `control.signing_key` ([`KeyRing::new`]: the control
/// plane, tests, single-process development) or from the control plane's JWKS
/// over HTTP ([`KeyRing::from_jwks`]: the data plane with `JWKS_URL`). Read
/// keys are kept for [`KEYS_MAX_AGE`]; an unknown `kid` re-reads them, at most
/// once a second.
#[derive(Clone)]
pub struct KeyRing {
    source: Arc<Source>,
    issuer: Arc<str>,
    keys: Arc<RwLock<Keys>>,
    /// When the last read of the keys ended, successfully or not; held while
    /// reading, so concurrent requests with a new `kid` wait for one read
    /// instead of failing past it.
    last_attempt: Arc<tokio::sync::Mutex<Option<Instant>>>,
}

enum Source {
    Database(PgPool),
    Jwks { url: reqwest::Url, client: reqwest::Client },
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, RingKey>,
    /// When `by_kid` was read; `None` before the first successful read.
    read_at: Option<Instant>,
    /// Whether the last read failed.
    failing: bool,
}

#[derive(Clone)]
struct RingKey {
    key: DecodingKey,
    audience: String,
    /// Known from the database only; the JWKS drops a key once retired.
    retires_at: Option<DateTime<Utc>>,
}

/// One active key's public half, as stored.
#[derive(sqlx::FromRow)]
struct PublicKey {
    kid: String,
    #[sqlx(rename = "public_key")]
    public: Vec<u8>,
    audience: String,
    #[sqlx(rename = "retired_at")]
    retires_at: Option<DateTime<Utc>>,
}

impl KeyRing {
    /// A key ring reading `control.signing_key`, accepting tokens from `issuer`.
    pub fn new(control: PgPool, issuer: &str) -> Self {
        Self::with_source(Source::Database(control), issuer)
    }

    /// A key ring fetching the control plane's JWKS from `url` (timeout
    /// [`JWKS_TIMEOUT`]), accepting tokens from `issuer`. Fails on a URL that
    /// does not parse, so a bad `JWKS_URL` stops the process at start-up.
    pub fn from_jwks(url: &str, issuer: &str) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("JWKS_URL is not a URL: {e}"))?;
        anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "JWKS_URL must be http or https");
        let client = reqwest::Client::builder().timeout(JWKS_TIMEOUT).connect_timeout(JWKS_TIMEOUT).build()?;
        Ok(Self::with_source(Source::Jwks { url, client }, issuer))
    }

    fn with_source(source: Source, issuer: &str) -> Self {
        Self { source: Arc::new(source), issuer: issuer.into(), keys: Arc::default(), last_attempt: Arc::default() }
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
    /// another audience fails, whatever its signature, and so does a token
    /// signed by a key of another audience (a storefront key cannot mint a
    /// staff token) or by a retired key.
    pub async fn verify_for(&self, token: &str, audience: &str) -> Result<Claims, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Invalid(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| AuthError::Invalid("no kid".into()))?;
        let key = self.key(&kid).await?;
        if key.audience != audience {
            return Err(AuthError::Invalid(format!("key {kid} signs {} tokens", key.audience)));
        }
        if key.retires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(AuthError::Invalid(format!("key {kid} is retired")));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&*self.issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// Re-reads the keys now, whatever their age: after this process rotated
    /// or retired a key.
    pub async fn refresh(&self) -> Result<(), AuthError> {
        let mut last = self.last_attempt.lock().await;
        self.read(&mut last).await
    }

    /// The key `kid`: from the keys read unless they are older than
    /// [`KEYS_MAX_AGE`] or do not know it, then read again. Reads are at
    /// least a second apart: a request with an unknown kid waits for the next
    /// one (at most a second plus [`JWKS_TIMEOUT`]) rather than being refused,
    /// and every request waiting when a read ends takes its result without
    /// reading again, so a flood of unknown kids costs one read a second; a
    /// known kid never waits for the second to pass. Keys read
    /// before a failed read still serve the kids they know for
    /// [`KEYS_STALE_LIMIT`]; past it, or for a kid they do not know, a failed
    /// read is [`AuthError::Unavailable`].
    async fn key(&self, kid: &str) -> Result<RingKey, AuthError> {
        if let Some(key) = self.cached(kid, KEYS_MAX_AGE) {
            return Ok(key);
        }
        let known = self.cached(kid, KEYS_STALE_LIMIT).is_some();
        let arrived = Instant::now();
        let mut last = self.last_attempt.lock().await;
        // A failure is remembered in `Keys::failing` and answered below.
        if known {
            // Known but old: re-read if none was tried this second, else
            // serve what is known rather than wait.
            if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                let _ = self.read(&mut last).await;
            }
        } else if !last.is_some_and(|at| at >= arrived) {
            let wait = last.map_or(Duration::ZERO, |at| Duration::from_secs(1).saturating_sub(at.elapsed()));
            tokio::time::sleep(wait).await;
            let _ = self.read(&mut last).await;
        }
        drop(last);
        if let Some(key) = self.cached(kid, KEYS_STALE_LIMIT) {
            return Ok(key);
        }
        if self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).failing {
            Err(AuthError::Unavailable)
        } else {
            Err(AuthError::UnknownKey)
        }
    }

    /// The key `kid` if the keys were read less than `max_age` ago.
    fn cached(&self, kid: &str, max_age: Duration) -> Option<RingKey> {
        let keys = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.read_at.filter(|at| at.elapsed() < max_age)?;
        keys.by_kid.get(kid).cloned()
    }

    /// Reads every active key from the source; the caller holds
    /// `last_attempt`, set when the read ends.
    async fn read(&self, last: &mut Option<Instant>) -> Result<(), AuthError> {
        let read = match &*self.source {
            Source::Database(control) => public_keys(control).await,
            Source::Jwks { url, client } => fetch_jwks(client, url).await,
        };
        *last = Some(Instant::now());
        let mut keys = self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        match read {
            Ok(read) => {
                keys.by_kid = read
                    .into_iter()
                    .map(|k| {
                        let key = RingKey {
                            key: DecodingKey::from_ed_der(&k.public),
                            audience: k.audience,
                            retires_at: k.retires_at,
                        };
                        (k.kid, key)
                    })
                    .collect();
                keys.read_at = Some(Instant::now());
                keys.failing = false;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot read the signing keys");
                keys.failing = true;
                Err(AuthError::Unavailable)
            }
        }
    }
}

/// Every key that still verifies (never retired, or retiring later), both audiences.
async fn public_keys(control: &PgPool) -> anyhow::Result<Vec<PublicKey>> {
    Ok(sqlx::query_as(
        "select kid, public_key, audience, retired_at from control.signing_key \
         where retired_at is null or retired_at > now() \
         order by audience = 'commerce-platform' desc, created_at desc, kid desc",
    )
    .fetch_all(control)
    .await?)
}

/// The control plane's JWKS: Ed25519 keys with our `aud` member; any other key is skipped.
async fn fetch_jwks(client: &reqwest::Client, url: &reqwest::Url) -> anyhow::Result<Vec<PublicKey>> {
    let response = client.get(url.clone()).send().await?.error_for_status()?;
    let document: serde_json::Value = response.json().await?;
    let keys = document["keys"].as_array().ok_or_else(|| anyhow::anyhow!("the JWKS has no keys array"))?;
    Ok(keys
        .iter()
        .filter(|k| k["kty"] == "OKP" && k["crv"] == "Ed25519")
        .filter_map(|k| {
            let audience = k["aud"].as_str().filter(|a| [AUDIENCE, STOREFRONT_AUDIENCE].contains(a))?;
            let public = URL_SAFE_NO_PAD.decode(k["x"].as_str()?).ok().filter(|p| p.len() == 32)?;
            Some(PublicKey {
                kid: k["kid"].as_str()?.to_owned(),
                public,
                audience: audience.to_owned(),
                retires_at: None,
            })
        })
        .collect())
}

/// The JWKS document of every key that still verifies, staff keys first, for
/// the data plane (`JWKS_URL`) and services outside the platform. Each key
/// carries `aud`, a member of ours (RFC 7517 §4 allows them): the token
/// audience it signs, which verifiers must check.
pub async fn jwks(control: &PgPool) -> anyhow::Result<serde_json::Value> {
    let keys: Vec<_> = public_keys(control)
        .await?
        .into_iter()
        .map(|k| {
            serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                "kid": k.kid, "x": URL_SAFE_NO_PAD.encode(k.public), "aud": k.audience,
            })
        })
        .collect();
    Ok(serde_json::json!({ "keys": keys }))
}
