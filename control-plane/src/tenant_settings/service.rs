//! Store-settings rules: merge a `PUT` into what is stored, seal new secrets,
//! check what only the merged result can tell.

use platform::{
    crypto::{last4, MasterKeys},
    ids::TenantId,
    problem::FieldError,
};
use secrecy::ExposeSecret;

use super::{
    error::{Error, Result},
    model::{
        Change, NotificationSettings, NotificationUpdate, PaymentProvider, PaymentSettings, PaymentUpdate, PlainSecret,
        SealedSecret, SmsSettings, SmtpSettings,
    },
    repo::Stored,
    TenantSettingsState,
};
use crate::{
    audit::{Action, Actor},
    tenants::store::{self, StoreChange},
};

fn seal(master: &MasterKeys, secret: &PlainSecret) -> anyhow::Result<SealedSecret> {
    Ok(SealedSecret { sealed: master.seal(secret.expose())?, last4: last4(secret.expose()) })
}

/// `test` or `live`, from a Stripe key's prefix (`sk_test_…`, `pk_live_…`).
fn stripe_mode(key: &str, kind: &str) -> Option<&'static str> {
    let rest = key.strip_prefix(kind)?;
    if rest.starts_with("test_") {
        Some("test")
    } else if rest.starts_with("live_") {
        Some("live")
    } else {
        None
    }
}

/// Applies a change to a stored secret, sealing a new one.
fn apply_secret(
    master: &MasterKeys,
    change: Change<PlainSecret>,
    current: Option<SealedSecret>,
) -> anyhow::Result<Option<SealedSecret>> {
    change.try_map(|plain| seal(master, &plain)).map(|change| change.apply(current))
}

/// One kind of a store's settings (payment, notification): what a `PUT` of it
/// holds and how that merges into what is stored.
pub(super) trait Kind: Stored + Send {
    type Update: Send;
    /// How the audit log names a change of it.
    const ACTION: Action;

    /// `before` with `update` applied, new secrets sealed with `master`;
    /// refused when the merged settings break a rule only they can tell.
    fn merge(before: &Self, update: Self::Update, master: &MasterKeys) -> Result<Self>;

    /// What the audit log keeps (no secrets).
    fn summary(&self) -> serde_json::Value;
}

/// The store's settings of one kind (their defaults when none were ever set:
/// the test provider, no notifications).
pub(super) async fn read<K: Kind>(state: &TenantSettingsState, tenant: TenantId) -> Result<K> {
    let mut conn = store::read_live(&state.db, tenant).await?;
    Ok(K::find(&mut conn, tenant, false).await?.unwrap_or_default())
}

/// Replaces the store's settings of one kind with `update` merged into them
/// (secrets it leaves out are kept), records the change, commits it and
/// announces it: the data plane drops its cached payment settings of the
/// store on the announcement (`platform::settings::PaymentSettingsCache`).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub(super) async fn put<K: Kind>(
    state: &TenantSettingsState,
    tenant: TenantId,
    update: K::Update,
    actor: &Actor,
) -> Result<K> {
    let mut change = StoreChange::begin_locked(&state.db, tenant, actor).await?;
    let before = K::find(&mut change, tenant, true).await?.unwrap_or_default();
    let mut after = K::merge(&before, update, &state.master)?;
    after.save(&mut change, tenant).await?;
    change.audit(K::ACTION, Some(before.summary()), Some(after.summary())).await?;
    change.commit().await?;
    state.announcer.store_changed(tenant, Vec::new()).await?;
    Ok(after)
}

/// Stripe needs a secret key or a Connect account id, stored or given.
impl Kind for PaymentSettings {
    type Update = PaymentUpdate;
    const ACTION: Action = Action::PaymentSettingsUpdate;

    fn merge(before: &Self, update: PaymentUpdate, master: &MasterKeys) -> Result<Self> {
        // The secret key's mode, read before it is sealed (or opened if kept).
        let secret_mode = match &update.stripe_secret_key {
            Change::Set(plain) => stripe_mode(plain.expose(), "sk_"),
            Change::Clear => None,
            Change::Keep => match &before.stripe_secret_key {
                Some(stored) => stripe_mode(master.open(&stored.sealed)?.expose_secret(), "sk_"),
                None => None,
            },
        };
        let after = PaymentSettings {
            provider: update.provider,
            stripe_secret_key: apply_secret(master, update.stripe_secret_key, before.stripe_secret_key.clone())?,
            stripe_webhook_secret: apply_secret(
                master,
                update.stripe_webhook_secret,
                before.stripe_webhook_secret.clone(),
            )?,
            stripe_account_id: update.stripe_account_id.apply(before.stripe_account_id.clone()),
            stripe_publishable_key: update.stripe_publishable_key.apply(before.stripe_publishable_key.clone()),
            updated_at: None,
        };
        // A test-mode card form in front of a live-mode charge (or the other
        // way round) fails every payment: the two keys must be of one mode.
        let publishable_mode = after.stripe_publishable_key.as_deref().and_then(|k| stripe_mode(k, "pk_"));
        if let (Some(secret), Some(publishable)) = (secret_mode, publishable_mode) {
            if secret != publishable {
                return Err(Error::Invalid(vec![FieldError::new(
                    "stripe_publishable_key",
                    format!("is a {publishable}-mode key but the secret key is a {secret}-mode key"),
                )]));
            }
        }
        if after.provider == PaymentProvider::Stripe
            && after.stripe_secret_key.is_none()
            && after.stripe_account_id.is_none()
        {
            return Err(Error::Invalid(vec![FieldError::new(
                "stripe_secret_key",
                "is required for provider stripe unless stripe_account_id is set",
            )]));
        }
        Ok(after)
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "provider": self.provider.as_str(),
            "stripe_secret_key": SealedSecret::summary(self.stripe_secret_key.as_ref()),
            "stripe_webhook_secret": SealedSecret::summary(self.stripe_webhook_secret.as_ref()),
            "stripe_account_id": self.stripe_account_id,
            "stripe_publishable_key": self.stripe_publishable_key,
        })
    }
}

/// SMTP with a password needs a user name; SMS needs an auth token, stored or given.
impl Kind for NotificationSettings {
    type Update = NotificationUpdate;
    const ACTION: Action = Action::NotificationSettingsUpdate;

    fn merge(before: &Self, update: NotificationUpdate, master: &MasterKeys) -> Result<Self> {
        let mut errors = Vec::new();
        let smtp = match update.smtp {
            Change::Keep => before.smtp.clone(),
            Change::Clear => None,
            Change::Set(smtp) => {
                let stored = before.smtp.clone();
                let username = smtp.username.apply(stored.as_ref().and_then(|s| s.username.clone()));
                let password = apply_secret(master, smtp.password, stored.and_then(|s| s.password))?;
                if password.is_some() && username.is_none() {
                    errors.push(FieldError::new("smtp.username", "is required with a password"));
                }
                Some(SmtpSettings { host: smtp.host, port: smtp.port, username, password, tls: smtp.tls })
            }
        };
        let sms = match update.sms {
            Change::Keep => before.sms.clone(),
            Change::Clear => None,
            Change::Set(sms) => {
                let stored = before.sms.as_ref().map(|s| s.auth_token.clone());
                match apply_secret(master, sms.auth_token, stored)? {
                    Some(auth_token) => Some(SmsSettings { account_sid: sms.account_sid, auth_token, from: sms.from }),
                    None => {
                        errors.push(FieldError::new("sms.auth_token", "is required"));
                        None
                    }
                }
            }
        };
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        Ok(NotificationSettings {
            email_from: update.email_from.apply(before.email_from.clone()),
            smtp,
            sms,
            updated_at: None,
        })
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "email_from": self.email_from,
            "smtp": self.smtp.as_ref().map(|s| serde_json::json!({
                "host": s.host, "port": s.port, "username": s.username, "tls": s.tls.as_str(),
                "password": SealedSecret::summary(s.password.as_ref()),
            })),
            "sms": self.sms.as_ref().map(|s| serde_json::json!({
                "account_sid": s.account_sid, "from": s.from,
                "auth_token": SealedSecret::summary(Some(&s.auth_token)),
            })),
        })
    }
}
