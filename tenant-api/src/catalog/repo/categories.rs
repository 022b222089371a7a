//! The category tree.

use platform::db::TenantTx;

use crate::catalog::model::{Category, CategoryId, CategoryPatch, NewCategory, ProductId};
use crate::statements::{one_row, write_one};

#[derive(sqlx::FromRow)]
struct CategoryRow {
    category_id: CategoryId,
    parent_id: Option<CategoryId>,
    handle: String,
    name: String,
    description: Option<String>,
    position: i32,
}

impl From<CategoryRow> for Category {
    fn from(row: CategoryRow) -> Self {
        Self {
            id: row.category_id,
            parent_id: row.parent_id,
            handle: row.handle,
            name: row.name,
            description: row.description,
            position: row.position,
        }
    }
}

/// Every category of the store, parents before children is not guaranteed:
/// ordered by (position, name) for building the tree.
pub async fn list_categories(tx: &mut TenantTx) -> anyhow::Result<Vec<Category>> {
    let rows: Vec<CategoryRow> = sqlx::query_as(
        "select category_id, parent_id, handle, name, description, position from category \
         where tenant_id = $1 order by position, name, category_id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A category by id.
pub async fn find_category(tx: &mut TenantTx, id: CategoryId) -> anyhow::Result<Option<Category>> {
    let row: Option<CategoryRow> = sqlx::query_as(
        "select category_id, parent_id, handle, name, description, position from category \
         where tenant_id = $1 and category_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(Into::into))
}

/// Inserts a category. A parent that is not this store's violates `category_parent_fkey`.
pub async fn insert_category(tx: &mut TenantTx, id: CategoryId, category: &NewCategory) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into category (tenant_id, category_id, parent_id, handle, name, description, position) \
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(category.parent_id)
    .bind(category.handle.as_ref())
    .bind(&category.name)
    .bind(&category.description)
    .bind(category.position)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether `ancestor` is `id` or one of its ancestors (a move under it would make a cycle).
pub async fn is_ancestor_or_self(tx: &mut TenantTx, ancestor: CategoryId, id: CategoryId) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar(
        "with recursive up as ( \
             select category_id, parent_id from category where tenant_id = $1 and category_id = $2 \
           union \
             select c.category_id, c.parent_id from category c join up on c.category_id = up.parent_id \
             where c.tenant_id = $1) \
         select exists(select 1 from up where category_id = $3)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(ancestor)
    .fetch_one(&mut **tx)
    .await?)
}

/// Applies a patch to a category; false when there is none.
pub async fn update_category(tx: &mut TenantTx, id: CategoryId, patch: &CategoryPatch) -> Result<bool, sqlx::Error> {
    let query = sqlx::query(
        "update category set \
           parent_id = case when $3 then $4 else parent_id end, handle = coalesce($5, handle), \
           name = coalesce($6, name), description = case when $7 then $8 else description end, \
           position = coalesce($9, position), updated_at = now() \
         where tenant_id = $1 and category_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(patch.parent_id.is_some())
    .bind(patch.parent_id.flatten())
    .bind(patch.handle.as_ref().map(AsRef::as_ref))
    .bind(&patch.name)
    .bind(patch.description.is_some())
    .bind(patch.description.clone().flatten())
    .bind(patch.position);
    one_row(tx, query).await
}

/// Deletes a category; false when there is none. One with children violates
/// `category_parent_fkey`.
pub async fn delete_category(tx: &mut TenantTx, id: CategoryId) -> Result<bool, sqlx::Error> {
    write_one(tx, "delete from category where tenant_id = $1 and category_id = $2", (id,)).await
}

/// The products filed under a category (not its descendants).
pub async fn products_in_category(tx: &mut TenantTx, id: CategoryId) -> anyhow::Result<Vec<ProductId>> {
    Ok(sqlx::query_scalar("select product_id from product_category where tenant_id = $1 and category_id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .fetch_all(&mut **tx)
        .await?)
}
