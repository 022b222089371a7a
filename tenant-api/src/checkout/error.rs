use platform::problem::{FieldError, Problem};

use crate::problems::{conflict_on, taken};

/// Outcomes of checkout options a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such option in this store.
    #[error("checkout option not found")]
    NotFound,
    /// Input breaks a rule.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// A rate for this country and region exists.
    #[error("tax rate exists")]
    TaxRateExists,
    /// The code exists.
    #[error("code taken")]
    CodeTaken,
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

crate::error_problems! {
    Error,
    constraints: ["tax_rate_region_key" => Error::TaxRateExists, "discount_code_code_key" => Error::CodeTaken],
    internal: [],
    Error::NotFound => Problem::not_found("not-found", "No such item in this store."),
    Error::Invalid(errors) => Problem::validation(errors),
    Error::TaxRateExists => conflict_on(
        "tax-rate-exists",
        "This store has a rate for this country and region.",
        "region",
        "already has a rate",
    ),
    Error::CodeTaken => taken("code-taken", "This store has a discount code with this code.", "code"),
}
