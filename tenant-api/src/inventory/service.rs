//! Inventory rules other contexts call.

use platform::db::TenantTx;

use super::{model::StockLevel, repo, Error};
use crate::catalog::model::VariantId;

/// Gives new variants their stock levels, in the caller's transaction.
pub async fn create_levels(tx: &mut TenantTx, levels: &[(VariantId, i32)]) -> Result<(), Error> {
    let ids: Vec<_> = levels.iter().map(|(id, _)| *id).collect();
    let on_hand: Vec<_> = levels.iter().map(|(_, n)| *n).collect();
    repo::insert_levels(tx, &ids, &on_hand).await?;
    Ok(())
}

pub async fn level(tx: &mut TenantTx, variant: VariantId) -> Result<StockLevel, Error> {
    repo::find_level(tx, variant).await?.ok_or(Error::VariantNotFound)
}

/// Sets how many units are on hand; refused below what is reserved.
pub async fn set_on_hand(tx: &mut TenantTx, variant: VariantId, on_hand: i32) -> Result<StockLevel, Error> {
    if on_hand < 0 {
        return Err(Error::InvalidOnHand("must be 0 or more"));
    }
    repo::set_on_hand(tx, variant, on_hand).await?.ok_or(Error::VariantNotFound)
}
