//! Benchmark: imports a store of 100,000 products through the real API and
//! prints the time taken.
//!
//!     cargo run --release -p tenant-api --example import_bench [-- <products>]
//!
//! Needs PostgreSQL and Redis like the tests (`DATABASE_URL`, `REDIS_URL`); it
//! works in a database of its own, cloned from the test template and dropped at
//! the end. The target is under a minute on a 2-core machine.

use std::time::Instant;

use platform::{config::Settings, ids::TenantId, testkit::TestDb};
use tenant_api::{contexts::Context, startup::Application};

const COLORS: &[&str] = &["black", "white", "red", "blue", "green", "grey", "navy", "olive"];
const NOUNS: &[&str] = &["Tee", "Hoodie", "Jacket", "Beanie", "Sneakers", "Wallet", "Mug", "Scarf", "Shirt", "Cap"];
const ADJECTIVES: &[&str] = &["Classic", "Organic", "Vintage", "Everyday", "Premium", "Travel", "Summer", "Winter"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let products: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let db = TestDb::create().await?;
    let settings = Settings::for_tests(&db.url())?;
    let app = Application::build(settings, Context::ALL).await?;
    let address = format!("http://127.0.0.1:{}", app.port());
    let control = app.state().db.control().clone();
    tokio::spawn(app.run_until(std::future::pending()));

    let tenant = TenantId::new();
    sqlx::query(
        "insert into control.tenant (tenant_id, slug, name, currency, cell_id, plan) \
         values ($1, 'bench', 'Bench', 'USD', 'default', 'enterprise')",
    )
    .bind(tenant)
    .execute(&control)
    .await?;
    let key = platform::testkit::api_key(&control, tenant, &["catalog:*"]).await;

    let mut csv = String::from("handle,title,description,status,sku,price,stock,attr:color,attr:material\n");
    for n in 0..products {
        let title = format!("{} {} {n}", ADJECTIVES[(n / NOUNS.len()) % ADJECTIVES.len()], NOUNS[n % NOUNS.len()]);
        let color = COLORS[n % COLORS.len()];
        csv.push_str(&format!(
            "p-{n},{title},\"A {color} {} for every day, made to last.\",active,SKU-{n:07},{},{},{color},cotton\n",
            NOUNS[n % NOUNS.len()].to_lowercase(),
            500 + (n * 37) % 20_000,
            n % 50,
        ));
    }
    let bytes = csv.len();

    let client = reqwest::Client::new();
    let started = Instant::now();
    let response = client
        .post(format!("{address}/admin/products/import"))
        .header("host", "bench.localhost")
        .header("x-api-key", key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await?;
    let status = response.status();
    let report: serde_json::Value = response.json().await?;
    let took = started.elapsed();
    anyhow::ensure!(status.is_success(), "import failed: {status} {report}");
    println!(
        "imported {} products ({} variants, {} errors) from {:.1} MB of CSV in {:.2} s ({:.0} products/s)",
        report["imported"],
        report["variants"],
        report["errors"].as_array().map_or(0, Vec::len),
        bytes as f64 / 1e6,
        took.as_secs_f64(),
        products as f64 / took.as_secs_f64(),
    );

    for path in [
        "/store/products?q=vintage%20hoodie&limit=20",
        "/store/products?q=hoodei&limit=20",
        "/store/products?attr.color=red&sort=price_asc&facets=true",
    ] {
        let started = Instant::now();
        let response = client.get(format!("{address}{path}")).header("host", "bench.localhost").send().await?;
        anyhow::ensure!(response.status().is_success(), "{path}: {}", response.status());
        let _ = response.bytes().await?;
        println!("GET {path}: {:.1} ms (uncached)", started.elapsed().as_secs_f64() * 1e3);
    }
    drop(db);
    Ok(())
}
