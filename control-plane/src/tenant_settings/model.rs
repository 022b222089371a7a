//! Store-settings types. Plain secrets live in [`SecretString`]s until sealed.

use chrono::{DateTime, Utc};
pub use platform::settings::{PaymentProvider, SmtpTls};
use secrecy::{ExposeSecret, SecretString};

/// One field of a `PUT`: left out keeps the stored value, `null` clears it, a
/// value replaces it.
#[derive(Debug)]
pub enum Change<T> {
    /// Left out.
    Keep,
    /// `null`.
    Clear,
    /// A new value.
    Set(T),
}

impl<T> Change<T> {
    /// The wire's `Option<Option<T>>` (outer: present, inner: not null).
    pub fn from_field(field: Option<Option<T>>) -> Self {
        match field {
            None => Self::Keep,
            Some(None) => Self::Clear,
            Some(Some(value)) => Self::Set(value),
        }
    }

    /// Parses a set value, keeping `Keep` and `Clear`.
    pub fn try_map<U, E>(self, parse: impl FnOnce(T) -> Result<U, E>) -> Result<Change<U>, E> {
        Ok(match self {
            Self::Keep => Change::Keep,
            Self::Clear => Change::Clear,
            Self::Set(value) => Change::Set(parse(value)?),
        })
    }

    /// The value after the change.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Clear => None,
            Self::Set(value) => Some(value),
        }
    }
}

/// A secret as given by the merchant, checked but not yet sealed.
pub struct PlainSecret(SecretString);

impl PlainSecret {
    fn parse(value: &str, prefix: &str, max: usize) -> Result<Self, &'static str> {
        if !value.starts_with(prefix) || value.len() <= prefix.len() || value.len() > max {
            return Err("has the wrong format");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces");
        }
        Ok(Self(value.to_owned().into()))
    }

    /// A Stripe secret key (`sk_…`).
    pub fn stripe_secret_key(value: &str) -> Result<Self, &'static str> {
        Self::parse(value, "sk_", 255).map_err(|_| "must be a Stripe secret key starting with sk_")
    }

    /// A Stripe webhook signing secret (`whsec_…`).
    pub fn stripe_webhook_secret(value: &str) -> Result<Self, &'static str> {
        Self::parse(value, "whsec_", 255).map_err(|_| "must be a Stripe webhook secret starting with whsec_")
    }

    /// A password or token with no format of its own: 1–1024 characters.
    pub fn opaque(value: &str) -> Result<Self, &'static str> {
        if value.is_empty() || value.chars().count() > 1024 || value.chars().any(char::is_control) {
            return Err("must be 1 to 1024 printable characters");
        }
        Ok(Self(value.to_owned().into()))
    }

    /// The plain text, for sealing.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// A Stripe Connect account id (`acct_…`).
pub fn parse_stripe_account_id(value: &str) -> Result<String, &'static str> {
    let valid = value.len() > 5
        && value.len() <= 255
        && value.starts_with("acct_")
        && value[5..].bytes().all(|b| b.is_ascii_alphanumeric());
    if valid {
        Ok(value.to_owned())
    } else {
        Err("must be a Stripe account id starting with acct_")
    }
}

/// A Stripe publishable key (`pk_test_…` or `pk_live_…`): public, shown to
/// shoppers' browsers by the checkout page.
pub fn parse_stripe_publishable_key(value: &str) -> Result<String, &'static str> {
    let rest = value.strip_prefix("pk_test_").or_else(|| value.strip_prefix("pk_live_"));
    let valid =
        value.len() <= 255 && rest.is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()));
    if valid {
        Ok(value.to_owned())
    } else {
        Err("must be a Stripe publishable key starting with pk_test_ or pk_live_")
    }
}

/// An SMTP server: a host name or an IP address.
pub fn parse_smtp_host(value: &str) -> Result<String, &'static str> {
    let host = value.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(host);
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if valid {
        Ok(host)
    } else {
        Err("must be a host name or an IP address")
    }
}

/// An SMTP port: 1–65535.
pub fn parse_port(value: u16) -> Result<u16, &'static str> {
    if value == 0 {
        Err("must be 1 to 65535")
    } else {
        Ok(value)
    }
}

/// An SMTP user name: 1–255 printable characters.
pub fn parse_username(value: &str) -> Result<String, &'static str> {
    if value.is_empty() || value.chars().count() > 255 || value.chars().any(char::is_control) {
        Err("must be 1 to 255 printable characters")
    } else {
        Ok(value.to_owned())
    }
}

/// An SMS provider account id: 1–64 letters and digits.
pub fn parse_account_sid(value: &str) -> Result<String, &'static str> {
    if (1..=64).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(value.to_owned())
    } else {
        Err("must be 1 to 64 letters and digits")
    }
}

/// An SMS sender: an E.164 number (`+4915112345678`) or an alphanumeric sender
/// id of up to 11 characters with at least one letter.
pub fn parse_sms_from(value: &str) -> Result<String, &'static str> {
    let e164 = value.strip_prefix('+').is_some_and(|digits| {
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
    });
    let sender_id = (1..=11).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && value.bytes().any(|b| b.is_ascii_alphabetic());
    if e164 || sender_id {
        Ok(value.to_owned())
    } else {
        Err("must be an E.164 number such as +4915112345678 or a sender id of up to 11 letters and digits")
    }
}

/// A secret at rest: sealed (`<key id>:<base64>`), with its last four characters.
#[derive(Clone, Debug)]
pub struct SealedSecret {
    /// AES-256-GCM under the master key.
    pub sealed: String,
    /// All that is ever shown of it.
    pub last4: String,
}

impl SealedSecret {
    /// What responses and the audit log show of an optional secret.
    pub fn summary(secret: Option<&Self>) -> serde_json::Value {
        secret.map_or(serde_json::Value::Null, |s| serde_json::json!({"last4": s.last4}))
    }
}

/// A store's payment settings as stored.
#[derive(Clone, Debug)]
pub struct PaymentSettings {
    pub provider: PaymentProvider,
    /// `sk_…`, sealed.
    pub stripe_secret_key: Option<SealedSecret>,
    /// `whsec_…`, sealed.
    pub stripe_webhook_secret: Option<SealedSecret>,
    /// `acct_…`.
    pub stripe_account_id: Option<String>,
    /// `pk_…`, for the storefront's Payment Element.
    pub stripe_publishable_key: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            provider: PaymentProvider::Test,
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            stripe_account_id: None,
            stripe_publishable_key: None,
            updated_at: None,
        }
    }
}

/// A `PUT` of payment settings.
pub struct PaymentUpdate {
    /// Provider (always given).
    pub provider: PaymentProvider,
    /// `sk_…`.
    pub stripe_secret_key: Change<PlainSecret>,
    /// `whsec_…`.
    pub stripe_webhook_secret: Change<PlainSecret>,
    /// `acct_…`.
    pub stripe_account_id: Change<String>,
    /// `pk_…`.
    pub stripe_publishable_key: Change<String>,
}

/// A store's SMTP relay as stored.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    /// Password, sealed.
    pub password: Option<SealedSecret>,
    pub tls: SmtpTls,
}

/// A store's SMS sender as stored.
#[derive(Clone, Debug)]
pub struct SmsSettings {
    pub account_sid: String,
    /// Auth token, sealed.
    pub auth_token: SealedSecret,
    pub from: String,
}

/// A store's notification settings as stored.
#[derive(Clone, Debug, Default)]
pub struct NotificationSettings {
    /// `From` of the store's email.
    pub email_from: Option<String>,
    pub smtp: Option<SmtpSettings>,
    pub sms: Option<SmsSettings>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The `smtp` object of a `PUT`.
pub struct SmtpUpdate {
    pub host: String,
    pub port: u16,
    pub username: Change<String>,
    pub password: Change<PlainSecret>,
    /// Left out: `starttls`.
    pub tls: SmtpTls,
}

/// The `sms` object of a `PUT`.
pub struct SmsUpdate {
    pub account_sid: String,
    /// Auth token (required unless one is stored).
    pub auth_token: Change<PlainSecret>,
    pub from: String,
}

/// A `PUT` of notification settings.
pub struct NotificationUpdate {
    pub email_from: Change<String>,
    pub smtp: Change<SmtpUpdate>,
    pub sms: Change<SmsUpdate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_values_need_their_prefixes() {
        assert!(PlainSecret::stripe_secret_key("sk_test_4242").is_ok());
        for bad in ["", "sk_", "pk_test_1", "sk_test 1", "whsec_1"] {
            assert!(PlainSecret::stripe_secret_key(bad).is_err(), "{bad}");
        }
        assert!(PlainSecret::stripe_webhook_secret("whsec_abc").is_ok());
        assert!(PlainSecret::stripe_webhook_secret("sk_abc").is_err());
        assert!(parse_stripe_account_id("acct_1Abc").is_ok());
        for good in ["pk_test_51Abc", "pk_live_9"] {
            assert_eq!(parse_stripe_publishable_key(good).as_deref(), Ok(good));
        }
        for bad in ["", "pk_test_", "pk_1Abc", "sk_test_1Abc", "pk_test_1 2", "pk_live_a-b"] {
            assert!(parse_stripe_publishable_key(bad).is_err(), "{bad}");
        }
        for bad in ["acct_", "acct_1 2", "act_1", "cus_1"] {
            assert!(parse_stripe_account_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sms_senders_are_numbers_or_short_ids() {
        for ok in ["+4915112345678", "+15005550006", "Shop", "ACME 24"] {
            assert!(parse_sms_from(ok).is_ok(), "{ok}");
        }
        for bad in ["", "+0123456", "+12", "4915112345678", "Twelve chars", "12345", "+49 151 1234"] {
            assert!(parse_sms_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn smtp_hosts_are_names_or_addresses() {
        assert_eq!(parse_smtp_host("SMTP.Example.com").unwrap(), "smtp.example.com");
        assert!(parse_smtp_host("10.0.0.1").is_ok());
        assert!(parse_smtp_host("::1").is_ok());
        for bad in ["", "smtp example.com", "smtp..example.com", "-smtp.example.com"] {
            assert!(parse_smtp_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_change_keeps_clears_or_sets() {
        assert_eq!(Change::<u8>::from_field(None).apply(Some(1)), Some(1));
        assert_eq!(Change::<u8>::from_field(Some(None)).apply(Some(1)), None);
        assert_eq!(Change::from_field(Some(Some(2))).apply(Some(1)), Some(2));
    }
}
