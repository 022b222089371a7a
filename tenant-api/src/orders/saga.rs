//! The checkout saga.
//!
//! 1. One tenant transaction: re-read prices (catalog), shipping and tax
//!    (checkout options), hold stock (inventory; one conditional update for
//!    every line), redeem the discount (one conditional update), number and
//!    insert the order `pending_payment` with `order.created`. Locks are taken
//!    in one order everywhere — stock rows by variant id, the discount row, the
//!    order counter — and a sold-out attempt fails before the counter.
//! 2. Charge through the store's provider with the order id as idempotency key.
//! 3. One tenant transaction: `paid` + commit the stock + `order.paid`, or
//!    `payment_failed` + release the stock and the discount use. A charge
//!    that is not final (3-D Secure to finish, or processing) leaves the
//!    order `pending_payment` with its hold: the checkout answers that it
//!    waits, and a webhook, the worker or the hold's expiry settles it.
//! 4. Delete the cart (paid, or waiting on the payment).
//!
//! A provider whose ledger is in the store's cell (the built-in test
//! provider) charges by writing a row there, so 1 to 3 are one transaction:
//! the order is placed, charged and settled, or nothing is, and the cart
//! notes the order before that transaction starts. The charge is written
//! before the order is numbered, so a paid order is inserted `paid` and the
//! store's order counter is held only for that insert and the commit, which
//! lets go of its locks before its flush (see [`place_in`], [`IN_CELL_TX`]).
//!
//! The cart notes the order placed from it (between 1 and 2), so a later
//! checkout of the same cart — with another key, or after its idempotency
//! record is gone — is refused while that order waits for its charge and once
//! it is paid (by this saga, the worker or a webhook): a cart pays once.
//!
//! A crash after 1 leaves an order `pending_payment` holding stock: a retry
//! with the same `Idempotency-Key` resumes it (same order id, so the charge
//! cannot happen twice), the worker finishes it from the provider's record of
//! the charge, and if nobody ever charged it the hold expires and the stock
//! comes back.
//!
//! A store whose provider account keeps failing (its circuit is open, see
//! `payments::breaker`) is answered `503` with `Retry-After` before step 1:
//! nothing is held and the provider is not called.

use std::collections::HashMap;

use platform::{
    db::{TenantTx, TxSettings},
    money::Money,
    problem::FieldError,
    tenancy::Tenant,
};

use super::{
    model::{Order, OrderId, OrderLine, OrderStatus, PaymentAction, Placed},
    refunds,
    repo::{self, NewOrder},
    service, Error, OrdersState,
};
use crate::{
    cart::{self, model::CartId},
    catalog::{model::VariantId, pricing},
    checkout::{
        self,
        model::{cheapest, line_total, totals, Code, ShippingMethodId},
    },
    customers::model::{Address, CustomerId, Email},
    inventory::reservations,
    payments::{self, model::ChargeOutcome, provider::Charge, Merchant, PaymentProvider, ProviderKind},
};

/// How the saga's transactions begin: every statement in them is a lookup or
/// a write by tenant and id (several take arrays of ids), whose generic plan
/// is the plan, so none is planned again per checkout.
const CHECKOUT_TX: TxSettings = TxSettings { deferred_commit: false, generic_plans: true };

/// The transaction that charges through a provider whose ledger is in the
/// store's cell, and settles the order: committed without waiting for its
/// flush, then flushed before anyone hears of it
/// ([`TenantTx::commit_then_flush`]), so its locks on the stock rows and the
/// store's order counter are not held through an `fsync`.
const IN_CELL_TX: TxSettings = TxSettings { deferred_commit: true, generic_plans: true };

/// A parsed checkout request.
#[derive(Debug)]
pub struct Checkout {
    /// The cart to buy; `None` when the path cannot name a cart (answered as
    /// "not found" where the cart is read, after the other checks).
    pub cart_id: Option<CartId>,
    /// The signed-in customer, if any.
    pub customer: Option<CustomerId>,
    /// Buyer's email (else the cart's, else the customer's).
    pub email: Option<Email>,
    /// Where to ship.
    pub address: Address,
    /// The provider the shopper pays through (must be the store's).
    pub payment_provider: ProviderKind,
    /// The shopper's payment token for the provider.
    pub payment_token: String,
    /// A chosen shipping method (else the cheapest).
    pub shipping_method: Option<ShippingMethodId>,
    /// A discount code (else the cart's).
    pub discount_code: Option<Code>,
}

/// Runs the saga for `order_id`. With `resume`, an order of that id may
/// exist already (an earlier attempt died): it is carried on, not redone.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id, order_id = %order_id))]
pub async fn run(
    state: &OrdersState,
    tenant: &Tenant,
    order_id: OrderId,
    request: Checkout,
    resume: bool,
) -> Result<Placed, Error> {
    // The store's provider is read while the cart loads (one round trip each, in parallel).
    let (provider, cart) = tokio::join!(
        state.payments.for_store(tenant),
        cart::service::cart_for_checkout(&state.cart, tenant, request.cart_id.as_ref(), request.customer)
    );
    let provider = provider?.map_err(Error::PaymentUnavailable)?;
    if request.payment_provider != provider.kind() {
        return Err(Error::Invalid(vec![FieldError::new(
            "payment.provider",
            format!("must be {}, this store's provider", provider.kind().as_str()),
        )]));
    }
    // A provider account that keeps failing is not asked, and no stock is held for it.
    state.payments.breakers.check(tenant.id, provider.kind())?;
    if resume {
        let mut tx = state.db.tenant_tx(tenant).await?;
        let existing = repo::find_order(&mut tx, order_id).await?;
        drop(tx);
        if let Some(order) = existing {
            let order = carry_on(state, tenant, provider.as_ref(), order, &request.payment_token).await?;
            if let Ok(cart) = &cart {
                cart::service::clear(&state.cart, tenant, cart).await?;
            }
            return Ok(order);
        }
    }
    let cart = cart?;
    if cart.lines.is_empty() {
        return Err(Error::EmptyCart);
    }
    if let Some(previous) = cart.placed_order.filter(|p| *p != order_id) {
        refuse_if_bought(state, tenant, &cart, previous).await?;
    }
    if provider.ledger_in_cell() {
        // The cart names the order before its one transaction can commit it paid.
        cart::service::note_placed_order(&state.cart, tenant, &cart, order_id).await?;
        let order = place_and_charge(state, tenant, provider.as_ref(), order_id, &request, &cart).await?;
        cart::service::clear(&state.cart, tenant, &cart).await?;
        return Ok(order);
    }
    let order = place(state, tenant, order_id, &request, &cart).await?;
    cart::service::note_placed_order(&state.cart, tenant, &cart, order_id).await?;
    let order = match charge(state, tenant, provider.as_ref(), order, &request.payment_token).await {
        Err(refused @ Error::ProviderFailing { .. }) => {
            // The circuit opened since the check above. The provider was not
            // called, and nothing else charges an order this attempt placed,
            // so its hold is released now rather than at its expiry.
            let mut tx = state.db.tenant_tx(tenant).await?;
            service::mark_failed(&mut tx, order_id, "provider_unavailable").await?;
            tx.commit().await?;
            return Err(refused);
        }
        charged => charged?,
    };
    cart::service::clear(&state.cart, tenant, &cart).await?;
    Ok(order)
}

/// A cart whose last order is waiting for its charge, or was paid, is not
/// bought again; after a decline, a cancellation or an expiry it may be.
async fn refuse_if_bought(
    state: &OrdersState,
    tenant: &Tenant,
    cart: &cart::model::Cart,
    previous: OrderId,
) -> Result<(), Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let status = repo::find_order(&mut tx, previous).await?.map(|o| o.status);
    drop(tx);
    match status {
        // Never placed (lost with its deferred commit), or nothing was kept.
        None | Some(OrderStatus::PaymentFailed | OrderStatus::Cancelled) => Ok(()),
        // Another attempt, the worker or a webhook settles it first.
        Some(OrderStatus::PendingPayment) => Err(Error::CheckoutInProgress),
        Some(_) => {
            // Paid, but settled where the cart was not at hand.
            cart::service::clear(&state.cart, tenant, cart).await?;
            Err(Error::CartCheckedOut { order_id: previous })
        }
    }
}

/// Step 1 in a transaction of its own, committed before an external
/// provider is asked to charge.
async fn place(
    state: &OrdersState,
    tenant: &Tenant,
    order_id: OrderId,
    request: &Checkout,
    cart: &cart::model::Cart,
) -> Result<Order, Error> {
    let mut tx = state.db.tenant_tx_with(tenant, CHECKOUT_TX).await?;
    let (order, _) = place_in(&mut tx, state, tenant, order_id, request, cart, None).await?;
    tx.commit().await?;
    Ok(order)
}

/// Steps 1 to 3 in one transaction, for a provider whose ledger is in the
/// store's cell (its charge is a row beside the order): the order is placed,
/// charged and settled, or nothing is. Nothing outside the cell is called
/// while its locks are held, so there is no reason for a second transaction;
/// one commit makes the order, its stock and its charge durable together.
async fn place_and_charge(
    state: &OrdersState,
    tenant: &Tenant,
    provider: &dyn PaymentProvider,
    order_id: OrderId,
    request: &Checkout,
    cart: &cart::model::Cart,
) -> Result<Placed, Error> {
    let mut tx = state.db.tenant_tx_with(tenant, IN_CELL_TX).await?;
    let charge = Some((provider, request.payment_token.as_str()));
    let placed = match place_in(&mut tx, state, tenant, order_id, request, cart, charge).await? {
        (order, Some(ChargeOutcome::Succeeded { .. })) => Ok(Placed::Done(order)),
        (order, Some(ChargeOutcome::Declined { code })) => {
            mark_declined(&mut tx, order.id, &code).await?;
            Err(Error::PaymentDeclined { order_id: order.id, code })
        }
        (order, Some(waiting)) => Ok(waiting_for(order, waiting)),
        (_, None) => return Err(Error::Internal(anyhow::anyhow!("a placed order's charge has no outcome"))),
    };
    tx.commit_then_flush().await?;
    placed
}

/// Step 1, in `tx`: validate, hold stock, redeem the discount, insert the order.
///
/// With `charge` (a provider whose ledger is in the cell, and the token),
/// the order is charged in `tx` before it is numbered, and its outcome is
/// returned beside it: after a successful charge the order is inserted
/// `paid`, its held stock sold in the same statement, so the store's order
/// counter is the last lock taken and is held for nothing but the insert and
/// the commit; any other outcome inserts it `pending_payment` for the caller
/// to settle.
async fn place_in(
    tx: &mut TenantTx,
    state: &OrdersState,
    tenant: &Tenant,
    order_id: OrderId,
    request: &Checkout,
    cart: &cart::model::Cart,
    charge: Option<(&dyn PaymentProvider, &str)>,
) -> Result<(Order, Option<ChargeOutcome>), Error> {
    let ids: Vec<VariantId> = cart.lines.iter().map(|(v, _)| *v).collect();

    let variants: HashMap<VariantId, pricing::SaleVariant> =
        pricing::variants_for_sale(tx, &ids).await?.into_iter().map(|v| (v.variant_id, v)).collect();
    let unavailable: Vec<VariantId> = ids
        .iter()
        .copied()
        .filter(|id| variants.get(id).is_none_or(|v| !v.on_sale || v.price.currency != tenant.currency))
        .collect();
    if !unavailable.is_empty() {
        return Err(Error::ItemsUnavailable(unavailable));
    }
    // Amounts past the bound are refused before any stock is held.
    let too_large = |_| Error::Invalid(vec![crate::wire::quantity_too_large()]);
    let lines: Vec<OrderLine> = cart
        .lines
        .iter()
        .enumerate()
        .map(|(n, (id, quantity))| {
            let v = &variants[id];
            Ok(OrderLine {
                line_no: i32::try_from(n).unwrap_or(i32::MAX),
                variant_id: *id,
                product_id: v.product_id,
                sku: v.sku.clone(),
                title: v.title.clone(),
                quantity: *quantity,
                unit_price: v.price,
                total: Money::new(line_total(v.price.amount, *quantity).map_err(too_large)?, v.price.currency),
            })
        })
        .collect::<Result<_, Error>>()?;
    let subtotal = checkout::model::sum(lines.iter().map(|l| l.total.amount)).map_err(too_large)?;

    let email = match (&request.email, &cart.email, request.customer) {
        (Some(email), _, _) => email.as_ref().to_owned(),
        (None, Some(email), _) => email.clone(),
        (None, None, Some(customer)) => match crate::customers::service::customer(tx, customer).await {
            Ok(found) => found.email,
            Err(crate::customers::Error::NotFound) => {
                return Err(Error::Invalid(vec![FieldError::new("email", "is required")]))
            }
            Err(e) => return Err(Error::Internal(anyhow::anyhow!("{e}"))),
        },
        (None, None, None) => return Err(Error::Invalid(vec![FieldError::new("email", "is required")])),
    };

    let (methods, tax) =
        checkout::service::options_for(tx, Some(&request.address.country), request.address.region.as_deref()).await?;

    // Stock first: most refusals under contention happen here, before any
    // other lock. Charged in this transaction, the order holds nothing: its
    // stock rows stay locked until the commit, and a paid order's insert
    // sells the units (one write a row, not a hold and then a sale); an
    // order left unpaid holds them after its charge. Charged later, by a
    // provider outside the cell, the hold commits before the call.
    let held: Vec<(VariantId, i32)> = cart.lines.clone();
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(state.reservation_ttl_secs as i64);
    let short = match charge {
        Some(_) => reservations::lock_available(tx, &held).await?,
        None => reservations::reserve(tx, order_id.as_uuid(), &held, expires_at).await?,
    };
    if !short.is_empty() {
        return Err(Error::OutOfStock(short));
    }

    let code =
        request.discount_code.clone().or_else(|| cart.discount_code.as_deref().and_then(|c| Code::parse(c).ok()));
    let discount = match &code {
        Some(code) => {
            Some(checkout::service::redeem(tx, code, subtotal, tenant.currency).await?.map_err(Error::Discount)?)
        }
        None => None,
    };
    let goods = subtotal - discount.as_ref().map_or(0, |d| d.amount_off(subtotal));
    let shipping = match request.shipping_method {
        Some(id) => Some(methods.iter().find(|m| m.id == id).ok_or_else(|| {
            Error::Invalid(vec![FieldError::new("shipping_method_id", "is not a shipping method of this store")])
        })?),
        None => cheapest(&methods, goods),
    };
    let totals = totals(subtotal, discount.as_ref(), shipping, tax.as_ref()).map_err(too_large)?;

    let outcome = match charge {
        Some((provider, token)) => {
            let charge = Charge { order: order_id, amount: Money::new(totals.total, tenant.currency), token };
            Some(provider.charge_in(tx, charge).await.map_err(|e| Error::from_provider(order_id, e))?)
        }
        None => None,
    };
    let paid = matches!(outcome, Some(ChargeOutcome::Succeeded { .. }));
    if outcome.is_some() && !paid {
        // Declined or waiting: held like any unpaid order, for the decline's
        // release or the settlement's sale to move. The rows are still
        // locked and were free, so nothing can be short here.
        let short = reservations::reserve(tx, order_id.as_uuid(), &held, expires_at).await?;
        if !short.is_empty() {
            return Err(Error::Internal(anyhow::anyhow!("locked free stock could not be held: {short:?}")));
        }
    }
    let new = NewOrder {
        id: order_id,
        customer_id: request.customer,
        email: &email,
        currency: tenant.currency,
        totals,
        discount: discount.as_ref().map(|d| (d.id, d.code.as_str())),
        shipping: shipping.map(|m| (m.id, m.name.as_str())),
        address: &request.address,
        lines: &lines,
        paid,
    };
    let (number, created_at) = repo::insert_order(tx, &new).await?;

    let order = Order {
        id: order_id,
        number,
        status: if paid { OrderStatus::Paid } else { OrderStatus::PendingPayment },
        customer_id: request.customer,
        email,
        totals,
        refunded_total: 0,
        currency: tenant.currency,
        discount_code: discount.as_ref().map(|d| d.code.clone()),
        discount_code_id: discount.as_ref().map(|d| d.id),
        shipping_method: shipping.map(|m| m.name.clone()),
        shipping_address: request.address.clone(),
        tracking_number: None,
        carrier: None,
        cancel_reason: None,
        lines,
        created_at,
        paid_at: paid.then_some(created_at),
        fulfilled_at: None,
        delivered_at: None,
        cancelled_at: None,
    };
    Ok((order, outcome))
}

/// Steps 2 and 3: charge, then mark paid or failed (or leave it waiting).
async fn charge(
    state: &OrdersState,
    tenant: &Tenant,
    provider: &dyn PaymentProvider,
    order: Order,
    token: &str,
) -> Result<Placed, Error> {
    if provider.ledger_in_cell() {
        return charge_in_cell(state, tenant, provider, order, token).await;
    }
    let merchant = Merchant { tenant_id: tenant.id, cell: state.db.cell(&tenant.cell_id).await? };
    let charge = Charge { order: order.id, amount: order.money(order.totals.total), token };
    let code = match provider.charge(&merchant, charge).await.map_err(|e| Error::from_provider(order.id, e))? {
        ChargeOutcome::Succeeded { .. } => {
            let mut tx = state.db.tenant_tx_with(tenant, CHECKOUT_TX).await?;
            if !provider.records_payments() {
                let succeeded = ChargeOutcome::succeeded_unrecorded();
                let amount = order.money(order.totals.total);
                payments::repo::record_outcome(&mut tx, order.id, provider.kind(), amount, &succeeded).await?;
            }
            return match settle_paid(&mut tx, order).await? {
                Settled::Paid(order) => {
                    tx.commit().await?;
                    Ok(Placed::Done(order))
                }
                Settled::Already(order) => Ok(Placed::Done(order)),
                Settled::Stopped(order_id) => {
                    // The money is given back: a pending refund recorded with the
                    // order's state read under its lock, then asked for now (the
                    // worker settles it if the provider gives no answer).
                    let refund = refunds::give_back(&mut tx, order_id).await?;
                    tx.commit().await?;
                    if let Some(refund) = refund {
                        refunds::settle_now(&state.payments, tenant, refund).await?;
                    }
                    Err(Error::CheckoutExpired { order_id })
                }
            };
        }
        ChargeOutcome::Declined { code } => code,
        waiting @ (ChargeOutcome::RequiresAction { .. } | ChargeOutcome::Processing) => {
            if !provider.records_payments() {
                let mut tx = state.db.tenant_tx(tenant).await?;
                let amount = order.money(order.totals.total);
                payments::repo::record_outcome(&mut tx, order.id, provider.kind(), amount, &waiting).await?;
                tx.commit().await?;
            }
            return Ok(waiting_for(order, waiting));
        }
    };
    let mut tx = state.db.tenant_tx(tenant).await?;
    if !provider.records_payments() {
        let declined = ChargeOutcome::Declined { code: code.clone() };
        payments::repo::record_outcome(&mut tx, order.id, provider.kind(), order.money(order.totals.total), &declined)
            .await?;
    }
    declined(tx, order.id, code).await
}

/// Steps 2 and 3 in one transaction, for a provider whose ledger is in the
/// store's cell: the charge is written with the order's new state and
/// commits with it, or neither does. An order that stopped waiting (its hold
/// expired, or it was cancelled) is not charged at all: the transaction that
/// wrote the charge rolls back, so no money moved and none goes back.
async fn charge_in_cell(
    state: &OrdersState,
    tenant: &Tenant,
    provider: &dyn PaymentProvider,
    order: Order,
    token: &str,
) -> Result<Placed, Error> {
    let tx = state.db.tenant_tx_with(tenant, IN_CELL_TX).await?;
    charge_and_settle(tx, provider, order, token).await
}

/// Steps 2 and 3 in `tx` (begun with [`IN_CELL_TX`]), for a provider whose
/// ledger is in the store's cell. The commit lets go of the locks before its
/// flush and the answer waits for the flush ([`TenantTx::commit_then_flush`]).
async fn charge_and_settle(
    mut tx: TenantTx,
    provider: &dyn PaymentProvider,
    order: Order,
    token: &str,
) -> Result<Placed, Error> {
    let charge = Charge { order: order.id, amount: order.money(order.totals.total), token };
    let placed = match provider.charge_in(&mut tx, charge).await.map_err(|e| Error::from_provider(order.id, e))? {
        ChargeOutcome::Succeeded { .. } => match settle_paid(&mut tx, order).await? {
            Settled::Paid(order) => Ok(Placed::Done(order)),
            Settled::Already(order) => return Ok(Placed::Done(order)),
            Settled::Stopped(order_id) => return Err(Error::CheckoutExpired { order_id }),
        },
        ChargeOutcome::Declined { code } => {
            mark_declined(&mut tx, order.id, &code).await?;
            Err(Error::PaymentDeclined { order_id: order.id, code })
        }
        waiting @ (ChargeOutcome::RequiresAction { .. } | ChargeOutcome::Processing) => Ok(waiting_for(order, waiting)),
    };
    tx.commit_then_flush().await?;
    placed
}

/// A charge that waits on the shopper or on the provider: the order keeps its hold.
fn waiting_for(order: Order, waiting: ChargeOutcome) -> Placed {
    let action = match waiting {
        ChargeOutcome::RequiresAction { client_secret, next_action } => {
            Some(PaymentAction { client_secret, next_action })
        }
        _ => None,
    };
    Placed::Waiting(order, action)
}

/// Step 3 of a declined charge: `payment_failed`, the hold and the discount use released.
async fn declined(mut tx: TenantTx, order_id: OrderId, code: String) -> Result<Placed, Error> {
    mark_declined(&mut tx, order_id, &code).await?;
    tx.commit().await?;
    Err(Error::PaymentDeclined { order_id, code })
}

/// [`declined`]'s writes, in the caller's transaction.
async fn mark_declined(tx: &mut TenantTx, order_id: OrderId, code: &str) -> Result<(), Error> {
    if service::mark_failed(tx, order_id, code).await?.is_none() {
        tracing::warn!(%order_id, "declined order was no longer pending");
    }
    Ok(())
}

/// What step 3 of a successful charge found.
enum Settled {
    /// `pending_payment → paid` in the caller's transaction (to commit).
    Paid(Order),
    /// Already paid (another attempt, the worker or a webhook): nothing to write.
    Already(Order),
    /// Expired or cancelled while the charge ran: the charge must not stand.
    Stopped(OrderId),
}

/// Step 3 of a successful charge, in `tx`: `paid` if the order, read under
/// its lock, still waits for payment.
async fn settle_paid(tx: &mut TenantTx, mut order: Order) -> Result<Settled, Error> {
    if let Some(done) = service::mark_paid(tx, order.id).await? {
        order.status = OrderStatus::Paid;
        order.paid_at = Some(done.at);
        return Ok(Settled::Paid(order));
    }
    let current = repo::find_order(tx, order.id).await?.ok_or(Error::OrderNotFound)?;
    Ok(if current.status == OrderStatus::Paid { Settled::Already(current) } else { Settled::Stopped(order.id) })
}

/// An earlier attempt placed this order and died: finish it from where it is.
async fn carry_on(
    state: &OrdersState,
    tenant: &Tenant,
    provider: &dyn PaymentProvider,
    order: Order,
    token: &str,
) -> Result<Placed, Error> {
    match order.status {
        OrderStatus::PendingPayment => {
            // The charge is idempotent by order id: if the dead attempt charged,
            // this returns that charge instead of making another.
            charge(state, tenant, provider, order, token).await
        }
        OrderStatus::PaymentFailed => Err(Error::PaymentDeclined { order_id: order.id, code: "declined".into() }),
        OrderStatus::Cancelled => Err(Error::CheckoutExpired { order_id: order.id }),
        _ => Ok(Placed::Done(order)),
    }
}
