use platform::problem::{FieldError, Problem};

/// Outcomes of catalog operations that a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such product in this store (or not visible to this caller).
    #[error("product not found")]
    ProductNotFound,
    /// Input breaks a rule; each field at fault is named.
    #[error("invalid product")]
    Invalid(Vec<FieldError>),
    /// Another product of this store already uses the handle.
    #[error("handle taken")]
    HandleTaken,
    /// Another variant of this store already uses the SKU.
    #[error("sku taken")]
    SkuTaken,
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        // Map unique violations by constraint name, never by message.
        match error.as_database_error().and_then(|e| e.constraint()) {
            Some("product_handle_key") => Error::HandleTaken,
            Some("product_variant_sku_key") => Error::SkuTaken,
            _ => Error::Internal(error.into()),
        }
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::ProductNotFound => Problem::not_found("product-not-found", "No such product in this store."),
            Error::Invalid(errors) => Problem::validation(errors),
            Error::HandleTaken => Problem::conflict("handle-taken", "Another product of this store uses this handle.")
                .with_errors(vec![FieldError::new("handle", "is already used in this store")]),
            Error::SkuTaken => Problem::conflict("sku-taken", "Another variant of this store uses this SKU.")
                .with_errors(vec![FieldError::new("variants[].sku", "is already used in this store")]),
            Error::Internal(cause) => Problem::internal(cause),
        }
    }
}
