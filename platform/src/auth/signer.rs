//! Issuing tokens: the control plane's private half of the signing keys.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{pkcs8::EncodePrivateKey, SigningKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{Claims, Role, AUDIENCE, STOREFRONT_AUDIENCE};
use crate::{crypto::MasterKeys, ids::TenantId};

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
