//! Settings only the control plane reads (shared ones are `platform::config`).

use secrecy::SecretString;
use serde::Deserialize;

/// Control-plane settings from the environment (see `.env.example`).
#[derive(Clone, Debug, Deserialize)]
pub struct ControlSettings {
    /// Whether anyone may call `POST /v1/tenants`; platform admins always may.
    #[serde(default = "yes")]
    pub signup_enabled: bool,
    /// First platform admin, created at startup if no account has this email.
    #[serde(default)]
    pub bootstrap_admin_email: Option<String>,
    /// Its password.
    #[serde(default)]
    pub bootstrap_admin_password: Option<SecretString>,
    /// Lifetime of access tokens.
    #[serde(default = "access_ttl")]
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens.
    #[serde(default = "refresh_ttl")]
    pub refresh_token_ttl_secs: u64,
    /// OIDC issuer for platform admins (discovery at `<issuer>/.well-known/openid-configuration`).
    #[serde(default)]
    pub oidc_issuer_url: Option<String>,
    /// OIDC client id.
    #[serde(default)]
    pub oidc_client_id: Option<String>,
    /// OIDC client secret (confidential client).
    #[serde(default)]
    pub oidc_client_secret: Option<SecretString>,
    /// Where the identity provider sends the browser back: `<control plane>/v1/auth/oidc/callback`.
    #[serde(default)]
    pub oidc_redirect_url: Option<String>,
    /// Comma-separated emails allowed to become platform admins through OIDC; empty
    /// means every user of the issuer.
    #[serde(default)]
    pub oidc_allowed_emails: String,
    /// A store's public URL; `{slug}` is replaced.
    #[serde(default = "store_url_template")]
    pub store_url_template: String,
    /// Where purges write a store's export (JSON lines) before deleting it.
    #[serde(default = "export_dir")]
    pub export_dir: String,
}

fn yes() -> bool {
    true
}
fn access_ttl() -> u64 {
    900
}
fn refresh_ttl() -> u64 {
    30 * 24 * 3600
}
fn store_url_template() -> String {
    "http://{slug}.localhost:8000".into()
}
fn export_dir() -> String {
    ".dev/exports".into()
}

impl ControlSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(platform::config::Settings::figment().extract()?)
    }

    /// Settings for tests: sign-up open, no OIDC, exports under the system temp dir.
    pub fn for_tests() -> Self {
        Self {
            signup_enabled: true,
            bootstrap_admin_email: Some("admin@platform.test".into()),
            bootstrap_admin_password: Some("bootstrap-password".to_owned().into()),
            access_token_ttl_secs: access_ttl(),
            refresh_token_ttl_secs: refresh_ttl(),
            oidc_issuer_url: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_redirect_url: None,
            oidc_allowed_emails: String::new(),
            store_url_template: store_url_template(),
            export_dir: std::env::temp_dir().join("commerce-exports").to_string_lossy().into_owned(),
        }
    }
}
