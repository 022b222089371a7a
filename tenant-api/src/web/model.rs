//! What pages show of a store beyond its catalog: its name and theme.

pub use platform::web::Theme;

/// A store as its pages show it.
#[derive(Clone, Debug)]
pub struct StoreFront {
    /// Display name (`control.tenant.name`).
    pub name: String,
    pub theme: Theme,
}
