//! Email: who an event's email goes to ([`targets`]) and sending one
//! ([`send`]), through the store's own SMTP relay or the platform's.
//!
//! Both are called by the delivery queue once per (event, recipient); they
//! keep no record and never retry: [`SendFailure::retryable`] tells the queue
//! whether trying again can help (a timeout, a refused connection, an SMTP
//! `4xx`) or not (an SMTP `5xx`, a bad address, a broken template).
//!
//! **Invariant:** every SMTP exchange ends within `SMTP_TIMEOUT_MS` (lettre's
//! per-command timeout, and the whole send under one deadline). Nothing here
//! logs or returns a message's body: a password reset link is a credential.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    transport::smtp::authentication::Credentials,
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use platform::{
    ids::TenantId,
    settings::{SmtpSettings, SmtpTls},
};
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    model::{Event, SendFailure, SentInfo},
    service, templates, NotificationsState,
};

type SmtpTransport = AsyncSmtpTransport<Tokio1Executor>;

/// How this process sends email: the platform relay (`SMTP_URL`), the
/// transports of stores' own relays (built once per distinct configuration
/// and kept while in use, so their pooled connections are reused), the
/// timeout and the platform's `From`. Cheap to clone.
#[derive(Clone)]
pub struct Mailer(Arc<MailerParts>);

struct MailerParts {
    relay: Relay,
    timeout: Duration,
    default_from: String,
    /// Keyed by a hash of host, port, user, password and TLS mode: a changed
    /// setting builds a new transport, and the password is not kept as a key.
    transports: moka::sync::Cache<[u8; 32], SmtpTransport>,
}

/// The platform's relay.
enum Relay {
    /// `SMTP_URL` is empty: stores without their own SMTP get no email.
    None,
    Smtp(SmtpTransport),
    /// `file:///dir`: each message written to `dir/<id>.eml`.
    File(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// The mailer of `smtp_url` (see `CommerceSettings::smtp_url`). Fails on a
    /// URL lettre cannot read, or a directory it cannot create: at startup.
    pub fn new(smtp_url: &str, timeout: Duration, default_from: String) -> anyhow::Result<Self> {
        let relay = if smtp_url.is_empty() {
            Relay::None
        } else if let Some(dir) = smtp_url.strip_prefix("file://") {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the mail directory {dir}"))?;
            Relay::File(AsyncFileTransport::new(dir))
        } else {
            Relay::Smtp(SmtpTransport::from_url(smtp_url).context("SMTP_URL")?.timeout(Some(timeout)).build())
        };
        default_from.parse::<lettre::Address>().context("EMAIL_FROM is not an email address")?;
        let transports =
            moka::sync::Cache::builder().max_capacity(1_000).time_to_idle(Duration::from_secs(600)).build();
        Ok(Self(Arc::new(MailerParts { relay, timeout, default_from, transports })))
    }

    /// The transport of a store's relay, from the cache.
    fn store_transport(&self, smtp: &SmtpSettings) -> Result<SmtpTransport, SendFailure> {
        let mut key = Sha256::new();
        for part in [
            smtp.host.as_str(),
            &smtp.port.to_string(),
            smtp.username.as_deref().unwrap_or(""),
            smtp.password.as_ref().map_or("", |p| p.expose_secret()),
            smtp.tls.as_str(),
        ] {
            key.update(part.as_bytes());
            key.update([0]);
        }
        let key: [u8; 32] = key.finalize().into();
        self.0.transports.try_get_with(key, || self.build_transport(smtp)).map_err(|e| (*e).clone())
    }

    fn build_transport(&self, smtp: &SmtpSettings) -> Result<SmtpTransport, SendFailure> {
        let builder = match smtp.tls {
            SmtpTls::None => SmtpTransport::builder_dangerous(&smtp.host),
            SmtpTls::StartTls => SmtpTransport::starttls_relay(&smtp.host)
                .map_err(|e| SendFailure::permanent(None, format!("SMTP settings: {e}")))?,
            SmtpTls::Tls => SmtpTransport::relay(&smtp.host)
                .map_err(|e| SendFailure::permanent(None, format!("SMTP settings: {e}")))?,
        };
        let mut builder = builder.port(smtp.port).timeout(Some(self.0.timeout));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        Ok(builder.build())
    }
}

/// Who gets the email of an outbox event: the order's email for order events,
/// the account's for password resets and welcomes; none for other topics.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant, topic))]
pub async fn targets(
    state: &NotificationsState,
    tenant: TenantId,
    topic: &str,
    payload: &Value,
) -> anyhow::Result<Vec<String>> {
    let Some(event) = Event::for_topic(topic) else { return Ok(Vec::new()) };
    if let Some(email) = payload.get("email").and_then(Value::as_str) {
        return Ok(vec![email.to_owned()]);
    }
    if !event.is_order() {
        anyhow::bail!("{topic} has no email");
    }
    let Some(store) = service::store(state, tenant).await? else { return Ok(Vec::new()) };
    Ok(service::order_of(state, &store, payload).await?.map(|order| order.email).into_iter().collect())
}

/// Renders and sends the email of an outbox event to `recipient`.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant, topic))]
pub async fn send(
    state: &NotificationsState,
    tenant: TenantId,
    topic: &str,
    payload: &Value,
    recipient: &str,
) -> Result<SentInfo, SendFailure> {
    let event =
        Event::for_topic(topic).ok_or_else(|| SendFailure::permanent(None, format!("{topic} sends no email")))?;
    // The store and its settings come from the process's cache; what the
    // message says (the order, the store's template) from one transaction.
    let store = service::store(state, tenant).await?.ok_or_else(|| SendFailure::permanent(None, "no such store"))?;
    let settings = &store.settings;
    let mut tx = service::tenant_tx(state, &store).await?;
    let context = service::context(&mut tx, state, &store, event, payload)
        .await?
        .ok_or_else(|| SendFailure::permanent(None, "the order is gone"))?;
    let template = service::email_template(&mut tx, event).await?;
    tx.commit().await?;
    let rendered = templates::render_email(&template, &context)
        .map_err(|e| SendFailure::permanent(None, format!("template {}: {}", e.field, e.message)))?;

    let mailer = &state.senders.mailer;
    let from_address = settings.email_from.as_deref().unwrap_or(&mailer.0.default_from);
    let from = Mailbox::new(
        Some(store.name.clone()),
        from_address.parse().map_err(|e| SendFailure::permanent(None, format!("email_from: {e}")))?,
    );
    let to: Mailbox = recipient.parse().map_err(|e| SendFailure::permanent(None, format!("recipient: {e}")))?;
    let domain = from.email.domain().to_owned();
    let message_id = format!("<{}@{domain}>", uuid::Uuid::now_v7());
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(rendered.text))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(rendered.html)),
        )
        .map_err(|e| SendFailure::permanent(None, format!("building the message: {e}")))?;

    let timeout = mailer.0.timeout;
    match &settings.smtp {
        Some(smtp) => {
            let transport = mailer.store_transport(smtp)?;
            smtp_send(&transport, message, timeout, "smtp", message_id).await
        }
        None => match &mailer.0.relay {
            Relay::Smtp(transport) => smtp_send(transport, message, timeout, "relay", message_id).await,
            Relay::File(transport) => match tokio::time::timeout(timeout, transport.send(message)).await {
                Ok(Ok(_)) => Ok(SentInfo { message_id: Some(message_id), code: None, transport: "file" }),
                Ok(Err(e)) => Err(SendFailure::transient(None, format!("writing the mail file: {e}"))),
                Err(_) => Err(SendFailure::transient(None, "writing the mail file timed out")),
            },
            Relay::None => Err(SendFailure::permanent(None, "no SMTP settings and no platform relay (SMTP_URL)")),
        },
    }
}

/// One SMTP send under the deadline; the reply code classifies a failure.
async fn smtp_send(
    transport: &SmtpTransport,
    message: Message,
    timeout: Duration,
    kind: &'static str,
    message_id: String,
) -> Result<SentInfo, SendFailure> {
    match tokio::time::timeout(timeout, transport.send(message)).await {
        Ok(Ok(response)) => {
            Ok(SentInfo { message_id: Some(message_id), code: Some(u16::from(response.code())), transport: kind })
        }
        Ok(Err(e)) => {
            let code = e.status().map(u16::from);
            // 5xx: the server refuses this message for good. Everything else
            // (4xx, timeouts, refused or dropped connections, TLS) may pass later.
            let failure = if e.is_permanent() { SendFailure::permanent } else { SendFailure::transient };
            Err(failure(code, format!("SMTP: {e}")))
        }
        Err(_) => Err(SendFailure::transient(None, format!("SMTP: no answer within {} ms", timeout.as_millis()))),
    }
}
