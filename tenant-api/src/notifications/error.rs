use platform::problem::{FieldError, Problem};

/// Outcomes of notifications and webhooks a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such webhook or delivery in this store.
    #[error("not found")]
    NotFound,
    /// Input breaks a rule (an unknown event, a URL refused).
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Only a dead letter can be replayed.
    #[error("not a dead letter")]
    NotDead,
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

crate::error_problems! {
    Error,
    constraints: [],
    internal: [],
    Error::NotFound => Problem::not_found("not-found", "No such item in this store."),
    Error::Invalid(errors) => Problem::validation(errors),
    Error::NotDead => Problem::conflict("not-dead-letter", "Only a dead letter (status dead) can be replayed."),
}
