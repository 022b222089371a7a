//! The roles a token may carry, ranked.

/// Roles a token may carry. Ordered: a check `role >= Role::Admin` admits
/// admins, owners and platform admins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A shopper of one store. Only ever in [`super::STOREFRONT_AUDIENCE`] tokens;
    /// every staff and platform path refuses it. Lowest, so no `role >= min` admits it.
    Customer,
    /// Store staff: day-to-day operations.
    Staff,
    /// Store admin: also settings, keys and staff.
    Admin,
    /// Store owner: everything, including deleting the store.
    Owner,
    /// Operates the platform; bound to no store.
    PlatformAdmin,
}

impl Role {
    /// Parses a role name as tokens and the database spell it; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "staff" => Some(Self::Staff),
            "admin" => Some(Self::Admin),
            "owner" => Some(Self::Owner),
            "platform_admin" => Some(Self::PlatformAdmin),
            "customer" => Some(Self::Customer),
            _ => None,
        }
    }

    /// The role's name in tokens and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Admin => "admin",
            Self::Owner => "owner",
            Self::PlatformAdmin => "platform_admin",
            Self::Customer => "customer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn the_customer_role_parses_and_ranks_below_every_staff_role() {
        assert_eq!(Role::parse("customer"), Some(Role::Customer));
        assert_eq!(Role::Customer.as_str(), "customer");
        assert!(Role::Customer < Role::Staff);
    }
}
