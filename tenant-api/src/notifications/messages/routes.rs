//! Email template HTTP: `/admin/notifications/templates`. Every staff token
//! and `webhooks:read` keys read (the store's outgoing messages share the
//! `webhooks` scope); only admins' and owners' tokens and `webhooks:write`
//! keys change them.

use axum::{extract::Path, routing::get, Json, Router};
use platform::{
    auth::{Area, Scope},
    extract::{ApiJson, ListResponse},
    problem::{FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    model::{EmailTemplate, Event, StoreTemplate},
    repo, templates, Error, NotificationsState,
};
use crate::{callers::Staff, wire::timestamp};

mod openapi;

pub(crate) use openapi::doc;

/// The template routes.
pub fn router() -> Router<NotificationsState> {
    Router::new()
        .route("/admin/notifications/templates", get(list))
        .route("/admin/notifications/templates/{event}", get(read).put(update).delete(revert))
}

type Admin = Staff<NotificationsState>;

const READ: Scope = Scope::read(Area::Webhooks);
const WRITE: Scope = Scope::write(Area::Webhooks);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TemplateRequest {
    /// One line; Jinja syntax.
    subject: String,
    /// The text part.
    text: String,
    /// The HTML part; values are HTML-escaped.
    html: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TemplateResponse {
    /// `order.paid`, `order.payment_failed`, `order.fulfilled`, `order.refunded`,
    /// `order.cancelled`, `customer.password_reset`, `customer.registered`.
    event: &'static str,
    subject: String,
    text: String,
    html: String,
    /// `false`: the platform's default.
    customized: bool,
    updated_at: Option<String>,
}

impl From<StoreTemplate> for TemplateResponse {
    fn from(t: StoreTemplate) -> Self {
        Self {
            event: t.event.key(),
            subject: t.template.subject,
            text: t.template.text,
            html: t.template.html,
            customized: t.customized,
            updated_at: t.updated_at.map(timestamp),
        }
    }
}

fn default_of(event: Event) -> StoreTemplate {
    StoreTemplate { event, template: templates::default_email(event), customized: false, updated_at: None }
}

fn parse_event(key: &str) -> Result<Event, Problem> {
    Ok(Event::parse(key).ok_or(Error::UnknownEvent)?)
}

/// Every event's template: the store's override or the default.
async fn list(staff: Admin) -> Result<Json<ListResponse<TemplateResponse>>, Problem> {
    staff.allow(READ)?;
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let overrides = repo::list(&mut tx).await.map_err(Error::from)?;
    let items = Event::ALL
        .into_iter()
        .map(|event| overrides.iter().find(|t| t.event == event).cloned().unwrap_or_else(|| default_of(event)));
    Ok(Json(ListResponse::all(items)))
}

/// One event's template.
async fn read(staff: Admin, Path(event): Path<String>) -> Result<Json<TemplateResponse>, Problem> {
    staff.allow(READ)?;
    let event = parse_event(&event)?;
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let found = repo::find(&mut tx, event).await.map_err(Error::from)?;
    Ok(Json(found.unwrap_or_else(|| default_of(event)).into()))
}

/// Overrides an event's template; each part must parse and render.
async fn update(
    staff: Admin,
    Path(event): Path<String>,
    ApiJson(body): ApiJson<TemplateRequest>,
) -> Result<Json<TemplateResponse>, Problem> {
    staff.allow_admin(WRITE)?;
    let event = parse_event(&event)?;
    let template = EmailTemplate { subject: body.subject, text: body.text, html: body.html };
    let mut errors: Vec<FieldError> =
        templates::check_email(event, &template).into_iter().map(|e| FieldError::new(e.field, e.message)).collect();
    for (field, value) in [("subject", &template.subject), ("text", &template.text), ("html", &template.html)] {
        if value.trim().is_empty() {
            errors.push(FieldError::new(field, "must not be empty"));
        } else if value.len() > 100_000 {
            errors.push(FieldError::new(field, "must be at most 100000 bytes"));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors).into());
    }
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let updated_at = repo::upsert(&mut tx, event, &template).await.map_err(Error::from)?;
    tx.commit().await?;
    Ok(Json(StoreTemplate { event, template, customized: true, updated_at: Some(updated_at) }.into()))
}

/// Drops the store's override: the default applies again, and is returned.
async fn revert(staff: Admin, Path(event): Path<String>) -> Result<Json<TemplateResponse>, Problem> {
    staff.allow_admin(WRITE)?;
    let event = parse_event(&event)?;
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    if !repo::delete(&mut tx, event).await.map_err(Error::from)? {
        return Err(Error::NotCustomized.into());
    }
    tx.commit().await?;
    Ok(Json(default_of(event).into()))
}
