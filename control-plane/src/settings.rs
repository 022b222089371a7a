//! Settings only the control plane reads (shared ones are `platform::config`).

use secrecy::SecretString;
use serde::Deserialize;

/// Control-plane settings from the environment (see `.env.example`); a variable
/// left unset keeps its value in [`Default`].
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct ControlSettings {
    /// Whether anyone may call `POST /v1/tenants`; platform admins always may.
    pub signup_enabled: bool,
    /// First platform admin, created at startup if no account has this email.
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<SecretString>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// OIDC issuer for platform admins (discovery at `<issuer>/.well-known/openid-configuration`).
    pub oidc_issuer_url: Option<String>,
    pub oidc_client_id: Option<String>,
    /// For a confidential client.
    pub oidc_client_secret: Option<SecretString>,
    /// Where the identity provider sends the browser back: `<control plane>/v1/auth/oidc/callback`.
    pub oidc_redirect_url: Option<String>,
    /// Comma-separated emails allowed to become platform admins through OIDC; empty
    /// means every user of the issuer.
    pub oidc_allowed_emails: String,
    /// A store's public URL; `{slug}` is replaced.
    pub store_url_template: String,
    /// Where purges write a store's export (JSON lines) before deleting it.
    pub export_dir: String,
}

impl Default for ControlSettings {
    fn default() -> Self {
        Self {
            signup_enabled: true,
            bootstrap_admin_email: None,
            bootstrap_admin_password: None,
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            oidc_issuer_url: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_redirect_url: None,
            oidc_allowed_emails: String::new(),
            store_url_template: "http://{slug}.localhost:8000".into(),
            export_dir: ".dev/exports".into(),
        }
    }
}

impl ControlSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(platform::config::Settings::figment().extract()?)
    }

    /// Settings for tests: sign-up open, no OIDC, exports under the system temp dir.
    pub fn for_tests() -> Self {
        Self {
            bootstrap_admin_email: Some("admin@platform.test".into()),
            bootstrap_admin_password: Some("bootstrap-password".to_owned().into()),
            export_dir: std::env::temp_dir().join("commerce-exports").to_string_lossy().into_owned(),
            ..Self::default()
        }
    }
}
