//! Rendering: minijinja templates compiled in from `tenant-api/templates/web/`
//! (HTML autoescape on every one), the layout's context, and the two static
//! assets with their fingerprinted paths.
//!
//! **Invariant:** everything a merchant or shopper typed reaches a page
//! through autoescape; the only unescaped values are the CSRF token (base64url
//! and a dot) and [`CSRF_SLOT`], which no escaped text can contain (`<`
//! becomes `&lt;`).

use std::sync::LazyLock;

use axum::body::Bytes;
use minijinja::{context, AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::model::StoreFront;

/// Where a cached page's CSRF token goes: the page is rendered once with this
/// slot and each response fills it with the shopper's own token.
pub const CSRF_SLOT: &str = "<!--csrf-->";

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // A form shown for the first time has no `errors` or `invalid` yet.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    macro_rules! templates {
        ($($name:literal),* $(,)?) => {$(
            env.add_template($name, include_str!(concat!("../../templates/web/", $name)))
                .expect(concat!("template ", $name, " parses"));
        )*};
    }
    templates!(
        "layout.html",
        "grid.html",
        "errors.html",
        "home.html",
        "product.html",
        "listing.html",
        "cart.html",
        "checkout.html",
        "order.html",
        "sign_in.html",
        "sign_up.html",
        "account.html",
        "password_reset.html",
    );
    env
});

/// A static file served under `/assets/` at a path that names its content.
pub struct Asset {
    /// `/assets/storefront-<hash>.<ext>`.
    pub path: String,
    pub body: Bytes,
    pub content_type: &'static str,
}

fn asset(stem: &str, ext: &str, content_type: &'static str, body: &'static str) -> Asset {
    let hash = hex::encode(&Sha256::digest(body.as_bytes())[..6]);
    Asset { path: format!("/assets/{stem}-{hash}.{ext}"), body: Bytes::from_static(body.as_bytes()), content_type }
}

/// The stylesheet (one file, cached for a year under its fingerprinted path).
pub static CSS: LazyLock<Asset> = LazyLock::new(|| {
    asset("storefront", "css", "text/css; charset=utf-8", include_str!("../../templates/web/storefront.css"))
});

/// The optional script (search suggestions, the Stripe Payment Element).
pub static JS: LazyLock<Asset> = LazyLock::new(|| {
    asset("storefront", "js", "text/javascript; charset=utf-8", include_str!("../../templates/web/storefront.js"))
});

/// The shopper's part of the header, on personal pages only (never on a cached page).
#[derive(Serialize, Default)]
pub struct ShopperNav {
    pub signed_in: bool,
    /// First name or email of a signed-in shopper.
    pub name: Option<String>,
    /// Units in the cart.
    pub cart_count: i32,
}

/// The layout's context for one page.
pub struct Layout<'a> {
    pub store: &'a StoreFront,
    /// The shopper's CSRF token, or [`CSRF_SLOT`] on a cached page.
    pub csrf: &'a str,
    pub shopper: Option<ShopperNav>,
    /// `<title>`: the page's own name, before the store's.
    pub title: String,
}

/// Renders template `name` with the layout and the page's own values (`page.*`).
pub fn render(name: &str, layout: Layout<'_>, page: impl Serialize) -> anyhow::Result<String> {
    let theme = &layout.store.theme;
    let ctx = context! {
        store => context! { name => &layout.store.name, logo_url => &theme.logo_url },
        theme => context! { primary => &theme.primary_color, on_primary => theme.on_primary() },
        // Ours, not typed by anyone: kept unescaped so `/` stays readable.
        assets => context! {
            css => Value::from_safe_string(CSS.path.clone()),
            js => Value::from_safe_string(JS.path.clone()),
        },
        csrf => Value::from_safe_string(layout.csrf.to_owned()),
        shopper => layout.shopper.map(|s| Value::from(minijinja::value::Serde(s))),
        title => layout.title,
        page => Value::from(minijinja::value::Serde(page)),
    };
    let template = TEMPLATES.get_template(name)?;
    Ok(template.render(ctx)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        assert!(super::TEMPLATES.templates().count() >= 13);
        assert!(super::CSS.path.starts_with("/assets/storefront-") && super::CSS.path.ends_with(".css"));
    }
}
