//! A page's failure: the problem the service answered, shown as an HTML page
//! with the problem's status (a `404` product, a `503` database, a `422`
//! naming its fields). Forms that can be shown again with their errors
//! (checkout, sign-in) render themselves instead.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use platform::{
    problem::{Problem, ProblemCause},
    web::{error_page, CsrfRefused},
};

/// Why a page could not be shown.
#[derive(Debug)]
pub enum Error {
    /// What a service answered (as the JSON API would have).
    Problem(Problem),
    /// A form without a matching CSRF token: `403`, nothing read or written.
    Csrf,
}

macro_rules! from_problem {
    ($($source:ty),* $(,)?) => {$(
        impl From<$source> for Error {
            fn from(e: $source) -> Self {
                Self::Problem(Problem::from(e))
            }
        }
    )*};
}

from_problem!(crate::catalog::Error, crate::cart::Error, crate::customers::Error, crate::orders::Error,);

impl From<Problem> for Error {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem)
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Self::Problem(Problem::internal(e))
    }
}

impl From<CsrfRefused> for Error {
    fn from(_: CsrfRefused) -> Self {
        Self::Csrf
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let problem = match self {
            Error::Csrf => return CsrfRefused.into_response(),
            Error::Problem(problem) => problem,
        };
        let body = problem.body();
        let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
        let mut detail = text(&body["detail"]);
        for error in body["errors"].as_array().into_iter().flatten() {
            detail.push_str(&format!(" {}: {}.", text(&error["field"]), text(&error["message"])));
        }
        let status = problem.status();
        // The cause of a 5xx stays in the extensions, where the logging middleware finds it.
        let mut answer = problem.into_response();
        let mut response = error_page(status, &text(&body["title"]), &detail);
        if let Some(cause) = answer.extensions_mut().remove::<ProblemCause>() {
            response.extensions_mut().insert(cause);
        }
        if let Some(retry_after) = answer.headers().get(header::RETRY_AFTER) {
            response.headers_mut().insert(header::RETRY_AFTER, retry_after.clone());
        }
        response
    }
}
