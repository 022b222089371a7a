//! Collections and their ordered products.

use platform::db::TenantTx;

use crate::catalog::model::{Collection, CollectionId, IdOrHandle, NewCollection, ProductId};
use crate::statements::{one_row, relink, write_one};

#[derive(sqlx::FromRow)]
struct CollectionRow {
    collection_id: CollectionId,
    handle: String,
    title: String,
    description: Option<String>,
    product_ids: Vec<ProductId>,
}

impl From<CollectionRow> for Collection {
    fn from(row: CollectionRow) -> Self {
        Self {
            id: row.collection_id,
            handle: row.handle,
            title: row.title,
            description: row.description,
            product_ids: row.product_ids,
        }
    }
}

/// `active_only`: list only active products (storefront).
fn collection_columns(active_only: bool) -> String {
    let filter = if active_only {
        " and exists (select 1 from product p where p.tenant_id = cp.tenant_id \
          and p.product_id = cp.product_id and p.status = 'active')"
    } else {
        ""
    };
    format!(
        "c.collection_id, c.handle, c.title, c.description, \
         array(select cp.product_id from collection_product cp \
               where cp.tenant_id = c.tenant_id and cp.collection_id = c.collection_id{filter} \
               order by cp.position, cp.product_id) as product_ids"
    )
}

/// Collections of the store by title, after `after` (exclusive).
pub async fn list_collections(
    tx: &mut TenantTx,
    active_only: bool,
    limit: i64,
    after: Option<CollectionId>,
) -> anyhow::Result<Vec<Collection>> {
    let sql = format!(
        "select {} from collection c where c.tenant_id = $1 and ($2::uuid is null or c.collection_id > $2) \
         order by c.collection_id limit $3",
        collection_columns(active_only)
    );
    let rows: Vec<CollectionRow> =
        sqlx::query_as(&sql).bind(tx.tenant_id()).bind(after).bind(limit).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn find_collection(
    tx: &mut TenantTx,
    collection: &IdOrHandle<CollectionId>,
    active_only: bool,
) -> anyhow::Result<Option<Collection>> {
    let sql = format!(
        "select {} from collection c where c.tenant_id = $1 \
         and (c.collection_id = $2 or ($2 is null and c.handle = $3))",
        collection_columns(active_only)
    );
    let row: Option<CollectionRow> = sqlx::query_as(&sql)
        .bind(tx.tenant_id())
        .bind(collection.id())
        .bind(collection.handle())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(Into::into))
}

/// Inserts a collection.
pub async fn insert_collection(
    tx: &mut TenantTx,
    id: CollectionId,
    collection: &NewCollection,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into collection (tenant_id, collection_id, handle, title, description) values ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(collection.handle.as_ref())
    .bind(&collection.title)
    .bind(&collection.description)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces a collection's own columns (not its products); false when there is none.
pub async fn update_collection(
    tx: &mut TenantTx,
    id: CollectionId,
    collection: &NewCollection,
) -> Result<bool, sqlx::Error> {
    let query = sqlx::query(
        "update collection set handle = $3, title = $4, description = $5, updated_at = now() \
         where tenant_id = $1 and collection_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(collection.handle.as_ref())
    .bind(&collection.title)
    .bind(&collection.description);
    one_row(tx, query).await
}

/// Replaces a collection's products, in order. An id that is not one of this
/// store's products violates `collection_product_product_fkey`.
pub async fn replace_collection_products(
    tx: &mut TenantTx,
    id: CollectionId,
    products: &[ProductId],
) -> Result<(), sqlx::Error> {
    relink(
        tx,
        "delete from collection_product where tenant_id = $1 and collection_id = $2",
        "insert into collection_product (tenant_id, collection_id, product_id, position) \
         select $1, $2, p, (n - 1)::int from unnest($3::uuid[]) with ordinality as u(p, n) on conflict do nothing",
        id.as_uuid(),
        products.iter().map(ProductId::as_uuid).collect(),
    )
    .await
}

/// Deletes a collection; false when there is none.
pub async fn delete_collection(tx: &mut TenantTx, id: CollectionId) -> Result<bool, sqlx::Error> {
    write_one(tx, "delete from collection where tenant_id = $1 and collection_id = $2", (id,)).await
}
