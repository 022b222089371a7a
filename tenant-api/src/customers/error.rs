use axum::http::StatusCode;
use platform::problem::{FieldError, Problem};

use crate::problems::conflict_on;

/// Outcomes of customer operations a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such customer (or address) in this store.
    #[error("customer not found")]
    NotFound,
    /// Input breaks a rule.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Another customer of this store has the email.
    #[error("email taken")]
    EmailTaken,
    /// Wrong email, password or refresh token: one answer for all.
    #[error("invalid grant")]
    InvalidGrant,
    /// The reset token is unknown, used or expired.
    #[error("invalid reset token")]
    InvalidResetToken,
    /// Every password-hashing permit stayed taken for the whole wait.
    #[error("password hashing is saturated")]
    Overloaded,
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<platform::password::HashError> for Error {
    fn from(e: platform::password::HashError) -> Self {
        match e {
            platform::password::HashError::Overloaded => Self::Overloaded,
            platform::password::HashError::Failed(e) => Self::Internal(e),
        }
    }
}

crate::error_problems! {
    Error,
    constraints: ["customer_email_key" => Error::EmailTaken],
    internal: [],
    Error::NotFound => Problem::not_found("customer-not-found", "No such customer in this store."),
    Error::Invalid(errors) => Problem::validation(errors),
    Error::EmailTaken => conflict_on("email-taken", "A customer of this store uses this email.", "email", "is already registered in this store"),
    Error::InvalidGrant => {
        Problem::new(StatusCode::UNAUTHORIZED, "invalid-grant", "Unauthorized", "The credentials are not valid.")
    },
    Error::Overloaded => Problem::overloaded("Too many passwords are being checked at once; retry in a moment.", 1),
    Error::InvalidResetToken => Problem::validation(vec![FieldError::new(
        "token",
        "is not a valid password reset token (unknown, used or expired)",
    )]),
}
