//! Data sources: `commerce_plans` (the platform's plans) and `commerce_stores`
//! (every store the token sees, optionally by status).

use std::collections::HashMap;

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tf_provider::{
    schema::{
        AttributeConstraint::{Computed, Optional},
        AttributeType, Schema,
    },
    value::{Value, ValueEmpty},
    DataSource, Diagnostics,
};

use crate::schema::{attr, configured, json_string, report, schema, string, text, ApiCell};

fn object(fields: &[(&str, AttributeType)]) -> AttributeType {
    let fields: HashMap<String, AttributeType> = fields.iter().map(|(k, t)| ((*k).to_owned(), t.clone())).collect();
    AttributeType::List(AttributeType::Object(fields).into())
}

pub struct Plans {
    pub api: ApiCell,
}

#[derive(Serialize, Deserialize)]
pub struct PlansState {
    plans: Value<Vec<Plan>>,
}

#[derive(Serialize, Deserialize)]
pub struct Plan {
    id: Value<String>,
    name: Value<String>,
    requests_per_second: Value<i64>,
    max_products: Value<i64>,
    max_staff: Value<i64>,
}

fn number(value: &Json) -> Value<i64> {
    value.as_i64().map_or(Value::Null, Value::Value)
}

#[async_trait]
impl DataSource for Plans {
    type State<'a> = PlansState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let plan = object(&[
            ("id", AttributeType::String),
            ("name", AttributeType::String),
            ("requests_per_second", AttributeType::Number),
            ("max_products", AttributeType::Number),
            ("max_staff", AttributeType::Number),
        ]);
        Some(schema("The platform's plans.", vec![("plans", attr(plan, Computed, "Every plan, cheapest first."))]))
    }

    async fn read<'a>(&self, diags: &mut Diagnostics, _config: PlansState, _meta: ValueEmpty) -> Option<PlansState> {
        let api = configured(&self.api, diags)?;
        let answer = report(diags, api.control(Method::GET, "/v1/plans", None).await)?;
        let body = report(diags, answer.expect("list plans", &[200]))?;
        let plans = body["items"].as_array().into_iter().flatten().map(|p| Plan {
            id: json_string(&p["id"]),
            name: json_string(&p["name"]),
            requests_per_second: number(&p["requests_per_second"]),
            max_products: number(&p["max_products"]),
            max_staff: number(&p["max_staff"]),
        });
        Some(PlansState { plans: Value::Value(plans.collect()) })
    }
}

pub struct Stores {
    pub api: ApiCell,
}

#[derive(Serialize, Deserialize)]
pub struct StoresState {
    status: Value<String>,
    stores: Value<Vec<StoreItem>>,
}

#[derive(Serialize, Deserialize)]
pub struct StoreItem {
    id: Value<String>,
    slug: Value<String>,
    name: Value<String>,
    status: Value<String>,
    plan: Value<String>,
    currency: Value<String>,
    url: Value<String>,
}

#[async_trait]
impl DataSource for Stores {
    type State<'a> = StoresState;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        let store = object(&[
            ("id", AttributeType::String),
            ("slug", AttributeType::String),
            ("name", AttributeType::String),
            ("status", AttributeType::String),
            ("plan", AttributeType::String),
            ("currency", AttributeType::String),
            ("url", AttributeType::String),
        ]);
        Some(schema(
            "The stores the token sees (every store for a platform token).",
            vec![
                ("status", string(Optional, "Only stores in this status (provisioning, active, suspended, deleted).")),
                ("stores", attr(store, Computed, "The stores, newest first.")),
            ],
        ))
    }

    async fn read<'a>(&self, diags: &mut Diagnostics, config: StoresState, _meta: ValueEmpty) -> Option<StoresState> {
        let api = configured(&self.api, diags)?;
        let path = match text(&config.status) {
            Some(status) => format!("/v1/tenants?status={status}"),
            None => "/v1/tenants".to_owned(),
        };
        let items = report(diags, api.control_list("list stores", &path).await)?;
        let stores = items.unwrap_or_default().into_iter().map(|s| StoreItem {
            id: json_string(&s["id"]),
            slug: json_string(&s["slug"]),
            name: json_string(&s["name"]),
            status: json_string(&s["status"]),
            plan: json_string(&s["plan"]),
            currency: json_string(&s["currency"]),
            url: json_string(&s["url"]),
        });
        Some(StoresState { status: config.status, stores: Value::Value(stores.collect()) })
    }
}
