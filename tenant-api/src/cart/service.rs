//! Cart rules: who may use a cart, what may be in it, what it costs now.

use std::collections::HashMap;

use platform::{money::Money, problem::FieldError, tenancy::Tenant};

use super::{
    model::{item_id, Cart, CartId, CartView, PricedLine, MAX_LINE_QUANTITY},
    store::{self, Change, LineChange},
    CartState, Error,
};
use crate::{
    catalog::{model::VariantId, pricing},
    checkout::{
        self,
        model::{cheapest, line_total, totals, Code},
    },
    customers::model::{CustomerId, Email},
    inventory::reservations,
    orders::model::OrderId,
};

/// An existing cart as a caller names it: the store, the cart's id and who
/// asks. What every operation on a cart after its creation takes.
pub struct CartAccess<'a> {
    pub state: &'a CartState,
    pub tenant: &'a Tenant,
    pub id: CartId,
    pub caller: Option<CustomerId>,
}

/// A cart the caller may use: a guest cart by its id alone, a customer's cart
/// only with that customer's token. Anything else is "not found".
async fn load(state: &CartState, tenant: &Tenant, id: &CartId, caller: Option<CustomerId>) -> Result<Cart, Error> {
    let mut redis = state.redis.clone();
    let cart = store::load(&mut redis, tenant.id, id, state.ttls).await?.ok_or(Error::NotFound)?;
    match cart.customer {
        Some(owner) if Some(owner) != caller => Err(Error::NotFound),
        _ => Ok(cart),
    }
}

/// Creates a cart: the caller's when signed in, a guest cart otherwise.
pub async fn create(
    state: &CartState,
    tenant: &Tenant,
    caller: Option<CustomerId>,
    email: Option<Email>,
) -> Result<CartView, Error> {
    let cart = Cart {
        id: CartId::new(),
        customer: caller,
        email: email.map(|e| e.as_ref().to_owned()),
        discount_code: None,
        lines: Vec::new(),
        placed_order: None,
    };
    let mut redis = state.redis.clone();
    store::create(&mut redis, tenant.id, &cart, state.ttls).await?;
    view(cart, &Pricing::default())
}

/// A cart at current prices.
pub async fn get(access: CartAccess<'_>) -> Result<CartView, Error> {
    let CartAccess { state, tenant, id, caller } = access;
    let cart = load(state, tenant, &id, caller).await?;
    priced(state, tenant, cart).await
}

/// Adds units of a variant (merging with its line), checked against the
/// per-line limit and the stock available now.
pub async fn add_item(access: CartAccess<'_>, variant: VariantId, quantity: i32) -> Result<CartView, Error> {
    let CartAccess { state, tenant, id, caller } = access;
    let mut cart = load(state, tenant, &id, caller).await?;
    let pricing = fetch_pricing(state, tenant, &cart, Some(variant)).await?;
    if !pricing.on_sale(variant) {
        return Err(not_for_sale());
    }
    let wanted = cart.quantity(variant) + quantity;
    refuse_too_large(&cart, &pricing, variant, wanted)?;
    let change = apply(state, tenant, &cart, variant, quantity, false, &pricing, wanted).await?;
    cart.set(variant, change);
    view(cart, &pricing)
}

/// Sets the quantity of an item.
pub async fn set_item(access: CartAccess<'_>, item: &str, quantity: i32) -> Result<CartView, Error> {
    let CartAccess { state, tenant, id, caller } = access;
    let mut cart = load(state, tenant, &id, caller).await?;
    let variant = cart.variant_of(item).ok_or(Error::ItemNotFound)?;
    let pricing = fetch_pricing(state, tenant, &cart, None).await?;
    if !pricing.on_sale(variant) {
        return Err(not_for_sale());
    }
    refuse_too_large(&cart, &pricing, variant, quantity)?;
    let change = apply(state, tenant, &cart, variant, quantity, true, &pricing, quantity).await?;
    cart.set(variant, change);
    view(cart, &pricing)
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    state: &CartState,
    tenant: &Tenant,
    cart: &Cart,
    variant: VariantId,
    amount: i32,
    set: bool,
    pricing: &Pricing,
    wanted: i32,
) -> Result<i32, Error> {
    let available = pricing.available.get(&variant).copied().unwrap_or(0).max(0);
    let over_line = || {
        Error::Invalid(vec![FieldError::new("quantity", format!("at most {MAX_LINE_QUANTITY} of one item per cart"))])
    };
    if wanted > MAX_LINE_QUANTITY {
        return Err(over_line());
    }
    if wanted > available && wanted > cart.quantity(variant) {
        return Err(Error::InsufficientStock { available });
    }
    let mut redis = state.redis.clone();
    // The script checks again: a concurrent add cannot push the line past either limit.
    let change = LineChange { variant, amount, set, max_line: MAX_LINE_QUANTITY, max_stock: available };
    match store::change_quantity(&mut redis, tenant.id, &cart.id, change).await? {
        Change::Quantity(n) => Ok(n),
        Change::NoCart => Err(Error::NotFound),
        Change::OverLineLimit => Err(over_line()),
        Change::OverStock => Err(Error::InsufficientStock { available }),
    }
}

/// Refuses a quantity whose line or cart amount would pass the bound, before
/// it is written: a cart that could never be read or checked out.
fn refuse_too_large(cart: &Cart, pricing: &Pricing, variant: VariantId, wanted: i32) -> Result<(), Error> {
    let mut after = cart.clone();
    after.set(variant, wanted);
    view(after, pricing).map(drop)
}

fn not_for_sale() -> Error {
    Error::Invalid(vec![FieldError::new("variant_id", "is not for sale in this store")])
}

/// Removes an item.
pub async fn remove_item(access: CartAccess<'_>, item: &str) -> Result<CartView, Error> {
    let CartAccess { state, tenant, id, caller } = access;
    let mut cart = load(state, tenant, &id, caller).await?;
    let variant = cart.variant_of(item).ok_or(Error::ItemNotFound)?;
    let mut redis = state.redis.clone();
    store::remove_lines(&mut redis, tenant.id, &cart.id, &[variant]).await?;
    cart.set(variant, 0);
    priced(state, tenant, cart).await
}

/// Sets or clears the cart's email and discount code.
pub async fn update_details(
    access: CartAccess<'_>,
    email: Option<Option<Email>>,
    discount: Option<Option<Code>>,
) -> Result<CartView, Error> {
    let CartAccess { state, tenant, id, caller } = access;
    let mut cart = load(state, tenant, &id, caller).await?;
    let mut redis = state.redis.clone();
    store::set_details(
        &mut redis,
        tenant.id,
        &cart.id,
        email.as_ref().map(|e| e.as_ref().map(AsRef::as_ref)),
        discount.as_ref().map(|d| d.as_ref().map(AsRef::as_ref)),
    )
    .await?;
    if let Some(email) = email {
        cart.email = email.map(|e| e.as_ref().to_owned());
    }
    let check_code = matches!(discount, Some(Some(_)));
    if let Some(discount) = discount {
        cart.discount_code = discount.map(|d| d.as_ref().to_owned());
    }
    let view = priced(state, tenant, cart).await?;
    if check_code {
        if let Some(reason) = &view.discount_error {
            // Keep the cart usable: the code is not stored when it does not apply.
            store::set_details(&mut redis, tenant.id, &view.cart.id, None, Some(None)).await?;
            return Err(Error::Invalid(vec![FieldError::new("discount_code", reason.clone())]));
        }
    }
    Ok(view)
}

/// The cart checkout will buy, if the caller may use it; `None` is a path
/// that cannot name a cart, "not found" as any other.
pub async fn cart_for_checkout(
    state: &CartState,
    tenant: &Tenant,
    id: Option<&CartId>,
    caller: Option<CustomerId>,
) -> Result<Cart, Error> {
    load(state, tenant, id.ok_or(Error::NotFound)?, caller).await
}

/// Notes on the cart the order checkout placed from it (see
/// [`Cart::placed_order`]).
pub async fn note_placed_order(state: &CartState, tenant: &Tenant, cart: &Cart, order: OrderId) -> Result<(), Error> {
    let mut redis = state.redis.clone();
    store::set_placed_order(&mut redis, tenant.id, &cart.id, order).await?;
    Ok(())
}

/// Deletes a bought cart.
pub async fn clear(state: &CartState, tenant: &Tenant, cart: &Cart) -> Result<(), Error> {
    let mut redis = state.redis.clone();
    store::delete(&mut redis, tenant.id, &cart.id, cart.customer).await?;
    Ok(())
}

/// On sign-in: a guest cart named by the client becomes the customer's cart,
/// or merges into the cart the customer already has. Returns the customer's
/// cart id, if they have one.
pub async fn adopt_on_sign_in(
    state: &CartState,
    tenant: &Tenant,
    customer: CustomerId,
    guest: Option<&CartId>,
) -> Result<Option<CartId>, Error> {
    let mut redis = state.redis.clone();
    let current = store::customer_cart(&mut redis, tenant.id, customer).await?;
    let guest_cart = match guest {
        Some(id) => store::load(&mut redis, tenant.id, id, state.ttls).await?,
        None => None,
    };
    let Some(guest_cart) = guest_cart else {
        return Ok(current);
    };
    match (guest_cart.customer, current) {
        // Someone else's cart: a guest id does not open it.
        (Some(owner), current) if owner != customer => Ok(current),
        (Some(_), _) => Ok(Some(guest_cart.id)),
        (None, Some(current)) if current != guest_cart.id => {
            store::merge(&mut redis, tenant.id, &guest_cart.id, &current, MAX_LINE_QUANTITY).await?;
            Ok(Some(current))
        }
        (None, _) => {
            store::adopt(&mut redis, tenant.id, &guest_cart.id, customer, state.ttls.customer).await?;
            Ok(Some(guest_cart.id))
        }
    }
}

/// Current prices, stock and checkout options for a cart's variants.
#[derive(Default)]
struct Pricing {
    variants: HashMap<VariantId, pricing::SaleVariant>,
    available: HashMap<VariantId, i32>,
    shipping: Vec<checkout::model::ShippingMethod>,
    discount: Option<Result<checkout::model::DiscountCode, checkout::service::DiscountRefusal>>,
}

impl Pricing {
    fn on_sale(&self, variant: VariantId) -> bool {
        self.variants.get(&variant).is_some_and(|v| v.on_sale)
    }
}

/// One tenant transaction: prices, stock, shipping methods and the discount.
/// Every statement is a lookup by ids or by code, so it runs on its generic
/// plan: planned per execution, the price and stock look-ups (arrays of ids)
/// cost PostgreSQL seven times more to plan than to run.
async fn fetch_pricing(
    state: &CartState,
    tenant: &Tenant,
    cart: &Cart,
    extra: Option<VariantId>,
) -> Result<Pricing, Error> {
    let mut ids: Vec<VariantId> = cart.lines.iter().map(|(v, _)| *v).collect();
    ids.extend(extra.filter(|v| !ids.contains(v)));
    let mut tx = state.db.tenant_tx_generic(tenant).await?;
    let (variants, available) = if ids.is_empty() {
        (Vec::new(), HashMap::new())
    } else {
        (pricing::variants_for_sale(&mut tx, &ids).await?, reservations::available(&mut tx, &ids).await?)
    };
    let (shipping, _) = checkout::service::options_for(&mut tx, None, None).await?;
    let subtotal = subtotal(cart, &variants)?;
    let discount = match cart.discount_code.as_deref().map(Code::parse) {
        Some(Ok(code)) => Some(checkout::service::preview(&mut tx, &code, subtotal, tenant.currency).await?),
        Some(Err(_)) => Some(Err(checkout::service::DiscountRefusal::Unknown)),
        None => None,
    };
    drop(tx);
    Ok(Pricing { variants: variants.into_iter().map(|v| (v.variant_id, v)).collect(), available, shipping, discount })
}

fn subtotal(cart: &Cart, variants: &[pricing::SaleVariant]) -> Result<i64, Error> {
    let lines = cart.lines.iter().filter_map(|(id, q)| {
        variants.iter().find(|v| v.variant_id == *id && v.on_sale).map(|v| line_total(v.price.amount, *q))
    });
    lines
        .collect::<Result<Vec<_>, _>>()
        .and_then(checkout::model::sum)
        .map_err(|_| Error::Invalid(vec![crate::wire::quantity_too_large()]))
}

async fn priced(state: &CartState, tenant: &Tenant, cart: Cart) -> Result<CartView, Error> {
    let pricing = fetch_pricing(state, tenant, &cart, None).await?;
    let gone: Vec<VariantId> = cart.lines.iter().map(|(v, _)| *v).filter(|v| !pricing.on_sale(*v)).collect();
    if !gone.is_empty() {
        let mut redis = state.redis.clone();
        store::remove_lines(&mut redis, tenant.id, &cart.id, &gone).await?;
    }
    view(cart, &pricing)
}

/// The cart at current prices; a 422 naming `quantity` when an amount would
/// pass the bound (prices may have risen since the lines were added).
fn view(mut cart: Cart, pricing: &Pricing) -> Result<CartView, Error> {
    let too_large = |_| Error::Invalid(vec![crate::wire::quantity_too_large()]);
    cart.lines.retain(|(v, _)| pricing.on_sale(*v));
    let lines: Vec<PricedLine> = cart
        .lines
        .iter()
        .filter_map(|(variant, quantity)| {
            let v = pricing.variants.get(variant)?;
            let total = match line_total(v.price.amount, *quantity) {
                Ok(total) => Money::new(total, v.price.currency),
                Err(e) => return Some(Err(too_large(e))),
            };
            Some(Ok(PricedLine {
                item_id: item_id(&cart.id, *variant),
                variant_id: *variant,
                title: v.title.clone(),
                sku: v.sku.clone(),
                quantity: *quantity,
                unit_price: v.price,
                total,
                available: pricing.available.get(variant).copied().unwrap_or(0).max(0),
            }))
        })
        .collect::<Result<_, Error>>()?;
    let subtotal = checkout::model::sum(lines.iter().map(|l| l.total.amount)).map_err(too_large)?;
    let (discount, discount_error) = match &pricing.discount {
        Some(Ok(d)) if d.min_subtotal <= subtotal => (Some(d), None),
        Some(Ok(d)) => (None, Some(checkout::service::DiscountRefusal::BelowMinimum(d.min_subtotal).to_string())),
        Some(Err(refusal)) => (None, Some(refusal.to_string())),
        None => (None, None),
    };
    let goods = subtotal - discount.map_or(0, |d| d.amount_off(subtotal));
    let shipping = if lines.is_empty() { None } else { cheapest(&pricing.shipping, goods) };
    let totals = totals(subtotal, discount, shipping, None).map_err(too_large)?;
    Ok(CartView { applied_discount: discount.map(|d| d.code.clone()), cart, lines, totals, discount_error })
}
