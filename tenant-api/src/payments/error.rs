use platform::problem::Problem;

/// Outcomes of a webhook delivery the sender handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing or wrong `Stripe-Signature`, a stale one, or a store without a
    /// webhook secret: Stripe retries, nothing changed.
    #[error("invalid webhook signature")]
    BadSignature,
    /// Signed, but not an event we can read.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

crate::error_problems! {
    Error,
    constraints: [],
    internal: [],
    Error::BadSignature => {
        Problem::bad_request("The Stripe-Signature header does not sign this body with this store's secret.")
    },
    Error::Malformed(detail) => Problem::bad_request(format!("Not a Stripe event: {detail}.")),
}
