//! Product media: presigned uploads to S3 (a real S3-compatible server, moto),
//! and the local backend's signed upload URLs.

use platform::testkit::{Moto, PodIdentityAgent};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_configured, TestApp, TestStore};

async fn product_of(app: &TestApp, store: &TestStore) -> (String, crate::helpers::Auth) {
    let staff = app.staff(store).await;
    let product = app.create_product(store, &staff, "Tee", "TEE", 100).await;
    (product["id"].as_str().unwrap().to_owned(), staff)
}

async fn request_upload(
    app: &TestApp,
    store: &TestStore,
    staff: &crate::helpers::Auth,
    product: &str,
    size: usize,
) -> Value {
    app.admin(
        "POST",
        store,
        &format!("/admin/products/{product}/media"),
        staff,
        Some(json!({"content_type": "image/png", "byte_size": size, "alt": "Front"})),
        StatusCode::CREATED,
    )
    .await
}

/// Creates `bucket` on moto, readable by anyone: shoppers load images by URL
/// (in AWS through the CDN, which alone may read the bucket).
async fn readable_bucket(moto: &Moto, bucket: &str) {
    let created = reqwest::Client::new().put(format!("{}/{bucket}", moto.endpoint)).send().await.unwrap();
    assert!(created.status().is_success(), "create bucket: {}", created.status());
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
    let put_policy =
        reqwest::Client::new().put(format!("{}/{bucket}?policy", moto.endpoint)).json(&policy).send().await.unwrap();
    assert!(put_policy.status().is_success(), "bucket policy: {}", put_policy.status());
}

#[tokio::test]
async fn an_s3_presigned_upload_lands_in_the_bucket_under_the_store_prefix() {
    let moto = Moto::start().await;
    let bucket = "commerce-media-test";
    readable_bucket(&moto, bucket).await;
    let app = spawn_app_configured(|settings| moto.configure(settings, bucket)).await;
    let store = app.create_store("alpha").await;
    let (product, staff) = product_of(&app, &store).await;
    let bytes = b"\x89PNG fake image bytes".to_vec();

    let media = request_upload(&app, &store, &staff, &product, bytes.len()).await;
    let key = media["key"].as_str().unwrap();
    assert!(key.starts_with(&format!("{}/products/{product}/", store.id())), "{key}");
    assert_eq!(media["status"], "pending");
    let upload = &media["upload"];
    let url = upload["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/{bucket}/{key}?", moto.endpoint)), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");

    let client = reqwest::Client::new();
    let put = client
        .put(url)
        .header("content-type", upload["headers"]["content-type"].as_str().unwrap())
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "upload: {} {}", put.status(), put.text().await.unwrap());
    let stored = client.get(format!("{}/{bucket}/{key}", moto.endpoint)).send().await.unwrap();
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(stored.bytes().await.unwrap().to_vec(), bytes);

    // Shoppers see the media once the upload is confirmed, at the bucket's URL.
    let shown = app.get_json(&store.host, &format!("/store/products/{product}"), StatusCode::OK).await;
    assert_eq!(shown["media"], json!([]));
    let path = format!("/admin/products/{product}/media/{}/complete", media["id"].as_str().unwrap());
    app.admin("POST", &store, &path, &staff, None, StatusCode::OK).await;
    let shown = app.get_json(&store.host, &format!("/store/products/{product}"), StatusCode::OK).await;
    assert_eq!(shown["media"][0]["url"], format!("{}/{bucket}/{key}", moto.endpoint));
    assert_eq!(shown["media"][0]["alt"], "Front");
}

#[tokio::test]
async fn on_eks_uploads_are_signed_with_the_pods_role_and_a_dead_identity_agent_costs_a_503() {
    let moto = Moto::start().await;
    let bucket = "commerce-media-pod-identity";
    readable_bucket(&moto, bucket).await;
    let agent = PodIdentityAgent::start().await;
    let app = spawn_app_configured(|settings| {
        moto.configure(settings, bucket);
        agent.configure(settings);
    })
    .await;
    let store = app.create_store("alpha").await;
    let (product, staff) = product_of(&app, &store).await;
    let bytes = b"\x89PNG pod identity".to_vec();

    let media = request_upload(&app, &store, &staff, &product, bytes.len()).await;
    let url = media["upload"]["url"].as_str().unwrap();
    assert!(url.contains(&format!("X-Amz-Credential={}%2F", PodIdentityAgent::ACCESS_KEY_ID)), "{url}");
    assert!(url.contains(&format!("X-Amz-Security-Token={}", PodIdentityAgent::SESSION_TOKEN)), "{url}");
    let put = reqwest::Client::new().put(url).header("content-type", "image/png").body(bytes.clone()).send().await;
    assert!(put.unwrap().status().is_success());
    let key = media["key"].as_str().unwrap();
    let stored = reqwest::Client::new().get(format!("{}/{bucket}/{key}", moto.endpoint)).send().await.unwrap();
    assert_eq!(stored.bytes().await.unwrap().to_vec(), bytes);
    assert_eq!(agent.authorizations(), vec!["pod-token-1".to_owned()]);

    // The agent's address with nothing listening: no credentials, so no URL,
    // and the client is told to come back rather than that we failed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let dead = spawn_app_configured(|settings| {
        moto.configure(settings, bucket);
        agent.configure(settings);
        settings.aws_container_credentials_full_uri = Some(format!("http://{closed}/v1/credentials"));
    })
    .await;
    let store = dead.create_store("beta").await;
    let (product, staff) = product_of(&dead, &store).await;
    let problem = dead
        .admin(
            "POST",
            &store,
            &format!("/admin/products/{product}/media"),
            &staff,
            Some(json!({"content_type": "image/png", "byte_size": 3, "alt": "x"})),
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
    assert_eq!(problem["type"], "/problems/unavailable", "{problem}");
}

/// Sends a local upload to our app, whatever host the URL names.
async fn put_local(app: &TestApp, host: &str, url: &str, content_type: &str, body: Vec<u8>) -> StatusCode {
    let path = &url[url.find("/media/").unwrap()..];
    app.client
        .put(format!("{}{path}", app.address))
        .header("host", host)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_local_upload_url_accepts_exactly_the_signed_object_for_its_own_store() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let other = app.create_store("bravo").await;
    let (product, staff) = product_of(&app, &store).await;
    let media = request_upload(&app, &store, &staff, &product, 5).await;
    let url = media["upload"]["url"].as_str().unwrap();
    assert!(url.starts_with("http://alpha.localhost/media/uploads/"), "{url}");
    let key = media["key"].as_str().unwrap();
    assert!(key.starts_with(&store.id().to_string()));

    // Another store's host, a forged token, another type or size: refused, nothing stored.
    assert_eq!(put_local(&app, &other.host, url, "image/png", b"12345".to_vec()).await, StatusCode::FORBIDDEN);
    let forged = format!("{}x", url);
    assert_eq!(put_local(&app, &store.host, &forged, "image/png", b"12345".to_vec()).await, StatusCode::FORBIDDEN);
    assert_eq!(put_local(&app, &store.host, url, "image/gif", b"12345".to_vec()).await, StatusCode::BAD_REQUEST);
    assert_eq!(put_local(&app, &store.host, url, "image/png", b"123456".to_vec()).await, StatusCode::BAD_REQUEST);
    let complete = format!("/admin/products/{product}/media/{}/complete", media["id"].as_str().unwrap());
    let problem = app.admin("POST", &store, &complete, &staff, None, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "/problems/upload-missing");

    assert_eq!(put_local(&app, &store.host, url, "image/png", b"12345".to_vec()).await, StatusCode::OK);
    let shown = app.get_json(&store.host, &format!("/store/products/{product}"), StatusCode::OK).await;
    let media_url = shown["media"][0]["url"].as_str().unwrap();
    assert_eq!(media_url, format!("/media/{key}"));
    let read = app.get(&store.host, media_url).await;
    assert_eq!(read.headers()["content-type"], "image/png");
    assert_eq!(read.bytes().await.unwrap().as_ref(), b"12345");
    // The object is not readable through another store's host.
    assert_eq!(app.get(&other.host, media_url).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn upload_requests_name_a_bad_content_type_or_size() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let (product, staff) = product_of(&app, &store).await;
    let path = format!("/admin/products/{product}/media");
    let problem = app
        .admin(
            "POST",
            &store,
            &path,
            &staff,
            Some(json!({"content_type": "text/html", "byte_size": 0})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let fields: Vec<_> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].clone()).collect();
    assert_eq!(fields, [json!("content_type"), json!("byte_size")]);
    let missing = format!("/admin/products/{}/media", uuid::Uuid::now_v7());
    app.admin(
        "POST",
        &store,
        &missing,
        &staff,
        Some(json!({"content_type": "image/png", "byte_size": 1})),
        StatusCode::NOT_FOUND,
    )
    .await;
}
