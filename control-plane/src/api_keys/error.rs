//! API-key errors.

use platform::problem::Problem;

use crate::tenants::store::store_context_error;

store_context_error! {
    /// Outcomes of API-key operations a client handles differently.
    pub enum Error {
        /// No such key in this store.
        #[error("api key not found")]
        NotFound,
    }
    as problems {
        Error::NotFound => Problem::not_found("api-key-not-found", "This store has no such API key."),
    }
}
