//! A local HTTP server speaking the subset of Stripe's API the provider uses,
//! started on port 0 for one test: form-encoded `POST /v1/payment_intents`,
//! `POST /v1/payment_intents/{id}/confirm`, `POST /v1/payment_intents/{id}/cancel`,
//! `GET /v1/payment_intents/{id}`, `POST /v1/refunds`; Bearer secret keys;
//! `Idempotency-Key` replays (same key and parameters, in any order → the
//! first answer with `Idempotent-Replayed: true`; other parameters → 400
//! `idempotency_error`); objects with every field Stripe's own client requires,
//! errors in Stripe's `{"error": {...}}` shape. Payment methods: `pm_card_visa`
//! (and any `pm_card_*`) succeeds, `pm_card_chargeDeclined` is declined
//! (`card_declined`), `pm_card_threeDSecure2Required` leaves the intent
//! `requires_action` (3-D Secure) until the test finishes it, anything else
//! does not exist.
//! [`FakeStripe::revoke`] makes one secret key answer `401` (a merchant who
//! rolled its key); [`FakeStripe::set_outage`] makes every request answer
//! `500` before anything happens.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

/// How the next confirmation fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 500 before anything happens (an outage): nothing charged, nothing stored.
    Before,
    /// The charge happens, then the answer is a 500 (a lost response): Stripe
    /// stores that 500 for the key, as it does.
    After,
}

/// How refunds are answered from now on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RefundMode {
    /// Made at once: `succeeded`.
    #[default]
    Succeed,
    /// Accepted, not final: `pending`.
    Pending,
    /// 500 before anything happens (an outage): nothing refunded, nothing stored.
    Outage,
}

#[derive(Default)]
struct Ledger {
    intents: HashMap<String, Value>,
    replies: HashMap<(String, String), (String, u16, Value)>,
    refunds: Vec<Value>,
    requests: Vec<String>,
    confirm_fault: Option<Fault>,
    refund_mode: RefundMode,
    /// How many refund requests still answer 500 (an outage), whatever the mode.
    refund_outages: usize,
    hang_confirms: bool,
    revoked: Vec<String>,
    outage: bool,
    next_id: u64,
}

type Shared = Arc<Mutex<Ledger>>;

pub struct FakeStripe {
    pub url: String,
    ledger: Shared,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let ledger = Shared::default();
        let router = Router::new()
            .route("/v1/payment_intents", post(create_intent))
            .route("/v1/payment_intents/{id}", get(retrieve_intent))
            .route("/v1/payment_intents/{id}/confirm", post(confirm_intent))
            .route("/v1/payment_intents/{id}/cancel", post(cancel_intent))
            .route("/v1/refunds", post(create_refund))
            .with_state(ledger.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        FakeStripe { url, ledger }
    }

    /// Every PaymentIntent created, in no order.
    pub fn intents(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().intents.values().cloned().collect()
    }

    pub fn refunds(&self) -> Vec<Value> {
        self.ledger.lock().unwrap().refunds.clone()
    }

    /// `METHOD /path` of every request received, in order.
    pub fn requests(&self) -> Vec<String> {
        self.ledger.lock().unwrap().requests.clone()
    }

    pub fn fail_next_confirm(&self, fault: Fault) {
        self.ledger.lock().unwrap().confirm_fault = Some(fault);
    }

    /// Confirmations from now on never answer (a hung Stripe).
    pub fn hang_confirms(&self) {
        self.ledger.lock().unwrap().hang_confirms = true;
    }

    pub fn answer_refunds(&self, mode: RefundMode) {
        self.ledger.lock().unwrap().refund_mode = mode;
    }

    /// The next `count` refund requests answer 500 and refund nothing (an outage that ends).
    pub fn fail_next_refunds(&self, count: usize) {
        self.ledger.lock().unwrap().refund_outages = count;
    }

    /// What the shopper's browser does with Stripe.js: finishes the 3-D Secure
    /// step of an intent that `requires_action`, so it succeeds. Returns the intent.
    pub fn authenticate(&self, intent: &str) -> Value {
        let mut ledger = self.ledger.lock().unwrap();
        let intent = ledger.intents.get_mut(intent).unwrap();
        assert_eq!(intent["status"], "requires_action");
        intent["status"] = "succeeded".into();
        intent["amount_received"] = intent["amount"].clone();
        intent["next_action"] = Value::Null;
        intent.clone()
    }

    /// Every request with `secret_key` answers 401 from now on (`restore` undoes it).
    pub fn revoke(&self, secret_key: &str) {
        self.ledger.lock().unwrap().revoked.push(secret_key.to_owned());
    }

    /// `secret_key` is valid again.
    pub fn restore(&self, secret_key: &str) {
        self.ledger.lock().unwrap().revoked.retain(|k| k != secret_key);
    }

    /// While on, every request answers 500 and changes nothing (Stripe is down).
    pub fn set_outage(&self, on: bool) {
        self.ledger.lock().unwrap().outage = on;
    }
}

/// The answer to a request refused before Stripe looks at it: an outage, or a
/// missing, malformed or revoked key. `Ok` is the key.
fn refusal(ledger: &Ledger, headers: &HeaderMap) -> Result<String, (u16, Value)> {
    if ledger.outage {
        return Err(error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", None, None, "Stripe is down"));
    }
    match secret_key(headers) {
        Some(key) if !ledger.revoked.contains(&key) => Ok(key),
        _ => Err(error(StatusCode::UNAUTHORIZED, "invalid_request_error", None, None, "Invalid API Key")),
    }
}

fn error(status: StatusCode, kind: &str, code: Option<&str>, param: Option<&str>, message: &str) -> (u16, Value) {
    (status.as_u16(), json!({"error": {"type": kind, "code": code, "param": param, "message": message}}))
}

/// `a=1&metadata%5Bk%5D=v` → pairs, percent- and plus-decoded.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(raw: &str) -> String {
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 3 <= bytes.len() => {
                    match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn secret_key(headers: &HeaderMap) -> Option<String> {
    let key = headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
    key.starts_with("sk_test_").then(|| key.to_owned())
}

fn reply((status, body): (u16, Value), replayed: bool) -> Response {
    let mut response = (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", "true".parse().unwrap());
    }
    response
}

/// Runs `execute` under Stripe's idempotency rules. `execute` returns the
/// answer and whether Stripe would store it for the key.
fn idempotent(
    ledger: &Shared,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    execute: impl FnOnce(&mut Ledger, &str, &[(String, String)]) -> ((u16, Value), bool),
) -> Response {
    let mut ledger = ledger.lock().unwrap();
    ledger.requests.push(format!("{method} {path}"));
    let key = match refusal(&ledger, headers) {
        Ok(key) => key,
        Err(refused) => return reply(refused, false),
    };
    let form = parse_form(body);
    // Stripe compares parameters, not bytes: their order does not matter.
    let mut params = form.clone();
    params.sort();
    let fingerprint = format!("{method} {path} {params:?}");
    let idempotency_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    if let Some(idem) = &idempotency_key {
        if let Some((first, status, stored)) = ledger.replies.get(&(key.clone(), idem.clone())) {
            if *first != fingerprint {
                return reply(
                    error(
                        StatusCode::BAD_REQUEST,
                        "idempotency_error",
                        None,
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    ),
                    false,
                );
            }
            return reply((*status, stored.clone()), true);
        }
    }
    let (answer, store) = execute(&mut ledger, &key, &form);
    if let (Some(idem), true) = (idempotency_key, store) {
        ledger.replies.insert((key, idem), (fingerprint, answer.0, answer.1.clone()));
    }
    reply(answer, false)
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn create_intent(State(ledger): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&ledger, Method::POST, "/v1/payment_intents", &headers, &body, |ledger, key, form| {
        let (Some(amount), Some(currency)) =
            (field(form, "amount").and_then(|a| a.parse::<i64>().ok()), field(form, "currency"))
        else {
            return (
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    Some("amount"),
                    "Missing amount or currency",
                ),
                false,
            );
        };
        let payment_method = field(form, "payment_method").unwrap_or_default();
        if !payment_method.starts_with("pm_card_") {
            return (
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("resource_missing"),
                    Some("payment_method"),
                    "No such PaymentMethod",
                ),
                true,
            );
        }
        let metadata: serde_json::Map<String, Value> = form
            .iter()
            .filter_map(|(k, v)| {
                Some((k.strip_prefix("metadata[")?.strip_suffix(']')?.to_owned(), Value::from(v.clone())))
            })
            .collect();
        ledger.next_id += 1;
        let id = format!("pi_fake_{}", ledger.next_id);
        let intent = json!({
            "id": id, "object": "payment_intent", "amount": amount, "amount_capturable": 0, "amount_received": 0,
            "capture_method": "automatic", "confirmation_method": "automatic", "created": 1_700_000_000,
            "currency": currency, "livemode": false, "payment_method_types": ["card"],
            "client_secret": format!("{id}_secret_fake"),
            "status": "requires_confirmation", "payment_method": payment_method, "metadata": metadata,
            "last_payment_error": null, "next_action": null, "secret_key": key,
        });
        ledger.intents.insert(id, intent.clone());
        ((200, intent), true)
    })
}

async fn confirm_intent(
    State(ledger): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/confirm");
    if ledger.lock().unwrap().hang_confirms {
        ledger.lock().unwrap().requests.push(format!("POST {path}"));
        std::future::pending::<()>().await;
    }
    idempotent(&ledger, Method::POST, &path, &headers, &body, |ledger, key, _| {
        let fault = ledger.confirm_fault.take();
        if fault == Some(Fault::Before) {
            return (error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", None, None, "Something went wrong"), false);
        }
        let Some(intent) = ledger.intents.get_mut(&id).filter(|i| i["secret_key"] == key) else {
            return (
                error(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    Some("resource_missing"),
                    Some("intent"),
                    "No such payment_intent",
                ),
                true,
            );
        };
        if intent["status"] != "requires_confirmation" {
            return (
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("payment_intent_unexpected_state"),
                    None,
                    "Cannot confirm",
                ),
                true,
            );
        }
        let answer = if intent["payment_method"] == "pm_card_threeDSecure2Required" {
            intent["status"] = "requires_action".into();
            intent["next_action"] = json!({
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": "https://hooks.stripe.com/3d_secure_2/fake"},
            });
            (200, intent.clone())
        } else if intent["payment_method"] == "pm_card_chargeDeclined" {
            let decline = json!({"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                                 "message": "Your card was declined."});
            intent["status"] = "requires_payment_method".into();
            intent["last_payment_error"] = decline.clone();
            let mut body = decline;
            body["payment_intent"] = intent.clone();
            (402, json!({"error": body}))
        } else {
            intent["status"] = "succeeded".into();
            intent["amount_received"] = intent["amount"].clone();
            (200, intent.clone())
        };
        if fault == Some(Fault::After) {
            return (error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", None, None, "Something went wrong"), true);
        }
        (answer, true)
    })
}

async fn cancel_intent(
    State(ledger): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/cancel");
    idempotent(&ledger, Method::POST, &path, &headers, &body, |ledger, key, _| {
        let Some(intent) = ledger.intents.get_mut(&id).filter(|i| i["secret_key"] == key) else {
            return (
                error(
                    StatusCode::NOT_FOUND,
                    "invalid_request_error",
                    Some("resource_missing"),
                    Some("intent"),
                    "No such payment_intent",
                ),
                true,
            );
        };
        let cancellable = ["requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"];
        if !cancellable.iter().any(|s| intent["status"] == *s) {
            return (
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("payment_intent_unexpected_state"),
                    None,
                    "You cannot cancel this PaymentIntent because it has a status of succeeded.",
                ),
                true,
            );
        }
        intent["status"] = "canceled".into();
        intent["next_action"] = Value::Null;
        intent["canceled_at"] = 1_700_000_100.into();
        ((200, intent.clone()), true)
    })
}

async fn retrieve_intent(State(ledger): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let mut ledger = ledger.lock().unwrap();
    ledger.requests.push(format!("GET /v1/payment_intents/{id}"));
    let key = match refusal(&ledger, &headers) {
        Ok(key) => key,
        Err(refused) => return reply(refused, false),
    };
    match ledger.intents.get(&id).filter(|i| i["secret_key"] == key) {
        Some(intent) => reply((200, intent.clone()), false),
        None => reply(
            error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("resource_missing"),
                Some("intent"),
                "No such payment_intent",
            ),
            false,
        ),
    }
}

async fn create_refund(State(ledger): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&ledger, Method::POST, "/v1/refunds", &headers, &body, |ledger, key, form| {
        let outage = ledger.refund_outages > 0;
        ledger.refund_outages = ledger.refund_outages.saturating_sub(1);
        let status = match ledger.refund_mode {
            _ if outage => {
                return (
                    error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", None, None, "Something went wrong"),
                    false,
                )
            }
            RefundMode::Outage => {
                return (
                    error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", None, None, "Something went wrong"),
                    false,
                )
            }
            RefundMode::Pending => "pending",
            RefundMode::Succeed => "succeeded",
        };
        let intent_id = field(form, "payment_intent").unwrap_or_default().to_owned();
        let Some(intent) =
            ledger.intents.get(&intent_id).filter(|i| i["secret_key"] == key && i["status"] == "succeeded")
        else {
            return (
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("resource_missing"),
                    Some("payment_intent"),
                    "No such charge",
                ),
                true,
            );
        };
        let charged = intent["amount"].as_i64().unwrap();
        let refunded: i64 = ledger
            .refunds
            .iter()
            .filter(|r| r["payment_intent"] == intent_id.as_str())
            .map(|r| r["amount"].as_i64().unwrap())
            .sum();
        let amount = field(form, "amount").and_then(|a| a.parse::<i64>().ok()).unwrap_or(charged - refunded);
        if amount <= 0 || refunded + amount > charged {
            return (
                error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("amount_too_large"),
                    Some("amount"),
                    "Refund exceeds charge",
                ),
                true,
            );
        }
        let refund = json!({"id": format!("re_fake_{}", ledger.refunds.len() + 1), "object": "refund",
                            "amount": amount, "created": 1_700_000_200, "currency": intent["currency"].clone(),
                            "payment_intent": intent_id, "status": status,
                            "metadata": {"order_id": field(form, "metadata[order_id]"), "refund_id": field(form, "metadata[refund_id]")}});
        ledger.refunds.push(refund.clone());
        ((200, refund), true)
    })
}
