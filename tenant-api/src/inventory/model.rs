//! Inventory domain types.

use crate::catalog::model::VariantId;

/// The stock of one variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockLevel {
    pub variant_id: VariantId,
    /// Units in the warehouse.
    pub on_hand: i32,
    /// Units held for checkouts in progress.
    pub reserved: i32,
}

impl StockLevel {
    /// Units that can still be sold.
    pub fn available(&self) -> i32 {
        self.on_hand - self.reserved
    }
}
