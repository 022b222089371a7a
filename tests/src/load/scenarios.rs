//! The scenarios. Each returns a [`Report`]; the ones with an invariant return
//! it too, and the caller (the CLI or the quick test) decides what to do.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{stream, StreamExt};
use reqwest::Method;

use super::{
    client::{Api, Store},
    stats::{Recorder, Report},
};

/// How requests spread over stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skew {
    /// Every store equally.
    Uniform,
    /// Zipf with exponent 1: the first store gets the most traffic.
    Zipf,
}

/// A tiny deterministic generator (xorshift64*): enough for picking stores and
/// paths, with no dependency and no shared state between workers.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is mapped to a fixed odd constant).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A value in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Picks store indexes with the given skew.
pub struct Picker {
    cumulative: Vec<f64>,
}

impl Picker {
    /// A picker over `n` stores.
    pub fn new(n: usize, skew: Skew) -> Self {
        let weights = (1..=n).map(|k| match skew {
            Skew::Uniform => 1.0,
            Skew::Zipf => 1.0 / k as f64,
        });
        let mut total = 0.0;
        let mut cumulative: Vec<f64> = weights
            .map(|w| {
                total += w;
                total
            })
            .collect();
        for c in &mut cumulative {
            *c /= total;
        }
        Self { cumulative }
    }

    /// The next store index.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.cumulative.partition_point(|c| *c < u).min(self.cumulative.len() - 1)
    }
}

/// Opens `count` stores on `plan` through the control plane, `concurrency` at a time.
pub async fn provision(
    api: &Api,
    prefix: &str,
    count: usize,
    concurrency: usize,
    plan: &str,
) -> anyhow::Result<(Report, Vec<Store>)> {
    let started = Instant::now();
    let results: Vec<_> = stream::iter(0..count)
        .map(|n| {
            let api = api.clone();
            let slug = format!("{prefix}{n:05}");
            let plan = plan.to_owned();
            async move { api.sign_up(&slug, &plan).await }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut recorder = Recorder::default();
    let mut stores = Vec::new();
    for result in results {
        let (store, latency) = result?;
        recorder.record(201, latency);
        stores.push(store);
    }
    stores.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut report = recorder.report("provision stores (POST /v1/tenants)", started.elapsed());
    report.notes.push(format!("{count} stores on plan {plan}, concurrency {concurrency}"));
    Ok((report, stores))
}

/// What a seeded store's products look like.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CatalogShape {
    /// One variant, no options, no categories: the suite's own catalog.
    #[default]
    Simple,
    /// Shaped like a real store's (and Medusa's seed): a `Size` option, four
    /// variants, filed under one of ten categories.
    Apparel,
}

/// Categories per store of the apparel shape.
const APPAREL_CATEGORIES: usize = 10;

/// Gives every store `products` active products of `shape` (1,000 in stock per variant).
pub async fn seed_catalog(
    api: &Api,
    stores: &mut [Store],
    products: usize,
    concurrency: usize,
    shape: CatalogShape,
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut recorder = Recorder::default();
    for store in stores.iter_mut() {
        let mut categories = Vec::new();
        if shape == CatalogShape::Apparel {
            for n in 0..APPAREL_CATEGORIES {
                categories.push(api.create_category(store, &format!("{} department {n}", store.slug)).await?);
            }
        }
        let categories = Arc::new(categories);
        // Products of one store are created concurrently; handles are unique per
        // store and across stores, so the isolation probe can spot a leak.
        let made: Vec<anyhow::Result<(Duration, Store)>> = stream::iter(0..products)
            .map(|n| {
                let api = api.clone();
                let mut one = Store { handles: Vec::new(), variants: Vec::new(), ..store.clone() };
                let categories = categories.clone();
                async move {
                    let started = Instant::now();
                    let title = format!("{} item {n:05}", one.slug);
                    let price = 500 + (n as i64 % 50) * 100;
                    match shape {
                        CatalogShape::Simple => api.create_product(&mut one, &title, price, 1000).await?,
                        CatalogShape::Apparel => {
                            let category = &categories[n % categories.len()];
                            api.create_apparel(&mut one, &title, price, 1000, category).await?;
                        }
                    }
                    Ok((started.elapsed(), one))
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for made in made {
            let (latency, one) = made?;
            recorder.record(201, latency);
            store.handles.extend(one.handles);
            store.variants.extend(one.variants);
        }
    }
    let name = match shape {
        CatalogShape::Simple => "seed catalog (POST /admin/products)",
        CatalogShape::Apparel => "seed apparel catalog (POST /admin/products, 4 variants)",
    };
    let mut report = recorder.report(name, started.elapsed());
    report.notes.push(format!("{} stores × {products} products", stores.len()));
    if shape == CatalogShape::Apparel {
        report.notes.push(format!("a Size option, 4 variants each, {APPAREL_CATEGORIES} categories per store"));
    }
    Ok(report)
}

/// Storefront reads for `duration`: product list 60 %, detail 30 %, search 10 %.
pub async fn browse(api: &Api, stores: &[Store], duration: Duration, concurrency: usize, skew: Skew) -> Report {
    let name = format!("browse ({skew:?}, {concurrency} conns)");
    reads(api, stores, duration, concurrency, skew, &name, browse_request).await
}

/// What [`warm_reads`] asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarmRead {
    /// `GET /store/products?limit=20` (JSON).
    List,
    /// `GET /` (the storefront's home page, HTML).
    Home,
    /// `GET /products/{handle}` (a product page, HTML; the store's first 10 products).
    ProductPage,
}

/// One kind of warm read for `duration`, uniform over the stores: the JSON
/// list and the storefront pages beside it, so their figures share a run.
pub async fn warm_reads(api: &Api, stores: &[Store], duration: Duration, concurrency: usize, read: WarmRead) -> Report {
    let name = format!("warm {read:?} ({concurrency} conns)");
    let request = match read {
        WarmRead::List => {
            |api: &Api, store: &Store, _: &mut Rng| api.store(Method::GET, &store.host, "/store/products?limit=20")
        }
        WarmRead::Home => |api: &Api, store: &Store, _: &mut Rng| api.store(Method::GET, &store.host, "/"),
        WarmRead::ProductPage => |api: &Api, store: &Store, rng: &mut Rng| {
            let hot = store.handles.len().min(10);
            let path = if hot == 0 { "/".to_owned() } else { format!("/products/{}", store.handles[rng.below(hot)]) };
            api.store(Method::GET, &store.host, &path)
        },
    };
    reads(api, stores, duration, concurrency, Skew::Uniform, &name, request).await
}

/// `concurrency` workers sending `request` to stores picked by `skew` for `duration`.
async fn reads(
    api: &Api,
    stores: &[Store],
    duration: Duration,
    concurrency: usize,
    skew: Skew,
    name: &str,
    request: fn(&Api, &Store, &mut Rng) -> reqwest::RequestBuilder,
) -> Report {
    let stores = Arc::new(stores.to_vec());
    let picker = Arc::new(Picker::new(stores.len(), skew));
    let started = Instant::now();
    let deadline = started + duration;
    let workers = (0..concurrency).map(|worker| {
        let (api, stores, picker) = (api.clone(), stores.clone(), picker.clone());
        tokio::spawn(async move {
            let mut rng = Rng::new(worker as u64 + 1);
            let mut recorder = Recorder::default();
            while Instant::now() < deadline {
                let store = &stores[picker.pick(&mut rng)];
                let outcome = api.send(request(&api, store, &mut rng)).await;
                recorder.record(outcome.status, outcome.latency);
            }
            recorder
        })
    });
    let recorder = merge(workers).await;
    let mut report = recorder.report(name, started.elapsed());
    report.notes.push(format!("{} stores", stores.len()));
    report
}

/// One storefront read of `store`: product list 60 %, detail 30 %, search 10 %.
pub fn browse_request(api: &Api, store: &Store, rng: &mut Rng) -> reqwest::RequestBuilder {
    let roll = rng.below(10);
    let path = if roll < 6 || store.handles.is_empty() {
        "/store/products?limit=20".to_owned()
    } else if roll < 9 {
        format!("/store/products/{}", store.handles[rng.below(store.handles.len())])
    } else {
        "/store/products?q=item&limit=10".to_owned()
    };
    api.store(Method::GET, &store.host, &path)
}

/// Cart traffic for `duration`: create, add, update, read.
pub async fn cart(api: &Api, stores: &[Store], duration: Duration, concurrency: usize) -> Report {
    let stores = Arc::new(stores.to_vec());
    let started = Instant::now();
    let deadline = started + duration;
    let workers = (0..concurrency).map(|worker| {
        let (api, stores) = (api.clone(), stores.clone());
        tokio::spawn(async move {
            let mut rng = Rng::new(worker as u64 + 101);
            let mut recorder = Recorder::default();
            while Instant::now() < deadline {
                let store = &stores[rng.below(stores.len())];
                let variant = &store.variants[rng.below(store.variants.len())];
                let (cart, added) = api.cart_with(&store.host, variant, 1).await;
                recorder.record(added.status, added.latency);
                let Some(cart) = cart else { continue };
                if let Some(item) = added.body["items"][0]["id"].as_str() {
                    let updated = api
                        .send(
                            api.store(Method::PATCH, &store.host, &format!("/store/carts/{cart}/items/{item}"))
                                .json(&serde_json::json!({"quantity": 2})),
                        )
                        .await;
                    recorder.record(updated.status, updated.latency);
                }
                let read = api.send(api.store(Method::GET, &store.host, &format!("/store/carts/{cart}"))).await;
                recorder.record(read.status, read.latency);
            }
            recorder
        })
    });
    let recorder = merge(workers).await;
    recorder.report(&format!("cart ({concurrency} conns)"), started.elapsed())
}

/// Full checkouts for `duration`, at most `carts` of them. The carts (a guest
/// cart with one unit of a random variant) are built first, untimed, so the
/// generator's cart calls do not share the cores with the timed checkouts;
/// then `concurrency` buyers check them out with `tok_success`. Only the
/// checkout call is timed; the rate is orders per second.
pub async fn checkout(api: &Api, stores: &[Store], duration: Duration, concurrency: usize, carts: usize) -> Report {
    checkout_orders(api, stores, duration, concurrency, carts, "buyer").await.0
}

/// An order answered `201 paid`: its buyer's email (unique per order) and
/// when the answer arrived.
#[derive(Clone, Debug)]
pub struct Paid {
    /// The checkout's email, `<prefix>-<n>@load.test`.
    pub email: String,
    /// When the `201` was read.
    pub at: Instant,
}

/// The checkout scenario's driver, which also returns the orders paid: each
/// cart `n` is checked out for `<email_prefix>-<n>@load.test`.
pub async fn checkout_orders(
    api: &Api,
    stores: &[Store],
    duration: Duration,
    concurrency: usize,
    carts: usize,
    email_prefix: &str,
) -> (Report, Vec<Paid>) {
    let prepared: Vec<(String, String)> = stream::iter(0..carts)
        .map(|n| {
            let api = api.clone();
            let mut rng = Rng::new(n as u64 + 1001);
            let store = &stores[rng.below(stores.len())];
            let (host, variant) = (store.host.clone(), store.variants[rng.below(store.variants.len())].clone());
            async move {
                match api.cart_with(&host, &variant, 1).await {
                    (Some(cart), added) if added.status == 200 => Some((host, cart)),
                    _ => None,
                }
            }
        })
        .buffer_unordered(32)
        .filter_map(|made| async move { made })
        .collect()
        .await;
    let ready = prepared.len();
    let prepared = Arc::new(prepared);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers = (0..concurrency).map(|worker| {
        let (api, prepared, next) = (api.clone(), prepared.clone(), next.clone());
        let email_prefix = email_prefix.to_owned();
        tokio::spawn(async move {
            let mut recorder = Recorder::default();
            let mut paid = Vec::new();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((host, cart)) = prepared.get(n) else { break };
                let email = format!("{email_prefix}-{n}@load.test");
                let outcome =
                    api.checkout_as(host, cart, &format!("load-{worker}-{cart}"), "tok_success", &email).await;
                recorder.record(outcome.status, outcome.latency);
                if outcome.status == 201 && outcome.body["status"] == "paid" {
                    paid.push(Paid { email, at: Instant::now() });
                }
            }
            (recorder, paid)
        })
    });
    let mut recorder = Recorder::default();
    let mut paid = Vec::new();
    for (one, orders) in futures_util::future::join_all(workers).await.into_iter().flatten() {
        recorder.merge(&one);
        paid.extend(orders);
    }
    let mut report = recorder.report(&format!("checkout ({concurrency} buyers)"), started.elapsed());
    report.notes.push(format!("{ready} carts built beforehand (untimed), {} checked out", recorder.count()));
    (report, paid)
}

/// What a flash sale must show.
pub struct FlashSale {
    /// Latencies and statuses of the checkout calls.
    pub report: Report,
    /// Orders answered 201 paid.
    pub paid: u64,
    /// Stock left on hand and reserved after the sale.
    pub on_hand: i64,
    /// Units still reserved after the sale.
    pub reserved: i64,
    /// Time from the first request to the last paid order.
    pub sold_out_after: Duration,
}

/// `buyers` concurrent buyers for `units` units of one variant: each makes a cart,
/// adds one unit (409 once it is gone) and checks out.
pub async fn flash_sale(api: &Api, store: &Store, buyers: usize, units: i64) -> anyhow::Result<FlashSale> {
    let variant = store.variants.first().cloned().ok_or_else(|| anyhow::anyhow!("the store has no variant"))?;
    api.set_stock(store, &variant, units).await?;
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Barrier::new(buyers));
    let tasks = (0..buyers).map(|buyer| {
        let (api, store, variant, gate) = (api.clone(), store.clone(), variant.clone(), gate.clone());
        tokio::spawn(async move {
            let mut recorder = Recorder::default();
            let created =
                api.send(api.store(Method::POST, &store.host, "/store/carts").json(&serde_json::json!({}))).await;
            gate.wait().await;
            let Some(cart) = created.body["id"].as_str() else {
                recorder.record(created.status, created.latency);
                return (recorder, None);
            };
            let added = api
                .send(
                    api.store(Method::POST, &store.host, &format!("/store/carts/{cart}/items"))
                        .json(&serde_json::json!({"variant_id": variant, "quantity": 1})),
                )
                .await;
            if added.status != 200 {
                recorder.record(added.status, added.latency);
                return (recorder, None);
            }
            let outcome = api.checkout(&store.host, cart, &format!("flash-{buyer}"), "tok_success").await;
            recorder.record(outcome.status, outcome.latency);
            let paid = (outcome.status == 201 && outcome.body["status"] == "paid").then(Instant::now);
            (recorder, paid)
        })
    });
    let mut recorder = Recorder::default();
    let mut paid = 0u64;
    let mut last_paid = started;
    for task in futures_util::future::join_all(tasks).await {
        let (one, paid_at) = task?;
        recorder.merge(&one);
        if let Some(at) = paid_at {
            paid += 1;
            last_paid = last_paid.max(at);
        }
    }
    let stock = api.stock(store, &variant).await?;
    let sale = FlashSale {
        report: recorder.report(&format!("flash sale ({buyers} buyers, {units} units)"), started.elapsed()),
        paid,
        on_hand: stock["on_hand"].as_i64().unwrap_or(-1),
        reserved: stock["reserved"].as_i64().unwrap_or(-1),
        sold_out_after: last_paid - started,
    };
    Ok(sale)
}

/// Asks every store's host for its neighbour's products; returns the number of
/// answers that were not a 404 (a leak) and the number of probes.
pub async fn isolation_probe(api: &Api, stores: &[Store]) -> (u64, u64) {
    let mut leaks = 0;
    let mut probes = 0;
    for (i, store) in stores.iter().enumerate() {
        let neighbour = &stores[(i + 1) % stores.len()];
        if neighbour.id == store.id {
            continue;
        }
        for handle in neighbour.handles.iter().take(3) {
            probes += 1;
            let outcome = api.send(api.store(Method::GET, &store.host, &format!("/store/products/{handle}"))).await;
            if outcome.status != 404 {
                leaks += 1;
            }
        }
        probes += 1;
        let list = api.send(api.store(Method::GET, &store.host, "/store/products?limit=100")).await;
        let foreign = list.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["handle"].as_str().is_some_and(|h| !h.starts_with(&store.slug)))
            .count();
        if list.status != 200 || foreign > 0 {
            leaks += 1;
        }
    }
    (leaks, probes)
}

pub(crate) async fn merge(workers: impl Iterator<Item = tokio::task::JoinHandle<Recorder>>) -> Recorder {
    let mut total = Recorder::default();
    for recorder in futures_util::future::join_all(workers).await.into_iter().flatten() {
        total.merge(&recorder);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_the_first_store_and_uniform_does_not() {
        let mut rng = Rng::new(7);
        let zipf = Picker::new(100, Skew::Zipf);
        let uniform = Picker::new(100, Skew::Uniform);
        let (mut z0, mut u0) = (0, 0);
        for _ in 0..100_000 {
            z0 += usize::from(zipf.pick(&mut rng) == 0);
            u0 += usize::from(uniform.pick(&mut rng) == 0);
        }
        // H(100) ≈ 5.19, so store 0 gets ≈ 19 % under Zipf and 1 % uniformly.
        assert!((17_000..21_000).contains(&z0), "{z0}");
        assert!((700..1_300).contains(&u0), "{u0}");
    }
}
