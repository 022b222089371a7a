//! A store's email template overrides (`notification_template`, channel
//! `email`, locale `en`): a row exists only where the merchant changed the
//! default.

use chrono::{DateTime, Utc};
use platform::db::TenantTx;
use uuid::Uuid;

use super::model::{EmailTemplate, Event, StoreTemplate};

type Row = (String, Option<String>, String, Option<String>, DateTime<Utc>);

fn from_row((event, subject, text, html, updated_at): Row) -> Option<StoreTemplate> {
    // A row of an event this version does not send (written by an older one)
    // is ignored rather than failing the list.
    Some(StoreTemplate {
        event: Event::parse(&event)?,
        template: EmailTemplate { subject: subject.unwrap_or_default(), text, html: html.unwrap_or_default() },
        customized: true,
        updated_at: Some(updated_at),
    })
}

/// The store's override of `event`.
#[tracing::instrument(skip_all, fields(event = %event))]
pub async fn find(tx: &mut TenantTx, event: Event) -> sqlx::Result<Option<StoreTemplate>> {
    let row: Option<Row> = sqlx::query_as(
        "select event, subject, body, html, updated_at from notification_template \
         where tenant_id = $1 and event = $2 and channel = 'email' and locale = 'en'",
    )
    .bind(tx.tenant_id())
    .bind(event.key())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(from_row))
}

/// Every override of the store.
pub async fn list(tx: &mut TenantTx) -> sqlx::Result<Vec<StoreTemplate>> {
    let rows: Vec<Row> = sqlx::query_as(
        "select event, subject, body, html, updated_at from notification_template \
         where tenant_id = $1 and channel = 'email' and locale = 'en' order by event",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}

/// Sets the store's override of `event`.
#[tracing::instrument(skip_all, fields(event = %event))]
pub async fn upsert(tx: &mut TenantTx, event: Event, template: &EmailTemplate) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "insert into notification_template (tenant_id, template_id, event, channel, locale, subject, body, html) \
         values ($1, $2, $3, 'email', 'en', $4, $5, $6) \
         on conflict (tenant_id, event, channel, locale) do update \
             set subject = excluded.subject, body = excluded.body, html = excluded.html, updated_at = now() \
         returning updated_at",
    )
    .bind(tx.tenant_id())
    .bind(Uuid::now_v7())
    .bind(event.key())
    .bind(&template.subject)
    .bind(&template.text)
    .bind(&template.html)
    .fetch_one(&mut **tx)
    .await
}

/// Drops the store's override of `event`; `false` when it had none.
#[tracing::instrument(skip_all, fields(event = %event))]
pub async fn delete(tx: &mut TenantTx, event: Event) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "delete from notification_template \
         where tenant_id = $1 and event = $2 and channel = 'email' and locale = 'en'",
    )
    .bind(tx.tenant_id())
    .bind(event.key())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}
