//! What an `/admin` action needs and what a store's API key holds: the one
//! definition both planes use (the control plane to validate the scopes of a
//! key it issues, the data plane to check them).
//!
//! An action needs a [`Scope`]: an [`Area`] and an [`Access`], spelled
//! `<area>:read` or `<area>:write`. A key holds [`Grant`]s: a scope, every
//! scope of one area (`<area>:*`) or everything (`*`). Grants are stored as
//! those strings in `control.api_key.scopes`, so keys issued before this type
//! existed keep working. `write` does not imply `read`: a key is given both
//! (or `<area>:*`) to do both.

use std::fmt;

/// The parts of a store an API key can be scoped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Area {
    /// Products, variants, categories, collections, media, imports.
    Catalog,
    /// Stock levels.
    Inventory,
    /// Orders, fulfilment, refunds, cancellations, job records needing attention.
    Orders,
    /// The store's shoppers.
    Customers,
    /// Shipping methods, tax rates, discount codes.
    Checkout,
    /// The store's outgoing webhooks.
    Webhooks,
}

impl Area {
    /// Every area, in the order error messages list them.
    pub const ALL: [Self; 6] =
        [Self::Catalog, Self::Inventory, Self::Orders, Self::Customers, Self::Checkout, Self::Webhooks];

    /// The area's name in scopes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Inventory => "inventory",
            Self::Orders => "orders",
            Self::Customers => "customers",
            Self::Checkout => "checkout",
            Self::Webhooks => "webhooks",
        }
    }

    /// The area a name spells exactly; `None` for any other text.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|area| area.as_str() == value)
    }
}

/// Reading or changing an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `GET`s.
    Read,
    /// Everything that changes something.
    Write,
}

impl Access {
    fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// What one action needs, e.g. `catalog:write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The part of the store.
    pub area: Area,
    /// Reading or writing it.
    pub access: Access,
}

impl Scope {
    /// `<area>:read`.
    pub const fn read(area: Area) -> Self {
        Self { area, access: Access::Read }
    }

    /// `<area>:write`.
    pub const fn write(area: Area) -> Self {
        Self { area, access: Access::Write }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.area.as_str(), self.access.as_str())
    }
}

/// What an API key holds: one scope, every scope of an area, or everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grant {
    /// `*`.
    All,
    /// `<area>:*`.
    Area(Area),
    /// `<area>:read` or `<area>:write`.
    Scope(Scope),
}

impl Grant {
    /// Why a text is not a grant (a field error's detail).
    pub const INVALID: &str =
        "must be one of catalog, inventory, orders, customers, checkout, webhooks followed by :read, :write or :*, or *";

    /// Parses a grant as keys are created and stored: exact, lowercase, no spaces.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        if value == "*" {
            return Ok(Self::All);
        }
        let (area, access) = value.split_once(':').ok_or(Self::INVALID)?;
        let area = Area::parse(area).ok_or(Self::INVALID)?;
        match access {
            "*" => Ok(Self::Area(area)),
            "read" => Ok(Self::Scope(Scope::read(area))),
            "write" => Ok(Self::Scope(Scope::write(area))),
            _ => Err(Self::INVALID),
        }
    }

    /// Whether holding this grant allows what `scope` names.
    pub fn covers(self, scope: Scope) -> bool {
        match self {
            Self::All => true,
            Self::Area(area) => area == scope.area,
            Self::Scope(held) => held == scope,
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Area(area) => write!(f, "{}:*", area.as_str()),
            Self::Scope(scope) => scope.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_area_parses_with_each_access_and_prints_back() {
        for area in Area::ALL {
            assert!(Grant::INVALID.contains(area.as_str()), "the message omits {area:?}");
            for access in ["read", "write", "*"] {
                let text = format!("{}:{access}", area.as_str());
                assert_eq!(Grant::parse(&text).unwrap().to_string(), text);
            }
        }
        assert_eq!(Grant::parse("*"), Ok(Grant::All));
        assert_eq!(Grant::parse("checkout:write"), Ok(Grant::Scope(Scope::write(Area::Checkout))));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "catalog", "catalog:", "catalog:delete", "billing:read", "*:read", "Catalog:read", " *", "*:*"]
        {
            assert_eq!(Grant::parse(bad), Err(Grant::INVALID), "{bad}");
        }
    }

    #[test]
    fn grants_cover_exactly_their_reach() {
        let write = Scope::write(Area::Catalog);
        assert!(Grant::parse("catalog:write").unwrap().covers(write));
        assert!(!Grant::parse("catalog:read").unwrap().covers(write), "write is not read");
        assert!(!Grant::parse("catalog:write").unwrap().covers(Scope::read(Area::Catalog)), "read is not write");
        assert!(Grant::parse("catalog:*").unwrap().covers(write));
        assert!(!Grant::parse("orders:*").unwrap().covers(write));
        assert!(Grant::All.covers(Scope::write(Area::Webhooks)));
        assert_eq!(Scope::read(Area::Orders).to_string(), "orders:read");
    }
}
