//! HTML forms into the API's JSON bodies. Only the shape changes here (a price
//! typed as `19.99` becomes `{"amount": 1999, "currency"}`); every rule stays
//! the API's. What cannot be read as its type is a 422 page naming the field.

use platform::money::{Currency, Money};
use serde_json::{json, Map, Value};

/// A submitted form's fields, in order (a field may repeat: checkboxes).
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(n, v)| n == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    }

    /// The form's CSRF token.
    pub fn csrf(&self) -> Option<&str> {
        self.get(platform::web::CSRF_FIELD)
    }
}

/// Field errors found while reading a form, as the API names them.
#[derive(Default)]
pub struct Errors(pub Vec<(String, String)>);

impl Errors {
    pub fn fail(&mut self, field: &str, message: &str) {
        self.0.push((field.to_owned(), message.to_owned()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `text` in major units (`19.99`, `19`, `500` for JPY) as minor units of
/// `currency`: at most the currency's decimals, not negative.
pub fn minor_units(text: &str, currency: Currency) -> Option<i64> {
    let exponent = currency.exponent() as usize;
    let (major, minor) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || (!minor.is_empty() && !digits(minor)) || minor.len() > exponent || major.len() > 15 {
        return None;
    }
    let scale = 10i64.pow(exponent as u32);
    let padded = format!("{minor:0<exponent$}");
    let minor: i64 = if exponent == 0 { 0 } else { padded.parse().ok()? };
    major.parse::<i64>().ok()?.checked_mul(scale)?.checked_add(minor)
}

/// `minor` units of `currency` as the form shows them (`19.99`).
pub fn major_units(minor: i64, currency: Currency) -> String {
    let shown = Money::new(minor, currency).to_string();
    // The shopper's format without the symbol or code: keep the number.
    shown.chars().filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-').collect()
}

/// What a form field holds, and how it becomes JSON.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A string.
    Text,
    /// A price in major units → Money of the store's currency.
    Money,
    /// A whole number.
    Integer,
    /// A checkbox → `true`/`false`.
    Checkbox,
    /// One of the listed values.
    Select(&'static [&'static str]),
    /// Any of the listed values (checkboxes) → an array.
    Many(&'static [&'static str]),
}

/// A form field of a [`Resource`].
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub required: bool,
}

/// A column of a [`Resource`]'s table: a label, the answer's key, how to show it.
pub struct Column {
    pub label: &'static str,
    pub key: &'static str,
    pub kind: Kind,
}

/// A list of things the store sets up (shipping methods, tax rates, discount
/// codes, webhooks): one API list, one create form, a delete button per row.
pub struct Resource {
    /// Its dashboard path segment: `/dashboard/<slug>`.
    pub slug: &'static str,
    pub title: &'static str,
    /// The API collection: `GET` lists, `POST` creates, `DELETE …/{id}` deletes.
    pub api: &'static str,
    pub columns: &'static [Column],
    pub fields: &'static [Field],
    /// The button of a row: `Delete`, `Deactivate`.
    pub delete_label: &'static str,
}

impl Resource {
    /// The create form as the API's JSON body.
    pub fn body(&self, form: &Fields, currency: Currency) -> Result<Value, Errors> {
        let mut errors = Errors::default();
        let mut body = Map::new();
        for field in self.fields {
            if let Some(value) = read(field, form, currency, &mut errors) {
                body.insert(field.name.to_owned(), value);
            }
        }
        if errors.is_empty() {
            Ok(Value::Object(body))
        } else {
            Err(errors)
        }
    }

    /// The form's fields for the template.
    pub fn field_list(&self) -> Vec<Value> {
        self.fields
            .iter()
            .map(|f| {
                let (kind, options) = describe(f.kind);
                json!({"name": f.name, "label": f.label, "kind": kind, "options": options, "required": f.required})
            })
            .collect()
    }

    /// The table's columns for the template.
    pub fn column_list(&self) -> Vec<Value> {
        self.columns.iter().map(|c| json!({"label": c.label, "key": c.key, "kind": describe(c.kind).0})).collect()
    }
}

fn describe(kind: Kind) -> (&'static str, &'static [&'static str]) {
    match kind {
        Kind::Text => ("text", &[]),
        Kind::Money => ("money", &[]),
        Kind::Integer => ("integer", &[]),
        Kind::Checkbox => ("checkbox", &[]),
        Kind::Select(options) => ("select", options),
        Kind::Many(options) => ("many", options),
    }
}

/// One field's JSON value; `None` when left blank (and not required).
fn read(field: &Field, form: &Fields, currency: Currency, errors: &mut Errors) -> Option<Value> {
    if let Kind::Checkbox = field.kind {
        return Some(Value::Bool(form.get(field.name).is_some()));
    }
    if let Kind::Many(_) = field.kind {
        let values = form.all(field.name);
        if field.required && values.is_empty() {
            errors.fail(field.name, "choose at least one");
        }
        return Some(json!(values));
    }
    let Some(text) = form.get(field.name) else {
        if field.required {
            errors.fail(field.name, "is required");
        }
        return None;
    };
    match field.kind {
        Kind::Money => match minor_units(text, currency) {
            Some(amount) => Some(json!({"amount": amount, "currency": currency.as_str()})),
            None => {
                errors.fail(field.name, &format!("must be an amount like 19.99 ({currency})"));
                None
            }
        },
        Kind::Integer => match text.parse::<i64>() {
            Ok(n) => Some(json!(n)),
            Err(_) => {
                errors.fail(field.name, "must be a whole number");
                None
            }
        },
        _ => Some(json!(text)),
    }
}

/// The setup lists of the dashboard.
pub const RESOURCES: &[Resource] = &[
    Resource {
        slug: "shipping",
        title: "Shipping methods",
        api: "/admin/shipping-methods",
        columns: &[
            Column { label: "Name", key: "name", kind: Kind::Text },
            Column { label: "Price", key: "price", kind: Kind::Money },
            Column { label: "Free over", key: "free_over", kind: Kind::Money },
            Column { label: "Active", key: "active", kind: Kind::Checkbox },
        ],
        fields: &[
            Field { name: "name", label: "Name", kind: Kind::Text, required: true },
            Field { name: "price", label: "Price", kind: Kind::Money, required: true },
            Field { name: "free_over", label: "Free for orders over", kind: Kind::Money, required: false },
        ],
        delete_label: "Delete",
    },
    Resource {
        slug: "taxes",
        title: "Tax rates",
        api: "/admin/tax-rates",
        columns: &[
            Column { label: "Country", key: "country", kind: Kind::Text },
            Column { label: "Region", key: "region", kind: Kind::Text },
            Column { label: "Name", key: "name", kind: Kind::Text },
            Column { label: "Rate (basis points)", key: "rate_bps", kind: Kind::Integer },
            Column { label: "Included in prices", key: "inclusive", kind: Kind::Checkbox },
        ],
        fields: &[
            Field { name: "country", label: "Country (ISO code, e.g. US)", kind: Kind::Text, required: true },
            Field { name: "region", label: "Region", kind: Kind::Text, required: false },
            Field { name: "name", label: "Name", kind: Kind::Text, required: false },
            Field {
                name: "rate_bps",
                label: "Rate in basis points (825 = 8.25 %)",
                kind: Kind::Integer,
                required: true,
            },
            Field { name: "inclusive", label: "Included in prices", kind: Kind::Checkbox, required: false },
        ],
        delete_label: "Delete",
    },
    Resource {
        slug: "discounts",
        title: "Discount codes",
        api: "/admin/discount-codes",
        columns: &[
            Column { label: "Code", key: "code", kind: Kind::Text },
            Column { label: "Kind", key: "kind", kind: Kind::Text },
            Column { label: "Percent off", key: "percent_off", kind: Kind::Integer },
            Column { label: "Amount off", key: "amount_off", kind: Kind::Money },
            Column { label: "Minimum subtotal", key: "min_subtotal", kind: Kind::Money },
            Column { label: "Used", key: "used_count", kind: Kind::Integer },
            Column { label: "Limit", key: "usage_limit", kind: Kind::Integer },
            Column { label: "Expires", key: "expires_at", kind: Kind::Text },
            Column { label: "Active", key: "active", kind: Kind::Checkbox },
        ],
        fields: &[
            Field { name: "code", label: "Code", kind: Kind::Text, required: true },
            Field { name: "kind", label: "Kind", kind: Kind::Select(&["percentage", "fixed"]), required: true },
            Field { name: "percent_off", label: "Percent off (percentage)", kind: Kind::Integer, required: false },
            Field { name: "amount_off", label: "Amount off (fixed)", kind: Kind::Money, required: false },
            Field { name: "min_subtotal", label: "Minimum subtotal", kind: Kind::Money, required: false },
            Field { name: "usage_limit", label: "Usage limit", kind: Kind::Integer, required: false },
            Field { name: "expires_at", label: "Expires at (RFC 3339)", kind: Kind::Text, required: false },
        ],
        delete_label: "Deactivate",
    },
    Resource {
        slug: "webhooks",
        title: "Webhooks",
        api: "/admin/webhooks",
        columns: &[
            Column { label: "URL", key: "url", kind: Kind::Text },
            Column { label: "Events", key: "events", kind: Kind::Many(&[]) },
            Column { label: "Created", key: "created_at", kind: Kind::Text },
        ],
        fields: &[
            Field { name: "url", label: "URL", kind: Kind::Text, required: true },
            Field {
                name: "events",
                label: "Events",
                kind: Kind::Many(&[
                    "order.paid",
                    "order.payment_failed",
                    "order.fulfilled",
                    "order.delivered",
                    "order.cancelled",
                    "order.refunded",
                    "product.created",
                    "product.updated",
                    "product.deleted",
                    "inventory.low",
                ]),
                required: true,
            },
        ],
        delete_label: "Delete",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_in_the_currencys_own_decimals() {
        let usd = Currency::parse("USD").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(minor_units("19.99", usd), Some(1999));
        assert_eq!(minor_units("19.9", usd), Some(1990));
        assert_eq!(minor_units("19", usd), Some(1900));
        assert_eq!(minor_units("500", jpy), Some(500));
        assert_eq!(minor_units("5.5", jpy), None);
        assert_eq!(minor_units("1.999", usd), None);
        assert_eq!(minor_units("-1", usd), None);
        assert_eq!(minor_units("abc", usd), None);
        assert_eq!(minor_units("", usd), None);
        assert_eq!(major_units(1999, usd), "19.99");
    }
}
