//! SMS: the order confirmation and shipping notice reach a local fake of
//! Twilio's REST API with the store's credentials.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode as HttpStatus},
    routing::post,
    Json, Router,
};
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tenant_api::notifications::{sms, sms::SmsGateway, NotificationsState};

use crate::{
    email::{event, paid_order},
    helpers::{spawn_app, Auth, TestApp, TestStore},
};

/// A request Twilio received: account in the path, `Authorization`, the form.
#[derive(Clone, Debug)]
struct Call {
    account: String,
    authorization: String,
    form: Vec<(String, String)>,
}

#[derive(Clone)]
struct Fake {
    calls: Arc<Mutex<Vec<Call>>>,
    /// The status every call is answered with.
    status: Arc<Mutex<u16>>,
}

async fn messages(
    State(fake): State<Fake>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (HttpStatus, Json<Value>) {
    let form = body.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect();
    let authorization = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    fake.calls.lock().unwrap().push(Call { account, authorization, form });
    let status = *fake.status.lock().unwrap();
    let answer = match status {
        201 => json!({"sid": "SM0123456789abcdef", "status": "queued"}),
        _ => json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": status}),
    };
    (HttpStatus::from_u16(status).unwrap(), Json(answer))
}

/// `application/x-www-form-urlencoded` decoding of one key or value.
fn decode(raw: &str) -> String {
    let raw = raw.replace('+', " ");
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(byte) = raw.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

async fn fake_twilio() -> (String, Fake) {
    let fake = Fake { calls: Arc::default(), status: Arc::new(Mutex::new(201)) };
    let app =
        Router::new().route("/2010-04-01/Accounts/{account}/Messages.json", post(messages)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, fake)
}

async fn use_twilio(app: &TestApp, store: &TestStore, sid: &str, token: &str) {
    sqlx::query(
        "insert into control.tenant_notification_settings (tenant_id, sms_account_sid, sms_auth_token, sms_from) \
         values ($1, $2, $3, '+15550001111') \
         on conflict (tenant_id) do update set sms_account_sid = excluded.sms_account_sid, \
             sms_auth_token = excluded.sms_auth_token, sms_from = excluded.sms_from",
    )
    .bind(store.id())
    .bind(sid)
    .bind(app.state.master.seal(token).unwrap())
    .execute(app.state.db.control())
    .await
    .unwrap();
    // What the control plane's announcement of the change does.
    app.state.message_stores.forget(store.id());
}

fn state_for(app: &TestApp, twilio: &str) -> NotificationsState {
    use axum::extract::FromRef;
    let mut state = NotificationsState::from_ref(&app.state);
    state.senders.sms = SmsGateway::new(twilio, Duration::from_secs(10)).unwrap();
    state
}

#[tokio::test]
async fn order_texts_reach_twilio_as_a_form_with_the_stores_basic_auth() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let (url, fake) = fake_twilio().await;
    use_twilio(&app, &a, "ACalpha0001", "alpha-token").await;
    use_twilio(&app, &b, "ACbravo0002", "bravo-token").await;
    let state = state_for(&app, &url);
    let order = paid_order(&app, &a, "ann@example.com", Some("+4915112345678")).await;
    let number = order["number"].as_i64().unwrap();

    let payload = event(&app, &a, "order.paid").await;
    let to = sms::targets(&state, a.id(), "order.paid", &payload).await.unwrap();
    assert_eq!(to, ["+4915112345678"]);
    let sent = sms::send(&state, a.id(), "order.paid", &payload, &to[0]).await.unwrap();
    assert_eq!(
        (sent.transport, sent.code, sent.message_id.as_deref()),
        ("twilio", Some(201), Some("SM0123456789abcdef"))
    );

    let owner = Auth::Staff(app.owner_token(&a).await);
    let id = order["id"].as_str().unwrap();
    let fulfil = json!({"tracking_number": "1Z999AA10123456784", "carrier": "UPS"});
    app.admin("POST", &a, &format!("/admin/orders/{id}/fulfil"), &owner, Some(fulfil), StatusCode::OK).await;
    let shipped = event(&app, &a, "order.fulfilled").await;
    sms::send(&state, a.id(), "order.fulfilled", &shipped, "+4915112345678").await.unwrap();

    let calls = fake.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    let basic = base64::engine::general_purpose::STANDARD.encode("ACalpha0001:alpha-token");
    for call in &calls {
        assert_eq!(call.account, "ACalpha0001", "store B's account was used");
        assert_eq!(call.authorization, format!("Basic {basic}"));
        let field = |name: &str| call.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(field("To"), "+4915112345678");
        assert_eq!(field("From"), "+15550001111");
        assert!(field("Body").starts_with("Store alpha: order #"), "{:?}", call.form);
    }
    let body = |i: usize| calls[i].form.iter().find(|(k, _)| k == "Body").unwrap().1.clone();
    assert!(body(0).contains(&format!("#{number}")) && body(0).contains("$19.99"), "{}", body(0));
    assert!(body(1).contains("1Z999AA10123456784"), "{}", body(1));
}

#[tokio::test]
async fn sms_goes_only_where_there_is_a_phone_settings_and_a_working_provider() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let (url, fake) = fake_twilio().await;
    let state = state_for(&app, &url);

    // No phone on the order: nobody to text. Other events: no SMS.
    paid_order(&app, &store, "ann@example.com", None).await;
    let payload = event(&app, &store, "order.paid").await;
    assert!(sms::targets(&state, store.id(), "order.paid", &payload).await.unwrap().is_empty());
    assert!(sms::targets(&state, store.id(), "order.cancelled", &payload).await.unwrap().is_empty());
    // No SMS settings: permanent.
    let failure = sms::send(&state, store.id(), "order.paid", &payload, "+4915112345678").await.unwrap_err();
    assert!(!failure.retryable, "{failure}");

    use_twilio(&app, &store, "ACalpha0001", "alpha-token").await;
    for (status, retryable) in [(400, false), (429, true), (503, true)] {
        *fake.status.lock().unwrap() = status;
        let failure = sms::send(&state, store.id(), "order.paid", &payload, "+4915112345678").await.unwrap_err();
        assert_eq!((failure.retryable, failure.code), (retryable, Some(status)), "{failure}");
    }
    // Nothing answers: transient, within the timeout.
    let mut state = state_for(&app, &url);
    let silent = format!("http://127.0.0.1:{}", crate::fake_smtp::silent().await);
    state.senders.sms = SmsGateway::new(&silent, Duration::from_millis(300)).unwrap();
    let failure = tokio::time::timeout(
        Duration::from_secs(30),
        sms::send(&state, store.id(), "order.paid", &payload, "+4915112345678"),
    )
    .await
    .expect("the call gave up by itself")
    .unwrap_err();
    assert!(failure.retryable, "{failure}");
}
