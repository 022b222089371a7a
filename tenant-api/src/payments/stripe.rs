//! Stripe: charges are PaymentIntents on the store's own Stripe account,
//! made through `async-stripe` (1.0: hyper 1 and rustls, like the rest of the
//! workspace), with only its PaymentIntent and Refund requests compiled in.
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
//! An intent left in `requires_action` (3-D Secure) is handed back with its
//! `client_secret` and `next_action` for the shopper's browser; one left
//! `processing` just waits. Either is settled by the webhook, or cancelled
//! here when the order's hold expires.
//!
//! Every call is bounded by `STRIPE_TIMEOUT_SECS`, connecting included
//! (async-stripe's connector has no connect timeout of its own), and is made
//! once: the library's retries would invent idempotency keys of their own.
//! A client is built per provider, i.e. per checkout or job step, with the
//! store's key as its settings stand: it holds no connections (async-stripe
//! keeps no idle ones), and building one is a rustls configuration over the
//! bundled roots (about 40 µs in a debug build), so there is nothing to cache.
//!
//! Webhook signatures stay ours (`webhook.rs`): async-stripe's webhook module
//! checks the same scheme (HMAC-SHA256 over `<t>.<body>`, any `v1`, 300 s),
//! but only inside `construct_event`, which also parses the whole event into
//! its generated types: it refuses events lacking fields we never read
//! (`created`, `livemode`, `pending_webhooks`, a complete object), which must
//! still be acknowledged, and would compile async-stripe-core's event and
//! webhook types for three fields we use.

use std::{collections::HashMap, time::Duration};

use anyhow::Context as _;
use platform::db::TenantTx;
use secrecy::{ExposeSecret, SecretString};
use stripe::{AccountId, ApiErrors, ApiErrorsType, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::{
    payment_intent::{CancelPaymentIntent, ConfirmPaymentIntent, CreatePaymentIntent, RetrievePaymentIntent},
    refund::CreateRefund,
    PaymentIntent, PaymentIntentAllowedPaymentMethodTypes, PaymentIntentNextAction, PaymentIntentStatus,
};

use super::{
    model::{ChargeOutcome, PaymentId, PaymentStatus},
    provider::{Answer, Charge, Merchant, PaymentProvider, Refund, RefundOutcome},
    repo::{self, StripeCharge},
    ProviderKind,
};
use crate::orders::model::OrderId;

/// One store's Stripe account.
pub struct StripeProvider {
    client: stripe::Client,
}

impl StripeProvider {
    /// The store's account at `api_base` (`https://api.stripe.com`); `account`
    /// is a Connect account the key acts for (`Stripe-Account`). Each call
    /// gives up after `timeout`.
    pub fn new(
        api_base: &str,
        secret_key: &SecretString,
        account: Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        // async-stripe appends `v1/…` to the base as it is.
        let mut builder = stripe::ClientBuilder::new(secret_key.expose_secret())
            .url(format!("{}/", api_base.trim_end_matches('/')))
            .request_strategy(RequestStrategy::Once)
            .timeout(timeout);
        if let Some(account) = account {
            builder = builder.account_id(AccountId::from(account));
        }
        Ok(Self { client: builder.build().context("building the Stripe client")? })
    }

    async fn create_intent(&self, merchant: &Merchant, charge: &Charge<'_>) -> anyhow::Result<Reply<PaymentIntent>> {
        let Charge { order, amount, token } = *charge;
        let currency = amount.currency.as_str().to_ascii_lowercase().parse::<stripe_types::Currency>();
        let currency = match currency {
            Ok(currency) => currency,
            Err(never) => match never {},
        };
        let metadata = HashMap::from([
            ("order_id".to_owned(), order.to_string()),
            ("tenant_id".to_owned(), merchant.tenant_id.to_string()),
        ]);
        let request = CreatePaymentIntent::new(amount.amount, currency)
            .payment_method(token)
            // Cards only: no redirect-based methods, so no return_url is needed to confirm.
            .allowed_payment_method_types(vec![PaymentIntentAllowedPaymentMethodTypes::Card])
            .metadata(metadata);
        let sent = request.customize().request_strategy(key(format!("order-{order}-create"))?).send(&self.client).await;
        classify(sent, Step::Create)
    }

    async fn confirm_intent(&self, order: OrderId, intent: &str) -> anyhow::Result<Reply<PaymentIntent>> {
        let request = ConfirmPaymentIntent::new(intent);
        let sent =
            request.customize().request_strategy(key(format!("order-{order}-confirm"))?).send(&self.client).await;
        classify(sent, Step::Confirm)
    }

    async fn cancel_intent(&self, order: OrderId, intent: &str) -> anyhow::Result<Reply<PaymentIntent>> {
        let request = CancelPaymentIntent::new(intent);
        let sent = request.customize().request_strategy(key(format!("order-{order}-cancel"))?).send(&self.client).await;
        classify(sent, Step::Cancel)
    }

    async fn retrieve_intent(&self, intent: &str) -> anyhow::Result<PaymentIntent> {
        match classify(RetrievePaymentIntent::new(intent).send(&self.client).await, Step::Read)? {
            Reply::Ok(intent) => Ok(intent),
            Reply::Refused(code) => anyhow::bail!("Stripe refused to read intent {intent}: {code}"),
        }
    }

    /// Settles the recorded charge from what Stripe says of its intent; `None`
    /// while the intent waits for a confirmation.
    async fn settle_from(
        &self,
        merchant: &Merchant,
        order: OrderId,
        intent: &PaymentIntent,
    ) -> anyhow::Result<Option<ChargeOutcome>> {
        let Some(outcome) = outcome(intent) else { return Ok(None) };
        settle(merchant, order, &outcome).await.map(Some)
    }
}

impl PaymentProvider for StripeProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Stripe
    }

    fn records_payments(&self) -> bool {
        true
    }

    fn charge<'a>(&'a self, merchant: &'a Merchant, charge: Charge<'a>) -> Answer<'a, ChargeOutcome> {
        Box::pin(async move {
            let order = charge.order;
            let intent_id = match find(merchant, order).await? {
                Some(recorded) if recorded.status.is_settled() => return Ok(recorded.outcome()),
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
                        let standing =
                            repo::insert_pending_charge(&mut tx, order, intent.id.as_str(), charge.amount).await?;
                        tx.commit().await?;
                        if standing.status.is_settled() {
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
                Reply::Ok(intent) => outcome(&intent)
                    .with_context(|| format!("intent {intent_id} is {} after confirmation", intent.status.as_str()))?,
                Reply::Refused(code) => ChargeOutcome::Declined { code },
            };
            settle(merchant, order, &outcome).await
        })
    }

    fn lookup<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        Box::pin(async move {
            match find(merchant, order).await? {
                None => Ok(None),
                Some(charge) if charge.status.is_settled() => Ok(Some(charge.outcome())),
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
            let Some(StripeCharge { intent_id: Some(intent_id), status: PaymentStatus::Succeeded, .. }) =
                find(merchant, order).await?
            else {
                return Ok(RefundOutcome::Failed { code: "not_charged".into() });
            };
            let mut metadata =
                HashMap::from([("order_id".to_owned(), order.to_string()), ("refund_id".to_owned(), id.to_string())]);
            // Stripe's own `reason` is an enum; ours is free text.
            if let Some(reason) = reason {
                metadata.insert("reason".to_owned(), reason.to_owned());
            }
            let request = CreateRefund::new().payment_intent(intent_id).amount(amount.amount).metadata(metadata);
            let sent = request.customize().request_strategy(key(format!("refund-{id}"))?).send(&self.client).await;
            Ok(match classify(sent, Step::Refund)? {
                Reply::Ok(refund) => refund_outcome(refund),
                Reply::Refused(code) => RefundOutcome::Failed { code },
            })
        })
    }

    fn cancel<'a>(&'a self, merchant: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        Box::pin(async move {
            let charge = match find(merchant, order).await? {
                None => return Ok(None),
                Some(charge) if charge.status.is_settled() => return Ok(Some(charge.outcome())),
                Some(charge) => charge,
            };
            let intent_id = charge.intent_id.context("a pending Stripe charge without its intent")?;
            let intent = match self.cancel_intent(order, &intent_id).await? {
                Reply::Ok(intent) => intent,
                // It settled, or is processing (which cannot be cancelled): ask what it is.
                Reply::Refused(_) => self.retrieve_intent(&intent_id).await?,
            };
            match outcome(&intent) {
                Some(outcome) => match settle(merchant, order, &outcome).await? {
                    ChargeOutcome::Declined { .. } => Ok(None),
                    // Paid after all, or still on its way (`processing`): not cancelled, the hold stays.
                    standing => Ok(Some(standing)),
                },
                None => anyhow::bail!("intent {intent_id} is {} after its cancellation", intent.status.as_str()),
            }
        })
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

fn key(value: String) -> anyhow::Result<RequestStrategy> {
    Ok(RequestStrategy::Idempotent(IdempotencyKey::new(value)?))
}

/// What an intent's state says of the charge; `None` while it waits for a
/// confirmation (ours).
fn outcome(intent: &PaymentIntent) -> Option<ChargeOutcome> {
    match &intent.status {
        PaymentIntentStatus::Succeeded | PaymentIntentStatus::RequiresCapture => {
            Some(ChargeOutcome::succeeded_unrecorded())
        }
        PaymentIntentStatus::Canceled => Some(ChargeOutcome::Declined { code: "canceled".into() }),
        // A failed confirmation puts the intent back here, with the reason.
        PaymentIntentStatus::RequiresPaymentMethod => {
            intent.last_payment_error.as_ref().map(|e| ChargeOutcome::Declined { code: reason(e) })
        }
        PaymentIntentStatus::RequiresAction => Some(ChargeOutcome::RequiresAction {
            client_secret: intent.client_secret.clone()?,
            next_action: intent.next_action.as_ref().map_or(serde_json::Value::Null, next_action),
        }),
        PaymentIntentStatus::Processing => Some(ChargeOutcome::Processing),
        // `requires_confirmation`, or a state this library does not know.
        _ => None,
    }
}

/// What Stripe.js needs of `next_action` for a card (`use_stripe_sdk` or
/// `redirect_to_url`), rebuilt as JSON: the library's types serialize only
/// with a feature that would compile serde for all of them.
fn next_action(action: &PaymentIntentNextAction) -> serde_json::Value {
    let mut json = serde_json::json!({"type": action.type_});
    if let Some(redirect) = &action.redirect_to_url {
        json["redirect_to_url"] = serde_json::json!({"url": redirect.url, "return_url": redirect.return_url});
    }
    if let Some(sdk) = &action.use_stripe_sdk {
        json["use_stripe_sdk"] =
            serde_json::from_str(&miniserde::json::to_string(sdk)).unwrap_or(serde_json::Value::Null);
    }
    json
}

fn refund_outcome(refund: stripe_core::Refund) -> RefundOutcome {
    let reference = Some(refund.id.to_string());
    match refund.status.as_deref() {
        Some("succeeded") => RefundOutcome::Succeeded { reference },
        Some(status @ ("failed" | "canceled")) => {
            RefundOutcome::Failed { code: refund.failure_reason.unwrap_or_else(|| status.to_owned()) }
        }
        // `pending`, `requires_action`: accepted, not final.
        _ => RefundOutcome::Pending { reference },
    }
}

/// Which call, for errors and for what counts as a refusal.
#[derive(Clone, Copy, Debug)]
enum Step {
    Create,
    Confirm,
    Cancel,
    Read,
    Refund,
}

/// A definite answer: the object, or a refusal that moved no money.
enum Reply<T> {
    Ok(T),
    Refused(String),
}

fn reason(error: &ApiErrors) -> String {
    error
        .code
        .as_ref()
        .map(|c| c.as_str().to_owned())
        .or_else(|| error.decline_code.clone())
        .unwrap_or_else(|| "declined".into())
}

/// Sorts an answer into the object, a refusal, or an unknown outcome (`Err`).
fn classify<T>(sent: Result<T, StripeError>, step: Step) -> anyhow::Result<Reply<T>> {
    let (error, status) = match sent {
        Ok(object) => return Ok(Reply::Ok(object)),
        Err(StripeError::Stripe(error, status)) => (error, status),
        Err(other) => return Err(other).with_context(|| format!("Stripe {step:?}: no usable answer")),
    };
    let invalid_request = error.type_ == ApiErrorsType::InvalidRequestError;
    let code = error.code.as_ref().map(|c| c.as_str());
    let refused = match step {
        Step::Create | Step::Confirm if status == 402 || error.type_ == ApiErrorsType::CardError => true,
        // A payment method that does not exist: the shopper's token is bad, nothing was charged.
        Step::Create => status == 400 && invalid_request && error.param.as_deref() == Some("payment_method"),
        // Stripe refused the refund itself (already refunded, more than charged): nothing moved.
        // A revoked key (401/403) or a rate limit (429) is no answer about the refund.
        Step::Refund => matches!(status, 400 | 402 | 404) && invalid_request,
        // The intent can no longer be cancelled: it settled or is processing.
        Step::Cancel => status == 400 && code == Some("payment_intent_unexpected_state"),
        Step::Confirm | Step::Read => false,
    };
    if !refused {
        anyhow::bail!("Stripe {step:?} answered {status}: {} {}", error.type_.as_str(), code.unwrap_or(""));
    }
    Ok(Reply::Refused(match step {
        Step::Create if error.type_ != ApiErrorsType::CardError => "invalid_token".into(),
        _ => reason(&error),
    }))
}
