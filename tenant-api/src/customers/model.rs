//! Customer domain types.

use chrono::{DateTime, Utc};

use crate::checkout::model::Country;

platform::id_type!(
    /// A shopper account of one store.
    CustomerId
);
platform::id_type!(
    /// A saved address of a customer.
    AddressId
);

/// An email address, trimmed, with a lower-cased domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an address; the reason when it is not one.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let value = value.trim();
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err("must be an email address");
        };
        let valid = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && value.len() <= 254
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err("must be an email address");
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy (8–128 characters). Never logged.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks the policy.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        match value.chars().count() {
            0..=7 => Err("must be at least 8 characters"),
            8..=128 => Ok(Self(value.to_owned())),
            _ => Err("must be at most 128 characters"),
        }
    }

    /// The plain text, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A person's name part: trimmed, at most 100 characters, absent when blank.
pub fn name_part(value: Option<&str>) -> Result<Option<String>, &'static str> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() <= 100 => Ok(Some(v.to_owned())),
        Some(_) => Err("must be at most 100 characters"),
    }
}

/// A customer as the store sees it.
#[derive(Clone, Debug)]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// Email, unique in the store ignoring case.
    pub email: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Registered.
    pub created_at: DateTime<Utc>,
}

/// A validated registration.
#[derive(Debug)]
pub struct NewCustomer {
    /// Email.
    pub email: Email,
    /// Password.
    pub password: Password,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
}

/// A postal address.
#[derive(Clone, Debug)]
pub struct Address {
    /// Recipient.
    pub name: String,
    /// Street.
    pub line1: String,
    /// More street.
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State or province.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: Country,
    /// Phone.
    pub phone: Option<String>,
}

/// A saved address.
#[derive(Clone, Debug)]
pub struct SavedAddress {
    /// Id.
    pub id: AddressId,
    /// The address.
    pub address: Address,
    /// Used by default at checkout.
    pub is_default: bool,
}

/// An access token with its refresh token.
#[derive(Clone, Debug)]
pub struct TokenPair {
    /// The customer.
    pub customer_id: CustomerId,
    /// Short-lived JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Opaque, single-use.
    pub refresh_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_their_local_part_and_lower_case_the_domain() {
        assert_eq!(Email::parse(" Ann@Example.COM ").unwrap().as_ref(), "Ann@example.com");
        for bad in ["", "ann", "@x.com", "ann@", "ann@x", "a n@x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_follow_the_length_policy_and_never_print() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(format!("{:?}", Password::parse("long enough").unwrap()), "Password(..)");
    }
}
