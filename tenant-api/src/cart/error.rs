use platform::problem::{FieldError, Problem};

/// Outcomes of cart operations a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such cart in this store, or not this caller's.
    #[error("cart not found")]
    NotFound,
    /// No such item in the cart.
    #[error("item not found")]
    ItemNotFound,
    /// Input breaks a rule.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// More than is available.
    #[error("insufficient stock")]
    InsufficientStock {
        /// Units that can still be added in total for the line.
        available: i32,
    },
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

crate::error_problems! {
    Error,
    constraints: [],
    internal: [redis::RedisError],
    Error::NotFound => Problem::not_found("cart-not-found", "No such cart in this store."),
    Error::ItemNotFound => Problem::not_found("item-not-found", "No such item in this cart."),
    Error::Invalid(errors) => Problem::validation(errors),
    Error::InsufficientStock { available } => {
        Problem::conflict("insufficient-stock", format!("Only {available} of this item can be in the cart."))
            .with("available", available)
            .with_errors(vec![FieldError::new("quantity", format!("at most {available} are available"))])
    },
}
