//! `commerce_store_payment_settings` and `commerce_store_notification_settings`:
//! one per store, written whole with `PUT` (a field left null clears it).
//! Secrets go in as sensitive values; the platform answers only their last
//! four characters, so a secret changed outside Terraform shows as a diff.
//! Destroy puts the platform's defaults back (the built-in test provider; the
//! platform's mail relay), since a store always has settings.

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use tf_provider::{
    schema::{
        AttributeConstraint::{Computed, Optional, OptionalComputed, Required},
        AttributeType, Schema,
    },
    value::Value,
};

use crate::{
    api::Api,
    schema::{attr, differs, json_string, schema, secret, string, text, Crud},
};

/// The secret as the state keeps it, given what the platform answers of it
/// (`{"last4"}` or null): kept while its last four match, else marked changed.
fn secret_read(state: &Value<String>, remote: &Json) -> Value<String> {
    let Some(last4) = remote["last4"].as_str() else { return Value::Null };
    match text(state) {
        Some(s) if s.ends_with(last4) => state.clone(),
        _ => Value::Value(format!("(set outside Terraform, ending in {last4})")),
    }
}

fn path(store: &Value<String>, kind: &str) -> String {
    format!("/v1/tenants/{}/{kind}-settings", text(store).unwrap_or(""))
}

pub struct PaymentSettings;

#[derive(Clone, Serialize, Deserialize)]
pub struct PaymentState {
    id: Value<String>,
    store_id: Value<String>,
    payment_provider: Value<String>,
    stripe_secret_key: Value<String>,
    stripe_webhook_secret: Value<String>,
    stripe_account_id: Value<String>,
    /// Added after the first release: a state written before it has none.
    #[serde(default)]
    stripe_publishable_key: Value<String>,
    checkout_ready: Value<bool>,
}

fn payment_from_api(mut state: PaymentState, body: &Json) -> PaymentState {
    state.id = state.store_id.clone();
    state.payment_provider = json_string(&body["provider"]);
    state.stripe_secret_key = secret_read(&state.stripe_secret_key, &body["stripe_secret_key"]);
    state.stripe_webhook_secret = secret_read(&state.stripe_webhook_secret, &body["stripe_webhook_secret"]);
    state.stripe_account_id = json_string(&body["stripe_account_id"]);
    state.stripe_publishable_key = json_string(&body["stripe_publishable_key"]);
    state.checkout_ready = Value::Value(body["checkout_ready"].as_bool().unwrap_or(false));
    state
}

async fn put_payment(api: &Api, state: PaymentState) -> Result<PaymentState, String> {
    let body = json!({
        "provider": text(&state.payment_provider),
        "stripe_secret_key": text(&state.stripe_secret_key),
        "stripe_webhook_secret": text(&state.stripe_webhook_secret),
        "stripe_account_id": text(&state.stripe_account_id),
        "stripe_publishable_key": text(&state.stripe_publishable_key),
    });
    let path = path(&state.store_id, "payment");
    let answer = api.control(Method::PUT, &path, Some(&body)).await?.expect("put payment settings", &[200])?;
    Ok(payment_from_api(state, &answer))
}

#[async_trait]
impl Crud for PaymentSettings {
    type State = PaymentState;

    fn schema() -> Schema {
        schema(
            "A store's payment settings (import id: the store id). Destroy restores the test provider.",
            vec![
                ("id", string(Computed, "The store id.")),
                ("store_id", string(Required, "The store.")),
                ("payment_provider", string(Required, "test or stripe (`provider` is a Terraform meta-argument).")),
                ("stripe_secret_key", secret(Optional, "Stripe secret key (sk_…).")),
                ("stripe_webhook_secret", secret(Optional, "Stripe webhook signing secret (whsec_…).")),
                ("stripe_account_id", string(Optional, "A Connect account id (acct_…).")),
                (
                    "stripe_publishable_key",
                    string(
                        Optional,
                        "Stripe publishable key (pk_test_… or pk_live_…) for the checkout page's card form.",
                    ),
                ),
                (
                    "checkout_ready",
                    attr(AttributeType::Bool, Computed, "Whether checkout can charge on this platform."),
                ),
            ],
        )
    }

    fn plan_create(state: &mut PaymentState) {
        state.id = Value::Unknown;
        state.checkout_ready = Value::Unknown;
    }

    fn replaced_by(prior: &PaymentState, proposed: &PaymentState) -> Vec<&'static str> {
        let mut changed = Vec::new();
        differs(&mut changed, "store_id", &prior.store_id, &proposed.store_id);
        changed
    }

    async fn create(api: &Api, planned: PaymentState) -> Result<PaymentState, String> {
        put_payment(api, planned).await
    }

    async fn read(api: &Api, state: PaymentState) -> Result<Option<PaymentState>, String> {
        let answer = api.control(Method::GET, &path(&state.store_id, "payment"), None).await?;
        if answer.is_not_found() {
            return Ok(None);
        }
        Ok(Some(payment_from_api(state, &answer.expect("read payment settings", &[200])?)))
    }

    async fn update(api: &Api, _prior: PaymentState, planned: PaymentState) -> Result<PaymentState, String> {
        put_payment(api, planned).await
    }

    async fn delete(api: &Api, state: PaymentState) -> Result<(), String> {
        let body = json!({"provider": "test", "stripe_secret_key": null, "stripe_webhook_secret": null,
                          "stripe_account_id": null, "stripe_publishable_key": null});
        let answer = api.control(Method::PUT, &path(&state.store_id, "payment"), Some(&body)).await?;
        if !answer.is_not_found() {
            answer.expect("reset payment settings", &[200])?;
        }
        Ok(())
    }

    fn import(id: &str) -> Result<PaymentState, String> {
        Ok(PaymentState {
            id: Value::Value(id.to_owned()),
            store_id: Value::Value(id.to_owned()),
            payment_provider: Value::Null,
            stripe_secret_key: Value::Null,
            stripe_webhook_secret: Value::Null,
            stripe_account_id: Value::Null,
            stripe_publishable_key: Value::Null,
            checkout_ready: Value::Null,
        })
    }
}

pub struct NotificationSettings;

#[derive(Clone, Serialize, Deserialize)]
pub struct NotificationState {
    id: Value<String>,
    store_id: Value<String>,
    email_from: Value<String>,
    smtp_host: Value<String>,
    smtp_port: Value<i64>,
    smtp_username: Value<String>,
    smtp_password: Value<String>,
    smtp_tls: Value<String>,
    sms_account_sid: Value<String>,
    sms_auth_token: Value<String>,
    sms_from: Value<String>,
}

fn notification_from_api(mut state: NotificationState, body: &Json) -> NotificationState {
    state.id = state.store_id.clone();
    state.email_from = json_string(&body["email_from"]);
    let smtp = &body["smtp"];
    state.smtp_host = json_string(&smtp["host"]);
    state.smtp_port = smtp["port"].as_i64().map_or(Value::Null, Value::Value);
    state.smtp_username = json_string(&smtp["username"]);
    state.smtp_password = secret_read(&state.smtp_password, &smtp["password"]);
    state.smtp_tls = json_string(&smtp["tls"]);
    let sms = &body["sms"];
    state.sms_account_sid = json_string(&sms["account_sid"]);
    state.sms_auth_token = secret_read(&state.sms_auth_token, &sms["auth_token"]);
    state.sms_from = json_string(&sms["from"]);
    state
}

async fn put_notification(api: &Api, state: NotificationState) -> Result<NotificationState, String> {
    let smtp = text(&state.smtp_host).map(|host| {
        let mut smtp = json!({"host": host, "port": state.smtp_port.as_ref_option(),
                              "username": text(&state.smtp_username), "password": text(&state.smtp_password)});
        if let Some(tls) = text(&state.smtp_tls) {
            smtp["tls"] = tls.into();
        }
        smtp
    });
    let sms = text(&state.sms_account_sid).map(
        |sid| json!({"account_sid": sid, "auth_token": text(&state.sms_auth_token), "from": text(&state.sms_from)}),
    );
    let body = json!({"email_from": text(&state.email_from), "smtp": smtp, "sms": sms});
    let path = path(&state.store_id, "notification");
    let answer = api.control(Method::PUT, &path, Some(&body)).await?.expect("put notification settings", &[200])?;
    Ok(notification_from_api(state, &answer))
}

#[async_trait]
impl Crud for NotificationSettings {
    type State = NotificationState;

    fn schema() -> Schema {
        schema(
            "A store's notification settings (import id: the store id). Without smtp_host the platform's relay \
             sends its mail; destroy clears them all.",
            vec![
                ("id", string(Computed, "The store id.")),
                ("store_id", string(Required, "The store.")),
                ("email_from", string(Optional, "The From address of the store's email.")),
                ("smtp_host", string(Optional, "The store's own SMTP server.")),
                ("smtp_port", attr(AttributeType::Number, Optional, "Its port.")),
                ("smtp_username", string(Optional, "SMTP user.")),
                ("smtp_password", secret(Optional, "SMTP password.")),
                ("smtp_tls", string(OptionalComputed, "none, starttls (default) or tls.")),
                ("sms_account_sid", string(Optional, "Twilio account SID.")),
                ("sms_auth_token", secret(Optional, "Twilio auth token.")),
                ("sms_from", string(Optional, "The SMS sender number.")),
            ],
        )
    }

    fn plan_create(state: &mut NotificationState) {
        state.id = Value::Unknown;
        if state.smtp_tls.is_null() && state.smtp_host.is_value() {
            state.smtp_tls = Value::Unknown;
        }
    }

    fn replaced_by(prior: &NotificationState, proposed: &NotificationState) -> Vec<&'static str> {
        let mut changed = Vec::new();
        differs(&mut changed, "store_id", &prior.store_id, &proposed.store_id);
        changed
    }

    async fn create(api: &Api, planned: NotificationState) -> Result<NotificationState, String> {
        put_notification(api, planned).await
    }

    async fn read(api: &Api, state: NotificationState) -> Result<Option<NotificationState>, String> {
        let answer = api.control(Method::GET, &path(&state.store_id, "notification"), None).await?;
        if answer.is_not_found() {
            return Ok(None);
        }
        Ok(Some(notification_from_api(state, &answer.expect("read notification settings", &[200])?)))
    }

    async fn update(
        api: &Api,
        _prior: NotificationState,
        planned: NotificationState,
    ) -> Result<NotificationState, String> {
        put_notification(api, planned).await
    }

    async fn delete(api: &Api, state: NotificationState) -> Result<(), String> {
        let body = json!({"email_from": null, "smtp": null, "sms": null});
        let answer = api.control(Method::PUT, &path(&state.store_id, "notification"), Some(&body)).await?;
        if !answer.is_not_found() {
            answer.expect("reset notification settings", &[200])?;
        }
        Ok(())
    }

    fn import(id: &str) -> Result<NotificationState, String> {
        Ok(NotificationState {
            id: Value::Value(id.to_owned()),
            store_id: Value::Value(id.to_owned()),
            email_from: Value::Null,
            smtp_host: Value::Null,
            smtp_port: Value::Null,
            smtp_username: Value::Null,
            smtp_password: Value::Null,
            smtp_tls: Value::Null,
            sms_account_sid: Value::Null,
            sms_auth_token: Value::Null,
            sms_from: Value::Null,
        })
    }
}
