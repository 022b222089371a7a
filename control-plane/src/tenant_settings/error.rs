//! Store-settings errors.

use platform::problem::{FieldError, Problem};

use crate::tenants::store::store_context_error;

store_context_error! {
    /// Outcomes of settings operations a client handles differently.
    pub enum Error {
        /// The merged settings break a rule.
        #[error("invalid")]
        Invalid(Vec<FieldError>),
    }
    as problems {
        Error::Invalid(errors) => Problem::validation(errors),
    }
}
