//! Typed configuration from the environment (see `.env.example`).
//!
//! Read once at startup; a missing or malformed value stops the process there,
//! not at first use.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use anyhow::Context;
use figment::{
    providers::{Env, Serialized},
    Figment,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// Whether `host` names this machine: `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How logs are written.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for machines.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// Where product media and other uploaded objects live.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MediaBackend {
    /// A directory on this machine; uploads go to our own API with a signed token.
    Local,
    /// An S3-compatible bucket; uploads go straight to it with presigned URLs.
    S3,
}

/// Whether the data plane enforces per-store rate limits.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitMode {
    /// Each store is held to its plan's requests per second (the default).
    On,
    /// Nothing is limited: for measuring raw throughput, never for production.
    Off,
}

/// Where the platform runs: `PLATFORM_ENV`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PlatformEnv {
    /// A developer's machine or a test: the built-in test payment provider is
    /// every new store's default (the default).
    Development,
    /// Real shoppers: no store takes payments through the test provider.
    Production,
}

/// Settings shared by both services.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// Control database, also the default cell.
    pub database_url: SecretString,
    /// Connections per cell pool.
    pub db_max_connections: u32,
    /// `DB_ACQUIRE_TIMEOUT_MS`: how long a request queues for a pooled connection.
    pub db_acquire_timeout_ms: u64,
    /// `DB_TIMEOUT_MS`: how long the liveness probe waits before calling the
    /// database down (then requests get a `503` at once).
    pub db_timeout_ms: u64,
    /// `DB_STATEMENT_TIMEOUT_MS`: PostgreSQL's `statement_timeout` on pooled connections.
    pub db_statement_timeout_ms: u64,
    /// Redis for carts, idempotency, rate limits and announcements.
    pub redis_url: SecretString,
    /// Stores answer on `<slug>.<platform_domain>`.
    pub platform_domain: String,
    /// Where the control plane listens.
    pub control_plane_addr: SocketAddr,
    /// Where the data plane listens.
    pub tenant_api_addr: SocketAddr,
    /// Upper bound on how long a resolved host stays cached without an announcement.
    pub tenant_cache_ttl_secs: u64,
    /// `LOG_FORMAT`: `json` (default) or `pretty`.
    pub log_format: LogFormat,
    /// AES-256 key (base64 of 32 bytes) sealing secrets at rest.
    pub master_key: Option<SecretString>,
    /// Id of `master_key`, stored with every sealed value.
    pub master_key_id: String,
    /// Retired keys still able to open old values: `id:base64,id:base64`.
    pub master_keys_previous: String,
    /// `iss` of every platform token (the control plane's public URL).
    pub jwt_issuer: String,
    /// `local` (default) or `s3`.
    pub media_backend: MediaBackend,
    /// Root directory of the local media backend.
    pub media_local_dir: PathBuf,
    /// Key that signs the local backend's upload tokens; every replica needs the same.
    pub media_signing_key: SecretString,
    /// Base URL under which stored objects are publicly readable (a CDN); by default
    /// the bucket's URL (s3) or `/media/` on the store's own host (local).
    pub media_public_url: Option<String>,
    /// Bucket of the s3 backend; required when `media_backend` is `s3`.
    pub s3_bucket: Option<String>,
    /// Endpoint of an S3-compatible server (MinIO, moto); AWS itself when unset.
    pub s3_endpoint: Option<String>,
    /// Region of the bucket (default `us-east-1`); signs requests even to non-AWS servers.
    pub s3_region: String,
    /// Standard AWS credentials for the s3 backend.
    pub aws_access_key_id: Option<String>,
    /// Standard AWS credentials for the s3 backend.
    pub aws_secret_access_key: Option<SecretString>,
    /// Optional session token of temporary AWS credentials.
    pub aws_session_token: Option<SecretString>,
    /// The container credentials endpoint (EKS Pod Identity, ECS), set by the
    /// platform, not by hand; preferred to the static keys above
    /// (`crate::aws_credentials`).
    pub aws_container_credentials_full_uri: Option<String>,
    /// ECS's form of the endpoint, a path on `169.254.170.2`.
    pub aws_container_credentials_relative_uri: Option<String>,
    /// File holding the `Authorization` value for the endpoint (EKS Pod
    /// Identity's projected token), read on every fetch.
    pub aws_container_authorization_token_file: Option<PathBuf>,
    /// The `Authorization` value itself, where no token file is given.
    pub aws_container_authorization_token: Option<SecretString>,
    /// IRSA: the role a web identity token is exchanged for at STS.
    pub aws_role_arn: Option<String>,
    /// IRSA: the projected service account token (read on every exchange).
    pub aws_web_identity_token_file: Option<PathBuf>,
    /// IRSA: the session name of the assumed role (default `commerce-platform`).
    pub aws_role_session_name: Option<String>,
    /// Where STS answers (default `https://sts.<S3_REGION>.amazonaws.com`).
    pub aws_endpoint_url_sts: Option<String>,
    /// Base URL of an OTLP/HTTP receiver (`http://collector:4318`): spans are
    /// exported to `<it>/v1/traces`; unset or empty, no trace export.
    pub otel_exporter_otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans; by default the binary's
    /// (`control-plane`, `tenant-api`, `tenant-api-worker`).
    pub otel_service_name: Option<String>,
    /// `RATE_LIMITS`: `on` (default) or `off`.
    pub rate_limits: RateLimitMode,
    /// `RATE_LIMIT_REPLICAS`: data-plane replicas sharing each store's traffic;
    /// each enforces the plan's rate divided by this (at least 1 per second).
    pub rate_limit_replicas: u32,
    /// `STRIPE_API_BASE`: where the Stripe API answers (tests point it at a
    /// local server speaking the same protocol).
    pub stripe_api_base: String,
    /// `STRIPE_TIMEOUT_SECS`: the most one Stripe call may take, connecting
    /// included (default 15); past it the call's outcome is unknown.
    pub stripe_timeout_secs: u64,
    /// `PLATFORM_ENV`: `development` (default) or `production`.
    pub platform_env: PlatformEnv,
    /// `REDIS_TIMEOUT_MS`: the most connecting to Redis or one command may
    /// take (default 2000); past it the caller gets a `503`, never a hang.
    pub redis_timeout_ms: u64,
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS`: merchant webhooks may target loopback
    /// and private networks (default `false`; the dev stack sets `true` so a
    /// local receiver works). Off, such URLs are refused when created and
    /// again when the address is resolved at send time.
    pub webhook_allow_private_targets: bool,
    /// `TRUSTED_PROXIES`: comma-separated CIDRs of the proxies whose
    /// `X-Forwarded-For` names the client (default none: the TCP peer is the client).
    pub trusted_proxies: String,
    /// `EDGE_REQUESTS_PER_SECOND`: requests per second one client address may
    /// send the data plane, before Host resolution (default 1000; 0 is off).
    pub edge_requests_per_second: u32,
    /// `EDGE_HOST_REQUESTS_PER_SECOND`: requests per second the data plane
    /// takes for one `Host`, before Host resolution, from every client
    /// together (default 5000, above every plan's rate; 0 is off). Sheds one
    /// store's flood at the price of a hash and a static `429`.
    pub edge_host_requests_per_second: u32,
    /// `EDGE_REFUSAL_DELAY_MS`: how long the data plane holds a `429` (any
    /// limit's) before sending it, so a closed-loop flood slows to one request
    /// per connection per delay (default 100; 0 sends at once).
    pub edge_refusal_delay_ms: u64,
    /// `EDGE_HOST_LOOKUPS_PER_SECOND`: registry lookups per second this replica
    /// spends on hosts it has not resolved before (default 100; 0 is unbounded).
    pub edge_host_lookups_per_second: u32,
    /// `JWKS_URL`: where the data plane fetches the control plane's public
    /// signing keys (`<control plane>/.well-known/jwks.json`); unset, it reads
    /// them from the control database (tests, single-process development).
    pub jwks_url: Option<String>,
    /// `CONTROL_PLANE_URL`: the control plane's base URL, where the merchant
    /// dashboard signs staff in (`POST /v1/auth/token`); unset, dashboard
    /// sign-in answers 503.
    pub control_plane_url: Option<String>,
    /// `CONTROL_PLANE_TIMEOUT_MS`: the most one call to the control plane may
    /// take, connecting included (default 2000); past it the page is a 503.
    pub control_plane_timeout_ms: u64,
}

/// The master key of test settings (never used outside tests).
pub const TEST_MASTER_KEY: &str = "dGVzdC1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmc=";

/// Master keys published in this repository (`.env.example`, docker-compose,
/// the k8s dev overlay, tests, the bench script): anyone can open what they seal.
const PUBLIC_MASTER_KEYS: &[&str] = &[
    "ZGV2ZWxvcG1lbnQtb25seS1tYXN0ZXIta2V5LTMyYnk=",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    TEST_MASTER_KEY,
    "YmVuY2gtb25seS1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=",
    "REPLACE_WITH_BASE64_32_BYTES",
];

/// Media signing keys published in this repository (the default among them).
const PUBLIC_MEDIA_SIGNING_KEYS: &[&str] = &[DEFAULTS.media_signing_key, "test-media-signing-key-0123456789"];

/// Passwords published in this repository for the bootstrap admin and demo
/// accounts; the control plane refuses them in production.
pub const PUBLIC_PASSWORDS: &[&str] =
    &["change-me-now", "admin-dev-password", "bootstrap-password", "bench-password", "demo-password", "REPLACE_ME"];

#[derive(Serialize)]
struct Defaults {
    database_url: &'static str,
    db_max_connections: u32,
    db_acquire_timeout_ms: u64,
    db_timeout_ms: u64,
    db_statement_timeout_ms: u64,
    redis_url: &'static str,
    platform_domain: &'static str,
    control_plane_addr: &'static str,
    tenant_api_addr: &'static str,
    tenant_cache_ttl_secs: u64,
    log_format: LogFormat,
    master_key_id: &'static str,
    master_keys_previous: &'static str,
    jwt_issuer: &'static str,
    media_backend: MediaBackend,
    media_local_dir: &'static str,
    media_signing_key: &'static str,
    s3_region: &'static str,
    rate_limits: RateLimitMode,
    rate_limit_replicas: u32,
    stripe_api_base: &'static str,
    stripe_timeout_secs: u64,
    platform_env: PlatformEnv,
    redis_timeout_ms: u64,
    webhook_allow_private_targets: bool,
    trusted_proxies: &'static str,
    edge_requests_per_second: u32,
    edge_host_requests_per_second: u32,
    edge_refusal_delay_ms: u64,
    edge_host_lookups_per_second: u32,
    control_plane_timeout_ms: u64,
}

const DEFAULTS: Defaults = Defaults {
    database_url: "postgres://postgres@127.0.0.1:5432/commerce",
    db_max_connections: 32,
    db_acquire_timeout_ms: 5000,
    db_timeout_ms: 1000,
    db_statement_timeout_ms: 30_000,
    redis_url: "redis://127.0.0.1:6379/0",
    platform_domain: "localhost",
    control_plane_addr: "127.0.0.1:8080",
    tenant_api_addr: "127.0.0.1:8000",
    tenant_cache_ttl_secs: 300,
    log_format: LogFormat::Json,
    master_key_id: "k1",
    master_keys_previous: "",
    jwt_issuer: "http://127.0.0.1:8080",
    media_backend: MediaBackend::Local,
    media_local_dir: ".dev/media",
    media_signing_key: "development-only-media-signing-key",
    s3_region: "us-east-1",
    rate_limits: RateLimitMode::On,
    rate_limit_replicas: 1,
    stripe_api_base: "https://api.stripe.com",
    stripe_timeout_secs: 15,
    platform_env: PlatformEnv::Development,
    redis_timeout_ms: 2000,
    webhook_allow_private_targets: false,
    trusted_proxies: "",
    edge_requests_per_second: 1000,
    edge_host_requests_per_second: 5000,
    edge_refusal_delay_ms: 100,
    edge_host_lookups_per_second: 100,
    control_plane_timeout_ms: 2000,
};

impl Settings {
    /// Reads the settings from the process environment over the development defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let settings: Settings = Self::figment().extract().context("invalid configuration in the environment")?;
        settings.validate()?;
        settings.check_production()?;
        Ok(settings)
    }

    /// With `PLATFORM_ENV=production`, refuses a missing master key and any
    /// secret whose value is published in this repository (the development
    /// defaults): they pass every shape check, so only this catches a
    /// production deployment that forgot to set them. Run by [`Self::from_env`],
    /// so every binary stops at start-up with a message naming each variable.
    pub fn check_production(&self) -> anyhow::Result<()> {
        if self.platform_env != PlatformEnv::Production {
            return Ok(());
        }
        let mut refused = Vec::new();
        match &self.master_key {
            None => refused.push("MASTER_KEY is not set (generate one with `openssl rand -base64 32`)"),
            Some(key) if PUBLIC_MASTER_KEYS.contains(&key.expose_secret().trim()) => {
                refused.push("MASTER_KEY is a development value published in this repository")
            }
            Some(_) => {}
        }
        if PUBLIC_MEDIA_SIGNING_KEYS.contains(&self.media_signing_key.expose_secret().trim()) {
            refused.push(
                "MEDIA_SIGNING_KEY is unset or a development value published in this repository \
                 (generate one with `openssl rand -base64 32`)",
            );
        }
        anyhow::ensure!(
            refused.is_empty(),
            "PLATFORM_ENV=production refuses development secrets: {}",
            refused.join("; ")
        );
        Ok(())
    }

    /// The layered source, for services that extract their own extra settings from
    /// the same environment.
    pub fn figment() -> Figment {
        Figment::from(Serialized::defaults(DEFAULTS)).merge(Env::raw())
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.connect_options()?;
        self.redis_client()?;
        if self.master_key.is_some() {
            self.master_keys()?;
        }
        anyhow::ensure!(self.db_max_connections > 0, "DB_MAX_CONNECTIONS must be at least 1");
        for (value, name) in [
            (self.db_acquire_timeout_ms, "DB_ACQUIRE_TIMEOUT_MS"),
            (self.db_timeout_ms, "DB_TIMEOUT_MS"),
            (self.db_statement_timeout_ms, "DB_STATEMENT_TIMEOUT_MS"),
        ] {
            anyhow::ensure!(value > 0, "{name} must be at least 1");
        }
        anyhow::ensure!(self.rate_limit_replicas > 0, "RATE_LIMIT_REPLICAS must be at least 1");
        anyhow::ensure!(
            self.stripe_api_base.starts_with("https://") || self.stripe_api_base.starts_with("http://"),
            "STRIPE_API_BASE must be an http(s) URL such as https://api.stripe.com"
        );
        anyhow::ensure!(self.stripe_timeout_secs > 0, "STRIPE_TIMEOUT_SECS must be at least 1");
        anyhow::ensure!(self.redis_timeout_ms > 0, "REDIS_TIMEOUT_MS must be at least 1");
        self.trusted_proxies()?;
        anyhow::ensure!(
            !self.platform_domain.is_empty() && !self.platform_domain.starts_with('.'),
            "PLATFORM_DOMAIN must be a host name such as localhost or shop.example.com"
        );
        anyhow::ensure!(
            self.media_signing_key.expose_secret().len() >= 16,
            "MEDIA_SIGNING_KEY must be at least 16 characters"
        );
        if self.media_backend == MediaBackend::S3 {
            anyhow::ensure!(self.s3_bucket.is_some(), "MEDIA_BACKEND=s3 needs S3_BUCKET");
            anyhow::ensure!(
                crate::aws_credentials::Source::from_settings(self)?.is_some(),
                "MEDIA_BACKEND=s3 needs credentials: the pod's identity (EKS Pod Identity sets \
                 AWS_CONTAINER_CREDENTIALS_FULL_URI; IRSA AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE) \
                 or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            );
        }
        Ok(())
    }

    /// Connection options of the control database.
    ///
    /// A database on this machine (a loopback address or `localhost`) is
    /// reached without TLS unless the URL or `PGSSLMODE` asks for it: the
    /// bytes never leave the host, and encrypting them cost about a fifth of
    /// a cold storefront read's instructions (sqlx's default, `prefer`, uses
    /// TLS whenever the server offers it). Any other host keeps what the URL
    /// says, `prefer` by default.
    pub fn connect_options(&self) -> anyhow::Result<PgConnectOptions> {
        let url = self.database_url.expose_secret();
        let options = PgConnectOptions::from_str(url).context("DATABASE_URL is not a valid PostgreSQL URL")?;
        let chosen = url.contains("sslmode=") || url.contains("ssl-mode=") || std::env::var_os("PGSSLMODE").is_some();
        Ok(if !chosen && is_loopback(options.get_host()) { options.ssl_mode(PgSslMode::Disable) } else { options })
    }

    /// A Redis client for `REDIS_URL` (connections are made by its users).
    pub fn redis_client(&self) -> anyhow::Result<redis::Client> {
        redis::Client::open(self.redis_url.expose_secret()).context("REDIS_URL is not a valid Redis URL")
    }

    /// The shared Redis connection: it reconnects by itself, and connecting or
    /// any command past `REDIS_TIMEOUT_MS` fails (a timeout the callers turn
    /// into a `503`) instead of hanging on a Redis that stopped answering.
    pub async fn redis_manager(&self) -> anyhow::Result<redis::aio::ConnectionManager> {
        let timeout = Duration::from_millis(self.redis_timeout_ms);
        let config =
            redis::aio::ConnectionManagerConfig::new().set_connection_timeout(timeout).set_response_timeout(timeout);
        redis::aio::ConnectionManager::new_with_config(self.redis_client()?, config)
            .await
            .context("cannot connect to Redis")
    }

    /// The master keys; an error naming MASTER_KEY when it is not set or malformed.
    pub fn master_keys(&self) -> anyhow::Result<crate::crypto::MasterKeys> {
        let key =
            self.master_key.as_ref().context("MASTER_KEY is not set: generate one with `openssl rand -base64 32`")?;
        crate::crypto::MasterKeys::from_config(&self.master_key_id, key, &self.master_keys_previous)
    }

    /// The pools' limits, from the `DB_*` settings.
    pub fn pool_limits(&self) -> crate::db::PoolLimits {
        crate::db::PoolLimits {
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            answer_timeout: Duration::from_millis(self.db_timeout_ms),
            statement_timeout: Duration::from_millis(self.db_statement_timeout_ms),
        }
    }

    /// How long resolved hosts stay cached.
    pub fn tenant_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.tenant_cache_ttl_secs)
    }

    /// `RATE_LIMIT_REPLICAS` as the divisor it is (0 is refused at startup).
    pub fn rate_limit_replicas(&self) -> std::num::NonZeroU32 {
        std::num::NonZeroU32::new(self.rate_limit_replicas).unwrap_or(std::num::NonZeroU32::MIN)
    }

    /// `TRUSTED_PROXIES`, parsed (a malformed list is refused at startup).
    pub fn trusted_proxies(&self) -> anyhow::Result<crate::edge::TrustedProxies> {
        crate::edge::TrustedProxies::parse(&self.trusted_proxies)
    }

    /// Settings for tests: the environment's servers, every other value fixed.
    /// Every test talks from 127.0.0.1, so the per-client edge limit and the
    /// host-lookup budget are off; the edge tests turn them on.
    pub fn for_tests(database_url: &str) -> anyhow::Result<Self> {
        let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULTS.redis_url.into());
        Ok(Self {
            database_url: database_url.into(),
            db_max_connections: 8,
            db_acquire_timeout_ms: DEFAULTS.db_acquire_timeout_ms,
            // Tests share two busy cores: a probe that waits longer is never
            // fooled by a slow scheduler (tests of the outage set their own).
            db_timeout_ms: 2000,
            db_statement_timeout_ms: DEFAULTS.db_statement_timeout_ms,
            redis_url: redis_url.into(),
            platform_domain: "localhost".into(),
            control_plane_addr: "127.0.0.1:0".parse()?,
            tenant_api_addr: "127.0.0.1:0".parse()?,
            tenant_cache_ttl_secs: 300,
            log_format: LogFormat::Json,
            master_key: Some(TEST_MASTER_KEY.into()),
            master_key_id: "test".into(),
            master_keys_previous: String::new(),
            jwt_issuer: DEFAULTS.jwt_issuer.into(),
            media_backend: MediaBackend::Local,
            media_local_dir: std::env::temp_dir().join("commerce-test-media"),
            media_signing_key: "test-media-signing-key-0123456789".into(),
            media_public_url: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: DEFAULTS.s3_region.into(),
            aws_access_key_id: None,
            aws_secret_access_key: None,
            aws_session_token: None,
            aws_container_credentials_full_uri: None,
            aws_container_credentials_relative_uri: None,
            aws_container_authorization_token_file: None,
            aws_container_authorization_token: None,
            aws_role_arn: None,
            aws_web_identity_token_file: None,
            aws_role_session_name: None,
            aws_endpoint_url_sts: None,
            otel_exporter_otlp_endpoint: None,
            otel_service_name: None,
            rate_limits: RateLimitMode::On,
            rate_limit_replicas: 1,
            stripe_api_base: DEFAULTS.stripe_api_base.into(),
            stripe_timeout_secs: DEFAULTS.stripe_timeout_secs,
            platform_env: PlatformEnv::Development,
            redis_timeout_ms: DEFAULTS.redis_timeout_ms,
            // Tests with a local receiver turn it on, the SSRF tests leave it off.
            webhook_allow_private_targets: false,
            trusted_proxies: String::new(),
            edge_requests_per_second: 0,
            edge_host_requests_per_second: 0,
            edge_refusal_delay_ms: 0,
            edge_host_lookups_per_second: 0,
            jwks_url: None,
            control_plane_url: None,
            control_plane_timeout_ms: DEFAULTS.control_plane_timeout_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{PlatformEnv, Settings, DEFAULTS};

    fn production() -> Settings {
        let mut settings = Settings::for_tests("postgres://postgres@127.0.0.1/unused").unwrap();
        settings.platform_env = PlatformEnv::Production;
        settings.master_key = Some("cHJvZHVjdGlvbi1tYXN0ZXIta2V5LW9mLTMyLWJ5dGU=".into());
        settings.media_signing_key = "a-real-media-signing-key-from-the-vault".into();
        settings
    }

    fn refusal(settings: &Settings) -> String {
        settings.check_production().expect_err("refused").to_string()
    }

    #[test]
    fn a_malformed_trusted_proxies_list_stops_start_up() {
        let mut settings = Settings::for_tests("postgres://postgres@127.0.0.1/unused").unwrap();
        settings.trusted_proxies = "10.0.0.0/8, ten".into();
        let refusal = format!("{:#}", settings.validate().expect_err("refused"));
        assert!(refusal.contains("TRUSTED_PROXIES"), "{refusal}");
        settings.trusted_proxies = "10.0.0.0/8, 192.168.1.7".into();
        settings.validate().unwrap();
    }

    #[test]
    fn a_database_on_this_machine_is_reached_without_tls_unless_the_url_asks() {
        use sqlx::postgres::PgSslMode;
        let mode = |url: &str| Settings::for_tests(url).unwrap().connect_options().unwrap().get_ssl_mode();
        if std::env::var_os("PGSSLMODE").is_none() {
            assert!(matches!(mode("postgres://postgres@127.0.0.1:5432/commerce"), PgSslMode::Disable));
            assert!(matches!(mode("postgres://postgres@localhost/commerce"), PgSslMode::Disable));
            assert!(matches!(mode("postgres://postgres@[::1]:5432/commerce"), PgSslMode::Disable));
            assert!(matches!(mode("postgres://postgres@db.internal:5432/commerce"), PgSslMode::Prefer));
            assert!(matches!(mode("postgres://postgres@10.0.0.7/commerce"), PgSslMode::Prefer));
        }
        assert!(matches!(mode("postgres://postgres@127.0.0.1/commerce?sslmode=require"), PgSslMode::Require));
        assert!(matches!(mode("postgres://postgres@db.internal/commerce?sslmode=verify-full"), PgSslMode::VerifyFull));
    }

    #[test]
    fn production_accepts_real_secrets() {
        production().check_production().unwrap();
    }

    #[test]
    fn production_refuses_a_missing_or_published_master_key() {
        let mut settings = production();
        settings.master_key = None;
        assert!(refusal(&settings).contains("MASTER_KEY is not set"), "{}", refusal(&settings));
        for published in
            ["ZGV2ZWxvcG1lbnQtb25seS1tYXN0ZXIta2V5LTMyYnk=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]
        {
            settings.master_key = Some(published.into());
            assert!(refusal(&settings).contains("MASTER_KEY is a development value"), "{}", refusal(&settings));
        }
    }

    #[test]
    fn production_refuses_the_default_media_signing_key() {
        let mut settings = production();
        settings.media_signing_key = DEFAULTS.media_signing_key.into();
        let message = refusal(&settings);
        assert!(message.contains("MEDIA_SIGNING_KEY") && !message.contains("MASTER_KEY"), "{message}");
    }

    #[test]
    fn development_accepts_the_development_defaults() {
        let mut settings = Settings::for_tests("postgres://postgres@127.0.0.1/unused").unwrap();
        settings.media_signing_key = DEFAULTS.media_signing_key.into();
        settings.master_key = None;
        settings.check_production().unwrap();
    }
}
