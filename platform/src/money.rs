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

impl Currency {
    /// Digits after the decimal point of a major unit (ISO 4217's minor unit):
    /// 2 for most, 0 for the yen and won, 3 for the dinars of Bahrain, Kuwait
    /// and others.
    pub fn exponent(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
            | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            "CLF" | "UYW" => 4,
            _ => 2,
        }
    }

    /// The sign written before an amount, when it is unambiguous enough for a
    /// receipt; `None` writes the code after the amount instead.
    fn symbol(&self) -> Option<&'static str> {
        Some(match self.as_str() {
            "USD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            "JPY" => "¥",
            "INR" => "₹",
            "KRW" => "₩",
            _ => return None,
        })
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

/// A price as a shopper reads it, in the currency's own exponent: `$19.99`,
/// `€5.00`, `¥500`, `-$1.50`, `12.345 KWD`. No grouping of thousands and no
/// locale (emails and pages are in English today).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = self.currency.exponent();
        let scale = 10u64.pow(exponent);
        let magnitude = self.amount.unsigned_abs();
        let sign = if self.amount < 0 { "-" } else { "" };
        let major = magnitude / scale;
        let minor = magnitude % scale;
        let number = if exponent == 0 {
            major.to_string()
        } else {
            format!("{major}.{minor:0width$}", width = exponent as usize)
        };
        match self.currency.symbol() {
            Some(symbol) => write!(f, "{sign}{symbol}{number}"),
            None => write!(f, "{sign}{number} {}", self.currency),
        }
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

    #[test]
    fn prices_are_written_in_the_currencys_exponent() {
        let money = |amount, code| Money::new(amount, Currency::parse(code).unwrap()).to_string();
        assert_eq!(money(1999, "USD"), "$19.99");
        assert_eq!(money(5, "EUR"), "€0.05");
        assert_eq!(money(500, "JPY"), "¥500");
        assert_eq!(money(12345, "KWD"), "12.345 KWD");
        assert_eq!(money(-150, "USD"), "-$1.50");
        assert_eq!(money(100_000, "CHF"), "1000.00 CHF");
        assert_eq!(money(i64::MIN, "USD"), "-$92233720368547758.08");
    }
}
