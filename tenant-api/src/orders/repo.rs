//! Order SQL. Placing an order is one statement; a transition is the
//! order's row read under its lock, then one statement that changes it and
//! writes its outbox event.

use chrono::{DateTime, Utc};
use platform::{
    db::TenantTx,
    extract::Page,
    money::{Currency, Money},
};
use sqlx::types::Json;
use uuid::Uuid;

use super::model::{Locked, Order, OrderFilter, OrderId, OrderLine, OrderStatus, TransitionData, Transitioned};
use crate::{
    catalog::model::{ProductId, VariantId},
    checkout::model::{Country, DiscountCodeId, ShippingMethodId, Totals},
    customers::model::{Address, CustomerId},
    inventory::reservations,
    statements::fetch_optional,
    wire::AddressDto,
};

/// An order to insert (status `pending_payment`).
pub struct NewOrder<'a> {
    /// Also the payment's idempotency key.
    pub id: OrderId,
    /// Buyer's account; `None` for a guest.
    pub customer_id: Option<CustomerId>,
    pub email: &'a str,
    pub currency: Currency,
    pub totals: Totals,
    /// The redeemed code, by id and as typed.
    pub discount: Option<(DiscountCodeId, &'a str)>,
    /// The chosen method, by id and name.
    pub shipping: Option<(ShippingMethodId, &'a str)>,
    pub address: &'a Address,
    pub lines: &'a [OrderLine],
    /// Charged already (in the same transaction, which locked the lines'
    /// stock rows and held nothing): inserted `paid`, with `order.paid` after
    /// `order.created`, its units sold.
    pub paid: bool,
}

/// Numbers and inserts an order with its lines and `order.created` (and,
/// when it is already paid, `order.paid`, as [`transition`] writes it, and
/// its units sold: it holds none, see `reservations::lock_available`), in
/// one statement. The per-store counter row is
/// locked until commit, so numbers are gapless within committed orders of a
/// store. Returns the number and creation time.
#[tracing::instrument(skip_all, fields(order_id = %order.id))]
pub async fn insert_order(tx: &mut TenantTx, order: &NewOrder<'_>) -> anyhow::Result<(i64, DateTime<Utc>)> {
    let address = serde_json::to_value(AddressDto::from(order.address))?;
    let variants: Vec<Uuid> = order.lines.iter().map(|l| l.variant_id.as_uuid()).collect();
    let products: Vec<Uuid> = order.lines.iter().map(|l| l.product_id.as_uuid()).collect();
    let skus: Vec<&str> = order.lines.iter().map(|l| l.sku.as_str()).collect();
    let titles: Vec<&str> = order.lines.iter().map(|l| l.title.as_str()).collect();
    let quantities: Vec<i32> = order.lines.iter().map(|l| l.quantity).collect();
    let prices: Vec<i64> = order.lines.iter().map(|l| l.unit_price.amount).collect();
    let t = order.totals;
    let event = serde_json::json!({
        "order_id": order.id.to_string(), "status": "pending_payment",
        "total": t.total, "currency": order.currency.as_str(), "email": order.email,
    });
    // A paid order's units are sold in this statement too, straight from
    // `on_hand`: it was charged in this transaction, which locked their rows
    // (`reservations::lock_available`) and held nothing. The update keeps its
    // condition, and a paid order whose every line was not sold is an error
    // (the transaction rolls back).
    let (number, created_at, sold): (i64, DateTime<Utc>, i64) = sqlx::query_as(
        "with n as ( \
             insert into order_counter (tenant_id, last_number) values ($1, 1001) \
             on conflict (tenant_id) do update set last_number = order_counter.last_number + 1 \
             returning last_number), \
         o as ( \
             insert into sales_order (tenant_id, order_id, number, status, customer_id, email, currency, \
                                      subtotal, discount_total, shipping_total, tax_total, tax_inclusive, total, \
                                      discount_code_id, discount_code, shipping_method_id, shipping_method, \
                                      shipping_address, paid_at) \
             select $1, $2, n.last_number, case when $25 then 'paid' else 'pending_payment' end, $3, $4, $5, \
                    $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, case when $25 then now() end from n \
             returning number, created_at), \
         l as ( \
             insert into sales_order_line (tenant_id, order_id, line_no, variant_id, product_id, sku, title, \
                                           quantity, unit_amount, total) \
             select $1, $2, (u.ord - 1)::int, u.variant_id, u.product_id, u.sku, u.title, u.quantity, u.price, \
                    u.price * u.quantity \
             from unnest($17::uuid[], $18::uuid[], $19::text[], $20::text[], $21::int[], $22::bigint[]) \
                  with ordinality as u(variant_id, product_id, sku, title, quantity, price, ord)), \
         e as ( \
             insert into outbox_event (tenant_id, event_id, topic, aggregate_id, payload) \
             values ($1, $23, 'order.created', $2, $24)), \
         paid as ( \
             insert into outbox_event (tenant_id, event_id, topic, aggregate_id, payload) \
             select $1, $26, 'order.paid', $2, $27 where $25), \
         sold as ( \
             update inventory_level s set on_hand = s.on_hand - u.quantity, updated_at = now() \
             from unnest($17::uuid[], $21::int[]) as u(variant_id, quantity) \
             where $25 and s.tenant_id = $1 and s.variant_id = u.variant_id \
               and s.on_hand - s.reserved >= u.quantity \
             returning s.variant_id, u.quantity), \
         kept as ( \
             insert into stock_reservation (tenant_id, order_id, variant_id, quantity, status, expires_at) \
             select $1, $2, variant_id, quantity, 'committed', now() from sold) \
         select number, created_at, (select count(*) from sold) from o",
    )
    .bind(tx.tenant_id())
    .bind(order.id)
    .bind(order.customer_id)
    .bind(order.email)
    .bind(order.currency.as_str())
    .bind(t.subtotal)
    .bind(t.discount)
    .bind(t.shipping)
    .bind(t.tax)
    .bind(t.tax_inclusive)
    .bind(t.total)
    .bind(order.discount.map(|d| d.0))
    .bind(order.discount.map(|d| d.1))
    .bind(order.shipping.map(|s| s.0))
    .bind(order.shipping.map(|s| s.1))
    .bind(address)
    .bind(&variants)
    .bind(&products)
    .bind(&skus)
    .bind(&titles)
    .bind(&quantities)
    .bind(&prices)
    .bind(Uuid::now_v7())
    .bind(event)
    .bind(order.paid)
    .bind(Uuid::now_v7())
    .bind(serde_json::json!({ "order_id": order.id.to_string(), "status": "paid" }))
    .fetch_one(&mut **tx)
    .await?;
    if order.paid && usize::try_from(sold).ok() != Some(order.lines.len()) {
        anyhow::bail!("a paid order sold {sold} of its {} lines' stock", order.lines.len());
    }
    Ok((number, created_at))
}

/// The order's status and money, read under its row lock (`for update`):
/// what a transition decides on. The lock is held until the transaction
/// ends, so no concurrent transition can change the row between this read
/// and [`transition`]. `None` when there is no such order.
#[tracing::instrument(skip_all, fields(order_id = %id))]
pub async fn lock_order(tx: &mut TenantTx, id: OrderId) -> anyhow::Result<Option<Locked>> {
    let row: Option<(String, i64, i64, String)> = sqlx::query_as(
        "select status, total, refunded_total, currency from sales_order \
         where tenant_id = $1 and order_id = $2 for update",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|(status, total, refunded_total, currency)| {
        Ok(Locked {
            status: OrderStatus::parse(&status)
                .ok_or_else(|| anyhow::anyhow!("stored status {status:?} is unknown"))?,
            total,
            refunded_total,
            currency: Currency::parse(currency.trim()).ok_or_else(|| anyhow::anyhow!("bad stored currency"))?,
        })
    })
    .transpose()
}

/// Moves an order from `from` (as read by [`lock_order`]) to `to`, and
/// writes the event and moves its units (`data.stock`), in one statement: a
/// compare-and-set on the status, so it updates, writes and moves nothing
/// when the order is not in `from`, when `from` is not a legal source of
/// `to`, or when the refund would pass the total.
#[tracing::instrument(skip_all, fields(order_id = %id, from = from.as_str(), to = to.as_str()))]
pub async fn transition(
    tx: &mut TenantTx,
    id: OrderId,
    from: OrderStatus,
    to: OrderStatus,
    data: TransitionData,
) -> anyhow::Result<Option<Transitioned>> {
    if !from.can_become(to) {
        return Ok(None);
    }
    let mut event = data.event;
    event.insert("order_id".into(), id.to_string().into());
    event.insert("status".into(), to.as_str().into());
    if data.refund > 0 {
        event.insert("refund_amount".into(), data.refund.into());
    }
    type Row = (i64, i64, Option<DiscountCodeId>, DateTime<Utc>);
    // The units move in this statement too, gated on the order's row having changed.
    let stock = data.stock.map(|step| format!(", {}", reservations::move_ctes(step, "exists (select 1 from o)")));
    let row: Option<Row> = sqlx::query_as(&format!(
        "with o as ( \
             update sales_order set status = $3, updated_at = now(), \
                 paid_at = case when $3 = 'paid' then now() else paid_at end, \
                 fulfilled_at = case when $3 = 'fulfilled' then now() else fulfilled_at end, \
                 delivered_at = case when $3 = 'delivered' then now() else delivered_at end, \
                 cancelled_at = case when $3 = 'cancelled' then now() else cancelled_at end, \
                 tracking_number = coalesce($5, tracking_number), \
                 carrier = coalesce($6, carrier), \
                 cancel_reason = coalesce($7, cancel_reason), \
                 refunded_total = refunded_total + $8 \
             where tenant_id = $1 and order_id = $2 and status = $4 and refunded_total + $8 <= total \
             returning total, refunded_total, discount_code_id, updated_at), \
         e as ( \
             insert into outbox_event (tenant_id, event_id, topic, aggregate_id, payload) \
             select $1, $9, $10, $2, $11 from o){} \
         select total, refunded_total, discount_code_id, updated_at from o",
        stock.unwrap_or_default()
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .bind(to.as_str())
    .bind(from.as_str())
    .bind(data.tracking_number)
    .bind(data.carrier)
    .bind(data.cancel_reason)
    .bind(data.refund)
    .bind(Uuid::now_v7())
    .bind(to.topic())
    .bind(serde_json::Value::Object(event))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(total, refunded_total, discount_code_id, at)| Transitioned {
        from,
        total,
        refunded_total,
        discount_code_id,
        at,
    }))
}

/// A line as aggregated by [`ORDER_COLUMNS`]: number, variant, product, sku,
/// title, quantity, unit amount, total.
type LineRow = (i32, Uuid, Uuid, String, String, i32, i64, i64);

#[derive(sqlx::FromRow)]
struct OrderRow {
    order_id: OrderId,
    number: i64,
    status: String,
    customer_id: Option<CustomerId>,
    email: String,
    currency: String,
    subtotal: i64,
    discount_total: i64,
    shipping_total: i64,
    tax_total: i64,
    tax_inclusive: bool,
    total: i64,
    refunded_total: i64,
    discount_code_id: Option<DiscountCodeId>,
    discount_code: Option<String>,
    shipping_method: Option<String>,
    shipping_address: Json<AddressDto>,
    tracking_number: Option<String>,
    carrier: Option<String>,
    cancel_reason: Option<String>,
    created_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    fulfilled_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
    lines: Json<Vec<LineRow>>,
}

const ORDER_COLUMNS: &str = "o.order_id, o.number, o.status, o.customer_id, o.email, o.currency, o.subtotal, \
     o.discount_total, o.shipping_total, o.tax_total, o.tax_inclusive, o.total, o.refunded_total, \
     o.discount_code_id, o.discount_code, o.shipping_method, o.shipping_address, o.tracking_number, o.carrier, \
     o.cancel_reason, o.created_at, o.paid_at, o.fulfilled_at, o.delivered_at, o.cancelled_at, \
     coalesce((select json_agg(json_build_array(l.line_no, l.variant_id, l.product_id, l.sku, l.title, \
                                                 l.quantity, l.unit_amount, l.total) order by l.line_no) \
               from sales_order_line l where l.tenant_id = o.tenant_id and l.order_id = o.order_id), '[]') as lines";

impl TryFrom<OrderRow> for Order {
    type Error = anyhow::Error;

    fn try_from(row: OrderRow) -> anyhow::Result<Self> {
        let currency = Currency::parse(row.currency.trim()).ok_or_else(|| anyhow::anyhow!("bad stored currency"))?;
        let a = row.shipping_address.0;
        let address = Address {
            country: Country::parse(&a.country).map_err(|e| anyhow::anyhow!("stored country {e}"))?,
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            phone: a.phone,
        };
        Ok(Order {
            id: row.order_id,
            number: row.number,
            status: OrderStatus::parse(&row.status).ok_or_else(|| anyhow::anyhow!("bad stored status"))?,
            customer_id: row.customer_id,
            email: row.email,
            totals: Totals {
                subtotal: row.subtotal,
                discount: row.discount_total,
                shipping: row.shipping_total,
                tax: row.tax_total,
                total: row.total,
                tax_inclusive: row.tax_inclusive,
            },
            refunded_total: row.refunded_total,
            currency,
            discount_code: row.discount_code,
            discount_code_id: row.discount_code_id,
            shipping_method: row.shipping_method,
            shipping_address: address,
            tracking_number: row.tracking_number,
            carrier: row.carrier,
            cancel_reason: row.cancel_reason,
            lines: row
                .lines
                .0
                .into_iter()
                .map(|(line_no, variant, product, sku, title, quantity, unit, total)| OrderLine {
                    line_no,
                    variant_id: VariantId::from_uuid(variant),
                    product_id: ProductId::from_uuid(product),
                    sku,
                    title,
                    quantity,
                    unit_price: Money::new(unit, currency),
                    total: Money::new(total, currency),
                })
                .collect(),
            created_at: row.created_at,
            paid_at: row.paid_at,
            fulfilled_at: row.fulfilled_at,
            delivered_at: row.delivered_at,
            cancelled_at: row.cancelled_at,
        })
    }
}

/// An order with its lines, in one query.
pub async fn find_order(tx: &mut TenantTx, id: OrderId) -> anyhow::Result<Option<Order>> {
    let sql = format!("select {ORDER_COLUMNS} from sales_order o where o.tenant_id = $1 and o.order_id = $2");
    fetch_optional::<OrderRow>(tx, &sql, (id,)).await?.map(Order::try_from).transpose()
}

/// Orders newest first, with their lines, in one query.
pub async fn list_orders(tx: &mut TenantTx, filter: &OrderFilter, page: Page) -> anyhow::Result<Vec<Order>> {
    let rows: Vec<OrderRow> = sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from sales_order o \
         where o.tenant_id = $1 and ($2::uuid is null or o.order_id < $2) \
           and ($3::uuid is null or o.customer_id = $3) \
           and ($4::text is null or o.status = $4) \
           and ($5::text is null or strpos(lower(o.email), lower($5)) > 0 or o.number::text = $5) \
         order by o.order_id desc limit $6"
    ))
    .bind(tx.tenant_id())
    .bind(page.after)
    .bind(filter.customer)
    .bind(filter.status.map(|s| s.as_str()))
    .bind(filter.q.as_deref())
    .bind(page.limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(Order::try_from).collect()
}

/// Worker: orders awaiting payment for longer than `$2` seconds, across
/// every store of a cell — the source of the recovery job's scan
/// (`worker::attempts::due`).
pub(super) const STALE_PENDING: &str = "select tenant_id, order_id as subject from sales_order \
     where status = 'pending_payment' and created_at < now() - make_interval(secs => $2)";
