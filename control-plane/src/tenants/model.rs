//! Tenant registry types.

use platform::{ids::TenantId, money::Currency, tenancy::TenantStatus};

/// Words that can never be a store's slug: they name the platform's own hosts.
pub const RESERVED_SLUGS: &[&str] = &[
    "www",
    "api",
    "admin",
    "app",
    "static",
    "assets",
    "mail",
    "status",
    "control",
    "dashboard",
    "docs",
    "help",
    "support",
    "blog",
    "cdn",
    "media",
    "img",
    "images",
    "auth",
    "login",
    "account",
    "accounts",
    "billing",
    "internal",
    "platform",
    "smtp",
    "imap",
    "pop",
    "ftp",
    "ns1",
    "ns2",
    "dev",
    "staging",
    "test",
    "localhost",
    "root",
    "system",
];

/// A store's sub-domain label: 3–63 of `a-z`, `0-9` and inner `-`, not reserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug; the reason when it is refused.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let bytes = value.as_bytes();
        if !(3..=63).contains(&bytes.len()) {
            return Err("must be 3 to 63 characters");
        }
        if !bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            || value.starts_with('-')
            || value.ends_with('-')
        {
            return Err("may hold only a-z, 0-9 and inner dashes");
        }
        if RESERVED_SLUGS.contains(&value) {
            return Err("is reserved");
        }
        Ok(Self(value.to_owned()))
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A plan's id (`starter`, …). Plans are rows of `control.plan`, so any name
/// makes an id and the registry tells whether it names a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanId(String);

impl PlanId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
}

impl From<&str> for PlanId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl AsRef<str> for PlanId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A store to provision.
#[derive(Clone, Debug)]
pub struct NewTenant {
    /// Sub-domain label.
    pub slug: Slug,
    /// Display name.
    pub name: String,
    pub plan: PlanId,
    pub currency: Currency,
    pub locale: Locale,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: TimeZone,
}

impl NewTenant {
    /// A store with the platform's default locale and time zone.
    pub fn new(slug: Slug, name: &str, plan: impl Into<PlanId>, currency: Currency) -> Self {
        Self {
            slug,
            name: name.to_owned(),
            plan: plan.into(),
            currency,
            locale: Locale::default(),
            timezone: TimeZone::default(),
        }
    }
}

/// A registry entry.
#[derive(Clone, Debug)]
pub struct TenantRecord {
    pub id: TenantId,
    pub slug: String,
    /// Display name.
    pub name: String,
    pub status: TenantStatus,
    pub plan: PlanId,
    pub currency: Currency,
    /// Cell holding its data.
    pub cell_id: String,
    pub locale: String,
    pub timezone: String,
    /// Logo, colours… as the merchant set them.
    pub branding: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A string newtype whose value passed `$valid` at parse, with the platform's
/// default for a store that names none.
macro_rules! checked_text {
    ($(#[$doc:meta])* $name:ident, default $default:literal, refused $reason:literal, $valid:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Parses a value; the reason when it is refused.
            pub fn parse(value: &str) -> Result<Self, &'static str> {
                let valid: fn(&str) -> bool = $valid;
                if valid(value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err($reason)
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self($default.into())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

checked_text! {
    /// A BCP 47 locale such as `en` or `en-US` (default `en-US`).
    Locale, default "en-US", refused "must be a locale such as en or en-US",
    |value| {
        let mut parts = value.split('-');
        let lang = parts.next().unwrap_or_default();
        (2..=3).contains(&lang.len())
            && lang.bytes().all(|b| b.is_ascii_lowercase())
            && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    }
}

checked_text! {
    /// An IANA time zone name, checked for shape only (`UTC`, `Europe/Berlin`,
    /// `America/Argentina/Salta`; default `UTC`).
    TimeZone, default "UTC", refused "must be an IANA time zone such as Europe/Berlin",
    |value| {
        !value.is_empty()
            && value.len() <= 64
            && value.split('/').all(|p| {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::{Locale, Slug, TimeZone};

    #[test]
    fn locales_and_time_zones_are_checked_for_shape() {
        for ok in ["en", "en-US", "zh-Hant-TW"] {
            assert!(Locale::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "EN", "e", "en_US", "en-"] {
            assert!(Locale::parse(bad).is_err(), "{bad}");
        }
        for ok in ["UTC", "Europe/Berlin", "America/Argentina/Salta", "Etc/GMT+1"] {
            assert!(TimeZone::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Europe//Berlin", "Europe/Ber lin", &"A".repeat(65)] {
            assert!(TimeZone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs_follow_the_contract() {
        for ok in ["abc", "my-shop", "a1b2", &"a".repeat(63)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "-abc", "abc-", "ABC", "a_b", "www", "api", "admin", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
