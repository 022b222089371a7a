//! Catalog domain types. Not wire types: `routes.rs` maps them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use platform::money::Money;

platform::id_type!(
    /// A product of one store.
    ProductId
);
platform::id_type!(
    /// A purchasable variant of a product.
    VariantId
);
platform::id_type!(
    /// A node of a store's category tree.
    CategoryId
);
platform::id_type!(
    /// A hand-picked set of products.
    CollectionId
);
platform::id_type!(
    /// An image or file attached to a product.
    MediaId
);

/// Whether shoppers see a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductStatus {
    /// Being prepared; hidden from shoppers.
    Draft,
    /// On sale.
    Active,
    /// Retired; hidden from shoppers, kept for order history.
    Archived,
}

impl ProductStatus {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }
}

/// A URL-safe, store-unique name: lower-case letters, digits, inner dashes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Handle(String);

impl Handle {
    /// Parses a handle; the reason when it is not one.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let ok_chars = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if value.is_empty() || value.len() > 200 {
            Err("must be 1 to 200 characters")
        } else if !ok_chars || value.starts_with('-') || value.ends_with('-') {
            Err("may hold only a-z, 0-9 and inner dashes")
        } else {
            Ok(Self(value.to_owned()))
        }
    }

    /// Derives a handle from a title: "Blue Shirt (XL)" → "blue-shirt-xl".
    pub fn from_title(title: &str) -> Option<Self> {
        let mut handle = String::with_capacity(title.len());
        for c in title.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                handle.push(c);
            } else if !handle.is_empty() && !handle.ends_with('-') {
                handle.push('-');
            }
        }
        let handle = handle.trim_end_matches('-');
        Self::parse(handle[..handle.len().min(200)].trim_end_matches('-')).ok()
    }
}

impl AsRef<str> for Handle {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A stock keeping unit, unique in the store: 1–100 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    /// Parses a SKU; the reason when it is not one.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        if value.is_empty() || value.len() > 100 {
            Err("must be 1 to 100 characters")
        } else if !value.bytes().all(|b| b.is_ascii_graphic()) {
            Err("may hold only visible ASCII characters, no spaces")
        } else {
            Ok(Self(value.to_owned()))
        }
    }
}

impl AsRef<str> for Sku {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Free-form product attributes (`material` → `wool`), used for filters and facets.
pub type Attributes = BTreeMap<String, String>;

/// Checks attribute names and values; the reason when they break a rule.
pub fn check_attributes(attributes: &Attributes) -> Result<(), String> {
    if attributes.len() > 50 {
        return Err("at most 50 attributes".into());
    }
    for (name, value) in attributes {
        if name.is_empty() || name.len() > 100 {
            return Err(format!("attribute name {name:?} must be 1 to 100 characters"));
        }
        if value.is_empty() || value.len() > 500 {
            return Err(format!("attribute {name:?} must have a value of 1 to 500 characters"));
        }
    }
    Ok(())
}

/// One option of a product ("Size": S, M, L).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductOption {
    /// Its name, unique in the product.
    pub name: String,
    /// The values variants may take, in display order.
    pub values: Vec<String>,
}

/// A variant as shoppers and staff see it.
#[derive(Clone, Debug)]
pub struct Variant {
    pub id: VariantId,
    pub sku: String,
    /// Name of the option combination ("Large / Blue").
    pub title: String,
    pub price: Money,
    /// The "was" price shown struck through; never below the price.
    pub compare_at_price: Option<Money>,
    /// Shipping weight in grams.
    pub weight_grams: Option<i32>,
    /// GTIN, EAN, UPC or ISBN.
    pub barcode: Option<String>,
    /// Its value of each of the product's options.
    pub options: BTreeMap<String, String>,
}

/// Whether a media object can be shown yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaStatus {
    /// An upload URL was handed out; the upload is not confirmed.
    Pending,
    /// Uploaded; shown to shoppers.
    Ready,
}

impl MediaStatus {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "ready" => Some(Self::Ready),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
        }
    }
}

/// An image or file of a product.
#[derive(Clone, Debug)]
pub struct Media {
    pub id: MediaId,
    /// Its key in the media backend (starts with the store id).
    pub storage_key: String,
    /// MIME type.
    pub content_type: String,
    pub byte_size: i64,
    /// Alternative text.
    pub alt: Option<String>,
    /// Display order.
    pub position: i32,
    pub status: MediaStatus,
}

/// A product with everything that hangs off it.
#[derive(Clone, Debug)]
pub struct Product {
    pub id: ProductId,
    /// Store-unique URL name.
    pub handle: String,
    pub title: String,
    /// Long description.
    pub description: Option<String>,
    pub status: ProductStatus,
    /// Free-form attributes (material, brand…), used for filters.
    pub attributes: Attributes,
    /// Options, in display order.
    pub options: Vec<ProductOption>,
    /// Variants, in display order.
    pub variants: Vec<Variant>,
    /// Categories it is filed under.
    pub category_ids: Vec<CategoryId>,
    /// Media, in display order.
    pub media: Vec<Media>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A validated variant to create.
#[derive(Clone, Debug)]
pub struct NewVariant {
    pub sku: Sku,
    /// Title; "Default" when none is given.
    pub title: String,
    /// Unit price; its currency is the store's.
    pub price: Money,
    /// "Was" price, at least the price.
    pub compare_at_price: Option<Money>,
    pub weight_grams: Option<i32>,
    pub barcode: Option<String>,
    pub options: BTreeMap<String, String>,
    /// Initial stock.
    pub stock: i32,
}

/// A validated product to create.
#[derive(Clone, Debug)]
pub struct NewProduct {
    pub title: String,
    /// Handle; derived from the title when none is given.
    pub handle: Handle,
    pub description: Option<String>,
    pub status: ProductStatus,
    pub attributes: Attributes,
    pub options: Vec<ProductOption>,
    /// Variants, at least one.
    pub variants: Vec<NewVariant>,
    pub category_ids: Vec<CategoryId>,
}

/// A validated change to a product; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ProductPatch {
    pub title: Option<String>,
    pub handle: Option<Handle>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    pub status: Option<ProductStatus>,
    /// Replaces the attributes.
    pub attributes: Option<Attributes>,
    /// Replaces the options.
    pub options: Option<Vec<ProductOption>>,
    /// Replaces the categories.
    pub category_ids: Option<Vec<CategoryId>>,
}

/// A validated change to a variant; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct VariantPatch {
    pub sku: Option<Sku>,
    pub title: Option<String>,
    pub price: Option<Money>,
    /// New compare-at price (`Some(None)` clears it).
    pub compare_at_price: Option<Option<Money>>,
    pub weight_grams: Option<Option<i32>>,
    pub barcode: Option<Option<String>>,
    pub options: Option<BTreeMap<String, String>>,
}

/// A node of the category tree.
#[derive(Clone, Debug)]
pub struct Category {
    pub id: CategoryId,
    /// Its parent; `None` for a root.
    pub parent_id: Option<CategoryId>,
    /// Store-unique URL name.
    pub handle: String,
    pub name: String,
    pub description: Option<String>,
    /// Order among siblings.
    pub position: i32,
}

/// A validated category to create.
#[derive(Clone, Debug)]
pub struct NewCategory {
    /// Parent; `None` for a root.
    pub parent_id: Option<CategoryId>,
    pub handle: Handle,
    pub name: String,
    pub description: Option<String>,
    /// Order among siblings.
    pub position: i32,
}

/// A validated change to a category.
#[derive(Clone, Debug, Default)]
pub struct CategoryPatch {
    /// New parent (`Some(None)` makes it a root).
    pub parent_id: Option<Option<CategoryId>>,
    pub handle: Option<Handle>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub position: Option<i32>,
}

/// A hand-picked set of products.
#[derive(Clone, Debug)]
pub struct Collection {
    pub id: CollectionId,
    /// Store-unique URL name.
    pub handle: String,
    pub title: String,
    pub description: Option<String>,
    /// Its products, in order.
    pub product_ids: Vec<ProductId>,
}

/// A validated collection to create or replace.
#[derive(Clone, Debug)]
pub struct NewCollection {
    pub handle: Handle,
    pub title: String,
    pub description: Option<String>,
    /// Products, in order; `None` keeps them on update.
    pub product_ids: Option<Vec<ProductId>>,
}

/// The text search configuration of a store's language (PostgreSQL `regconfig`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchLanguage(&'static str);

impl SearchLanguage {
    /// The configuration for a BCP 47 locale; `simple` (no stemming) for languages
    /// PostgreSQL has no stemmer for.
    pub fn for_locale(locale: &str) -> Self {
        let language = locale.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        Self(match language.as_str() {
            "ar" => "arabic",
            "da" => "danish",
            "de" => "german",
            "el" => "greek",
            "en" => "english",
            "es" => "spanish",
            "fi" => "finnish",
            "fr" => "french",
            "hu" => "hungarian",
            "id" => "indonesian",
            "it" => "italian",
            "lt" => "lithuanian",
            "nb" | "nn" | "no" => "norwegian",
            "nl" => "dutch",
            "pt" => "portuguese",
            "ro" => "romanian",
            "ru" => "russian",
            "sv" => "swedish",
            "tr" => "turkish",
            _ => "simple",
        })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// How a storefront list is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Newest first (the default without a search phrase).
    Newest,
    /// Cheapest first, by lowest variant price.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// By title, A to Z.
    Title,
    /// Best match first (the default with a search phrase).
    Relevance,
}

impl Sort {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "newest" => Some(Self::Newest),
            "price_asc" | "price" => Some(Self::PriceAsc),
            "price_desc" | "-price" => Some(Self::PriceDesc),
            "title" => Some(Self::Title),
            "relevance" => Some(Self::Relevance),
            _ => None,
        }
    }

    /// The canonical spelling (also the tag inside cursors).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::PriceAsc => "price_asc",
            Self::PriceDesc => "price_desc",
            Self::Title => "title",
            Self::Relevance => "relevance",
        }
    }
}

/// The position after the last item of a page, in the sort's own key.
#[derive(Clone, Debug, PartialEq)]
pub enum Keyset {
    /// After this product, newest first.
    Newest(ProductId),
    /// After this (lowest price, product).
    Price(i64, ProductId),
    /// After this (title, product).
    Title(String, ProductId),
    /// After this (score, product).
    Relevance(f64, ProductId),
}

/// How a storefront path or filter names a category or collection: by id when
/// the text is one, by handle otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdOrHandle<I> {
    Id(I),
    Handle(String),
}

impl<I: Copy> IdOrHandle<I> {
    /// `id` is the id type's own parser (`CategoryId::parse`).
    pub fn parse(raw: &str, id: impl FnOnce(&str) -> Option<I>) -> Self {
        id(raw).map_or_else(|| Self::Handle(raw.to_owned()), Self::Id)
    }

    pub fn id(&self) -> Option<I> {
        match self {
            Self::Id(id) => Some(*id),
            Self::Handle(_) => None,
        }
    }

    pub fn handle(&self) -> Option<&str> {
        match self {
            Self::Id(_) => None,
            Self::Handle(handle) => Some(handle),
        }
    }
}

/// Which active products a storefront list holds.
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    /// Search phrase (full text, with trigram matching for misspellings).
    pub query: Option<String>,
    /// Its descendants are included.
    pub category: Option<IdOrHandle<CategoryId>>,
    pub collection: Option<IdOrHandle<CollectionId>>,
    /// Lowest variant price at least this (minor units).
    pub price_min: Option<i64>,
    /// Lowest variant price at most this (minor units).
    pub price_max: Option<i64>,
    /// Attribute name → accepted values (any of them); every name must match.
    pub attributes: BTreeMap<String, Vec<String>>,
}

/// Where a list starts and how long it is.
#[derive(Clone, Debug)]
pub struct Page {
    /// Items per page, 1–100.
    pub limit: i64,
    /// Continue after this position (exclusive).
    pub after: Option<Keyset>,
}

/// A page of products with the key to continue after its last one.
#[derive(Clone, Debug)]
pub struct ProductPage {
    pub items: Vec<Product>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Keyset>,
}

/// Counts of the filtered products by facet value.
#[derive(Clone, Debug, Default)]
pub struct Facets {
    /// How many products match.
    pub total: i64,
    /// (attribute name, value, count), by name then count.
    pub attributes: Vec<(String, String, i64)>,
    /// (category, count) for categories products are filed under directly.
    pub categories: Vec<(Category, i64)>,
    /// (collection id, handle, title, count).
    pub collections: Vec<(CollectionId, String, String, i64)>,
    /// Lowest and highest lowest-variant price.
    pub price_range: Option<(i64, i64)>,
}

/// One autocomplete suggestion.
#[derive(Clone, Debug)]
pub struct Suggestion {
    pub id: ProductId,
    pub handle: String,
    pub title: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_derive_from_titles() {
        assert_eq!(Handle::from_title("Blue Shirt (XL)").unwrap().as_ref(), "blue-shirt-xl");
        assert_eq!(Handle::from_title("  Café — Noir!! ").unwrap().as_ref(), "caf-noir");
        assert!(Handle::from_title("!!!").is_none());
    }

    #[test]
    fn handles_refuse_upper_case_and_edge_dashes() {
        for bad in ["", "A", "-a", "a-", "a b", "a_b"] {
            assert!(Handle::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Handle::parse("a-1").is_ok());
    }

    #[test]
    fn skus_refuse_spaces_and_empty() {
        assert!(Sku::parse("TEE-BLK-M").is_ok());
        for bad in ["", "A B", "é", &"x".repeat(101)] {
            assert!(Sku::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn locales_map_to_search_languages() {
        assert_eq!(SearchLanguage::for_locale("en-US").as_str(), "english");
        assert_eq!(SearchLanguage::for_locale("fr_CA").as_str(), "french");
        assert_eq!(SearchLanguage::for_locale("ja-JP").as_str(), "simple");
    }
}
