//! Customer SQL.

use chrono::{DateTime, Utc};
use platform::{db::TenantTx, extract::Page};

use super::model::{Address, AddressId, Customer, CustomerId, RefreshFamilyId, SavedAddress};
use crate::{
    checkout::model::Country,
    statements::{execute, fetch_optional, write_one},
};

type CustomerRow = (CustomerId, String, Option<String>, Option<String>, DateTime<Utc>);
const CUSTOMER_COLUMNS: &str = "customer_id, email, first_name, last_name, created_at";

fn customer((id, email, first_name, last_name, created_at): CustomerRow) -> Customer {
    Customer { id, email, first_name, last_name, created_at }
}

/// Inserts a customer; a taken email fails on `customer_email_key`.
pub async fn insert_customer(
    tx: &mut TenantTx,
    email: &str,
    password_hash: &str,
    first_name: Option<&str>,
    last_name: Option<&str>,
) -> Result<Customer, sqlx::Error> {
    let row: CustomerRow = sqlx::query_as(&format!(
        "insert into customer (tenant_id, customer_id, email, password_hash, first_name, last_name) \
         values ($1, $2, $3, $4, $5, $6) returning {CUSTOMER_COLUMNS}"
    ))
    .bind(tx.tenant_id())
    .bind(CustomerId::new())
    .bind(email)
    .bind(password_hash)
    .bind(first_name)
    .bind(last_name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(customer(row))
}

/// A customer and their password hash, by email (ignoring case).
pub async fn find_by_email(tx: &mut TenantTx, email: &str) -> sqlx::Result<Option<(Customer, String)>> {
    type Row = (CustomerId, String, Option<String>, Option<String>, DateTime<Utc>, String);
    let sql = format!(
        "select {CUSTOMER_COLUMNS}, password_hash from customer where tenant_id = $1 and lower(email) = lower($2)"
    );
    let row: Option<Row> = fetch_optional(tx, &sql, (email,)).await?;
    Ok(row.map(|(id, email, first, last, created, hash)| (customer((id, email, first, last, created)), hash)))
}

/// A customer by id.
pub async fn find_by_id(tx: &mut TenantTx, id: CustomerId) -> sqlx::Result<Option<Customer>> {
    let sql = format!("select {CUSTOMER_COLUMNS} from customer where tenant_id = $1 and customer_id = $2");
    Ok(fetch_optional(tx, &sql, (id,)).await?.map(customer))
}

/// Changes the name parts given; `None` leaves a part as it is.
pub async fn update_names(
    tx: &mut TenantTx,
    id: CustomerId,
    first_name: Option<Option<&str>>,
    last_name: Option<Option<&str>>,
) -> sqlx::Result<Option<Customer>> {
    let row: Option<CustomerRow> = sqlx::query_as(&format!(
        "update customer set first_name = case when $3 then $4 else first_name end, \
                             last_name = case when $5 then $6 else last_name end, updated_at = now() \
         where tenant_id = $1 and customer_id = $2 returning {CUSTOMER_COLUMNS}"
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .bind(first_name.is_some())
    .bind(first_name.flatten())
    .bind(last_name.is_some())
    .bind(last_name.flatten())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(customer))
}

/// Replaces a customer's password hash.
pub async fn set_password(tx: &mut TenantTx, id: CustomerId, hash: &str) -> sqlx::Result<()> {
    let sql = "update customer set password_hash = $3, updated_at = now() where tenant_id = $1 and customer_id = $2";
    execute(tx, sql, (id, hash)).await?;
    Ok(())
}

/// Customers newest first, optionally whose email contains `q`.
pub async fn list_customers(tx: &mut TenantTx, page: Page, q: Option<&str>) -> sqlx::Result<Vec<Customer>> {
    let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
        "select {CUSTOMER_COLUMNS} from customer \
         where tenant_id = $1 and ($2::uuid is null or customer_id < $2) \
           and ($3::text is null or strpos(lower(email), lower($3)) > 0) \
         order by customer_id desc limit $4"
    ))
    .bind(tx.tenant_id())
    .bind(page.after)
    .bind(q)
    .bind(page.limit)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(customer).collect())
}

type AddressRow =
    (AddressId, String, String, Option<String>, String, Option<String>, String, String, Option<String>, bool);
const ADDRESS_COLUMNS: &str = "address_id, name, line1, line2, city, region, postal_code, country, phone, is_default";

fn address(row: AddressRow) -> anyhow::Result<SavedAddress> {
    let (id, name, line1, line2, city, region, postal_code, country, phone, is_default) = row;
    let country = Country::parse(&country).map_err(|e| anyhow::anyhow!("stored country {country:?} {e}"))?;
    Ok(SavedAddress {
        id,
        address: Address { name, line1, line2, city, region, postal_code, country, phone },
        is_default,
    })
}

/// Saves an address; a default one makes the others non-default.
pub async fn insert_address(
    tx: &mut TenantTx,
    customer: CustomerId,
    a: &Address,
    is_default: bool,
) -> anyhow::Result<SavedAddress> {
    if is_default {
        sqlx::query("update customer_address set is_default = false where tenant_id = $1 and customer_id = $2")
            .bind(tx.tenant_id())
            .bind(customer)
            .execute(&mut **tx)
            .await?;
    }
    let row: AddressRow = sqlx::query_as(&format!(
        "insert into customer_address (tenant_id, address_id, customer_id, name, line1, line2, city, region, \
                                       postal_code, country, phone, is_default) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning {ADDRESS_COLUMNS}"
    ))
    .bind(tx.tenant_id())
    .bind(AddressId::new())
    .bind(customer)
    .bind(&a.name)
    .bind(&a.line1)
    .bind(&a.line2)
    .bind(&a.city)
    .bind(&a.region)
    .bind(&a.postal_code)
    .bind(a.country.as_ref())
    .bind(&a.phone)
    .bind(is_default)
    .fetch_one(&mut **tx)
    .await?;
    address(row)
}

/// A customer's addresses, default first.
pub async fn list_addresses(tx: &mut TenantTx, customer: CustomerId) -> anyhow::Result<Vec<SavedAddress>> {
    let rows: Vec<AddressRow> = sqlx::query_as(&format!(
        "select {ADDRESS_COLUMNS} from customer_address where tenant_id = $1 and customer_id = $2 \
         order by is_default desc, address_id"
    ))
    .bind(tx.tenant_id())
    .bind(customer)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(address).collect()
}

/// Deletes one of a customer's addresses; false when there was none.
pub async fn delete_address(tx: &mut TenantTx, customer: CustomerId, id: AddressId) -> sqlx::Result<bool> {
    let sql = "delete from customer_address where tenant_id = $1 and customer_id = $2 and address_id = $3";
    write_one(tx, sql, (customer, id)).await
}

/// Stores a refresh token (hashed).
pub async fn insert_refresh_token(
    tx: &mut TenantTx,
    hash: &[u8],
    family: RefreshFamilyId,
    customer: CustomerId,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "insert into customer_refresh_token (tenant_id, token_hash, family_id, customer_id, expires_at) \
               values ($1, $2, $3, $4, $5)";
    execute(tx, sql, (hash, family, customer, expires_at)).await?;
    Ok(())
}

/// A refresh token as stored, after an attempt to use it.
pub struct RefreshUse {
    pub family_id: RefreshFamilyId,
    pub customer_id: CustomerId,
    /// Past its expiry.
    pub expired: bool,
    pub revoked: bool,
    /// Whether this call marked it used (false: it had been used before).
    pub first_use: bool,
}

/// Marks a refresh token used, atomically, and returns what it was.
pub async fn use_refresh_token(tx: &mut TenantTx, hash: &[u8]) -> sqlx::Result<Option<RefreshUse>> {
    // The update matches only an unused token, so two concurrent uses cannot both win.
    let row: Option<(RefreshFamilyId, CustomerId, bool, bool, bool)> = sqlx::query_as(
        "with used as ( \
             update customer_refresh_token set used_at = now() \
             where tenant_id = $1 and token_hash = $2 and used_at is null returning token_hash) \
         select family_id, customer_id, expires_at < now(), revoked_at is not null, exists(select 1 from used) \
         from customer_refresh_token where tenant_id = $1 and token_hash = $2",
    )
    .bind(tx.tenant_id())
    .bind(hash)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(family_id, customer_id, expired, revoked, first_use)| RefreshUse {
        family_id,
        customer_id,
        expired,
        revoked,
        first_use,
    }))
}

/// Revokes every token of a family (a used token came back: assume theft).
pub async fn revoke_family(tx: &mut TenantTx, family: RefreshFamilyId) -> sqlx::Result<()> {
    let sql = "update customer_refresh_token set revoked_at = now() \
               where tenant_id = $1 and family_id = $2 and revoked_at is null";
    execute(tx, sql, (family,)).await?;
    Ok(())
}

/// Revokes every refresh token of a customer (password changed).
pub async fn revoke_all(tx: &mut TenantTx, customer: CustomerId) -> sqlx::Result<()> {
    let sql = "update customer_refresh_token set revoked_at = now() \
               where tenant_id = $1 and customer_id = $2 and revoked_at is null";
    execute(tx, sql, (customer,)).await?;
    Ok(())
}

/// Stores a password reset token (hashed).
pub async fn insert_reset(
    tx: &mut TenantTx,
    hash: &[u8],
    customer: CustomerId,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "insert into customer_password_reset (tenant_id, token_hash, customer_id, expires_at) \
               values ($1, $2, $3, $4)";
    execute(tx, sql, (hash, customer, expires_at)).await?;
    Ok(())
}

/// Uses a reset token: only an unused, unexpired one matches, once.
pub async fn use_reset(tx: &mut TenantTx, hash: &[u8]) -> sqlx::Result<Option<CustomerId>> {
    let sql = "update customer_password_reset set used_at = now() \
               where tenant_id = $1 and token_hash = $2 and used_at is null and expires_at > now() \
               returning customer_id";
    Ok(fetch_optional(tx, sql, (hash,)).await?.map(|(customer,)| customer))
}
