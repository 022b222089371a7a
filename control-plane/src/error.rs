//! How a context declares its `Error`: the outcomes a client handles
//! differently, each with the problem it answers with, plus `Internal`
//! (database errors included), which every context has and which answers 500
//! without its text. [`context_error!`] writes the enum, the context's
//! `Result` alias and the conversion to a problem.

/// Declares a context's `Error` (see the module); arms map each own outcome
/// to its problem.
macro_rules! context_error {
    (
        $(#[$meta:meta])*
        pub enum Error { $($variants:tt)* }
        as problems { $($arms:tt)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        pub enum Error {
            $($variants)*
            #[error(transparent)]
            Internal(#[from] anyhow::Error),
        }

        pub type Result<T, E = Error> = std::result::Result<T, E>;

        impl From<sqlx::Error> for Error {
            fn from(e: sqlx::Error) -> Self {
                Self::Internal(e.into())
            }
        }

        impl From<Error> for platform::problem::Problem {
            fn from(error: Error) -> Self {
                match error {
                    $($arms)*
                    Error::Internal(e) => platform::problem::Problem::internal(e),
                }
            }
        }
    };
}
pub(crate) use context_error;
