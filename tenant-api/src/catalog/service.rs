//! Catalog rules that are more than a query.

use platform::db::TenantTx;

use super::{
    model::{NewProduct, Product, ProductId, VariantId},
    repo, Error,
};

pub use super::repo::count_products;

/// Creates a product with its variants and their stock in the caller's transaction.
#[tracing::instrument(skip_all, fields(tenant_id = %tx.tenant_id()))]
pub async fn create_product(tx: &mut TenantTx, product: NewProduct) -> Result<Product, Error> {
    let id = ProductId::new();
    repo::insert_product(tx, id, &product).await?;
    for (position, variant) in product.variants.iter().enumerate() {
        let position = i32::try_from(position).map_err(anyhow::Error::from)?;
        repo::insert_variant(tx, id, VariantId::new(), position, variant).await?;
    }
    // Read back through the same query the storefront uses, so both see one shape.
    repo::find_product_any_status(tx, id)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("product vanished after insert")))
}
