//! Store-settings rules: merge a `PUT` into what is stored, seal new secrets,
//! check what only the merged result can tell.

use platform::{
    crypto::{last4, MasterKeys},
    ids::TenantId,
    problem::FieldError,
};

use super::{
    error::{Error, Result},
    model::{
        Change, NotificationSettings, NotificationUpdate, PaymentProvider, PaymentSettings, PaymentUpdate, PlainSecret,
        SealedSecret, SmsSettings, SmtpSettings,
    },
    repo, TenantSettingsState,
};
use crate::{
    audit::{Action, Actor},
    tenants::store::{self, StoreChange},
};

fn seal(master: &MasterKeys, secret: &PlainSecret) -> anyhow::Result<SealedSecret> {
    Ok(SealedSecret { sealed: master.seal(secret.expose())?, last4: last4(secret.expose()) })
}

/// Applies a change to a stored secret, sealing a new one.
fn apply_secret(
    master: &MasterKeys,
    change: Change<PlainSecret>,
    current: Option<SealedSecret>,
) -> anyhow::Result<Option<SealedSecret>> {
    change.try_map(|plain| seal(master, &plain)).map(|change| change.apply(current))
}

/// The store's payment settings (the test provider when none were ever set).
pub async fn payment(state: &TenantSettingsState, tenant: TenantId) -> Result<PaymentSettings> {
    let mut conn = store::read_live(&state.db, tenant).await?;
    Ok(repo::find_payment(&mut conn, tenant).await?.unwrap_or_default())
}

/// Replaces the store's payment settings, keeping secrets the update leaves out.
/// Stripe needs a secret key or a Connect account id, stored or given.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn put_payment(
    state: &TenantSettingsState,
    tenant: TenantId,
    update: PaymentUpdate,
    actor: &Actor,
) -> Result<PaymentSettings> {
    let mut change = StoreChange::begin_locked(&state.db, tenant, actor).await?;
    let before = repo::payment_for_update(&mut change, tenant).await?.unwrap_or_default();
    let mut after = PaymentSettings {
        provider: update.provider,
        stripe_secret_key: apply_secret(&state.master, update.stripe_secret_key, before.stripe_secret_key.clone())?,
        stripe_webhook_secret: apply_secret(
            &state.master,
            update.stripe_webhook_secret,
            before.stripe_webhook_secret.clone(),
        )?,
        stripe_account_id: update.stripe_account_id.apply(before.stripe_account_id.clone()),
        updated_at: None,
    };
    if after.provider == PaymentProvider::Stripe
        && after.stripe_secret_key.is_none()
        && after.stripe_account_id.is_none()
    {
        return Err(Error::Invalid(vec![FieldError::new(
            "stripe_secret_key",
            "is required for provider stripe unless stripe_account_id is set",
        )]));
    }
    after.updated_at = Some(repo::upsert_payment(&mut change, tenant, &after).await?);
    finish(state, change, Action::PaymentSettingsUpdate, before.summary(), after.summary()).await?;
    Ok(after)
}

/// The store's notification settings (empty when none were ever set).
pub async fn notification(state: &TenantSettingsState, tenant: TenantId) -> Result<NotificationSettings> {
    let mut conn = store::read_live(&state.db, tenant).await?;
    Ok(repo::find_notification(&mut conn, tenant).await?.unwrap_or_default())
}

/// Replaces the store's notification settings, keeping secrets the update
/// leaves out. SMTP with a password needs a user name; SMS needs an auth token,
/// stored or given.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
pub async fn put_notification(
    state: &TenantSettingsState,
    tenant: TenantId,
    update: NotificationUpdate,
    actor: &Actor,
) -> Result<NotificationSettings> {
    let mut change = StoreChange::begin_locked(&state.db, tenant, actor).await?;
    let before = repo::notification_for_update(&mut change, tenant).await?.unwrap_or_default();
    let mut errors = Vec::new();

    let smtp = match update.smtp {
        Change::Keep => before.smtp.clone(),
        Change::Clear => None,
        Change::Set(smtp) => {
            let stored = before.smtp.clone();
            let username = smtp.username.apply(stored.as_ref().and_then(|s| s.username.clone()));
            let password = apply_secret(&state.master, smtp.password, stored.and_then(|s| s.password))?;
            if password.is_some() && username.is_none() {
                errors.push(FieldError::new("smtp.username", "is required with a password"));
            }
            Some(SmtpSettings { host: smtp.host, port: smtp.port, username, password })
        }
    };
    let sms = match update.sms {
        Change::Keep => before.sms.clone(),
        Change::Clear => None,
        Change::Set(sms) => {
            let stored = before.sms.as_ref().map(|s| s.auth_token.clone());
            match apply_secret(&state.master, sms.auth_token, stored)? {
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
    let mut after = NotificationSettings {
        email_from: update.email_from.apply(before.email_from.clone()),
        smtp,
        sms,
        updated_at: None,
    };
    after.updated_at = Some(repo::upsert_notification(&mut change, tenant, &after).await?);
    finish(state, change, Action::NotificationSettingsUpdate, before.summary(), after.summary()).await?;
    Ok(after)
}

/// Records the change from `before` to `after`, commits it and announces it.
/// Nothing on the data plane caches settings today; announcing keeps that true
/// for whoever adds a cache later.
async fn finish(
    state: &TenantSettingsState,
    mut change: StoreChange<'_>,
    action: Action,
    before: serde_json::Value,
    after: serde_json::Value,
) -> Result<()> {
    let tenant = change.tenant();
    change.audit(action, Some(before), Some(after)).await?;
    change.commit().await?;
    state.announcer.store_changed(tenant, Vec::new()).await?;
    Ok(())
}
