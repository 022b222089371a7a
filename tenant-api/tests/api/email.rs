//! Email: rendered from the real outbox payloads, sent over SMTP to a server
//! the test starts, through each store's own settings; template overrides.

use std::time::Duration;

use axum::extract::FromRef;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tenant_api::notifications::{
    email::{self, Mailer},
    NotificationsState,
};

use crate::{
    fake_smtp::{closed_port, silent, SmtpSink},
    helpers::{checkout_body, spawn_app, Auth, TestApp, TestStore},
};

/// Points a store's notification settings at an SMTP server on this machine,
/// as the control plane would.
pub async fn use_smtp(app: &TestApp, store: &TestStore, email_from: &str, port: u16) {
    sqlx::query(
        "insert into control.tenant_notification_settings (tenant_id, email_from, smtp_host, smtp_port, smtp_tls) \
         values ($1, $2, '127.0.0.1', $3, 'none') \
         on conflict (tenant_id) do update set email_from = excluded.email_from, smtp_host = excluded.smtp_host, \
             smtp_port = excluded.smtp_port, smtp_tls = excluded.smtp_tls",
    )
    .bind(store.id())
    .bind(email_from)
    .bind(i32::from(port))
    .execute(app.state.db.control())
    .await
    .unwrap();
    // What the control plane's announcement of the change does.
    app.state.message_stores.forget(store.id());
}

/// Places a paid order of one $19.99 item; returns the order.
pub async fn paid_order(app: &TestApp, store: &TestStore, email: &str, phone: Option<&str>) -> Value {
    let variant = app.product_with_stock(store, "Blue Mug", 1999, 10).await;
    let cart = app.cart_with(store, None, &variant, 1).await;
    let mut body = checkout_body(email, "tok_success");
    if let Some(phone) = phone {
        body["shipping_address"]["phone"] = json!(phone);
    }
    let (status, order) = app.checkout(store, &cart, None, None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["status"], "paid");
    order
}

/// The payload of the store's latest outbox event of `topic`.
pub async fn event(app: &TestApp, store: &TestStore, topic: &str) -> Value {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query_scalar("select payload from outbox_event where topic = $1 order by event_id desc limit 1")
        .bind(topic)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

fn notifications(app: &TestApp) -> NotificationsState {
    NotificationsState::from_ref(&app.state)
}

#[tokio::test]
async fn an_order_confirmation_goes_to_the_shopper_through_the_stores_own_smtp() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let (sink_a, sink_b) = (SmtpSink::start().await, SmtpSink::start().await);
    use_smtp(&app, &a, "shop@alpha.test", sink_a.port).await;
    use_smtp(&app, &b, "shop@bravo.test", sink_b.port).await;
    let order = paid_order(&app, &a, "ann@example.com", None).await;
    let number = order["number"].as_i64().unwrap();

    let state = notifications(&app);
    let payload = event(&app, &a, "order.paid").await;
    let targets = email::targets(&state, a.id(), "order.paid", &payload).await.unwrap();
    assert_eq!(targets, ["ann@example.com"]);
    let sent = email::send(&state, a.id(), "order.paid", &payload, &targets[0]).await.unwrap();
    assert_eq!((sent.transport, sent.code), ("smtp", Some(250)));

    let mails = sink_a.messages();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!((mail.from.as_str(), mail.to.as_slice()), ("shop@alpha.test", &["ann@example.com".to_owned()][..]));
    let from = mail.header("From").unwrap();
    assert!(from.contains("<shop@alpha.test>") && from.contains("Store alpha"), "{from}");
    assert_eq!(mail.header("To").unwrap(), "ann@example.com");
    assert_eq!(mail.header("Subject").unwrap(), format!("Store alpha: order #{number} confirmed"));
    assert!(mail.header("Content-Type").unwrap().starts_with("multipart/alternative"));
    assert_eq!(mail.header("Message-ID"), sent.message_id);
    let text = mail.part("text/plain").unwrap();
    let html = mail.part("text/html").unwrap();
    for part in [&text, &html] {
        assert!(part.contains("$19.99"), "{part}");
        assert!(part.contains(&format!("#{number}")), "{part}");
        assert!(part.contains("Blue Mug"), "{part}");
    }
    assert!(html.contains("<table") && !text.contains("<table"));
    assert!(sink_b.messages().is_empty(), "store B's relay carried store A's mail");
}

#[tokio::test]
async fn a_stores_settings_are_read_once_and_a_relay_change_takes_effect_with_its_announcement() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let (before, after) = (SmtpSink::start().await, SmtpSink::start().await);
    use_smtp(&app, &a, "shop@alpha.test", before.port).await;
    paid_order(&app, &a, "ann@example.com", None).await;
    let state = notifications(&app);
    let payload = event(&app, &a, "order.paid").await;
    let send = || email::send(&state, a.id(), "order.paid", &payload, "ann@example.com");
    send().await.unwrap();

    // The control plane writes a new relay, then announces the change: until
    // the announcement a process sends with the settings it read.
    sqlx::query("update control.tenant_notification_settings set smtp_port = $2 where tenant_id = $1")
        .bind(a.id())
        .bind(i32::from(after.port))
        .execute(app.state.db.control())
        .await
        .unwrap();
    send().await.unwrap();
    assert_eq!((before.messages().len(), after.messages().len()), (2, 0), "settings are not read per message");
    app.announce(&a).await;
    for _ in 0..100 {
        send().await.unwrap();
        if !after.messages().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(after.messages().len(), 1, "the announced relay carries the next mail");
}

#[tokio::test]
async fn a_stores_template_override_is_used_for_its_mail_only() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let (sink_a, sink_b) = (SmtpSink::start().await, SmtpSink::start().await);
    use_smtp(&app, &a, "shop@alpha.test", sink_a.port).await;
    use_smtp(&app, &b, "shop@bravo.test", sink_b.port).await;
    let owner_a = Auth::Staff(app.owner_token(&a).await);
    let custom = json!({
        "subject": "Alpha says thanks for #{{ order.number }}",
        "text": "Total {{ order.total }}",
        "html": "<p>Hello {{ order.shipping_name }}, total {{ order.total }}</p>",
    });
    let path = "/admin/notifications/templates/order.paid";
    app.admin("PUT", &a, path, &owner_a, Some(custom), StatusCode::OK).await;

    paid_order(&app, &a, "ann@example.com", None).await;
    paid_order(&app, &b, "bob@example.com", Some("+15550100")).await;
    let state = notifications(&app);
    for store in [&a, &b] {
        let payload = event(&app, store, "order.paid").await;
        let to = email::targets(&state, store.id(), "order.paid", &payload).await.unwrap();
        email::send(&state, store.id(), "order.paid", &payload, &to[0]).await.unwrap();
    }
    let (mail_a, mail_b) = (&sink_a.messages()[0], &sink_b.messages()[0]);
    assert!(mail_a.header("Subject").unwrap().starts_with("Alpha says thanks for #"));
    assert_eq!(mail_a.part("text/plain").unwrap().trim(), "Total $19.99");
    assert!(mail_a.part("text/html").unwrap().contains("<p>Hello Ann Buyer, total $19.99</p>"));
    let subject_b = mail_b.header("Subject").unwrap();
    assert!(subject_b.starts_with("Store bravo: order #"), "{subject_b}");
    assert!(!mail_b.data.contains("Alpha"), "store A's template reached store B's mail");
    assert_eq!(mail_b.to, ["bob@example.com"]);
    assert_eq!((sink_a.messages().len(), sink_b.messages().len()), (1, 1));
}

#[tokio::test]
async fn unreachable_or_silent_smtp_fails_within_the_timeout_as_transient() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    paid_order(&app, &store, "ann@example.com", None).await;
    let payload = event(&app, &store, "order.paid").await;
    let mut state = notifications(&app);
    state.senders.mailer = Mailer::new("", Duration::from_millis(300), "no-reply@localhost".into()).unwrap();

    for port in [closed_port().await, silent().await] {
        use_smtp(&app, &store, "shop@alpha.test", port).await;
        // The guard only keeps a broken timeout from hanging the suite.
        let failure = tokio::time::timeout(
            Duration::from_secs(30),
            email::send(&state, store.id(), "order.paid", &payload, "ann@example.com"),
        )
        .await
        .expect("the send gave up by itself")
        .unwrap_err();
        assert!(failure.retryable, "{failure}");
        assert_eq!(failure.code, None);
    }
}

#[tokio::test]
async fn smtp_replies_say_whether_a_retry_can_help() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    paid_order(&app, &store, "ann@example.com", None).await;
    let payload = event(&app, &store, "order.paid").await;
    let state = notifications(&app);
    for (reply, retryable, code) in
        [("550 5.1.1 no such mailbox", false, 550), ("451 4.3.0 try again later", true, 451)]
    {
        let sink = SmtpSink::rejecting(reply).await;
        use_smtp(&app, &store, "shop@alpha.test", sink.port).await;
        let failure = email::send(&state, store.id(), "order.paid", &payload, "ann@example.com").await.unwrap_err();
        assert_eq!((failure.retryable, failure.code), (retryable, Some(code)), "{failure}");
    }
}

#[tokio::test]
async fn without_store_smtp_the_platform_relay_sends_or_writes_eml_files() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    paid_order(&app, &store, "ann@example.com", None).await;
    let payload = event(&app, &store, "order.paid").await;
    let dir = std::env::temp_dir().join(format!("commerce-mail-{}", uuid::Uuid::now_v7()));
    let mut state = notifications(&app);
    state.senders.mailer =
        Mailer::new(&format!("file://{}", dir.display()), Duration::from_secs(10), "no-reply@localhost".into())
            .unwrap();
    let sent = email::send(&state, store.id(), "order.paid", &payload, "ann@example.com").await.unwrap();
    assert_eq!(sent.transport, "file");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let mail = std::fs::read_to_string(&files[0]).unwrap();
    // The store has no email_from: the platform's.
    assert!(mail.contains("From: \"Store alpha\" <no-reply@localhost>") || mail.contains("<no-reply@localhost>"));
    assert!(mail.contains("Subject: Store alpha: order #"));
    std::fs::remove_dir_all(dir).unwrap();

    // An SMTP relay in lettre's URL form.
    let sink = SmtpSink::start().await;
    state.senders.mailer =
        Mailer::new(&format!("smtp://127.0.0.1:{}", sink.port), Duration::from_secs(10), "no-reply@localhost".into())
            .unwrap();
    let sent = email::send(&state, store.id(), "order.paid", &payload, "ann@example.com").await.unwrap();
    assert_eq!((sent.transport, sent.code), ("relay", Some(250)));
    assert_eq!(sink.messages()[0].from, "no-reply@localhost");

    // No relay at all: a permanent failure that says so.
    state.senders.mailer = Mailer::new("", Duration::from_secs(10), "no-reply@localhost".into()).unwrap();
    let failure = email::send(&state, store.id(), "order.paid", &payload, "ann@example.com").await.unwrap_err();
    assert!(!failure.retryable && failure.reason.contains("SMTP_URL"), "{failure}");
}

#[tokio::test]
async fn a_password_reset_mail_carries_a_link_whose_token_works_once() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let sink = SmtpSink::start().await;
    use_smtp(&app, &store, "shop@alpha.test", sink.port).await;
    app.customer(&store, "ann@example.com").await;
    let reset = "/store/customers/password-reset";
    app.post(&store.host, reset, None, json!({"email": "nobody@example.com"}), StatusCode::ACCEPTED).await;
    let mut tx = app.tenant_tx(&store).await;
    let events: i64 = sqlx::query_scalar("select count(*) from outbox_event where topic = 'customer.password_reset'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    drop(tx);
    assert_eq!(events, 0, "an unknown email produced an event");
    app.post(&store.host, reset, None, json!({"email": "ann@example.com"}), StatusCode::ACCEPTED).await;

    let state = notifications(&app);
    let payload = event(&app, &store, "customer.password_reset").await;
    let to = email::targets(&state, store.id(), "customer.password_reset", &payload).await.unwrap();
    assert_eq!(to, ["ann@example.com"]);
    email::send(&state, store.id(), "customer.password_reset", &payload, &to[0]).await.unwrap();
    let mail = &sink.messages()[0];
    assert_eq!(mail.header("Subject").unwrap(), "Store alpha: reset your password");
    let text = mail.part("text/plain").unwrap();
    let prefix = "https://alpha.localhost/password-reset?token=";
    let start = text.find(prefix).expect("the link") + prefix.len();
    let token: String = text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    assert!(token.starts_with("prt_"), "{token}");
    // HTML autoescape writes `/` as `&#x2f;`, which browsers read back in an href.
    let html = mail.part("text/html").unwrap().replace("&#x2f;", "/");
    assert!(html.contains(&format!("href=\"{prefix}{token}\"")), "{html}");

    let confirm = json!({"token": token, "password": "new battery staple"});
    let path = "/store/customers/password-reset/confirm";
    app.post(&store.host, path, None, confirm.clone(), StatusCode::NO_CONTENT).await;
    for _ in 0..2 {
        let again = app.post(&store.host, path, None, confirm.clone(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(again["errors"][0]["field"], "token");
    }
    let sign_in = |password: &str| json!({"email": "ann@example.com", "password": password});
    app.post(&store.host, "/store/auth/token", None, sign_in("new battery staple"), StatusCode::OK).await;
    app.post(&store.host, "/store/auth/token", None, sign_in("correct horse"), StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_welcome_goes_to_a_new_account_and_other_topics_send_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let sink = SmtpSink::start().await;
    use_smtp(&app, &store, "shop@alpha.test", sink.port).await;
    app.customer(&store, "ann@example.com").await;
    let state = notifications(&app);
    let payload = event(&app, &store, "customer.registered").await;
    let to = email::targets(&state, store.id(), "customer.registered", &payload).await.unwrap();
    email::send(&state, store.id(), "customer.registered", &payload, &to[0]).await.unwrap();
    assert_eq!(sink.messages()[0].header("Subject").unwrap(), "Welcome to Store alpha");
    assert!(email::targets(&state, store.id(), "order.created", &json!({})).await.unwrap().is_empty());
    let failure = email::send(&state, store.id(), "order.created", &json!({}), "ann@example.com").await.unwrap_err();
    assert!(!failure.retryable);
}

#[tokio::test]
async fn template_overrides_are_checked_admin_only_and_kept_per_store() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let owner_a = Auth::Staff(app.owner_token(&a).await);
    let owner_b = Auth::Staff(app.owner_token(&b).await);
    let staff_a = app.staff(&a).await;
    let list = "/admin/notifications/templates";
    let path = "/admin/notifications/templates/order.fulfilled";
    let good = json!({"subject": "Shipped #{{ order.number }}", "text": "Tracking {{ order.tracking_number }}",
                      "html": "<p>{{ order.tracking_number }}</p>"});

    let all = app.admin("GET", &a, list, &staff_a, None, StatusCode::OK).await;
    let events: Vec<&str> = all["items"].as_array().unwrap().iter().map(|t| t["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        [
            "order.paid",
            "order.payment_failed",
            "order.fulfilled",
            "order.refunded",
            "order.cancelled",
            "customer.password_reset",
            "customer.registered"
        ]
    );
    assert!(all["items"].as_array().unwrap().iter().all(|t| t["customized"] == false));

    // Staff read but do not change; nothing changed.
    let denied = app.admin("PUT", &a, path, &staff_a, Some(good.clone()), StatusCode::FORBIDDEN).await;
    assert_eq!(denied["type"], "/problems/forbidden");
    app.admin("DELETE", &a, path, &staff_a, None, StatusCode::FORBIDDEN).await;

    // Syntax errors and unknown filters name the part; empty parts too.
    for (body, field) in [
        (json!({"subject": "{{ order.number", "text": "t", "html": "h"}), "subject"),
        (json!({"subject": "s", "text": "{% if %}", "html": "h"}), "text"),
        (json!({"subject": "s", "text": "t", "html": "{{ order.total | no_such_filter }}"}), "html"),
        (json!({"subject": "s", "text": " ", "html": "h"}), "text"),
    ] {
        let problem = app.admin("PUT", &a, path, &owner_a, Some(body.clone()), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let missing = json!({"subject": "s", "text": "t"});
    app.admin("PUT", &a, path, &owner_a, Some(missing), StatusCode::UNPROCESSABLE_ENTITY).await;
    app.admin(
        "PUT",
        &a,
        "/admin/notifications/templates/order.created",
        &owner_a,
        Some(good.clone()),
        StatusCode::NOT_FOUND,
    )
    .await;

    let stored = app.admin("PUT", &a, path, &owner_a, Some(good.clone()), StatusCode::OK).await;
    assert_eq!((stored["customized"].clone(), stored["subject"].clone()), (json!(true), good["subject"].clone()));
    let read = app.admin("GET", &a, path, &staff_a, None, StatusCode::OK).await;
    assert_eq!(read["html"], good["html"]);

    // Store B: its own default; A's token does not hold there.
    let other = app.admin("GET", &b, path, &owner_b, None, StatusCode::OK).await;
    assert_eq!(other["customized"], false);
    assert_ne!(other["subject"], good["subject"]);
    app.admin("GET", &b, path, &owner_a, None, StatusCode::UNAUTHORIZED).await;
    app.admin("PUT", &b, path, &owner_a, Some(good.clone()), StatusCode::UNAUTHORIZED).await;
    app.admin("DELETE", &b, path, &owner_b, None, StatusCode::NOT_FOUND).await;
    let still = app.admin("GET", &a, path, &owner_a, None, StatusCode::OK).await;
    assert_eq!(still["customized"], true, "store B's delete reached store A");

    // Delete reverts to the default.
    let reverted = app.admin("DELETE", &a, path, &owner_a, None, StatusCode::OK).await;
    assert_eq!(reverted["customized"], false);
    app.admin("DELETE", &a, path, &owner_a, None, StatusCode::NOT_FOUND).await;
    let read = app.admin("GET", &a, path, &staff_a, None, StatusCode::OK).await;
    assert_eq!(read["customized"], false);
}

#[tokio::test]
async fn a_paid_order_reaches_the_shoppers_inbox_through_the_workers_queue_and_only_its_stores_smtp() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let (sink_a, sink_b) = (SmtpSink::start().await, SmtpSink::start().await);
    use_smtp(&app, &a, "shop@alpha.test", sink_a.port).await;
    use_smtp(&app, &b, "shop@bravo.test", sink_b.port).await;
    let order = paid_order(&app, &a, "ann@example.com", None).await;
    let number = order["number"].as_i64().unwrap();

    // What `tenant-api worker` does: the relay fans the events out, the
    // delivery job sends them.
    let worker = {
        use axum::extract::FromRef;
        tenant_api::worker::WorkerState::from_ref(&app.state)
    };
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    worker.deliverer.run_once().await.unwrap();
    worker.deliverer.drain().await;

    let mails = sink_a.messages();
    assert_eq!(mails.len(), 1, "one order confirmation: {:?}", mails.iter().map(|m| &m.to).collect::<Vec<_>>());
    assert_eq!(mails[0].to, ["ann@example.com"]);
    let subject = mails[0].header("subject").unwrap();
    assert!(subject.contains(&number.to_string()), "{subject}");
    assert!(mails[0].part("text/plain").unwrap().contains("$19.99"));
    assert!(sink_b.messages().is_empty(), "store B's SMTP carried store A's mail");

    let owner = app.owner_token(&a).await;
    let log = app.get_as(&a.host, "/admin/notifications/deliveries?channel=email", Some(&owner), StatusCode::OK).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["status"], "succeeded");
    assert_eq!(items[0]["target"], "ann@example.com");
    // Another run sends nothing twice.
    tenant_api::outbox::relay_once(&app.state, 500).await.unwrap();
    worker.deliverer.run_once().await.unwrap();
    worker.deliverer.drain().await;
    assert_eq!(sink_a.messages().len(), 1);
}

#[tokio::test]
async fn a_mail_our_database_could_not_prepare_is_unsent_not_a_failed_attempt() {
    use sqlx::Connection as _;
    let app = crate::helpers::spawn_app_configured(|s| s.db_statement_timeout_ms = 300).await;
    let store = app.create_store("stalled").await;
    let sink = SmtpSink::start().await;
    use_smtp(&app, &store, "shop@stalled.test", sink.port).await;
    paid_order(&app, &store, "ann@example.com", None).await;
    let (state, payload) = (notifications(&app), event(&app, &store, "order.paid").await);

    // The store's templates cannot be read: past the statement timeout.
    let mut locker = sqlx::PgConnection::connect(&app.db.url()).await.unwrap();
    let mut lock = locker.begin().await.unwrap();
    sqlx::query("lock table commerce.notification_template in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();
    let failure = email::send(&state, store.id(), "order.paid", &payload, "ann@example.com").await.unwrap_err();
    assert!(failure.unsent && failure.retryable, "{failure:?}");
    assert!(sink.messages().is_empty());
    lock.rollback().await.unwrap();

    // Any other failure counts (here a recipient no relay would take), and
    // with the table free again the mail goes out.
    let refused = email::send(&state, store.id(), "order.paid", &payload, "not an address").await.unwrap_err();
    assert!(!refused.unsent, "{refused:?}");
    let sent = email::send(&state, store.id(), "order.paid", &payload, "ann@example.com").await.unwrap();
    assert_eq!(sent.code, Some(250));
}
