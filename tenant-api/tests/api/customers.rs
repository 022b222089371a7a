//! Shopper accounts: sign-up, sign-in, tokens, profile, password reset.

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_customer_registers_signs_in_and_reads_their_profile() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let created = app
        .post(
            &store.host,
            "/store/customers",
            None,
            json!({"email": "Ann@Example.com", "password": "correct horse", "first_name": "Ann"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["email"], "Ann@example.com");
    assert!(created.get("password_hash").is_none() && !created.to_string().contains("argon2"));

    let token = app
        .post(
            &store.host,
            "/store/auth/token",
            None,
            json!({"email": "ann@example.com", "password": "correct horse"}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["expires_in"].as_u64().unwrap() > 0);
    assert!(token["refresh_token"].as_str().unwrap().len() > 32);
    let me = app.get_as(&store.host, "/store/customers/me", token["access_token"].as_str(), StatusCode::OK).await;
    assert_eq!(me["id"], created["id"]);
    assert_eq!(me["first_name"], "Ann");
    assert_eq!(me["addresses"], json!([]));
}

#[tokio::test]
async fn an_email_registers_once_per_store_but_another_store_may_use_it() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let body = json!({"email": "ann@example.com", "password": "correct horse"});
    app.post(&a.host, "/store/customers", None, body.clone(), StatusCode::CREATED).await;
    let taken = app
        .post(
            &a.host,
            "/store/customers",
            None,
            json!({"email": "ANN@example.com", "password": "x-correct-horse"}),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(taken["type"], "/problems/email-taken");
    assert_eq!(taken["errors"][0]["field"], "email");
    app.post(&b.host, "/store/customers", None, body, StatusCode::CREATED).await;
}

#[tokio::test]
async fn bad_registration_input_is_a_422_naming_each_field() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let body = app
        .post(
            &store.host,
            "/store/customers",
            None,
            json!({"email": "nope", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "password"]);
    let body = app
        .post(
            &store.host,
            "/store/customers",
            None,
            json!({"password": "long enough"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(body["errors"][0]["field"], "email");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.customer(&store, "ann@example.com").await;
    let wrong = app
        .post(
            &store.host,
            "/store/auth/token",
            None,
            json!({"email": "ann@example.com", "password": "wrong horse"}),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    let unknown = app
        .post(
            &store.host,
            "/store/auth/token",
            None,
            json!({"email": "bob@example.com", "password": "wrong horse"}),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn a_refresh_token_rotates_and_its_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let first = app.customer(&store, "ann@example.com").await;
    let refresh = |token: &Value| json!({"grant_type": "refresh_token", "refresh_token": token["refresh_token"]});
    let second = app.post(&store.host, "/store/auth/token", None, refresh(&first), StatusCode::OK).await;
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    app.get_as(&store.host, "/store/customers/me", second["access_token"].as_str(), StatusCode::OK).await;
    // The first token again: a thief or a replay. The whole family dies, the new token too.
    app.post(&store.host, "/store/auth/token", None, refresh(&first), StatusCode::UNAUTHORIZED).await;
    app.post(&store.host, "/store/auth/token", None, refresh(&second), StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn password_reset_always_answers_202_and_its_token_works_once() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.customer(&store, "ann@example.com").await;
    for email in ["ann@example.com", "nobody@example.com", "not an email"] {
        app.post(&store.host, "/store/customers/password-reset", None, json!({"email": email}), StatusCode::ACCEPTED)
            .await;
    }
    // The token travels sealed in the outbox event, for the notification relay.
    let mut tx = app.tenant_tx(&store).await;
    let events: Vec<Value> = sqlx::query_scalar(
        "select payload from outbox_event where topic = 'customer.password_reset' order by event_id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    drop(tx);
    assert_eq!(events.len(), 1, "only the known email gets a token");
    assert!(events[0].get("token").is_none());
    let token = app.state.master.open(events[0]["token_sealed"].as_str().unwrap()).unwrap();
    let token = token.expose_secret().to_owned();

    let confirm = json!({"token": token, "password": "new battery staple"});
    app.post(&store.host, "/store/customers/password-reset/confirm", None, confirm.clone(), StatusCode::NO_CONTENT)
        .await;
    let again = app
        .post(&store.host, "/store/customers/password-reset/confirm", None, confirm, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(again["errors"][0]["field"], "token");
    app.post(
        &store.host,
        "/store/auth/token",
        None,
        json!({"email": "ann@example.com", "password": "correct horse"}),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app.post(
        &store.host,
        "/store/auth/token",
        None,
        json!({"email": "ann@example.com", "password": "new battery staple"}),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_shopper_token_is_refused_on_admin_routes_and_a_staff_token_is_not_a_shopper_token() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let shopper = app.customer(&store, "ann@example.com").await;
    let shopper = shopper["access_token"].as_str().unwrap();
    for path in ["/admin/orders", "/admin/customers", "/admin/discount-codes"] {
        let body = app.get_as(&store.host, path, Some(shopper), StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["type"], "/problems/unauthorized", "{path}");
    }
    // The shopper token does not verify as a platform token at all.
    assert!(app.state.auth.keys.verify(shopper).await.is_err());

    let staff = app.owner_token(&store).await;
    for path in ["/store/customers/me", "/store/orders"] {
        app.get_as(&store.host, path, Some(&staff), StatusCode::UNAUTHORIZED).await;
    }
    app.get_as(&store.host, "/admin/orders", Some(&staff), StatusCode::OK).await;
}

#[tokio::test]
async fn addresses_are_saved_listed_and_deleted() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let token = app.customer(&store, "ann@example.com").await;
    let token = token["access_token"].as_str();
    let address = json!({"name": "Ann", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345",
                         "country": "us", "is_default": true});
    let saved = app.post(&store.host, "/store/customers/me/addresses", token, address, StatusCode::CREATED).await;
    assert_eq!(saved["country"], "US");
    let bad = app
        .post(
            &store.host,
            "/store/customers/me/addresses",
            token,
            json!({"name": "Ann", "line1": "", "city": "X", "postal_code": "1", "country": "USA"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["line1", "country"]);
    let list = app.get_as(&store.host, "/store/customers/me/addresses", token, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let path = format!("/store/customers/me/addresses/{}", saved["id"].as_str().unwrap());
    app.call(Method::DELETE, &store.host, &path, token, None, StatusCode::NO_CONTENT).await;
    app.call(Method::DELETE, &store.host, &path, token, None, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn staff_list_and_search_customers() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.customer(&store, "ann@example.com").await;
    app.customer(&store, "bob@example.com").await;
    let staff = app.owner_token(&store).await;
    let all = app.get_as(&store.host, "/admin/customers", Some(&staff), StatusCode::OK).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert_eq!(all["next_cursor"], Value::Null);
    let bob = app.get_as(&store.host, "/admin/customers?q=bob", Some(&staff), StatusCode::OK).await;
    assert_eq!(bob["items"][0]["email"], "bob@example.com");
    let path = format!("/admin/customers/{}", bob["items"][0]["id"].as_str().unwrap());
    app.get_as(&store.host, &path, Some(&staff), StatusCode::OK).await;
    app.get_as(&store.host, "/admin/customers", None, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn shopper_password_hashing_past_its_bound_answers_503_with_retry_after_and_recovers() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    app.customer(&store, "ann@example.com").await;
    let sign_in = json!({"email": "ann@example.com", "password": "correct horse"});
    let sign_up = json!({"email": "bob@example.com", "password": "correct horse"});

    let every_permit = app.state.hasher.saturate().await;
    for (path, body) in [("/store/auth/token", &sign_in), ("/store/customers", &sign_up)] {
        let response = app
            .client
            .post(format!("{}{path}", app.address))
            .header("host", &store.host)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(response.headers()["retry-after"], "1", "{path}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/overloaded", "{path}: {problem}");
    }
    drop(every_permit);

    app.post(&store.host, "/store/auth/token", None, sign_in, StatusCode::OK).await;
    // The refused sign-up wrote nothing: the email is still free.
    app.post(&store.host, "/store/customers", None, sign_up, StatusCode::CREATED).await;
}
