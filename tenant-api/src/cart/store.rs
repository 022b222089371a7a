//! Carts in Redis: one hash per cart under `t:{<tenant>}:cart:<id>`.
//!
//! Fields: `created`, `customer` (owner, absent for guests), `email`,
//! `discount`, `order` (the last order placed from it), and `v:<variant id>`
//! → quantity. Changes that must check and
//! write together run as Lua scripts, which Redis executes atomically.

use super::model::{Cart, CartId, Ttls};
use crate::{catalog::model::VariantId, customers::model::CustomerId, orders::model::OrderId};
use platform::ids::TenantId;
use redis::aio::ConnectionManager;

fn cart_key(tenant: TenantId, id: &CartId) -> String {
    format!("t:{{{tenant}}}:cart:{}", id.as_ref())
}

fn pointer_key(tenant: TenantId, customer: CustomerId) -> String {
    format!("t:{{{tenant}}}:customer-cart:{customer}")
}

fn variant_field(variant: VariantId) -> String {
    format!("v:{}", variant.as_uuid())
}

/// Stores a new cart (and, for a customer, points the customer at it).
pub async fn create(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    cart: &Cart,
    ttls: Ttls,
) -> redis::RedisResult<()> {
    let key = cart_key(tenant, &cart.id);
    let mut fields: Vec<(&str, String)> = vec![("created", chrono::Utc::now().timestamp_millis().to_string())];
    if let Some(customer) = cart.customer {
        fields.push(("customer", customer.to_string()));
    }
    if let Some(email) = &cart.email {
        fields.push(("email", email.clone()));
    }
    let ttl = if cart.customer.is_some() { ttls.customer } else { ttls.guest };
    let mut pipe = redis::pipe();
    pipe.atomic().hset_multiple(&key, &fields).ignore().expire(&key, ttl as i64).ignore();
    if let Some(customer) = cart.customer {
        pipe.set_ex(pointer_key(tenant, customer), cart.id.as_ref(), ttl).ignore();
    }
    pipe.query_async(redis).await
}

/// Reads a cart and renews its TTL, in one atomic step.
pub async fn load(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    id: &CartId,
    ttls: Ttls,
) -> anyhow::Result<Option<Cart>> {
    const SCRIPT: &str = r"
        local h = redis.call('HGETALL', KEYS[1])
        if #h == 0 then return h end
        local ttl = ARGV[1]
        if redis.call('HEXISTS', KEYS[1], 'customer') == 1 then ttl = ARGV[2] end
        redis.call('EXPIRE', KEYS[1], ttl)
        return h";
    let flat: Vec<String> = redis::cmd("EVAL")
        .arg(SCRIPT)
        .arg(1)
        .arg(cart_key(tenant, id))
        .arg(ttls.guest)
        .arg(ttls.customer)
        .query_async(redis)
        .await?;
    if flat.is_empty() {
        return Ok(None);
    }
    let mut cart = Cart {
        id: id.clone(),
        customer: None,
        email: None,
        discount_code: None,
        lines: Vec::new(),
        placed_order: None,
    };
    for pair in flat.chunks(2) {
        let [field, value] = pair else { continue };
        match field.as_str() {
            "customer" => cart.customer = CustomerId::parse(value),
            "email" => cart.email = Some(value.clone()),
            "discount" => cart.discount_code = Some(value.clone()),
            "order" => cart.placed_order = OrderId::parse(value),
            other => {
                if let Some(variant) = other.strip_prefix("v:").and_then(VariantId::parse) {
                    let quantity: i32 = value.parse().unwrap_or(0);
                    if quantity > 0 {
                        cart.lines.push((variant, quantity));
                    }
                }
            }
        }
    }
    cart.lines.sort_by_key(|(v, _)| *v);
    Ok(Some(cart))
}

/// What an atomic quantity change came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// The line now holds this many.
    Quantity(i32),
    /// The cart is gone.
    NoCart,
    /// Over the per-line limit; nothing changed.
    OverLineLimit,
    /// Over the stock limit; nothing changed.
    OverStock,
}

/// A quantity change of one line and the limits it must stay within.
#[derive(Clone, Copy, Debug)]
pub struct LineChange {
    pub variant: VariantId,
    /// Units to add, or the new quantity when `set`.
    pub amount: i32,
    /// Set rather than add.
    pub set: bool,
    /// Most units one line may hold.
    pub max_line: i32,
    /// Units available.
    pub max_stock: i32,
}

/// Adds to a line, or sets it, refusing atomically past the per-line or the
/// stock limit (a decrease is always allowed).
pub async fn change_quantity(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    id: &CartId,
    change: LineChange,
) -> redis::RedisResult<Change> {
    let LineChange { variant, amount, set, max_line, max_stock } = change;
    const SCRIPT: &str = r"
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
        local n = tonumber(ARGV[2])
        if ARGV[3] == '0' then n = current + n end
        if n > tonumber(ARGV[4]) then return -2 end
        if n > tonumber(ARGV[5]) and n > current then return -3 end
        redis.call('HSET', KEYS[1], ARGV[1], n)
        return n";
    let n: i64 = redis::cmd("EVAL")
        .arg(SCRIPT)
        .arg(1)
        .arg(cart_key(tenant, id))
        .arg(variant_field(variant))
        .arg(amount)
        .arg(if set { "1" } else { "0" })
        .arg(max_line)
        .arg(max_stock)
        .query_async(redis)
        .await?;
    Ok(match n {
        -1 => Change::NoCart,
        -2 => Change::OverLineLimit,
        -3 => Change::OverStock,
        n => Change::Quantity(i32::try_from(n).unwrap_or(i32::MAX)),
    })
}

/// Removes lines (variants no longer on sale, or a deleted item).
pub async fn remove_lines(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    id: &CartId,
    variants: &[VariantId],
) -> redis::RedisResult<()> {
    if variants.is_empty() {
        return Ok(());
    }
    let fields: Vec<String> = variants.iter().map(|v| variant_field(*v)).collect();
    redis::cmd("HDEL").arg(cart_key(tenant, id)).arg(fields).query_async::<i64>(redis).await.map(|_| ())
}

/// Sets or clears the email and discount code of an existing cart.
pub async fn set_details(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    id: &CartId,
    email: Option<Option<&str>>,
    discount: Option<Option<&str>>,
) -> redis::RedisResult<()> {
    let key = cart_key(tenant, id);
    let mut pipe = redis::pipe();
    pipe.atomic();
    for (field, value) in [("email", email), ("discount", discount)] {
        match value {
            None => {}
            Some(Some(value)) => {
                pipe.hset(&key, field, value).ignore();
            }
            Some(None) => {
                pipe.hdel(&key, field).ignore();
            }
        }
    }
    pipe.query_async(redis).await
}

/// Notes the order checkout placed from a cart, if the cart still exists.
pub async fn set_placed_order(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    id: &CartId,
    order: OrderId,
) -> redis::RedisResult<()> {
    const SCRIPT: &str = r"
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        return redis.call('HSET', KEYS[1], 'order', ARGV[1])";
    redis::cmd("EVAL")
        .arg(SCRIPT)
        .arg(1)
        .arg(cart_key(tenant, id))
        .arg(order.to_string())
        .query_async::<i64>(redis)
        .await
        .map(|_| ())
}

/// The cart a customer is using, if it still exists.
pub async fn customer_cart(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    customer: CustomerId,
) -> redis::RedisResult<Option<CartId>> {
    let id: Option<String> = redis::cmd("GET").arg(pointer_key(tenant, customer)).query_async(redis).await?;
    let Some(id) = id.as_deref().and_then(CartId::parse) else { return Ok(None) };
    let exists: bool = redis::cmd("EXISTS").arg(cart_key(tenant, &id)).query_async(redis).await?;
    Ok(exists.then_some(id))
}

/// Makes a guest cart the customer's cart.
pub async fn adopt(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    id: &CartId,
    customer: CustomerId,
    ttl: u64,
) -> redis::RedisResult<()> {
    let key = cart_key(tenant, id);
    redis::pipe()
        .atomic()
        .hset(&key, "customer", customer.to_string())
        .ignore()
        .expire(&key, ttl as i64)
        .ignore()
        .set_ex(pointer_key(tenant, customer), id.as_ref(), ttl)
        .ignore()
        .query_async(redis)
        .await
}

/// Adds every line of the guest cart `from` to the cart `into` (capped at
/// `max_line` per line) and deletes `from`, atomically.
pub async fn merge(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    from: &CartId,
    into: &CartId,
    max_line: i32,
) -> redis::RedisResult<()> {
    const SCRIPT: &str = r"
        if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
        local h = redis.call('HGETALL', KEYS[1])
        for i = 1, #h, 2 do
            if string.sub(h[i], 1, 2) == 'v:' then
                local n = tonumber(redis.call('HGET', KEYS[2], h[i]) or '0') + tonumber(h[i + 1])
                if n > tonumber(ARGV[1]) then n = tonumber(ARGV[1]) end
                redis.call('HSET', KEYS[2], h[i], n)
            end
        end
        redis.call('DEL', KEYS[1])
        return 1";
    redis::cmd("EVAL")
        .arg(SCRIPT)
        .arg(2)
        .arg(cart_key(tenant, from))
        .arg(cart_key(tenant, into))
        .arg(max_line)
        .query_async::<i64>(redis)
        .await
        .map(|_| ())
}

/// Deletes a cart (bought), and the customer's pointer if it still names it.
pub async fn delete(
    redis: &mut ConnectionManager,
    tenant: TenantId,
    id: &CartId,
    customer: Option<CustomerId>,
) -> redis::RedisResult<()> {
    const SCRIPT: &str = r"
        redis.call('DEL', KEYS[1])
        if #KEYS > 1 and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
        return 1";
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(SCRIPT);
    match customer {
        Some(customer) => cmd.arg(2).arg(cart_key(tenant, id)).arg(pointer_key(tenant, customer)),
        None => cmd.arg(1).arg(cart_key(tenant, id)),
    };
    cmd.arg(id.as_ref()).query_async::<i64>(redis).await.map(|_| ())
}
