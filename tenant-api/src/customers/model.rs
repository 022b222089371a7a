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
platform::id_type!(
    /// The refresh tokens issued from one sign-in: a reused one revokes them all.
    RefreshFamilyId
);

pub use platform::credentials::{Email, Password};

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
    pub id: CustomerId,
    /// Unique in the store ignoring case.
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// When they registered.
    pub created_at: DateTime<Utc>,
}

/// A validated registration.
#[derive(Debug)]
pub struct NewCustomer {
    pub email: Email,
    pub password: Password,
    pub first_name: Option<String>,
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
    pub city: String,
    /// State or province.
    pub region: Option<String>,
    pub postal_code: String,
    pub country: Country,
    pub phone: Option<String>,
}

/// A saved address.
#[derive(Clone, Debug)]
pub struct SavedAddress {
    pub id: AddressId,
    pub address: Address,
    /// Used by default at checkout.
    pub is_default: bool,
}

/// An access token with its refresh token.
#[derive(Clone, Debug)]
pub struct TokenPair {
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
