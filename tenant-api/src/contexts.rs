//! The bounded contexts this service can mount, by name.

use std::{fmt, str::FromStr};

use axum::Router;

use crate::startup::AppState;

/// A bounded context with its own router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Products, variants, categories, collections, media, search.
    Catalog,
    /// Stock levels.
    Inventory,
}

impl Context {
    /// Every context, in mounting order.
    pub const ALL: &'static [Context] = &[Context::Catalog, Context::Inventory];

    /// The context's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Context::Catalog => "catalog",
            Context::Inventory => "inventory",
        }
    }

    /// The context's routes; every one of them requires a resolved store.
    pub fn router(self) -> Router<AppState> {
        match self {
            Context::Catalog => crate::catalog::router(),
            Context::Inventory => crate::inventory::router(),
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
