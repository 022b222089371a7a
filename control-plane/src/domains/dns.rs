//! TXT look-ups for domain verification, behind a trait so tests need no DNS.

use std::{collections::HashMap, sync::Mutex};

use futures_util::future::BoxFuture;

/// Looks up the TXT records of a name.
pub trait TxtResolver: Send + Sync {
    /// Every TXT string of `name`; empty when there are none.
    fn txt<'a>(&'a self, name: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<String>>>;
}

/// The system's resolver (`/etc/resolv.conf`).
pub struct SystemResolver(hickory_resolver::TokioResolver);

impl SystemResolver {
    /// Reads the system configuration.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self(hickory_resolver::TokioResolver::builder_tokio()?.build()))
    }
}

impl TxtResolver for SystemResolver {
    fn txt<'a>(&'a self, name: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<String>>> {
        Box::pin(async move {
            match self.0.txt_lookup(name).await {
                Ok(records) => Ok(records.iter().map(|r| r.to_string()).collect()),
                Err(e) if e.is_no_records_found() => Ok(Vec::new()),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// A resolver answering from a table, for tests and air-gapped setups.
#[derive(Default)]
pub struct StaticResolver(Mutex<HashMap<String, Vec<String>>>);

impl StaticResolver {
    /// Publishes a TXT record.
    pub fn publish(&self, name: &str, value: &str) {
        self.0.lock().expect("resolver poisoned").entry(name.to_owned()).or_default().push(value.to_owned());
    }
}

impl TxtResolver for StaticResolver {
    fn txt<'a>(&'a self, name: &'a str) -> BoxFuture<'a, anyhow::Result<Vec<String>>> {
        let records = self.0.lock().expect("resolver poisoned").get(name).cloned().unwrap_or_default();
        Box::pin(async move { Ok(records) })
    }
}
