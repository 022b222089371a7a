//! API-key types.

use chrono::{DateTime, Utc};
use platform::ids::TenantId;

platform::id_type!(
    /// An API key (its id, not its secret).
    ApiKeyId
);

/// A key's display name: 1–100 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    /// Parses a name; the reason when it is refused.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 100 || value.chars().any(char::is_control) {
            return Err("must be 1 to 100 printable characters");
        }
        Ok(Self(value.to_owned()))
    }
}

impl AsRef<str> for KeyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A stored key, without its secret.
#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    /// Display name.
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// Each a [`platform::auth::Grant`] as text, which the data plane parses
    /// with the same definition.
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Last authenticated a request (when the data plane records it).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked; it authenticates nothing since.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// What the audit log keeps of a key (never the key).
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id.to_string(),
            "name": self.name,
            "prefix": self.prefix,
            "scopes": self.scopes,
            "revoked": self.revoked_at.is_some(),
        })
    }
}

/// A key just created: the only time its secret exists outside the caller.
pub struct IssuedKey {
    pub key: ApiKey,
    /// The secret, `ck_…`.
    pub secret: String,
}

#[cfg(test)]
mod tests {
    use platform::auth::Grant;

    use super::KeyName;

    #[test]
    fn scopes_come_from_the_platforms_list_of_areas() {
        for ok in ["*", "catalog:read", "inventory:*", "orders:read", "customers:write", "checkout:*", "webhooks:write"]
        {
            assert!(Grant::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "catalog", "catalog:", "catalog:delete", "billing:read", "*:read", "Catalog:read", " *"] {
            assert!(Grant::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(KeyName::parse("  ERP sync ").unwrap().as_ref(), "ERP sync");
        assert!(KeyName::parse("  ").is_err());
        assert!(KeyName::parse(&"x".repeat(101)).is_err());
        assert!(KeyName::parse("a\nb").is_err());
    }
}
