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
            // In i128: percent is 0..=100, so the result is at most `subtotal`.
            DiscountKind::Percentage(percent) => i64::try_from(i128::from(subtotal) * i128::from(percent) / 100)
                .map_or(subtotal, |off| off.min(subtotal)),
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

/// An amount that would pass [`Money::MAX_AMOUNT`] (a line, a subtotal or a
/// total): refused as a 422, never wrapped or saturated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge;

/// `amount` if it is within `0..=Money::MAX_AMOUNT`. Money arithmetic runs in
/// i128 (no operand is past i64) and comes back through here.
fn bounded(amount: i128) -> Result<i64, TooLarge> {
    i64::try_from(amount).ok().filter(|a| (0..=Money::MAX_AMOUNT).contains(a)).ok_or(TooLarge)
}

/// A line's total, `unit × quantity`.
pub fn line_total(unit: i64, quantity: i32) -> Result<i64, TooLarge> {
    bounded(i128::from(unit) * i128::from(quantity))
}

/// The sum of line totals.
pub fn sum(amounts: impl IntoIterator<Item = i64>) -> Result<i64, TooLarge> {
    amounts.into_iter().try_fold(0, |sum, amount| bounded(i128::from(sum) + i128::from(amount)))
}

/// Rounds `numerator / denominator` half up (both non-negative).
fn div_round(numerator: i128, denominator: i128) -> i128 {
    (numerator * 2 + denominator) / (denominator * 2)
}

/// The one place totals are computed. Discounts apply to goods; shipping's
/// free threshold and tax look at goods after the discount; tax is not charged
/// on shipping. `TooLarge` when the subtotal or the total is past the bound.
pub fn totals(
    subtotal: i64,
    discount: Option<&DiscountCode>,
    shipping: Option<&ShippingMethod>,
    tax: Option<&TaxRate>,
) -> Result<Totals, TooLarge> {
    let subtotal = bounded(subtotal.into())?;
    // At most the subtotal, so goods stay within 0..=subtotal.
    let discount = discount.map_or(0, |d| d.amount_off(subtotal));
    let goods = i128::from(subtotal - discount);
    let shipping = bounded(shipping.map_or(0, |m| m.cost(subtotal - discount)).into())?;
    let (tax, inclusive) = match tax {
        None => (0, false),
        Some(rate) if rate.inclusive => {
            let bps = i128::from(rate.rate_bps);
            (goods - div_round(goods * 10_000, 10_000 + bps), true)
        }
        Some(rate) => (div_round(goods * i128::from(rate.rate_bps), 10_000), false),
    };
    let total = bounded(goods + i128::from(shipping) + if inclusive { 0 } else { tax })?;
    let tax = bounded(tax)?;
    Ok(Totals { subtotal, discount, shipping, tax, total, tax_inclusive: inclusive })
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
        let t = totals(10_000, Some(&code(DiscountKind::Percentage(10))), None, Some(&rate(825, false))).unwrap();
        assert_eq!((t.discount, t.tax, t.total), (1_000, 743, 9_743));
    }

    #[test]
    fn inclusive_tax_is_the_part_of_the_price_and_adds_nothing() {
        let t = totals(12_000, None, None, Some(&rate(2_000, true))).unwrap();
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
        assert_eq!(totals(5_000, None, Some(&method), None).unwrap().shipping, 0);
        let t = totals(5_000, Some(&code(DiscountKind::Fixed(100))), Some(&method), None).unwrap();
        assert_eq!((t.shipping, t.total), (500, 5_400));
    }

    #[test]
    fn a_fixed_discount_never_exceeds_the_subtotal() {
        assert_eq!(totals(300, Some(&code(DiscountKind::Fixed(1_000))), None, None).unwrap().total, 0);
    }

    #[test]
    fn line_totals_and_sums_past_the_bound_are_refused_not_wrapped() {
        assert_eq!(line_total(Money::MAX_AMOUNT, 1), Ok(Money::MAX_AMOUNT));
        assert_eq!(line_total(Money::MAX_AMOUNT, 10), Err(TooLarge));
        assert_eq!(line_total(i64::MAX, i32::MAX), Err(TooLarge));
        assert_eq!(sum([Money::MAX_AMOUNT - 1, 1]), Ok(Money::MAX_AMOUNT));
        assert_eq!(sum([Money::MAX_AMOUNT, 1]), Err(TooLarge));
        assert_eq!(sum([i64::MAX, i64::MAX]), Err(TooLarge));
    }

    #[test]
    fn totals_past_the_bound_are_refused_not_wrapped() {
        let max = Money::MAX_AMOUNT;
        assert_eq!(totals(max + 1, None, None, None), Err(TooLarge));
        assert_eq!(totals(i64::MAX, Some(&code(DiscountKind::Percentage(50))), None, None), Err(TooLarge));
        assert_eq!(totals(i64::MAX, None, None, Some(&rate(10_000, false))), Err(TooLarge));
        let method = ShippingMethod {
            id: ShippingMethodId::new(),
            name: "Std".into(),
            price: usd(1),
            free_over: None,
            active: true,
        };
        assert_eq!(totals(max, None, Some(&method), None), Err(TooLarge), "shipping on top");
        assert_eq!(totals(max, None, None, Some(&rate(825, false))), Err(TooLarge), "tax on top");
        let inclusive = totals(max, None, None, Some(&rate(2_000, true))).unwrap();
        assert_eq!((inclusive.total, inclusive.tax), (max, 166_666_666_667), "inside the price: still fits");
        let discounted = totals(max, Some(&code(DiscountKind::Percentage(10))), None, Some(&rate(1_000, false)));
        assert_eq!(discounted.unwrap().total, 990_000_000_000);
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
