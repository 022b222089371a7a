//! Demo data for a store, so a fresh `dev.sh up` has something to browse.

use anyhow::Context;
use platform::money::Money;

use crate::{
    catalog::{
        model::{Handle, NewProduct, NewVariant, ProductStatus, SearchLanguage, Sku},
        service,
    },
    startup::AppState,
};

const DEMO_PRODUCTS: &[(&str, &str, i64)] = &[
    ("Classic Tee", "Soft cotton t-shirt in everyday colours.", 1999),
    ("Denim Jacket", "Stonewashed denim with brass buttons.", 7900),
    ("Canvas Sneakers", "Low-top sneakers with a rubber sole.", 5400),
    ("Wool Beanie", "Merino wool, one size.", 2500),
    ("Leather Wallet", "Full-grain leather, six card slots.", 4500),
    ("Travel Mug", "Insulated steel mug, 350 ml.", 2200),
    ("Linen Shirt", "Breathable linen for warm days.", 4900),
    ("Rain Jacket", "Waterproof shell with taped seams.", 11900),
];

/// Adds the demo catalog to the store `slug` unless it already has products.
pub async fn seed_demo(state: &AppState, slug: &str) -> anyhow::Result<usize> {
    let host = format!("{slug}.{}", state.settings.platform_domain);
    let tenant = state
        .resolver
        .resolve(&host)
        .await?
        .with_context(|| format!("no store with slug {slug}: run `control-plane seed-demo` first"))?;
    let mut tx = state.db.tenant_tx(&tenant).await?;
    if service::count_products(&mut tx).await? > 0 {
        return Ok(0);
    }
    for (n, (title, description, price)) in DEMO_PRODUCTS.iter().enumerate() {
        let product = NewProduct {
            title: (*title).to_owned(),
            handle: Handle::from_title(title).context("demo titles make handles")?,
            description: Some((*description).to_owned()),
            status: ProductStatus::Active,
            attributes: Default::default(),
            options: Vec::new(),
            category_ids: Vec::new(),
            variants: ["S", "M", "L"]
                .iter()
                .map(|size| -> anyhow::Result<NewVariant> {
                    Ok(NewVariant {
                        sku: Sku::parse(&format!("DEMO-{n:02}-{size}")).map_err(anyhow::Error::msg)?,
                        title: (*size).to_owned(),
                        price: Money::new(*price, tenant.currency),
                        compare_at_price: None,
                        weight_grams: None,
                        barcode: None,
                        options: Default::default(),
                        stock: 25,
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        service::create_product(&mut tx, SearchLanguage::for_locale(&tenant.locale), None, product)
            .await
            .map_err(|e| anyhow::anyhow!("creating demo product {title}: {e}"))?;
    }
    tx.commit().await?;
    Ok(DEMO_PRODUCTS.len())
}
