//! Staff errors.

use platform::problem::{FieldError, Problem};

use crate::{identity::service as identity, tenants::store::store_context_error};

store_context_error! {
    /// Outcomes of staff operations a client handles differently.
    pub enum Error {
        /// No such member of this store.
        #[error("member not found")]
        MemberNotFound,
        /// The caller's role is too low for this member's role.
        #[error("forbidden: {0}")]
        Forbidden(&'static str),
        /// The email belongs to an account and the password is not its password.
        #[error("account exists")]
        AccountExists,
        /// The account is a member already.
        #[error("already a member")]
        AlreadyMember,
        /// The plan's seats are all taken.
        #[error("quota exceeded")]
        QuotaExceeded { max_staff: u32 },
        /// Removing this member would leave the store without an owner.
        #[error("last owner")]
        LastOwner,
        /// Password hashing is saturated.
        #[error("overloaded")]
        Overloaded,
    }
    as problems {
        Error::MemberNotFound => Problem::not_found("member-not-found", "This store has no such member."),
        Error::Forbidden(why) => Problem::forbidden(why),
        Error::AccountExists => Problem::conflict(
            "account-exists",
            "An account with this email exists; give its password to add it to the store.",
        )
        .with_errors(vec![FieldError::new("email", "belongs to an existing account")]),
        Error::AlreadyMember => {
            Problem::conflict("member-exists", "This account is already a member of the store.")
                .with_errors(vec![FieldError::new("email", "is already a member")])
        }
        Error::QuotaExceeded { max_staff } => Problem::conflict(
            "quota-exceeded",
            format!("The store's plan allows {max_staff} members; upgrade the plan or remove a member first."),
        )
        .with("limit", max_staff),
        Error::LastOwner => Problem::conflict("last-owner", "A store keeps at least one owner."),
        Error::Overloaded => identity::overloaded(),
    }
}

impl From<identity::Error> for Error {
    fn from(e: identity::Error) -> Self {
        match e {
            identity::Error::InvalidGrant => Self::AccountExists,
            identity::Error::Overloaded => Self::Overloaded,
            other => Self::Internal(anyhow::anyhow!(other)),
        }
    }
}
