//! No secret reaches a log line: the whole journey runs with known passwords,
//! tokens and provider keys while every line both services and the worker
//! log (at `debug` for the platform's own crates) is captured, then none of
//! those values may appear in it.
//!
//! Its own test binary, so its subscriber is the process's only one.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};
use tests::Platform;

/// Every log line written, as bytes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const OWNER_PASSWORD: &str = "owner-Pa55word-never-logged";
const WRONG_PASSWORD: &str = "wrong-Pa55word-never-logged";
const CUSTOMER_PASSWORD: &str = "customer-Pa55word-never-logged";
const STRIPE_SECRET: &str = "sk_test_51NeverLoggedSecretKey0000";
const STRIPE_WEBHOOK_SECRET: &str = "whsec_NeverLoggedWebhookSecret0000";
const SMTP_PASSWORD: &str = "smtp-Pa55word-never-logged";
const SMS_TOKEN: &str = "sms-auth-token-never-logged-0000";

async fn call(
    platform: &Platform,
    host: &str,
    method: &str,
    path: &str,
    auth: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut request =
        platform.client.request(method.parse().unwrap(), format!("{}{path}", platform.tenant_api)).header("host", host);
    for (name, value) in auth {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_whole_journey_logs_no_password_token_or_provider_key() {
    let captured = Captured::default();
    let sink = captured.clone();
    let filter = "info,platform=debug,tenant_api=debug,control_plane=debug,tower_http=debug";
    let subscriber =
        platform::telemetry::get_subscriber(filter, platform::config::LogFormat::Json, move || sink.clone());
    platform::telemetry::init_subscriber(subscriber);
    let platform = Platform::start().await.unwrap();
    let mut secrets: Vec<String> = [
        OWNER_PASSWORD,
        WRONG_PASSWORD,
        CUSTOMER_PASSWORD,
        STRIPE_SECRET,
        STRIPE_WEBHOOK_SECRET,
        SMTP_PASSWORD,
        SMS_TOKEN,
        platform::config::TEST_MASTER_KEY,
    ]
    .map(str::to_owned)
    .to_vec();

    // Control plane: sign-up, a failed and a good sign-in, refresh, API key, settings.
    let (status, store) = platform
        .control_call(
            "POST",
            "/v1/tenants",
            None,
            Some(json!({"slug": "quiet", "name": "Quiet", "currency": "USD",
                        "owner_email": "owner@quiet.test", "owner_password": OWNER_PASSWORD})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{store}");
    let id = store["id"].as_str().unwrap().to_owned();
    let (status, _) = platform
        .control_call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": "owner@quiet.test", "password": WRONG_PASSWORD})),
        )
        .await
        .unwrap();
    assert_eq!(status, 401);
    let (status, grant) = platform
        .control_call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": "owner@quiet.test", "password": OWNER_PASSWORD})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{grant}");
    let refresh = grant["refresh_token"].as_str().unwrap().to_owned();
    let (status, grant) = platform
        .control_call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "refresh_token", "refresh_token": refresh})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{grant}");
    // The used refresh token again: refused (and its family revoked), still not logged.
    let (status, _) = platform
        .control_call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "refresh_token", "refresh_token": refresh})),
        )
        .await
        .unwrap();
    assert_eq!(status, 401);
    secrets.push(refresh);
    secrets.push(grant["refresh_token"].as_str().unwrap().to_owned());
    let owner = store["credentials"]["access_token"].as_str().unwrap().to_owned();
    secrets.push(owner.clone());
    secrets.push(store["credentials"]["refresh_token"].as_str().unwrap().to_owned());
    let (status, key) = platform
        .control_call(
            "POST",
            &format!("/v1/tenants/{id}/api-keys"),
            Some(&owner),
            Some(json!({"name": "erp", "scopes": ["catalog:*", "inventory:*", "orders:*"]})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{key}");
    let api_key = key["key"].as_str().unwrap().to_owned();
    secrets.push(api_key.clone());
    let payments = format!("/v1/tenants/{id}/payment-settings");
    let stripe = json!({"provider": "stripe", "stripe_secret_key": STRIPE_SECRET,
                        "stripe_webhook_secret": STRIPE_WEBHOOK_SECRET});
    let (status, body) = platform.control_call("PUT", &payments, Some(&owner), Some(stripe)).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        platform.control_call("PUT", &payments, Some(&owner), Some(json!({"provider": "test"}))).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let notifications = json!({
        "email_from": "shop@quiet.test",
        "smtp": {"host": "smtp.quiet.test", "port": 587, "username": "shop", "password": SMTP_PASSWORD},
        "sms": {"account_sid": "AC0123456789abcdef", "auth_token": SMS_TOKEN, "from": "+4915112345678"},
    });
    let (status, body) = platform
        .control_call("PUT", &format!("/v1/tenants/{id}/notification-settings"), Some(&owner), Some(notifications))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");

    // Data plane: the merchant with the API key, a shopper with a password, a checkout, a refund.
    let host = "quiet.localhost";
    let key_header = [("x-api-key", api_key.as_str())];
    let (status, product) = call(
        &platform,
        host,
        "POST",
        "/admin/products",
        &key_header,
        Some(json!({"title": "Lamp", "status": "active",
                    "variants": [{"sku": "LAMP-1", "price": {"amount": 1500, "currency": "USD"}}]})),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    let variant = product["variants"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) =
        call(&platform, host, "PUT", &format!("/admin/inventory/{variant}"), &key_header, Some(json!({"on_hand": 5})))
            .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let (status, body) = call(
        &platform,
        host,
        "POST",
        "/store/customers",
        &[],
        Some(json!({"email": "pat@quiet.test", "password": CUSTOMER_PASSWORD, "first_name": "Pat"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, session) = call(
        &platform,
        host,
        "POST",
        "/store/auth/token",
        &[],
        Some(json!({"email": "pat@quiet.test", "password": CUSTOMER_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let shopper = session["access_token"].as_str().unwrap().to_owned();
    secrets.push(shopper.clone());
    secrets.push(session["refresh_token"].as_str().unwrap().to_owned());
    let bearer = format!("Bearer {shopper}");
    let as_shopper = [("authorization", bearer.as_str())];
    let (status, cart) = call(&platform, host, "POST", "/store/carts", &as_shopper, Some(json!({}))).await;
    assert_eq!(status, 201, "{cart}");
    let cart = cart["id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &platform,
        host,
        "POST",
        &format!("/store/carts/{cart}/items"),
        &as_shopper,
        Some(json!({"variant_id": variant, "quantity": 1})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, order) = call(
        &platform,
        host,
        "POST",
        &format!("/store/carts/{cart}/checkout"),
        &[("authorization", bearer.as_str()), ("idempotency-key", "quiet-1")],
        Some(json!({
            "email": "pat@quiet.test",
            "shipping_address": {"name": "Pat", "line1": "1 Main St", "city": "Springfield",
                                 "postal_code": "12345", "country": "US"},
            "payment": {"provider": "test", "token": "tok_success"},
        })),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    let (status, body) = call(
        &platform,
        host,
        "POST",
        &format!("/admin/orders/{}/refunds", order["id"].as_str().unwrap()),
        &[("authorization", &format!("Bearer {owner}")), ("idempotency-key", "quiet-refund")],
        Some(json!({"amount": {"amount": 500, "currency": "USD"}, "reason": "scratched"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A forged token and a wrong key: refused, and not written down either.
    let forged = format!("{shopper}x");
    secrets.push(forged.clone());
    let (status, _) =
        call(&platform, host, "GET", "/store/customers/me", &[("authorization", &format!("Bearer {forged}"))], None)
            .await;
    assert_eq!(status, 401);
    let wrong_key = format!("{api_key}0");
    secrets.push(wrong_key.clone());
    let (status, _) = call(&platform, host, "GET", "/admin/orders", &[("x-api-key", wrong_key.as_str())], None).await;
    assert_eq!(status, 401);

    // The worker's jobs run over all of it for a while.
    tenant_api::worker::run(platform.data.clone(), tokio::time::sleep(Duration::from_secs(2))).await.unwrap();

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    let lines = logs.lines().count();
    assert!(lines > 20, "the journey was logged ({lines} lines): the capture works");
    if std::env::var("SHOW_LOGS").is_ok() {
        eprintln!("{logs}");
    }
    assert!(logs.contains(&id), "request lines name the store");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret ({}…) was logged", &secret[..8]);
    }
}
