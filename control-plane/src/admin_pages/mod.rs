//! The platform admin pages, under `/admin` on the control plane's host
//! (the JSON API is under `/v1`, so nothing collides): sign in, stores with
//! search, suspend and resume, plan changes, the audit log.
//!
//! Like the merchant dashboard, the pages do nothing of their own: each one
//! calls the control plane's `/v1` API in process (`platform::loopback`) with
//! the signed-in admin's token (kept in an `HttpOnly` cookie), so the roles,
//! the audit entries and the announcements are the API's. The pages check the
//! token with the API's own [`Principal`](crate::identity::Principal)
//! extractor and show only platform admins anything (others get a 403 page).

mod routes;

pub use routes::{router, sign_in_router};

use axum::extract::FromRef;
use platform::{
    auth::KeyRing,
    db::Db,
    loopback::Loopback,
    templates::Templates,
    web::{Cookies, PageKey},
};

/// What the admin pages need.
#[derive(Clone, FromRef)]
pub struct AdminPagesState {
    /// The control plane's API routes, called in process.
    pub api: Loopback,
    /// Verifies the session's token (the API's `Principal` extractor).
    pub keys: KeyRing,
    /// The `Principal` extractor looks platform API tokens up here.
    pub db: Db,
    pub templates: Templates,
    /// Signs the forms' CSRF tokens.
    pub page_key: PageKey,
    /// `Secure` outside development.
    pub cookies: Cookies,
}

/// The compiled-in templates (`control-plane/templates/`).
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("sign_in.html", include_str!("../../templates/sign_in.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("stores.html", include_str!("../../templates/stores.html")),
    ("store.html", include_str!("../../templates/store.html")),
    ("audit.html", include_str!("../../templates/audit.html")),
    ("audit_table.html", include_str!("../../templates/audit_table.html")),
];

/// The admin pages' templates, parsed (a template that does not parse stops start-up).
pub fn templates() -> anyhow::Result<Templates> {
    Templates::new(TEMPLATES)
}
