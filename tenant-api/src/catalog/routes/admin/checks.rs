//! Parsing request bodies into domain values: every field at fault is
//! collected, and the request is refused once with all of them.

use platform::{
    money::{Currency, Money},
    problem::{FieldError, Problem},
};

use crate::{
    catalog::{model::Handle, Error},
    wire::MoneyDto,
};

#[derive(Default)]
pub(super) struct Checks(Vec<FieldError>);

impl Checks {
    pub(super) fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Trimmed text of 1 to `max` characters.
    pub(super) fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > max {
            self.fail(field, format!("must be 1 to {max} characters"));
        }
        value.to_owned()
    }

    /// Trimmed text of at most `max` characters; blank is none.
    pub(super) fn optional_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        }
        Some(value.to_owned())
    }

    /// Money of the store's currency, 0 or more.
    pub(super) fn money(&mut self, field: &str, money: &MoneyDto, currency: Currency) -> Money {
        if money.amount < 0 {
            self.fail(format!("{field}.amount"), "must be 0 or more minor units");
        }
        if money.amount > Money::MAX_AMOUNT {
            self.0.push(crate::wire::too_large(field));
        }
        if Currency::parse(&money.currency) != Some(currency) {
            self.fail(format!("{field}.currency"), format!("must be the store's currency, {currency}"));
        }
        Money::new(money.amount, currency)
    }

    pub(super) fn count(&mut self, field: &str, value: i64) -> i32 {
        match i32::try_from(value) {
            Ok(n) if n >= 0 => n,
            _ => {
                self.fail(field, "must be a whole number from 0 to 2147483647");
                0
            }
        }
    }

    pub(super) fn handle(&mut self, field: &str, value: &str) -> Option<Handle> {
        Handle::parse(value).map_err(|m| self.fail(field, m)).ok()
    }

    /// The given `handle`, or one derived from `title` (the `source` field).
    pub(super) fn handle_or_derived(&mut self, handle: Option<&str>, title: &str, source: &str) -> Option<Handle> {
        match handle {
            Some(handle) => self.handle("handle", handle),
            None => Handle::from_title(title).or_else(|| {
                self.fail("handle", format!("cannot be derived from the {source}; give one"));
                None
            }),
        }
    }

    /// Ids of a list field; each one that is not an id is named (`{field}[n]`).
    pub(super) fn ids<I>(
        &mut self,
        field: &str,
        raw: &[String],
        parse: fn(&str) -> Option<I>,
        message: &str,
    ) -> Vec<I> {
        raw.iter()
            .enumerate()
            .filter_map(|(n, id)| {
                parse(id).or_else(|| {
                    self.fail(format!("{field}[{n}]"), message);
                    None
                })
            })
            .collect()
    }

    /// `value` when no field is at fault, else the 422 naming every one.
    pub(super) fn finish<T>(self, value: T) -> Result<T, Problem> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::Invalid(self.0).into())
        }
    }

    /// [`Checks::finish`] of a value that is only missing when a field is at fault.
    pub(super) fn finish_parsed<T>(self, value: Option<T>) -> Result<T, Problem> {
        self.finish(value)?
            .ok_or_else(|| Problem::internal(anyhow::anyhow!("a value is missing without a field error")))
    }
}
