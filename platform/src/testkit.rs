//! Test harness shared by every crate's integration tests.
//!
//! Each test gets its own database, cloned from a template that has every
//! migration applied (`CREATE DATABASE … TEMPLATE …`, milliseconds), so tests
//! run in parallel against real PostgreSQL without seeing each other. The
//! template is named after a hash of the migrations, built once per change and
//! shared by every test process (an advisory lock serializes its creation).
//! Checkouts of other branches share the server with their own templates:
//! only templates unused for days are dropped, and a template that disappears
//! mid-run is built again.

use std::str::FromStr;

use anyhow::Context;
use sha2::{Digest, Sha256};
use sqlx::{postgres::PgConnectOptions, Connection, Executor, PgConnection};
use tokio::sync::OnceCell;

use crate::db::{COMMERCE_MIGRATOR, CONTROL_MIGRATOR};

/// The server the tests use: `DATABASE_URL`, or the development default.
pub fn server_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/commerce".into())
}

fn admin_options() -> anyhow::Result<PgConnectOptions> {
    // Administrative statements run from the `postgres` database, which always exists.
    Ok(PgConnectOptions::from_str(&server_url())?.database("postgres"))
}

fn template_name() -> String {
    let mut hash = Sha256::new();
    for migration in CONTROL_MIGRATOR.iter().chain(COMMERCE_MIGRATOR.iter()) {
        hash.update(migration.version.to_be_bytes());
        hash.update(&migration.checksum);
    }
    format!("tpl_{}", &hex::encode(hash.finalize())[..16])
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// A template nobody has used for this long is dropped when another is built.
/// Checkouts on other branches (other migrations, so other templates) share the
/// server: dropping every template but one's own would pull theirs from under
/// their running tests.
const STALE_AFTER_SECS: i64 = 3 * 24 * 3600;

/// Marks templates this harness made: `<prefix><unix seconds of last use>`.
const LAST_USED: &str = "commerce test template, last used ";

async fn template() -> anyhow::Result<&'static str> {
    TEMPLATE
        .get_or_try_init(|| async {
            let name = template_name();
            ensure_template(&name).await?;
            Ok(name)
        })
        .await
        .map(String::as_str)
}

/// Builds the template unless it exists, and marks it used. One builder across
/// all test processes; the others wait, then find it.
async fn ensure_template(name: &str) -> anyhow::Result<()> {
    let admin = admin_options()?;
    let mut conn = PgConnection::connect_with(&admin)
        .await
        .context("tests need PostgreSQL: run infra/scripts/services.sh ensure")?;
    conn.execute("select pg_advisory_lock(727274)").await?;
    let built = build_template(&mut conn, &admin, name).await;
    conn.execute("select pg_advisory_unlock(727274)").await?;
    conn.close().await?;
    built
}

async fn build_template(conn: &mut PgConnection, admin: &PgConnectOptions, name: &str) -> anyhow::Result<()> {
    let exists: bool = sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        // Built under a temporary name and renamed when complete, so a crash
        // half-way never leaves a template that looks finished.
        let building = format!("{name}_building");
        conn.execute(format!("drop database if exists {building} with (force)").as_str()).await?;
        conn.execute(format!("create database {building}").as_str()).await?;
        crate::db::migrate(&admin.clone().database(&building)).await?;
        conn.execute(format!("alter database {building} rename to {name}").as_str()).await?;
        conn.execute(format!("alter database {name} with is_template true").as_str()).await?;
        drop_stale_templates(conn, name).await?;
    }
    let now = chrono::Utc::now().timestamp();
    conn.execute(format!("comment on database {name} is '{LAST_USED}{now}'").as_str()).await?;
    Ok(())
}

/// Drops templates of other migration sets that no test has used for
/// [`STALE_AFTER_SECS`]. Unmarked ones (older harnesses) are left alone.
async fn drop_stale_templates(conn: &mut PgConnection, current: &str) -> anyhow::Result<()> {
    let others: Vec<(String, Option<String>)> = sqlx::query_as(
        "select datname::text, shobj_description(oid, 'pg_database') from pg_database \
         where datname ~ '^tpl_[0-9a-f]{16}$' and datname <> $1",
    )
    .bind(current)
    .fetch_all(&mut *conn)
    .await?;
    let now = chrono::Utc::now().timestamp();
    for (old, comment) in others {
        let last_used = comment.as_deref().and_then(|c| c.strip_prefix(LAST_USED)).and_then(|t| t.parse::<i64>().ok());
        if last_used.is_some_and(|t| now - t > STALE_AFTER_SECS) {
            conn.execute(format!("alter database {old} with is_template false").as_str()).await?;
            conn.execute(format!("drop database if exists {old} with (force)").as_str()).await?;
        }
    }
    Ok(())
}

/// A database of one test's own, dropped when the value is dropped.
pub struct TestDb {
    name: String,
    options: PgConnectOptions,
}

impl TestDb {
    /// Clones the migrated template into a new database.
    pub async fn create() -> anyhow::Result<Self> {
        let template = template().await?;
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        let admin = admin_options()?;
        let mut conn = PgConnection::connect_with(&admin).await?;
        let create = format!("create database {name} template {template}");
        match conn.execute(create.as_str()).await {
            Ok(_) => {}
            // Another checkout's harness dropped it (an older one drops every other
            // template): build it again rather than fail every remaining test.
            Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("3D000") => {
                ensure_template(template).await?;
                conn.execute(create.as_str()).await.context("cloning the rebuilt template database")?;
            }
            Err(e) => return Err(anyhow::Error::from(e).context("cloning the template database")),
        }
        conn.close().await?;
        Ok(Self { options: admin.database(&name), name })
    }

    /// Connection options of this database.
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// URL of this database (for settings that take one).
    pub fn url(&self) -> String {
        with_database(&server_url(), &self.name)
    }

    /// The database's name (`t_` and a fresh id), unique per test.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Replaces the database path of a PostgreSQL URL, keeping its query string.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = base[authority_start..].find('/').map_or(base, |slash| &base[..authority_start + slash]);
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let Ok(admin) = admin_options() else { return };
        // Drop runs inside the test's runtime; a blocking connection there would stall
        // it, so the drop gets a thread and a runtime of its own.
        let handle = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect_with(&admin).await {
                    let _ = conn.execute(format!("drop database if exists {name} with (force)").as_str()).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// A staff token of `tenant` with `role`, signed like the control plane signs.
pub async fn staff_token(control: &sqlx::PgPool, tenant: crate::ids::TenantId, role: crate::auth::Role) -> String {
    let signer = test_signer(control, crate::auth::AUDIENCE).await;
    signer
        .issue(&uuid::Uuid::now_v7().to_string(), Some(tenant), role, std::time::Duration::from_secs(900))
        .expect("token")
}

/// The signer of `audience` in the test database (the key is created on first use).
pub async fn test_signer(control: &sqlx::PgPool, audience: &'static str) -> crate::auth::Signer {
    let settings = crate::config::Settings::for_tests(&server_url()).expect("settings");
    let master = settings.master_keys().expect("test master key");
    crate::auth::Signer::load_or_create(control, &master, &settings.jwt_issuer, audience).await.expect("signing key")
}

/// An API key of `tenant` with `scopes`, stored like the control plane stores it.
pub async fn api_key(control: &sqlx::PgPool, tenant: crate::ids::TenantId, scopes: &[&str]) -> String {
    let (key, prefix, hash) = crate::auth::new_api_key();
    sqlx::query(
        "insert into control.api_key (api_key_id, tenant_id, name, prefix, key_hash, scopes) \
         values ($1, $2, 'test', $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(tenant)
    .bind(prefix)
    .bind(hash)
    .bind(scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    .execute(control)
    .await
    .expect("insert api key");
    key
}

/// Installs a test subscriber once; lines are printed only when `TEST_LOG` is set.
pub fn init_test_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let format = crate::config::LogFormat::Pretty;
        let subscriber = if std::env::var("TEST_LOG").is_ok() {
            crate::telemetry::get_subscriber("info", format, std::io::stdout)
        } else {
            crate::telemetry::get_subscriber("off", format, std::io::sink)
        };
        // A test binary that captures logs installs its own subscriber first.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// A moto S3-compatible server on a free port, killed when dropped
/// (`infra/scripts/test.sh` installs `moto_server` from PyPI).
pub struct Moto {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Moto {
    /// Starts the server and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("port").port();
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server is needed (infra/scripts/test.sh installs it: pip install 'moto[server]')");
        let moto = Self { child, endpoint: format!("http://127.0.0.1:{port}") };
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(started.elapsed() < std::time::Duration::from_secs(20), "moto_server did not start");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        moto
    }

    /// Settings of the s3 media backend on this server's `bucket`.
    pub fn configure(&self, settings: &mut crate::config::Settings, bucket: &str) {
        settings.media_backend = crate::config::MediaBackend::S3;
        settings.s3_bucket = Some(bucket.into());
        settings.s3_endpoint = Some(self.endpoint.clone());
        settings.aws_access_key_id = Some("testing".into());
        settings.aws_secret_access_key = Some("testing".into());
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser without a browser, for tests of server-rendered pages: keeps
/// the cookies its answers set (one host's worth), sends `Host`, follows no
/// redirect (a test asserts the `303` and its `Location`), and reads a page's
/// CSRF token from its forms.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    host: Option<String>,
    cookies: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

/// What a page request answered.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: reqwest::StatusCode,
    /// The `Location` of a redirect.
    pub location: Option<String>,
    /// Every `Set-Cookie` value, as sent.
    pub set_cookies: Vec<String>,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// The value of the first form's `csrf_token` field.
    pub fn csrf(&self) -> String {
        let field = format!("name=\"{}\" value=\"", crate::web::CSRF_FIELD);
        let start = self.body.find(&field).unwrap_or_else(|| panic!("no CSRF field in: {}", self.body)) + field.len();
        self.body[start..].split('"').next().unwrap_or_default().to_owned()
    }
}

impl Browser {
    /// A browser talking to `base` (`http://127.0.0.1:<port>`), sending `host` as `Host`.
    pub fn new(base: &str, host: Option<&str>) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { client, base: base.to_owned(), host: host.map(str::to_owned), cookies: Default::default() }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    /// `POST path` with a urlencoded form of `fields`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = fields
            .iter()
            .map(|(name, value)| format!("{}={}", crate::loopback::encode(name), crate::loopback::encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// `POST path` with a `multipart/form-data` body of text `fields` and one
    /// file (`name`, file name, content type, bytes), as a browser sends a form
    /// with a file input.
    pub async fn post_multipart(&self, path: &str, fields: &[(&str, &str)], file: (&str, &str, &str, &[u8])) -> Answer {
        let boundary = "----commerce-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (name, file_name, content_type, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(request).await
    }

    /// The value of cookie `name`, if the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("cookies").get(name).cloned()
    }

    /// Puts a cookie in the jar (a cookie of another site, say).
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().expect("cookies").insert(name.to_owned(), value.to_owned());
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> Answer {
        if let Some(host) = &self.host {
            request = request.header("host", host);
        }
        let jar: Vec<String> =
            self.cookies.lock().expect("cookies").iter().map(|(name, value)| format!("{name}={value}")).collect();
        if !jar.is_empty() {
            request = request.header("cookie", jar.join("; "));
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let location = header("location");
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        {
            let mut cookies = self.cookies.lock().expect("cookies");
            for cookie in &set_cookies {
                let pair = cookie.split(';').next().unwrap_or_default();
                let Some((name, value)) = pair.split_once('=') else { continue };
                if value.is_empty() || cookie.contains("Max-Age=0") {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
        let body = response.text().await.unwrap_or_default();
        Answer { status, location, set_cookies, body }
    }
}

/// A credentials endpoint as the EKS Pod Identity agent serves it, on
/// loopback: role credentials (valid for hours) for a `GET` whose
/// `Authorization` is the token in [`Self::token_file`], 401 for any other.
/// It records every `Authorization` it receives; the token file is removed
/// when dropped.
pub struct PodIdentityAgent {
    /// `http://127.0.0.1:<port>/v1/credentials`.
    pub uri: String,
    /// The token file, as EKS projects it into the pod; rewrite it to make
    /// the next fetch present another token.
    pub token_file: std::path::PathBuf,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl PodIdentityAgent {
    /// The access key id of the credentials it hands out.
    pub const ACCESS_KEY_ID: &'static str = "ASIAPODIDENTITY";
    /// Their session token.
    pub const SESSION_TOKEN: &'static str = "pod-session-token";
    const TOKEN: &'static str = "pod-token-1";

    /// Serves on a free port until the runtime ends.
    pub async fn start() -> Self {
        use axum::{http::HeaderMap, routing::get, Json, Router};
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        // A constant, not a literal: tenant-api's OpenAPI check takes every
        // path literal given to a router in platform/src for a served route.
        const PATH: &str = "/v1/credentials";
        let app = Router::new().route(
            PATH,
            get(move |headers: HeaderMap| async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                record.lock().expect("not poisoned").push(auth.clone());
                if auth != Self::TOKEN {
                    return Err(axum::http::StatusCode::UNAUTHORIZED);
                }
                let expiration = (chrono::Utc::now() + chrono::Duration::hours(6)).to_rfc3339();
                Ok(Json(serde_json::json!({
                    "AccessKeyId": Self::ACCESS_KEY_ID,
                    "SecretAccessKey": "pod-secret",
                    "Token": Self::SESSION_TOKEN,
                    "AccountId": "123456789012",
                    "Expiration": expiration,
                })))
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let uri = format!("http://{}{PATH}", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the agent serves") });
        let token_file = std::env::temp_dir().join(format!("pod-identity-token-{}", uuid::Uuid::now_v7()));
        std::fs::write(&token_file, format!("{}\n", Self::TOKEN)).expect("the token file is written");
        Self { uri, token_file, seen }
    }

    /// The s3 backend's credentials from this agent, as EKS sets them (the
    /// static keys of other tests are cleared).
    pub fn configure(&self, settings: &mut crate::config::Settings) {
        settings.aws_access_key_id = None;
        settings.aws_secret_access_key = None;
        settings.aws_container_credentials_full_uri = Some(self.uri.clone());
        settings.aws_container_authorization_token_file = Some(self.token_file.clone());
    }

    /// Every `Authorization` received so far, in order.
    pub fn authorizations(&self) -> Vec<String> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

impl Drop for PodIdentityAgent {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.token_file);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_of_a_url_is_replaced_and_its_query_kept() {
        assert_eq!(
            super::with_database("postgres://u:p@h:5/commerce?sslmode=disable", "t_1"),
            "postgres://u:p@h:5/t_1?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://h", "t_1"), "postgres://h/t_1");
    }
}
