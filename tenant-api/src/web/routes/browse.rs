//! Anonymous catalog pages, cached per store like the JSON reads: home,
//! product, search, category, collection; and the two static assets.

use std::collections::BTreeMap;

use axum::{
    extract::{Path, RawQuery},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use platform::{problem::Problem, web};
use serde::Serialize;

use super::{Error, Visit};
use crate::{
    catalog::{
        model::{CollectionId, IdOrHandle, MediaStatus, Page, Product, ProductFilter, ProductId, SearchLanguage, Sort},
        service,
    },
    web::render::{CSRF_SLOT, CSS, JS},
};

/// Products on a listing page (no further pages yet: refine the search).
const LISTING_SIZE: i64 = 48;
/// The longest parameter value a listing takes, in characters.
const MAX_VALUE_CHARS: usize = 200;
/// The most attribute filters one listing takes.
const MAX_ATTRIBUTE_FILTERS: usize = 20;

#[derive(Serialize)]
struct Image {
    url: String,
    alt: Option<String>,
}

/// A product in a grid: its lowest price ("From" when variants differ).
#[derive(Serialize)]
struct Card {
    handle: String,
    title: String,
    price: String,
    from: bool,
    image: Option<Image>,
}

fn images(product: &Product, visit: &Visit) -> Vec<Image> {
    product
        .media
        .iter()
        .filter(|m| m.status == MediaStatus::Ready)
        .map(|m| Image { url: visit.state.catalog.media.public_url(&m.storage_key), alt: m.alt.clone() })
        .collect()
}

fn card(product: Product, visit: &Visit) -> Option<Card> {
    let lowest = product.variants.iter().map(|v| v.price).min_by_key(|p| p.amount)?;
    let from = product.variants.iter().any(|v| v.price != lowest);
    let image = images(&product, visit).into_iter().next();
    Some(Card { handle: product.handle, title: product.title, price: lowest.to_string(), from, image })
}

#[derive(Serialize)]
struct Link {
    handle: String,
    name: String,
}

/// `GET /`: the store's name, its root categories, collections and newest products.
pub(super) async fn home(visit: Visit) -> Result<Response, Error> {
    visit
        .cached("web:/".to_owned(), async {
            let mut tx = visit.state.catalog.db.tenant_tx_generic(&visit.tenant).await?;
            let page = Page { limit: LISTING_SIZE, after: None };
            let language = SearchLanguage::for_locale(&visit.tenant.locale);
            let found =
                service::search_products(&mut tx, language, &ProductFilter::default(), Sort::Newest, &page).await?;
            let categories = service::categories(&mut tx).await?;
            let collections = service::active_collections(&mut tx, 20).await?;
            drop(tx);
            let products: Vec<Card> = found.items.into_iter().filter_map(|p| card(p, &visit)).collect();
            let categories: Vec<Link> = categories
                .into_iter()
                .filter(|c| c.parent_id.is_none())
                .map(|c| Link { handle: c.handle, name: c.name })
                .collect();
            let collections: Vec<_> =
                collections.into_iter().map(|c| serde_json::json!({"handle": c.handle, "title": c.title})).collect();
            let page = serde_json::json!({"products": products, "categories": categories, "collections": collections});
            visit.render("home.html", "Home", CSRF_SLOT, None, page)
        })
        .await
}

#[derive(Serialize)]
struct VariantChoice {
    id: String,
    title: String,
    price: String,
}

/// `GET /products/{handle}`: title, formatted price, images, the variant
/// picker and the add-to-cart form.
pub(super) async fn product(visit: Visit, Path(handle): Path<String>) -> Result<Response, Error> {
    if handle.chars().count() > MAX_VALUE_CHARS {
        return Err(Problem::not_found("product-not-found", "No such product in this store.").into());
    }
    visit
        .cached(format!("web:/products/{handle}"), async {
            let mut tx = visit.state.catalog.db.tenant_tx(&visit.tenant).await?;
            let product = service::active_product(&mut tx, &IdOrHandle::parse(&handle, ProductId::parse)).await?;
            drop(tx);
            let first = product.variants.first();
            let page = serde_json::json!({
                "title": product.title,
                "description": product.description,
                "price": first.map(|v| v.price.to_string()),
                "compare_at": first.and_then(|v| v.compare_at_price).map(|p| p.to_string()),
                "images": images(&product, &visit),
                "variants": product.variants.iter().map(|v| VariantChoice {
                    id: v.id.to_string(),
                    title: v.title.clone(),
                    price: v.price.to_string(),
                }).collect::<Vec<_>>(),
            });
            visit.render("product.html", product.title.clone(), CSRF_SLOT, None, page)
        })
        .await
}

/// A listing's query: the parameters it knows (others are ignored, never
/// part of the cache key), sorted, values bounded.
struct Listing {
    params: BTreeMap<String, Vec<String>>,
}

impl Listing {
    const NAMES: [&'static str; 6] = ["q", "category", "collection", "price_min", "price_max", "sort"];

    fn parse(raw: Option<&str>) -> Result<Self, Error> {
        let pairs: Vec<(String, String)> = match raw {
            Some(raw) => {
                axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
                    &format!("/?{raw}").parse().map_err(|_| Problem::bad_request("The query cannot be read."))?,
                )
                .map_err(|e| Problem::bad_request(e.body_text()))?
                .0
            }
            None => Vec::new(),
        };
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut attributes = 0;
        for (name, value) in pairs {
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            if value.chars().count() > MAX_VALUE_CHARS {
                return Err(
                    Problem::invalid_parameter(&name, format!("must be at most {MAX_VALUE_CHARS} characters")).into()
                );
            }
            if name.starts_with("attr.") && name.len() > "attr.".len() {
                attributes += 1;
                if attributes > MAX_ATTRIBUTE_FILTERS {
                    return Err(Problem::invalid_parameter(&name, "too many attribute filters").into());
                }
            } else if !Self::NAMES.contains(&name.as_str()) {
                continue;
            }
            params.entry(name).or_default().push(value);
        }
        Ok(Self { params })
    }

    fn single(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    fn key(&self, path: &str) -> String {
        let mut key = format!("web:{path}");
        for (name, values) in &self.params {
            for value in values {
                key.push('\0');
                key.push_str(name);
                key.push('=');
                key.push_str(value);
            }
        }
        key
    }

    fn amount(&self, name: &str) -> Result<Option<i64>, Error> {
        self.single(name)
            .map(|raw| {
                raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    Error::from(Problem::invalid_parameter(name, "must be a whole number of minor units, 0 or more"))
                })
            })
            .transpose()
    }

    fn filter(&self) -> Result<(ProductFilter, Sort), Error> {
        let query = self.single("q").map(str::to_owned);
        let sort = match self.single("sort") {
            None if query.is_some() => Sort::Relevance,
            None => Sort::Newest,
            Some(raw) => Sort::parse(raw).filter(|s| *s != Sort::Relevance || query.is_some()).ok_or_else(|| {
                Problem::invalid_parameter("sort", "must be newest, price_asc, price_desc, title or relevance (with q)")
            })?,
        };
        let attributes = self
            .params
            .iter()
            .filter_map(|(key, values)| key.strip_prefix("attr.").map(|name| (name.to_owned(), values.clone())))
            .collect();
        let filter = ProductFilter {
            query,
            category: self.single("category").map(|c| IdOrHandle::parse(c, crate::catalog::model::CategoryId::parse)),
            collection: self.single("collection").map(|c| IdOrHandle::parse(c, CollectionId::parse)),
            price_min: self.amount("price_min")?,
            price_max: self.amount("price_max")?,
            attributes,
        };
        Ok((filter, sort))
    }
}

/// What a listing lists: a search, or one category's or collection's products.
enum Scope {
    Search,
    Category(String),
    Collection(String),
}

/// What a listing page shows above its grid.
struct Heading {
    title: String,
    description: Option<String>,
    action: String,
}

/// A listing page (search, category, collection) through the cache: the
/// category or collection is looked up on a miss only.
async fn listing(visit: Visit, path: String, mut listing: Listing, scope: Scope) -> Result<Response, Error> {
    match &scope {
        Scope::Search => {}
        Scope::Category(handle) => {
            listing.params.insert("category".to_owned(), vec![handle.clone()]);
        }
        Scope::Collection(handle) => {
            listing.params.insert("collection".to_owned(), vec![handle.clone()]);
        }
    }
    let key = listing.key(&path);
    visit
        .cached(key, async {
            let (filter, sort) = listing.filter()?;
            let language = SearchLanguage::for_locale(&visit.tenant.locale);
            let mut tx = visit.state.catalog.db.tenant_tx(&visit.tenant).await?;
            let heading = match scope {
                Scope::Search => Heading {
                    title: match &filter.query {
                        Some(q) => format!("Results for “{q}”"),
                        None => "All products".to_owned(),
                    },
                    description: None,
                    action: "/search".to_owned(),
                },
                Scope::Category(handle) => {
                    let found = service::categories(&mut tx).await?.into_iter().find(|c| c.handle == handle);
                    let category = found
                        .ok_or_else(|| Problem::not_found("category-not-found", "No such category in this store."))?;
                    Heading { title: category.name, description: category.description, action: path.clone() }
                }
                Scope::Collection(handle) => {
                    let found = service::active_collection(&mut tx, &IdOrHandle::Handle(handle)).await?;
                    Heading { title: found.title, description: found.description, action: path.clone() }
                }
            };
            let page = Page { limit: LISTING_SIZE, after: None };
            let found = service::search_products(&mut tx, language, &filter, sort, &page).await?;
            let facets = service::facets(&mut tx, language, &filter).await?;
            drop(tx);
            let selected =
                |name: &str, value: &str| listing.params.get(name).is_some_and(|v| v.iter().any(|x| x == value));
            let mut attributes: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
            for (name, value, count) in facets.attributes {
                let on = selected(&format!("attr.{name}"), &value);
                let facet = serde_json::json!({"value": value, "count": count, "selected": on});
                attributes.entry(name).or_default().push(facet);
            }
            let sorts: Vec<_> = [
                ("relevance", "Relevance"),
                ("newest", "Newest"),
                ("price_asc", "Price: low to high"),
                ("price_desc", "Price: high to low"),
                ("title", "Name"),
            ]
            .into_iter()
            .filter(|(value, _)| *value != "relevance" || filter.query.is_some())
            .map(|(value, label)| {
                serde_json::json!({"value": value, "label": label, "selected": Sort::parse(value) == Some(sort)})
            })
            .collect();
            let categories: Vec<_> = facets
                .categories
                .into_iter()
                .map(|(c, count)| {
                    let on = selected("category", &c.handle);
                    serde_json::json!({"handle": c.handle, "name": c.name, "count": count, "selected": on})
                })
                .collect();
            let attributes: Vec<_> = attributes
                .into_iter()
                .map(|(name, values)| serde_json::json!({"name": name, "values": values}))
                .collect();
            let products: Vec<Card> = found.items.into_iter().filter_map(|p| card(p, &visit)).collect();
            let page = serde_json::json!({
                "heading": heading.title,
                "description": heading.description,
                "action": heading.action,
                "q": filter.query,
                "products": products,
                "sorts": sorts,
                "facets": {"total": facets.total, "categories": categories, "attributes": attributes},
            });
            visit.render("listing.html", heading.title.clone(), CSRF_SLOT, None, page)
        })
        .await
}

/// `GET /search?q=`: products matching the phrase (misspellings too), with
/// facets to narrow them and a sort.
pub(super) async fn search(visit: Visit, RawQuery(raw): RawQuery) -> Result<Response, Error> {
    let query = Listing::parse(raw.as_deref())?;
    listing(visit, "/search".to_owned(), query, Scope::Search).await
}

/// `GET /categories/{handle}`: the category's products (with subcategories).
pub(super) async fn category(
    visit: Visit,
    Path(handle): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Error> {
    let query = Listing::parse(raw.as_deref())?;
    let path = format!("/categories/{handle}");
    listing(visit, path, query, Scope::Category(handle)).await
}

/// `GET /collections/{handle}`: the collection's products.
pub(super) async fn collection(
    visit: Visit,
    Path(handle): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Error> {
    let query = Listing::parse(raw.as_deref())?;
    let path = format!("/collections/{handle}");
    listing(visit, path, query, Scope::Collection(handle)).await
}

/// `GET /assets/{file}`: the stylesheet and the script under their
/// fingerprinted names, cached for a year; any other name is a 404.
pub(super) async fn asset(headers: HeaderMap, Path(file): Path<String>) -> Response {
    let path = format!("/assets/{file}");
    match [&*CSS, &*JS].into_iter().find(|a| a.path == path) {
        Some(asset) => web::asset(&headers, asset.content_type, asset.body.clone(), web::Caching::Immutable),
        None => (StatusCode::NOT_FOUND, web::error_page(StatusCode::NOT_FOUND, "Not found", "No such file."))
            .into_response(),
    }
}
