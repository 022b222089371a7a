//! Cart domain types.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use platform::money::Money;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::{catalog::model::VariantId, checkout::model::Totals, customers::model::CustomerId, orders::model::OrderId};

/// Most units of one variant a cart line may hold.
pub const MAX_LINE_QUANTITY: i32 = 99;

/// A cart id: 192 random bits, base64url. For a guest cart it is the only
/// credential, so it must not be guessable (a UUIDv7 would not do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CartId(String);

impl CartId {
    /// A new random id.
    pub fn new() -> Self {
        let mut bytes = [0u8; 24];
        OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Parses an id from a path; `None` when it cannot be one we issued.
    pub fn parse(value: &str) -> Option<Self> {
        let ok = value.len() == 32 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(value.to_owned()))
    }
}

impl Default for CartId {
    fn default() -> Self {
        Self::new()
    }
}

impl AsRef<str> for CartId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// How long carts live after their last use, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Ttls {
    pub guest: u64,
    pub customer: u64,
}

/// A cart as stored: who owns it and how many of each variant.
#[derive(Clone, Debug)]
pub struct Cart {
    pub id: CartId,
    /// The customer who owns it; `None` for a guest cart.
    pub customer: Option<CustomerId>,
    /// Email given for a guest.
    pub email: Option<String>,
    /// Discount code to apply.
    pub discount_code: Option<String>,
    /// Quantities by variant, ordered by variant id.
    pub lines: Vec<(VariantId, i32)>,
    /// The last order checkout placed from this cart: while it waits for its
    /// charge, or once it is paid, the cart is not checked out again.
    pub placed_order: Option<OrderId>,
}

impl Cart {
    /// The quantity of a variant in the cart (0 when absent).
    pub fn quantity(&self, variant: VariantId) -> i32 {
        self.lines.iter().find(|(v, _)| *v == variant).map_or(0, |(_, q)| *q)
    }

    /// Sets a line's quantity (0 removes it), keeping lines ordered.
    pub fn set(&mut self, variant: VariantId, quantity: i32) {
        self.lines.retain(|(v, _)| *v != variant);
        if quantity > 0 {
            self.lines.push((variant, quantity));
            self.lines.sort_by_key(|(v, _)| *v);
        }
    }

    /// The variant an item id names.
    pub fn variant_of(&self, item: &str) -> Option<VariantId> {
        self.lines.iter().map(|(v, _)| *v).find(|v| item_id(&self.id, *v) == item)
    }
}

/// A line's public id: opaque, stable for the cart and variant.
pub fn item_id(cart: &CartId, variant: VariantId) -> String {
    let digest = Sha256::new().chain_update(cart.as_ref()).chain_update(variant.as_uuid().as_bytes()).finalize();
    format!("ci_{}", hex::encode(&digest[..12]))
}

/// A line at current prices.
#[derive(Clone, Debug)]
pub struct PricedLine {
    /// See [`item_id`].
    pub item_id: String,
    pub variant_id: VariantId,
    pub title: String,
    pub sku: String,
    pub quantity: i32,
    /// Current unit price.
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub total: Money,
    /// Units available now (may be fewer than `quantity`: checkout will refuse).
    pub available: i32,
}

/// A cart with current prices and totals.
#[derive(Clone, Debug)]
pub struct CartView {
    /// The stored cart.
    pub cart: Cart,
    /// Lines at current prices (variants no longer on sale are gone).
    pub lines: Vec<PricedLine>,
    /// Totals estimated without an address (tax is computed at checkout).
    pub totals: Totals,
    /// The discount code applied, when it applies.
    pub applied_discount: Option<String>,
    /// Why the cart's discount code does not apply, when it does not.
    pub discount_error: Option<String>,
}
