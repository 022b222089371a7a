//! Payment and notification settings: sealed at rest, masked on the wire,
//! merged on PUT, opened for the data plane by `platform::settings`.

use platform::{
    ids::TenantId,
    settings::{notification_settings, payment_settings, PaymentProvider},
};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_configured, Store, TestApp};

const SECRET_KEY: &str = "sk_test_51HzYabcdefghijkl4242";
const WEBHOOK_SECRET: &str = "whsec_Zx9yW8vU7tS6rQ5p9876";
const PUBLISHABLE_KEY: &str = "pk_test_51HzYabcdefghijklPub";
const SMTP_PASSWORD: &str = "smtp-pass-word-7731";
const SMS_TOKEN: &str = "Zq7tw9Q4kX2aa55bb66cc";

fn payment_path(store: &Store) -> String {
    format!("/v1/tenants/{}/payment-settings", store.id)
}

fn notification_path(store: &Store) -> String {
    format!("/v1/tenants/{}/notification-settings", store.id)
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value, status: StatusCode) -> Value {
    app.expect("PUT", path, Some(token), Some(body), status).await
}

/// Every settings column of the store, as text, to search for plaintext.
async fn stored_row(app: &TestApp, table: &str, store: &Store) -> String {
    sqlx::query_scalar(&format!("select row_to_json(s)::text from control.{table} s where tenant_id = $1::uuid"))
        .bind(&store.id)
        .fetch_one(app.state.db.control())
        .await
        .unwrap()
}

#[tokio::test]
async fn payment_secrets_are_sealed_at_rest_and_only_their_last_four_are_returned() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let initial = app.expect("GET", &payment_path(&store), Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(initial["provider"], "test");
    assert_eq!(initial["stripe_secret_key"], Value::Null);

    let body = put(
        &app,
        &payment_path(&store),
        &store.owner_token,
        json!({"provider": "stripe", "stripe_secret_key": SECRET_KEY, "stripe_webhook_secret": WEBHOOK_SECRET}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["provider"], "stripe");
    assert_eq!(body["stripe_secret_key"], json!({"last4": "4242"}));
    assert_eq!(body["stripe_webhook_secret"], json!({"last4": "9876"}));
    assert_eq!(body["stripe_account_id"], Value::Null);
    let read = app.expect("GET", &payment_path(&store), Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(read, body);

    let row = stored_row(&app, "tenant_payment_settings", &store).await;
    for secret in [SECRET_KEY, WEBHOOK_SECRET] {
        assert!(!row.contains(secret) && !row.contains(&secret[..12]), "plaintext at rest: {row}");
        assert!(!read.to_string().contains(secret));
    }
    let sealed: String =
        sqlx::query_scalar("select stripe_secret_key from control.tenant_payment_settings where tenant_id = $1::uuid")
            .bind(&store.id)
            .fetch_one(app.state.db.control())
            .await
            .unwrap();
    assert!(sealed.starts_with("test:"), "sealed under the current key id: {sealed}");
    let log = app.expect("GET", "/v1/audit-log", Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(log["items"][0]["action"], "settings.payment.update");
    assert_eq!(log["items"][0]["after"]["stripe_secret_key"]["last4"], "4242");
    assert!(!log.to_string().contains(SECRET_KEY) && !log.to_string().contains(&sealed));

    // What checkout and webhooks will read: the opened secrets.
    let tenant = TenantId::parse(&store.id).unwrap();
    let opened = payment_settings(app.state.db.control(), &app.state.master, tenant).await.unwrap();
    assert_eq!(opened.provider, PaymentProvider::Stripe);
    assert_eq!(opened.stripe_secret_key.unwrap().expose_secret(), SECRET_KEY);
    assert_eq!(opened.stripe_webhook_secret.unwrap().expose_secret(), WEBHOOK_SECRET);
    let none = payment_settings(app.state.db.control(), &app.state.master, TenantId::new()).await.unwrap();
    assert_eq!(none.provider, PaymentProvider::Test);
    assert!(none.stripe_secret_key.is_none());
}

#[tokio::test]
async fn a_put_that_omits_a_secret_keeps_it_and_null_clears_it() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let path = payment_path(&store);
    put(
        &app,
        &path,
        &store.owner_token,
        json!({"provider": "stripe", "stripe_secret_key": SECRET_KEY}),
        StatusCode::OK,
    )
    .await;
    let body = put(
        &app,
        &path,
        &store.owner_token,
        json!({"provider": "stripe", "stripe_account_id": "acct_1Abc"}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["stripe_secret_key"], json!({"last4": "4242"}));
    assert_eq!(body["stripe_account_id"], "acct_1Abc");
    let tenant = TenantId::parse(&store.id).unwrap();
    let opened = payment_settings(app.state.db.control(), &app.state.master, tenant).await.unwrap();
    assert_eq!(opened.stripe_secret_key.unwrap().expose_secret(), SECRET_KEY);

    // With the account id kept, the key can go.
    let body =
        put(&app, &path, &store.owner_token, json!({"provider": "stripe", "stripe_secret_key": null}), StatusCode::OK)
            .await;
    assert_eq!(body["stripe_secret_key"], Value::Null);
    assert_eq!(body["stripe_account_id"], "acct_1Abc");
    // Back to the test provider; Stripe values stay for a later switch.
    let body = put(&app, &path, &store.owner_token, json!({"provider": "test"}), StatusCode::OK).await;
    assert_eq!((body["provider"].as_str(), body["stripe_account_id"].as_str()), (Some("test"), Some("acct_1Abc")));
}

#[tokio::test]
async fn stripe_settings_are_checked_field_by_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let path = payment_path(&store);
    let body = put(
        &app,
        &path,
        &store.owner_token,
        json!({"provider": "paypal", "stripe_secret_key": "pk_live_123", "stripe_webhook_secret": "secret",
               "stripe_account_id": "cus_123"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["provider", "stripe_secret_key", "stripe_webhook_secret", "stripe_account_id"]);
    assert!(!body.to_string().contains("pk_live_123"), "the refused value is echoed: {body}");

    let body =
        put(&app, &path, &store.owner_token, json!({"provider": "stripe"}), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "stripe_secret_key");
    let body = put(
        &app,
        &path,
        &store.owner_token,
        json!({"provider": "stripe", "stripe_webhook_secret": WEBHOOK_SECRET}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "stripe_secret_key");
    let body = put(
        &app,
        &path,
        &store.owner_token,
        json!({"stripe_secret_key": SECRET_KEY}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "provider");
    let body = put(
        &app,
        &path,
        &store.owner_token,
        json!({"provider": "stripe", "stripe_secret": SECRET_KEY}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("stripe_secret"), "{body}");
    put(
        &app,
        &path,
        &store.owner_token,
        json!({"provider": "stripe", "stripe_secret_key": 42}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    let row = stored_row(&app, "tenant_payment_settings", &store).await;
    let row: Value = serde_json::from_str(&row).unwrap();
    assert_eq!(row["provider"], "test");
    assert_eq!((row["stripe_secret_key"].clone(), row["stripe_webhook_secret"].clone()), (Value::Null, Value::Null));
    let log = app.expect("GET", "/v1/audit-log", Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "only tenant.create: {log}");
}

#[tokio::test]
async fn notification_secrets_are_sealed_masked_and_opened_for_the_data_plane() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let path = notification_path(&store);
    let initial = app.expect("GET", &path, Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(initial["email_from"], "no-reply@alpha.localhost");
    assert_eq!((initial["smtp"].clone(), initial["sms"].clone()), (Value::Null, Value::Null));

    let body = put(
        &app,
        &path,
        &store.owner_token,
        json!({"email_from": "hello@alpha.example",
               "smtp": {"host": "SMTP.Mailer.example", "port": 587, "username": "alpha", "password": SMTP_PASSWORD},
               "sms": {"account_sid": "AC0123456789abcdef", "auth_token": SMS_TOKEN, "from": "+4915112345678"}}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["email_from"], "hello@alpha.example");
    assert_eq!(
        body["smtp"],
        json!({"host": "smtp.mailer.example", "port": 587, "username": "alpha", "password": {"last4": "7731"},
               "tls": "starttls"})
    );
    assert_eq!(
        body["sms"],
        json!({"account_sid": "AC0123456789abcdef", "auth_token": {"last4": "66cc"}, "from": "+4915112345678"})
    );
    let row = stored_row(&app, "tenant_notification_settings", &store).await;
    for secret in [SMTP_PASSWORD, SMS_TOKEN] {
        assert!(!row.contains(secret) && !row.contains(&secret[..10]), "plaintext at rest: {row}");
        assert!(!body.to_string().contains(secret));
    }

    // Leaving the password out keeps it; a new port is taken.
    let body = put(
        &app,
        &path,
        &store.owner_token,
        json!({"smtp": {"host": "smtp.mailer.example", "port": 2525, "tls": "tls"}}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["smtp"]["port"], 2525);
    assert_eq!(body["smtp"]["tls"], "tls");
    assert_eq!(body["smtp"]["username"], "alpha");
    assert_eq!(body["smtp"]["password"], json!({"last4": "7731"}));
    assert_eq!(body["email_from"], "hello@alpha.example");
    assert_eq!(body["sms"]["auth_token"], json!({"last4": "66cc"}));

    let tenant = TenantId::parse(&store.id).unwrap();
    let opened = notification_settings(app.state.db.control(), &app.state.master, tenant).await.unwrap();
    let smtp = opened.smtp.unwrap();
    assert_eq!((smtp.host.as_str(), smtp.port, smtp.username.as_deref()), ("smtp.mailer.example", 2525, Some("alpha")));
    assert_eq!(smtp.password.unwrap().expose_secret(), SMTP_PASSWORD);
    assert_eq!(smtp.tls, platform::settings::SmtpTls::Tls);
    let sms = opened.sms.unwrap();
    assert_eq!(sms.auth_token.expose_secret(), SMS_TOKEN);
    assert_eq!(sms.from, "+4915112345678");
    assert_eq!(opened.email_from.as_deref(), Some("hello@alpha.example"));

    // null clears a whole section.
    let body = put(&app, &path, &store.owner_token, json!({"sms": null}), StatusCode::OK).await;
    assert_eq!(body["sms"], Value::Null);
    let opened = notification_settings(app.state.db.control(), &app.state.master, tenant).await.unwrap();
    assert!(opened.sms.is_none() && opened.smtp.is_some());
}

#[tokio::test]
async fn bad_notification_settings_name_each_field_and_write_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let path = notification_path(&store);
    let body = put(
        &app,
        &path,
        &store.owner_token,
        json!({"email_from": "nope",
               "smtp": {"host": "bad host", "port": 0, "username": "", "password": ""},
               "sms": {"account_sid": "AC-1", "auth_token": null, "from": "0049 151"}}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        vec![
            "email_from",
            "smtp.host",
            "smtp.port",
            "smtp.username",
            "smtp.password",
            "sms.account_sid",
            "sms.auth_token",
            "sms.from"
        ]
    );
    for (body, field) in [
        (json!({"smtp": {"host": "smtp.example.com", "port": 70000}}), "smtp.port"),
        (json!({"smtp": {"port": 25}}), "smtp.host"),
        (json!({"smtp": {"host": "smtp.example.com", "port": 25, "tls": "ssl"}}), "smtp.tls"),
        (json!({"smtp": {"host": "smtp.example.com", "port": 25, "password": SMTP_PASSWORD}}), "smtp.username"),
        (json!({"sms": {"account_sid": "AC1", "from": "Shop"}}), "sms.auth_token"),
        (json!({"sms": {"auth_token": SMS_TOKEN, "from": "Shop"}}), "sms.account_sid"),
    ] {
        let problem = put(&app, &path, &store.owner_token, body.clone(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let row: Value = serde_json::from_str(&stored_row(&app, "tenant_notification_settings", &store).await).unwrap();
    assert_eq!(row["email_from"], "no-reply@alpha.localhost");
    assert_eq!((row["smtp_host"].clone(), row["sms_auth_token"].clone()), (Value::Null, Value::Null));
}

#[tokio::test]
async fn another_stores_owner_gets_404_and_store_staff_get_403_on_settings() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    put(
        &app,
        &payment_path(&b),
        &b.owner_token,
        json!({"provider": "stripe", "stripe_secret_key": SECRET_KEY}),
        StatusCode::OK,
    )
    .await;
    let routes = [
        ("GET", payment_path(&b), None),
        ("PUT", payment_path(&b), Some(json!({"provider": "test", "stripe_secret_key": null}))),
        ("GET", notification_path(&b), None),
        ("PUT", notification_path(&b), Some(json!({"email_from": "mole@alpha.test"}))),
    ];
    for (method, path, body) in routes.clone() {
        let problem = app.expect(method, &path, Some(&a.owner_token), body, StatusCode::NOT_FOUND).await;
        assert!(!problem.to_string().contains("4242"), "{problem}");
    }
    let staff = app.add_member(&b, "sam@bravo.test", "staff").await;
    for (method, path, body) in routes {
        app.expect(method, &path, Some(&staff), body, StatusCode::FORBIDDEN).await;
    }
    // Admins, like owners, may.
    let admin = app.add_member(&b, "ann@bravo.test", "admin").await;
    let read = app.expect("GET", &payment_path(&b), Some(&admin), None, StatusCode::OK).await;
    assert_eq!(
        (read["provider"].as_str(), read["stripe_secret_key"]["last4"].as_str()),
        (Some("stripe"), Some("4242"))
    );
    let notification = app.expect("GET", &notification_path(&b), Some(&admin), None, StatusCode::OK).await;
    assert_eq!(notification["email_from"], "no-reply@bravo.localhost");
}

#[tokio::test]
async fn merchants_are_told_whether_checkout_can_take_payments() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let dev = app.expect("GET", &payment_path(&store), Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(dev["checkout_ready"], true, "the dev stack keeps the test provider: {dev}");
    assert!(dev["checkout_message"].as_str().unwrap().contains("Test mode"));

    let app = spawn_app_configured(control_plane::settings::ControlSettings::for_tests(), |settings| {
        settings.platform_env = platform::config::PlatformEnv::Production;
    })
    .await;
    let store = app.create_store("alpha").await;
    let path = payment_path(&store);
    let prod = app.expect("GET", &path, Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(prod["checkout_ready"], false, "{prod}");
    assert!(prod["checkout_message"].as_str().unwrap().contains("configure Stripe"), "{prod}");
    let body = json!({"provider": "stripe", "stripe_account_id": "acct_1Hz9Test"});
    let keyless = put(&app, &path, &store.owner_token, body, StatusCode::OK).await;
    assert_eq!(keyless["checkout_ready"], false);
    assert!(keyless["checkout_message"].as_str().unwrap().contains("no secret key"), "{keyless}");
    let ready = put(
        &app,
        &path,
        &store.owner_token,
        json!({"provider": "stripe", "stripe_secret_key": SECRET_KEY}),
        StatusCode::OK,
    )
    .await;
    assert_eq!(ready["checkout_ready"], true);
    assert!(ready["checkout_message"].as_str().unwrap().contains("webhook secret"), "{ready}");
    let body = json!({"provider": "stripe", "stripe_webhook_secret": WEBHOOK_SECRET});
    let formless = put(&app, &path, &store.owner_token, body, StatusCode::OK).await;
    assert_eq!(formless["checkout_ready"], true);
    assert!(formless["checkout_message"].as_str().unwrap().contains("publishable key"), "{formless}");
    let body = json!({"provider": "stripe", "stripe_publishable_key": PUBLISHABLE_KEY});
    let complete = put(&app, &path, &store.owner_token, body, StatusCode::OK).await;
    assert_eq!((complete["checkout_ready"].clone(), complete["checkout_message"].clone()), (json!(true), Value::Null));
}

#[tokio::test]
async fn the_publishable_key_is_plain_checked_and_of_the_secret_keys_mode() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let path = payment_path(&store);
    let body =
        json!({"provider": "stripe", "stripe_secret_key": SECRET_KEY, "stripe_publishable_key": PUBLISHABLE_KEY});
    let saved = put(&app, &path, &store.owner_token, body, StatusCode::OK).await;
    // Public by design (Stripe.js shows it to every shopper): returned whole.
    assert_eq!(saved["stripe_publishable_key"], PUBLISHABLE_KEY);
    let tenant = TenantId::parse(&store.id).unwrap();
    let opened = payment_settings(app.state.db.control(), &app.state.master, tenant).await.unwrap();
    assert_eq!(opened.stripe_publishable_key.as_deref(), Some(PUBLISHABLE_KEY));
    let log = app.expect("GET", "/v1/audit-log", Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(log["items"][0]["after"]["stripe_publishable_key"], PUBLISHABLE_KEY);

    // Not a publishable key (a secret one, above all, is refused, not stored).
    for bad in [json!("sk_test_51HzYabc"), json!("pk_test_"), json!("pk_test_1 2"), json!(7)] {
        let body = json!({"provider": "stripe", "stripe_publishable_key": bad});
        let problem = put(&app, &path, &store.owner_token, body, StatusCode::UNPROCESSABLE_ENTITY).await;
        if bad.is_string() {
            assert_eq!(problem["errors"][0]["field"], "stripe_publishable_key", "{problem}");
        }
    }
    // A live card form in front of a test-mode secret key fails every payment.
    let body = json!({"provider": "stripe", "stripe_publishable_key": "pk_live_51HzYabc"});
    let problem = put(&app, &path, &store.owner_token, body, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "stripe_publishable_key");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("live-mode"), "{problem}");
    let body = json!({"provider": "stripe", "stripe_secret_key": "sk_live_51HzYabcdefghijkl1111",
                      "stripe_publishable_key": "pk_test_51HzYabc"});
    put(&app, &path, &store.owner_token, body, StatusCode::UNPROCESSABLE_ENTITY).await;
    let read = app.expect("GET", &path, Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(
        (read["stripe_publishable_key"].as_str(), read["stripe_secret_key"]["last4"].as_str()),
        (Some(PUBLISHABLE_KEY), Some("4242")),
        "a refused PUT changed nothing"
    );
    // Both keys switched to live mode together are one consistent change.
    let body = json!({"provider": "stripe", "stripe_secret_key": "sk_live_51HzYabcdefghijkl1111",
                      "stripe_publishable_key": "pk_live_51HzYabc"});
    put(&app, &path, &store.owner_token, body, StatusCode::OK).await;
    // Null clears it.
    let body = json!({"provider": "stripe", "stripe_publishable_key": null});
    let cleared = put(&app, &path, &store.owner_token, body, StatusCode::OK).await;
    assert_eq!(cleared["stripe_publishable_key"], Value::Null);
}
