//! Tenants: the registry of stores, their slugs, status and cell placement.

pub mod model;
mod repo;
pub mod service;
