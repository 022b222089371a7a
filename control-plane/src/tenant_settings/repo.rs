//! Store-settings SQL (control schema).

use std::future::Future;

use chrono::{DateTime, Utc};
use platform::ids::TenantId;
use sqlx::PgConnection;

use super::model::{
    NotificationSettings, PaymentProvider, PaymentSettings, SealedSecret, SmsSettings, SmtpSettings, SmtpTls,
};

/// One kind of a store's settings as stored: a row per store, written whole.
pub(super) trait Stored: Default + Sized {
    /// The store's settings, locked for update with `lock`; `None` when it has no row.
    fn find(
        conn: &mut PgConnection,
        tenant: TenantId,
        lock: bool,
    ) -> impl Future<Output = anyhow::Result<Option<Self>>> + Send;

    /// Writes the settings and sets their `updated_at`.
    fn save(&mut self, conn: &mut PgConnection, tenant: TenantId) -> impl Future<Output = sqlx::Result<()>> + Send;
}

fn secret(sealed: Option<String>, last4: Option<String>) -> Option<SealedSecret> {
    sealed.map(|sealed| SealedSecret { sealed, last4: last4.unwrap_or_default() })
}

type PaymentRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
);

impl Stored for PaymentSettings {
    async fn find(conn: &mut PgConnection, tenant: TenantId, lock: bool) -> anyhow::Result<Option<Self>> {
        let lock = if lock { " for update" } else { "" };
        let row: Option<PaymentRow> = sqlx::query_as(&format!(
            "select provider, stripe_secret_key, stripe_secret_key_last4, stripe_webhook_secret, \
                    stripe_webhook_secret_last4, stripe_account_id, stripe_publishable_key, updated_at \
             from control.tenant_payment_settings where tenant_id = $1{lock}"
        ))
        .bind(tenant)
        .fetch_optional(conn)
        .await?;
        let Some((provider, key, key_last4, webhook, webhook_last4, account, publishable, updated_at)) = row else {
            return Ok(None);
        };
        Ok(Some(PaymentSettings {
            provider: PaymentProvider::parse(&provider)
                .ok_or_else(|| anyhow::anyhow!("stored payment provider {provider} is unknown"))?,
            stripe_secret_key: secret(key, key_last4),
            stripe_webhook_secret: secret(webhook, webhook_last4),
            stripe_account_id: account,
            stripe_publishable_key: publishable,
            updated_at: Some(updated_at),
        }))
    }

    async fn save(&mut self, conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<()> {
        let key = self.stripe_secret_key.as_ref();
        let webhook = self.stripe_webhook_secret.as_ref();
        let updated_at = sqlx::query_scalar(
            "insert into control.tenant_payment_settings (tenant_id, provider, stripe_secret_key, \
                 stripe_secret_key_last4, stripe_webhook_secret, stripe_webhook_secret_last4, stripe_account_id, \
                 stripe_publishable_key) \
             values ($1, $2, $3, $4, $5, $6, $7, $8) \
             on conflict (tenant_id) do update set provider = excluded.provider, \
                 stripe_secret_key = excluded.stripe_secret_key, \
                 stripe_secret_key_last4 = excluded.stripe_secret_key_last4, \
                 stripe_webhook_secret = excluded.stripe_webhook_secret, \
                 stripe_webhook_secret_last4 = excluded.stripe_webhook_secret_last4, \
                 stripe_account_id = excluded.stripe_account_id, \
                 stripe_publishable_key = excluded.stripe_publishable_key, updated_at = now() \
             returning updated_at",
        )
        .bind(tenant)
        .bind(self.provider.as_str())
        .bind(key.map(|s| &s.sealed))
        .bind(key.map(|s| &s.last4))
        .bind(webhook.map(|s| &s.sealed))
        .bind(webhook.map(|s| &s.last4))
        .bind(&self.stripe_account_id)
        .bind(&self.stripe_publishable_key)
        .fetch_one(conn)
        .await?;
        self.updated_at = Some(updated_at);
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct NotificationRow {
    email_from: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<i32>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_password_last4: Option<String>,
    smtp_tls: String,
    sms_account_sid: Option<String>,
    sms_auth_token: Option<String>,
    sms_auth_token_last4: Option<String>,
    sms_from: Option<String>,
    updated_at: DateTime<Utc>,
}

impl Stored for NotificationSettings {
    async fn find(conn: &mut PgConnection, tenant: TenantId, lock: bool) -> anyhow::Result<Option<Self>> {
        let lock = if lock { " for update" } else { "" };
        let row: Option<NotificationRow> = sqlx::query_as(&format!(
            "select email_from, smtp_host, smtp_port, smtp_username, smtp_password, smtp_password_last4, \
                    smtp_tls, sms_account_sid, sms_auth_token, sms_auth_token_last4, sms_from, updated_at \
             from control.tenant_notification_settings where tenant_id = $1{lock}"
        ))
        .bind(tenant)
        .fetch_optional(conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let smtp = match (row.smtp_host, row.smtp_port) {
            (Some(host), Some(port)) => Some(SmtpSettings {
                host,
                port: u16::try_from(port)?,
                username: row.smtp_username,
                password: secret(row.smtp_password, row.smtp_password_last4),
                tls: SmtpTls::parse(&row.smtp_tls)
                    .ok_or_else(|| anyhow::anyhow!("unknown stored SMTP tls {}", row.smtp_tls))?,
            }),
            _ => None,
        };
        let sms = match (row.sms_account_sid, secret(row.sms_auth_token, row.sms_auth_token_last4), row.sms_from) {
            (Some(account_sid), Some(auth_token), Some(from)) => Some(SmsSettings { account_sid, auth_token, from }),
            _ => None,
        };
        Ok(Some(NotificationSettings { email_from: row.email_from, smtp, sms, updated_at: Some(row.updated_at) }))
    }

    async fn save(&mut self, conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<()> {
        let smtp = self.smtp.as_ref();
        let smtp_password = smtp.and_then(|s| s.password.as_ref());
        let sms = self.sms.as_ref();
        let updated_at = sqlx::query_scalar(
            "insert into control.tenant_notification_settings (tenant_id, email_from, smtp_host, smtp_port, \
                 smtp_username, smtp_password, smtp_password_last4, sms_account_sid, sms_auth_token, \
                 sms_auth_token_last4, sms_from, smtp_tls) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             on conflict (tenant_id) do update set email_from = excluded.email_from, \
                 smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port, \
                 smtp_username = excluded.smtp_username, smtp_password = excluded.smtp_password, \
                 smtp_password_last4 = excluded.smtp_password_last4, sms_account_sid = excluded.sms_account_sid, \
                 sms_auth_token = excluded.sms_auth_token, sms_auth_token_last4 = excluded.sms_auth_token_last4, \
                 sms_from = excluded.sms_from, smtp_tls = excluded.smtp_tls, updated_at = now() \
             returning updated_at",
        )
        .bind(tenant)
        .bind(&self.email_from)
        .bind(smtp.map(|s| &s.host))
        .bind(smtp.map(|s| i32::from(s.port)))
        .bind(smtp.and_then(|s| s.username.as_ref()))
        .bind(smtp_password.map(|s| &s.sealed))
        .bind(smtp_password.map(|s| &s.last4))
        .bind(sms.map(|s| &s.account_sid))
        .bind(sms.map(|s| &s.auth_token.sealed))
        .bind(sms.map(|s| &s.auth_token.last4))
        .bind(sms.map(|s| &s.from))
        .bind(smtp.map_or(SmtpTls::default(), |s| s.tls).as_str())
        .fetch_one(conn)
        .await?;
        self.updated_at = Some(updated_at);
        Ok(())
    }
}
