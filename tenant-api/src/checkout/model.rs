//! Checkout option types and the totals arithmetic. Integer minor units only.

use chrono::{DateTime, Utc};
use platform::money::{Currency, Money};

platform::id_type!(
    /// A shipping method of a store.
    ShippingMethodId
);
platform::id_type!(
    /// A tax rate of a store.
    TaxRateId
);
platform::id_type!(
    /// A discount code of a store.
    DiscountCodeId
);

/// An ISO 3166-1 alpha-2 country code, upper-case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    /// Parses two ASCII letters in either case.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let value = value.trim();
        if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Self(value.to_ascii_uppercase()))
        } else {
            Err("must be a two-letter ISO 3166 country code")
        }
    }
}

impl AsRef<str> for Country {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A discount code as shoppers type it: trimmed, upper-cased, 2–50 of `A-Z 0-9 _ -`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// Parses a code.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let value = value.trim().to_ascii_uppercase();
        let ok = (2..=50).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(value))
        } else {
            Err("must be 2 to 50 letters, digits, '_' or '-'")
        }
    }
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A way to ship, with its flat price.
#[derive(Clone, Debug)]
pub struct ShippingMethod {
    pub id: ShippingMethodId,
    /// Shown to shoppers.
    pub name: String,
    /// Flat price.
    pub price: Money,
    /// Free when the discounted subtotal reaches this many minor units.
    pub free_over: Option<i64>,
    /// Offered at checkout.
    pub active: bool,
}

impl ShippingMethod {
    /// What this method costs for goods worth `goods` (after discounts).
    pub fn cost(&self, goods: i64) -> i64 {
        match self.free_over {
            Some(threshold) if goods >= threshold => 0,
            _ => self.price.amount,
        }
    }
}

/// A tax rate for a country, or a region of one.
#[derive(Clone, Debug)]
pub struct TaxRate {
    pub id: TaxRateId,
    pub country: Country,
    /// Region; empty for the whole country.
    pub region: String,
    pub name: String,
    /// Basis points (825 = 8.25 %).
    pub rate_bps: i32,
    /// Prices already include it.
    pub inclusive: bool,
}

/// Percentage or fixed amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscountKind {
    /// Percent of the subtotal, 1–100.
    Percentage(i32),
    /// A fixed amount in minor units, at most the subtotal.
    Fixed(i64),
}

/// A discount code.
#[derive(Clone, Debug)]
pub struct DiscountCode {
    pub id: DiscountCodeId,
    /// What shoppers type.
    pub code: String,
    /// How much it takes off.
    pub kind: DiscountKind,
    /// The store's currency.
    pub currency: Currency,
    /// Minimum subtotal, minor units.
    pub min_subtotal: i64,
    /// After this it is refused.
    pub expires_at: Option<DateTime<Utc>>,
    /// Redemptions allowed in total; `None`: unlimited.
    pub usage_limit: Option<i32>,
    /// Redemptions so far (paid or in checkout).
    pub used_count: i32,
    pub active: bool,
}

impl DiscountCode {
    /// What the code takes off a subtotal.
    pub fn amount_off(&self, subtotal: i64) -> i64 {
        match self.kind {
            DiscountKind::Percentage(percent) => subtotal * i64::from(percent) / 100,
            DiscountKind::Fixed(amount) => amount.min(subtotal),
        }
    }
}

/// A new shipping method.
#[derive(Clone, Debug)]
pub struct NewShippingMethod {
    pub name: String,
    pub price: Money,
    /// Free-over threshold.
    pub free_over: Option<i64>,
}

/// A new tax rate.
#[derive(Clone, Debug)]
pub struct NewTaxRate {
    pub country: Country,
    /// Region or empty.
    pub region: String,
    pub name: String,
    /// Basis points.
    pub rate_bps: i32,
    pub inclusive: bool,
}

/// A new discount code.
#[derive(Clone, Debug)]
pub struct NewDiscountCode {
    pub code: Code,
    /// Kind and value.
    pub kind: DiscountKind,
    pub currency: Currency,
    pub min_subtotal: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub usage_limit: Option<i32>,
}

/// The amounts of a cart or order, in minor units of one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totals {
    /// Sum of line totals at current prices.
    pub subtotal: i64,
    /// Taken off by a discount code.
    pub discount: i64,
    pub shipping: i64,
    /// Tax: added on top when exclusive, the part of the price when inclusive.
    pub tax: i64,
    /// What the shopper pays.
    pub total: i64,
    /// Whether `tax` is already inside the prices.
    pub tax_inclusive: bool,
}

/// Rounds `numerator / denominator` half up (both non-negative).
fn div_round(numerator: i64, denominator: i64) -> i64 {
    (numerator * 2 + denominator) / (denominator * 2)
}

/// The one place totals are computed. Discounts apply to goods; shipping's
/// free threshold and tax look at goods after the discount; tax is not charged
/// on shipping.
pub fn totals(
    subtotal: i64,
    discount: Option<&DiscountCode>,
    shipping: Option<&ShippingMethod>,
    tax: Option<&TaxRate>,
) -> Totals {
    let discount = discount.map_or(0, |d| d.amount_off(subtotal));
    let goods = subtotal - discount;
    let shipping = shipping.map_or(0, |m| m.cost(goods));
    let (tax, inclusive) = match tax {
        None => (0, false),
        Some(rate) if rate.inclusive => {
            let bps = i64::from(rate.rate_bps);
            (goods - div_round(goods * 10_000, 10_000 + bps), true)
        }
        Some(rate) => (div_round(goods * i64::from(rate.rate_bps), 10_000), false),
    };
    let total = goods + shipping + if inclusive { 0 } else { tax };
    Totals { subtotal, discount, shipping, tax, total, tax_inclusive: inclusive }
}

/// The cheapest active method for goods worth `goods`.
pub fn cheapest(methods: &[ShippingMethod], goods: i64) -> Option<&ShippingMethod> {
    methods.iter().filter(|m| m.active).min_by_key(|m| (m.cost(goods), m.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("USD").unwrap())
    }

    fn code(kind: DiscountKind) -> DiscountCode {
        DiscountCode {
            id: DiscountCodeId::new(),
            code: "X".into(),
            kind,
            currency: Currency::parse("USD").unwrap(),
            min_subtotal: 0,
            expires_at: None,
            usage_limit: None,
            used_count: 0,
            active: true,
        }
    }

    fn rate(bps: i32, inclusive: bool) -> TaxRate {
        TaxRate {
            id: TaxRateId::new(),
            country: Country::parse("US").unwrap(),
            region: String::new(),
            name: "Tax".into(),
            rate_bps: bps,
            inclusive,
        }
    }

    #[test]
    fn exclusive_tax_is_added_on_goods_after_the_discount() {
        let t = totals(10_000, Some(&code(DiscountKind::Percentage(10))), None, Some(&rate(825, false)));
        assert_eq!((t.discount, t.tax, t.total), (1_000, 743, 9_743));
    }

    #[test]
    fn inclusive_tax_is_the_part_of_the_price_and_adds_nothing() {
        let t = totals(12_000, None, None, Some(&rate(2_000, true)));
        assert_eq!((t.tax, t.total, t.tax_inclusive), (2_000, 12_000, true));
    }

    #[test]
    fn shipping_is_free_over_the_threshold_of_discounted_goods() {
        let method = ShippingMethod {
            id: ShippingMethodId::new(),
            name: "Std".into(),
            price: usd(500),
            free_over: Some(5_000),
            active: true,
        };
        assert_eq!(totals(5_000, None, Some(&method), None).shipping, 0);
        let t = totals(5_000, Some(&code(DiscountKind::Fixed(100))), Some(&method), None);
        assert_eq!((t.shipping, t.total), (500, 5_400));
    }

    #[test]
    fn a_fixed_discount_never_exceeds_the_subtotal() {
        assert_eq!(totals(300, Some(&code(DiscountKind::Fixed(1_000))), None, None).total, 0);
    }

    #[test]
    fn codes_and_countries_parse_to_upper_case() {
        assert_eq!(Code::parse(" save-10 ").unwrap().as_ref(), "SAVE-10");
        assert!(Code::parse("a").is_err());
        assert!(Code::parse("no spaces").is_err());
        assert_eq!(Country::parse("us").unwrap().as_ref(), "US");
        assert!(Country::parse("USA").is_err());
    }
}
