//! What every context's `enum Error` shares on its way to a [`Problem`]
//! (RFC 9457): written once here, so a context lists only what its own
//! outcomes become.
//!
//! [`Problem`]: platform::problem::Problem

use platform::problem::{FieldError, Problem};

/// A 409 caused by one field of the request (a taken handle, email or code):
/// [`Problem::conflict`] with that field's error, so a form can show it in place.
pub(crate) fn conflict_on(
    code: &'static str,
    detail: &'static str,
    field: &'static str,
    message: &'static str,
) -> Problem {
    Problem::conflict(code, detail).with_errors(vec![FieldError::new(field, message)])
}

/// [`conflict_on`] a field whose value another row of the store already has.
pub(crate) fn taken(code: &'static str, detail: &'static str, field: &'static str) -> Problem {
    conflict_on(code, detail, field, "is already used in this store")
}

/// Implements a context's error plumbing for `$error`, an enum with an
/// `Internal(anyhow::Error)` variant:
///
/// - `From<sqlx::Error>`: a violated constraint named under `constraints` (by
///   name, never by message) becomes its variant, anything else `Internal`;
/// - `From<T>` for every type under `internal` (e.g. `redis::RedisError`):
///   `Internal`;
/// - `From<$error> for Problem`: the arms given, and `Internal` as a 500 that
///   carries no internal text.
///
/// ```ignore
/// crate::error_problems! {
///     Error,
///     constraints: ["customer_email_key" => Error::EmailTaken],
///     internal: [],
///     Error::NotFound => Problem::not_found("customer-not-found", "No such customer in this store."),
/// }
/// ```
#[macro_export]
macro_rules! error_problems {
    (
        $error:ident,
        constraints: [$($constraint:literal => $variant:expr),* $(,)?],
        internal: [$($other:ty),* $(,)?],
        $($pattern:pat => $problem:expr),+ $(,)?
    ) => {
        impl From<sqlx::Error> for $error {
            fn from(error: sqlx::Error) -> Self {
                match error.as_database_error().and_then(|e| e.constraint()) {
                    $(Some($constraint) => $variant,)*
                    _ => $error::Internal(error.into()),
                }
            }
        }

        $(impl From<$other> for $error {
            fn from(error: $other) -> Self {
                $error::Internal(error.into())
            }
        })*

        impl From<$error> for ::platform::problem::Problem {
            fn from(error: $error) -> Self {
                match error {
                    $($pattern => $problem,)+
                    $error::Internal(cause) => ::platform::problem::Problem::internal(cause),
                }
            }
        }
    };
}
