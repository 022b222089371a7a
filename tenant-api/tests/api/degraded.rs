//! Dependencies that stop answering: a private Redis started by the test is
//! frozen (SIGSTOP: connections stay open, nothing answers), then thawed.
//! Carts answer a `503` problem instead of hanging; catalog reads keep
//! serving; service returns by itself, never with a `500`.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app_configured;

/// A Redis server of this test's own on a free port; stopped when dropped.
struct PrivateRedis {
    child: Child,
    port: u16,
}

impl PrivateRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        #[allow(clippy::zombie_processes)] // waited for in `drop`
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (installed by infra/scripts/services.sh)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Self { child, port };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the private redis-server did not start");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_frozen_redis_costs_carts_a_503_not_a_hang_and_service_returns_when_it_thaws() {
    let redis = PrivateRedis::start().await;
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let app = spawn_app_configured(move |settings| {
        settings.redis_url = url.into();
        settings.redis_timeout_ms = 500;
    })
    .await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Lamp", 1000, 5).await;
    app.cart_with(&store, None, &variant, 1).await;
    app.get_json(&store.host, "/store/products", StatusCode::OK).await;

    let empty = json!({});
    redis.signal("-STOP");
    // Bounded: a request that hung would fail the test here, not time it.
    let bound = Duration::from_secs(10);
    let send = app.send(Method::POST, &store.host, "/store/carts", None, &[], Some(&empty));
    let (status, content_type, problem) = tokio::time::timeout(bound, send).await.expect("the cart request hung");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(problem["retry_after"], 1);
    // The catalog does not need Redis to answer.
    let read = app.send(Method::GET, &store.host, "/store/products", None, &[], None);
    let (status, _, _) = tokio::time::timeout(bound, read).await.expect("the catalog read hung");
    assert_eq!(status, StatusCode::OK);

    redis.signal("-CONT");
    // Back without a restart: a 503 while it reconnects, then a cart; never a 500.
    let mut answered = None;
    for _ in 0..50 {
        let send = app.send(Method::POST, &store.host, "/store/carts", None, &[], Some(&empty));
        let (status, _, body) = tokio::time::timeout(bound, send).await.expect("a cart request hung after the thaw");
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        if status == StatusCode::CREATED {
            answered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered.is_some(), "carts did not come back after Redis did");
}
