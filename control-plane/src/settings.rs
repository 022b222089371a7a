//! Settings only the control plane reads (shared ones are `platform::config`).

use secrecy::{ExposeSecret, SecretString};
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
    /// `CUSTOMER_ACCESS_TOKEN_TTL_SECS`, the data plane's setting read here too:
    /// how long a rotated storefront key keeps verifying (plus a margin).
    pub customer_access_token_ttl_secs: u64,
    /// `SIGNING_KEY_ROTATE_DAYS`: the schedule rotates an audience's signing
    /// key once it is this old (default 30; 0 turns the schedule off).
    pub signing_key_rotate_days: u64,
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
    /// `PASSWORD_HASH_PERMITS`: argon2 hashes or verifications running at once
    /// (each holds 19 MiB); unset means two per core, at least 2.
    pub password_hash_permits: Option<usize>,
    /// `PASSWORD_HASH_WAIT_MS`: how long a request waits for a permit before
    /// it gets a `503 overloaded` problem with `Retry-After: 1`.
    pub password_hash_wait_ms: u64,
    /// `EDGE_AUTH_PER_MINUTE`: requests per minute one client address may
    /// send to sign-in (`POST /v1/auth/token`, OIDC's start and callback) and
    /// sign-up (`POST /v1/tenants`), all at once at most; 0 is off.
    pub edge_auth_per_minute: u32,
}

impl Default for ControlSettings {
    fn default() -> Self {
        Self {
            signup_enabled: true,
            bootstrap_admin_email: None,
            bootstrap_admin_password: None,
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            customer_access_token_ttl_secs: 900,
            signing_key_rotate_days: 30,
            oidc_issuer_url: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_redirect_url: None,
            oidc_allowed_emails: String::new(),
            store_url_template: "http://{slug}.localhost:8000".into(),
            export_dir: ".dev/exports".into(),
            password_hash_permits: None,
            password_hash_wait_ms: 2000,
            edge_auth_per_minute: 10,
        }
    }
}

impl ControlSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(platform::config::Settings::figment().extract()?)
    }

    /// With `PLATFORM_ENV=production`, refuses a bootstrap admin whose password
    /// is missing (the email set without it) or published in this repository.
    /// No bootstrap email at all is fine: the first admin exists already.
    pub fn check_production(&self, env: platform::config::PlatformEnv) -> anyhow::Result<()> {
        if env != platform::config::PlatformEnv::Production || self.bootstrap_admin_email.is_none() {
            return Ok(());
        }
        match &self.bootstrap_admin_password {
            None => anyhow::bail!(
                "PLATFORM_ENV=production refuses development secrets: BOOTSTRAP_ADMIN_EMAIL is set but \
                 BOOTSTRAP_ADMIN_PASSWORD is not"
            ),
            Some(password) if platform::config::PUBLIC_PASSWORDS.contains(&password.expose_secret().trim()) => {
                anyhow::bail!(
                    "PLATFORM_ENV=production refuses development secrets: BOOTSTRAP_ADMIN_PASSWORD is a \
                     development value published in this repository"
                )
            }
            Some(_) => Ok(()),
        }
    }

    /// The bound on concurrent password hashing these settings describe.
    pub fn hasher(&self) -> platform::password::Hasher {
        platform::password::Hasher::new(
            self.password_hash_permits.unwrap_or_else(platform::password::Hasher::default_permits),
            std::time::Duration::from_millis(self.password_hash_wait_ms),
        )
    }

    /// Settings for tests: sign-up open, no OIDC, exports under the system
    /// temp dir, and no per-client limit on sign-in (every test talks from
    /// 127.0.0.1; the edge tests turn it on).
    pub fn for_tests() -> Self {
        Self {
            edge_auth_per_minute: 0,
            bootstrap_admin_email: Some("admin@platform.test".into()),
            bootstrap_admin_password: Some("bootstrap-password".to_owned().into()),
            export_dir: std::env::temp_dir().join("commerce-exports").to_string_lossy().into_owned(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use platform::config::PlatformEnv::{Development, Production};

    use super::ControlSettings;

    #[test]
    fn production_refuses_a_missing_or_published_bootstrap_password() {
        let mut settings = ControlSettings::for_tests();
        let refusal = settings.check_production(Production).expect_err("published password").to_string();
        assert!(refusal.contains("BOOTSTRAP_ADMIN_PASSWORD is a development value"), "{refusal}");
        settings.bootstrap_admin_password = None;
        let refusal = settings.check_production(Production).expect_err("missing password").to_string();
        assert!(refusal.contains("BOOTSTRAP_ADMIN_PASSWORD is not"), "{refusal}");
    }

    #[test]
    fn production_accepts_a_real_bootstrap_password_or_none_at_all() {
        let mut settings = ControlSettings::for_tests();
        settings.bootstrap_admin_password = Some("a long password from the vault".to_owned().into());
        settings.check_production(Production).unwrap();
        settings.bootstrap_admin_email = None;
        settings.bootstrap_admin_password = None;
        settings.check_production(Production).unwrap();
    }

    #[test]
    fn development_accepts_the_published_bootstrap_password() {
        ControlSettings::for_tests().check_production(Development).unwrap();
    }
}
