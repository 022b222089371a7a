//! What a message says: the facts of the store, the order or the shopper an
//! event is about, gathered at send time and handed to the templates as one
//! JSON context. Reading the order when the message is sent (rather than
//! copying it into every outbox payload) gives the templates all of it (lines,
//! totals, tracking) and keeps the payloads small.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use platform::{db::TenantTx, ids::TenantId, money::Money, settings::NotificationSettings, store_cache::StoreCache};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use super::{model::Event, repo, NotificationsState};
use crate::orders::model::{Order, OrderId};

/// A store as its messages name it, and how they are sent.
#[derive(Debug)]
pub struct Store {
    pub id: TenantId,
    /// Display name (`control.tenant.name`).
    pub name: String,
    /// The cell holding its rows.
    pub cell_id: String,
    /// Its public address, for links: no trailing slash.
    pub url: String,
    /// Its sender, relay and SMS account, secrets opened.
    pub settings: NotificationSettings,
}

/// Every store's [`Store`], cached per process: a send reads its store and
/// settings once per TTL, not once per message. Dropped on the store's
/// announcement (a rename and every settings change are announced), kept at
/// most [`STORES_TTL`] if an announcement is lost, which bounds how long a
/// rotated SMTP password or SMS token can stay in use.
pub type Stores = StoreCache<Store>;

/// How long a store's [`Store`] is kept without an announcement.
pub const STORES_TTL: Duration = platform::settings::PAYMENT_SETTINGS_TTL;

/// The store `tenant`, with its settings. `None` when it does not exist.
pub async fn store(state: &NotificationsState, tenant: TenantId) -> anyhow::Result<Option<Arc<Store>>> {
    let read = state.db.on_control(async {
        let control = state.db.control();
        let row: Option<(String, String, String)> =
            sqlx::query_as("select slug, name, cell_id from control.tenant where tenant_id = $1")
                .bind(tenant)
                .fetch_optional(control)
                .await?;
        let Some((slug, name, cell_id)) = row else { return Ok(None) };
        let settings = platform::settings::notification_settings(control, &state.master, tenant).await?;
        Ok(Some(Store { id: tenant, url: state.senders.links.store_url(&slug), name, cell_id, settings }))
    });
    state.stores.get_or_read(tenant, read).await
}

/// A transaction of `store` in its cell.
pub async fn tenant_tx(state: &NotificationsState, store: &Store) -> anyhow::Result<TenantTx> {
    let pool = state.db.cell(&store.cell_id).await?;
    TenantTx::begin(&pool, store.id).await
}

/// The order an order event is about, `None` when it is gone.
pub async fn order(tx: &mut TenantTx, payload: &Value) -> anyhow::Result<Option<Order>> {
    let Some(id) = payload.get("order_id").and_then(Value::as_str).and_then(OrderId::parse) else {
        anyhow::bail!("the event has no order_id");
    };
    match crate::orders::service::order(tx, id).await {
        Ok(order) => Ok(Some(order)),
        Err(crate::orders::Error::OrderNotFound) => Ok(None),
        Err(e) => Err(anyhow::anyhow!(e).context("reading the order")),
    }
}

/// The order an order event is about, in a transaction of its own.
pub async fn order_of(state: &NotificationsState, store: &Store, payload: &Value) -> anyhow::Result<Option<Order>> {
    let mut tx = tenant_tx(state, store).await?;
    let found = order(&mut tx, payload).await?;
    tx.commit().await?;
    Ok(found)
}

/// The template context of `event` for `store`: `store`, and `order` and
/// `refund` (order events), `customer` (account events) or `reset_url`.
/// `Ok(None)` when what the event is about is gone (an order deleted with
/// its store): nothing to send.
pub async fn context(
    tx: &mut TenantTx,
    state: &NotificationsState,
    store: &Store,
    event: Event,
    payload: &Value,
) -> anyhow::Result<Option<Value>> {
    let mut context = json!({"store": {"name": store.name, "url": store.url}});
    if event.is_order() {
        let Some(order) = order(tx, payload).await? else { return Ok(None) };
        let refund = payload.get("refund_amount").and_then(Value::as_i64).unwrap_or(order.refunded_total);
        context["refund"] = json!({"amount": order.money(refund).to_string()});
        context["order"] = order_facts(&order);
    } else {
        let email = payload.get("email").and_then(Value::as_str).context("the event has no email")?;
        context["customer"] = json!({"email": email});
    }
    if event == Event::PasswordReset {
        let sealed = payload.get("token_sealed").and_then(Value::as_str).context("the event has no token")?;
        let token = state.master.open(sealed).context("opening the reset token")?;
        context["reset_url"] = json!(format!("{}/password-reset?token={}", store.url, token.expose_secret()));
    }
    Ok(Some(context))
}

/// An order as templates see it: amounts as formatted prices.
fn order_facts(order: &Order) -> Value {
    let price = |amount: i64| order.money(amount).to_string();
    let t = &order.totals;
    json!({
        "id": order.id.to_string(),
        "number": order.number,
        "email": order.email,
        "status": order.status.as_str(),
        "currency": order.currency.as_str(),
        "subtotal": price(t.subtotal),
        "discount_total": (t.discount > 0).then(|| price(t.discount)),
        "shipping_total": price(t.shipping),
        "tax_total": price(t.tax),
        "total": price(t.total),
        "total_minor": t.total,
        "refunded_total": price(order.refunded_total),
        "refunded_total_minor": order.refunded_total,
        "tracking_number": order.tracking_number,
        "carrier": order.carrier,
        "cancel_reason": order.cancel_reason,
        "shipping_name": order.shipping_address.name,
        "lines": order.lines.iter().map(|l| json!({
            "title": l.title, "sku": l.sku, "quantity": l.quantity,
            "unit_price": l.unit_price.to_string(), "total": l.total.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// What a template of `event` may use, with made-up values: merchants'
/// templates are checked against it before they are stored.
pub fn sample_context(event: Event) -> Value {
    let usd = |amount| Money::new(amount, platform::money::Currency::parse("USD").expect("USD")).to_string();
    let mut context = json!({"store": {"name": "Example Store", "url": "https://example.localhost"}});
    if event.is_order() {
        context["order"] = json!({
            "id": "0190a5b4-0000-7000-8000-000000000000", "number": 1001, "email": "ann@example.com",
            "status": "paid", "currency": "USD", "subtotal": usd(1999), "discount_total": null,
            "shipping_total": usd(0), "tax_total": usd(0), "total": usd(1999), "total_minor": 1999,
            "refunded_total": usd(0), "refunded_total_minor": 0, "tracking_number": "1Z999", "carrier": "UPS",
            "cancel_reason": null, "shipping_name": "Ann Buyer",
            "lines": [{"title": "Mug", "sku": "MUG-1", "quantity": 1, "unit_price": usd(1999), "total": usd(1999)}],
        });
        context["refund"] = json!({"amount": usd(1999)});
    } else {
        context["customer"] = json!({"email": "ann@example.com"});
    }
    if event == Event::PasswordReset {
        context["reset_url"] = json!("https://example.localhost/password-reset?token=prt_example");
    }
    context
}

/// The email template the store uses for `event`: its override, else the default.
pub async fn email_template(tx: &mut TenantTx, event: Event) -> anyhow::Result<super::model::EmailTemplate> {
    let found = repo::find(tx, event).await?;
    Ok(found.map_or_else(|| super::templates::default_email(event), |t| t.template))
}
