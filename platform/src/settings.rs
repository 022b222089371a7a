//! A store's payment and notification settings as the data plane uses them,
//! with their secrets opened.
//!
//! The control plane writes them (`control.tenant_payment_settings`,
//! `control.tenant_notification_settings`), sealing every secret with the master
//! key ([`crate::crypto::MasterKeys`]) and keeping only its last four characters
//! in clear. [`payment_settings`] and [`notification_settings`] read them
//! uncached. A checkout reads the payment settings on its path, so the data
//! plane keeps them in a [`PaymentSettingsCache`]: per store, dropped as soon
//! as the control plane announces a change of the store (every settings change
//! is announced), and kept at most [`PAYMENT_SETTINGS_TTL`] if an announcement
//! is missed, which bounds how long a rotated key can stay in use.
//!
//! **Invariant:** opened secrets are [`SecretString`]s: never logged, never
//! serialized; expose them only at the call to the provider.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::SecretString;
use sqlx::PgPool;

use crate::{crypto::MasterKeys, db::Db, ids::TenantId, store_cache::StoreCache, tenancy::TenantResolver};

/// How long the data plane keeps a store's payment settings without an announcement.
pub const PAYMENT_SETTINGS_TTL: Duration = Duration::from_secs(30);

/// Who charges a store's shoppers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentProvider {
    /// The built-in test provider (`tok_success`, `tok_decline`).
    Test,
    /// Stripe, with the store's own secret key or its Connect account.
    Stripe,
}

impl PaymentProvider {
    /// Parses the stored or requested name (`test`, `stripe`); `None` for any other.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "test" => Some(Self::Test),
            "stripe" => Some(Self::Stripe),
            _ => None,
        }
    }

    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Stripe => "stripe",
        }
    }
}

/// A store's payment settings, secrets opened.
#[derive(Clone, Debug)]
pub struct PaymentSettings {
    /// The provider to charge through.
    pub provider: PaymentProvider,
    /// `sk_…` of the store's own Stripe account.
    pub stripe_secret_key: Option<SecretString>,
    /// `whsec_…` verifying the store's Stripe webhooks.
    pub stripe_webhook_secret: Option<SecretString>,
    /// `acct_…` of a Connect account charged with the platform's key.
    pub stripe_account_id: Option<String>,
    /// `pk_…`: what the storefront's checkout page gives Stripe.js (public).
    pub stripe_publishable_key: Option<String>,
}

/// How an SMTP relay is spoken to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SmtpTls {
    /// Plain text throughout (a relay on a private network, a local sink).
    None,
    /// Plain, then upgraded with `STARTTLS` (required, never skipped): port 587.
    #[default]
    StartTls,
    /// TLS from the first byte ("SMTPS"): port 465.
    Tls,
}

impl SmtpTls {
    /// Parses the stored or requested name (`none`, `starttls`, `tls`); `None` for any other.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Self::None),
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            _ => None,
        }
    }

    /// The name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::StartTls => "starttls",
            Self::Tls => "tls",
        }
    }
}

/// SMTP relay of a store.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// Host name or address of the relay.
    pub host: String,
    /// Submission port: usually 587 (STARTTLS) or 465 (implicit TLS).
    pub port: u16,
    /// Set when the relay authenticates; `None` sends without `AUTH`.
    pub username: Option<String>,
    /// Goes with `username`; opened from its sealed form, never logged.
    pub password: Option<SecretString>,
    /// Plain, STARTTLS or implicit TLS.
    pub tls: SmtpTls,
}

/// SMS sender of a store (Twilio-style credentials).
#[derive(Clone, Debug)]
pub struct SmsSettings {
    /// The provider account (`AC…`) messages are sent and billed under.
    pub account_sid: String,
    /// The account's API secret; opened from its sealed form, never logged.
    pub auth_token: SecretString,
    /// Sender: an E.164 number or an alphanumeric sender id.
    pub from: String,
}

/// A store's notification settings, secrets opened.
#[derive(Clone, Debug, Default)]
pub struct NotificationSettings {
    /// `From` address of the store's email.
    pub email_from: Option<String>,
    /// The store's own SMTP relay; `None`: the platform's transport.
    pub smtp: Option<SmtpSettings>,
    /// The store's SMS sender; `None`: no SMS.
    pub sms: Option<SmsSettings>,
}

fn open(master: &MasterKeys, sealed: Option<String>, what: &str) -> anyhow::Result<Option<SecretString>> {
    sealed.map(|s| master.open(&s).with_context(|| format!("opening the stored {what}"))).transpose()
}

/// The payment settings of `tenant`; the test provider when it has none.
pub async fn payment_settings(
    control: &PgPool,
    master: &MasterKeys,
    tenant: TenantId,
) -> anyhow::Result<PaymentSettings> {
    type Row = (String, Option<String>, Option<String>, Option<String>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "select provider, stripe_secret_key, stripe_webhook_secret, stripe_account_id, stripe_publishable_key \
         from control.tenant_payment_settings where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(control)
    .await?;
    let Some((provider, secret_key, webhook_secret, account_id, publishable_key)) = row else {
        return Ok(PaymentSettings {
            provider: PaymentProvider::Test,
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_account_id: None,
            stripe_publishable_key: None,
        });
    };
    Ok(PaymentSettings {
        provider: PaymentProvider::parse(&provider).with_context(|| format!("unknown payment provider {provider}"))?,
        stripe_secret_key: open(master, secret_key, "Stripe secret key")?,
        stripe_webhook_secret: open(master, webhook_secret, "Stripe webhook secret")?,
        stripe_account_id: account_id,
        stripe_publishable_key: publishable_key,
    })
}

/// Payment settings per store, secrets opened, cached in-process for a TTL
/// and dropped when the store's change is announced. Cheap to clone.
#[derive(Clone)]
pub struct PaymentSettingsCache {
    db: Db,
    master: Arc<MasterKeys>,
    cache: StoreCache<PaymentSettings>,
}

impl PaymentSettingsCache {
    /// A cache reading the control database of `db`, keeping entries for `ttl`.
    pub fn new(db: Db, master: Arc<MasterKeys>, ttl: Duration) -> Self {
        Self { db, master, cache: StoreCache::new(1_000_000, ttl) }
    }

    /// Drops a store's entry whenever `resolver` receives an announcement for it.
    pub fn follow(&self, resolver: &TenantResolver) {
        self.cache.follow(resolver);
    }

    /// The store's payment settings. A miss reads the control database under
    /// [`Db::on_control`], so a database that is down costs a `503`.
    pub async fn get(&self, tenant: TenantId) -> anyhow::Result<Arc<PaymentSettings>> {
        let read =
            async { Ok(Some(self.db.on_control(payment_settings(self.db.control(), &self.master, tenant)).await?)) };
        self.cache.get_or_read(tenant, read).await?.context("payment settings are always found")
    }

    /// Drops a store's entry; the next [`Self::get`] reads the database.
    pub fn forget(&self, tenant: TenantId) {
        self.cache.forget(tenant);
    }
}

type NotificationRow = (
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The notification settings of `tenant`; empty when it has none.
pub async fn notification_settings(
    control: &PgPool,
    master: &MasterKeys,
    tenant: TenantId,
) -> anyhow::Result<NotificationSettings> {
    let row: Option<NotificationRow> = sqlx::query_as(
        "select email_from, smtp_host, smtp_port, smtp_username, smtp_password, smtp_tls, \
                sms_account_sid, sms_auth_token, sms_from \
         from control.tenant_notification_settings where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(control)
    .await?;
    let Some((email_from, smtp_host, smtp_port, smtp_username, smtp_password, smtp_tls, sms_sid, sms_token, sms_from)) =
        row
    else {
        return Ok(NotificationSettings::default());
    };
    let smtp = match (smtp_host, smtp_port) {
        (Some(host), Some(port)) => Some(SmtpSettings {
            host,
            port: u16::try_from(port).context("stored SMTP port")?,
            username: smtp_username,
            password: open(master, smtp_password, "SMTP password")?,
            tls: SmtpTls::parse(&smtp_tls).with_context(|| format!("unknown SMTP tls {smtp_tls}"))?,
        }),
        _ => None,
    };
    let sms = match (sms_sid, open(master, sms_token, "SMS auth token")?, sms_from) {
        (Some(account_sid), Some(auth_token), Some(from)) => Some(SmsSettings { account_sid, auth_token, from }),
        _ => None,
    };
    Ok(NotificationSettings { email_from, smtp, sms })
}
