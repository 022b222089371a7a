//! Catalog domain types. Not wire types: `routes.rs` maps them.

use chrono::{DateTime, Utc};
use platform::money::Money;

platform::id_type!(
    /// A product of one store.
    ProductId
);
platform::id_type!(
    /// A purchasable variant of a product.
    VariantId
);

/// Whether shoppers see a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductStatus {
    /// Being prepared; hidden from shoppers.
    Draft,
    /// On sale.
    Active,
    /// Retired; hidden from shoppers, kept for order history.
    Archived,
}

impl ProductStatus {
    /// Parses the stored or requested spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }
}

/// A URL-safe, store-unique product name: lower-case letters, digits, inner dashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle(String);

impl Handle {
    /// Parses a handle; the reason when it is not one.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let ok_chars = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if value.is_empty() || value.len() > 200 {
            Err("must be 1 to 200 characters")
        } else if !ok_chars || value.starts_with('-') || value.ends_with('-') {
            Err("may hold only a-z, 0-9 and inner dashes")
        } else {
            Ok(Self(value.to_owned()))
        }
    }

    /// Derives a handle from a title: "Blue Shirt (XL)" → "blue-shirt-xl".
    pub fn from_title(title: &str) -> Option<Self> {
        let mut handle = String::with_capacity(title.len());
        for c in title.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                handle.push(c);
            } else if !handle.is_empty() && !handle.ends_with('-') {
                handle.push('-');
            }
        }
        let handle = handle.trim_end_matches('-');
        Self::parse(handle[..handle.len().min(200)].trim_end_matches('-')).ok()
    }
}

impl AsRef<str> for Handle {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A variant as shoppers and staff see it.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Its id.
    pub id: VariantId,
    /// Stock keeping unit, unique in the store.
    pub sku: String,
    /// Name of the option combination ("Large / Blue").
    pub title: String,
    /// Unit price.
    pub price: Money,
}

/// A product with its variants.
#[derive(Clone, Debug)]
pub struct Product {
    /// Its id.
    pub id: ProductId,
    /// Store-unique URL name.
    pub handle: String,
    /// Display title.
    pub title: String,
    /// Long description.
    pub description: Option<String>,
    /// Visibility.
    pub status: ProductStatus,
    /// Free-form attributes (material, brand…), used for filters.
    pub attributes: serde_json::Value,
    /// Variants, in display order.
    pub variants: Vec<Variant>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A validated variant to create.
#[derive(Clone, Debug)]
pub struct NewVariant {
    /// SKU.
    pub sku: String,
    /// Title; "Default" when none is given.
    pub title: String,
    /// Unit price; its currency must be the store's.
    pub price: Money,
    /// Initial stock.
    pub stock: i32,
}

/// A validated product to create.
#[derive(Clone, Debug)]
pub struct NewProduct {
    /// Title.
    pub title: String,
    /// Handle; derived from the title when none is given.
    pub handle: Handle,
    /// Description.
    pub description: Option<String>,
    /// Status.
    pub status: ProductStatus,
    /// Variants, at least one.
    pub variants: Vec<NewVariant>,
}

/// Where a storefront list starts and how long it is.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    /// Items per page, 1–100.
    pub limit: i64,
    /// Continue after this product (exclusive).
    pub after: Option<ProductId>,
}

#[cfg(test)]
mod tests {
    use super::Handle;

    #[test]
    fn handles_derive_from_titles() {
        assert_eq!(Handle::from_title("Blue Shirt (XL)").unwrap().as_ref(), "blue-shirt-xl");
        assert_eq!(Handle::from_title("  Café — Noir!! ").unwrap().as_ref(), "caf-noir");
        assert!(Handle::from_title("!!!").is_none());
    }

    #[test]
    fn handles_refuse_upper_case_and_edge_dashes() {
        for bad in ["", "A", "-a", "a-", "a b", "a_b"] {
            assert!(Handle::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Handle::parse("a-1").is_ok());
    }
}
