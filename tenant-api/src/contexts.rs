//! The bounded contexts this service can mount, by name.

use std::{fmt, str::FromStr};

use axum::{extract::FromRef, Router};

use crate::{
    cart::CartState, catalog::CatalogState, checkout::CheckoutState, customers::CustomersState,
    dashboard::DashboardState, inventory::InventoryState, notifications::NotificationsState, orders::OrdersState,
    payments::PaymentsState, state::AppState, web::WebState,
};

/// A bounded context with its own router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Products, variants, categories, collections, media, search.
    Catalog,
    /// Stock levels (`/admin/inventory`).
    Inventory,
    /// Carts (`/store/carts`, but not checkout).
    Cart,
    /// Shopper accounts and sign-in (`/store/customers`, `/store/auth`, `/admin/customers`).
    Customers,
    /// Shipping methods, tax rates, discount codes (`/admin/…`).
    Checkout,
    /// Checkout saga, order history and management (`/store/carts/{id}/checkout`, `/store/orders`, `/admin/orders`).
    Orders,
    /// Merchant webhooks, the notification log and email template overrides
    /// (`/admin/webhooks`, `/admin/notifications`).
    Notifications,
    /// The merchant dashboard's pages (`/dashboard`), which call the other
    /// contexts' `/admin` routes in process.
    Dashboard,
    /// Storefront HTML pages (`/`, `/products/{handle}`, `/cart`, `/checkout`, …).
    Pages,
}

impl Context {
    /// Every context, in mounting order.
    pub const ALL: &'static [Context] = &[
        Context::Catalog,
        Context::Inventory,
        Context::Cart,
        Context::Customers,
        Context::Checkout,
        Context::Orders,
        Context::Notifications,
        Context::Dashboard,
        Context::Pages,
    ];

    /// Whether the context's routes are the store's API (every one but the
    /// pages: the storefront's and the dashboard, which is a client of the API).
    pub fn is_api(self) -> bool {
        !matches!(self, Context::Dashboard | Context::Pages)
    }

    /// The context's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Context::Catalog => "catalog",
            Context::Inventory => "inventory",
            Context::Cart => "cart",
            Context::Customers => "customers",
            Context::Checkout => "checkout",
            Context::Orders => "orders",
            Context::Notifications => "notifications",
            Context::Dashboard => "dashboard",
            Context::Pages => "pages",
        }
    }

    /// The context's routes on its own state, taken from the app's once (a
    /// request clones the context's state, not the app's); every one of them
    /// requires a resolved store.
    pub fn router(self, state: &AppState) -> Router {
        match self {
            Context::Catalog => crate::catalog::router().with_state(CatalogState::from_ref(state)),
            Context::Inventory => crate::inventory::router().with_state(InventoryState::from_ref(state)),
            Context::Cart => crate::cart::router().with_state(CartState::from_ref(state)),
            Context::Customers => crate::customers::router().with_state(CustomersState::from_ref(state)),
            Context::Checkout => crate::checkout::router().with_state(CheckoutState::from_ref(state)),
            // Stripe's webhooks settle checkouts: mounted wherever checkout is.
            Context::Orders => crate::orders::router()
                .with_state(OrdersState::from_ref(state))
                .merge(crate::payments::router().with_state(PaymentsState::from_ref(state))),
            Context::Notifications => crate::notifications::router().with_state(NotificationsState::from_ref(state)),
            // Expired sessions are renewed before any page runs.
            Context::Dashboard => {
                let dashboard = DashboardState::from_ref(state);
                crate::dashboard::router()
                    .route_layer(axum::middleware::from_fn_with_state(dashboard.clone(), crate::dashboard::renew))
                    .with_state(dashboard)
            }
            Context::Pages => crate::web::router().with_state(WebState::from_ref(state)),
        }
    }

    /// The context's part of the OpenAPI document: every route of [`Context::router`].
    pub fn doc(self) -> utoipa::openapi::OpenApi {
        match self {
            Context::Catalog => crate::catalog::doc(),
            Context::Inventory => crate::inventory::doc(),
            Context::Cart => crate::cart::doc(),
            Context::Customers => crate::customers::doc(),
            Context::Checkout => crate::checkout::doc(),
            Context::Orders => crate::orders::doc(),
            Context::Notifications => crate::notifications::doc(),
            // Pages, not API operations: the document lists the JSON API.
            Context::Dashboard => utoipa::openapi::OpenApiBuilder::new().build(),
            Context::Pages => crate::web::doc(),
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Context {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Context::ALL.iter().copied().find(|c| c.name() == name.trim()).ok_or_else(|| {
            let known: Vec<_> = Context::ALL.iter().map(|c| c.name()).collect();
            format!("unknown context {name:?}; known: {}", known.join(", "))
        })
    }
}
