//! Server-rendered pages' templates: minijinja, compiled into the binary,
//! shared by the merchant dashboard and the platform admin pages.
//!
//! **Invariant:** every template autoescapes HTML, so what a merchant, a
//! shopper or an admin typed (a title, a name, a reason) never adds markup.

use std::sync::Arc;

use minijinja::{value::Serde, AutoEscape, Environment, Value};

use crate::money::{Currency, Money};

/// A set of parsed templates; cheap to clone.
#[derive(Clone)]
pub struct Templates(Arc<Environment<'static>>);

impl Templates {
    /// Parses every `(name, source)`; a template that does not parse is an
    /// error at start-up, never at a request. `pages.css`, the pages' shared
    /// stylesheet, is there too (`{% include "pages.css" %}` in a `<style>`),
    /// and the staff pages' `sign_in_form.html` and `sign_out_form.html`.
    pub fn new(sources: &[(&'static str, &'static str)]) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.add_filter("money", money);
        env.add_template("pages.css", include_str!("../templates/pages.css"))?;
        env.add_template("sign_in_form.html", include_str!("../templates/sign_in_form.html"))?;
        env.add_template("sign_out_form.html", include_str!("../templates/sign_out_form.html"))?;
        for (name, source) in sources {
            env.add_template(name, source)?;
        }
        Ok(Self(Arc::new(env)))
    }

    /// Template `name` rendered with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, minijinja::Error> {
        self.0.get_template(name)?.render(context)
    }
}

/// Any serializable value (an API answer, a list) as a template value.
pub fn data<T: serde::Serialize>(value: T) -> Value {
    Value::from(Serde(value))
}

/// `{{ price | money }}`: a Money object of the API (`{"amount", "currency"}`)
/// as shoppers read it (`$19.99`); anything else as nothing.
fn money(value: Value) -> String {
    let amount = value.get_attr("amount").ok().and_then(|a| i64::try_from(a).ok());
    let currency = value.get_attr("currency").ok().and_then(|c| c.as_str().and_then(Currency::parse));
    match (amount, currency) {
        (Some(amount), Some(currency)) => Money::new(amount, currency).to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_money_is_formatted() {
        let templates = Templates::new(&[("t.html", "{{ name }} {{ price | money }}")]).unwrap();
        let context = minijinja::context! { name => "<b>", price => data(serde_json::json!({"amount": 1999, "currency": "USD"})) };
        assert_eq!(templates.render("t.html", context).unwrap(), "&lt;b&gt; $19.99");
    }
}
