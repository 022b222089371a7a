//! Product media rows (the objects themselves live in the media backend).

use platform::db::TenantTx;

use crate::catalog::model::{Media, MediaId, MediaStatus, ProductId};
use crate::statements::{execute, write_one};

/// Records a media object of a product, pending its upload.
#[allow(clippy::too_many_arguments)]
pub async fn insert_media(
    tx: &mut TenantTx,
    id: MediaId,
    product: ProductId,
    key: &str,
    content_type: &str,
    byte_size: i64,
    alt: Option<&str>,
) -> Result<(), sqlx::Error> {
    let sql = "insert into product_media (tenant_id, media_id, product_id, storage_key, content_type, byte_size, alt, position) \
               values ($1, $2, $3, $4, $5, $6, $7, \
                       (select coalesce(max(position) + 1, 0) from product_media where tenant_id = $1 and product_id = $3))";
    execute(tx, sql, (id, product, key, content_type, byte_size, alt)).await?;
    Ok(())
}

/// A media object of a product.
pub async fn find_media(tx: &mut TenantTx, product: ProductId, id: MediaId) -> anyhow::Result<Option<Media>> {
    let row: Option<(String, String, i64, Option<String>, i32, String)> = sqlx::query_as(
        "select storage_key, content_type, byte_size, alt, position, status from product_media \
         where tenant_id = $1 and product_id = $2 and media_id = $3",
    )
    .bind(tx.tenant_id())
    .bind(product)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|(storage_key, content_type, byte_size, alt, position, status)| {
        Ok(Media {
            id,
            storage_key,
            content_type,
            byte_size,
            alt,
            position,
            status: MediaStatus::parse(&status).ok_or_else(|| anyhow::anyhow!("unknown media status {status:?}"))?,
        })
    })
    .transpose()
}

/// Marks a media object ready by its storage key (local uploads know only the
/// key); its product, or `None` when no media object has that key.
pub async fn mark_media_ready_by_key(tx: &mut TenantTx, key: &str) -> Result<Option<ProductId>, sqlx::Error> {
    sqlx::query_scalar(
        "update product_media set status = 'ready' where tenant_id = $1 and storage_key = $2 returning product_id",
    )
    .bind(tx.tenant_id())
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
}

/// Marks a media object ready.
pub async fn mark_media_ready(tx: &mut TenantTx, product: ProductId, id: MediaId) -> Result<bool, sqlx::Error> {
    let sql = "update product_media set status = 'ready' where tenant_id = $1 and product_id = $2 and media_id = $3";
    write_one(tx, sql, (product, id)).await
}

/// Deletes a media object's row; false when there is none.
pub async fn delete_media(tx: &mut TenantTx, product: ProductId, id: MediaId) -> Result<bool, sqlx::Error> {
    let sql = "delete from product_media where tenant_id = $1 and product_id = $2 and media_id = $3";
    write_one(tx, sql, (product, id)).await
}
