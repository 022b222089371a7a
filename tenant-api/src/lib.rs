//! The data plane: one shared, stateless service that serves every store.
//!
//! Each request is resolved to its store by `Host` (see `platform::tenancy`) and
//! then handled by one bounded context. Contexts are mounted by
//! [`startup::Application`]; `serve --contexts` mounts only some of them.

pub mod callers;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod contexts;
pub mod customers;
pub mod dashboard;
pub mod inventory;
pub mod notifications;
pub mod openapi;
pub mod orders;
pub mod outbox;
pub mod payments;
mod problems;
pub mod seed;
pub mod settings;
pub mod startup;
pub mod state;
mod statements;
pub mod web;
pub mod wire;
pub mod worker;
