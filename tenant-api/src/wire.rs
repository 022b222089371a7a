//! Wire shapes every context of the data plane shares: Money objects,
//! timestamps and addresses (list envelopes and cursors are
//! `platform::extract`'s). Like `routes.rs` files, this is a serde boundary;
//! domain types never derive serde.

use platform::{
    money::{Currency, Money},
    problem::FieldError,
};
use serde::{Deserialize, Serialize};

/// `{"amount": 1999, "currency": "USD"}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = Money)]
pub struct MoneyDto {
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
}

impl From<Money> for MoneyDto {
    fn from(money: Money) -> Self {
        Self { amount: money.amount, currency: money.currency.to_string() }
    }
}

impl MoneyDto {
    /// Money in `currency` (the store's), or the field error naming `field`.
    pub fn parse(&self, field: &str, currency: Currency) -> Result<Money, FieldError> {
        if self.currency != currency.as_str() {
            return Err(FieldError::new(format!("{field}.currency"), format!("must be {currency}")));
        }
        if self.amount < 0 {
            return Err(FieldError::new(format!("{field}.amount"), "must be 0 or more"));
        }
        if self.amount > Money::MAX_AMOUNT {
            return Err(too_large(field));
        }
        Ok(Money::new(self.amount, currency))
    }
}

/// For fields a `PATCH` can clear, where `null` and absent differ: absent →
/// `None` (keep), `null` → `Some(None)` (clear). Use with `#[serde(default,
/// deserialize_with = "nullable")]`; without `default` an absent field is an error.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The field error of quantities whose amount (a line, the cart's or the
/// order's total) would pass [`Money::MAX_AMOUNT`].
pub fn quantity_too_large() -> FieldError {
    FieldError::new("quantity", format!("would make an amount of more than {} minor units", Money::MAX_AMOUNT))
}

/// The field error of an amount past [`Money::MAX_AMOUNT`], given or computed.
pub fn too_large(field: &str) -> FieldError {
    FieldError::new(format!("{field}.amount"), format!("must be at most {} minor units", Money::MAX_AMOUNT))
}

/// RFC 3339 UTC with milliseconds, the API's one timestamp format.
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A postal address on the wire.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Address)]
pub struct AddressDto {
    /// Recipient.
    pub name: String,
    /// Street.
    pub line1: String,
    /// More street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl AddressDto {
    /// The address, or every field at fault named under `prefix` (e.g. `shipping_address`).
    pub fn parse(&self, prefix: &str) -> Result<crate::customers::model::Address, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut required = |field: &str, value: &str, max: usize| {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > max {
                errors.push(FieldError::new(format!("{prefix}.{field}"), format!("must be 1 to {max} characters")));
            }
            value.to_owned()
        };
        let name = required("name", &self.name, 200);
        let line1 = required("line1", &self.line1, 200);
        let city = required("city", &self.city, 100);
        let postal_code = required("postal_code", &self.postal_code, 20);
        let mut optional = |field: &str, value: &Option<String>, max: usize| {
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
            if value.chars().count() > max {
                errors.push(FieldError::new(format!("{prefix}.{field}"), format!("must be at most {max} characters")));
            }
            Some(value.to_owned())
        };
        let line2 = optional("line2", &self.line2, 200);
        let region = optional("region", &self.region, 100);
        let phone = optional("phone", &self.phone, 40);
        let country = crate::checkout::model::Country::parse(&self.country)
            .map_err(|e| errors.push(FieldError::new(format!("{prefix}.country"), e)))
            .ok();
        match country {
            Some(country) if errors.is_empty() => {
                Ok(crate::customers::model::Address { name, line1, line2, city, region, postal_code, country, phone })
            }
            _ => Err(errors),
        }
    }
}

impl From<&crate::customers::model::Address> for AddressDto {
    fn from(a: &crate::customers::model::Address) -> Self {
        Self {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.as_ref().to_owned(),
            phone: a.phone.clone(),
        }
    }
}
