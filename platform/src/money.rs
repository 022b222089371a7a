//! Money: integer minor units plus an ISO 4217 currency. Never floats.

use std::fmt;

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a currency code; `None` unless it is three upper-case letters.
    pub fn parse(code: &str) -> Option<Self> {
        let bytes = code.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) {
            Some(Self([bytes[0], bytes[1], bytes[2]]))
        } else {
            None
        }
    }

    /// The three letters, e.g. `USD`, as stored and sent.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }
}

impl AsRef<str> for Currency {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money in minor units (cents for USD) of one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    /// Minor units; may be negative for refunds and discounts.
    pub amount: i64,
    /// Says what a minor unit is (a cent of USD, a yen of JPY).
    pub currency: Currency,
}

impl Money {
    /// The largest amount accepted as input or produced by arithmetic
    /// (10^12 minor units, the API contract): a price, a line total, an
    /// order total. Far below `i64::MAX`, so a bounded amount times a line
    /// quantity cannot overflow before the bound is checked.
    pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

    /// `amount` minor units of `currency`; no check, since any `i64` is valid.
    pub fn new(amount: i64, currency: Currency) -> Self {
        Self { amount, currency }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_accepts_only_three_upper_case_letters() {
        assert_eq!(Currency::parse("USD").unwrap().as_str(), "USD");
        for bad in ["usd", "US", "USDX", "U$D", ""] {
            assert!(Currency::parse(bad).is_none(), "{bad} was accepted");
        }
    }
}
