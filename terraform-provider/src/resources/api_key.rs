//! `commerce_store_api_key`: a scoped API key of a store, for its integrations
//! on the data plane (`x-api-key`). The key is shown once, at creation, and
//! kept in the state as a sensitive value; any change replaces the key.

use std::collections::BTreeSet;

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use tf_provider::{
    schema::{
        AttributeConstraint::{Computed, Required},
        AttributeType, Schema,
    },
    value::Value,
};

use crate::{
    api::Api,
    schema::{attr, differs, json_string, schema, secret, split_import, string, text, Crud},
};

pub struct ApiKey;

#[derive(Clone, Serialize, Deserialize)]
pub struct ApiKeyState {
    id: Value<String>,
    store_id: Value<String>,
    name: Value<String>,
    scopes: Value<BTreeSet<String>>,
    key: Value<String>,
    prefix: Value<String>,
}

fn keys(state: &ApiKeyState) -> String {
    format!("/v1/tenants/{}/api-keys", text(&state.store_id).unwrap_or(""))
}

fn from_api(mut state: ApiKeyState, body: &Json) -> ApiKeyState {
    state.id = json_string(&body["id"]);
    state.name = json_string(&body["name"]);
    state.prefix = json_string(&body["prefix"]);
    let scopes = body["scopes"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned));
    state.scopes = Value::Value(scopes.collect());
    state
}

#[async_trait]
impl Crud for ApiKey {
    type State = ApiKeyState;

    fn schema() -> Schema {
        schema(
            "A store API key (import id: <store id>/<key id>; an imported key's secret is unknown).",
            vec![
                ("id", string(Computed, "The key's id.")),
                ("store_id", string(Required, "The store.")),
                ("name", string(Required, "What it is for.")),
                (
                    "scopes",
                    attr(
                        AttributeType::Set(AttributeType::String.into()),
                        Required,
                        "<area>:read|write|* (catalog, inventory, orders, customers, checkout, webhooks) or *.",
                    ),
                ),
                ("key", secret(Computed, "The key (ck_…), sent as x-api-key.")),
                ("prefix", string(Computed, "The key's first characters.")),
            ],
        )
    }

    fn plan_create(state: &mut ApiKeyState) {
        state.id = Value::Unknown;
        state.key = Value::Unknown;
        state.prefix = Value::Unknown;
    }

    fn replaced_by(prior: &ApiKeyState, proposed: &ApiKeyState) -> Vec<&'static str> {
        let mut changed = Vec::new();
        differs(&mut changed, "store_id", &prior.store_id, &proposed.store_id);
        differs(&mut changed, "name", &prior.name, &proposed.name);
        differs(&mut changed, "scopes", &prior.scopes, &proposed.scopes);
        changed
    }

    async fn create(api: &Api, planned: ApiKeyState) -> Result<ApiKeyState, String> {
        let scopes: Vec<&String> = planned.scopes.iter().flatten().collect();
        let body = json!({"name": text(&planned.name), "scopes": scopes});
        let created = api.control(Method::POST, &keys(&planned), Some(&body)).await?.expect("issue API key", &[201])?;
        let mut state = from_api(planned, &created);
        state.key = json_string(&created["key"]);
        Ok(state)
    }

    async fn read(api: &Api, state: ApiKeyState) -> Result<Option<ApiKeyState>, String> {
        let Some(items) = api.control_list("list API keys", &keys(&state)).await? else { return Ok(None) };
        let id = text(&state.id).unwrap_or("").to_owned();
        let live = items.iter().find(|k| k["id"].as_str() == Some(&id) && k["revoked_at"].is_null());
        Ok(live.map(|k| from_api(state, k)))
    }

    async fn update(_api: &Api, _prior: ApiKeyState, planned: ApiKeyState) -> Result<ApiKeyState, String> {
        Ok(planned)
    }

    async fn delete(api: &Api, state: ApiKeyState) -> Result<(), String> {
        let path = format!("{}/{}", keys(&state), text(&state.id).unwrap_or(""));
        api.control_delete("revoke API key", &path, &[204]).await
    }

    fn import(id: &str) -> Result<ApiKeyState, String> {
        let (store, key) = split_import(id, "key id")?;
        Ok(ApiKeyState {
            id: Value::Value(key),
            store_id: Value::Value(store),
            name: Value::Null,
            scopes: Value::Null,
            key: Value::Null,
            prefix: Value::Null,
        })
    }
}
