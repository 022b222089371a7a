//! The control plane: the tenant registry, provisioning, per-store settings,
//! identity and the audit log. It owns the `control` schema.

pub mod startup;
pub mod tenants;
