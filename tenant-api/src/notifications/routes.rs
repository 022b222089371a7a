//! Webhooks and the notification log over HTTP: `/admin/webhooks` (the
//! contract's endpoints) and `/admin/notifications/…` (every channel's
//! deliveries, dead letters, replay). Every staff token and `webhooks:read`
//! keys read; only admins' and owners' tokens and `webhooks:write` keys
//! create, delete or replay.

use axum::{
    extract::Path,
    http::StatusCode,
    routing::{delete, get, post},
    Json, Router,
};
use platform::{
    auth::{Area, Scope},
    extract::{ApiJson, ApiQuery, ListResponse, Page},
    problem::{FieldError, Problem},
};
use serde::{Deserialize, Serialize};

use super::{
    model::{
        Channel, Delivery, DeliveryFilter, DeliveryId, DeliveryStatus, NewWebhook, WebhookEvent, WebhookId, WebhookUrl,
    },
    repo, service, Error, NotificationsState,
};
use crate::{callers::Staff, wire::timestamp};

mod openapi;

pub(crate) use openapi::doc;

/// The routes of webhooks and the notification log.
pub fn router() -> Router<NotificationsState> {
    Router::new()
        .route("/admin/webhooks", get(list_webhooks).post(create_webhook))
        .route("/admin/webhooks/{id}", delete(delete_webhook))
        .route("/admin/webhooks/{id}/deliveries", get(webhook_deliveries))
        .route("/admin/notifications/deliveries", get(list_deliveries))
        .route("/admin/notifications/dead-letters", get(dead_letters))
        .route("/admin/notifications/dead-letters/{id}/replay", post(replay))
        .merge(super::messages::router())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = MerchantWebhookRequest)]
struct WebhookRequest {
    /// Where events are `POST`ed: `http` or `https`, a public address.
    url: String,
    /// Event names, e.g. `order.paid`.
    events: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MerchantWebhookResponse)]
struct WebhookResponse {
    id: String,
    url: String,
    events: Vec<String>,
    created_at: String,
    /// `whsec_<base64>`: in the creation's answer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<super::model::Webhook> for WebhookResponse {
    fn from(w: super::model::Webhook) -> Self {
        Self { id: w.id.to_string(), url: w.url, events: w.events, created_at: timestamp(w.created_at), secret: None }
    }
}

/// One delivery in the notification log.
#[derive(Serialize, utoipa::ToSchema)]
struct DeliveryResponse {
    /// Also the `webhook-id` header of every attempt.
    id: String,
    event_id: String,
    channel: &'static str,
    /// A webhook's id, an email address or a phone number.
    target: String,
    /// The event's name, e.g. `order.paid`.
    #[serde(rename = "type")]
    kind: String,
    /// `pending`, `succeeded` or `dead`.
    status: &'static str,
    attempts: i32,
    /// When a pending delivery is tried next.
    next_attempt_at: Option<String>,
    last_error: Option<String>,
    /// The HTTP status of the last answer.
    last_status: Option<i32>,
    created_at: String,
    delivered_at: Option<String>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            channel: d.channel.as_str(),
            target: d.target,
            kind: d.topic,
            status: d.status.as_str(),
            attempts: d.attempts,
            next_attempt_at: (d.status == DeliveryStatus::Pending).then(|| timestamp(d.next_attempt_at)),
            last_error: d.last_error,
            last_status: d.last_status,
            created_at: timestamp(d.created_at),
            delivered_at: d.delivered_at.map(timestamp),
        }
    }
}

/// `?status=&channel=` of the notification log.
#[derive(Deserialize)]
struct DeliveryQuery {
    status: Option<String>,
    channel: Option<String>,
}

impl DeliveryQuery {
    fn filter(&self) -> Result<DeliveryFilter, Problem> {
        let status = match self.status.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                DeliveryStatus::parse(raw)
                    .ok_or_else(|| Problem::invalid_parameter("status", "must be pending, succeeded or dead"))?,
            ),
        };
        let channel = match self.channel.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(
                Channel::parse(raw)
                    .ok_or_else(|| Problem::invalid_parameter("channel", "must be webhook, email or sms"))?,
            ),
        };
        Ok(DeliveryFilter { status, channel })
    }
}

impl WebhookRequest {
    /// The new webhook, or every field at fault.
    fn parse(self) -> Result<NewWebhook, Problem> {
        let mut errors = Vec::new();
        let url = WebhookUrl::parse(&self.url).map_err(|e| errors.push(FieldError::new("url", e))).ok();
        let mut events = Vec::new();
        for name in &self.events {
            match WebhookEvent::parse(name) {
                Some(event) if !events.contains(&event) => events.push(event),
                Some(_) => {}
                None => {
                    let known: Vec<_> = WebhookEvent::ALL.iter().map(|e| e.as_str()).collect();
                    errors.push(FieldError::new(
                        "events",
                        format!("{name:?} is not an event; known: {}", known.join(", ")),
                    ));
                }
            }
        }
        if self.events.is_empty() {
            errors.push(FieldError::new("events", "must name at least one event"));
        }
        let (Some(url), true) = (url, errors.is_empty()) else {
            return Err(Problem::validation(errors));
        };
        Ok(NewWebhook { url, events })
    }
}

/// Every route here is a staff member's.
type Admin = Staff<NotificationsState>;

const READ: Scope = Scope::read(Area::Webhooks);
const WRITE: Scope = Scope::write(Area::Webhooks);

/// `POST /admin/webhooks`: 201 with the secret, shown only here.
async fn create_webhook(
    admin: Admin,
    body: Result<ApiJson<WebhookRequest>, Problem>,
) -> Result<(StatusCode, Json<WebhookResponse>), Problem> {
    admin.allow_admin(WRITE)?;
    let new = body?.0.parse()?;
    let (webhook, secret) = service::create_webhook(&admin.state, &admin.tenant, new).await?;
    let mut response = WebhookResponse::from(webhook);
    response.secret = Some(secret);
    Ok((StatusCode::CREATED, Json(response)))
}

/// `GET /admin/webhooks`: every webhook of the store, without secrets.
async fn list_webhooks(admin: Admin) -> Result<Json<ListResponse<WebhookResponse>>, Problem> {
    admin.allow(READ)?;
    let mut tx = admin.state.db.tenant_tx(&admin.tenant).await?;
    let webhooks = repo::list_webhooks(&mut tx).await.map_err(Error::from)?;
    Ok(Json(ListResponse::all(webhooks)))
}

/// `DELETE /admin/webhooks/{id}`: 204; nothing more is sent to it.
async fn delete_webhook(admin: Admin, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    admin.allow_admin(WRITE)?;
    let id = WebhookId::parse(&id).ok_or(Error::NotFound)?;
    let mut tx = admin.state.db.tenant_tx(&admin.tenant).await?;
    if !repo::delete_webhook(&mut tx, id).await.map_err(Error::from)? {
        return Err(Error::NotFound.into());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/webhooks/{id}/deliveries`: the webhook's deliveries, newest first.
async fn webhook_deliveries(
    admin: Admin,
    Path(id): Path<String>,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<DeliveryResponse>>, Problem> {
    admin.allow(READ)?;
    let page = page?;
    let id = WebhookId::parse(&id).ok_or(Error::NotFound)?;
    let mut tx = admin.state.db.tenant_tx(&admin.tenant).await?;
    if !repo::webhook_exists(&mut tx, id).await? {
        return Err(Error::NotFound.into());
    }
    let target = Some((Channel::Webhook, id.to_string()));
    let deliveries = repo::list_deliveries(&mut tx, DeliveryFilter::default(), target, page).await?;
    Ok(Json(page.respond(deliveries, |d| d.id.as_uuid(), DeliveryResponse::from)))
}

/// `GET /admin/notifications/deliveries?status=&channel=&limit=&cursor=`:
/// the notification log, newest first.
async fn list_deliveries(
    admin: Admin,
    query: Result<ApiQuery<DeliveryQuery>, Problem>,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<DeliveryResponse>>, Problem> {
    admin.allow(READ)?;
    let (ApiQuery(query), page) = (query?, page?);
    let filter = query.filter()?;
    log(&admin, filter, page).await
}

/// `GET /admin/notifications/dead-letters`: deliveries whose every attempt failed.
async fn dead_letters(
    admin: Admin,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<DeliveryResponse>>, Problem> {
    admin.allow(READ)?;
    log(&admin, DeliveryFilter { status: Some(DeliveryStatus::Dead), channel: None }, page?).await
}

async fn log(
    admin: &Admin,
    filter: DeliveryFilter,
    page: Page,
) -> Result<Json<ListResponse<DeliveryResponse>>, Problem> {
    let mut tx = admin.state.db.tenant_tx(&admin.tenant).await?;
    let deliveries = repo::list_deliveries(&mut tx, filter, None, page).await?;
    Ok(Json(page.respond(deliveries, |d| d.id.as_uuid(), DeliveryResponse::from)))
}

/// `POST /admin/notifications/dead-letters/{id}/replay`: the dead letter is
/// pending again with its attempts reset (same id, so a receiver that did
/// get it de-duplicates); 409 for a delivery that is not dead.
async fn replay(admin: Admin, Path(id): Path<String>) -> Result<Json<DeliveryResponse>, Problem> {
    admin.allow_admin(WRITE)?;
    let id = DeliveryId::parse(&id).ok_or(Error::NotFound)?;
    let mut tx = admin.state.db.tenant_tx(&admin.tenant).await?;
    let Some(replayed) = repo::replay(&mut tx, id).await? else {
        return Err(match repo::find_delivery(&mut tx, id).await? {
            Some(_) => Error::NotDead,
            None => Error::NotFound,
        }
        .into());
    };
    tx.commit().await?;
    Ok(Json(replayed.into()))
}
