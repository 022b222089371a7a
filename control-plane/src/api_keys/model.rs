//! API-key types.

use chrono::{DateTime, Utc};
use platform::ids::TenantId;

platform::id_type!(
    /// An API key (its id, not its secret).
    ApiKeyId
);

/// The data-plane areas a key can be scoped to.
pub const AREAS: &[&str] = &["catalog", "inventory", "orders", "customers"];

/// A scope: `<area>:read`, `<area>:write`, `<area>:*` (both) or `*` (everything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    /// Parses a scope; the reason when it is not one.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        if value == "*" {
            return Ok(Self(value.to_owned()));
        }
        let valid = value
            .split_once(':')
            .is_some_and(|(area, action)| AREAS.contains(&area) && matches!(action, "read" | "write" | "*"));
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err("must be one of catalog, inventory, orders, customers followed by :read, :write or :*, or *")
        }
    }
}

impl AsRef<str> for Scope {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

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
    use super::{KeyName, Scope};

    #[test]
    fn scopes_come_from_the_fixed_list() {
        for ok in ["*", "catalog:read", "catalog:write", "inventory:*", "orders:read", "customers:write"] {
            assert!(Scope::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "catalog", "catalog:", "catalog:delete", "billing:read", "*:read", "Catalog:read", " *"] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
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
