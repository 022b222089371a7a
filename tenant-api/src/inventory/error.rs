use platform::problem::{FieldError, Problem};

use crate::problems::conflict_on;

/// Outcomes of inventory operations that a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such variant in this store.
    #[error("variant not found")]
    VariantNotFound,
    /// `on_hand` breaks a rule; the message says which.
    #[error("invalid input")]
    InvalidOnHand(&'static str),
    /// Setting on_hand below what is reserved would oversell.
    #[error("below reserved")]
    BelowReserved,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        match error.as_database_error().and_then(|e| e.constraint()) {
            Some("inventory_level_not_oversold") => Error::BelowReserved,
            _ => Error::Internal(error.into()),
        }
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        match error {
            Error::VariantNotFound => Problem::not_found("variant-not-found", "No such variant in this store."),
            Error::InvalidOnHand(message) => Problem::validation(vec![FieldError::new("on_hand", message)]),
            Error::BelowReserved => conflict_on(
                "below-reserved",
                "on_hand cannot drop below the units reserved by checkouts.",
                "on_hand",
                "is below the reserved quantity",
            ),
            Error::Internal(cause) => Problem::internal(cause),
        }
    }
}
