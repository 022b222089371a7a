//! Fan-out: which deliveries an outbox event becomes. Run by the outbox relay
//! in the transaction that marks the events published, so every published
//! event has its deliveries and none is written twice (the rows' unique key
//! makes a repeated fan-out a no-op).

use chrono::{DateTime, Utc};
use platform::db::SystemTx;
use uuid::Uuid;

use platform::ids::TenantId;

use super::{
    messages::model::Event as MessageEvent,
    model::{Channel, WebhookEvent},
    repo::{self, NewDelivery},
};

/// An event as the relay read it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Event {
    pub tenant_id: Uuid,
    pub event_id: Uuid,
    pub topic: String,
    pub aggregate_id: Uuid,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Writes the deliveries of `events` on every channel; how many were new.
pub async fn fan_out(tx: &mut SystemTx, events: &[Event]) -> anyhow::Result<u64> {
    let mut deliveries = Vec::new();
    for channel in Channel::ALL {
        deliveries.extend(targets(tx, channel, events).await?);
    }
    repo::insert_deliveries(tx, deliveries).await
}

/// The deliveries of `events` on one channel: the one place a channel says
/// who hears of what.
pub async fn targets(tx: &mut SystemTx, channel: Channel, events: &[Event]) -> anyhow::Result<Vec<NewDelivery>> {
    match channel {
        Channel::Webhook => webhook_targets(tx, events).await,
        Channel::Email => email_targets(tx, events).await,
        Channel::Sms => sms_targets(tx, events).await,
    }
}

/// Every active webhook of the event's store subscribed to its event name;
/// the payload is the Standard Webhooks body, fixed here so every retry
/// sends the same bytes' meaning.
async fn webhook_targets(tx: &mut SystemTx, events: &[Event]) -> anyhow::Result<Vec<NewDelivery>> {
    let named: Vec<(&Event, WebhookEvent)> =
        events.iter().filter_map(|e| WebhookEvent::from_topic(&e.topic).map(|w| (e, w))).collect();
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let mut stores: Vec<Uuid> = named.iter().map(|(e, _)| e.tenant_id).collect();
    stores.sort_unstable();
    stores.dedup();
    let hooks = repo::webhooks_of(tx, &stores).await?;
    let mut deliveries = Vec::new();
    for (event, name) in named {
        for (tenant_id, webhook_id, subscribed) in &hooks {
            if tenant_id.as_uuid() == event.tenant_id && subscribed.iter().any(|s| s == name.as_str()) {
                deliveries.push(NewDelivery {
                    tenant_id: *tenant_id,
                    event_id: event.event_id,
                    channel: Channel::Webhook,
                    target: webhook_id.to_string(),
                    topic: name.as_str().to_owned(),
                    payload: webhook_body(event, name),
                });
            }
        }
    }
    Ok(deliveries)
}

/// `{"type", "timestamp", "data"}` with `data.id` the object's id (the
/// event's aggregate: the order, the product).
pub fn webhook_body(event: &Event, name: WebhookEvent) -> serde_json::Value {
    let mut data = match &event.payload {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    data.insert("id".into(), event.aggregate_id.to_string().into());
    serde_json::json!({
        "type": name.as_str(),
        "timestamp": crate::wire::timestamp(event.created_at),
        "data": data,
    })
}

/// Email to the shopper, for the events that send one
/// ([`MessageEvent::for_topic`]): to the payload's `email` (account events) or
/// the order's (order events, read here in the relay's transaction). The
/// payload is the event's own; the sender reads the rest when it sends.
async fn email_targets(tx: &mut SystemTx, events: &[Event]) -> anyhow::Result<Vec<NewDelivery>> {
    let mut deliveries = Vec::new();
    for event in events {
        let Some(kind) = MessageEvent::for_topic(&event.topic) else { continue };
        let to = match event.payload.get("email").and_then(serde_json::Value::as_str) {
            Some(email) => Some(email.to_owned()),
            None if kind.is_order() => order_contact(tx, event).await?.map(|(email, _)| email),
            None => None,
        };
        if let Some(to) = to.filter(|t| !t.is_empty()) {
            deliveries.push(message(event, Channel::Email, to));
        }
    }
    Ok(deliveries)
}

/// A text message to the phone of the order's shipping address, for the
/// events with an SMS template (order confirmation and shipping).
async fn sms_targets(tx: &mut SystemTx, events: &[Event]) -> anyhow::Result<Vec<NewDelivery>> {
    let mut deliveries = Vec::new();
    for event in events {
        let Some(kind) = MessageEvent::for_topic(&event.topic) else { continue };
        if super::templates::default_sms(kind).is_none() {
            continue;
        }
        if let Some((_, Some(phone))) = order_contact(tx, event).await? {
            if !phone.trim().is_empty() {
                deliveries.push(message(event, Channel::Sms, phone));
            }
        }
    }
    Ok(deliveries)
}

fn message(event: &Event, channel: Channel, target: String) -> NewDelivery {
    NewDelivery {
        tenant_id: TenantId::from_uuid(event.tenant_id),
        event_id: event.event_id,
        channel,
        target,
        topic: event.topic.clone(),
        payload: event.payload.clone(),
    }
}

/// The email and shipping phone of the order an event is about.
async fn order_contact(tx: &mut SystemTx, event: &Event) -> anyhow::Result<Option<(String, Option<String>)>> {
    Ok(sqlx::query_as(
        "select email, shipping_address->>'phone' from sales_order where tenant_id = $1 and order_id = $2",
    )
    .bind(event.tenant_id)
    .bind(event.aggregate_id)
    .fetch_optional(&mut **tx)
    .await?)
}
