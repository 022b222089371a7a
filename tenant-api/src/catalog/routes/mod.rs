//! Catalog HTTP: storefront reads under `/store` (cached), merchant endpoints
//! under `/admin`, and the local media backend's upload and read paths.
//! These files are the only place catalog types meet serde.

mod admin;
mod media;
mod openapi;
mod store;
mod warm;

pub(crate) use openapi::doc;
pub use warm::WarmReadsLayer;

use axum::{
    extract::DefaultBodyLimit,
    http::HeaderMap,
    routing::{get, patch, post, put},
    Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use platform::{
    extract::{decode_cursor, parse_limit, Page},
    problem::Problem,
};
use serde::Serialize;

use super::{
    model::{Category, Collection, Keyset, Media, MediaStatus, Product, ProductId, Sort, Variant},
    CatalogState,
};
use crate::wire::{timestamp, MoneyDto};

/// Largest import body: 100,000 products as CSV is about 15 MB.
const IMPORT_BODY_LIMIT: usize = 128 * 1024 * 1024;
/// Largest upload through the local media backend.
pub(crate) const LOCAL_UPLOAD_LIMIT: usize = 20 * 1024 * 1024;

/// The catalog's routes.
pub fn router() -> Router<CatalogState> {
    use admin::{categories, collections, import, products, variants};
    Router::new()
        // Literal patterns (the OpenAPI drift test reads them from here);
        // `warm.rs` names the same six.
        .route("/store/products", get(store::list_products))
        .route("/store/products/{id_or_handle}", get(store::get_product))
        .route("/store/search/suggest", get(store::suggest))
        .route("/store/categories", get(store::list_categories))
        .route("/store/collections", get(store::list_collections))
        .route("/store/collections/{id_or_handle}", get(store::get_collection))
        .route("/admin/products", post(products::create_product).get(products::list_products))
        .route("/admin/products/import", post(import::import_products).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)))
        .route(
            "/admin/products/{product_id}",
            get(products::get_product).patch(products::update_product).delete(products::delete_product),
        )
        .route("/admin/products/{product_id}/variants", post(variants::add_variant))
        .route(
            "/admin/products/{product_id}/variants/{variant_id}",
            patch(variants::update_variant).delete(variants::delete_variant),
        )
        .route("/admin/products/{product_id}/media", post(media::create_upload))
        .route("/admin/products/{product_id}/media/{media_id}", axum::routing::delete(media::delete_media))
        .route("/admin/products/{product_id}/media/{media_id}/complete", post(media::complete_upload))
        .route("/admin/categories", post(categories::create_category).get(categories::list_categories))
        .route(
            "/admin/categories/{category_id}",
            patch(categories::update_category).delete(categories::delete_category),
        )
        .route("/admin/collections", post(collections::create_collection).get(collections::list_collections))
        .route(
            "/admin/collections/{collection_id}",
            get(collections::get_collection)
                .put(collections::replace_collection)
                .delete(collections::delete_collection),
        )
        .route("/media/uploads/{token}", put(media::local_upload).layer(DefaultBodyLimit::max(LOCAL_UPLOAD_LIMIT)))
        .route("/media/{*key}", get(media::local_read))
}

#[derive(Serialize, utoipa::ToSchema)]
struct VariantResponse {
    id: String,
    sku: String,
    title: String,
    price: MoneyDto,
    compare_at_price: Option<MoneyDto>,
    weight_grams: Option<i32>,
    barcode: Option<String>,
    options: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct OptionResponse {
    name: String,
    values: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MediaResponse {
    id: String,
    url: String,
    content_type: String,
    byte_size: i64,
    alt: Option<String>,
    position: i32,
    status: &'static str,
}

impl MediaResponse {
    fn new(media: Media, url: impl Fn(&str) -> String) -> Self {
        Self {
            id: media.id.to_string(),
            url: url(&media.storage_key),
            content_type: media.content_type,
            byte_size: media.byte_size,
            alt: media.alt,
            position: media.position,
            status: media.status.as_str(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct ProductResponse {
    id: String,
    handle: String,
    title: String,
    description: Option<String>,
    status: &'static str,
    attributes: std::collections::BTreeMap<String, String>,
    options: Vec<OptionResponse>,
    variants: Vec<VariantResponse>,
    category_ids: Vec<String>,
    media: Vec<MediaResponse>,
    created_at: String,
    updated_at: String,
}

impl From<Variant> for VariantResponse {
    fn from(v: Variant) -> Self {
        Self {
            id: v.id.to_string(),
            sku: v.sku,
            title: v.title,
            price: v.price.into(),
            compare_at_price: v.compare_at_price.map(Into::into),
            weight_grams: v.weight_grams,
            barcode: v.barcode,
            options: v.options,
        }
    }
}

impl ProductResponse {
    /// `shopper`: only media that finished uploading.
    fn new(p: Product, media: &platform::media::MediaStore, shopper: bool) -> Self {
        Self::with_media_urls(p, shopper, |key| media.public_url(key))
    }

    fn with_media_urls(p: Product, shopper: bool, url: impl Fn(&str) -> String) -> Self {
        Self {
            id: p.id.to_string(),
            handle: p.handle,
            title: p.title,
            description: p.description,
            status: p.status.as_str(),
            attributes: p.attributes,
            options: p.options.into_iter().map(|o| OptionResponse { name: o.name, values: o.values }).collect(),
            variants: p.variants.into_iter().map(Into::into).collect(),
            category_ids: p.category_ids.iter().map(ToString::to_string).collect(),
            media: p
                .media
                .into_iter()
                .filter(|m| !shopper || m.status == MediaStatus::Ready)
                .map(|m| MediaResponse::new(m, &url))
                .collect(),
            created_at: timestamp(p.created_at),
            updated_at: timestamp(p.updated_at),
        }
    }
}

/// The renderer of the storefront read model; stored JSON of another version
/// is not served (it is rendered from the tables instead, and re-rendered by
/// the start-up backfill). Bump it whenever a shopper's product JSON changes
/// shape: a field of [`ProductResponse`] or of what it contains.
pub(crate) const STOREFRONT_VERSION: i32 = 1;

/// How a media URL starts in stored JSON: the replica's media base is not
/// baked in (it is configuration, `MEDIA_PUBLIC_URL`), a NUL stands for it.
/// No other text of a product can hold this sequence: inside a JSON string
/// every `"` is escaped, and a NUL never gets past the edge.
const MEDIA_URL_MARK: &str = "\"url\":\"\\u0000";

/// A product's shopper JSON as the read model stores it: the bytes of its
/// storefront answer, media URLs marked for [`push_with_media_base`]. `None` when
/// the product's own text forged the mark (it is then rendered per read).
pub(crate) fn storefront_doc(product: Product) -> Option<String> {
    let ready = product.media.iter().filter(|m| m.status == MediaStatus::Ready).count();
    let doc =
        serde_json::to_string(&ProductResponse::with_media_urls(product, true, |key| format!("\0/{key}"))).ok()?;
    (doc.matches(MEDIA_URL_MARK).count() == ready).then_some(doc)
}

/// Where stored storefront JSON's next media mark is, if it has one.
fn media_mark(doc: &[u8]) -> Option<usize> {
    // Every product of a cold list passes here. The mark's backslash is the
    // rarest byte of a document (JSON escapes only), so a one-byte scan for
    // it, checked where it stands, beats a substring search: memmem's
    // searcher cost ~13,000 instructions per 27 KB page without a single
    // mark (BENCHMARKS.md, round eleven).
    memchr::memchr_iter(b'\\', doc).find_map(|at| {
        let start = at.checked_sub(MEDIA_URL_MARK_BACKSLASH)?;
        doc[start..].starts_with(MEDIA_URL_MARK.as_bytes()).then_some(start)
    })
}

/// Whether stored storefront JSON shows an empty media list, read from its
/// end: [`ProductResponse`] writes `media` after every other list, and only
/// two timestamps follow it, so the document's last `[` is the media list's
/// own. It is then media-free when that `[` closes at once and follows the
/// key itself: inside a JSON string a quote is escaped, so no text of a
/// product forges `"media":[` (nor does a media entry, whose keys are fixed).
/// Most products of a catalog have no media, and this looks at ~70 bytes
/// where [`media_mark`]'s scan reads all of them (~4,700 instructions per
/// 27 KB page). `false` only costs that scan.
fn without_media(doc: &[u8]) -> bool {
    const KEY: &[u8] = b"\"media\":";
    memchr::memrchr(b'[', doc).is_some_and(|at| doc[..at].ends_with(KEY) && doc.get(at + 1) == Some(&b']'))
}

/// Where [`MEDIA_URL_MARK`]'s one backslash stands in it.
const MEDIA_URL_MARK_BACKSLASH: usize = "\"url\":\"".len();

/// Appends stored storefront JSON to `out` with this replica's media base in
/// its URLs: the bytes [`ProductResponse::new`] gives for a shopper.
fn push_with_media_base(out: &mut Vec<u8>, doc: &[u8], media: &platform::media::MediaStore) {
    push_with_base(out, doc, || media.public_url(""));
}

/// [`push_with_media_base`] with the base asked for only when a mark is found.
fn push_with_base(out: &mut Vec<u8>, doc: &[u8], base: impl FnOnce() -> String) {
    let mark = if without_media(doc) { None } else { media_mark(doc) };
    let Some(mut at) = mark else {
        out.extend_from_slice(doc);
        return;
    };
    let base = base();
    let base = base.strip_suffix('/').unwrap_or(&base);
    // Escaped as serde escapes it; the quotes come off.
    let escaped = serde_json::to_string(base).unwrap_or_default();
    let escaped = escaped.get(1..escaped.len().saturating_sub(1)).unwrap_or_default();
    let mut rest = doc;
    loop {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"\"url\":\"");
        out.extend_from_slice(escaped.as_bytes());
        rest = &rest[at + MEDIA_URL_MARK.len()..];
        match media_mark(rest) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.extend_from_slice(rest);
}

#[derive(Serialize, utoipa::ToSchema)]
struct CategoryResponse {
    id: String,
    parent_id: Option<String>,
    handle: String,
    name: String,
    description: Option<String>,
    position: i32,
}

impl From<Category> for CategoryResponse {
    fn from(c: Category) -> Self {
        Self {
            id: c.id.to_string(),
            parent_id: c.parent_id.map(|p| p.to_string()),
            handle: c.handle,
            name: c.name,
            description: c.description,
            position: c.position,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct CollectionResponse {
    id: String,
    handle: String,
    title: String,
    description: Option<String>,
    product_ids: Vec<String>,
}

impl From<Collection> for CollectionResponse {
    fn from(c: Collection) -> Self {
        Self {
            id: c.id.to_string(),
            handle: c.handle,
            title: c.title,
            description: c.description,
            product_ids: c.product_ids.iter().map(ToString::to_string).collect(),
        }
    }
}

fn bad_cursor() -> Problem {
    Problem::invalid_parameter("cursor", "is not a cursor this API issued for this list")
}

/// Cursors are opaque to clients: base64url of `<sort>|<id>|<sort key>`.
fn encode_keyset(keyset: &Keyset) -> String {
    let text = match keyset {
        Keyset::Newest(id) => format!("newest|{id}|"),
        Keyset::Price(price, id) => format!("price|{id}|{price}"),
        Keyset::Title(title, id) => format!("title|{id}|{title}"),
        Keyset::Relevance(score, id) => format!("relevance|{id}|{:016x}", score.to_bits()),
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// Decodes a cursor issued for `sort`; anything else is a 400.
fn decode_keyset(raw: &str, sort: Sort) -> Result<Keyset, Problem> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad_cursor())?;
    let text = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
    let mut parts = text.splitn(3, '|');
    let (Some(kind), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_cursor());
    };
    let id = ProductId::parse(id).ok_or_else(bad_cursor)?;
    let keyset = match (kind, sort) {
        ("newest", Sort::Newest) => Keyset::Newest(id),
        ("price", Sort::PriceAsc | Sort::PriceDesc) => Keyset::Price(key.parse().map_err(|_| bad_cursor())?, id),
        ("title", Sort::Title) => Keyset::Title(key.to_owned(), id),
        ("relevance", Sort::Relevance) => {
            Keyset::Relevance(f64::from_bits(u64::from_str_radix(key, 16).map_err(|_| bad_cursor())?), id)
        }
        _ => return Err(bad_cursor()),
    };
    Ok(keyset)
}

/// `?limit=&cursor=` of a list by id (admin lists, collections); answer with
/// [`Page::respond`]. The catalog's cursor refusal names the list.
fn id_page(limit: Option<&str>, cursor: Option<&str>) -> Result<Page, Problem> {
    Ok(Page { limit: parse_limit(limit)?, after: decode_cursor(cursor).map_err(|_| bad_cursor())? })
}

/// The origin the client used to reach this store (`https://shop.example.com`),
/// for URLs on our own host. The gateway sets `x-forwarded-proto`.
fn request_origin(headers: &HeaderMap) -> String {
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// Serializes a response body once, for the cache and the wire alike.
fn json_bytes<T: Serialize>(value: &T) -> Result<axum::body::Bytes, Problem> {
    serde_json::to_vec(value).map(Into::into).map_err(|e| Problem::internal(e.into()))
}

fn json_response(body: axum::body::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_marks_are_found_among_other_escapes_and_only_whole() {
        use super::{media_mark, MEDIA_URL_MARK};
        assert_eq!(MEDIA_URL_MARK.find('\\'), Some(super::MEDIA_URL_MARK_BACKSLASH));
        let doc = br#"{"d":"a \"q\" \\u0000 \n","media":[{"url":"\u0000/k1"},{"url":"\u0000/k2"}]}"#;
        let first = media_mark(doc).unwrap();
        assert_eq!(&doc[first..first + MEDIA_URL_MARK.len()], MEDIA_URL_MARK.as_bytes());
        assert_eq!(&doc[first + MEDIA_URL_MARK.len()..first + MEDIA_URL_MARK.len() + 3], b"/k1");
        let rest = &doc[first + MEDIA_URL_MARK.len()..];
        let second = media_mark(rest).unwrap();
        assert_eq!(&rest[second + MEDIA_URL_MARK.len()..second + MEDIA_URL_MARK.len() + 3], b"/k2");
        assert_eq!(media_mark(&rest[second + MEDIA_URL_MARK.len()..]), None);
        for without in [&br#"{"d":"a \"q\" \\u0000 \n"}"#[..], br#"\u0000"#, br#""url":"u0000"#, b""] {
            assert_eq!(media_mark(without), None, "{}", String::from_utf8_lossy(without));
        }
    }

    #[test]
    fn a_media_free_document_is_told_from_its_end_and_nothing_else_passes_for_one() {
        use super::without_media;
        let tail = r#","created_at":"2026-12-04T19:00:00Z","updated_at":"2026-12-04T19:00:00.5Z"}"#;
        let free =
            format!(r#"{{"title":"[\"media\":[]","attributes":{{"media":"[]"}},"category_ids":[],"media":[]{tail}"#);
        assert!(without_media(free.as_bytes()), "{free}");
        for with in [
            format!(r#"{{"category_ids":[],"media":[{{"url":"\u0000/k","alt":"[]"}}]{tail}"#),
            format!(r#"{{"category_ids":[],"media":[{{"url":"\u0000/k","alt":"\"media\":[]"}}]{tail}"#),
            format!(r#"{{"category_ids":[],"media":[{{"url":"\u0000/k"}}]{tail}"#),
            format!(r#"{{"media":[]{tail}"#).replace("media", "xmedia"),
            String::new(),
            "[]".into(),
        ] {
            assert!(!without_media(with.as_bytes()), "{with}");
        }
        // Whatever the answer, the bytes written are the document's own with
        // this replica's base in its marks.
        for doc in [free.clone(), format!(r#"{{"media":[{{"url":"\u0000/k","alt":"[]"}}]{tail}"#)] {
            let mut out = Vec::new();
            super::push_with_base(&mut out, doc.as_bytes(), || "http://cdn.test/m/".into());
            assert_eq!(String::from_utf8(out).unwrap(), doc.replace("\\u0000", "http://cdn.test/m"));
        }
    }

    #[test]
    fn cursors_round_trip_per_sort_and_garbage_is_refused() {
        let id = ProductId::new();
        for (keyset, sort) in [
            (Keyset::Newest(id), Sort::Newest),
            (Keyset::Price(1999, id), Sort::PriceAsc),
            (Keyset::Title("A|b".into(), id), Sort::Title),
            (Keyset::Relevance(0.123_456_789, id), Sort::Relevance),
        ] {
            assert_eq!(decode_keyset(&encode_keyset(&keyset), sort).unwrap(), keyset);
        }
        assert!(decode_keyset(&encode_keyset(&Keyset::Newest(id)), Sort::Title).is_err());
        assert!(decode_keyset("not a cursor", Sort::Newest).is_err());
        assert!(decode_keyset("AAAA", Sort::Newest).is_err());
    }
}
