//! Custom-domain types.

use chrono::{DateTime, Utc};
use platform::ids::TenantId;

/// The label under which a store publishes its verification token.
pub const TXT_LABEL: &str = "_commerce-verification";

/// A custom host a store may claim: a lower-case DNS name of at least two
/// labels, at most 253 characters, not an IP address and not under the
/// platform's own domain (those hosts are stores' slugs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host(String);

impl Host {
    /// Parses a host; the reason when it is refused.
    pub fn parse(value: &str, platform_domain: &str) -> Result<Self, &'static str> {
        let value = value.trim();
        let value = value.strip_suffix('.').unwrap_or(value);
        if !value.is_ascii() {
            return Err("must be an ASCII host name (use punycode for international names)");
        }
        let host = value.to_ascii_lowercase();
        if host.is_empty() || host.len() > 253 {
            return Err("must be a host name of at most 253 characters");
        }
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() < 2 {
            return Err("must be a domain name with at least one dot, such as shop.example.com");
        }
        let valid_label = |l: &&str| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !labels.iter().all(valid_label) {
            return Err("must be a host name: labels of 1 to 63 letters, digits and inner dashes");
        }
        let tld = labels[labels.len() - 1];
        if tld.len() < 2 || tld.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a domain name, not an IP address");
        }
        let platform = platform_domain.trim_end_matches('.').to_ascii_lowercase();
        if host == platform || host.ends_with(&format!(".{platform}")) {
            return Err("must not be under the platform's domain; stores get those hosts from their slug");
        }
        Ok(Self(host))
    }
}

impl AsRef<str> for Host {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A store's claim on a host.
#[derive(Clone, Debug)]
pub struct Domain {
    pub tenant_id: TenantId,
    /// The host, lower-case.
    pub host: String,
    /// What the TXT record must hold.
    pub verification_token: String,
    /// When the store proved control of the host's DNS.
    pub verified_at: Option<DateTime<Utc>>,
    /// When the store claimed it.
    pub created_at: DateTime<Utc>,
}

impl Domain {
    /// The name of the TXT record to publish.
    pub fn txt_name(&self) -> String {
        format!("{TXT_LABEL}.{}", self.host)
    }

    /// What the audit log keeps of a claim (not the token).
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "host": self.host,
            "verified": self.verified_at.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Host;

    #[test]
    fn hosts_are_lower_cased_and_lose_a_trailing_dot() {
        assert_eq!(Host::parse(" Shop.Example.COM. ", "localhost").unwrap().as_ref(), "shop.example.com");
        assert_eq!(Host::parse("a.io", "localhost").unwrap().as_ref(), "a.io");
    }

    #[test]
    fn names_that_are_not_custom_hosts_are_refused() {
        let long = format!("{}.com", "a".repeat(250));
        for bad in [
            "",
            "localhost",
            "example",
            "shop..example.com",
            "-shop.example.com",
            "shop-.example.com",
            "sh op.example.com",
            "shop_1.example.com",
            "127.0.0.1",
            "shop.example.c",
            "bücher.example.com",
            "https://shop.example.com",
            &long,
        ] {
            assert!(Host::parse(bad, "localhost").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_under_the_platform_domain_are_refused() {
        for bad in ["shop.example.com", "a.b.shop.example.com", "SHOP.example.com."] {
            assert!(Host::parse(bad, "example.com").is_err(), "{bad}");
        }
        assert!(Host::parse("myexample.com", "example.com").is_ok());
    }
}
