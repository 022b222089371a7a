//! Warm storefront reads answered in front of the router.
//!
//! A storefront read whose body is in the storefront cache needs the store
//! (resolved from `Host`), its cache key and one request from the store's
//! allowance; the router's match, the route's boxed services and the
//! handler's extractors add nothing to that answer and cost about a fifth of
//! a warm read's instructions (BENCHMARKS.md, round sixteen). [`WarmReads`]
//! sits between the shared guards and the router
//! ([`platform::http::with_front_and`]) and answers a `GET` of one of the
//! storefront read routes from the cache when it can.
//!
//! **Invariant:** it answers exactly what the route's handler would: the
//! same key ([`super::store::cache_key`]) under the same store and
//! generation, so only a body a handler stored for an identical request, and
//! the same refusals, from the same resolution ([`open_store`]) and limit
//! ([`within_limit`]). Anything else (a miss, a key the handler would refuse,
//! another path or method) goes on to the router; a request it resolved
//! carries its store, so the gate does not resolve it again.

use std::{sync::Arc, time::Instant};

use axum::{extract::Request, http::Method, response::Response};
use futures_util::future::{BoxFuture, Either};
use platform::{
    rate_limit::RateLimits,
    tenancy::{open_store, within_limit, TenantCtx, TenantResolver},
};

use super::{json_response, store::cache_key};
use crate::catalog::cache::StorefrontCache;

/// The storefront read routes, as the router mounts them (with literal
/// patterns, which the OpenAPI drift test reads; a test below keeps the two
/// equal) and as metrics and spans name them.
pub(super) const PRODUCTS: &str = "/store/products";
pub(super) const PRODUCT: &str = "/store/products/{id_or_handle}";
pub(super) const SUGGEST: &str = "/store/search/suggest";
pub(super) const CATEGORIES: &str = "/store/categories";
pub(super) const COLLECTIONS: &str = "/store/collections";
pub(super) const COLLECTION: &str = "/store/collections/{id_or_handle}";

/// The storefront read route a `GET` of `path` is routed to, if any: the
/// router's own match for these six (no other route under `/store` has a
/// pattern either could shadow).
fn read_route(method: &Method, path: &str) -> Option<&'static str> {
    if method != Method::GET {
        return None;
    }
    let one_segment = |rest: &str| !rest.is_empty() && !rest.contains('/');
    match path {
        PRODUCTS => Some(PRODUCTS),
        SUGGEST => Some(SUGGEST),
        CATEGORIES => Some(CATEGORIES),
        COLLECTIONS => Some(COLLECTIONS),
        _ => {
            if path.strip_prefix("/store/products/").is_some_and(one_segment) {
                Some(PRODUCT)
            } else if path.strip_prefix("/store/collections/").is_some_and(one_segment) {
                Some(COLLECTION)
            } else {
                None
            }
        }
    }
}

/// Puts [`WarmReads`] in front of a router.
#[derive(Clone)]
pub struct WarmReadsLayer(Arc<Parts>);

struct Parts {
    cache: StorefrontCache,
    resolver: TenantResolver,
    limits: Option<RateLimits>,
}

impl WarmReadsLayer {
    /// Answers from `cache`, for the store `resolver` names, within `limits`
    /// (none: unlimited), as the routes' tenant gate is built.
    pub fn new(cache: StorefrontCache, resolver: TenantResolver, limits: Option<RateLimits>) -> Self {
        Self(Arc::new(Parts { cache, resolver, limits }))
    }
}

impl<S> tower::Layer<S> for WarmReadsLayer {
    type Service = WarmReads<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WarmReads { inner, parts: self.0.clone() }
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct WarmReads<S> {
    inner: S,
    parts: Arc<Parts>,
}

impl<S> tower::Service<Request> for WarmReads<S>
where
    S: tower::Service<Request, Response = Response, Error = std::convert::Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, std::convert::Infallible>>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let Some(route) = read_route(request.method(), request.uri().path()) else {
            return Either::Left(self.inner.call(request));
        };
        // The clone that was polled ready goes into the future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let parts = self.parts.clone();
        Either::Right(Box::pin(async move {
            let started = Instant::now();
            tracing::Span::current().record("path", route);
            let answered = |response: Response| {
                platform::http::record_route(&Method::GET, route, response.status(), started);
                Ok(response)
            };
            let tenant = match open_store(&parts.resolver, request.headers(), request.uri()).await {
                Ok(tenant) => tenant,
                Err(refusal) => return answered(refusal),
            };
            if let Ok(key) = cache_key(route, request.uri()) {
                if let Some(body) = parts.cache.peek(tenant.id, key).await {
                    return answered(match within_limit(parts.limits.as_ref(), tenant).await {
                        Ok(_) => json_response(body),
                        Err(refusal) => refusal,
                    });
                }
            }
            request.extensions_mut().insert(TenantCtx(tenant));
            inner.call(request).await
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gets_of_the_storefront_read_routes_are_taken() {
        let get = Method::GET;
        assert_eq!(read_route(&get, "/store/products"), Some(PRODUCTS));
        assert_eq!(read_route(&get, "/store/products/blue-shirt"), Some(PRODUCT));
        assert_eq!(read_route(&get, "/store/collections/summer"), Some(COLLECTION));
        assert_eq!(read_route(&get, "/store/categories"), Some(CATEGORIES));
        assert_eq!(read_route(&get, "/store/search/suggest"), Some(SUGGEST));
        for other in [
            "/store/products/",
            "/store/products/a/b",
            "/store/products//",
            "/store/productsx",
            "/store/carts",
            "/store/collections/",
            "/products",
            "/",
        ] {
            assert_eq!(read_route(&get, other), None, "{other}");
        }
        assert_eq!(read_route(&Method::HEAD, "/store/products"), None);
        assert_eq!(read_route(&Method::POST, "/store/products"), None);
    }

    #[test]
    fn the_router_mounts_these_patterns() {
        let router = include_str!("mod.rs");
        for route in [PRODUCTS, PRODUCT, SUGGEST, CATEGORIES, COLLECTIONS, COLLECTION] {
            assert!(router.contains(&format!(".route(\"{route}\", get(store::")), "{route}");
        }
    }
}
