//! Credentials as both services parse them at the edge: an email address and a
//! password that meets the policy. Hashing is `crate::password`.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_their_local_part_and_lower_case_the_domain() {
        assert_eq!(Email::parse(" Ann@Example.COM ").unwrap().as_ref(), "Ann@example.com");
        for bad in ["", "ann", "@x.com", "ann@", "ann@x", "a n@x.com", "ann@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_follow_the_length_policy_and_never_print() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(format!("{:?}", Password::parse("secret-password").unwrap()), "Password(..)");
    }
}
