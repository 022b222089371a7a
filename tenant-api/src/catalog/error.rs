use platform::problem::{FieldError, Problem};

use crate::problems::taken;

/// Outcomes of catalog operations that a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such product in this store (or not visible to this caller).
    #[error("product not found")]
    ProductNotFound,
    /// No such variant of that product in this store.
    #[error("variant not found")]
    VariantNotFound,
    /// No such category in this store.
    #[error("category not found")]
    CategoryNotFound,
    /// No such collection in this store.
    #[error("collection not found")]
    CollectionNotFound,
    /// No such media object of that product in this store.
    #[error("media not found")]
    MediaNotFound,
    /// Input breaks a rule; each field at fault is named.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Another product of this store already uses the handle.
    #[error("handle taken")]
    HandleTaken,
    /// Another variant of this store already uses the SKU.
    #[error("sku taken")]
    SkuTaken,
    /// Another category of this store already uses the handle.
    #[error("category handle taken")]
    CategoryHandleTaken,
    /// Another collection of this store already uses the handle.
    #[error("collection handle taken")]
    CollectionHandleTaken,
    /// A category id that is not one of this store's categories.
    #[error("unknown category")]
    UnknownCategory(&'static str),
    /// A product id that is not one of this store's products.
    #[error("unknown product")]
    UnknownProduct(&'static str),
    /// The category still has children.
    #[error("category has children")]
    CategoryHasChildren,
    /// The store's plan allows no more products.
    #[error("product quota exceeded")]
    QuotaExceeded {
        /// Products the plan allows.
        max_products: u32,
    },
    /// A product keeps at least one variant.
    #[error("last variant")]
    LastVariant,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `Result` of catalog operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        // Map constraint violations by name, never by message. Every unique index
        // leads with tenant_id, so a violation is always about this store's own rows.
        match error.as_database_error().and_then(|e| e.constraint()) {
            Some("product_handle_key") => Error::HandleTaken,
            Some("product_variant_sku_key") => Error::SkuTaken,
            Some("category_handle_key") => Error::CategoryHandleTaken,
            Some("collection_handle_key") => Error::CollectionHandleTaken,
            Some("product_category_category_fkey") => Error::UnknownCategory("category_ids"),
            Some("category_parent_fkey") => Error::UnknownCategory("parent_id"),
            Some("collection_product_product_fkey") => Error::UnknownProduct("product_ids"),
            _ => Error::Internal(error.into()),
        }
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::ProductNotFound => Problem::not_found("product-not-found", "No such product in this store."),
            Error::VariantNotFound => Problem::not_found("variant-not-found", "No such variant in this store."),
            Error::CategoryNotFound => Problem::not_found("category-not-found", "No such category in this store."),
            Error::CollectionNotFound => {
                Problem::not_found("collection-not-found", "No such collection in this store.")
            }
            Error::MediaNotFound => Problem::not_found("media-not-found", "No such media in this store."),
            Error::Invalid(errors) => Problem::validation(errors),
            Error::HandleTaken => taken("handle-taken", "Another product of this store uses this handle.", "handle"),
            Error::SkuTaken => taken("sku-taken", "Another variant of this store uses this SKU.", "variants[].sku"),
            Error::CategoryHandleTaken => {
                taken("handle-taken", "Another category of this store uses this handle.", "handle")
            }
            Error::CollectionHandleTaken => {
                taken("handle-taken", "Another collection of this store uses this handle.", "handle")
            }
            Error::UnknownCategory(field) => {
                Problem::validation(vec![FieldError::new(field, "names no category of this store")])
            }
            Error::UnknownProduct(field) => {
                Problem::validation(vec![FieldError::new(field, "names no product of this store")])
            }
            Error::CategoryHasChildren => Problem::conflict(
                "category-has-children",
                "Move or delete this category's children before deleting it.",
            ),
            Error::QuotaExceeded { max_products } => Problem::conflict(
                "quota-exceeded",
                format!("The store's plan allows {max_products} products; upgrade the plan or delete some first."),
            )
            .with("limit", max_products),
            Error::LastVariant => {
                Problem::conflict("last-variant", "A product keeps at least one variant; delete the product instead.")
            }
            Error::Internal(cause) => Problem::internal(cause),
        }
    }
}
