//! Stripe: charges are PaymentIntents on the store's own Stripe account,
//! spoken to over Stripe's REST API (form-encoded requests, JSON answers).
//!
//! A charge is two calls. The intent is created (with the shopper's payment
//! method, the order and store in its metadata) and recorded in the store's
//! `payment` as `pending` with its id; then it is confirmed. Both calls carry an
//! `Idempotency-Key` derived from the order id, so a retried saga replays them
//! instead of creating or confirming a second intent, and the recorded id lets
//! recovery retrieve the outcome of a confirmation whose answer was lost
//! without ever confirming anything itself.
//!
//! Answers: `402` (a `card_error`) is a decline; a refused payment method at
//! creation is a decline (`invalid_token`); anything else that is not a 2xx —
//! a network error, a timeout, a 5xx, a 429 — is an unknown outcome (`Err`):
//! the order stays `pending_payment` and the worker or a webhook settles it.
//!
//! Why not `async-stripe`: its 0.x line is built on hyper 0.14 and rustls 0.21
//! (a second HTTP and TLS stack beside the workspace's hyper 1 / rustls 0.23),
//! and every 1.0 release needs Rust 1.86 or newer (the workspace is on 1.85).
//! These three endpoints do not justify either; reqwest is already in the
//! workspace.

use std::time::Duration;

use anyhow::Context as _;
use platform::db::TenantTx;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{
    model::{ChargeOutcome, PaymentId, PaymentStatus},
    provider::{Answer, Charge, Merchant, PaymentProvider, Refund, RefundOutcome},
    repo::{self, StripeCharge},
    ProviderKind,
};
use crate::orders::model::OrderId;

/// The HTTP client every store's Stripe calls share (one connection pool).
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        // Past this the outcome is unknown and recovery takes over.
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the Stripe HTTP client")
}

/// One store's Stripe account.
pub struct StripeProvider {
    http: reqwest::Client,
    api_base: String,
    secret_key: SecretString,
    account: Option<String>,
}

impl StripeProvider {
    /// The store's account at `api_base` (`https://api.stripe.com`); `account`
    /// is a Connect account the key acts for (`Stripe-Account`).
    pub fn new(http: reqwest::Client, api_base: &str, secret_key: SecretString, account: Option<String>) -> Self {
        Self { http, api_base: api_base.trim_end_matches('/').to_owned(), secret_key, account }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request =
            self.http.request(method, format!("{}{path}", self.api_base)).bearer_auth(self.secret_key.expose_secret());
        if let Some(account) = &self.account {
            request = request.header("stripe-account", account);
        }
        request
    }

    async fn create_intent(&self, merchant: &Merchant, charge: &Charge<'_>) -> anyhow::Result<Reply<Intent>> {
        let Charge { order, amount, token } = *charge;
        let form = [
            ("amount", amount.amount.to_string()),
            ("currency", amount.currency.as_str().to_ascii_lowercase()),
            ("payment_method", token.to_owned()),
            // Cards only: no redirect-based methods, so no return_url is needed to confirm.
            ("payment_method_types[]", "card".to_owned()),
            ("metadata[order_id]", order.to_string()),
            ("metadata[tenant_id]", merchant.tenant_id.to_string()),
        ];
        let request = self
            .request(reqwest::Method::POST, "/v1/payment_intents")
            .header("idempotency-key", format!("order-{order}-create"))
            .form(&form);
        send(request, Step::Create).await
    }

    async fn confirm_intent(&self, order: OrderId, intent: &str) -> anyhow::Result<Reply<Intent>> {
        let request = self
            .request(reqwest::Method::POST, &format!("/v1/payment_intents/{intent}/confirm"))
            .header("idempotency-key", format!("order-{order}-confirm"))
            .form(&[] as &[(&str, &str)]);
        send(request, Step::Confirm).await
    }

    async fn retrieve_intent(&self, intent: &str) -> anyhow::Result<Intent> {
        match send(self.request(reqwest::Method::GET, &format!("/v1/payment_intents/{intent}")), Step::Read).await? {
            Reply::Ok(intent) => Ok(intent),
            Reply::Refused(code) => anyhow::bail!("Stripe refused to read intent {intent}: {code}"),
        }
    }

    /// Settles the recorded charge from what Stripe says of its intent; `None`
    /// while the intent has no final outcome.
    async fn settle_from(
        &self,
        merchant: &Merchant,
        order: OrderId,
        intent: &Intent,
    ) -> anyhow::Result<Option<ChargeOutcome>> {
        let Some(outcome) = intent.outcome() else { return Ok(None) };
        settle(merchant, order, &outcome).await.map(Some)
    }
}

impl PaymentProvider for StripeProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Stripe
    }

    fn charge<'a>(&'a self, merchant: &'a Merchant, charge: Charge<'a>) -> Answer<'a, ChargeOutcome> {
        Box::pin(async move {
            let order = charge.order;
            let intent_id = match find(merchant, order).await? {
                Some(recorded) if recorded.status != PaymentStatus::Pending => return Ok(recorded.outcome()),
                Some(recorded) => {
                    // An earlier attempt created the intent; it may have confirmed it too.
                    let intent_id = recorded.intent_id.context("a pending Stripe charge without its intent")?;
                    let intent = self.retrieve_intent(&intent_id).await?;
                    if let Some(outcome) = self.settle_from(merchant, order, &intent).await? {
                        return Ok(outcome);
                    }
                    intent_id
                }
                None => match self.create_intent(merchant, &charge).await? {
                    Reply::Ok(intent) => {
                        let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
                        let standing = repo::insert_pending_charge(&mut tx, order, &intent.id, charge.amount).await?;
                        tx.commit().await?;
                        if standing.status != PaymentStatus::Pending {
                            return Ok(standing.outcome());
                        }
                        standing.intent_id.context("a pending Stripe charge without its intent")?
                    }
                    Reply::Refused(code) => {
                        let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
                        let outcome =
                            repo::record_charge(&mut tx, &charge, PaymentId::new(), self.kind(), Some(&code)).await?;
                        tx.commit().await?;
                        return Ok(outcome);
                    }
                },
            };
            let outcome = match self.confirm_intent(order, &intent_id).await? {
                Reply::Ok(intent) => match intent.outcome() {
                    Some(outcome) => outcome,
                    None => anyhow::bail!("intent {intent_id} is {} after confirmation", intent.status),
                },
                Reply::Refused(code) => ChargeOutcome::Declined { code },
            };
            settle(merchant, order, &outcome).await
        })
    }

    fn lookup<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        Box::pin(async move {
            match find(merchant, order).await? {
                None => Ok(None),
                Some(charge) if charge.status != PaymentStatus::Pending => Ok(Some(charge.outcome())),
                Some(charge) => {
                    let intent_id = charge.intent_id.context("a pending Stripe charge without its intent")?;
                    let intent = self.retrieve_intent(&intent_id).await?;
                    self.settle_from(merchant, order, &intent).await
                }
            }
        })
    }

    fn refund<'a>(&'a self, merchant: &'a Merchant, refund: Refund<'a>) -> Answer<'a, RefundOutcome> {
        Box::pin(async move {
            let Refund { order, id, amount, reason } = refund;
            let charge = find(merchant, order).await?;
            let Some(StripeCharge { intent_id: Some(intent_id), status: PaymentStatus::Succeeded, .. }) = charge else {
                return Ok(RefundOutcome::Failed { code: "not_charged".into() });
            };
            let mut form = vec![
                ("payment_intent", intent_id),
                ("amount", amount.amount.to_string()),
                ("metadata[order_id]", order.to_string()),
                ("metadata[refund_id]", id.to_string()),
            ];
            // Stripe's own `reason` is an enum; ours is free text.
            if let Some(reason) = reason {
                form.push(("metadata[reason]", reason.to_owned()));
            }
            let request = self
                .request(reqwest::Method::POST, "/v1/refunds")
                .header("idempotency-key", format!("refund-{id}"))
                .form(&form);
            Ok(match send::<StripeRefund>(request, Step::Refund).await? {
                Reply::Ok(refund) => refund.outcome(),
                Reply::Refused(code) => RefundOutcome::Failed { code },
            })
        })
    }
}

/// A Refund, as far as we read it.
#[derive(Debug, Deserialize)]
struct StripeRefund {
    id: String,
    status: String,
    #[serde(default)]
    failure_reason: Option<String>,
}

impl StripeRefund {
    fn outcome(self) -> RefundOutcome {
        let reference = Some(self.id);
        match self.status.as_str() {
            "succeeded" => RefundOutcome::Succeeded { reference },
            "failed" | "canceled" => RefundOutcome::Failed { code: self.failure_reason.unwrap_or(self.status) },
            // `pending`, `requires_action`: accepted, not final.
            _ => RefundOutcome::Pending { reference },
        }
    }
}

async fn find(merchant: &Merchant, order: OrderId) -> anyhow::Result<Option<StripeCharge>> {
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    repo::find_stripe_charge(&mut tx, order).await
}

async fn settle(merchant: &Merchant, order: OrderId, outcome: &ChargeOutcome) -> anyhow::Result<ChargeOutcome> {
    let mut tx = TenantTx::begin(&merchant.cell, merchant.tenant_id).await?;
    let standing = repo::settle_stripe_charge(&mut tx, order, outcome).await?;
    tx.commit().await?;
    Ok(standing)
}

/// Which call, for errors and for what counts as a refusal.
#[derive(Clone, Copy, Debug)]
enum Step {
    Create,
    Confirm,
    Read,
    Refund,
}

/// A definite answer: the object, or a refusal that charged nothing.
enum Reply<T> {
    Ok(T),
    Refused(String),
}

/// A PaymentIntent, as far as we read it.
#[derive(Debug, Deserialize)]
pub(super) struct Intent {
    pub(super) id: String,
    pub(super) status: String,
    #[serde(default)]
    pub(super) last_payment_error: Option<ApiError>,
}

impl Intent {
    /// The final outcome, or `None` while the intent may still change
    /// (`requires_confirmation`, `requires_action`, `processing`).
    pub(super) fn outcome(&self) -> Option<ChargeOutcome> {
        match self.status.as_str() {
            "succeeded" | "requires_capture" => Some(ChargeOutcome::succeeded_unrecorded()),
            "canceled" => Some(ChargeOutcome::Declined { code: "canceled".into() }),
            // A failed confirmation puts the intent back here, with the reason.
            "requires_payment_method" => {
                self.last_payment_error.as_ref().map(|e| ChargeOutcome::Declined { code: e.reason() })
            }
            _ => None,
        }
    }
}

/// Stripe's error object (`{"error": {...}}`).
#[derive(Debug, Deserialize)]
pub(super) struct ApiError {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    param: Option<String>,
}

impl ApiError {
    fn reason(&self) -> String {
        self.code.clone().or_else(|| self.decline_code.clone()).unwrap_or_else(|| "declined".into())
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

async fn send<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    step: Step,
) -> anyhow::Result<Reply<T>> {
    let response = request.send().await.with_context(|| format!("Stripe {step:?}: no answer"))?;
    let status = response.status();
    let body = response.bytes().await.with_context(|| format!("Stripe {step:?}: answer cut short"))?;
    if status.is_success() {
        return serde_json::from_slice(&body).map(Reply::Ok).with_context(|| format!("Stripe {step:?}: odd answer"));
    }
    let error = serde_json::from_slice::<ErrorBody>(&body).ok().map(|b| b.error);
    let kind = error.as_ref().and_then(|e| e.kind.clone()).unwrap_or_default();
    let refused = match step {
        Step::Create | Step::Confirm if status.as_u16() == 402 || kind == "card_error" => true,
        // Stripe refused the refund itself (already refunded, more than charged): nothing moved.
        // A revoked key (401/403) or a rate limit (429) is no answer about the refund.
        Step::Refund => matches!(status.as_u16(), 400 | 402 | 404) && kind == "invalid_request_error",
        // A payment method that does not exist: the shopper's token is bad, nothing was charged.
        Step::Create => {
            status.as_u16() == 400
                && kind == "invalid_request_error"
                && error.as_ref().and_then(|e| e.param.as_deref()) == Some("payment_method")
        }
        _ => false,
    };
    match error {
        Some(error) if refused => Ok(Reply::Refused(match step {
            Step::Create if kind != "card_error" => "invalid_token".into(),
            _ => error.reason(),
        })),
        Some(error) => {
            anyhow::bail!("Stripe {step:?} answered {status}: {kind} {}", error.code.as_deref().unwrap_or(""))
        }
        None => anyhow::bail!("Stripe {step:?} answered {status}"),
    }
}
