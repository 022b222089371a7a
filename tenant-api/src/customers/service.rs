//! Customer rules: registration, sign-in, refresh rotation, password reset.
//!
//! argon2id runs before any transaction opens, so a connection is never held
//! while a password is hashed.

use std::time::Duration;

use platform::{auth::hash_secret, db::TenantTx, extract::Page, tenancy::Tenant};
use rand_core::{OsRng, RngCore};

use super::{
    model::{
        Address, AddressId, Customer, CustomerId, Email, NewCustomer, Password, RefreshFamilyId, SavedAddress,
        TokenPair,
    },
    repo, CustomersState, Error,
};

/// How long a password reset token is good for.
const RESET_TTL: chrono::Duration = chrono::Duration::hours(1);

/// Registers a customer.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
pub async fn register(state: &CustomersState, tenant: &Tenant, new: NewCustomer) -> Result<Customer, Error> {
    let hash = state.hasher.hash(new.password.expose().to_owned()).await?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let customer =
        repo::insert_customer(&mut tx, new.email.as_ref(), &hash, new.first_name.as_deref(), new.last_name.as_deref())
            .await?;
    crate::outbox::insert(
        &mut tx,
        "customer.registered",
        customer.id,
        serde_json::json!({"customer_id": customer.id.to_string(), "email": customer.email}),
    )
    .await?;
    tx.commit().await?;
    Ok(customer)
}

/// Email and password → tokens. Unknown emails take as long as wrong passwords.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
pub async fn sign_in(state: &CustomersState, tenant: &Tenant, email: &str, password: &str) -> Result<TokenPair, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let found = repo::find_by_email(&mut tx, email.trim()).await?;
    drop(tx);
    let customer = match found {
        Some((customer, hash)) => state.hasher.verify(hash, password.to_owned()).await?.then_some(customer),
        None => state.hasher.dummy_verify(password.to_owned()).await.map(|_| None)?,
    };
    let customer = customer.ok_or(Error::InvalidGrant)?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let (pair, token, family, expires_at) = issue_pair(&mut tx, state, customer.id, RefreshFamilyId::new())?;
    repo::insert_refresh_token(&mut tx, &hash_secret(&token), family, customer.id, expires_at).await?;
    tx.commit().await?;
    Ok(pair)
}

/// A refresh token → a new pair. Single use; a reused token revokes its family.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
pub async fn refresh(state: &CustomersState, tenant: &Tenant, refresh_token: &str) -> Result<TokenPair, Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let used = repo::use_refresh_token(&mut tx, &hash_secret(refresh_token)).await?.ok_or(Error::InvalidGrant)?;
    if !used.first_use {
        // Used before: a retry or a theft. Either way the family ends here.
        repo::revoke_family(&mut tx, used.family_id).await?;
        tx.commit().await?;
        tracing::warn!(customer_id = %used.customer_id, "customer refresh token reused; family revoked");
        return Err(Error::InvalidGrant);
    }
    if used.expired || used.revoked {
        return Err(Error::InvalidGrant);
    }
    // The customer may have been deleted since.
    repo::find_by_id(&mut tx, used.customer_id).await?.ok_or(Error::InvalidGrant)?;
    let (pair, token, family, expires_at) = issue_pair(&mut tx, state, used.customer_id, used.family_id)?;
    repo::insert_refresh_token(&mut tx, &hash_secret(&token), family, used.customer_id, expires_at).await?;
    tx.commit().await?;
    Ok(pair)
}

/// Signs out: the refresh token's whole family (every token of that sign-in)
/// is revoked, so the token cannot renew a session again. An unknown token
/// is no error: there is nothing left to end.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
pub async fn sign_out(state: &CustomersState, tenant: &Tenant, refresh_token: &str) -> Result<(), Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    if let Some(used) = repo::use_refresh_token(&mut tx, &hash_secret(refresh_token)).await? {
        repo::revoke_family(&mut tx, used.family_id).await?;
        tx.commit().await?;
    }
    Ok(())
}

type Issued = (TokenPair, String, RefreshFamilyId, chrono::DateTime<chrono::Utc>);

fn issue_pair(
    tx: &mut TenantTx,
    state: &CustomersState,
    customer: CustomerId,
    family: RefreshFamilyId,
) -> Result<Issued, Error> {
    let ttl = state.tokens.access;
    let access_token = state.signer.issue_customer(&customer.to_string(), tx.tenant_id(), Duration::from_secs(ttl))?;
    let refresh_token = format!("crt_{}", random_hex());
    let expires_at =
        chrono::Utc::now() + chrono::Duration::seconds(i64::try_from(state.tokens.refresh).unwrap_or(i64::MAX / 4));
    let pair = TokenPair { customer_id: customer, access_token, expires_in: ttl, refresh_token: refresh_token.clone() };
    Ok((pair, refresh_token, family, expires_at))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A customer by id.
pub async fn customer(tx: &mut TenantTx, id: CustomerId) -> Result<Customer, Error> {
    repo::find_by_id(tx, id).await?.ok_or(Error::NotFound)
}

/// Changes the name parts given.
pub async fn update_names(
    tx: &mut TenantTx,
    id: CustomerId,
    first_name: Option<Option<&str>>,
    last_name: Option<Option<&str>>,
) -> Result<Customer, Error> {
    repo::update_names(tx, id, first_name, last_name).await?.ok_or(Error::NotFound)
}

/// Customers newest first, optionally filtered by email.
pub async fn list(tx: &mut TenantTx, page: Page, q: Option<&str>) -> Result<Vec<Customer>, Error> {
    Ok(repo::list_customers(tx, page, q).await?)
}

/// A customer's addresses.
pub async fn addresses(tx: &mut TenantTx, id: CustomerId) -> Result<Vec<SavedAddress>, Error> {
    Ok(repo::list_addresses(tx, id).await?)
}

/// Saves an address.
pub async fn add_address(
    tx: &mut TenantTx,
    id: CustomerId,
    address: &Address,
    is_default: bool,
) -> Result<SavedAddress, Error> {
    Ok(repo::insert_address(tx, id, address, is_default).await?)
}

/// Deletes an address.
pub async fn remove_address(tx: &mut TenantTx, id: CustomerId, address: AddressId) -> Result<(), Error> {
    repo::delete_address(tx, id, address).await?.then_some(()).ok_or(Error::NotFound)
}

/// Starts a password reset: when the email belongs to a customer, stores a
/// single-use token (hashed, one hour) and writes `customer.password_reset`
/// to the outbox with the token sealed under the master key, for the
/// notification relay to email. Says nothing about whether the email exists.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
pub async fn request_password_reset(state: &CustomersState, tenant: &Tenant, email: &Email) -> Result<(), Error> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let Some((customer, _)) = repo::find_by_email(&mut tx, email.as_ref()).await? else {
        return Ok(());
    };
    let token = format!("prt_{}", random_hex());
    let expires_at = chrono::Utc::now() + RESET_TTL;
    repo::insert_reset(&mut tx, &hash_secret(&token), customer.id, expires_at).await?;
    crate::outbox::insert(
        &mut tx,
        "customer.password_reset",
        customer.id,
        serde_json::json!({
            "customer_id": customer.id.to_string(),
            "email": customer.email,
            "token_sealed": state.master.seal(&token)?,
            "expires_at": crate::wire::timestamp(expires_at),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Finishes a reset: the token works once, within the hour; every refresh
/// token of the customer is revoked with the old password.
#[tracing::instrument(skip_all, fields(tenant_id = %tenant.id))]
pub async fn confirm_password_reset(
    state: &CustomersState,
    tenant: &Tenant,
    token: &str,
    new_password: &Password,
) -> Result<(), Error> {
    let hash = state.hasher.hash(new_password.expose().to_owned()).await?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let customer = repo::use_reset(&mut tx, &hash_secret(token)).await?.ok_or(Error::InvalidResetToken)?;
    repo::set_password(&mut tx, customer, &hash).await?;
    repo::revoke_all(&mut tx, customer).await?;
    crate::outbox::insert(
        &mut tx,
        "customer.password_changed",
        customer,
        serde_json::json!({"customer_id": customer.to_string()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
