//! Storefront reads under `/store`: active products only, cached per store.

use std::collections::BTreeMap;

use std::sync::Arc;

use axum::{
    extract::{FromRequestParts, OriginalUri, Path, Query},
    http::request::Parts,
    response::Response,
};
use platform::{
    db::TenantTx,
    extract::{parse_limit, ApiQuery, ListResponse},
    problem::Problem,
    tenancy::{Tenant, TenantCtx},
};
use serde::Serialize;

use platform::media::MediaStore;

use super::{
    decode_keyset, encode_keyset, id_page, json_bytes, json_response, push_with_media_base, warm, CategoryResponse,
    CollectionResponse, ProductResponse,
};
use crate::catalog::{
    model::{
        Category, CategoryId, CollectionId, Facets, IdOrHandle, Keyset, Page, ProductFilter, ProductId, SearchLanguage,
        Sort,
    },
    repo, service, CatalogState,
};

/// The query string as sent: repeated keys keep every value.
type Pairs = Vec<(String, String)>;

/// A storefront read: the catalog's state, the resolved store, the path and
/// query as sent, and the cache key built from them.
pub(super) struct StoreRead {
    state: CatalogState,
    tenant: Arc<Tenant>,
    uri: OriginalUri,
    key: String,
}

/// The longest `q` a storefront read takes, in characters.
const MAX_Q_CHARS: usize = 200;
/// The most `attr.<name>` values one product list filters on.
const MAX_ATTRIBUTE_FILTERS: usize = 20;

/// The query parameters a storefront read takes (its route as matched), and
/// whether `attr.<name>` filters are among them. Any other is refused.
fn accepted(route: &str) -> (&'static [&'static str], bool) {
    match route {
        warm::PRODUCTS => {
            (&["q", "category", "collection", "price_min", "price_max", "sort", "limit", "cursor", "facets"], true)
        }
        warm::SUGGEST => (&["q", "limit"], false),
        warm::COLLECTIONS => (&["limit", "cursor"], false),
        _ => (&[], false),
    }
}

/// The store's cache key of a read: its path and its parameters sorted by
/// name (repeated values in the order sent). Unknown parameters are a `400`,
/// never part of a key, so `?junk=N` can neither bypass the cache nor fill
/// it; `q` and the number of attribute filters are bounded.
///
/// Every storefront read, hit or miss, builds its key, so the pairs are
/// decoded with `form_urlencoded` (what axum's `Query` decodes with, through
/// serde_urlencoded), borrowing from the query unless a pair is escaped, and
/// collected and sorted only when they arrive out of order (a query of one
/// parameter, or in name order, goes into the key as it is read).
pub(super) fn cache_key(route: &str, uri: &axum::http::Uri) -> Result<String, Problem> {
    let Some(query) = uri.query().filter(|q| !q.is_empty()) else { return Ok(uri.path().to_owned()) };
    let pairs = || form_urlencoded::parse(query.as_bytes());
    let (names, attributes) = accepted(route);
    let mut key = String::with_capacity(uri.path().len() + query.len() + 8);
    key.push_str(uri.path());
    let (mut filters, mut in_order, mut previous) = (0, true, None);
    for (name, value) in pairs() {
        if name.starts_with("attr.") && attributes && name.len() > "attr.".len() {
            filters += 1;
            if filters > MAX_ATTRIBUTE_FILTERS {
                return Err(Problem::invalid_parameter(
                    &name,
                    format!("at most {MAX_ATTRIBUTE_FILTERS} attribute filters per request"),
                ));
            }
        } else if !names.contains(&name.as_ref()) {
            return Err(Problem::invalid_parameter(&name, "is not a parameter of this read"));
        }
        if value.chars().count() > MAX_Q_CHARS {
            return Err(Problem::invalid_parameter(&name, format!("must be at most {MAX_Q_CHARS} characters")));
        }
        in_order &= previous.as_ref().is_none_or(|p| *p <= name);
        if in_order {
            push_pair(&mut key, &name, &value);
        }
        previous = Some(name);
    }
    if !in_order {
        key.truncate(uri.path().len());
        // Stable: repeated names keep the order their values were sent in.
        let mut sorted: Vec<_> = pairs().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted.iter().for_each(|(name, value)| push_pair(&mut key, name, value));
    }
    Ok(key)
}

fn push_pair(key: &mut String, name: &str, value: &str) {
    // No NUL reaches here (refused at the edge): a safe separator.
    key.push('\0');
    key.push_str(name);
    key.push('=');
    key.push_str(value);
}

impl FromRequestParts<CatalogState> for StoreRead {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &CatalogState) -> Result<Self, Problem> {
        let TenantCtx(tenant) = TenantCtx::from_request_parts(parts, state).await?;
        let Ok(uri) = OriginalUri::from_request_parts(parts, state).await;
        let route = parts.extensions.get::<axum::extract::MatchedPath>().map_or("", |m| m.as_str());
        let key = cache_key(route, &uri.0)?;
        Ok(Self { state: state.clone(), tenant, uri, key })
    }
}

impl StoreRead {
    /// The cache key, taken: each read looks it up once.
    fn take_key(&mut self) -> String {
        std::mem::take(&mut self.key)
    }

    /// The store's cached body for this request, or the value `read` produces
    /// in a transaction of its own (rolled back when `read` is done with it),
    /// serialized once for the cache and the wire. A hit neither opens a
    /// transaction nor allocates beyond the cache key.
    async fn cached<T, F, Fut>(mut self, read: F) -> Result<Response, Problem>
    where
        T: Serialize,
        F: FnOnce(TenantTx) -> Fut,
        Fut: std::future::Future<Output = Result<T, Problem>>,
    {
        let key = self.take_key();
        let body = self
            .state
            .storefront_cache
            .get_or_load(self.tenant.id, key, async {
                let value = read(self.state.db.tenant_tx(&self.tenant).await?).await?;
                json_bytes(&value)
            })
            .await?;
        Ok(json_response(body))
    }
}

fn params(pairs: Pairs) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in pairs {
        map.entry(key).or_default().push(value);
    }
    map
}

fn single<'a>(params: &'a BTreeMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(|v| v.last()).map(String::as_str)
}

fn amount(params: &BTreeMap<String, Vec<String>>, name: &str) -> Result<Option<i64>, Problem> {
    single(params, name)
        .filter(|v| !v.is_empty())
        .map(|raw| {
            raw.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Problem::invalid_parameter(name, "must be a whole number of minor units, 0 or more"))
        })
        .transpose()
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ProductListResponse {
    items: Vec<ProductResponse>,
    next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    facets: Option<FacetsResponse>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct FacetValue {
    value: String,
    count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CategoryFacet {
    id: String,
    handle: String,
    name: String,
    count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CollectionFacet {
    id: String,
    handle: String,
    title: String,
    count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PriceRange {
    min: i64,
    max: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct FacetsResponse {
    total: i64,
    attributes: BTreeMap<String, Vec<FacetValue>>,
    categories: Vec<CategoryFacet>,
    collections: Vec<CollectionFacet>,
    price: Option<PriceRange>,
}

impl From<Facets> for FacetsResponse {
    fn from(f: Facets) -> Self {
        let mut attributes: BTreeMap<String, Vec<FacetValue>> = BTreeMap::new();
        for (name, value, count) in f.attributes {
            attributes.entry(name).or_default().push(FacetValue { value, count });
        }
        Self {
            total: f.total,
            attributes,
            categories: f
                .categories
                .into_iter()
                .map(|(c, count)| CategoryFacet { id: c.id.to_string(), handle: c.handle, name: c.name, count })
                .collect(),
            collections: f
                .collections
                .into_iter()
                .map(|(id, handle, title, count)| CollectionFacet { id: id.to_string(), handle, title, count })
                .collect(),
            price: f.price_range.map(|(min, max)| PriceRange { min, max }),
        }
    }
}

/// `GET /store/products`: active products.
///
/// `q` (full text in the store's language, misspellings by trigram), `category`
/// (id or handle, with subcategories), `collection` (id or handle), `price_min`
/// and `price_max` (minor units, on the lowest variant price), `attr.<name>`
/// (repeatable: any of the values), `sort` (`newest`, `price_asc`, `price_desc`,
/// `title`, `relevance`; relevance by default with `q`, newest otherwise),
/// `limit`, `cursor`, and `facets=true` for counts over the whole filtered set.
pub(super) async fn list_products(mut read: StoreRead) -> Result<Response, Problem> {
    // A hit skips parsing: only requests that passed it were cached.
    let key = read.take_key();
    let (state, tenant) = (&read.state, &read.tenant);
    let cache = &state.storefront_cache;
    let slot = match cache.lookup(tenant.id, key).await {
        Ok(body) => return Ok(json_response(body)),
        Err(slot) => slot,
    };
    let Query(pairs) = Query::try_from_uri(&read.uri.0).map_err(|e| Problem::bad_request(e.body_text()))?;
    let params = params(pairs);
    let limit = parse_limit(single(&params, "limit"))?;
    let query = single(&params, "q").map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
    let sort = match single(&params, "sort").filter(|s| !s.is_empty()) {
        None if query.is_some() => Sort::Relevance,
        None => Sort::Newest,
        Some(raw) => Sort::parse(raw).ok_or_else(|| {
            Problem::invalid_parameter("sort", "must be newest, price_asc, price_desc, title or relevance")
        })?,
    };
    if sort == Sort::Relevance && query.is_none() {
        return Err(Problem::invalid_parameter("sort", "relevance needs a search phrase in q"));
    }
    let after = single(&params, "cursor").filter(|c| !c.is_empty()).map(|c| decode_keyset(c, sort)).transpose()?;
    let attributes = params
        .iter()
        .filter_map(|(key, values)| key.strip_prefix("attr.").map(|name| (name.to_owned(), values.clone())))
        .collect();
    let non_empty = |name| single(&params, name).filter(|v| !v.is_empty());
    let filter = ProductFilter {
        query,
        category: non_empty("category").map(|c| IdOrHandle::parse(c, CategoryId::parse)),
        collection: non_empty("collection").map(|c| IdOrHandle::parse(c, CollectionId::parse)),
        price_min: amount(&params, "price_min")?,
        price_max: amount(&params, "price_max")?,
        attributes,
    };
    let with_facets = matches!(single(&params, "facets"), Some("true" | "1"));
    let page = Page { limit, after };
    let language = SearchLanguage::for_locale(&tenant.locale);

    if filter.query.is_none() && !with_facets {
        // The read model: one round trip of ready JSON, concatenated.
        let body = cache
            .fill(slot, async {
                let (docs, next) = service::storefront_page(&state.db, tenant, &filter, sort, &page).await?;
                Ok::<_, Problem>(list_body(&docs, next.as_ref(), &state.media)?.into())
            })
            .await?;
        return Ok(json_response(body));
    }
    let body = cache
        .fill(slot, async {
            // Without a phrase the list is an index scan whatever the values
            // (see `TenantTx::begin_generic`); a search keeps value-shaped plans.
            let mut tx = if filter.query.is_none() {
                state.db.tenant_tx_generic(tenant).await?
            } else {
                state.db.tenant_tx(tenant).await?
            };
            let found = service::search_products(&mut tx, language, &filter, sort, &page).await?;
            let facets = if with_facets { Some(service::facets(&mut tx, language, &filter).await?) } else { None };
            // Read-only: dropping the transaction rolls it back with the connection's next use.
            drop(tx);
            json_bytes(&ProductListResponse {
                items: found.items.into_iter().map(|p| ProductResponse::new(p, &state.media, true)).collect(),
                next_cursor: found.next.as_ref().map(encode_keyset),
                facets: facets.map(Into::into),
            })
        })
        .await?;
    Ok(json_response(body))
}

/// The bytes serde gives [`ProductListResponse`] without facets, from the
/// products' storefront JSON: `{"items":[<doc>,…],"next_cursor":<cursor>}`,
/// written once into a buffer of the final size (with room for media URLs).
fn list_body(page: &service::StorefrontPage, next: Option<&Keyset>, media: &MediaStore) -> Result<Vec<u8>, Problem> {
    // A cursor is base64url: nothing in it needs escaping.
    let cursor = next.map(encode_keyset);
    let (stored, live) = page.size();
    let stored = stored + live * 2048;
    let mut body = Vec::with_capacity(stored + stored / 8 + cursor.as_ref().map_or(0, String::len) + 64);
    body.extend_from_slice(b"{\"items\":[");
    for (n, doc) in page.docs().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        push_shopper_json(&mut body, doc?, media);
    }
    body.extend_from_slice(b"],\"next_cursor\":");
    match cursor {
        Some(cursor) => {
            body.push(b'"');
            body.extend_from_slice(cursor.as_bytes());
            body.push(b'"');
        }
        None => body.extend_from_slice(b"null"),
    }
    body.push(b'}');
    Ok(body)
}

/// Appends a product's storefront JSON with this replica's media URLs.
fn push_shopper_json(out: &mut Vec<u8>, doc: service::StorefrontDoc, media: &MediaStore) {
    match doc {
        service::StorefrontDoc::Stored(json) => push_with_media_base(out, json, media),
        service::StorefrontDoc::Live(product) => {
            serde_json::to_writer(out, &ProductResponse::new(product.clone(), media, true))
                .unwrap_or_else(|e| unreachable!("a product response always serializes: {e}"))
        }
    }
}

/// `GET /store/products/{id-or-handle}`: one active product, from the read model.
pub(super) async fn get_product(mut read: StoreRead, Path(id_or_handle): Path<String>) -> Result<Response, Problem> {
    let key = read.take_key();
    let (state, tenant) = (&read.state, &read.tenant);
    let body = state
        .storefront_cache
        .get_or_load(tenant.id, key, async {
            let product = IdOrHandle::parse(&id_or_handle, ProductId::parse);
            let found = service::storefront_product(&state.db, tenant, &product).await?;
            let mut body = Vec::new();
            for doc in found.docs() {
                push_shopper_json(&mut body, doc?, &state.media);
            }
            Ok::<_, Problem>(body.into())
        })
        .await?;
    Ok(json_response(body))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Suggestion {
    id: String,
    handle: String,
    title: String,
}

/// `GET /store/search/suggest?q=&limit=`: autocomplete over active products'
/// titles (prefix first, then trigram similarity, so typos still suggest).
pub(super) async fn suggest(read: StoreRead, ApiQuery(pairs): ApiQuery<Pairs>) -> Result<Response, Problem> {
    let params = params(pairs);
    let limit = parse_limit(single(&params, "limit").or(Some("10")))?;
    let prefix = single(&params, "q").map(str::trim).unwrap_or_default().to_owned();
    if prefix.is_empty() || prefix.chars().count() > 100 {
        return Err(Problem::invalid_parameter("q", "must be 1 to 100 characters"));
    }
    read.cached(move |mut tx| async move {
        let suggestions = service::suggest(&mut tx, &prefix, limit).await?;
        Ok(ListResponse::<Suggestion>::all(suggestions.into_iter().map(|s| Suggestion {
            id: s.id.to_string(),
            handle: s.handle,
            title: s.title,
        })))
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct CategoryNode {
    #[serde(flatten)]
    category: CategoryResponse,
    #[schema(no_recursion)]
    children: Vec<CategoryNode>,
}

/// Arranges categories as a forest: roots in order, each with its children.
fn tree(categories: Vec<Category>) -> Vec<CategoryNode> {
    let mut children: BTreeMap<Option<String>, Vec<Category>> = BTreeMap::new();
    for category in categories {
        children.entry(category.parent_id.map(|p| p.to_string())).or_default().push(category);
    }
    fn build(parent: Option<String>, children: &mut BTreeMap<Option<String>, Vec<Category>>) -> Vec<CategoryNode> {
        let nodes = children.remove(&parent).unwrap_or_default();
        nodes
            .into_iter()
            .map(|c| {
                let id = Some(c.id.to_string());
                CategoryNode { category: c.into(), children: build(id, children) }
            })
            .collect()
    }
    build(None, &mut children)
}

/// `GET /store/categories`: the category tree (`items` are the roots, each
/// with `children`); one page, `next_cursor` is always null.
pub(super) async fn list_categories(read: StoreRead) -> Result<Response, Problem> {
    read.cached(move |mut tx| async move {
        Ok(ListResponse::<CategoryNode>::all(tree(service::categories(&mut tx).await?)))
    })
    .await
}

/// `GET /store/collections`: collections with their active products' ids.
pub(super) async fn list_collections(read: StoreRead, ApiQuery(pairs): ApiQuery<Pairs>) -> Result<Response, Problem> {
    let params = params(pairs);
    let page = id_page(single(&params, "limit"), single(&params, "cursor"))?;
    read.cached(move |mut tx| async move {
        let after = page.after.map(CollectionId::from_uuid);
        let collections = repo::list_collections(&mut tx, true, page.limit, after).await?;
        Ok(page.respond(collections, |c| c.id.as_uuid(), CollectionResponse::from))
    })
    .await
}

/// `GET /store/collections/{id-or-handle}`.
pub(super) async fn get_collection(read: StoreRead, Path(id_or_handle): Path<String>) -> Result<Response, Problem> {
    read.cached(move |mut tx| async move {
        let collection = IdOrHandle::parse(&id_or_handle, CollectionId::parse);
        Ok(CollectionResponse::from(service::active_collection(&mut tx, &collection).await?))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::cache_key;

    fn key(query: &str) -> String {
        let uri: axum::http::Uri = format!("/store/products?{query}").parse().unwrap();
        cache_key("/store/products", &uri).unwrap().replace('\0', "&")
    }

    #[test]
    fn a_key_sorts_parameters_by_name_and_keeps_repeated_values_in_order() {
        assert_eq!(key("limit=20"), "/store/products&limit=20");
        assert_eq!(key("sort=title&limit=5"), key("limit=5&sort=title"));
        assert_eq!(
            key("sort=title&attr.size=M&limit=5&attr.size=S"),
            "/store/products&attr.size=M&attr.size=S&limit=5&sort=title"
        );
        assert_eq!(key("q=red%20shirt&limit=5"), "/store/products&limit=5&q=red shirt");
        assert_ne!(key("attr.size=M&attr.size=S"), key("attr.size=S&attr.size=M"));
    }

    #[test]
    fn a_key_refuses_unknown_parameters_in_any_position() {
        for query in ["junk=1", "limit=5&junk=1", "zzz=1&limit=5"] {
            let uri: axum::http::Uri = format!("/store/products?{query}").parse().unwrap();
            assert!(cache_key("/store/products", &uri).is_err(), "{query}");
        }
    }
}
