//! Custom-domain errors.

use platform::problem::{FieldError, Problem};

use super::model::Domain;
use crate::tenants::store::store_context_error;

store_context_error! {
    /// Outcomes of domain operations a client handles differently.
    pub enum Error {
        /// The store has not claimed this host.
        #[error("domain not found")]
        NotFound,
        /// Another store has verified the host.
        #[error("domain taken")]
        Taken,
        /// The TXT record is not (yet) published.
        #[error("not verified")]
        NotVerified(Domain),
        /// The DNS lookup itself failed.
        #[error("dns unavailable")]
        DnsUnavailable,
    }
    as problems {
        Error::NotFound => Problem::not_found("domain-not-found", "This store has no such domain."),
        // Never says which store: that would tell one merchant about another.
        Error::Taken => Problem::conflict("domain-taken", "This host is already in use by another store.")
            .with_errors(vec![FieldError::new("host", "is in use by another store")]),
        Error::NotVerified(domain) => Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "domain-not-verified",
            "Domain not verified",
            format!(
                "No TXT record {} with the value {} was found. Publish it at your DNS provider and \
                 verify again; DNS changes can take a while to propagate.",
                domain.txt_name(),
                domain.verification_token
            ),
        )
        .with(
            "verification",
            serde_json::json!({"type": "TXT", "name": domain.txt_name(), "value": domain.verification_token}),
        ),
        Error::DnsUnavailable => Problem::unavailable("The DNS lookup failed; try again in a moment."),
    }
}
