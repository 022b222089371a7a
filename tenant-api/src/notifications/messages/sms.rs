//! SMS: the order confirmation and the shipping notice, to the phone of the
//! order's shipping address, through the store's SMS settings (Twilio).
//!
//! Same shape as `email`: [`targets`] and [`send`] for the delivery queue, no
//! retries here. [`SmsSender`] is a trait so that a second provider can be
//! added next to Twilio without touching the callers.

use std::{sync::Arc, time::Duration};

use futures_util::future::BoxFuture;
use platform::{ids::TenantId, settings::SmsSettings};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::{
    model::{Event, SendFailure, SentInfo},
    service, templates, NotificationsState,
};

/// Sends one text message.
pub trait SmsSender: Send + Sync {
    /// Sends `body` to `to` (E.164).
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> BoxFuture<'a, Result<SentInfo, SendFailure>>;
}

/// Where and how this process reaches SMS providers: one HTTP client (its
/// timeout bounds every call) and Twilio's base URL. Cheap to clone.
#[derive(Clone)]
pub struct SmsGateway {
    client: reqwest::Client,
    twilio_api_url: Arc<str>,
}

impl SmsGateway {
    /// A gateway whose calls give up after `timeout`.
    pub fn new(twilio_api_url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build()?;
        Ok(Self { client, twilio_api_url: twilio_api_url.trim_end_matches('/').into() })
    }

    /// The sender of a store's settings.
    pub fn sender(&self, settings: SmsSettings) -> Arc<dyn SmsSender> {
        Arc::new(Twilio { client: self.client.clone(), base: self.twilio_api_url.clone(), settings })
    }
}

/// Twilio's Programmable Messaging: `POST /2010-04-01/Accounts/{sid}/Messages.json`,
/// a form of `To`, `From`, `Body`, basic auth with the account sid and token.
struct Twilio {
    client: reqwest::Client,
    base: Arc<str>,
    settings: SmsSettings,
}

impl SmsSender for Twilio {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> BoxFuture<'a, Result<SentInfo, SendFailure>> {
        Box::pin(async move {
            let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.base, self.settings.account_sid);
            let response = self
                .client
                .post(url)
                .basic_auth(&self.settings.account_sid, Some(self.settings.auth_token.expose_secret()))
                .form(&[("To", to), ("From", self.settings.from.as_str()), ("Body", body)])
                .send()
                .await
                .map_err(|e| {
                    // Without the URL: it names the account.
                    let what = if e.is_timeout() { "timed out" } else { "no answer" };
                    SendFailure::transient(None, format!("Twilio: {what}"))
                })?;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                let sid = answer.get("sid").and_then(Value::as_str).map(str::to_owned);
                return Ok(SentInfo { message_id: sid, code: Some(status.as_u16()), transport: "twilio" });
            }
            // Twilio's own error code and message say why (a bad number, an
            // unverified sender); they carry no secret.
            let reason = format!(
                "Twilio {}: {} {}",
                status.as_u16(),
                answer.get("code").map(Value::to_string).unwrap_or_default(),
                answer.get("message").and_then(Value::as_str).unwrap_or_default()
            );
            let retryable = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
            Err(SendFailure { retryable, code: Some(status.as_u16()), reason, unsent: false })
        })
    }
}

/// Who gets the SMS of an outbox event: the phone of the order's shipping
/// address, for the order confirmation and the shipping notice; nobody
/// otherwise (no phone, another event).
#[tracing::instrument(skip_all, fields(tenant_id = %tenant, topic))]
pub async fn targets(
    state: &NotificationsState,
    tenant: TenantId,
    topic: &str,
    payload: &Value,
) -> anyhow::Result<Vec<String>> {
    let Some(event) = Event::for_topic(topic).filter(|e| templates::default_sms(*e).is_some()) else {
        return Ok(Vec::new());
    };
    debug_assert!(event.is_order());
    let Some(store) = service::store(state, tenant).await? else { return Ok(Vec::new()) };
    let order = service::order_of(state, &store, payload).await?;
    Ok(order.and_then(|o| o.shipping_address.phone).filter(|p| !p.trim().is_empty()).into_iter().collect())
}

/// Renders and sends the SMS of an outbox event to `recipient`. A store
/// without SMS settings fails permanently.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant, topic))]
pub async fn send(
    state: &NotificationsState,
    tenant: TenantId,
    topic: &str,
    payload: &Value,
    recipient: &str,
) -> Result<SentInfo, SendFailure> {
    let source = Event::for_topic(topic)
        .and_then(|e| templates::default_sms(e).map(|s| (e, s)))
        .ok_or_else(|| SendFailure::permanent(None, format!("{topic} sends no SMS")))?;
    let (event, source) = source;
    let store = service::store(state, tenant).await?.ok_or_else(|| SendFailure::permanent(None, "no such store"))?;
    let sms =
        store.settings.sms.clone().ok_or_else(|| SendFailure::permanent(None, "the store has no SMS settings"))?;
    let mut tx = service::tenant_tx(state, &store).await?;
    let context = service::context(&mut tx, state, &store, event, payload)
        .await?
        .ok_or_else(|| SendFailure::permanent(None, "the order is gone"))?;
    tx.commit().await?;
    let body = templates::render_sms(source, &context)
        .map_err(|e| SendFailure::permanent(None, format!("template {}: {}", e.field, e.message)))?;
    state.senders.sms.sender(sms).send(recipient, &body).await
}
