//! Message templates: the defaults compiled in (`tenant-api/templates/`), a
//! store's overrides, and rendering with minijinja.
//!
//! **Invariant:** the HTML part is rendered with HTML autoescape, so a value a
//! shopper or merchant typed (a name, a product title, a cancel reason) can
//! never add markup; subjects and text parts are not escaped. A template that
//! fails to render is a permanent failure of that message, never a panic.

use minijinja::{AutoEscape, Environment, Value};

use super::model::{EmailTemplate, Event};

/// The default email templates of an event.
pub fn default_email(event: Event) -> EmailTemplate {
    macro_rules! email {
        ($name:literal) => {
            EmailTemplate {
                subject: include_str!(concat!("../../../templates/email/", $name, ".subject.txt")).trim().to_owned(),
                text: include_str!(concat!("../../../templates/email/", $name, ".txt")).to_owned(),
                html: include_str!(concat!("../../../templates/email/", $name, ".html")).to_owned(),
            }
        };
    }
    match event {
        Event::OrderConfirmation => email!("order.paid"),
        Event::PaymentFailed => email!("order.payment_failed"),
        Event::OrderFulfilled => email!("order.fulfilled"),
        Event::RefundIssued => email!("order.refunded"),
        Event::OrderCancelled => email!("order.cancelled"),
        Event::PasswordReset => email!("customer.password_reset"),
        Event::Welcome => email!("customer.registered"),
    }
}

/// The SMS text of an event; `None` for events that send no SMS.
pub fn default_sms(event: Event) -> Option<&'static str> {
    match event {
        Event::OrderConfirmation => Some(include_str!("../../../templates/sms/order.paid.txt")),
        Event::OrderFulfilled => Some(include_str!("../../../templates/sms/order.fulfilled.txt")),
        _ => None,
    }
}

/// A rendered email.
#[derive(Clone, Debug)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Which part of an email template failed, and why (minijinja's message,
/// which names the line; never the rendered output).
#[derive(Debug)]
pub struct TemplateError {
    /// `subject`, `text` or `html`.
    pub field: &'static str,
    pub message: String,
}

/// The one environment: `.html` templates autoescape, others do not.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
    env
}

fn render_part(
    env: &Environment<'static>,
    field: &'static str,
    name: &'static str,
    source: &str,
    context: &Value,
) -> Result<String, TemplateError> {
    let error = |e: minijinja::Error| TemplateError { field, message: describe(&e) };
    let template = env.template_from_named_str(name, source).map_err(error)?;
    template.render(context).map_err(error)
}

fn describe(error: &minijinja::Error) -> String {
    match (error.detail(), error.line()) {
        (Some(detail), Some(line)) => format!("{detail} (line {line})"),
        (Some(detail), None) => detail.to_owned(),
        (None, Some(line)) => format!("{} (line {line})", error.kind()),
        (None, None) => error.kind().to_string(),
    }
}

/// Renders the three parts of `template` with `context`. The subject is one
/// line: line breaks a template or a value put in it become spaces.
pub fn render_email(template: &EmailTemplate, context: &serde_json::Value) -> Result<RenderedEmail, TemplateError> {
    let env = environment();
    let context = Value::from(minijinja::value::Serde(context));
    let subject = render_part(&env, "subject", "subject.txt", &template.subject, &context)?;
    Ok(RenderedEmail {
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: render_part(&env, "text", "text.txt", &template.text, &context)?,
        html: render_part(&env, "html", "body.html", &template.html, &context)?,
    })
}

/// Renders an SMS text.
pub fn render_sms(source: &str, context: &serde_json::Value) -> Result<String, TemplateError> {
    let env = environment();
    Ok(render_part(&env, "text", "sms.txt", source, &Value::from(minijinja::value::Serde(context)))?.trim().to_owned())
}

/// Checks a merchant's template before it is stored: each part must parse and
/// render against a sample of what `event` provides. Every failing part is
/// reported.
pub fn check_email(event: Event, template: &EmailTemplate) -> Vec<TemplateError> {
    let env = environment();
    let sample = Value::from(minijinja::value::Serde(super::service::sample_context(event)));
    [
        ("subject", "subject.txt", &template.subject),
        ("text", "text.txt", &template.text),
        ("html", "body.html", &template.html),
    ]
    .into_iter()
    .filter_map(|(field, name, source)| render_part(&env, field, name, source, &sample).err())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_renders_against_its_sample() {
        for event in Event::ALL {
            let errors = check_email(event, &default_email(event));
            assert!(errors.is_empty(), "{event:?}: {errors:?}");
            if let Some(sms) = default_sms(event) {
                render_sms(sms, &super::super::service::sample_context(event)).unwrap();
            }
        }
    }

    #[test]
    fn html_escapes_values_and_text_does_not() {
        let template = EmailTemplate {
            subject: "Hi\n{{ name }}".into(),
            text: "{{ name }}".into(),
            html: "<p>{{ name }}</p>".into(),
        };
        let rendered = render_email(&template, &serde_json::json!({"name": "<b>Ann</b> & Co"})).unwrap();
        assert_eq!(rendered.subject, "Hi <b>Ann</b> & Co");
        assert_eq!(rendered.text, "<b>Ann</b> & Co");
        assert_eq!(rendered.html, "<p>&lt;b&gt;Ann&lt;&#x2f;b&gt; &amp; Co</p>");
    }

    #[test]
    fn syntax_errors_name_the_part() {
        let template =
            EmailTemplate { subject: "ok".into(), text: "{% if %}".into(), html: "{{ order.number | nope }}".into() };
        let fields: Vec<_> = check_email(Event::OrderConfirmation, &template).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["text", "html"]);
    }
}
