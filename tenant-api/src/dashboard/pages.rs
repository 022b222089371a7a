//! The dashboard's templates (`tenant-api/templates/dashboard/`, compiled in).

use platform::templates::Templates;

/// The compiled-in templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/dashboard/base.html")),
    ("sign_in.html", include_str!("../../templates/dashboard/sign_in.html")),
    ("error.html", include_str!("../../templates/dashboard/error.html")),
    ("home.html", include_str!("../../templates/dashboard/home.html")),
    ("orders_table.html", include_str!("../../templates/dashboard/orders_table.html")),
    ("product_fields.html", include_str!("../../templates/dashboard/product_fields.html")),
    ("products.html", include_str!("../../templates/dashboard/products.html")),
    ("product.html", include_str!("../../templates/dashboard/product.html")),
    ("product_new.html", include_str!("../../templates/dashboard/product_new.html")),
    ("inventory.html", include_str!("../../templates/dashboard/inventory.html")),
    ("orders.html", include_str!("../../templates/dashboard/orders.html")),
    ("order.html", include_str!("../../templates/dashboard/order.html")),
    ("customers.html", include_str!("../../templates/dashboard/customers.html")),
    ("resources.html", include_str!("../../templates/dashboard/resources.html")),
    ("templates.html", include_str!("../../templates/dashboard/templates.html")),
    ("template.html", include_str!("../../templates/dashboard/template.html")),
    ("settings.html", include_str!("../../templates/dashboard/settings.html")),
];

/// The dashboard's templates, parsed (a template that does not parse stops start-up).
pub fn templates() -> anyhow::Result<Templates> {
    Templates::new(TEMPLATES)
}
