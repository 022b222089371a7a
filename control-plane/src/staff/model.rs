//! Staff types.

use platform::auth::Role;

/// The role of a member added through the staff API: `admin` or `staff`.
/// Owners are made by opening a store, never added.
pub fn parse_role(value: &str) -> Result<Role, &'static str> {
    match value {
        "admin" => Ok(Role::Admin),
        "staff" => Ok(Role::Staff),
        _ => Err("must be admin or staff"),
    }
}

#[cfg(test)]
mod tests {
    use platform::auth::Role;

    #[test]
    fn only_admin_and_staff_can_be_added() {
        assert_eq!(super::parse_role("admin"), Ok(Role::Admin));
        assert_eq!(super::parse_role("staff"), Ok(Role::Staff));
        for bad in ["owner", "platform_admin", "Admin", ""] {
            assert!(super::parse_role(bad).is_err(), "{bad}");
        }
    }
}
