//! The data plane: one shared, stateless service that serves every store.
//!
//! Each request is resolved to its store by `Host` (see `platform::tenancy`) and
//! then handled by one bounded context. Contexts are mounted by
//! [`startup::Application`]; `serve --contexts` mounts only some of them.

pub mod catalog;
pub mod contexts;
pub mod inventory;
pub mod seed;
pub mod startup;
pub mod worker;
