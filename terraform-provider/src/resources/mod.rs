//! The resources: each a [`crate::schema::Crud`] over the platform's API.

mod api_key;
mod domain;
mod settings;
mod staff;
mod store;
mod webhook;

pub use api_key::ApiKey;
pub use domain::Domain;
pub use settings::{NotificationSettings, PaymentSettings};
pub use staff::Staff;
pub use store::Store;
pub use webhook::Webhook;
