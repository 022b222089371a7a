//! Messages to shoppers: email and SMS for order and account events, the
//! `email` and `sms` channels of the delivery queue ([`super::delivery`]).
//!
//! `email::{targets, send}` and `sms::{targets, send}` are what a delivery
//! queue calls for the `email` and `sms` channels of an outbox event: who gets
//! it, then one send per recipient whose [`model::SendFailure`] says whether a
//! retry can help. They read the order (and the store's template) when
//! called, in one transaction; the store and its settings come from a
//! per-process cache dropped on the store's announcement ([`service::Stores`]). Templates are compiled in (`templates/`); a store may
//! override its email templates (`/admin/notifications/templates`).

pub mod email;
mod error;
pub mod model;
mod repo;
mod routes;
pub mod service;
pub mod sms;
pub mod templates;

use std::sync::Arc;

pub use error::Error;
pub(crate) use routes::doc;
pub use routes::router;

pub use super::NotificationsState;

/// How messages leave this process, built once at startup.
#[derive(Clone)]
pub struct Senders {
    pub mailer: email::Mailer,
    pub sms: sms::SmsGateway,
    pub links: Links,
}

impl Senders {
    /// From the settings: fails on a bad `SMTP_URL` or `EMAIL_FROM`.
    pub fn from_settings(commerce: &crate::settings::CommerceSettings, platform_domain: &str) -> anyhow::Result<Self> {
        let timeout = std::time::Duration::from_millis(commerce.smtp_timeout_ms);
        let from = match commerce.email_from.as_str() {
            "" => format!("no-reply@{platform_domain}"),
            from => from.to_owned(),
        };
        Ok(Self {
            mailer: email::Mailer::new(&commerce.smtp_url, timeout, from)?,
            sms: sms::SmsGateway::new(
                &commerce.twilio_api_url,
                std::time::Duration::from_millis(commerce.sms_timeout_ms),
            )?,
            links: Links::new(&commerce.store_url_template, platform_domain),
        })
    }
}

/// A store's public address, for links in messages.
#[derive(Clone, Debug)]
pub struct Links {
    template: Arc<str>,
}

impl Links {
    /// `template` with `{slug}` (`STORE_URL_TEMPLATE`); empty:
    /// `https://{slug}.<platform_domain>`.
    pub fn new(template: &str, platform_domain: &str) -> Self {
        let template = match template {
            "" => format!("https://{{slug}}.{platform_domain}"),
            t => t.trim_end_matches('/').to_owned(),
        };
        Self { template: template.into() }
    }

    /// The address of the store `slug`, without a trailing slash.
    pub fn store_url(&self, slug: &str) -> String {
        self.template.replace("{slug}", slug)
    }
}
