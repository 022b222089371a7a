use platform::problem::{FieldError, Problem};

/// Outcomes of the template endpoints a client handles differently.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `{event}` names no event that sends email.
    #[error("unknown event")]
    UnknownEvent,
    /// The store does not override this event's template.
    #[error("not customized")]
    NotCustomized,
    /// A part of the template does not parse or render.
    #[error("invalid template")]
    Invalid(Vec<FieldError>),
    /// Anything else.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

crate::error_problems! {
    Error,
    constraints: [],
    internal: [],
    Error::UnknownEvent => Problem::not_found(
        "unknown-event",
        "No email is sent for this event; see GET /admin/notifications/templates for the events.",
    ),
    Error::NotCustomized => Problem::not_found("template-not-customized", "This store uses the default template."),
    Error::Invalid(errors) => Problem::validation(errors),
}
