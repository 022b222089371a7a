//! Webhook rules beyond parsing: a URL must reach a public address, and a
//! secret is made here, sealed, and shown once.

use platform::{problem::FieldError, tenancy::Tenant};

use super::{
    guard,
    model::{NewWebhook, Webhook},
    repo, signature, Error, NotificationsState,
};

/// Creates a webhook: refuses a URL whose host is internal (unless the
/// platform allows it), then stores it with a new secret, sealed. Returns the
/// webhook and its secret, the only time the secret leaves the store.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
pub async fn create_webhook(
    state: &NotificationsState,
    tenant: &Tenant,
    new: NewWebhook,
) -> Result<(Webhook, String), Error> {
    guard::check_url(&new.url, state.allow_private_targets)
        .await
        .map_err(|e| Error::Invalid(vec![FieldError::new("url", e)]))?;
    let secret = signature::new_secret();
    let sealed = state.master.seal(&secret)?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let webhook = repo::insert_webhook(&mut tx, &new, &sealed).await?;
    tx.commit().await?;
    Ok((webhook, secret))
}
