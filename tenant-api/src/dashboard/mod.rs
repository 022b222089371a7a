//! The merchant dashboard: HTML pages under `/dashboard` on the store's host.
//!
//! Staff sign in with their control-plane account (the dashboard asks the
//! control plane for a staff token bound to this store and keeps it in an
//! `HttpOnly` cookie). Every page then calls the store's own `/admin` API in
//! process (`platform::loopback`) with that token as its bearer, so roles,
//! scopes, validation, isolation and idempotency are the API's own: a `staff`
//! member's refund is the API's 403, shown as a page. The settings the
//! control plane owns (staff, API keys, domains, payments, notifications) are
//! read and changed through the control plane's API with the same token.
//! Forms carry a signed double-submit CSRF token (`platform::web`).

mod control;
mod forms;
mod pages;
mod routes;
mod session;

pub use control::ControlPlane;
pub use routes::router;
pub use session::renew;

use platform::{
    loopback::Loopback,
    templates::Templates,
    web::{Cookies, PageKey},
};

/// The parts of [`DashboardState`] built once at start-up (the API router is
/// cut from the app's state when the dashboard is mounted).
#[derive(Clone)]
pub struct DashboardParts {
    pub control: ControlPlane,
    pub templates: Templates,
    pub uploads: reqwest::Client,
}

impl DashboardParts {
    /// The control plane client, the parsed templates and the upload client.
    pub fn new(settings: &platform::config::Settings) -> anyhow::Result<Self> {
        let uploads = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .connect_timeout(std::time::Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { control: ControlPlane::from_settings(settings)?, templates: pages::templates()?, uploads })
    }
}

/// What the dashboard needs: the API it calls, the control plane, its templates.
#[derive(Clone)]
pub struct DashboardState {
    /// The store contexts' routers (`/admin/…`), called in process.
    pub api: Loopback,
    /// Sign-in, refresh and the control plane's settings.
    pub control: ControlPlane,
    pub templates: Templates,
    /// Puts image bytes to a presigned S3 URL (the local backend's upload URL
    /// is called in process); bounded by its own time-out.
    pub uploads: reqwest::Client,
    /// Signs the forms' CSRF tokens: the storefront's key, so the store host's
    /// one `csrf` cookie (scope: the store) serves both.
    pub page_key: PageKey,
    /// Session cookies: `HttpOnly`, `SameSite=Lax`, `Secure` outside development.
    pub cookies: Cookies,
}
