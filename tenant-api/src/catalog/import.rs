//! Bulk import of products from CSV or JSON lines.
//!
//! One record per variant. Records with the same `handle` (derived from `title`
//! when absent) are the variants of one product, whose own fields come from its
//! first record. Columns / keys: `handle`, `title`, `description`, `status`
//! (`draft` by default), `sku`, `variant_title`, `price` and `compare_at_price`
//! (minor units of the store's currency), `weight_grams`, `barcode`, `stock`;
//! attributes as `attr:<name>` CSV columns or an `attributes` object.
//!
//! Every record is checked first; a bad record is reported by its 1-based number
//! (header excluded) and left out, the rest are kept. A product whose own fields
//! are bad is left out with all its records. The valid products are then written
//! with a handful of multi-row statements (`unnest` over arrays), all in the
//! caller's transaction, so an import is all-or-nothing at the database level
//! and fast: the statement count does not grow with the row count.

use std::collections::{HashMap, HashSet};

use platform::{
    db::TenantTx,
    money::{Currency, Money},
};
use sqlx::types::Json;

use super::{
    model::{check_attributes, Attributes, Handle, ProductId, ProductStatus, SearchLanguage, Sku, VariantId},
    Error,
};
use crate::{inventory, statements};

/// Products written per statement: bounds the size of one statement's arrays.
const CHUNK: usize = 5_000;

/// One record of an import file, as text.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// 1-based number of the record in the file.
    pub row: usize,
    /// Field → value; empty values are absent.
    pub fields: HashMap<String, String>,
    /// Attribute name → value.
    pub attributes: Attributes,
}

impl Record {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// Why a record was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based record number.
    pub row: usize,
    /// The field at fault.
    pub field: String,
    pub message: String,
}

impl RowError {
    fn new(row: usize, field: &str, message: impl Into<String>) -> Self {
        Self { row, field: field.to_owned(), message: message.into() }
    }
}

/// The outcome of an import.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// Products written.
    pub imported: usize,
    /// Variants written.
    pub variants: usize,
    /// Records left out, by record number.
    pub errors: Vec<RowError>,
}

/// Reads CSV with a header row. A malformed file is one error at the row where
/// reading stopped; records before it are kept.
pub fn parse_csv(body: &[u8]) -> (Vec<Record>, Vec<RowError>) {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(body);
    let headers = match reader.headers() {
        Ok(headers) => headers.iter().map(|h| h.to_ascii_lowercase()).collect::<Vec<_>>(),
        Err(e) => return (Vec::new(), vec![RowError::new(0, "body", format!("cannot read the CSV header: {e}"))]),
    };
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (n, result) in reader.records().enumerate() {
        let row = n + 1;
        match result {
            Ok(fields) => {
                let mut record = Record { row, ..Record::default() };
                for (name, value) in headers.iter().zip(fields.iter()) {
                    if value.is_empty() {
                        continue;
                    }
                    match name.strip_prefix("attr:") {
                        Some(attribute) => {
                            record.attributes.insert(attribute.to_owned(), value.to_owned());
                        }
                        None => {
                            record.fields.insert(name.clone(), value.to_owned());
                        }
                    }
                }
                records.push(record);
            }
            Err(e) => errors.push(RowError::new(row, "row", format!("cannot read this CSV record: {e}"))),
        }
    }
    (records, errors)
}

/// Reads JSON lines: one object per non-empty line.
pub fn parse_ndjson(body: &[u8]) -> (Vec<Record>, Vec<RowError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let lines = body.split(|b| *b == b'\n').filter(|line| !line.iter().all(u8::is_ascii_whitespace));
    for (n, line) in lines.enumerate() {
        let row = n + 1;
        let object = match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => {
                errors.push(RowError::new(row, "row", "must be a JSON object"));
                continue;
            }
            Err(e) => {
                errors.push(RowError::new(row, "row", format!("is not valid JSON: {e}")));
                continue;
            }
        };
        let mut record = Record { row, ..Record::default() };
        let mut bad = None;
        for (key, value) in object {
            match (key.as_str(), value) {
                (_, serde_json::Value::Null) => {}
                ("attributes", serde_json::Value::Object(attributes)) => {
                    for (name, value) in attributes {
                        match value {
                            serde_json::Value::String(s) => {
                                record.attributes.insert(name, s);
                            }
                            _ => bad = Some(RowError::new(row, &format!("attributes.{name}"), "must be a string")),
                        }
                    }
                }
                ("attributes", _) => bad = Some(RowError::new(row, "attributes", "must be an object of strings")),
                (_, serde_json::Value::String(s)) => {
                    record.fields.insert(key, s);
                }
                (_, value @ serde_json::Value::Number(_)) => {
                    record.fields.insert(key, value.to_string());
                }
                (_, _) => bad = Some(RowError::new(row, &key, "must be a string or a number")),
            }
        }
        match bad {
            Some(error) => errors.push(error),
            None => records.push(record),
        }
    }
    (records, errors)
}

struct ValidVariant {
    row: usize,
    sku: Sku,
    title: String,
    price: i64,
    compare_at: Option<i64>,
    weight_grams: Option<i32>,
    barcode: Option<String>,
    stock: i32,
}

struct ValidProduct {
    rows: Vec<usize>,
    handle: Handle,
    title: String,
    description: Option<String>,
    status: ProductStatus,
    attributes: Attributes,
    variants: Vec<ValidVariant>,
}

/// Checks and writes the records in the caller's transaction. Products beyond
/// the plan's quota (`max_products`) are reported, not written.
#[tracing::instrument(skip_all, fields(records = records.len()))]
pub async fn import(
    tx: &mut TenantTx,
    language: SearchLanguage,
    currency: Currency,
    max_products: Option<u32>,
    records: Vec<Record>,
    mut errors: Vec<RowError>,
) -> Result<ImportReport, Error> {
    let mut products = group(records, &mut errors);
    reject_taken(tx, &mut products, &mut errors).await?;
    products.retain(|p| !p.variants.is_empty());
    if let Some(capacity) = super::service::product_capacity(tx, max_products).await? {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        for product in products.iter().skip(capacity) {
            for row in &product.rows {
                let limit = max_products.unwrap_or_default();
                errors.push(RowError::new(*row, "handle", format!("the store's plan allows {limit} products")));
            }
        }
        products.truncate(capacity);
    }

    let mut report = ImportReport::default();
    for chunk in products.chunks(CHUNK) {
        report.variants += write_chunk(tx, language, currency, chunk).await?;
        report.imported += chunk.len();
    }
    errors.sort_by_key(|e| e.row);
    report.errors = errors;
    Ok(report)
}

/// Validates records and groups them into products by handle, in first-seen order.
fn group(records: Vec<Record>, errors: &mut Vec<RowError>) -> Vec<ValidProduct> {
    let mut products: Vec<ValidProduct> = Vec::new();
    let mut by_handle: HashMap<String, usize> = HashMap::new();
    let mut rejected_handles: HashMap<String, usize> = HashMap::new();
    let mut skus: HashSet<String> = HashSet::new();

    for record in records {
        let row = record.row;
        let handle = match (record.get("handle"), record.get("title")) {
            (Some(handle), _) => match Handle::parse(handle) {
                Ok(handle) => handle,
                Err(message) => {
                    errors.push(RowError::new(row, "handle", message));
                    continue;
                }
            },
            (None, Some(title)) => match Handle::from_title(title) {
                Some(handle) => handle,
                None => {
                    errors.push(RowError::new(row, "handle", "cannot be derived from the title; give one"));
                    continue;
                }
            },
            (None, None) => {
                errors.push(RowError::new(row, "title", "is required"));
                continue;
            }
        };
        if let Some(first) = rejected_handles.get(handle.as_ref()) {
            errors.push(RowError::new(row, "handle", format!("its product was rejected at row {first}")));
            continue;
        }
        let index = match by_handle.get(handle.as_ref()) {
            Some(index) => *index,
            None => match product_fields(&record, handle.clone()) {
                Ok(product) => {
                    by_handle.insert(handle.as_ref().to_owned(), products.len());
                    products.push(product);
                    products.len() - 1
                }
                Err(error) => {
                    rejected_handles.insert(handle.as_ref().to_owned(), row);
                    errors.push(error);
                    continue;
                }
            },
        };
        match variant_fields(&record) {
            Ok(variant) if !skus.insert(variant.sku.as_ref().to_owned()) => {
                errors.push(RowError::new(row, "sku", "appears earlier in this file"));
            }
            Ok(variant) => {
                products[index].rows.push(row);
                products[index].variants.push(variant);
            }
            Err(error) => errors.push(error),
        }
    }
    products
}

fn product_fields(record: &Record, handle: Handle) -> Result<ValidProduct, RowError> {
    let row = record.row;
    let title = record.get("title").ok_or_else(|| RowError::new(row, "title", "is required"))?;
    if title.chars().count() > 500 {
        return Err(RowError::new(row, "title", "must be at most 500 characters"));
    }
    let status = match record.get("status") {
        None => ProductStatus::Draft,
        Some(status) => ProductStatus::parse(status)
            .ok_or_else(|| RowError::new(row, "status", "must be draft, active or archived"))?,
    };
    check_attributes(&record.attributes).map_err(|message| RowError::new(row, "attributes", message))?;
    Ok(ValidProduct {
        rows: Vec::new(),
        handle,
        title: title.to_owned(),
        description: record.get("description").map(str::to_owned),
        status,
        attributes: record.attributes.clone(),
        variants: Vec::new(),
    })
}

fn variant_fields(record: &Record) -> Result<ValidVariant, RowError> {
    let row = record.row;
    let sku = Sku::parse(record.get("sku").unwrap_or_default()).map_err(|m| RowError::new(row, "sku", m))?;
    let price =
        whole_number(record, "price", MINOR_UNITS)?.ok_or_else(|| RowError::new(row, "price", "is required"))?;
    let compare_at = whole_number(record, "compare_at_price", MINOR_UNITS)?;
    for (field, amount) in [("price", Some(price)), ("compare_at_price", compare_at)] {
        if amount.is_some_and(|a: i64| a > Money::MAX_AMOUNT) {
            return Err(RowError::new(row, field, format!("must be at most {} minor units", Money::MAX_AMOUNT)));
        }
    }
    if compare_at.is_some_and(|c| c < price) {
        return Err(RowError::new(row, "compare_at_price", "must not be below the price"));
    }
    let weight_grams = whole_number(record, "weight_grams", COUNT)?;
    let stock = whole_number(record, "stock", COUNT)?.unwrap_or(0);
    let barcode = record.get("barcode").map(str::to_owned);
    if barcode.as_ref().is_some_and(|b| b.len() > 64) {
        return Err(RowError::new(row, "barcode", "must be at most 64 characters"));
    }
    let title = record.get("variant_title").unwrap_or("Default");
    if title.chars().count() > 200 {
        return Err(RowError::new(row, "variant_title", "must be at most 200 characters"));
    }
    Ok(ValidVariant { row, sku, title: title.to_owned(), price, compare_at, weight_grams, barcode, stock })
}

const MINOR_UNITS: &str = "must be a whole number of minor units, 0 or more";
const COUNT: &str = "must be a whole number, 0 or more";

/// A whole number, 0 or more, of the field when the record has it; else `refusal`.
fn whole_number<N>(record: &Record, field: &str, refusal: &str) -> Result<Option<N>, RowError>
where
    N: std::str::FromStr + PartialOrd + Default,
{
    let Some(raw) = record.get(field) else { return Ok(None) };
    let number = raw.parse::<N>().ok().filter(|n| *n >= N::default());
    number.map(Some).ok_or_else(|| RowError::new(record.row, field, refusal))
}

/// Leaves out products whose handle and variants whose SKU the store already uses.
async fn reject_taken(
    tx: &mut TenantTx,
    products: &mut [ValidProduct],
    errors: &mut Vec<RowError>,
) -> Result<(), Error> {
    let handles: Vec<&str> = products.iter().map(|p| p.handle.as_ref()).collect();
    let taken =
        already_used(tx, "select handle from product where tenant_id = $1 and handle = any($2)", &handles).await?;
    let skus: Vec<&str> = products.iter().flat_map(|p| p.variants.iter().map(|v| v.sku.as_ref())).collect();
    let taken_skus =
        already_used(tx, "select sku from product_variant where tenant_id = $1 and sku = any($2)", &skus).await?;
    for product in products.iter_mut() {
        if taken.contains(product.handle.as_ref()) {
            for row in product.rows.drain(..) {
                errors.push(RowError::new(row, "handle", "is already used in this store"));
            }
            product.variants.clear();
            continue;
        }
        product.variants.retain(|v| {
            let keep = !taken_skus.contains(v.sku.as_ref());
            if !keep {
                errors.push(RowError::new(v.row, "sku", "is already used in this store"));
            }
            keep
        });
    }
    Ok(())
}

/// Those of `values` the store already uses: `sql` selects them (`$2` is `values`).
async fn already_used(tx: &mut TenantTx, sql: &str, values: &[&str]) -> Result<HashSet<String>, Error> {
    let used: Vec<String> = sqlx::query_scalar(sql).bind(tx.tenant_id()).bind(values).fetch_all(&mut **tx).await?;
    Ok(used.into_iter().collect())
}

/// Writes one chunk of products with their variants and stock levels; returns
/// how many variants were written.
async fn write_chunk(
    tx: &mut TenantTx,
    language: SearchLanguage,
    currency: Currency,
    chunk: &[ValidProduct],
) -> Result<usize, Error> {
    let mut product_ids = Vec::with_capacity(chunk.len());
    let mut handles = Vec::with_capacity(chunk.len());
    let mut titles = Vec::with_capacity(chunk.len());
    let mut descriptions = Vec::with_capacity(chunk.len());
    let mut statuses = Vec::with_capacity(chunk.len());
    let mut attributes = Vec::with_capacity(chunk.len());
    let mut price_mins = Vec::with_capacity(chunk.len());

    let mut variant_ids = Vec::new();
    let mut variant_products = Vec::new();
    let mut skus = Vec::new();
    let mut variant_titles = Vec::new();
    let mut prices = Vec::new();
    let mut compare_ats = Vec::new();
    let mut weights = Vec::new();
    let mut barcodes = Vec::new();
    let mut positions = Vec::new();
    let mut levels = Vec::new();

    for product in chunk {
        let id = ProductId::new().as_uuid();
        product_ids.push(id);
        handles.push(product.handle.as_ref());
        titles.push(product.title.as_str());
        descriptions.push(product.description.as_deref());
        statuses.push(product.status.as_str());
        attributes.push(Json(&product.attributes));
        price_mins.push(product.variants.iter().map(|v| v.price).min());
        for (position, variant) in product.variants.iter().enumerate() {
            let variant_id = VariantId::new();
            variant_ids.push(variant_id.as_uuid());
            variant_products.push(id);
            skus.push(variant.sku.as_ref());
            variant_titles.push(variant.title.as_str());
            prices.push(Money::new(variant.price, currency).amount);
            compare_ats.push(variant.compare_at);
            weights.push(variant.weight_grams);
            barcodes.push(variant.barcode.as_deref());
            positions.push(i32::try_from(position).unwrap_or(i32::MAX));
            levels.push((variant_id, variant.stock));
        }
    }

    let sql = "insert into product (tenant_id, product_id, handle, title, description, status, attributes, \
                                    search_config, price_min) \
               select $1, u.id, u.handle, u.title, u.description, u.status, u.attributes, $2::regconfig, u.price_min \
               from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::int8[]) \
                    as u(id, handle, title, description, status, attributes, price_min)";
    let params =
        (language.as_str(), &product_ids, &handles, &titles, &descriptions, &statuses, &attributes, &price_mins);
    statements::execute(tx, sql, params).await?;

    let sql = "insert into product_variant (tenant_id, variant_id, product_id, sku, title, price_amount, currency, \
                                            compare_at_amount, weight_grams, barcode, position) \
               select $1, u.id, u.product_id, u.sku, u.title, u.price, $2, u.compare_at, u.weight, u.barcode, \
                      u.position \
               from unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::int8[], $8::int8[], $9::int4[], \
                           $10::text[], $11::int4[]) \
                    as u(id, product_id, sku, title, price, compare_at, weight, barcode, position)";
    let params = (
        currency.as_str(),
        &variant_ids,
        &variant_products,
        &skus,
        &variant_titles,
        &prices,
        &compare_ats,
        &weights,
        &barcodes,
        &positions,
    );
    statements::execute(tx, sql, params).await?;

    inventory::service::create_levels(tx, &levels)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("creating stock levels: {e}")))?;
    let ids: Vec<ProductId> = product_ids.into_iter().map(ProductId::from_uuid).collect();
    super::service::refresh_storefront(tx, &ids).await?;
    Ok(variant_ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The products a CSV file imports (those with a valid variant left), and
    /// the rows it refuses.
    fn import(csv: &str) -> (Vec<ValidProduct>, Vec<RowError>) {
        let (records, mut errors) = parse_csv(csv.as_bytes());
        assert!(errors.is_empty());
        let mut products = group(records, &mut errors);
        products.retain(|p| !p.variants.is_empty());
        (products, errors)
    }

    #[test]
    fn csv_records_group_into_products_and_bad_rows_are_named() {
        let csv = "handle,title,sku,price,attr:color,stock\n\
                   tee,Tee,TEE-S,1000,black,5\n\
                   tee,,TEE-M,1100,,\n\
                   ,Mug,MUG-1,abc,,\n\
                   ,Cap,TEE-S,500,,\n";
        let (products, errors) = import(csv);
        assert_eq!(products.len(), 1, "mug's and cap's only variants are bad");
        assert_eq!(products[0].variants.len(), 2);
        assert_eq!(products[0].attributes.get("color").map(String::as_str), Some("black"));
        assert_eq!(
            errors,
            vec![
                RowError::new(3, "price", "must be a whole number of minor units, 0 or more"),
                RowError::new(4, "sku", "appears earlier in this file"),
            ]
        );
    }

    #[test]
    fn prices_above_ten_to_the_twelve_minor_units_are_row_errors() {
        let csv = "title,sku,price,compare_at_price\n\
                   Yacht,Y-1,1000000000000,\n\
                   Ship,S-1,1000000000001,\n\
                   Boat,B-1,1,1000000000001\n";
        let (products, errors) = import(csv);
        assert_eq!(products.len(), 1, "only the yacht, at exactly the bound");
        assert_eq!(
            errors,
            vec![
                RowError::new(2, "price", "must be at most 1000000000000 minor units"),
                RowError::new(3, "compare_at_price", "must be at most 1000000000000 minor units"),
            ]
        );
    }

    #[test]
    fn ndjson_lines_become_records_and_non_objects_are_errors() {
        let body = b"{\"title\":\"Tee\",\"sku\":\"T\",\"price\":100,\"attributes\":{\"color\":\"red\"}}\n\n[1]\n";
        let (records, errors) = parse_ndjson(body);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].get("price"), Some("100"));
        assert_eq!(errors, vec![RowError::new(2, "row", "must be a JSON object")]);
    }
}
