//! The provider: its configuration (`endpoint`, `token`, `data_plane_url`,
//! each with an environment fallback) and what it offers.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::{
    map,
    schema::{AttributeConstraint::Optional, Schema},
    value::{Value, ValueEmpty},
    Diagnostics, DynamicDataSource, DynamicResource, Provider,
};

use crate::{
    api::Api,
    data_sources::{Plans, Stores},
    resources::{ApiKey, Domain, NotificationSettings, PaymentSettings, Staff, Store, Webhook},
    schema::{schema, secret, string, text, ApiCell, Managed},
};

#[derive(Default)]
pub struct CommerceProvider {
    api: ApiCell,
}

#[derive(Serialize, Deserialize)]
pub struct Config {
    endpoint: Value<String>,
    token: Value<String>,
    data_plane_url: Value<String>,
}

/// The configured value, else the environment's.
fn setting(value: &Value<String>, env: &str) -> Option<String> {
    text(value).map(str::to_owned).or_else(|| std::env::var(env).ok()).filter(|v| !v.is_empty())
}

#[async_trait]
impl Provider for CommerceProvider {
    type Config<'a> = Config;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(schema(
            "The commerce platform's stores, as code.",
            vec![
                ("endpoint", string(Optional, "The control plane's base URL (else COMMERCE_ENDPOINT).")),
                (
                    "token",
                    secret(
                        Optional,
                        "A platform API token (cpt_…, POST /v1/admin/platform-tokens) or an access token \
                         (else COMMERCE_TOKEN).",
                    ),
                ),
                (
                    "data_plane_url",
                    string(
                        Optional,
                        "Where the data plane answers, for webhooks: requests go there with the store's Host \
                         (else COMMERCE_DATA_PLANE_URL; when neither is set, to each store's own URL).",
                    ),
                ),
            ],
        ))
    }

    async fn configure<'a>(&self, diags: &mut Diagnostics, _version: String, config: Config) -> Option<()> {
        let endpoint = setting(&config.endpoint, "COMMERCE_ENDPOINT");
        let token = setting(&config.token, "COMMERCE_TOKEN");
        let (Some(endpoint), Some(token)) = (endpoint, token) else {
            diags.root_error(
                "commerce provider configuration",
                "set endpoint and token (or COMMERCE_ENDPOINT and COMMERCE_TOKEN)",
            );
            return None;
        };
        let data_plane = setting(&config.data_plane_url, "COMMERCE_DATA_PLANE_URL");
        match Api::new(&endpoint, &token, data_plane.as_deref()) {
            Ok(api) => {
                // Configured once per process; a second configure keeps the first.
                let _ = self.api.set(api);
                Some(())
            }
            Err(e) => {
                diags.root_error("commerce provider configuration", e);
                None
            }
        }
    }

    fn get_resources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        let api = &self.api;
        Some(map! {
            "store" => Managed::<Store>::new(api.clone()),
            "store_domain" => Managed::<Domain>::new(api.clone()),
            "store_staff" => Managed::<Staff>::new(api.clone()),
            "store_payment_settings" => Managed::<PaymentSettings>::new(api.clone()),
            "store_notification_settings" => Managed::<NotificationSettings>::new(api.clone()),
            "store_webhook" => Managed::<Webhook>::new(api.clone()),
            "store_api_key" => Managed::<ApiKey>::new(api.clone()),
        })
    }

    fn get_data_sources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        Some(map! {
            "plans" => Plans { api: self.api.clone() },
            "stores" => Stores { api: self.api.clone() },
        })
    }
}
