//! The control plane: the tenant registry, provisioning, per-store settings,
//! identity, signing keys and the audit log. It owns the `control` schema.

pub mod admin_pages;
pub mod api_keys;
pub mod audit;
mod caller;
pub mod domains;
mod error;
pub mod identity;
pub mod openapi;
pub mod settings;
pub mod signing_keys;
pub mod staff;
pub mod startup;
pub mod tenant_settings;
pub mod tenants;
mod wire;
