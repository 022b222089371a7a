//! Dependencies that stop answering: a private Redis or PostgreSQL started by
//! the test is frozen (SIGSTOP: connections stay open, nothing answers) or
//! stopped (connections refused), then brought back. Requests that need it
//! answer a `503` problem instead of hanging; catalog reads keep serving;
//! service returns by itself, never with a `500`.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
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

/// A PostgreSQL server of this test's own (initdb in a temporary directory, a
/// free port); stopped and removed when dropped.
struct PrivatePostgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    async fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries (installed by infra/scripts/services.sh)")
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("postgres").exists())
            .max()
            .expect("a PostgreSQL version under /usr/lib/postgresql");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("commerce-degraded-pg-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let server = Self { dir, bin, port };
        // initdb and postgres refuse to run as root: run them as `postgres` then.
        if server.as_root() {
            let status = Command::new("chown").args(["-R", "postgres"]).arg(&server.dir).status().unwrap();
            assert!(status.success(), "chown the private data directory");
        }
        let data = server.dir.join("data");
        let initdb = server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb");
        server.run().await;
        server
    }

    fn as_root(&self) -> bool {
        Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path).current_dir("/");
            command
        } else {
            Command::new(path)
        }
    }

    /// Starts the server (again) on its data directory and waits until it answers.
    async fn run(&self) {
        let status = self
            .command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
                self.port,
                self.dir.display()
            ))
            .args(["-w", "-t", "30"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The postmaster and every backend: freezing only the postmaster would
    /// leave open connections answering.
    fn processes(&self) -> Vec<String> {
        let pid = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).expect("postmaster.pid");
        let pid = pid.lines().next().unwrap().trim().to_owned();
        let children = Command::new("pgrep").args(["-P", &pid]).output().expect("pgrep");
        let mut all: Vec<String> =
            String::from_utf8_lossy(&children.stdout).split_whitespace().map(str::to_owned).collect();
        all.push(pid);
        all
    }

    fn signal(&self, signal: &str) {
        for pid in self.processes() {
            let _ = Command::new("kill").args([signal, &pid]).status();
        }
    }

    /// Stops the server at once (connections are refused until [`Self::run`]).
    fn stop(&self) {
        self.signal("-CONT");
        let status = self
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl stop");
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.dir.join("data/postmaster.pid").exists() {
            self.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends `request` until it succeeds with `expected`, failing on a `500` or a
/// hang; gives up after about ten seconds.
async fn comes_back<F, Fut>(expected: StatusCode, request: F) -> serde_json::Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (StatusCode, String, serde_json::Value)>,
{
    let bound = Duration::from_secs(10);
    for _ in 0..100 {
        let (status, _, body) = tokio::time::timeout(bound, request()).await.expect("a request hung after recovery");
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        if status == expected {
            return body;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("service did not come back");
}

#[tokio::test]
async fn a_frozen_or_stopped_postgres_costs_a_503_and_service_returns_without_a_restart() {
    let pg = PrivatePostgres::start().await;
    let url = pg.url();
    platform::db::migrate(&url.parse().unwrap()).await.expect("migrating the private server");
    let app = spawn_app_configured(move |settings| {
        settings.database_url = url.into();
        settings.db_timeout_ms = 500;
    })
    .await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Lamp", 1000, 50).await;
    let owner = app.owner_token(&store).await;
    app.get_json(&store.host, "/store/products", StatusCode::OK).await;
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let orders = || app.send(Method::GET, &store.host, "/admin/orders", Some(&owner), &[], None);
    let ready = || app.send(Method::GET, "localhost", "/readyz", None, &[], None);
    let bound = Duration::from_secs(10);
    let (status, _, _) = orders().await;
    assert_eq!(status, StatusCode::OK, "the signing keys are read before the outage");
    let pay = crate::helpers::checkout_body("pat@example.com", "tok_success");

    for outage in ["frozen", "stopped"] {
        if outage == "frozen" {
            pg.signal("-STOP");
        } else {
            pg.stop();
        }
        let started = Instant::now();
        let (status, content_type, problem) = tokio::time::timeout(bound, orders()).await.expect("an admin read hung");
        eprintln!("{outage} PostgreSQL: {status} after {:?}", started.elapsed());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{outage}: {problem}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(problem["retry_after"], 1);
        let path = format!("/store/carts/{cart}/checkout");
        let key = [("idempotency-key", outage)];
        let checkout = app.send(Method::POST, &store.host, &path, None, &key, Some(&pay));
        let (status, _, problem) = tokio::time::timeout(bound, checkout).await.expect("a checkout hung");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{outage}: {problem}");
        let (status, _, checks) = tokio::time::timeout(bound, ready()).await.expect("readyz hung");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{outage}: {checks}");
        assert_eq!(checks["checks"]["postgres:default"], "down");
        // The warm catalog is served from memory meanwhile.
        let read = app.send(Method::GET, &store.host, "/store/products", None, &[], None);
        let (status, _, _) = tokio::time::timeout(bound, read).await.expect("a catalog read hung");
        assert_eq!(status, StatusCode::OK, "{outage}");

        if outage == "frozen" {
            pg.signal("-CONT");
        } else {
            pg.run().await;
        }
        comes_back(StatusCode::OK, orders).await;
        comes_back(StatusCode::OK, ready).await;
    }
    let (status, order) = app.checkout(&store, &cart, None, Some("after"), &pay).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
}
