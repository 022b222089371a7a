//! A thin client of the public API, as outside clients use it: contract paths
//! and shapes only, stores addressed by `Host`.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

/// Both services' base URLs and one pooled HTTP client.
#[derive(Clone)]
pub struct Api {
    /// Pooled client (keep-alive).
    pub http: reqwest::Client,
    /// Control plane base URL.
    pub control_plane: String,
    /// Data plane base URL (stores are chosen by `Host`).
    pub tenant_api: String,
    /// Stores answer on `<slug>.<platform_domain>`.
    pub platform_domain: String,
    /// A platform admin's token, signed in once on first need (only an admin
    /// opens a store on another plan than `starter`).
    admin: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

/// A store the suite created, with what scenarios need to drive it. Written to
/// and read from a fixture file, so scenarios can run apart from the set-up.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Store {
    /// Store id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// `Host` header value.
    pub host: String,
    /// The owner's access token.
    pub token: String,
    /// Product handles.
    pub handles: Vec<String>,
    /// Variant ids, one per product.
    pub variants: Vec<String>,
}

/// Status, latency and body of one call.
pub struct Outcome {
    /// HTTP status (0 when the request failed in transport).
    pub status: u16,
    /// Time to the full body.
    pub latency: Duration,
    /// The body as JSON (Null when not JSON).
    pub body: Value,
}

impl Api {
    /// A client for the two services, with up to `connections` idle connections per host.
    pub fn new(
        control_plane: &str,
        tenant_api: &str,
        platform_domain: &str,
        connections: usize,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(connections)
                .timeout(Duration::from_secs(30))
                .build()?,
            control_plane: control_plane.trim_end_matches('/').to_owned(),
            tenant_api: tenant_api.trim_end_matches('/').to_owned(),
            platform_domain: platform_domain.to_owned(),
            admin: Default::default(),
        })
    }

    /// Sends a request and times it to the last byte of the body.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Outcome {
        let started = Instant::now();
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let bytes = response.bytes().await.unwrap_or_default();
                let latency = started.elapsed();
                Outcome { status, latency, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
            }
            Err(_) => Outcome { status: 0, latency: started.elapsed(), body: Value::Null },
        }
    }

    /// A request to a store on the data plane.
    pub fn store(&self, method: reqwest::Method, host: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.tenant_api)).header("host", host)
    }

    /// Opens a store on `plan` through `POST /v1/tenants`; returns it and the call's latency.
    /// Self-service sign-up gets `starter`; another plan is opened by the
    /// platform admin of `BOOTSTRAP_ADMIN_EMAIL` / `BOOTSTRAP_ADMIN_PASSWORD`
    /// (default: the test harness's admin).
    pub async fn sign_up(&self, slug: &str, plan: &str) -> anyhow::Result<(Store, Duration)> {
        let mut request = self.http.post(format!("{}/v1/tenants", self.control_plane)).json(&json!({
            "slug": slug, "name": format!("Load {slug}"), "currency": "USD", "plan": plan,
            "owner_email": format!("owner@{slug}.load.test"), "owner_password": "load-test-password",
        }));
        if plan != "starter" {
            let token = self
                .admin
                .get_or_try_init(|| {
                    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
                    let (email, password) = (
                        env("BOOTSTRAP_ADMIN_EMAIL", "admin@platform.test"),
                        env("BOOTSTRAP_ADMIN_PASSWORD", "bootstrap-password"),
                    );
                    async move { self.admin_token(&email, &password).await }
                })
                .await?;
            request = request.bearer_auth(token);
        }
        let outcome = self.send(request).await;
        anyhow::ensure!(outcome.status == 201, "sign-up of {slug}: {} {}", outcome.status, outcome.body);
        let store = Store {
            id: outcome.body["id"].as_str().context("id")?.to_owned(),
            slug: slug.to_owned(),
            host: format!("{slug}.{}", self.platform_domain),
            token: outcome.body["credentials"]["access_token"].as_str().context("token")?.to_owned(),
            handles: Vec::new(),
            variants: Vec::new(),
        };
        Ok((store, outcome.latency))
    }

    /// A plan's sustained requests per second, from `GET /v1/plans`.
    pub async fn plan_quota(&self, plan: &str) -> anyhow::Result<f64> {
        let outcome = self.send(self.http.get(format!("{}/v1/plans", self.control_plane))).await;
        anyhow::ensure!(outcome.status == 200, "plans: {} {}", outcome.status, outcome.body);
        let plans = outcome.body["items"].as_array().context("items")?;
        let found = plans.iter().find(|p| p["id"] == plan).with_context(|| format!("no plan {plan}"))?;
        found["requests_per_second"].as_f64().context("requests_per_second")
    }

    /// A platform admin's token.
    pub async fn admin_token(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let outcome = self
            .send(self.http.post(format!("{}/v1/auth/token", self.control_plane)).json(&json!({
                "grant_type": "password", "email": email, "password": password,
            })))
            .await;
        anyhow::ensure!(outcome.status == 200, "admin sign-in: {} {}", outcome.status, outcome.body);
        Ok(outcome.body["access_token"].as_str().context("token")?.to_owned())
    }

    /// Creates an active product with one variant through `POST /admin/products`.
    pub async fn create_product(&self, store: &mut Store, title: &str, price: i64, stock: i64) -> anyhow::Result<()> {
        let outcome = self
            .send(
                self.store(reqwest::Method::POST, &store.host, "/admin/products")
                    .bearer_auth(&store.token)
                    .json(&json!({
                        "title": title, "status": "active", "description": format!("{title} for load tests"),
                        "variants": [{"sku": format!("SKU-{}", title.replace(' ', "-")), "price": {"amount": price, "currency": "USD"}, "stock": stock}],
                    })),
            )
            .await;
        anyhow::ensure!(outcome.status == 201, "create product: {} {}", outcome.status, outcome.body);
        store.handles.push(outcome.body["handle"].as_str().context("handle")?.to_owned());
        store.variants.push(outcome.body["variants"][0]["id"].as_str().context("variant id")?.to_owned());
        Ok(())
    }

    /// Creates a product shaped like a real store's: one option (`Size`, four
    /// values), four variants priced from `price` up, filed under `category`.
    pub async fn create_apparel(
        &self,
        store: &mut Store,
        title: &str,
        price: i64,
        stock: i64,
        category: &str,
    ) -> anyhow::Result<()> {
        let sku = format!("SKU-{}", title.replace(' ', "-"));
        let variants: Vec<Value> = ["S", "M", "L", "XL"]
            .iter()
            .enumerate()
            .map(|(n, size)| {
                json!({
                    "sku": format!("{sku}-{size}"), "title": size, "options": {"Size": size},
                    "price": {"amount": price + n as i64 * 100, "currency": "USD"}, "stock": stock,
                })
            })
            .collect();
        let outcome = self
            .send(self.store(reqwest::Method::POST, &store.host, "/admin/products").bearer_auth(&store.token).json(
                &json!({
                    "title": title, "status": "active",
                    "description": format!("{title}: a soft cotton shirt for load tests, in four sizes."),
                    "attributes": {"material": "cotton"},
                    "options": [{"name": "Size", "values": ["S", "M", "L", "XL"]}],
                    "category_ids": [category],
                    "variants": variants,
                }),
            ))
            .await;
        anyhow::ensure!(outcome.status == 201, "create product: {} {}", outcome.status, outcome.body);
        store.handles.push(outcome.body["handle"].as_str().context("handle")?.to_owned());
        store.variants.push(outcome.body["variants"][0]["id"].as_str().context("variant id")?.to_owned());
        Ok(())
    }

    /// Creates a category; returns its id.
    pub async fn create_category(&self, store: &Store, name: &str) -> anyhow::Result<String> {
        let outcome = self
            .send(
                self.store(reqwest::Method::POST, &store.host, "/admin/categories")
                    .bearer_auth(&store.token)
                    .json(&json!({"name": name})),
            )
            .await;
        anyhow::ensure!(outcome.status == 201, "create category: {} {}", outcome.status, outcome.body);
        Ok(outcome.body["id"].as_str().context("category id")?.to_owned())
    }

    /// Sets a variant's stock through `PUT /admin/inventory/{variant_id}`.
    pub async fn set_stock(&self, store: &Store, variant: &str, on_hand: i64) -> anyhow::Result<()> {
        let outcome = self
            .send(
                self.store(reqwest::Method::PUT, &store.host, &format!("/admin/inventory/{variant}"))
                    .bearer_auth(&store.token)
                    .json(&json!({"on_hand": on_hand})),
            )
            .await;
        anyhow::ensure!(outcome.status == 200, "set stock: {} {}", outcome.status, outcome.body);
        Ok(())
    }

    /// Reads a variant's stock.
    pub async fn stock(&self, store: &Store, variant: &str) -> anyhow::Result<Value> {
        let outcome = self
            .send(
                self.store(reqwest::Method::GET, &store.host, &format!("/admin/inventory/{variant}"))
                    .bearer_auth(&store.token),
            )
            .await;
        anyhow::ensure!(outcome.status == 200, "stock: {} {}", outcome.status, outcome.body);
        Ok(outcome.body)
    }

    /// A guest cart holding `quantity` of `variant`; the add's outcome is returned.
    pub async fn cart_with(&self, host: &str, variant: &str, quantity: i64) -> (Option<String>, Outcome) {
        let created = self.send(self.store(reqwest::Method::POST, host, "/store/carts").json(&json!({}))).await;
        let Some(cart) = created.body["id"].as_str().map(str::to_owned) else {
            return (None, created);
        };
        let added = self
            .send(
                self.store(reqwest::Method::POST, host, &format!("/store/carts/{cart}/items"))
                    .json(&json!({"variant_id": variant, "quantity": quantity})),
            )
            .await;
        (Some(cart), added)
    }

    /// Checks a cart out with the test provider.
    pub async fn checkout(&self, host: &str, cart: &str, key: &str, token: &str) -> Outcome {
        self.checkout_as(host, cart, key, token, "buyer@load.test").await
    }

    /// Checks a cart out with the test provider for the buyer `email` (where
    /// the order's confirmation goes).
    pub async fn checkout_as(&self, host: &str, cart: &str, key: &str, token: &str, email: &str) -> Outcome {
        self.send(
            self.store(reqwest::Method::POST, host, &format!("/store/carts/{cart}/checkout"))
                .header("idempotency-key", key)
                .json(&json!({
                    "email": email,
                    "shipping_address": {"name": "Buyer", "line1": "1 Load St", "city": "Testville",
                                         "postal_code": "10115", "country": "US"},
                    "payment": {"provider": "test", "token": token},
                })),
        )
        .await
    }
}
