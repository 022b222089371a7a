//! A second payment provider, written outside the crate against the public
//! `PaymentProvider` trait only: a deterministic "slow bank" that settles
//! asynchronously and keeps its own books in memory (as any bank outside our
//! database does). Checkout, recovery, refunds and their settlement run
//! through it end to end, showing none of them depends on Stripe's specifics
//! or on a provider that writes our tables.
//!
//! The bank: `tok_success` is accepted as `processing` and clears at the
//! first look-up after it; `tok_decline` is declined at once; a refund is
//! `pending` when first asked and paid back when asked again. Every call is
//! idempotent by order id (charges) or refund id (refunds).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tenant_api::{
    orders::model::OrderId,
    payments::{
        model::{ChargeOutcome, PaymentId, RefundId},
        provider::{Answer, Charge, Merchant, PaymentProvider, Refund, RefundOutcome},
        ProviderKind,
    },
};

use crate::helpers::{checkout_body, spawn_app_with_provider, TestApp, TestStore};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cleared {
    No,
    Yes,
    Cancelled,
}

#[derive(Default)]
struct Books {
    /// Order → (amount, cleared?).
    charges: HashMap<OrderId, (i64, Cleared)>,
    /// Refund → (order, amount, asked how often).
    refunds: HashMap<RefundId, (OrderId, i64, u32)>,
}

#[derive(Default)]
struct SlowBank {
    books: Mutex<Books>,
}

impl SlowBank {
    /// What it paid back in all (refunds asked at least twice).
    fn paid_back(&self) -> (i64, usize) {
        let books = self.books.lock().unwrap();
        let paid: Vec<i64> = books.refunds.values().filter(|r| r.2 >= 2).map(|r| r.1).collect();
        (paid.iter().sum(), paid.len())
    }
}

impl PaymentProvider for SlowBank {
    fn kind(&self) -> ProviderKind {
        // It takes the built-in provider's place: stores set to `test` use it.
        ProviderKind::Test
    }

    fn charge<'a>(&'a self, _: &'a Merchant, charge: Charge<'a>) -> Answer<'a, ChargeOutcome> {
        Box::pin(async move {
            if charge.token != "tok_success" {
                return Ok(ChargeOutcome::Declined { code: "card_declined".into() });
            }
            let mut books = self.books.lock().unwrap();
            let (_, cleared) = *books.charges.entry(charge.order).or_insert((charge.amount.amount, Cleared::No));
            Ok(match cleared {
                Cleared::Yes => ChargeOutcome::Succeeded { payment_id: PaymentId::new() },
                Cleared::Cancelled => ChargeOutcome::Declined { code: "canceled".into() },
                Cleared::No => ChargeOutcome::Processing,
            })
        })
    }

    fn lookup<'a>(&'a self, _: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        Box::pin(async move {
            let mut books = self.books.lock().unwrap();
            let Some(charge) = books.charges.get_mut(&order) else { return Ok(None) };
            // Cleared overnight: by the time anyone asks.
            if charge.1 == Cleared::No {
                charge.1 = Cleared::Yes;
            }
            Ok(Some(match charge.1 {
                Cleared::Cancelled => ChargeOutcome::Declined { code: "canceled".into() },
                _ => ChargeOutcome::Succeeded { payment_id: PaymentId::new() },
            }))
        })
    }

    fn refund<'a>(&'a self, _: &'a Merchant, refund: Refund<'a>) -> Answer<'a, RefundOutcome> {
        Box::pin(async move {
            let mut books = self.books.lock().unwrap();
            let charged = match books.charges.get(&refund.order) {
                Some((amount, Cleared::Yes)) => *amount,
                _ => return Ok(RefundOutcome::Failed { code: "not_charged".into() }),
            };
            let others: i64 =
                books.refunds.iter().filter(|(id, r)| **id != refund.id && r.0 == refund.order).map(|(_, r)| r.1).sum();
            if others + refund.amount.amount > charged {
                return Ok(RefundOutcome::Failed { code: "amount_too_large".into() });
            }
            let entry = books.refunds.entry(refund.id).or_insert((refund.order, refund.amount.amount, 0));
            entry.2 += 1;
            let reference = Some(format!("slow_re_{}", refund.id));
            Ok(if entry.2 >= 2 { RefundOutcome::Succeeded { reference } } else { RefundOutcome::Pending { reference } })
        })
    }

    fn cancel<'a>(&'a self, _: &'a Merchant, order: OrderId) -> Answer<'a, Option<ChargeOutcome>> {
        Box::pin(async move {
            let mut books = self.books.lock().unwrap();
            Ok(match books.charges.get_mut(&order) {
                None => None,
                Some(charge) if charge.1 == Cleared::Yes => {
                    Some(ChargeOutcome::Succeeded { payment_id: PaymentId::new() })
                }
                Some(charge) => {
                    charge.1 = Cleared::Cancelled;
                    None
                }
            })
        })
    }
}

fn usd(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

async fn admin_order(app: &TestApp, store: &TestStore, id: &str) -> Value {
    let token = app.owner_token(store).await;
    app.get_as(&store.host, &format!("/admin/orders/{id}"), Some(&token), StatusCode::OK).await
}

async fn make_refunds_due(app: &TestApp, store: &TestStore) {
    let mut tx = app.tenant_tx(store).await;
    sqlx::query("update refund set next_attempt_at = now() where status = 'pending'").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn checkout_recovery_and_refunds_run_through_a_bank_that_settles_later() {
    let bank = Arc::new(SlowBank::default());
    let app = spawn_app_with_provider(bank.clone()).await;
    let store = app.create_store("alpha").await;
    let staff = app.owner_token(&store).await;
    let variant = app.product_with_stock(&store, "Kettle", 2500, 10).await;

    // The bank takes the payment as processing: the order waits, holding its stock.
    let cart = app.cart_with(&store, None, &variant, 2).await;
    let (status, order) =
        app.checkout(&store, &cart, None, Some("k1"), &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{order}");
    assert_eq!(order["status"], "pending_payment");
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(app.stock(&store, &variant).await, (10, 2));
    let seen = admin_order(&app, &store, &id).await;
    assert_eq!(
        (seen["payments"][0]["status"].as_str(), seen["payments"][0]["provider"].as_str()),
        (Some("pending"), Some("test"))
    );

    // The worker asks the bank later: cleared, so the order is paid and its stock committed.
    let finished = tenant_api::orders::jobs::recover_pending_payments(&app.state, Duration::ZERO).await.unwrap();
    assert_eq!(finished, 1);
    let seen = admin_order(&app, &store, &id).await;
    assert_eq!((seen["status"].as_str(), seen["payments"][0]["status"].as_str()), (Some("paid"), Some("succeeded")));
    assert_eq!(app.stock(&store, &variant).await, (8, 0));

    // A refund: the bank says pending first, so the order is not refunded yet…
    let path = format!("/admin/orders/{id}/refunds");
    let (status, _, answer) = app
        .send(
            reqwest::Method::POST,
            &store.host,
            &path,
            Some(&staff),
            &[("idempotency-key", "r1")],
            Some(&json!({"amount": usd(1000)})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!((answer["refunded_total"].clone(), answer["refunds"][0]["status"].as_str()), (usd(0), Some("pending")));
    assert_eq!(bank.paid_back(), (0, 0));
    // …and the worker settles it when the bank has paid it back.
    make_refunds_due(&app, &store).await;
    assert_eq!(tenant_api::orders::refunds::settle_due(&app.state).await.unwrap(), 1);
    let seen = admin_order(&app, &store, &id).await;
    assert_eq!((seen["status"].as_str(), seen["refunded_total"].clone()), (Some("partially_refunded"), usd(1000)));
    assert_eq!(seen["payments"][0]["refunded"], usd(1000));
    assert_eq!(bank.paid_back(), (1000, 1));

    // Declined at once: 402, the stock released, a failed payment recorded.
    let cart = app.cart_with(&store, None, &variant, 1).await;
    let (status, problem) =
        app.checkout(&store, &cart, None, None, &checkout_body("bob@example.com", "tok_decline")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{problem}");
    let declined = admin_order(&app, &store, problem["order_id"].as_str().unwrap()).await;
    assert_eq!(
        (declined["status"].as_str(), declined["payments"][0]["status"].as_str()),
        (Some("payment_failed"), Some("failed"))
    );
    assert_eq!(app.stock(&store, &variant).await, (8, 0));
}

#[tokio::test]
async fn an_expired_hold_at_the_slow_bank_is_cancelled_there_and_released_here() {
    let bank = Arc::new(SlowBank::default());
    let app = spawn_app_with_provider(bank.clone()).await;
    let store = app.create_store("alpha").await;
    let variant = app.product_with_stock(&store, "Kettle", 2500, 10).await;
    let cart = app.cart_with(&store, None, &variant, 3).await;
    let (status, order) =
        app.checkout(&store, &cart, None, None, &checkout_body("ann@example.com", "tok_success")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    let mut tx = app.tenant_tx(&store).await;
    sqlx::query("update stock_reservation set expires_at = now() - interval '1 minute'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    tenant_api::orders::jobs::expire_reservations(&app.state).await.unwrap();
    assert_eq!(admin_order(&app, &store, &id).await["status"], "cancelled");
    assert_eq!(app.stock(&store, &variant).await, (10, 0));
    let order = OrderId::parse(&id).unwrap();
    assert_eq!(bank.books.lock().unwrap().charges[&order].1, Cleared::Cancelled, "cancelled at the bank too");
}
