//! Issuing tokens: the private half of one audience's signing keys.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use anyhow::Context;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{pkcs8::EncodePrivateKey, SigningKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use super::{Claims, Role, AUDIENCE, STOREFRONT_AUDIENCE};
use crate::{crypto::MasterKeys, ids::TenantId};

/// The advisory lock every writer of `control.signing_key` takes (first key,
/// rotation), so two processes never both create or rotate a key.
pub const SIGNING_KEY_LOCK: &str = "select pg_advisory_xact_lock(hashtext('control.signing_key'))";

/// How often a running signer re-reads its audience's newest key
/// ([`Signer::spawn_reload`]): a rotation made by another process is signed
/// with within this long. Rotation keeps old keys verifying for longer.
pub const SIGNER_RELOAD_INTERVAL: Duration = Duration::from_secs(60);

/// Signs tokens of one audience with its newest active key (creating one on
/// first use). Cheap to clone; clones share the current key, so a reload is
/// seen by all of them.
///
/// **Invariant:** a signer reads and holds private keys of its own audience
/// only: the data plane's ([`STOREFRONT_AUDIENCE`]) never sees the key that
/// signs staff and platform-admin tokens.
#[derive(Clone)]
pub struct Signer {
    current: Arc<RwLock<Current>>,
    source: Arc<Source>,
}

struct Current {
    kid: String,
    key: EncodingKey,
}

struct Source {
    control: PgPool,
    master: MasterKeys,
    issuer: String,
    audience: &'static str,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("audience", &self.source.audience)
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Loads the newest active key of `audience` ([`AUDIENCE`] or
    /// [`STOREFRONT_AUDIENCE`]), or creates and stores one. Safe to race: an
    /// advisory lock lets one process create the first key.
    pub async fn load_or_create(
        control: &PgPool,
        master: &MasterKeys,
        issuer: &str,
        audience: &'static str,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            audience == AUDIENCE || audience == STOREFRONT_AUDIENCE,
            "no signing keys for audience {audience}"
        );
        let source = Source { control: control.clone(), master: master.clone(), issuer: issuer.to_owned(), audience };
        let current = source.newest().await?;
        Ok(Self { current: Arc::new(RwLock::new(current)), source: Arc::new(source) })
    }

    /// Re-reads the newest active key of this signer's audience: after a
    /// rotation, the new `kid` signs from here on.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let newest = self.source.newest().await?;
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.kid != newest.kid {
            tracing::info!(audience = self.source.audience, kid = newest.kid, "signing with a new key");
        }
        *current = newest;
        Ok(())
    }

    /// Reloads every [`SIGNER_RELOAD_INTERVAL`] until the control pool closes,
    /// so rotations made by other processes (another replica, the schedule,
    /// the CLI) are picked up.
    pub fn spawn_reload(&self) {
        let signer = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SIGNER_RELOAD_INTERVAL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            every.tick().await;
            loop {
                every.tick().await;
                if signer.source.control.is_closed() {
                    return;
                }
                if let Err(e) = signer.reload().await {
                    tracing::warn!(error = %format!("{e:#}"), "cannot reload the signing key; still signing with the last one");
                }
            }
        });
    }

    /// The key id put in every header.
    pub fn kid(&self) -> String {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).kid.clone()
    }

    /// The audience this signer's keys belong to.
    pub fn audience(&self) -> &'static str {
        self.source.audience
    }

    /// Issues a staff or platform-admin token for `sub` with `role`, bound to
    /// `tenant` if any, valid for `ttl`. Only a signer of [`AUDIENCE`] may.
    pub fn issue(&self, sub: &str, tenant: Option<TenantId>, role: Role, ttl: Duration) -> anyhow::Result<String> {
        anyhow::ensure!(role != Role::Customer, "customer tokens are storefront tokens: use issue_customer");
        self.issue_claims(AUDIENCE, sub, tenant, role, ttl)
    }

    /// Issues a shopper token ([`STOREFRONT_AUDIENCE`], role `customer`) for a
    /// customer of `tenant`. Only a signer of [`STOREFRONT_AUDIENCE`] may.
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
        anyhow::ensure!(
            audience == self.source.audience,
            "a {} signer does not issue {audience} tokens",
            self.source.audience
        );
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.source.issuer.clone(),
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

    /// Signs arbitrary claims, whatever their audience (tests use this to
    /// build refused tokens; verifiers check the key's audience too).
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(current.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &current.key)?)
    }
}

impl Source {
    /// The newest key of the audience that is not being retired, created if there is none.
    async fn newest(&self) -> anyhow::Result<Current> {
        let mut tx = self.control.begin().await?;
        sqlx::query(SIGNING_KEY_LOCK).execute(&mut *tx).await?;
        let newest: Option<(String, String)> = sqlx::query_as(
            "select kid, private_key from control.signing_key where audience = $1 and retired_at is null \
             order by created_at desc, kid desc limit 1",
        )
        .bind(self.audience)
        .fetch_optional(&mut *tx)
        .await?;
        let (kid, der) = match newest {
            Some((kid, sealed)) => {
                let der = URL_SAFE_NO_PAD
                    .decode(secrecy::ExposeSecret::expose_secret(&self.master.open(&sealed)?))
                    .context("stored signing key is not base64")?;
                (kid, der)
            }
            None => insert_key(&mut tx, &self.master, self.audience).await?,
        };
        tx.commit().await?;
        Ok(Current { kid, key: EncodingKey::from_ed_der(&der) })
    }
}

/// Generates a key of `audience`, stores it (private half sealed with the
/// master key) and returns its `kid` and PKCS#8 DER. The caller holds
/// [`SIGNING_KEY_LOCK`] in the same transaction.
pub async fn insert_key(
    conn: &mut PgConnection,
    master: &MasterKeys,
    audience: &str,
) -> anyhow::Result<(String, Vec<u8>)> {
    let signing = SigningKey::generate(&mut OsRng);
    let public = signing.verifying_key().to_bytes();
    let der = signing.to_pkcs8_der().context("encoding a signing key")?.as_bytes().to_vec();
    let kid = hex::encode(&Sha256::digest(public)[..8]);
    sqlx::query("insert into control.signing_key (kid, public_key, private_key, audience) values ($1, $2, $3, $4)")
        .bind(&kid)
        .bind(public.as_slice())
        .bind(master.seal(&URL_SAFE_NO_PAD.encode(&der))?)
        .bind(audience)
        .execute(conn)
        .await?;
    Ok((kid, der))
}
